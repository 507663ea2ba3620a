// Dates are always shown with their time zone (docs/WEB.md).

let dateTime: Intl.DateTimeFormat | null = null;

function formatter(): Intl.DateTimeFormat {
  // Made on first use, in the browser, so it takes the reader's locale and zone.
  dateTime ??= new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  return dateTime;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return formatter().format(d);
}

export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `<input type="datetime-local">` value (local wall time) → RFC 3339 instant. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export const ROLE_LABELS: Record<string, string> = {
  institution_admin: "Institution admin",
  sub_admin: "Sub-admin",
  provider: "Provider",
  staff: "Staff",
  client: "Client",
};

export function roleLabel(role: string): string {
  return ROLE_LABELS[role] ?? role;
}

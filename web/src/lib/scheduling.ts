// Scheduling helpers: times in a named zone, reason and status wording, booking keys.
import type { components } from "@/api/generated/tenant";

export type Appointment = components["schemas"]["Appointment"];
export type AppointmentType = components["schemas"]["AppointmentType"];
export type Slot = components["schemas"]["Slot"];
export type Reason = components["schemas"]["Reason"];
export type Action = components["schemas"]["Action"];
export type AppointmentStatus = components["schemas"]["AppointmentStatus"];

export const REASONS: { value: Reason; label: string }[] = [
  { value: "client_request", label: "Asked by the client" },
  { value: "illness", label: "Illness" },
  { value: "scheduling_error", label: "Booked by mistake" },
  { value: "provider_unavailable", label: "Provider unavailable" },
  { value: "weather", label: "Weather" },
  { value: "other", label: "Other" },
];

export const STATUS_LABELS: Record<AppointmentStatus, string> = {
  requested: "Awaiting approval",
  booked: "Booked",
  checked_in: "Checked in",
  completed: "Completed",
  no_show: "No-show",
  cancelled: "Cancelled",
};

export function statusTone(s: AppointmentStatus): "slate" | "teal" | "amber" | "red" | "sky" {
  return ({ requested: "amber", booked: "teal", checked_in: "sky", completed: "slate", no_show: "red", cancelled: "red" } as const)[s];
}

/** "Mon, Nov 30" of an instant, read in `zone`. */
export function dayLabel(iso: string, zone: string): string {
  return new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", timeZone: zone }).format(new Date(iso));
}

/** "09:30" of an instant in `zone` (no zone name: the list it is in names the zone). */
export function timeLabel(iso: string, zone: string): string {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone: zone }).format(new Date(iso));
}

/** The full date and time of an instant in `zone`, with the zone named. */
export function dateTimeIn(iso: string, zone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: zone,
    timeZoneName: "short",
  }).format(new Date(iso));
}

/** The local calendar date (YYYY-MM-DD) of an instant in `zone`. */
export function dateKey(iso: string | Date, zone: string): string {
  const d = typeof iso === "string" ? new Date(iso) : iso;
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone }).format(d);
}

export function addDays(date: string, n: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Slots grouped by their local day in `zone`, in order. */
export function groupByDay(slots: Slot[], zone: string): { day: string; label: string; slots: Slot[] }[] {
  const out = new Map<string, { day: string; label: string; slots: Slot[] }>();
  for (const s of slots) {
    const day = dateKey(s.starts_at, zone);
    if (!out.has(day)) out.set(day, { day, label: dayLabel(s.starts_at, zone), slots: [] });
    out.get(day)!.slots.push(s);
  }
  return [...out.values()];
}

/** Cancelling now would be late: within the type's cancellation window before the start. */
export function isLateCancellation(startsAt: string, windowMinutes: number, now = Date.now()): boolean {
  const start = new Date(startsAt).getTime();
  return windowMinutes > 0 && start > now && start - now < windowMinutes * 60_000;
}

export function hoursText(minutes: number): string {
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? "" : "s"}`;
  return `${minutes} minutes`;
}

/** A fresh key for each booking attempt: a retry of the same attempt reuses it. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

export function isOpen(a: Appointment): boolean {
  return a.status === "requested" || a.status === "booked" || a.status === "checked_in";
}

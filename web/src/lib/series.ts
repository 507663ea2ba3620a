// Recurring series: the RRULE the API accepts for "every N weeks", and its wording.
import type { components } from "@/api/generated/tenant";

export type SeriesOutcome = components["schemas"]["SeriesOutcome"];
export type OccurrenceConflict = components["schemas"]["OccurrenceConflict"];

export const MAX_OCCURRENCES = 104;

/** `FREQ=WEEKLY;INTERVAL=n;COUNT=c` (RFC 5545); INTERVAL is left out for every week. */
export function weeklyRule(everyWeeks: number, count: number): string {
  return everyWeeks > 1 ? `FREQ=WEEKLY;INTERVAL=${everyWeeks};COUNT=${count}` : `FREQ=WEEKLY;COUNT=${count}`;
}

/** "Every 2 weeks, 6 times" for the rules this screen writes; the raw rule otherwise. */
export function describeRule(rrule: string): string {
  const parts = Object.fromEntries(rrule.split(";").map((p) => p.split("=") as [string, string]));
  if (parts.FREQ !== "WEEKLY") return rrule;
  const every = Number(parts.INTERVAL ?? "1");
  const head = every === 1 ? "Every week" : `Every ${every} weeks`;
  if (parts.COUNT) return `${head}, ${parts.COUNT} times`;
  if (parts.UNTIL) return `${head}, until ${parts.UNTIL.slice(0, 4)}-${parts.UNTIL.slice(4, 6)}-${parts.UNTIL.slice(6, 8)}`;
  return head;
}

/** "2027-03-01T10:00:00" (a wall-clock start, no zone) → "Mon, Mar 1, 2027, 10:00 AM" + the zone named by the caller. */
export function localLabel(naive: string): string {
  const [d, t] = naive.split("T") as [string, string?];
  const at = new Date(`${d}T${(t ?? "00:00:00").slice(0, 8)}Z`);
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  }).format(at);
}

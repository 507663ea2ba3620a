// Recurring series: the RRULEs the API accepts (weekly or monthly by weekday, every N, ending
// after a count or on a date), and their wording.
import type { components } from "@/api/generated/tenant";

export type SeriesOutcome = components["schemas"]["SeriesOutcome"];
export type OccurrenceConflict = components["schemas"]["OccurrenceConflict"];

export const MAX_OCCURRENCES = 104;

/** `FREQ=WEEKLY;INTERVAL=n;COUNT=c` (RFC 5545); INTERVAL is left out for every week. */
export function weeklyRule(everyWeeks: number, count: number): string {
  return everyWeeks > 1 ? `FREQ=WEEKLY;INTERVAL=${everyWeeks};COUNT=${count}` : `FREQ=WEEKLY;COUNT=${count}`;
}

export type Frequency = "weekly" | "monthly";

/** How a series ends: after `count` appointments, or on `until` (a local date, YYYY-MM-DD). */
export type SeriesEnd = { kind: "count"; count: number } | { kind: "until"; until: string };

const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const;
const WEEKDAY_NAMES: Record<string, string> = { MO: "Monday", TU: "Tuesday", WE: "Wednesday", TH: "Thursday", FR: "Friday", SA: "Saturday", SU: "Sunday" };
const ORDINALS: Record<string, string> = { "1": "first", "2": "second", "3": "third", "4": "fourth", "5": "fifth", "-1": "last" };

/**
 * The monthly positions a first date can repeat on, as BYDAY values with their wording:
 * 9 March 2027 (a Tuesday) → `2TU` "the second Tuesday"; a date in the last seven days of its
 * month also offers "the last …" (`-1TU`), and a fifth weekday offers only that (not every
 * month has a fifth). The API requires the first date to be an occurrence, which these are.
 */
export function monthlyPositions(date: string): { value: string; label: string }[] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return [];
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = WEEKDAYS[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()]!;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const nth = Math.ceil(d / 7);
  const out: { value: string; label: string }[] = [];
  if (nth <= 4) out.push({ value: `${nth}${day}`, label: `the ${ORDINALS[String(nth)]} ${WEEKDAY_NAMES[day]}` });
  if (d + 7 > daysInMonth) out.push({ value: `-1${day}`, label: `the last ${WEEKDAY_NAMES[day]}` });
  return out;
}

/** The zone's offset from UTC at `instant`, in milliseconds (from the browser's zone data). */
function offsetAt(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - instant;
}

/**
 * `UNTIL` for a series that ends on `date` in the provider's `zone`: the last second of that
 * local day as a UTC instant (`20270330T035959Z` for 29 March 2027 in Toronto), which is how
 * the API defines it. Converted with the browser's time-zone data (Intl), two passes so a
 * daylight-saving change on that day is accounted for.
 */
export function untilValue(date: string, zone: string): string {
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, mo - 1, d, 23, 59, 59);
  let utc = wall - offsetAt(wall, zone);
  utc = wall - offsetAt(utc, zone);
  return new Date(utc).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/**
 * The RRULE for the series form: `FREQ=WEEKLY` or `FREQ=MONTHLY;BYDAY=<position>`, then
 * `INTERVAL=n` (left out for 1), then `COUNT=c` or `UNTIL=<utc>` (never both).
 */
export function seriesRule(r: { frequency: Frequency; every: number; byDay?: string; end: SeriesEnd; zone: string }): string {
  const parts = [r.frequency === "monthly" ? `FREQ=MONTHLY;BYDAY=${r.byDay}` : "FREQ=WEEKLY"];
  if (r.every > 1) parts.push(`INTERVAL=${r.every}`);
  parts.push(r.end.kind === "count" ? `COUNT=${r.end.count}` : `UNTIL=${untilValue(r.end.until, r.zone)}`);
  return parts.join(";");
}

/** The local date (YYYY-MM-DD) in `zone` of an RRULE UTC time such as `20270330T035959Z`. */
function untilDate(until: string, zone: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(until);
  if (!m) return until;
  const at = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)));
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone }).format(at);
}

/**
 * "Every 2 weeks, 6 times", "Every month on the second Tuesday, until 2027-06-01" for the rules
 * this screen writes (an UNTIL read as a date in `zone`, the provider's); the raw rule otherwise.
 */
export function describeRule(rrule: string, zone = "UTC"): string {
  const parts = Object.fromEntries(rrule.split(";").map((p) => p.split("=") as [string, string]));
  const every = Number(parts.INTERVAL ?? "1");
  let head: string;
  if (parts.FREQ === "WEEKLY" && !parts.BYDAY) {
    head = every === 1 ? "Every week" : `Every ${every} weeks`;
  } else if (parts.FREQ === "MONTHLY" && parts.BYDAY && /^(-1|[1-5])(MO|TU|WE|TH|FR|SA|SU)$/.test(parts.BYDAY)) {
    const [, n, day] = /^(-1|[1-5])(\w\w)$/.exec(parts.BYDAY)!;
    head = `${every === 1 ? "Every month" : `Every ${every} months`} on the ${ORDINALS[n!]} ${WEEKDAY_NAMES[day!]}`;
  } else {
    return rrule;
  }
  if (parts.COUNT) return `${head}, ${parts.COUNT} times`;
  if (parts.UNTIL) return `${head}, until ${untilDate(parts.UNTIL, zone)}`;
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

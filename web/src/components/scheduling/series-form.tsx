"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button, Card } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { MAX_OCCURRENCES, describeRule, localLabel, monthlyPositions, seriesRule, type Frequency, type SeriesOutcome } from "@/lib/series";
import { dateTimeIn, type AppointmentType } from "@/lib/scheduling";

interface Named {
  id: string;
  name: string;
}

/**
 * Book a series for a client: every N weeks, or every N months on the first date's weekday
 * position (the second Tuesday, the last Friday); ending after a number of appointments or on
 * a date. The first start and the last date are in the provider's zone (the API's
 * `first_start`; `UNTIL` is the end of that local day in UTC), which is read from the
 * provider's hours and named next to the fields. Occurrences that could not be booked come
 * back as conflicts, each with its reason; the rest are booked.
 */
export function SeriesForm({
  types,
  providers,
  clients,
  zone,
  initialProvider,
  onCreated,
}: {
  types: AppointmentType[];
  providers: Named[];
  clients: Named[];
  /** The reader's zone, for showing the booked occurrences. */
  zone: string;
  initialProvider?: string;
  onCreated?: (o: SeriesOutcome) => void;
}) {
  const [clientId, setClientId] = useState("");
  const [providerId, setProviderId] = useState(initialProvider ?? providers[0]?.id ?? "");
  const [typeId, setTypeId] = useState(types[0]?.id ?? "");
  const [date, setDate] = useState("");
  const [time, setTime] = useState("10:00");
  const [frequency, setFrequency] = useState<Frequency>("weekly");
  const [position, setPosition] = useState("");
  const [every, setEvery] = useState("1");
  const [ends, setEnds] = useState<"count" | "until">("count");
  const [count, setCount] = useState("6");
  const [until, setUntil] = useState("");
  const [local, setLocal] = useState<Record<string, string>>({});
  const [result, setResult] = useState<SeriesOutcome | null>(null);
  const providerZone = useLoad(
    async () => (providerId ? (await unwrap(api.GET("/providers/{provider_id}/availability", { params: { path: { provider_id: providerId } } }))).timezone : null),
    [providerId],
  );
  const create = useSubmit(async (body: { provider_id: string; client_id: string; type_id: string; first_start: string; rrule: string }) =>
    unwrap(api.POST("/appointment-series", { body })),
  );
  const pz = providerZone.data;
  const server = fieldErrors(create.problem);
  // The server names the whole rule (`/rrule`): a complaint about UNTIL belongs on the last
  // date when the series ends on one; anything else on the repeat fields.
  if (server.rrule) {
    if (ends === "until" && /UNTIL/.test(server.rrule)) server.until = server.rrule;
    else server.every = server.rrule;
  }
  const err = (k: string) => local[k] ?? server[k];
  const positions = monthlyPositions(date);
  // The chosen position, or the first one the date allows (the date may have changed).
  const byDay = positions.some((p) => p.value === position) ? position : positions[0]?.value;
  const unit = frequency === "monthly" ? "months" : "weeks";
  const maxEvery = frequency === "monthly" ? 24 : 52;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = Number(every);
    const c = Number(count);
    const missing: Record<string, string> = {};
    if (!clientId) missing.client_id = "Choose the client.";
    if (!date) missing.first_start = "Choose the first date.";
    else if (!/^\d{2}:\d{2}$/.test(time)) missing.first_start = "Give the time as HH:MM.";
    if (!Number.isInteger(n) || n < 1 || n > maxEvery) missing.every = `A whole number of ${unit}, 1 to ${maxEvery}.`;
    if (frequency === "monthly" && date && !byDay) missing.position = "Choose which weekday of the month.";
    if (ends === "count" && (!Number.isInteger(c) || c < 1 || c > MAX_OCCURRENCES)) missing.count = `A whole number, 1 to ${MAX_OCCURRENCES}.`;
    if (ends === "until") {
      if (!until) missing.until = "Choose the last date.";
      else if (date && until < date) missing.until = "The last date is before the first.";
    }
    if (ends === "until" && !pz) missing.until = missing.until ?? "The provider's time zone is needed to end on a date; try again.";
    setLocal(missing);
    if (Object.keys(missing).length) return;
    const rrule = seriesRule({
      frequency,
      every: n,
      byDay,
      end: ends === "count" ? { kind: "count", count: c } : { kind: "until", until },
      zone: pz ?? "UTC",
    });
    const o = await create.run({ provider_id: providerId, client_id: clientId, type_id: typeId, first_start: `${date}T${time}:00`, rrule });
    if (o) {
      setResult(o);
      onCreated?.(o);
    }
  }

  return (
    <div className="space-y-6">
      <form onSubmit={submit} noValidate className="space-y-4" aria-label="Book a recurring series">
        <FormProblem problem={create.problem} fields={["client_id", "provider_id", "type_id", "first_start", "rrule", "every", "position", "count", "until"]} />
        <Card title="Who and what">
          <div className="grid gap-4 sm:grid-cols-3">
            <SelectField label="Client" name="client_id" value={clientId} onChange={(e) => setClientId(e.target.value)} error={err("client_id")}>
              <option value="">Choose a client…</option>
              {clients.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </SelectField>
            <SelectField label="Provider" name="provider_id" value={providerId} onChange={(e) => setProviderId(e.target.value)} error={err("provider_id")}>
              {providers.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </SelectField>
            <SelectField label="Service" name="type_id" value={typeId} onChange={(e) => setTypeId(e.target.value)} error={err("type_id")}>
              {types.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </SelectField>
          </div>
        </Card>
        <Card title="When">
          <p className="mb-3 text-sm text-slate-700">
            {providerZone.loading
              ? "Reading the provider's time zone…"
              : pz
                ? `Date and time in the provider's zone, ${pz.replace(/_/g, " ")}. Each occurrence keeps this wall-clock time, across daylight-saving changes.`
                : "The provider's time zone could not be read; the time is in the provider's zone."}
          </p>
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="First date" name="first_start" type="date" value={date} onChange={(e) => setDate(e.target.value)} error={err("first_start")} />
            <TextField label={`Time${pz ? ` (${pz.replace(/_/g, " ")})` : ""}`} name="time" type="time" value={time} onChange={(e) => setTime(e.target.value)} />
          </div>
          <div className="mt-4 grid gap-4 sm:grid-cols-3">
            <SelectField label="Repeats" name="frequency" value={frequency} onChange={(e) => setFrequency(e.target.value as Frequency)}>
              <option value="weekly">Weekly</option>
              <option value="monthly">Monthly, on a weekday</option>
            </SelectField>
            <TextField
              label={`Repeat every (${unit})`}
              name="every"
              type="number"
              inputMode="numeric"
              min={1}
              max={maxEvery}
              value={every}
              onChange={(e) => setEvery(e.target.value)}
              error={err("every")}
            />
            {frequency === "monthly" && (
              <SelectField
                label="On"
                name="position"
                value={byDay ?? ""}
                onChange={(e) => setPosition(e.target.value)}
                error={err("position")}
                hint={date ? "From the first date." : "Choose the first date; the options follow from it."}
                disabled={positions.length === 0}
              >
                {positions.length === 0 && <option value="">—</option>}
                {positions.map((p) => (
                  <option key={p.value} value={p.value}>
                    {p.label} of the month
                  </option>
                ))}
              </SelectField>
            )}
          </div>
          <fieldset className="mt-4">
            <legend className="text-sm font-medium text-slate-800">Ends</legend>
            <div className="mt-2 flex flex-wrap gap-4 text-sm">
              <label className="flex items-center gap-2">
                <input type="radio" name="ends" value="count" checked={ends === "count"} onChange={() => setEnds("count")} className="h-4 w-4 accent-teal-700" />
                After a count of appointments
              </label>
              <label className="flex items-center gap-2">
                <input type="radio" name="ends" value="until" checked={ends === "until"} onChange={() => setEnds("until")} className="h-4 w-4 accent-teal-700" />
                On a date
              </label>
            </div>
            <div className="mt-3 grid gap-4 sm:grid-cols-2">
              {ends === "count" ? (
                <TextField
                  label="Number of appointments"
                  name="count"
                  type="number"
                  inputMode="numeric"
                  min={1}
                  max={MAX_OCCURRENCES}
                  value={count}
                  onChange={(e) => setCount(e.target.value)}
                  error={err("count")}
                />
              ) : (
                <TextField
                  label={`Last date${pz ? ` (${pz.replace(/_/g, " ")})` : ""}`}
                  name="until"
                  type="date"
                  min={date || undefined}
                  value={until}
                  onChange={(e) => setUntil(e.target.value)}
                  error={err("until")}
                  hint={`Appointments up to the end of this day${pz ? ` in ${pz.replace(/_/g, " ")}` : " in the provider's zone"}; at most ${MAX_OCCURRENCES}, within two years.`}
                />
              )}
            </div>
          </fieldset>
          {date && (frequency === "weekly" || byDay) && (ends === "count" ? Number(count) > 0 : until) && pz && (
            <p className="mt-3 text-sm text-slate-700" aria-live="polite">
              {describeRule(
                seriesRule({ frequency, every: Math.max(1, Number(every) || 1), byDay, end: ends === "count" ? { kind: "count", count: Number(count) } : { kind: "until", until }, zone: pz }),
                pz,
              )}
              , from {localLabel(`${date}T${time}:00`)} ({pz.replace(/_/g, " ")}).
            </p>
          )}
        </Card>
        <Button type="submit" pending={create.pending}>
          Book the series
        </Button>
      </form>
      {result && <SeriesResult outcome={result} zone={zone} />}
    </div>
  );
}

/** What a create (or a change) did: the occurrences booked and those that could not be. */
export function SeriesResult({ outcome, zone }: { outcome: SeriesOutcome; zone: string }) {
  const { appointments, conflicts, series } = outcome;
  return (
    <Card title="Series booked">
      <div className="space-y-4 text-sm" role="status">
        <p>
          {appointments.length} booked
          {conflicts.length > 0 ? `, ${conflicts.length} could not be booked` : ""}.{" "}
          <Link className="font-semibold text-teal-800 underline" href={`/series/?id=${series.id}`}>
            Open the series
          </Link>
        </p>
        {conflicts.length > 0 && (
          <Alert tone="warning" title="Not booked">
            <ul className="list-disc space-y-1 pl-5" aria-label="Occurrences not booked">
              {conflicts.map((c) => (
                <li key={c.starts_at}>
                  {localLabel(c.local_start)} ({series.timezone.replace(/_/g, " ")}): {c.reason}
                </li>
              ))}
            </ul>
          </Alert>
        )}
        {appointments.length > 0 && (
          <ul className="space-y-1" aria-label="Occurrences booked">
            {appointments.map((a) => (
              <li key={a.id}>{dateTimeIn(a.starts_at, zone)}</li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}

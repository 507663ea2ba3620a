"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button, Card } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { MAX_OCCURRENCES, localLabel, weeklyRule, type SeriesOutcome } from "@/lib/series";
import { dateTimeIn, type AppointmentType } from "@/lib/scheduling";

interface Named {
  id: string;
  name: string;
}

/**
 * Book a weekly or every-N-weeks series for a client. The first start is a wall-clock time in
 * the provider's zone (the API's `first_start`), which is read from the provider's hours and
 * named next to the fields. Occurrences that could not be booked come back as conflicts, each
 * with its reason; the rest are booked.
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
  const [every, setEvery] = useState("1");
  const [count, setCount] = useState("6");
  const [local, setLocal] = useState<Record<string, string>>({});
  const [result, setResult] = useState<SeriesOutcome | null>(null);
  const providerZone = useLoad(
    async () => (providerId ? (await unwrap(api.GET("/providers/{provider_id}/availability", { params: { path: { provider_id: providerId } } }))).timezone : null),
    [providerId],
  );
  const create = useSubmit(async (body: { provider_id: string; client_id: string; type_id: string; first_start: string; rrule: string }) =>
    unwrap(api.POST("/appointment-series", { body })),
  );
  const server = fieldErrors(create.problem);
  const err = (k: string) => local[k] ?? server[k];

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = Number(every);
    const c = Number(count);
    const missing: Record<string, string> = {};
    if (!clientId) missing.client_id = "Choose the client.";
    if (!date) missing.first_start = "Choose the first date.";
    else if (!/^\d{2}:\d{2}$/.test(time)) missing.first_start = "Give the time as HH:MM.";
    if (!Number.isInteger(n) || n < 1 || n > 52) missing.every = "A whole number of weeks, 1 to 52.";
    if (!Number.isInteger(c) || c < 1 || c > MAX_OCCURRENCES) missing.count = `A whole number, 1 to ${MAX_OCCURRENCES}.`;
    setLocal(missing);
    if (Object.keys(missing).length) return;
    const o = await create.run({ provider_id: providerId, client_id: clientId, type_id: typeId, first_start: `${date}T${time}:00`, rrule: weeklyRule(n, c) });
    if (o) {
      setResult(o);
      onCreated?.(o);
    }
  }

  const pz = providerZone.data;
  return (
    <div className="space-y-6">
      <form onSubmit={submit} noValidate className="space-y-4" aria-label="Book a recurring series">
        <FormProblem problem={create.problem} fields={["client_id", "provider_id", "type_id", "first_start", "rrule", "every", "count"]} />
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
          <div className="grid gap-4 sm:grid-cols-4">
            <TextField label="First date" name="first_start" type="date" value={date} onChange={(e) => setDate(e.target.value)} error={err("first_start")} />
            <TextField label={`Time${pz ? ` (${pz.replace(/_/g, " ")})` : ""}`} name="time" type="time" value={time} onChange={(e) => setTime(e.target.value)} />
            <TextField
              label="Repeat every (weeks)"
              name="every"
              type="number"
              inputMode="numeric"
              min={1}
              max={52}
              value={every}
              onChange={(e) => setEvery(e.target.value)}
              error={err("every") ?? err("rrule")}
            />
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
          </div>
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

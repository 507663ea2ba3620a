"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, LoadError, Loading } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { describeRule, localLabel, type SeriesOutcome } from "@/lib/series";
import { REASONS, STATUS_LABELS, dateTimeIn, isOpen, statusTone, type Appointment, type Reason } from "@/lib/scheduling";

type Scope = "all" | "following" | "this";

/** Which occurrences a change applies to: all future ones, one and those after it, or one. */
function ScopeFields({
  scope,
  setScope,
  from,
  setFrom,
  open,
  zone,
  error,
  thisLabel,
}: {
  scope: Scope;
  setScope: (s: Scope) => void;
  from: string;
  setFrom: (id: string) => void;
  open: Appointment[];
  zone: string;
  error?: string;
  thisLabel: string;
}) {
  return (
    <>
      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Which appointments</legend>
        <div className="mt-2 flex flex-wrap gap-x-6 gap-y-2 text-sm text-slate-800">
          {(
            [
              ["all", "All upcoming"],
              ["following", "One and every later one"],
              ["this", thisLabel],
            ] as const
          ).map(([v, label]) => (
            <label key={v} className="flex items-center gap-2">
              <input type="radio" name={`scope-${thisLabel}`} value={v} checked={scope === v} onChange={() => setScope(v)} className="h-4 w-4 accent-teal-700" />
              {label}
            </label>
          ))}
        </div>
      </fieldset>
      {scope !== "all" && (
        <SelectField label={scope === "this" ? "Appointment" : "Starting from"} name="from_appointment_id" value={from} onChange={(e) => setFrom(e.target.value)} error={error}>
          <option value="">Choose an appointment…</option>
          {open.map((a) => (
            <option key={a.id} value={a.id}>
              {dateTimeIn(a.starts_at, zone)}
            </option>
          ))}
        </SelectField>
      )}
    </>
  );
}

/**
 * One series: its rule, its occurrences (in the reader's zone, with the provider's when it
 * differs), and changes to all, this-and-following, or one occurrence. Changes to the series
 * send its version (If-Match); a single occurrence is cancelled through the appointment's own
 * transition, or moved on the booking screen.
 */
export function SeriesView({ seriesId, zone }: { seriesId: string; zone: string }) {
  const s = useLoad(() => unwrap(api.GET("/appointment-series/{series_id}", { params: { path: { series_id: seriesId } } })), [seriesId]);
  const [done, setDone] = useState<SeriesOutcome | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  if (s.loading && !s.data) return <Loading label="Loading the series…" />;
  if (s.error) return <LoadError problem={s.error} onRetry={s.reload} />;
  if (!s.data) return null;
  const { series, appointments } = s.data;
  const sorted = [...appointments].sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const open = sorted.filter((a) => isOpen(a) && a.status !== "checked_in" && new Date(a.starts_at) > new Date());
  const first = sorted[0];
  const changed = (text: string, o?: SeriesOutcome) => {
    setMessage(text);
    setDone(o ?? null);
    s.reload();
  };
  return (
    <div className="space-y-6">
      <Card title="Series">
        <dl className="grid gap-3 text-sm sm:grid-cols-3">
          <div>
            <dt className="font-medium text-slate-800">Client</dt>
            <dd>{first?.client_name ?? "—"}</dd>
          </div>
          <div>
            <dt className="font-medium text-slate-800">Provider and service</dt>
            <dd>
              {first?.provider_name ?? "—"}, {first?.type_name ?? ""}
            </dd>
          </div>
          <div>
            <dt className="font-medium text-slate-800">Repeats</dt>
            <dd>
              {describeRule(series.rrule, series.timezone)} from {localLabel(series.first_start)} ({series.timezone.replace(/_/g, " ")})
            </dd>
          </div>
          <div>
            <dt className="font-medium text-slate-800">Status</dt>
            <dd className="capitalize">{series.status}</dd>
          </div>
          {series.parent_id && (
            <div>
              <dt className="font-medium text-slate-800">Continues</dt>
              <dd>
                <Link className="font-semibold text-teal-800 underline" href={`/series/?id=${series.parent_id}`}>
                  the earlier series
                </Link>
              </dd>
            </div>
          )}
        </dl>
      </Card>
      {message && (
        <Alert tone="success" title={message}>
          {done && done.conflicts.length > 0 && (
            <ul className="list-disc pl-5" aria-label="Occurrences not changed">
              {done.conflicts.map((c) => (
                <li key={c.starts_at}>
                  {localLabel(c.local_start)}: {c.reason}
                </li>
              ))}
            </ul>
          )}
        </Alert>
      )}
      <Card title="Appointments">
        <ol className="divide-y divide-slate-100 text-sm" aria-label="Appointments in this series" aria-busy={s.loading || undefined}>
          {sorted.map((a) => (
            <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
              <span>
                <span className="block text-slate-900">{dateTimeIn(a.starts_at, zone)}</span>
                {a.timezone !== zone && <span className="block text-xs text-slate-600">{dateTimeIn(a.starts_at, a.timezone)}</span>}
              </span>
              <span className="flex items-center gap-2">
                {a.series_exception && <Badge tone="sky">Changed on its own</Badge>}
                <Badge tone={statusTone(a.status)}>{STATUS_LABELS[a.status]}</Badge>
                {open.includes(a) && (
                  <Link className="text-sm font-semibold text-teal-800 underline" href={`/book/?reschedule=${a.id}`} aria-label={`Move only this one: ${dateTimeIn(a.starts_at, zone)}`}>
                    Move only this one
                  </Link>
                )}
              </span>
            </li>
          ))}
        </ol>
      </Card>
      {series.status === "active" && open.length > 0 && (
        <div className="grid items-start gap-6 lg:grid-cols-2">
          <Retime key={`r-${series.version}`} seriesId={series.id} version={series.version} open={open} zone={zone} providerZone={series.timezone} onDone={changed} />
          <CancelSeries key={`c-${series.version}`} seriesId={series.id} version={series.version} open={open} zone={zone} onDone={changed} />
        </div>
      )}
    </div>
  );
}

function Retime({
  seriesId,
  version,
  open,
  zone,
  providerZone,
  onDone,
}: {
  seriesId: string;
  version: number;
  open: Appointment[];
  zone: string;
  providerZone: string;
  onDone: (message: string, o?: SeriesOutcome) => void;
}) {
  const router = useRouter();
  const [scope, setScope] = useState<Scope>("all");
  const [from, setFrom] = useState("");
  const [time, setTime] = useState("");
  const [local, setLocal] = useState<Record<string, string>>({});
  const act = useSubmit(async () =>
    unwrap(
      api.POST("/appointment-series/{series_id}/retime", {
        params: { path: { series_id: seriesId }, header: { "If-Match": etagOf(version) } },
        body: scope === "following" ? { scope, from_appointment_id: from, local_time: time } : { scope: "all", local_time: time },
      }),
    ),
  );
  const errors = { ...fieldErrors(act.problem), ...local };
  async function submit(e: FormEvent) {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!/^\d{2}:\d{2}$/.test(time)) missing.local_time = "Choose the new time.";
    if (scope !== "all" && !from) missing.from_appointment_id = "Choose the appointment.";
    setLocal(missing);
    if (Object.keys(missing).length) return;
    if (scope === "this") {
      router.push(`/book/?reschedule=${from}`);
      return;
    }
    const o = await act.run();
    if (o) onDone(`Moved ${o.appointments.length} appointment${o.appointments.length === 1 ? "" : "s"} to ${time} (${providerZone.replace(/_/g, " ")}).`, o);
  }
  return (
    <Card title="Change the time">
      <form onSubmit={submit} noValidate className="space-y-3" aria-label="Change the time of the series">
        <FormProblem problem={act.problem} fields={["local_time", "from_appointment_id", "scope"]} />
        <ScopeFields scope={scope} setScope={setScope} from={from} setFrom={setFrom} open={open} zone={zone} error={errors.from_appointment_id} thisLabel="Only one (choose a new slot)" />
        {scope !== "this" && (
          <TextField
            label={`New time (${providerZone.replace(/_/g, " ")})`}
            name="local_time"
            type="time"
            value={time}
            onChange={(e) => setTime(e.target.value)}
            hint="Same dates, new time of day, in the provider's zone."
            error={errors.local_time}
          />
        )}
        <Button type="submit" pending={act.pending}>
          {scope === "this" ? "Choose a new slot" : "Change the time"}
        </Button>
      </form>
    </Card>
  );
}

function CancelSeries({
  seriesId,
  version,
  open,
  zone,
  onDone,
}: {
  seriesId: string;
  version: number;
  open: Appointment[];
  zone: string;
  onDone: (message: string, o?: SeriesOutcome) => void;
}) {
  const [scope, setScope] = useState<Scope>("all");
  const [from, setFrom] = useState("");
  const [reason, setReason] = useState<Reason | "">("");
  const [local, setLocal] = useState<Record<string, string>>({});
  const act = useSubmit(async (r: Reason): Promise<{ count: number; outcome?: SeriesOutcome }> => {
    if (scope === "this") {
      const a = open.find((x) => x.id === from)!;
      await unwrap(
        api.POST("/appointments/{appointment_id}/transitions", {
          params: { path: { appointment_id: a.id }, header: { "If-Match": etagOf(a.version) } },
          body: { action: "cancel", reason: r },
        }),
      );
      return { count: 1 };
    }
    const o = await unwrap(
      api.POST("/appointment-series/{series_id}/cancel", {
        params: { path: { series_id: seriesId }, header: { "If-Match": etagOf(version) } },
        body: scope === "following" ? { scope, from_appointment_id: from, reason: r } : { scope: "all", reason: r },
      }),
    );
    return { count: o.appointments.length, outcome: o };
  });
  const errors = { ...fieldErrors(act.problem), ...local };
  async function submit(e: FormEvent) {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!reason) missing.reason = "Choose a reason.";
    if (scope !== "all" && !from) missing.from_appointment_id = "Choose the appointment.";
    setLocal(missing);
    if (Object.keys(missing).length || !reason) return;
    const r = await act.run(reason);
    if (r) onDone(`Cancelled ${r.count} appointment${r.count === 1 ? "" : "s"}.`, r.outcome);
  }
  return (
    <Card title="Cancel">
      <form onSubmit={submit} noValidate className="space-y-3" aria-label="Cancel appointments of the series">
        <FormProblem problem={act.problem} fields={["reason", "from_appointment_id", "scope"]} />
        <ScopeFields scope={scope} setScope={setScope} from={from} setFrom={setFrom} open={open} zone={zone} error={errors.from_appointment_id} thisLabel="Only one" />
        <SelectField label="Reason for cancelling" name="reason" value={reason} onChange={(e) => setReason(e.target.value as Reason)} error={errors.reason}>
          <option value="">Choose a reason…</option>
          {REASONS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </SelectField>
        <Button type="submit" variant="danger" pending={act.pending}>
          Cancel appointments
        </Button>
      </form>
    </Card>
  );
}

"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useSession } from "@/components/shell/session-context";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { localZone } from "@/lib/format";
import { allPages } from "@/lib/paging";
import type { components } from "@/api/generated/tenant";

type Availability = components["schemas"]["Availability"];
type Rule = components["schemas"]["AvailabilityRule"];

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/**
 * A provider's working week (in their zone) and dated overrides. Providers edit their own;
 * front desk and administrators choose the provider (the API refuses a sub-admin outside
 * their subtree, shown on the form).
 */
export default function AvailabilityPage() {
  const { me, roles } = useSession();
  const manages = roles.has("staff") || roles.has("institution_admin") || roles.has("sub_admin");
  const providers = useLoad(
    async () =>
      manages
        ? (await allPages((after) => unwrap(api.GET("/people", { params: { query: { kind: "provider", limit: 200, after } } })))).filter((p) => p.status === "active")
        : [],
    [manages],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const providerId = chosen ?? (roles.has("provider") ? me.person_id : providers.data?.[0]?.id) ?? null;
  const own = providerId === me.person_id;
  // Kept here: the form remounts with the saved version.
  const [saved, setSaved] = useState(false);
  const data = useLoad(
    async () => (providerId ? unwrap(api.GET("/providers/{provider_id}/availability", { params: { path: { provider_id: providerId } } })) : null),
    [providerId],
  );
  return (
    <>
      <PageHeader
        title={own ? "My hours" : "Providers' hours"}
        description={`When clients and the front desk can book ${own ? "you" : "this provider"}. Hours are wall-clock times in the schedule's time zone, so they stay put when clocks change.`}
      />
      {manages && (
        <div className="mb-4 max-w-xs">
          {providers.error && <LoadError problem={providers.error} onRetry={providers.reload} />}
          <SelectField label="Provider" name="provider" value={providerId ?? ""} onChange={(e) => { setChosen(e.target.value); setSaved(false); }}>
            {providers.loading && <option value="">Loading…</option>}
            {(providers.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.given_name} {p.family_name}
                {p.id === me.person_id ? " (you)" : ""}
              </option>
            ))}
          </SelectField>
        </div>
      )}
      {data.loading && !data.data && <Loading />}
      {data.error && <LoadError problem={data.error} onRetry={data.reload} />}
      {data.data && (
        <div className="space-y-6" aria-busy={data.loading || undefined}>
          {saved && <Alert tone="success">Hours saved.</Alert>}
          <WeekForm key={`${data.data.provider_id}-${data.data.version}`} availability={data.data} own={own} onSaved={() => { setSaved(true); data.reload(); }} onEdit={() => setSaved(false)} />
          <Overrides key={data.data.provider_id} availability={data.data} own={own} onChanged={data.reload} />
        </div>
      )}
    </>
  );
}

interface Row {
  weekday: number;
  start: string;
  end: string;
}

function WeekForm({ availability, own, onSaved, onEdit }: { availability: Availability; own: boolean; onSaved: () => void; onEdit: () => void }) {
  const [zone, setZone] = useState(availability.timezone ?? localZone());
  const [rows, setRows] = useState<Row[]>(availability.rules.map((r) => ({ weekday: r.weekday, start: r.start.slice(0, 5), end: r.end.slice(0, 5) })));
  const { run, pending, problem } = useSubmit(async () =>
    unwrap(
      api.PUT("/providers/{provider_id}/availability", {
        params: { path: { provider_id: availability.provider_id }, header: { "If-Match": etagOf(availability.version) } },
        body: { timezone: zone.trim(), rules: rows.map((r): Rule => ({ weekday: r.weekday, start: r.start, end: r.end })) },
      }),
    ),
  );
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    onEdit();
    if (await run()) onSaved();
  }
  const update = (i: number, patch: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <FormProblem problem={problem} fields={["timezone", "rules"]} />
      <Card title="Weekly hours">
        <div className="max-w-sm">
          <TextField label="Time zone" name="timezone" value={zone} onChange={(e) => setZone(e.target.value)} error={errors.timezone} hint="An IANA zone, e.g. America/Toronto." />
        </div>
        {rows.length === 0 && <div className="mt-4"><Empty>{own ? "No weekly hours: no one can book you yet." : "No weekly hours: no one can book this provider yet."}</Empty></div>}
        <ul className="mt-4 space-y-3">
          {rows.map((r, i) => (
            <li key={i} className="grid grid-cols-2 items-end gap-3 sm:grid-cols-[12rem_8rem_8rem_auto]">
              <SelectField label="Day" name={`rules/${i}/weekday`} value={String(r.weekday)} onChange={(e) => update(i, { weekday: Number(e.target.value) })} error={errors[`rules/${i}/weekday`]}>
                {WEEKDAYS.map((d, n) => (
                  <option key={d} value={n + 1}>{d}</option>
                ))}
              </SelectField>
              <TextField label="From" name={`rules/${i}/start`} type="time" value={r.start} onChange={(e) => update(i, { start: e.target.value })} error={errors[`rules/${i}/start`]} />
              <TextField label="Until" name={`rules/${i}/end`} type="time" value={r.end} onChange={(e) => update(i, { end: e.target.value })} error={errors[`rules/${i}/end`] ?? errors[`rules/${i}`]} />
              <Button type="button" variant="ghost" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                Remove<span className="sr-only"> {WEEKDAYS[r.weekday - 1]} {r.start}–{r.end}</span>
              </Button>
            </li>
          ))}
        </ul>
        <div className="mt-4 flex flex-wrap gap-2">
          <Button type="button" variant="secondary" onClick={() => setRows([...rows, { weekday: 1, start: "09:00", end: "17:00" }])}>
            Add hours
          </Button>
          <Button type="submit" pending={pending}>Save weekly hours</Button>
        </div>
      </Card>
    </form>
  );
}

function Overrides({ availability, own, onChanged }: { availability: Availability; own: boolean; onChanged: () => void }) {
  const [date, setDate] = useState("");
  const [kind, setKind] = useState<"time_off" | "extra">("time_off");
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const add = useSubmit(async () =>
    unwrap(
      api.POST("/providers/{provider_id}/availability/overrides", {
        params: { path: { provider_id: availability.provider_id } },
        body: { date, kind, start: start || undefined, end: end || undefined },
      }),
    ),
  );
  const del = useSubmit(async (id: string) => {
    await unwrap(api.DELETE("/providers/{provider_id}/availability/overrides/{override_id}", { params: { path: { provider_id: availability.provider_id, override_id: id } } }));
    return true;
  });
  const errors = fieldErrors(add.problem);
  const zone = availability.timezone ?? "your zone";
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await add.run()) {
      setDate("");
      setStart("");
      setEnd("");
      onChanged();
    }
  }
  return (
    <Card title="Time off and extra hours">
      {availability.overrides.length === 0 ? (
        <Empty>{own ? "No upcoming changes to your week." : "No upcoming changes to this week."}</Empty>
      ) : (
        <ul className="divide-y divide-slate-100">
          {availability.overrides.map((o) => (
            <li key={o.id} className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
              <span>
                <span className="font-medium text-slate-900">{o.date}</span> · {o.kind === "time_off" ? "Time off" : "Extra hours"}
                {o.start && o.end ? ` ${o.start.slice(0, 5)}–${o.end.slice(0, 5)} (${zone})` : o.kind === "time_off" ? " (whole day)" : ""}
              </span>
              <Button variant="danger" pending={del.pending} onClick={async () => { if (await del.run(o.id)) onChanged(); }}>
                Delete<span className="sr-only"> {o.date}</span>
              </Button>
            </li>
          ))}
        </ul>
      )}
      {del.problem && <div className="mt-3"><LoadError problem={del.problem} /></div>}
      <form onSubmit={submit} noValidate className="mt-4 space-y-3" aria-label="Add time off or extra hours">
        <FormProblem problem={add.problem} fields={["date", "kind", "start", "end"]} />
        <div className="grid gap-3 sm:grid-cols-4">
          <TextField label="Date" name="date" type="date" value={date} onChange={(e) => setDate(e.target.value)} error={errors.date} />
          <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as "time_off" | "extra")} error={errors.kind}>
            <option value="time_off">Time off</option>
            <option value="extra">Extra hours</option>
          </SelectField>
          <TextField label={`From (${zone})`} name="start" type="time" value={start} onChange={(e) => setStart(e.target.value)} error={errors.start} hint={kind === "time_off" ? "Leave empty for the whole day." : undefined} />
          <TextField label={`Until (${zone})`} name="end" type="time" value={end} onChange={(e) => setEnd(e.target.value)} error={errors.end} />
        </div>
        <Button type="submit" variant="secondary" pending={add.pending}>Add</Button>
      </form>
    </Card>
  );
}

"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { CancelForm } from "@/components/scheduling/cancel-form";
import { useSession } from "@/components/shell/session-context";
import { useLoad, useSubmit } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { SelectField } from "@/components/form";
import { localZone } from "@/lib/format";
import { describe } from "@/lib/problem";
import { STATUS_LABELS, addDays, dateKey, dateTimeIn, dayLabel, statusTone, timeLabel, type Action, type Appointment } from "@/lib/scheduling";

/** Monday (YYYY-MM-DD) of the week holding `date`. */
function mondayOf(date: string): string {
  const wd = new Date(`${date}T12:00:00Z`).getUTCDay();
  return addDays(date, -((wd + 6) % 7));
}

/** A provider's week: their appointments by day, in the reader's zone, and each one's detail. */
export default function CalendarPage() {
  const { me, roles } = useSession();
  const zone = useMemo(() => localZone(), []);
  // Front desk and administrators look at any provider's week; a provider starts on their own.
  const manages = roles.has("staff") || roles.has("institution_admin") || roles.has("sub_admin");
  const providers = useLoad(
    async () =>
      manages
        ? (await allPages((after) => unwrap(api.GET("/people", { params: { query: { kind: "provider", limit: 200, after } } })))).filter((p) => p.status === "active")
        : [],
    [manages],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const providerId = chosen ?? (roles.has("provider") ? me.person_id : providers.data?.[0]?.id);
  const [monday, setMonday] = useState(() => mondayOf(dateKey(new Date(), zone)));
  const [openId, setOpenId] = useState<string | null>(null);
  const days = Array.from({ length: 7 }, (_, i) => addDays(monday, i));
  const week = useLoad(async () => {
    const from = new Date(`${monday}T00:00`).toISOString();
    const to = new Date(`${addDays(monday, 7)}T00:00`).toISOString();
    if (!providerId) return [];
    const page = await unwrap(api.GET("/appointments", { params: { query: { provider: providerId, from, to, status: [], limit: 200 } } }));
    return page.items.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  }, [monday, providerId]);
  const open = week.data?.find((a) => a.id === openId) ?? null;
  const today = dateKey(new Date(), zone);
  return (
    <>
      <PageHeader
        title={manages && providerId !== me.person_id ? "Calendars" : "My calendar"}
        description={`Week of ${dayLabel(`${monday}T12:00:00Z`, "UTC")}, times in ${zone.replace(/_/g, " ")}.`}
        actions={
          <>
            <Button variant="secondary" onClick={() => setMonday(addDays(monday, -7))}>Previous week</Button>
            <Button variant="secondary" onClick={() => setMonday(mondayOf(today))}>This week</Button>
            <Button variant="secondary" onClick={() => setMonday(addDays(monday, 7))}>Next week</Button>
          </>
        }
      />
      {manages && (
        <div className="mb-4 max-w-xs">
          {providers.error && <LoadError problem={providers.error} onRetry={providers.reload} />}
          <SelectField label="Provider" name="provider" value={providerId ?? ""} onChange={(e) => { setChosen(e.target.value); setOpenId(null); }}>
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
      {week.loading && !week.data && <Loading />}
      {week.error && <LoadError problem={week.error} onRetry={week.reload} />}
      {week.data && (
        <div className="space-y-6">
          <div className="grid gap-3 md:grid-cols-7" aria-busy={week.loading || undefined}>
            {days.map((d) => {
              const items = week.data!.filter((a) => dateKey(a.starts_at, zone) === d);
              return (
                <section key={d} aria-label={dayLabel(`${d}T12:00:00Z`, "UTC")} className={`min-h-24 rounded-lg border bg-white p-2 ${d === today ? "border-teal-600" : "border-slate-200"}`}>
                  <h2 className={`mb-2 text-sm font-semibold ${d === today ? "text-teal-800" : "text-slate-800"}`}>
                    {dayLabel(`${d}T12:00:00Z`, "UTC")}
                    {d === today && <span className="sr-only"> (today)</span>}
                  </h2>
                  {items.length === 0 ? (
                    <p className="text-xs text-slate-600">Nothing booked</p>
                  ) : (
                    <ul className="space-y-2">
                      {items.map((a) => (
                        <li key={a.id}>
                          <button
                            type="button"
                            onClick={() => setOpenId(a.id)}
                            aria-pressed={openId === a.id}
                            className={`w-full rounded-md border px-2 py-1.5 text-left text-xs ${a.status === "cancelled" ? "border-slate-200 bg-slate-50 text-slate-600 line-through" : "border-teal-200 bg-teal-50 text-slate-900 hover:bg-teal-100"} ${openId === a.id ? "ring-2 ring-teal-700" : ""}`}
                          >
                            <span className="block font-semibold">{timeLabel(a.starts_at, zone)}</span>
                            <span className="block">{a.client_name ?? "Client"}</span>
                            <span className="block text-slate-700">{a.type_name}</span>
                            {a.status === "booked" ? (
                              <span className="sr-only">, {STATUS_LABELS[a.status]}</span>
                            ) : (
                              <>
                                <span className="sr-only">, </span>
                                <span className="block font-medium">{STATUS_LABELS[a.status]}</span>
                              </>
                            )}
                          </button>
                        </li>
                      ))}
                    </ul>
                  )}
                </section>
              );
            })}
          </div>
          <div className="grid items-start gap-6 lg:grid-cols-[2fr_1fr]">
            {open ? (
              <Detail key={open.id} a={open} zone={zone} onChanged={week.reload} onClose={() => setOpenId(null)} />
            ) : (
              <Card title="Appointment">
                <p className="text-sm text-slate-600">Choose an appointment to see its details and act on it.</p>
              </Card>
            )}
            {providerId === me.person_id && <FeedCard />}
          </div>
        </div>
      )}
    </>
  );
}

const ACTIONS: Record<string, { action: Action; label: string }[]> = {
  requested: [
    { action: "approve", label: "Approve" },
    { action: "decline", label: "Decline" },
  ],
  booked: [
    { action: "check_in", label: "Check in" },
    { action: "complete", label: "Complete" },
    { action: "no_show", label: "No-show" },
  ],
  checked_in: [{ action: "complete", label: "Complete" }],
};

function Detail({ a, zone, onChanged, onClose }: { a: Appointment; zone: string; onChanged: () => void; onClose: () => void }) {
  const [cancelling, setCancelling] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const extra = useLoad(async () => {
    const [history, reminders, types] = await Promise.all([
      unwrap(api.GET("/appointments/{appointment_id}/history", { params: { path: { appointment_id: a.id } } })),
      unwrap(api.GET("/appointments/{appointment_id}/reminders", { params: { path: { appointment_id: a.id } } })),
      unwrap(api.GET("/appointment-types")),
    ]);
    return { history, reminders, type: types.find((t) => t.id === a.type_id) };
  }, [a.id, a.version]);
  const act = useSubmit(async (action: Action) =>
    unwrap(
      api.POST("/appointments/{appointment_id}/transitions", {
        params: { path: { appointment_id: a.id }, header: { "If-Match": etagOf(a.version) } },
        body: { action },
      }),
    ),
  );
  const actions = ACTIONS[a.status] ?? [];
  return (
    <Card title="Appointment" actions={<Button variant="ghost" onClick={onClose}>Close</Button>}>
      <div className="space-y-4 text-sm">
        <div>
          <p className="text-base font-semibold text-slate-900">{a.client_name ?? "Client"}</p>
          <p className="text-slate-700">{a.type_name}</p>
          <p className="text-slate-700">{dateTimeIn(a.starts_at, zone)} – {timeLabel(a.ends_at, zone)}</p>
          {a.timezone !== zone && <p className="text-slate-600">({dateTimeIn(a.starts_at, a.timezone)} in your schedule&apos;s zone)</p>}
          {a.series_id && (
            <p className="mt-1">
              <Link className="font-semibold text-teal-800 underline" href={`/series/?id=${a.series_id}`}>
                Part of a recurring series{a.series_exception ? " (changed on its own)" : ""}: view the series
              </Link>
            </p>
          )}
          <p className="mt-2">
            <Badge tone={statusTone(a.status)}>{STATUS_LABELS[a.status]}</Badge>
            {a.late_cancellation && <Badge tone="amber">Late cancellation</Badge>}
          </p>
        </div>
        {done && <Alert tone="success">{done}</Alert>}
        {act.problem && <Alert title="That did not work">{describe(act.problem)}</Alert>}
        {!cancelling && (actions.length > 0 || a.status === "booked" || a.status === "requested") && (
          <div className="flex flex-wrap gap-2">
            {actions.map((x) => (
              <Button
                key={x.action}
                variant={x.action === "check_in" || x.action === "approve" ? "primary" : "secondary"}
                pending={act.pending}
                onClick={async () => {
                  const r = await act.run(x.action);
                  if (r) {
                    setDone(`${STATUS_LABELS[r.status]}.`);
                    onChanged();
                  }
                }}
              >
                {x.label}
              </Button>
            ))}
            {a.status === "booked" && (
              <Button variant="danger" onClick={() => setCancelling(true)}>
                Cancel
              </Button>
            )}
          </div>
        )}
        {cancelling && (
          <CancelForm
            appointment={a}
            windowMinutes={extra.data?.type?.cancellation_window_minutes}
            onClose={() => setCancelling(false)}
            onDone={() => { setCancelling(false); onChanged(); }}
          />
        )}
        {extra.loading && <Loading label="Loading history…" />}
        {extra.error && <LoadError problem={extra.error} onRetry={extra.reload} />}
        {extra.data && (
          <>
            <div>
              <h3 className="font-semibold text-slate-900">History</h3>
              <ol className="mt-2 space-y-1 border-l-2 border-slate-200 pl-3">
                {extra.data.history.map((e, i) => (
                  <li key={i}>
                    <span className="font-medium text-slate-900">{e.action.replace(/_/g, " ")}</span>
                    {e.reason && <span className="text-slate-700"> · {e.reason.replace(/_/g, " ")}</span>}
                    {e.late && <span className="text-amber-800"> · late</span>}
                    <span className="block text-xs text-slate-600">{dateTimeIn(e.at, zone)}</span>
                    {e.previous_start && <span className="block text-xs text-slate-600">was {dateTimeIn(e.previous_start, zone)}</span>}
                  </li>
                ))}
              </ol>
            </div>
            <div>
              <h3 className="font-semibold text-slate-900">Reminders</h3>
              {extra.data.reminders.length === 0 ? (
                <p className="mt-1 text-slate-600">None due yet.</p>
              ) : (
                <ul className="mt-2 space-y-1">
                  {extra.data.reminders.map((r, i) => (
                    <li key={i}>
                      {r.channel}, {r.offset_minutes >= 60 ? `${Math.round(r.offset_minutes / 60)} h` : `${r.offset_minutes} min`} before · {r.status}
                      {r.detail ? ` (${r.detail.replace(/_/g, " ")})` : ""}
                      <span className="block text-xs text-slate-600">due {dateTimeIn(r.due_at, zone)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </>
        )}
      </div>
    </Card>
  );
}

/** A private iCal feed of the provider's own appointments; its URL is shown once. */
function FeedCard() {
  const [url, setUrl] = useState<string | null>(null);
  const create = useSubmit(async () => unwrap(api.POST("/calendar-feeds")));
  return (
    <Card title="Calendar app feed">
      <p className="text-sm text-slate-700">Subscribe to your appointments from a calendar app. Events show only &quot;Appointment&quot; and the time.</p>
      {create.problem && <div className="mt-3"><Alert>{describe(create.problem)}</Alert></div>}
      {url ? (
        <div className="mt-3 space-y-2">
          <Alert tone="warning" title="Copy this address now">It is shown only once. Anyone with it can see your appointment times.</Alert>
          <label className="block text-sm font-medium text-slate-800" htmlFor="feed-url">Feed address</label>
          <textarea id="feed-url" readOnly rows={3} value={url} onFocus={(e) => e.target.select()} className="block w-full resize-none break-all rounded-md border border-slate-400 px-3 py-2 font-mono text-xs" />
        </div>
      ) : (
        <Button className="mt-3" variant="secondary" pending={create.pending} onClick={async () => { const f = await create.run(); if (f) setUrl(f.url); }}>
          Create a feed address
        </Button>
      )}
    </Card>
  );
}

"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Badge, Button, ButtonLink, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { CancelForm } from "@/components/scheduling/cancel-form";
import { MyContact } from "@/components/people/my-contact";
import { useLoad, useSubmit } from "@/lib/hooks";
import { localZone } from "@/lib/format";
import { STATUS_LABELS, dateTimeIn, isOpen, statusTone, type Appointment } from "@/lib/scheduling";
import type { components } from "@/api/generated/tenant";

type Entry = components["schemas"]["WaitlistEntry"];

/** A client's appointments (upcoming and past), their waitlist places and any offers. */
export default function MyAppointmentsPage() {
  const zone = useMemo(() => localZone(), []);
  const data = useLoad(async () => {
    const [appointments, types, waitlist] = await Promise.all([
      unwrap(api.GET("/appointments", { params: { query: { status: [], from: new Date(Date.now() - 30 * 86_400_000).toISOString(), limit: 200 } } })),
      unwrap(api.GET("/appointment-types")),
      unwrap(api.GET("/waitlist")),
    ]);
    return { appointments: appointments.items, types, waitlist, loadedAt: Date.now() };
  }, []);
  const [message, setMessage] = useState<string | null>(null);
  const now = data.data?.loadedAt ?? 0;
  const upcoming = (data.data?.appointments ?? []).filter((a) => isOpen(a) && new Date(a.ends_at).getTime() > now).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const past = (data.data?.appointments ?? []).filter((a) => !upcoming.includes(a)).sort((a, b) => b.starts_at.localeCompare(a.starts_at));
  const typeName = (id: string) => data.data?.types.find((t) => t.id === id)?.name ?? "Appointment";
  return (
    <>
      <PageHeader
        title="My appointments"
        description={`Times are shown in your time zone, ${zone.replace(/_/g, " ")}.`}
        actions={<ButtonLink href="/book/">Book an appointment</ButtonLink>}
      />
      {message && (
        <div className="mb-4">
          <Alert tone="success">{message}</Alert>
        </div>
      )}
      {data.loading && !data.data && <Loading />}
      {data.error && <LoadError problem={data.error} onRetry={data.reload} />}
      {data.data && (
        <div className="space-y-6">
          <Offers now={now} entries={data.data.waitlist} typeName={typeName} zone={zone} onAccepted={(m) => { setMessage(m); data.reload(); }} />
          <Card title="Upcoming">
            {upcoming.length === 0 ? (
              <Empty>
                No upcoming appointments. <Link href="/book/" className="font-semibold text-teal-800 underline">Book one</Link>.
              </Empty>
            ) : (
              <ul className="divide-y divide-slate-100">
                {upcoming.map((a) => (
                  <UpcomingItem
                    key={a.id}
                    a={a}
                    zone={zone}
                    windowMinutes={data.data!.types.find((t) => t.id === a.type_id)?.cancellation_window_minutes}
                    onCancelled={(c) => { setMessage(`Cancelled: ${c.type_name}, ${dateTimeIn(c.starts_at, zone)}${c.late_cancellation ? " (late cancellation)" : ""}.`); data.reload(); }}
                  />
                ))}
              </ul>
            )}
          </Card>
          <Waitlist entries={data.data.waitlist} typeName={typeName} zone={zone} />
          {past.length > 0 && (
            <Card title="Past and cancelled">
              <ul className="divide-y divide-slate-100">
                {past.map((a) => (
                  <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
                    <span>
                      <span className="font-medium text-slate-900">{a.type_name}</span> with {a.provider_name}
                      <span className="block text-slate-600">{dateTimeIn(a.starts_at, zone)}</span>
                    </span>
                    <Badge tone={statusTone(a.status)}>{STATUS_LABELS[a.status]}{a.late_cancellation ? " (late)" : ""}</Badge>
                  </li>
                ))}
              </ul>
            </Card>
          )}
        </div>
      )}
      {/* Loads on its own: the reminders preference stays reachable if the list fails. */}
      <div className="mt-6">
        <MyContact />
      </div>
    </>
  );
}

function UpcomingItem({ a, zone, windowMinutes, onCancelled }: { a: Appointment; zone: string; windowMinutes?: number; onCancelled: (a: Appointment) => void }) {
  const [cancelling, setCancelling] = useState(false);
  return (
    <li className="py-4">
      <div className="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
        <div className="text-sm">
          <p className="font-semibold text-slate-900">{dateTimeIn(a.starts_at, zone)}</p>
          <p className="text-slate-700">
            {a.type_name} with {a.provider_name}
          </p>
          <p className="mt-1">
            <Badge tone={statusTone(a.status)}>{STATUS_LABELS[a.status]}</Badge>
          </p>
        </div>
        {!cancelling && a.status !== "checked_in" && (
          <div className="flex flex-wrap gap-2">
            <ButtonLink href={`/book/?reschedule=${a.id}`} variant="secondary">
              Reschedule<span className="sr-only"> {a.type_name} on {dateTimeIn(a.starts_at, zone)}</span>
            </ButtonLink>
            <Button variant="danger" onClick={() => setCancelling(true)}>
              Cancel<span className="sr-only"> {a.type_name} on {dateTimeIn(a.starts_at, zone)}</span>
            </Button>
          </div>
        )}
      </div>
      {cancelling && (
        <div className="mt-3 rounded-md border border-slate-200 bg-slate-50 p-4">
          <CancelForm appointment={a} windowMinutes={windowMinutes} onDone={onCancelled} onClose={() => setCancelling(false)} />
        </div>
      )}
    </li>
  );
}

function Offers({ now, entries, typeName, zone, onAccepted }: { now: number; entries: Entry[]; typeName: (id: string) => string; zone: string; onAccepted: (m: string) => void }) {
  const open = entries.flatMap((e) => e.offers.filter((o) => o.status === "open" && new Date(o.expires_at).getTime() > now).map((o) => ({ e, o })));
  const accept = useSubmit(async (offerId: string) => unwrap(api.POST("/waitlist/offers/{offer_id}/accept", { params: { path: { offer_id: offerId } } })));
  if (open.length === 0) return null;
  return (
    <Card title="Offers for you">
      {accept.problem && <div className="mb-3"><LoadError problem={accept.problem} /></div>}
      <ul className="divide-y divide-slate-100">
        {open.map(({ e, o }) => (
          <li key={o.id} className="flex flex-col gap-2 py-3 text-sm sm:flex-row sm:items-center sm:justify-between">
            <span>
              <span className="font-semibold text-slate-900">{typeName(e.type_id)}: {dateTimeIn(o.starts_at, zone)}</span>
              <span className="block text-slate-600">Offer open until {dateTimeIn(o.expires_at, zone)}; the first to accept gets it.</span>
            </span>
            <Button
              pending={accept.pending}
              onClick={async () => {
                const a = await accept.run(o.id);
                if (a) onAccepted(`Booked from the waitlist: ${a.type_name}, ${dateTimeIn(a.starts_at, zone)}.`);
              }}
            >
              Accept<span className="sr-only"> {dateTimeIn(o.starts_at, zone)}</span>
            </Button>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Waitlist({ entries, typeName, zone }: { entries: Entry[]; typeName: (id: string) => string; zone: string }) {
  const waiting = entries.filter((e) => e.status === "waiting");
  if (waiting.length === 0) return null;
  return (
    <Card title="Waitlist">
      <ul className="divide-y divide-slate-100">
        {waiting.map((e) => (
          <li key={e.id} className="py-3 text-sm">
            <span className="font-medium text-slate-900">{typeName(e.type_id)}</span>
            <span className="block text-slate-600">
              Any time from {dateTimeIn(e.window_from, zone)} to {dateTimeIn(e.window_until, zone)}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

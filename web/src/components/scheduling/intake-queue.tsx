"use client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Empty, LoadError, Loading } from "@/components/ui";
import { FormProblem, SelectField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { fieldErrors, describe } from "@/lib/problem";
import { REASONS, dateTimeIn, timeLabel, type Appointment, type Reason } from "@/lib/scheduling";

/** Requests awaiting approval that have not started yet, soonest first. */
export async function loadQueue(now = new Date()): Promise<Appointment[]> {
  const items = await allPages((after) =>
    unwrap(api.GET("/appointments", { params: { query: { status: ["requested"], from: now.toISOString(), limit: 200, after } } })),
  );
  return items.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

/**
 * The intake queue: appointments clients asked for with a type that needs approval. Each can be
 * approved (→ booked) or declined with a reason (→ cancelled), through the transitions endpoint
 * with the version read (If-Match). After an action the outcome is announced and focused.
 */
export function IntakeQueue({ zone }: { zone: string }) {
  const queue = useLoad(() => loadQueue(), []);
  const [done, setDone] = useState<string | null>(null);
  const doneRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);
  const settled = (message: string) => {
    setDone(message);
    queue.reload();
  };
  return (
    <div className="space-y-4">
      <div ref={doneRef} tabIndex={-1} className="outline-none">
        {done && <Alert tone="success">{done}</Alert>}
      </div>
      {queue.loading && !queue.data && <Loading label="Loading requests…" />}
      {queue.error && <LoadError problem={queue.error} onRetry={queue.reload} />}
      {queue.data &&
        (queue.data.length === 0 ? (
          <Empty>No requests are waiting for approval.</Empty>
        ) : (
          <ul className="space-y-3" aria-label="Requests awaiting approval" aria-busy={queue.loading || undefined}>
            {queue.data.map((a) => (
              <li key={`${a.id}-${a.version}`}>
                <Request a={a} zone={zone} onSettled={settled} />
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}

function Request({ a, zone, onSettled }: { a: Appointment; zone: string; onSettled: (message: string) => void }) {
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState<Reason | "">("");
  const [missing, setMissing] = useState(false);
  const who = a.client_name ?? "Client";
  const when = dateTimeIn(a.starts_at, zone);
  const act = useSubmit(async (action: "approve" | "decline", r?: Reason) =>
    unwrap(
      api.POST("/appointments/{appointment_id}/transitions", {
        params: { path: { appointment_id: a.id }, header: { "If-Match": etagOf(a.version) } },
        body: r ? { action, reason: r } : { action },
      }),
    ),
  );
  const errors = fieldErrors(act.problem);
  async function decline(e: FormEvent) {
    e.preventDefault();
    if (!reason) {
      setMissing(true);
      return;
    }
    if (await act.run("decline", reason)) onSettled(`Declined: ${who}, ${when}. The time is free again.`);
  }
  return (
    <article aria-label={`${who}, ${when}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
        <div className="text-sm">
          <p className="text-base font-semibold text-slate-900">{who}</p>
          <p className="text-slate-700">
            {a.type_name} with {a.provider_name}
          </p>
          <p className="text-slate-700">
            {when} – {timeLabel(a.ends_at, zone)}
          </p>
          {a.timezone !== zone && <p className="text-slate-600">({dateTimeIn(a.starts_at, a.timezone)} in the provider&apos;s zone)</p>}
          <p className="mt-1 text-xs text-slate-600">Asked {dateTimeIn(a.created_at, zone)}</p>
        </div>
        <Badge tone="amber">Awaiting approval</Badge>
      </div>
      {act.problem && !declining && (
        <div className="mt-3">
          <Alert title="That did not work">{describe(act.problem)}</Alert>
        </div>
      )}
      {!declining ? (
        <div className="mt-3 flex flex-wrap gap-2">
          <Button
            pending={act.pending}
            aria-label={`Approve ${who}, ${when}`}
            onClick={async () => {
              if (await act.run("approve")) onSettled(`Approved: ${who}, ${when}. The client's appointment is booked.`);
            }}
          >
            Approve
          </Button>
          <Button variant="danger" aria-label={`Decline ${who}, ${when}`} onClick={() => setDeclining(true)}>
            Decline
          </Button>
        </div>
      ) : (
        <form onSubmit={decline} noValidate className="mt-3 space-y-3" aria-label={`Decline ${who}`}>
          <FormProblem problem={act.problem} fields={["reason", "action"]} />
          <SelectField
            label="Reason for declining"
            name="reason"
            value={reason}
            required
            autoFocus
            onChange={(e) => {
              setReason(e.target.value as Reason);
              setMissing(false);
            }}
            error={missing ? "Choose a reason." : errors.reason}
          >
            <option value="">Choose a reason…</option>
            {REASONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </SelectField>
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant="danger" pending={act.pending}>
              Decline request
            </Button>
            <Button type="button" variant="secondary" onClick={() => setDeclining(false)}>
              Back
            </Button>
          </div>
        </form>
      )}
    </article>
  );
}

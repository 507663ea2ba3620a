"use client";
import { useEffect, useRef, useState } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, Empty, LoadError, Loading } from "@/components/ui";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe } from "@/lib/problem";
import { loadReferrals, type Referral } from "@/lib/referrals";
import { ReasonDialog } from "./reason-dialog";
import { ReferralCard } from "./referral-card";

/**
 * A provider's "My referrals": the referrals assigned to them (`assigned_provider_id` = their
 * person id). Assigned ones can be accepted (the client joins their care team) or declined with
 * a reason (it goes back to triage); accepted ones are listed below.
 */
export function MyReferrals({ providerId, zone }: { providerId: string; zone: string }) {
  const list = useLoad(() => loadReferrals({ assigned_provider_id: providerId }), [providerId]);
  const [done, setDone] = useState<string | null>(null);
  const doneRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);
  const settled = (message: string) => {
    setDone(message);
    list.reload();
  };
  const waiting = (list.data ?? []).filter((r) => r.status === "assigned");
  const accepted = (list.data ?? []).filter((r) => r.status === "accepted");
  return (
    <div className="space-y-4">
      <div ref={doneRef} tabIndex={-1} className="outline-none">
        {done && <Alert tone="success">{done}</Alert>}
      </div>
      {list.loading && !list.data && <Loading label="Loading referrals…" />}
      {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
      {list.data && (
        <>
          <h2 className="text-lg font-semibold text-slate-900">Waiting for your answer</h2>
          {waiting.length === 0 ? (
            <Empty>No referrals are waiting for you.</Empty>
          ) : (
            <ul className="space-y-3" aria-label="Referrals waiting for your answer" aria-busy={list.loading || undefined}>
              {waiting.map((r) => (
                <li key={`${r.id}-${r.version}`}>
                  <Assigned r={r} zone={zone} onSettled={settled} />
                </li>
              ))}
            </ul>
          )}
          {accepted.length > 0 && (
            <>
              <h2 className="text-lg font-semibold text-slate-900">Accepted</h2>
              <ul className="space-y-3" aria-label="Accepted referrals">
                {accepted.map((r) => (
                  <li key={r.id}>
                    <ReferralCard r={r} zone={zone} />
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </div>
  );
}

function Assigned({ r, zone, onSettled }: { r: Referral; zone: string; onSettled: (m: string) => void }) {
  const who = r.client_name ?? "the client";
  const [declining, setDeclining] = useState(false);
  const accept = useSubmit(async () =>
    unwrap(api.POST("/referrals/{referral_id}/accept", { params: { path: { referral_id: r.id }, header: { "If-Match": etagOf(r.version) } } })),
  );
  const decline = useSubmit(async (reason: string) =>
    unwrap(
      api.POST("/referrals/{referral_id}/decline", {
        params: { path: { referral_id: r.id }, header: { "If-Match": etagOf(r.version) } },
        body: { reason },
      }),
    ),
  );
  return (
    <ReferralCard r={r} zone={zone}>
      {accept.problem && (
        <div className="mt-3">
          <Alert title="That did not work">{describe(accept.problem)}</Alert>
        </div>
      )}
      <div className="mt-3 flex flex-wrap gap-2">
        <Button
          type="button"
          pending={accept.pending}
          aria-label={`Accept the referral for ${who}`}
          onClick={async () => {
            if (await accept.run()) onSettled(`Accepted: ${who} is now on your care team.`);
          }}
        >
          Accept
        </Button>
        <Button type="button" variant="danger" aria-label={`Decline the referral for ${who}`} onClick={() => setDeclining(true)}>
          Decline
        </Button>
      </div>
      {declining && (
        <ReasonDialog
          title={`Decline the referral for ${who}`}
          intro="It goes back to the triage queue with your reason, for staff to assign to someone else."
          confirm="Decline referral"
          pending={decline.pending}
          problem={decline.problem}
          onCancel={() => setDeclining(false)}
          onSubmit={async (reason) => {
            if (await decline.run(reason)) {
              setDeclining(false);
              onSettled(`Declined: the referral for ${who} is back with triage.`);
            }
          }}
        />
      )}
    </ReferralCard>
  );
}

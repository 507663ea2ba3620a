"use client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, Empty, LoadError, Loading } from "@/components/ui";
import { SelectField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { loadReferrals, type Referral } from "@/lib/referrals";
import { ReasonDialog } from "./reason-dialog";
import { ReferralCard } from "./referral-card";

export interface Named {
  id: string;
  name: string;
}

/**
 * The triage queue: new and declined referrals, urgent first then oldest (the server's order).
 * Each can be assigned to a provider or withdrawn with a reason, with the version read
 * (If-Match). The outcome is announced and focused, and the queue reloads.
 */
export function TriageQueue({ zone, providers, refresh = 0 }: { zone: string; providers: Named[]; refresh?: number }) {
  const queue = useLoad(() => loadReferrals({ status: ["new", "declined"] }), [refresh]);
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
      {queue.loading && !queue.data && <Loading label="Loading the triage queue…" />}
      {queue.error && <LoadError problem={queue.error} onRetry={queue.reload} />}
      {queue.data &&
        (queue.data.length === 0 ? (
          <Empty>No referrals are waiting for triage.</Empty>
        ) : (
          <ul className="space-y-3" aria-label="Triage queue" aria-busy={queue.loading || undefined}>
            {queue.data.map((r) => (
              <li key={`${r.id}-${r.version}`}>
                <Triage r={r} zone={zone} providers={providers} onSettled={settled} />
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}

function Triage({ r, zone, providers, onSettled }: { r: Referral; zone: string; providers: Named[]; onSettled: (m: string) => void }) {
  const who = r.client_name ?? "the client";
  const [provider, setProvider] = useState("");
  const [missing, setMissing] = useState(false);
  const [withdrawing, setWithdrawing] = useState(false);
  const headers = { "If-Match": etagOf(r.version) };
  const assign = useSubmit(async (provider_id: string) =>
    unwrap(api.POST("/referrals/{referral_id}/assign", { params: { path: { referral_id: r.id }, header: headers }, body: { provider_id } })),
  );
  const withdraw = useSubmit(async (reason: string) =>
    unwrap(api.POST("/referrals/{referral_id}/withdraw", { params: { path: { referral_id: r.id }, header: headers }, body: { reason } })),
  );
  const errors = fieldErrors(assign.problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!provider) {
      setMissing(true);
      return;
    }
    const name = providers.find((p) => p.id === provider)?.name ?? "the provider";
    if (await assign.run(provider)) onSettled(`Assigned: the referral for ${who} is with ${name}.`);
  }
  return (
    <ReferralCard r={r} zone={zone}>
      {assign.problem && !errors.provider_id && (
        <div className="mt-3">
          <Alert title="That did not work">{describe(assign.problem)}</Alert>
        </div>
      )}
      <form onSubmit={submit} noValidate className="mt-3 flex flex-col gap-2 sm:flex-row sm:items-end" aria-label={`Assign the referral for ${who}`}>
        <div className="sm:w-72">
          <SelectField
            label="Provider"
            name="provider_id"
            value={provider}
            onChange={(e) => {
              setProvider(e.target.value);
              setMissing(false);
            }}
            error={missing ? "Choose a provider." : errors.provider_id}
          >
            <option value="">Choose a provider…</option>
            {providers.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </SelectField>
        </div>
        <Button type="submit" pending={assign.pending}>
          Assign
        </Button>
        <Button type="button" variant="danger" aria-label={`Withdraw the referral for ${who}`} onClick={() => setWithdrawing(true)}>
          Withdraw
        </Button>
      </form>
      {withdrawing && (
        <ReasonDialog
          title={`Withdraw the referral for ${who}`}
          intro="A withdrawn referral is closed; its history is kept."
          confirm="Withdraw referral"
          pending={withdraw.pending}
          problem={withdraw.problem}
          onCancel={() => setWithdrawing(false)}
          onSubmit={async (reason) => {
            if (await withdraw.run(reason)) {
              setWithdrawing(false);
              onSettled(`Withdrawn: the referral for ${who}.`);
            }
          }}
        />
      )}
    </ReferralCard>
  );
}

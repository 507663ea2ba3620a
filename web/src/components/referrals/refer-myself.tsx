"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button } from "@/components/ui";
import { FormProblem, SelectField, TextAreaField } from "@/components/form";
import { useRequestKey, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { REFERRAL_REASON_MAX, textProblem, type Referral, type ReferralUrgency } from "@/lib/referrals";

/**
 * A client refers themselves (source `self`: the API takes the client from the session, so no
 * client is sent). What they write is the clinical question triage reads; it is shown back to
 * them on their referral. A self-referral is not an emergency service, and the form says so
 * before anything else.
 */
export function ReferMyselfForm({ onCreated, onCancel }: { onCreated: (r: Referral) => void; onCancel: () => void }) {
  const [reason, setReason] = useState("");
  const [urgency, setUrgency] = useState<ReferralUrgency>("routine");
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const requestKey = useRequestKey();
  const create = useSubmit(async () => {
    const body = { reason: reason.trim(), urgency };
    return unwrap(api.POST("/referrals", { body, params: { header: { "Idempotency-Key": requestKey(body) } } }));
  });
  const server = fieldErrors(create.problem);
  const err = (f: string) => local[f] ?? server[f];
  async function submit(e: FormEvent) {
    e.preventDefault();
    const problem = textProblem(reason, REFERRAL_REASON_MAX, "what you would like help with");
    setLocal({ reason: problem });
    if (problem) return;
    const r = await create.run();
    if (r) onCreated(r);
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Refer myself" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <Alert tone="warning" title="Not for emergencies">
        If you are in danger or thinking of harming yourself, call your local emergency number now. A referral is read by the
        care team during working hours.
      </Alert>
      <FormProblem problem={create.problem} fields={["reason", "urgency"]} />
      <TextAreaField
        label="What would you like help with?"
        name="reason"
        required
        value={reason}
        onChange={(e) => {
          setReason(e.target.value);
          setLocal({});
        }}
        hint={`The care team reads this to find the right person for you, up to ${REFERRAL_REASON_MAX} characters.`}
        error={err("reason")}
      />
      <SelectField label="How soon do you need to be seen?" name="urgency" value={urgency} onChange={(e) => setUrgency(e.target.value as ReferralUrgency)} error={err("urgency")}>
        <option value="routine">Routine</option>
        <option value="urgent">Urgent</option>
      </SelectField>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" pending={create.pending}>
          Send referral
        </Button>
        <Button type="button" variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

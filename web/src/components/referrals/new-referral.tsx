"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Button } from "@/components/ui";
import { FormProblem, SelectField, TextAreaField, TextField } from "@/components/form";
import { useRequestKey, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { REFERRAL_REASON_MAX, REFERRER_NAME_MAX, textProblem, type Referral, type ReferralUrgency } from "@/lib/referrals";
import type { Named } from "./triage-queue";

/**
 * A new referral made by staff: the client, the clinical question, urgency, and optionally an
 * outside referrer, a department, the service asked for and a provider to assign at once.
 * Missing or too long values are caught before any request; the server's 422s are shown on
 * their fields.
 */
export function NewReferralForm({
  clients,
  providers,
  departments,
  types,
  onCreated,
  onCancel,
}: {
  clients: Named[];
  providers: Named[];
  departments: Named[];
  types: Named[];
  onCreated: (r: Referral) => void;
  onCancel: () => void;
}) {
  const [v, setV] = useState({ client_id: "", reason: "", urgency: "routine" as ReferralUrgency, referrer_name: "", department_id: "", type_id: "", assigned_provider_id: "" });
  const [local, setLocal] = useState<Record<string, string>>({});
  const requestKey = useRequestKey();
  const create = useSubmit(async () => {
    const body = {
      client_id: v.client_id,
      reason: v.reason.trim(),
      urgency: v.urgency,
      referrer_name: v.referrer_name.trim() || undefined,
      department_id: v.department_id || undefined,
      type_id: v.type_id || undefined,
      assigned_provider_id: v.assigned_provider_id || undefined,
    };
    return unwrap(api.POST("/referrals", { body, params: { header: { "Idempotency-Key": requestKey(body) } } }));
  });
  const server = fieldErrors(create.problem);
  const err = (f: string) => local[f] ?? server[f];
  const set = (f: keyof typeof v) => (e: { target: { value: string } }) => {
    setV({ ...v, [f]: e.target.value });
    setLocal({ ...local, [f]: undefined as unknown as string });
  };
  async function submit(e: FormEvent) {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!v.client_id) missing.client_id = "Choose the client.";
    const reason = textProblem(v.reason, REFERRAL_REASON_MAX, "the reason for the referral");
    if (reason) missing.reason = reason;
    if (v.referrer_name.trim() && [...v.referrer_name.trim()].length > REFERRER_NAME_MAX) missing.referrer_name = `Keep it to ${REFERRER_NAME_MAX} characters.`;
    setLocal(missing);
    if (Object.keys(missing).length > 0) return;
    const r = await create.run();
    if (r) onCreated(r);
  }
  const fields = ["client_id", "reason", "urgency", "referrer_name", "department_id", "type_id", "assigned_provider_id"];
  return (
    <form onSubmit={submit} noValidate aria-label="New referral" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <FormProblem problem={create.problem} fields={fields} />
      <div className="grid gap-4 sm:grid-cols-2">
        <SelectField label="Client" name="client_id" value={v.client_id} onChange={set("client_id")} error={err("client_id")}>
          <option value="">Choose a client…</option>
          {clients.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Urgency" name="urgency" value={v.urgency} onChange={set("urgency")} error={err("urgency")}>
          <option value="routine">Routine</option>
          <option value="urgent">Urgent</option>
        </SelectField>
      </div>
      <TextAreaField
        label="Reason for referral"
        name="reason"
        required
        value={v.reason}
        onChange={set("reason")}
        hint={`The clinical question, up to ${REFERRAL_REASON_MAX} characters.`}
        error={err("reason")}
      />
      <TextField label="Referred by (outside referrer, optional)" name="referrer_name" value={v.referrer_name} onChange={set("referrer_name")} hint="For example a GP or a school." error={err("referrer_name")} />
      <div className="grid gap-4 sm:grid-cols-3">
        <SelectField label="Department (optional)" name="department_id" value={v.department_id} onChange={set("department_id")} error={err("department_id")}>
          <option value="">Any</option>
          {departments.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Service asked for (optional)" name="type_id" value={v.type_id} onChange={set("type_id")} error={err("type_id")}>
          <option value="">Not specified</option>
          {types.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Assign to (optional)" name="assigned_provider_id" value={v.assigned_provider_id} onChange={set("assigned_provider_id")} error={err("assigned_provider_id")}>
          <option value="">Leave in the triage queue</option>
          {providers.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </SelectField>
      </div>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" pending={create.pending}>
          Make referral
        </Button>
        <Button type="button" variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

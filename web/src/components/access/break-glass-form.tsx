"use client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Alert, Button, Card } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { dateTimeIn } from "@/lib/scheduling";

type Grant = components["schemas"]["BreakGlassGrant"];

export const REASON_CODES = [
  { value: "emergency", label: "Emergency" },
  { value: "patient_safety", label: "Patient safety" },
  { value: "continuity_of_care", label: "Continuity of care" },
  { value: "legal_request", label: "Legal request" },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Break the glass: time-boxed access to one client's records the caller cannot otherwise see,
 * with a reason code and a written reason (kept for reviewers, never in the audit log). The
 * institution admins are alerted. The client is chosen from the calendars the caller can see,
 * or named by their id. Once open, the record is read to confirm, and access can be ended early.
 */
export function BreakGlassForm({ clients, zone, onChanged }: { clients: { id: string; name: string }[]; zone: string; onChanged?: () => void }) {
  const [chosen, setChosen] = useState("");
  const [typed, setTyped] = useState("");
  const [code, setCode] = useState("");
  const [reason, setReason] = useState("");
  const [minutes, setMinutes] = useState("60");
  const [local, setLocal] = useState<Record<string, string>>({});
  const [grant, setGrant] = useState<(Grant & { name?: string }) | null>(null);
  const [ended, setEnded] = useState(false);
  const result = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (grant || ended) result.current?.focus();
  }, [grant, ended]);
  const open = useSubmit(async (body: { client_id: string; reason_code: string; reason: string; minutes: number }) => {
    const g = await unwrap(api.POST("/break-glass", { body }));
    // Read the record through the new grant: proof that it works, and whom it is for.
    const p = await unwrap(api.GET("/people/{person_id}", { params: { path: { person_id: g.client_id } } })).catch(() => null);
    return { ...g, name: p ? `${p.given_name} ${p.family_name}` : undefined };
  });
  const close = useSubmit(async (id: string) => {
    await unwrap(api.DELETE("/break-glass/{grant_id}", { params: { path: { grant_id: id } } }));
    return true;
  });
  const server = fieldErrors(open.problem);
  // A field's own message goes once the field is edited.
  const edited = (k: string) => setLocal(({ [k]: _gone, ...rest }) => rest);
  const err = (k: string) => local[k] ?? server[k];

  async function submit(e: FormEvent) {
    e.preventDefault();
    const client = typed.trim() || chosen;
    const m = Number(minutes);
    const missing: Record<string, string> = {};
    if (!client) missing.client_id = "Choose the client, or give their id.";
    else if (!UUID.test(client)) missing.client_id = "A client id looks like 0190c2a4-…: 36 characters.";
    if (!code) missing.reason_code = "Choose a reason code.";
    if (reason.trim().length < 10) missing.reason = "Say why, in at least 10 characters.";
    if (!Number.isInteger(m) || m < 5 || m > 240) missing.minutes = "5 to 240 minutes.";
    setLocal(missing);
    if (Object.keys(missing).length) return;
    const g = await open.run({ client_id: client, reason_code: code, reason: reason.trim(), minutes: m });
    if (g) {
      setGrant(g);
      setEnded(false);
      onChanged?.();
    }
  }

  if (grant) {
    return (
      <div ref={result} tabIndex={-1} className="space-y-4 outline-none">
        {ended ? (
          <Alert tone="success" title="Access ended">
            You no longer see this client&apos;s records.
          </Alert>
        ) : (
          <Alert tone="warning" title={`Access open to ${grant.name ?? "the client"}'s records`}>
            <p>
              Until {dateTimeIn(grant.expires_at, zone)}. Every read is marked in the audit log, and your organisation&apos;s administrators
              have been told.
            </p>
          </Alert>
        )}
        {close.problem && <Alert title="Access could not be ended">{describe(close.problem)}</Alert>}
        <div className="flex flex-wrap gap-2">
          {!ended && (
            <Button
              variant="danger"
              pending={close.pending}
              onClick={async () => {
                if (await close.run(grant.id)) {
                  setEnded(true);
                  onChanged?.();
                }
              }}
            >
              End access now
            </Button>
          )}
          <Button variant="secondary" onClick={() => { setGrant(null); setReason(""); }}>
            Another request
          </Button>
        </div>
      </div>
    );
  }
  return (
    <form onSubmit={submit} noValidate className="max-w-3xl space-y-4" aria-label="Request emergency access">
      <FormProblem problem={open.problem} fields={["client_id", "reason_code", "reason", "minutes"]} />
      <Card title="Whose records">
        <div className="grid gap-4 sm:grid-cols-2">
          <SelectField label="Client" name="client_id" value={chosen} onChange={(e) => { setChosen(e.target.value); edited("client_id"); }} error={typed ? undefined : err("client_id")} hint="Clients on the calendars you can see.">
            <option value="">Choose a client…</option>
            {clients.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </SelectField>
          <TextField label="Or the client's id" name="client_id_typed" value={typed} onChange={(e) => { setTyped(e.target.value); edited("client_id"); }} error={typed ? err("client_id") : undefined} hint="From a referral or another record." />
        </div>
      </Card>
      <Card title="Why">
        <div className="space-y-4">
          <div className="grid gap-4 sm:grid-cols-2">
            <SelectField label="Reason code" name="reason_code" value={code} onChange={(e) => { setCode(e.target.value); edited("reason_code"); }} error={err("reason_code")}>
              <option value="">Choose…</option>
              {REASON_CODES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </SelectField>
            <TextField label="For how long (minutes)" name="minutes" type="number" inputMode="numeric" min={5} max={240} value={minutes} onChange={(e) => { setMinutes(e.target.value); edited("minutes"); }} error={err("minutes")} />
          </div>
          <div>
            <TextArea value={reason} onChange={(v) => { setReason(v); edited("reason"); }} error={err("reason")} />
          </div>
        </div>
      </Card>
      <Button type="submit" variant="danger" pending={open.pending}>
        Open access
      </Button>
    </form>
  );
}

function TextArea({ value, onChange, error }: { value: string; onChange: (v: string) => void; error?: string }) {
  return (
    <>
      <label htmlFor="bg-reason" className="block text-sm font-medium text-slate-800">
        Reason
      </label>
      <textarea
        id="bg-reason"
        name="reason"
        rows={4}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={["bg-reason-hint", error ? "bg-reason-error" : ""].filter(Boolean).join(" ")}
        className={`mt-1 block w-full rounded-md border bg-white px-3 py-2 text-base text-slate-900 shadow-sm sm:text-sm ${error ? "border-red-600" : "border-slate-400"}`}
      />
      <p id="bg-reason-hint" className="mt-1 text-sm text-slate-600">
        10 to 1000 characters, for the people who review emergency access. It is not copied into the audit log.
      </p>
      {error && (
        <p id="bg-reason-error" className="mt-1 text-sm font-medium text-red-700">
          <span aria-hidden="true">⚠ </span>
          {error}
        </p>
      )}
    </>
  );
}

"use client";
import { useState, type FormEvent } from "react";
import { api, unwrapWithResponse, unwrap } from "@/api/client";
import { Alert, Button, Card, LoadError, Loading, PageHeader } from "@/components/ui";
import { CheckboxGroup, FormProblem, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { formatDateTime, ROLE_LABELS } from "@/lib/format";
import type { components } from "@/api/generated/tenant";

type Policy = components["schemas"]["SecurityPolicy"];
type RoleName = components["schemas"]["RoleName"];

export default function SecurityPolicyPage() {
  const policy = useLoad(async () => {
    const r = await unwrapWithResponse(api.GET("/security-policy"));
    return { policy: r.data, etag: r.response.headers.get("ETag") ?? `"${r.data.version}"` };
  }, []);
  return (
    <>
      <PageHeader title="Security policy" description="Rules for every account in your organisation. Changes apply from each person's next sign-in or request." />
      {policy.loading && <Loading />}
      {policy.error && <LoadError problem={policy.error} onRetry={policy.reload} />}
      {policy.data && <PolicyForm key={policy.data.etag} {...policy.data} onSaved={policy.reload} />}
    </>
  );
}

function PolicyForm({ policy, etag, onSaved }: { policy: Policy; etag: string; onSaved: () => void }) {
  const [mfa, setMfa] = useState<string[]>(policy.mfa_required_roles);
  const [idle, setIdle] = useState(String(policy.session_idle_minutes));
  const [max, setMax] = useState(String(policy.session_max_hours));
  const [saved, setSaved] = useState(false);
  const { run, pending, problem } = useSubmit(async () => {
    await unwrap(
      api.PATCH("/security-policy", {
        params: { header: { "If-Match": etag } },
        body: { mfa_required_roles: mfa as RoleName[], session_idle_minutes: Number(idle), session_max_hours: Number(max) },
      }),
    );
    return true;
  });
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (await run()) {
      setSaved(true);
      onSaved();
    }
  }
  return (
    <form onSubmit={submit} noValidate className="max-w-2xl space-y-6">
      {saved && <Alert tone="success">Security policy saved.</Alert>}
      <FormProblem problem={problem} fields={["mfa_required_roles", "session_idle_minutes", "session_max_hours"]} />
      <Card title="Two-step verification">
        <CheckboxGroup
          legend="Require an authenticator app for"
          name="mfa_required_roles"
          options={Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }))}
          value={mfa}
          onChange={setMfa}
          error={errors.mfa_required_roles}
          hint="People with these roles must set up an authenticator before they can use Swiftacare."
        />
      </Card>
      <Card title="Sessions">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField
            label="Sign out after inactivity (minutes)"
            name="session_idle_minutes"
            type="number"
            inputMode="numeric"
            value={idle}
            onChange={(e) => setIdle(e.target.value)}
            error={errors.session_idle_minutes}
          />
          <TextField
            label="Longest session (hours)"
            name="session_max_hours"
            type="number"
            inputMode="numeric"
            value={max}
            onChange={(e) => setMax(e.target.value)}
            error={errors.session_max_hours}
          />
        </div>
        <p className="mt-4 text-xs text-slate-600">Last changed {formatDateTime(policy.updated_at)}.</p>
      </Card>
      <Button type="submit" pending={pending}>
        Save policy
      </Button>
    </form>
  );
}

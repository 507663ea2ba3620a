"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";

/** Only a URL of this server's SSO start endpoint is followed (no open redirect). */
export function safeStartUrl(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url, window.location.origin);
    if ((u.protocol === "https:" || u.protocol === "http:") && /^\/api\/v1\/auth\/sso\/[^/]+\/start$/.test(u.pathname)) return u.toString();
  } catch {
    /* not a URL */
  }
  return null;
}

/**
 * "Sign in with your organisation": home-realm discovery by email. An email of an SSO domain
 * goes to the organisation's identity provider; any other goes back to the password form.
 */
export function SsoStep({ tenant, onPassword, go = (u) => window.location.assign(u) }: { tenant: string; onPassword: (email: string) => void; go?: (url: string) => void }) {
  const [email, setEmail] = useState("");
  const [notSso, setNotSso] = useState(false);
  const { run, pending, problem } = useSubmit(() => unwrap(api.POST("/auth/sso/discover", { body: { email: email.trim() }, params: { header: { "X-Tenant": tenant } } })));
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setNotSso(false);
    const r = await run();
    if (!r) return;
    const url = r.method === "sso" ? safeStartUrl(r.start_url) : null;
    if (url) go(url);
    else setNotSso(true);
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-5" aria-label="Sign in with your organisation">
      <FormProblem problem={problem} fields={["email"]} />
      {notSso && (
        <Alert tone="info" title="Use your password">
          Your organisation does not use single sign-on for this email address.
        </Alert>
      )}
      <TextField
        label="Work email"
        name="email"
        type="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
        error={errors.email}
        hint="We send you to your organisation's sign-in page."
      />
      <Button type="submit" pending={pending} className="w-full">
        Continue with your organisation
      </Button>
      <p className="text-center text-sm">
        <button type="button" className="text-teal-800 underline" onClick={() => onPassword(email)}>
          Sign in with a password instead
        </button>
      </p>
    </form>
  );
}

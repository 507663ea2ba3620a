"use client";
import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { api, unwrapWithResponse } from "@/api/client";
import { checkTenant } from "@/lib/known-tenant";
import { AuthFrame } from "@/components/auth-frame";
import { TenantStep, type Tenant } from "@/components/auth/tenant-step";
import { SsoStep } from "@/components/auth/sso-step";
import { Button, Loading } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { rememberedTenant, rememberTenant } from "@/lib/tenant";
import { safeNext, useUrlParams } from "@/lib/location";
import { hasSession, sessionTenant, startSession, type SessionCreated } from "@/lib/session";
import type { components } from "@/api/generated/tenant";

type Challenge = components["schemas"]["MfaChallenge"];

export default function SignInPage() {
  const router = useRouter();
  const params = useUrlParams();
  const [tenant, setTenant] = useState<Tenant | null>(null);
  const [checked, setChecked] = useState(false);
  const [changing, setChanging] = useState(false);
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [sso, setSso] = useState(false);
  const [email, setEmail] = useState("");

  // Recognise the remembered (or linked) organisation.
  const slug = params ? (params.query.get("tenant") ?? rememberedTenant()) : null;
  // Already signed in (a kept session for this organisation): straight in.
  useEffect(() => {
    if (params && hasSession() && (!params.query.get("tenant") || params.query.get("tenant") === sessionTenant())) {
      router.replace(safeNext(params.query.get("next")) ?? "/home/");
    }
  }, [params, router]);
  useEffect(() => {
    if (!slug) return;
    checkTenant(slug)
      .then(setTenant)
      .catch(() => undefined)
      .finally(() => setChecked(true));
  }, [slug]);
  const checking = params === null || (slug !== null && !checked);

  function signedIn(s: SessionCreated) {
    if (!tenant) return;
    startSession(tenant.slug, s);
    rememberTenant(tenant.slug);
    const next = safeNext(params?.query.get("next"));
    router.replace(s.mfa_enrolment_required ? "/account/security/?required=1" : (next ?? "/home/"));
  }

  if (checking) {
    return (
      <AuthFrame title="Sign in">
        <Loading />
      </AuthFrame>
    );
  }
  if (!tenant || changing) {
    return (
      <AuthFrame title="Sign in" subtitle="Start with the organisation you work with or receive care from.">
        <TenantStep
          initial={tenant?.slug}
          onChosen={(t) => {
            setTenant(t);
            setChanging(false);
          }}
        />
      </AuthFrame>
    );
  }
  const orgLine = (
    <span>
      to <strong className="text-slate-900">{tenant.name ?? tenant.slug}</strong>{" "}
      <button type="button" className="ml-1 text-teal-800 underline" onClick={() => setChanging(true)}>
        Change organisation
      </button>
    </span>
  );
  if (challenge) {
    return (
      <AuthFrame title="Two-step verification" subtitle={orgLine}>
        <MfaStep tenant={tenant} challenge={challenge} onDone={signedIn} onRestart={() => setChallenge(null)} />
      </AuthFrame>
    );
  }
  if (sso) {
    return (
      <AuthFrame title="Sign in with your organisation" subtitle={orgLine}>
        <SsoStep
          tenant={tenant.slug}
          onPassword={(e) => {
            setEmail(e);
            setSso(false);
          }}
        />
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Sign in" subtitle={orgLine}>
      <PasswordStep tenant={tenant} initialEmail={email} onSignedIn={signedIn} onChallenge={setChallenge} />
      <div className="mt-6 border-t border-slate-200 pt-6">
        <Button type="button" variant="secondary" className="w-full" onClick={() => setSso(true)}>
          Use your organisation&apos;s account (SSO)
        </Button>
      </div>
    </AuthFrame>
  );
}

function PasswordStep({
  tenant,
  initialEmail,
  onSignedIn,
  onChallenge,
}: {
  tenant: Tenant;
  initialEmail: string;
  onSignedIn: (s: SessionCreated) => void;
  onChallenge: (c: Challenge) => void;
}) {
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState("");
  const { run, pending, problem } = useSubmit(() =>
    unwrapWithResponse(
      api.POST("/auth/login", { body: { email, password }, params: { header: { "X-Tenant": tenant.slug } } }),
    ),
  );
  const errors = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await run();
    if (!r) return;
    if ("mfa_token" in r.data) onChallenge(r.data);
    else onSignedIn(r.data);
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-5">
      <FormProblem problem={problem} fields={["email", "password"]} />
      <TextField
        label="Email"
        name="email"
        type="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
        error={errors.email}
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
        error={errors.password}
      />
      <Button type="submit" pending={pending} className="w-full">
        Sign in
      </Button>
      <p className="text-center text-sm">
        <Link href={`/reset-password/?tenant=${encodeURIComponent(tenant.slug)}`} className="text-teal-800 underline">
          Forgot your password?
        </Link>
      </p>
    </form>
  );
}

function MfaStep({
  tenant,
  challenge,
  onDone,
  onRestart,
}: {
  tenant: Tenant;
  challenge: Challenge;
  onDone: (s: SessionCreated) => void;
  onRestart: () => void;
}) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [value, setValue] = useState("");
  const { run, pending, problem } = useSubmit(() =>
    unwrapWithResponse(
      api.POST("/auth/mfa/verify", {
        body: useRecovery
          ? { mfa_token: challenge.mfa_token, recovery_code: value.trim() }
          : { mfa_token: challenge.mfa_token, code: value.replace(/\s/g, "") },
        params: { header: { "X-Tenant": tenant.slug } },
      }),
    ),
  );
  const errors = fieldErrors(problem);
  // A spent or expired challenge cannot be retried: send the person back to the password.
  const spent = problem?.status === 401;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await run();
    if (r) onDone(r.data);
  }

  if (spent) {
    return (
      <div className="space-y-5">
        <FormProblem problem={problem} />
        <p className="text-sm text-slate-700">For your security, each verification step can be tried once. Please sign in again.</p>
        <Button type="button" onClick={onRestart} className="w-full">
          Sign in again
        </Button>
      </div>
    );
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-5">
      <FormProblem problem={problem} fields={["code", "recovery_code"]} />
      {useRecovery ? (
        <TextField
          key="recovery"
          label="Recovery code"
          name="recovery_code"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          hint="One of the recovery codes you saved when you set up your authenticator. Each works once."
          error={errors.recovery_code}
          required
        />
      ) : (
        <TextField
          key="code"
          label="Code from your authenticator app"
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]*"
          maxLength={8}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          hint="Open your authenticator app and enter the 6-digit code for Swiftacare."
          error={errors.code}
          required
        />
      )}
      <Button type="submit" pending={pending} className="w-full">
        Verify
      </Button>
      <p className="text-center text-sm">
        <button
          type="button"
          className="text-teal-800 underline"
          onClick={() => {
            setUseRecovery(!useRecovery);
            setValue("");
          }}
        >
          {useRecovery ? "Use a code from my authenticator app" : "Use a recovery code instead"}
        </button>
      </p>
    </form>
  );
}

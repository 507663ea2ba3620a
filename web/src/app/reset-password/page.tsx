"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { AuthFrame } from "@/components/auth-frame";
import { ChoosePassword } from "@/components/auth/choose-password";
import { TenantStep, type Tenant } from "@/components/auth/tenant-step";
import { Alert, Button, Loading } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { useUrlParams } from "@/lib/location";
import { rememberedTenant } from "@/lib/tenant";

/** `/reset-password`: ask for a link; with `#token=…` (the emailed link) choose the new password. */
export default function ResetPasswordPage() {
  const params = useUrlParams();
  if (!params) {
    return (
      <AuthFrame title="Reset your password">
        <Loading />
      </AuthFrame>
    );
  }
  if (params.hash.get("token")) {
    return (
      <AuthFrame title="Choose a new password">
        <ChoosePassword kind="reset" />
      </AuthFrame>
    );
  }
  return <RequestReset initialTenant={params.query.get("tenant") ?? rememberedTenant()} />;
}

function RequestReset({ initialTenant }: { initialTenant: string | null }) {
  const [tenant, setTenant] = useState<string | null>(initialTenant);
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const { run, pending, problem } = useSubmit(async () => {
    await unwrap(api.POST("/auth/password-reset", { body: { email }, params: { header: { "X-Tenant": tenant ?? "" } } }));
    return true;
  });
  const errors = fieldErrors(problem);

  if (!tenant) {
    return (
      <AuthFrame title="Reset your password" subtitle="First, which organisation is your account with?">
        <TenantStep onChosen={(t: Tenant) => setTenant(t.slug)} />
      </AuthFrame>
    );
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await run()) setSent(true);
  }

  return (
    <AuthFrame title="Reset your password" subtitle="We will email you a link to choose a new password.">
      {sent ? (
        <div className="space-y-5">
          <Alert tone="success" title="Check your email">
            If an account uses {email}, a reset link is on its way. The link works once, for one hour.
          </Alert>
          <Link href={`/sign-in/?tenant=${encodeURIComponent(tenant)}`} className="text-sm text-teal-800 underline">
            Back to sign in
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-5">
          <FormProblem problem={problem} fields={["email"]} />
          <TextField
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={errors.email}
            required
          />
          <Button type="submit" pending={pending} className="w-full">
            Send reset link
          </Button>
          <p className="text-center text-sm">
            <Link href={`/sign-in/?tenant=${encodeURIComponent(tenant)}`} className="text-teal-800 underline">
              Back to sign in
            </Link>
          </p>
        </form>
      )}
    </AuthFrame>
  );
}

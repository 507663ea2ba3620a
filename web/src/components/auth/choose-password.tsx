"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button, ButtonLink, Loading } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { useUrlParams } from "@/lib/location";
import { rememberTenant } from "@/lib/tenant";

export type LinkKind = "invite" | "setup" | "reset";

/**
 * Redeems an emailed link (`/<page>?tenant=<slug>#token=<secret>`) by choosing a password:
 * invitations and first-admin set-up use `POST /auth/setup`, resets `POST /auth/password-reset/complete`.
 */
export function ChoosePassword({ kind }: { kind: LinkKind }) {
  const params = useUrlParams();
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mismatch, setMismatch] = useState<string>();
  const [done, setDone] = useState(false);
  const tenant = params?.query.get("tenant") ?? null;
  const token = params?.hash.get("token") ?? params?.query.get("token") ?? null;
  const { run, pending, problem } = useSubmit(async () => {
    const opts = { body: { token: token ?? "", password }, params: { header: { "X-Tenant": tenant ?? "" } } };
    if (kind === "reset") await unwrap(api.POST("/auth/password-reset/complete", opts));
    else await unwrap(api.POST("/auth/setup", opts));
    return true;
  });
  const errors = fieldErrors(problem);

  if (!params) return <Loading />;
  if (!tenant || !token) {
    return (
      <Alert title="This link is incomplete">
        Open the link from your email exactly as it was sent (some mail programs cut long links). If it still does not
        work, ask for a new one.
      </Alert>
    );
  }
  if (done) {
    return (
      <div className="space-y-5">
        <Alert tone="success" title={kind === "reset" ? "Your password has been changed" : "Your account is ready"}>
          {kind === "reset"
            ? "For your security, every device that was signed in has been signed out."
            : "You can now sign in with your email and the password you chose."}
        </Alert>
        <ButtonLink href={`/sign-in/?tenant=${encodeURIComponent(tenant)}`}>Continue to sign in</ButtonLink>
      </div>
    );
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== confirm) {
      setMismatch("The two passwords do not match.");
      return;
    }
    setMismatch(undefined);
    // Remember the organisation for the sign-in that follows.
    rememberTenant(tenant!);
    if (await run()) setDone(true);
  }

  // The token is not a field people can fix: a token error means the link is spent or expired.
  const tokenError = errors.token;
  return (
    <form onSubmit={submit} noValidate className="space-y-5">
      {tokenError ? (
        <Alert title="This link can no longer be used">
          <p>{tokenError}.</p>
          <p className="mt-1">
            {kind === "reset" ? (
              <Link href={`/reset-password/?tenant=${encodeURIComponent(tenant)}`} className="underline">
                Ask for a new reset link
              </Link>
            ) : (
              "Links expire after a while and work once. Ask your administrator to send a new invitation."
            )}
          </p>
        </Alert>
      ) : (
        <FormProblem problem={problem} fields={["password", "token"]} />
      )}
      <TextField
        label={kind === "reset" ? "New password" : "Choose a password"}
        name="password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        hint="At least 12 characters. A few unrelated words make a strong, memorable password."
        error={errors.password}
        required
      />
      <TextField
        label="Repeat the password"
        name="confirm"
        type="password"
        autoComplete="new-password"
        value={confirm}
        onChange={(e) => setConfirm(e.target.value)}
        error={mismatch}
        required
      />
      <Button type="submit" pending={pending} className="w-full">
        {kind === "reset" ? "Change password" : "Create my account"}
      </Button>
    </form>
  );
}

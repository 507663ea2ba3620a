"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { api, unwrap } from "@/api/client";
import { AuthFrame } from "@/components/auth-frame";
import { Alert, Loading } from "@/components/ui";
import { ApiProblem, describe, networkProblem } from "@/lib/problem";
import { startSession } from "@/lib/session";
import { rememberTenant } from "@/lib/tenant";
import { useUrlParams } from "@/lib/location";

/**
 * Where the organisation's identity provider sends the browser back:
 * `/sso/complete#tenant=<slug>&code=<one-time code>`. The code (60 seconds, once) is exchanged
 * for the same tokens a password sign-in gives; the fragment never reaches a server log.
 */
export default function SsoCompletePage() {
  const router = useRouter();
  const params = useUrlParams();
  const tenant = params?.hash.get("tenant") ?? null;
  const code = params?.hash.get("code") ?? null;
  const [failed, setFailed] = useState<ApiProblem | null>(null);
  const started = useRef(false);
  useEffect(() => {
    if (!params || started.current) return;
    started.current = true;
    // Forget the code in the address bar and history: it works once anyway.
    window.history.replaceState(null, "", window.location.pathname);
    if (!tenant || !code) return;
    unwrap(api.POST("/auth/sso/exchange", { body: { code }, params: { header: { "X-Tenant": tenant } } })).then(
      (s) => {
        startSession(tenant, s);
        rememberTenant(tenant);
        router.replace(s.mfa_enrolment_required ? "/account/security/?required=1" : "/home/");
      },
      (e: unknown) => setFailed(e instanceof ApiProblem ? e : networkProblem()),
    );
  }, [params, tenant, code, router]);
  const problem =
    failed ??
    (params && (!tenant || !code)
      ? new ApiProblem({ type: "about:blank", title: "Incomplete link", status: 400, detail: "this sign-in link is incomplete; start again from the sign-in page" })
      : null);
  return (
    <AuthFrame title={problem ? "Sign-in did not complete" : "Signing you in…"}>
      {problem ? (
        <div className="space-y-4">
          <Alert title="Your organisation's sign-in could not be completed">
            <p>
              {problem.status === 400 || problem.status === 401 || problem.status === 422
                ? "This sign-in link is invalid, already used or expired: it works once, within a minute. Please sign in again."
                : describe(problem)}
            </p>
            {problem.status === 403 && <p className="mt-1">Your account at your organisation has no Swiftacare role yet. Ask your administrator.</p>}
          </Alert>
          <Link href={tenant ? `/sign-in/?tenant=${encodeURIComponent(tenant)}` : "/sign-in/"} className="inline-block font-semibold text-teal-800 underline">
            Back to sign-in
          </Link>
        </div>
      ) : (
        <Loading label="Completing your organisation's sign-in…" />
      )}
    </AuthFrame>
  );
}

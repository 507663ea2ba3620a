"use client";
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { api, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { formatDateTime } from "@/lib/format";
import { endSession } from "@/lib/session";
import { useUrlParams } from "@/lib/location";
import type { components } from "@/api/generated/tenant";

type Enrolment = components["schemas"]["TotpEnrolment"];

export default function SecurityPage() {
  const params = useUrlParams();
  return (
    <>
      <PageHeader title="Sign-in & security" description="Protect your account with an authenticator app, and see where you are signed in." />
      {params?.query.get("required") && (
        <div className="mb-6">
          <Alert tone="warning" title="Your organisation requires two-step verification">
            Set up an authenticator app below to continue using Swiftacare.
          </Alert>
        </div>
      )}
      <div className="grid gap-6 xl:grid-cols-2">
        <MfaCard />
        <SessionsCard />
      </div>
    </>
  );
}

function MfaCard() {
  const status = useLoad(() => unwrap(api.GET("/auth/mfa")), []);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const begin = useSubmit(async () => unwrap(api.POST("/auth/mfa/totp")));

  if (codes) {
    return (
      <Card title="Save your recovery codes">
        <Alert tone="success" title="Your authenticator is set up">
          If you lose your phone, each of these codes signs you in once. They are shown only now: print them or keep
          them in a password manager.
        </Alert>
        <ol className="mt-4 grid grid-cols-2 gap-2 font-mono text-sm" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c} className="rounded bg-slate-100 px-3 py-1.5 text-slate-900">
              {c}
            </li>
          ))}
        </ol>
        <div className="mt-4 flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(codes.join("\n"))}>
            Copy codes
          </Button>
          <Button
            onClick={() => {
              setCodes(null);
              setEnrolment(null);
              status.reload();
            }}
          >
            I have saved them
          </Button>
        </div>
      </Card>
    );
  }
  if (enrolment) {
    return <ConfirmEnrolment enrolment={enrolment} onDone={setCodes} onCancel={() => setEnrolment(null)} />;
  }
  return (
    <Card title="Authenticator app">
      {status.loading && <Loading />}
      {status.error && <LoadError problem={status.error} onRetry={status.reload} />}
      {status.data && (
        <div className="space-y-4">
          <p className="flex items-center gap-2 text-sm text-slate-700">
            Status:{" "}
            {status.data.totp_enabled ? <Badge tone="teal">On</Badge> : <Badge tone="amber">Off</Badge>}
          </p>
          {status.data.totp_enabled ? (
            <>
              <p className="text-sm text-slate-700">
                You have <strong>{status.data.recovery_codes_left}</strong> unused recovery codes.
              </p>
              <DisableMfa onDone={status.reload} />
            </>
          ) : (
            <>
              <p className="text-sm text-slate-700">
                Each sign-in will also ask for a 6-digit code from an app on your phone (for example Google
                Authenticator, Microsoft Authenticator or 1Password).
              </p>
              {begin.problem && <FormProblem problem={begin.problem} />}
              <Button
                pending={begin.pending}
                onClick={async () => {
                  const e = await begin.run();
                  if (e) setEnrolment(e);
                }}
              >
                Set up authenticator app
              </Button>
            </>
          )}
        </div>
      )}
    </Card>
  );
}

function ConfirmEnrolment({ enrolment, onDone, onCancel }: { enrolment: Enrolment; onDone: (codes: string[]) => void; onCancel: () => void }) {
  const [code, setCode] = useState("");
  const { run, pending, problem } = useSubmit(() => unwrap(api.POST("/auth/mfa/totp/confirm", { body: { code: code.replace(/\s/g, "") } })));
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await run();
    if (r) onDone(r.recovery_codes);
  }
  // The QR code is an SVG drawn by the API; shown as an image so nothing in it can run.
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qr_svg)}`;
  return (
    <Card title="Set up your authenticator app">
      <ol className="list-decimal space-y-4 pl-5 text-sm text-slate-700">
        <li>
          Scan this code with your authenticator app.
          {/* eslint-disable-next-line @next/next/no-img-element -- a static export has no image optimiser; this is a data: URI */}
          <img src={qr} alt="QR code to add Swiftacare to your authenticator app" className="mt-3 h-48 w-48 rounded border border-slate-200 bg-white p-2" />
          <details className="mt-2">
            <summary className="cursor-pointer text-teal-800 underline">Cannot scan? Enter the key by hand</summary>
            <p className="mt-2 break-all font-mono text-slate-900">{enrolment.secret}</p>
          </details>
        </li>
        <li>
          <form onSubmit={submit} noValidate className="space-y-4">
            <FormProblem problem={problem} fields={["code"]} />
            <TextField
              label="Enter the 6-digit code the app shows"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.target.value)}
              error={errors.code}
              required
            />
            <div className="flex gap-2">
              <Button type="submit" pending={pending}>
                Turn on
              </Button>
              <Button type="button" variant="secondary" onClick={onCancel}>
                Cancel
              </Button>
            </div>
          </form>
        </li>
      </ol>
    </Card>
  );
}

function DisableMfa({ onDone }: { onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState("");
  const { run, pending, problem } = useSubmit(async () => {
    await unwrap(
      api.POST("/auth/mfa/totp/disable", {
        body: recovery.trim() ? { recovery_code: recovery.trim() } : { code: code.replace(/\s/g, "") },
      }),
    );
    return true;
  });
  const errors = fieldErrors(problem);
  if (!open) {
    return (
      <Button variant="danger" onClick={() => setOpen(true)}>
        Turn off…
      </Button>
    );
  }
  return (
    <form
      noValidate
      className="space-y-4 rounded-md border border-slate-200 p-4"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await run()) onDone();
      }}
    >
      <p className="text-sm text-slate-700">To turn it off, confirm with a current code or one of your recovery codes.</p>
      <FormProblem problem={problem} fields={["code", "recovery_code"]} />
      <TextField label="Code from your app" name="code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} error={errors.code} />
      <TextField label="Or a recovery code" name="recovery_code" autoComplete="off" value={recovery} onChange={(e) => setRecovery(e.target.value)} error={errors.recovery_code} />
      <div className="flex gap-2">
        <Button type="submit" variant="danger" pending={pending}>
          Turn off two-step verification
        </Button>
        <Button type="button" variant="secondary" onClick={() => setOpen(false)}>
          Keep it on
        </Button>
      </div>
    </form>
  );
}

function SessionsCard() {
  const router = useRouter();
  const sessions = useLoad(() => unwrap(api.GET("/auth/sessions")), []);
  const revoke = useSubmit(async (id: string) => {
    await unwrap(api.DELETE("/auth/sessions/{session_id}", { params: { path: { session_id: id } } }));
    return true;
  });
  const everywhere = useSubmit(async () => {
    await unwrap(api.POST("/auth/logout-all"));
    return true;
  });
  return (
    <Card title="Where you are signed in">
      {sessions.loading && <Loading />}
      {sessions.error && <LoadError problem={sessions.error} onRetry={sessions.reload} />}
      {revoke.problem && (
        <div className="mb-3">
          <Alert>{describe(revoke.problem)}</Alert>
        </div>
      )}
      {sessions.data &&
        (sessions.data.items.length === 0 ? (
          <Empty>No active sessions.</Empty>
        ) : (
          <ul className="divide-y divide-slate-200">
            {sessions.data.items.map((s) => (
              <li key={s.id} className="flex flex-wrap items-center justify-between gap-3 py-3">
                <div className="text-sm">
                  <p className="font-medium text-slate-900">
                    Signed in {formatDateTime(s.created_at)} {s.current && <Badge tone="teal">This device</Badge>}
                  </p>
                  <p className="text-slate-600">
                    Last active {formatDateTime(s.last_seen_at)} · ends {formatDateTime(s.expires_at)}
                  </p>
                </div>
                {!s.current && (
                  <Button
                    variant="secondary"
                    pending={revoke.pending}
                    aria-label={`Sign out the session started ${formatDateTime(s.created_at)}`}
                    onClick={async () => {
                      if (await revoke.run(s.id)) sessions.reload();
                    }}
                  >
                    Sign out
                  </Button>
                )}
              </li>
            ))}
          </ul>
        ))}
      <div className="mt-4 border-t border-slate-200 pt-4">
        {everywhere.problem && <FormProblem problem={everywhere.problem} />}
        <Button
          variant="danger"
          pending={everywhere.pending}
          onClick={async () => {
            if (await everywhere.run()) {
              endSession();
              router.replace("/sign-in/");
            }
          }}
        >
          Sign out everywhere
        </Button>
        <p className="mt-2 text-sm text-slate-600">Ends every session of your account, including this one.</p>
      </div>
    </Card>
  );
}

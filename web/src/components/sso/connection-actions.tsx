"use client";
import { useState } from "react";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Alert, Button } from "@/components/ui";
import { useSubmit } from "@/lib/hooks";
import { describe } from "@/lib/problem";

type Connection = components["schemas"]["SsoConnectionView"];
type ScimToken = components["schemas"]["ScimToken"];

/**
 * A connection's two dangerous actions, each behind a confirmation: issue a SCIM token (which
 * replaces the previous one; the new token is shown once), and delete the connection.
 */
export function ConnectionActions({ c, onDeleted }: { c: Connection; onDeleted: () => void }) {
  const [confirm, setConfirm] = useState<"scim" | "delete" | null>(null);
  const [token, setToken] = useState<ScimToken | null>(null);
  const scim = useSubmit(async () => unwrap(api.POST("/sso/connections/{connection_id}/scim-token", { params: { path: { connection_id: c.id } } })));
  const remove = useSubmit(async () => {
    await unwrap(api.DELETE("/sso/connections/{connection_id}", { params: { path: { connection_id: c.id } } }));
    return true;
  });
  const problem = scim.problem ?? remove.problem;
  return (
    <div className="mt-3 space-y-3">
      {problem && <Alert title="That did not work">{describe(problem)}</Alert>}
      {token && (
        <div className="space-y-2">
          <Alert tone="warning" title="Copy the SCIM token now">
            It is shown only once, and it replaces any earlier token for this connection.
          </Alert>
          <label className="block text-sm font-medium text-slate-800" htmlFor={`scim-url-${c.id}`}>
            SCIM base URL
          </label>
          <input id={`scim-url-${c.id}`} readOnly value={token.base_url} className="block w-full rounded-md border border-slate-400 px-3 py-2 font-mono text-xs" />
          <label className="block text-sm font-medium text-slate-800" htmlFor={`scim-token-${c.id}`}>
            SCIM token
          </label>
          <textarea
            id={`scim-token-${c.id}`}
            readOnly
            rows={2}
            value={token.token}
            onFocus={(e) => e.target.select()}
            className="block w-full resize-none break-all rounded-md border border-slate-400 px-3 py-2 font-mono text-xs"
          />
        </div>
      )}
      {confirm === null && (
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => { setConfirm("scim"); setToken(null); }} aria-label={`Issue a SCIM token for ${c.name}`}>
            Issue a SCIM token
          </Button>
          <Button variant="danger" onClick={() => setConfirm("delete")} aria-label={`Delete ${c.name}`}>
            Delete
          </Button>
        </div>
      )}
      {confirm === "scim" && (
        <div role="group" aria-label="Confirm the SCIM token" className="space-y-2 rounded-md border border-slate-200 p-3 text-sm">
          <p>
            {c.scim_enabled
              ? "A new token stops the current one from working: update the identity provider at once."
              : "The identity provider will create and update accounts with this token."}
          </p>
          <div className="flex flex-wrap gap-2">
            <Button
              autoFocus
              pending={scim.pending}
              onClick={async () => {
                const t = await scim.run();
                if (t) {
                  setToken(t);
                  setConfirm(null);
                }
              }}
            >
              Issue the token
            </Button>
            <Button variant="secondary" onClick={() => setConfirm(null)}>
              Back
            </Button>
          </div>
        </div>
      )}
      {confirm === "delete" && (
        <div role="group" aria-label={`Confirm deleting ${c.name}`} className="space-y-2 rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900">
          <p>
            Delete “{c.name}”? People from {c.domains.length ? c.domains.join(", ") : "its domains"} can no longer sign in through it
            {c.password_login_allowed ? "; they can still use a password." : ", and passwords were turned off for them: make sure they have another way in."}
          </p>
          <div className="flex flex-wrap gap-2">
            <Button
              autoFocus
              variant="danger"
              pending={remove.pending}
              onClick={async () => {
                if (await remove.run()) onDeleted();
              }}
            >
              Delete the connection
            </Button>
            <Button variant="secondary" onClick={() => setConfirm(null)}>
              Keep it
            </Button>
          </div>
        </div>
      )}
    </div>
  );
}

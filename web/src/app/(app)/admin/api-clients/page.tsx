"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { CheckboxGroup, FormProblem, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { formatDateTime } from "@/lib/format";
import type { components } from "@/api/generated/tenant";

type Created = components["schemas"]["ApiClientCreated"];

const SCOPES = [
  { value: "directory:read", label: "Read the directory (directory:read)" },
  { value: "directory:write", label: "Change the directory (directory:write)" },
];

export default function ApiClientsPage() {
  const list = useLoad(() => unwrap(api.GET("/oauth-clients")), []);
  const [created, setCreated] = useState<Created | null>(null);
  const revoke = useSubmit(async (id: string) => {
    await unwrap(api.DELETE("/oauth-clients/{client_id}", { params: { path: { client_id: id } } }));
    return true;
  });
  return (
    <>
      <PageHeader
        title="API clients"
        description="Credentials for systems that integrate with Swiftacare (OAuth 2.0 client credentials at /api/v1/oauth/token)."
      />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
        <Card title="Clients">
          {list.loading && <Loading />}
          {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
          {revoke.problem && <Alert>{describe(revoke.problem)}</Alert>}
          {list.data &&
            (list.data.items.length === 0 ? (
              <Empty>No API clients yet.</Empty>
            ) : (
              <ul className="divide-y divide-slate-100">
                {list.data.items.map((c) => (
                  <li key={c.id} className="flex flex-wrap items-center justify-between gap-3 py-3">
                    <div className="text-sm">
                      <p className="font-medium text-slate-900">
                        {c.name} {c.revoked && <Badge tone="red">Revoked</Badge>}
                      </p>
                      <p className="text-slate-600">
                        <code className="text-xs">{c.id}</code> · {c.scopes.join(", ")} · created {formatDateTime(c.created_at)}
                      </p>
                    </div>
                    {!c.revoked && (
                      <Button
                        variant="danger"
                        pending={revoke.pending}
                        aria-label={`Revoke ${c.name}`}
                        onClick={async () => {
                          if (window.confirm(`Revoke ${c.name}? Its tokens stop working immediately.`) && (await revoke.run(c.id))) list.reload();
                        }}
                      >
                        Revoke
                      </Button>
                    )}
                  </li>
                ))}
              </ul>
            ))}
        </Card>
        <div>
          {created ? (
            <Card title="Client created">
              <Alert tone="warning" title="Copy the secret now">
                It is shown only once. Store it in your integration&apos;s secret store.
              </Alert>
              <dl className="mt-4 space-y-2 text-sm">
                <dt className="font-medium text-slate-700">Client id</dt>
                <dd className="break-all font-mono text-slate-900">{created.client.id}</dd>
                <dt className="font-medium text-slate-700">Client secret</dt>
                <dd className="break-all font-mono text-slate-900">{created.client_secret}</dd>
              </dl>
              <div className="mt-4 flex gap-2">
                <Button variant="secondary" onClick={() => void navigator.clipboard?.writeText(created.client_secret)}>
                  Copy secret
                </Button>
                <Button onClick={() => setCreated(null)}>Done</Button>
              </div>
            </Card>
          ) : (
            <CreateClient
              onCreated={(c) => {
                setCreated(c);
                list.reload();
              }}
            />
          )}
        </div>
      </div>
    </>
  );
}

function CreateClient({ onCreated }: { onCreated: (c: Created) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["directory:read"]);
  const { run, pending, problem } = useSubmit(() => unwrap(api.POST("/oauth-clients", { body: { name, scopes } })));
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const c = await run();
    if (c) {
      setName("");
      onCreated(c);
    }
  }
  return (
    <Card title="New API client">
      <form onSubmit={submit} noValidate className="space-y-4">
        <FormProblem problem={problem} fields={["name", "scopes"]} />
        <TextField label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} hint="What the integration is, e.g. HR sync." required />
        <CheckboxGroup legend="Access" name="scopes" options={SCOPES} value={scopes} onChange={setScopes} error={errors.scopes} />
        <Button type="submit" pending={pending}>
          Create client
        </Button>
      </form>
    </Card>
  );
}

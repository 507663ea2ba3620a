"use client";
import { useEffect, useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { platform, unwrap } from "@/api/client";
import { Logo } from "@/components/logo";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { formatDateTime } from "@/lib/format";
import { endOperatorSession, operatorToken } from "@/lib/operator";
import { useHydrated } from "@/lib/location";
import type { components } from "@/api/generated/platform";

type TenantKind = components["schemas"]["TenantKind"];
type PlatformTenant = components["schemas"]["PlatformTenant"];
const KINDS: TenantKind[] = ["clinic", "practice", "hospital", "government", "corporate"];

export default function TenantsPage() {
  const router = useRouter();
  const hydrated = useHydrated();
  const signedIn = hydrated && operatorToken() !== null;
  useEffect(() => {
    if (hydrated && !signedIn) router.replace("/operator/");
  }, [hydrated, signedIn, router]);
  const list = useLoad(async () => (operatorToken() ? unwrap(platform.GET("/tenants")) : null), []);
  const [created, setCreated] = useState<PlatformTenant | null>(null);
  const status = useSubmit(async (t: PlatformTenant) => {
    const opts = { params: { path: { slug: t.slug } } };
    if (t.status === "suspended") await unwrap(platform.POST("/tenants/{slug}/activate", opts));
    else await unwrap(platform.POST("/tenants/{slug}/suspend", opts));
    return true;
  });
  useEffect(() => {
    if (list.error?.status === 401) router.replace("/operator/");
  }, [list.error, router]);

  if (!signedIn) return <Loading />;
  return (
    <div className="min-h-screen">
      <header className="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3 sm:px-6">
        <span className="flex items-center gap-3">
          <Logo />
          <Badge tone="sky">Platform</Badge>
        </span>
        <Button
          variant="secondary"
          onClick={async () => {
            try {
              await platform.POST("/auth/logout");
            } finally {
              endOperatorSession();
              router.replace("/operator/");
            }
          }}
        >
          Sign out
        </Button>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <PageHeader title="Tenants" description="Every organisation on this deployment, its schema and shard. Operators never see tenant data." />
        <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_24rem]">
          <Card title="All tenants">
            {list.loading && <Loading />}
            {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
            {status.problem && <Alert>{describe(status.problem)}</Alert>}
            {list.data &&
              (list.data.items.length === 0 ? (
                <Empty>No tenants yet.</Empty>
              ) : (
                <div className="-mx-5 overflow-x-auto">
                  <table className="min-w-full text-left text-sm">
                    <caption className="sr-only">Tenants</caption>
                    <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-600">
                      <tr>
                        <th scope="col" className="px-5 py-2 font-semibold">Organisation</th>
                        <th scope="col" className="px-3 py-2 font-semibold">Status</th>
                        <th scope="col" className="hidden px-3 py-2 font-semibold md:table-cell">Placement</th>
                        <th scope="col" className="hidden px-3 py-2 font-semibold md:table-cell">Created</th>
                        <th scope="col" className="px-5 py-2"><span className="sr-only">Actions</span></th>
                      </tr>
                    </thead>
                    <tbody className="divide-y divide-slate-100">
                      {list.data.items.map((t) => (
                        <tr key={t.slug}>
                          <td className="px-5 py-3">
                            <p className="font-medium text-slate-900">{t.name}</p>
                            <p className="text-slate-600">
                              {t.slug} · {t.kind}
                            </p>
                          </td>
                          <td className="px-3 py-3">
                            <Badge tone={t.status === "active" ? "teal" : t.status === "suspended" ? "red" : "amber"}>{t.status}</Badge>
                            {t.migration_error && <p className="mt-1 text-xs text-red-700">Migration failed</p>}
                          </td>
                          <td className="hidden px-3 py-3 font-mono text-xs text-slate-700 md:table-cell">
                            {t.shard} / {t.schema}
                          </td>
                          <td className="hidden px-3 py-3 text-slate-700 md:table-cell">{formatDateTime(t.created_at)}</td>
                          <td className="px-5 py-3 text-right">
                            {(t.status === "active" || t.status === "suspended") && (
                              <Button
                                variant={t.status === "active" ? "danger" : "secondary"}
                                pending={status.pending}
                                aria-label={`${t.status === "active" ? "Suspend" : "Reinstate"} ${t.name}`}
                                onClick={async () => {
                                  if (t.status === "active" && !window.confirm(`Suspend ${t.name}? Its people can no longer sign in.`)) return;
                                  if (await status.run(t)) list.reload();
                                }}
                              >
                                {t.status === "active" ? "Suspend" : "Reinstate"}
                              </Button>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ))}
          </Card>
          <div className="space-y-4">
            {created && (
              <Alert tone="success" title={`${created.name} is ready`}>
                A set-up link has been emailed to its first administrator.
              </Alert>
            )}
            <CreateTenant
              onCreated={(t) => {
                setCreated(t);
                list.reload();
              }}
            />
          </div>
        </div>
      </main>
    </div>
  );
}

function CreateTenant({ onCreated }: { onCreated: (t: PlatformTenant) => void }) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [kind, setKind] = useState<TenantKind>("clinic");
  const [adminEmail, setAdminEmail] = useState("");
  const [shard, setShard] = useState("");
  const { run, pending, problem } = useSubmit(() =>
    unwrap(platform.POST("/tenants", { body: { name, slug, kind, admin_email: adminEmail, ...(shard.trim() ? { shard: shard.trim() } : {}) } })),
  );
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = await run();
    if (t) {
      setName("");
      setSlug("");
      setAdminEmail("");
      setShard("");
      onCreated(t);
    }
  }
  return (
    <Card title="Create a tenant">
      <form onSubmit={submit} noValidate className="space-y-4">
        <FormProblem problem={problem} fields={["name", "slug", "kind", "admin_email", "shard"]} />
        <TextField label="Organisation name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} required />
        <TextField
          label="Short name (address)"
          name="slug"
          value={slug}
          onChange={(e) => setSlug(e.target.value.toLowerCase())}
          error={errors.slug}
          hint="Lower-case letters, digits and hyphens. People type it to sign in."
          autoCapitalize="none"
          spellCheck={false}
          required
        />
        <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as TenantKind)} error={errors.kind}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k[0]!.toUpperCase() + k.slice(1)}
            </option>
          ))}
        </SelectField>
        <TextField
          label="First administrator's email"
          name="admin_email"
          type="email"
          value={adminEmail}
          onChange={(e) => setAdminEmail(e.target.value)}
          error={errors.admin_email}
          hint="They receive a set-up link."
          required
        />
        <TextField label="Shard (optional)" name="shard" value={shard} onChange={(e) => setShard(e.target.value)} error={errors.shard} hint="Leave empty for the primary cluster." />
        <Button type="submit" pending={pending}>
          Create tenant
        </Button>
      </form>
    </Card>
  );
}

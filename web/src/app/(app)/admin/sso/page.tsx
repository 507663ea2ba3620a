"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { formatDateTime, ROLE_LABELS } from "@/lib/format";
import type { components } from "@/api/generated/tenant";
import { ConnectionActions } from "@/components/sso/connection-actions";

type Connection = components["schemas"]["SsoConnectionView"];
type RoleName = components["schemas"]["RoleName"];

/** Enterprise single sign-on: the organisation's identity providers (OIDC or SAML 2.0). */
export default function SsoConnectionsPage() {
  const list = useLoad(() => unwrap(api.GET("/sso/connections")), []);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<Connection | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  return (
    <>
      <PageHeader
        title="Single sign-on"
        description="Let people sign in with your organisation's identity provider. Email domains route people to it; groups map to roles."
        actions={!adding && <Button onClick={() => { setAdding(true); setCreated(null); }}>Add connection</Button>}
      />
      <div className="space-y-6">
        {deleted && <Alert tone="success">{`Connection “${deleted}” deleted.`}</Alert>}
        {created && (
          <Alert tone="success" title={`Connection “${created.name}” created`}>
            <p>Give your identity provider&apos;s administrator these details:</p>
            <ConnectionUrls c={created} />
          </Alert>
        )}
        {adding && (
          <CreateForm
            onCancel={() => setAdding(false)}
            onCreated={(c) => {
              setAdding(false);
              setCreated(c);
              list.reload();
            }}
          />
        )}
        <Card title="Connections">
          {list.loading && <Loading />}
          {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
          {list.data &&
            (list.data.items.length === 0 ? (
              <Empty>No connections yet: everyone signs in with a password.</Empty>
            ) : (
              <ul className="divide-y divide-slate-100">
                {list.data.items.map((c) => (
                  <li key={c.id} className="py-4 text-sm">
                    <div className="flex flex-wrap items-center gap-2">
                      <span className="font-semibold text-slate-900">{c.name}</span>
                      <Badge tone="sky">{c.protocol.toUpperCase()}</Badge>
                      {!c.password_login_allowed && <Badge tone="amber">Passwords off for these domains</Badge>}
                      {c.scim_enabled && <Badge tone="teal">SCIM</Badge>}
                    </div>
                    <p className="mt-1 text-slate-700">Domains: {c.domains.length ? c.domains.join(", ") : "none"}</p>
                    <p className="text-slate-700">
                      Groups: {c.group_mappings.length ? c.group_mappings.map((m) => `${m.group} → ${ROLE_LABELS[m.role] ?? m.role}`).join(", ") : "none mapped"}
                    </p>
                    <details className="mt-2">
                      <summary className="cursor-pointer font-medium text-teal-800">Details for the identity provider</summary>
                      <ConnectionUrls c={c} />
                    </details>
                    <p className="mt-1 text-xs text-slate-600">Added {formatDateTime(c.created_at)}</p>
                    <ConnectionActions c={c} onDeleted={() => { setDeleted(c.name); list.reload(); }} />
                  </li>
                ))}
              </ul>
            ))}
        </Card>
      </div>
    </>
  );
}

function ConnectionUrls({ c }: { c: Connection }) {
  const rows: [string, string | undefined][] = [
    ["Sign-in start URL", c.start_url],
    ["Redirect URI (OIDC)", c.oidc_redirect_uri],
    ["Issuer (OIDC)", c.oidc_issuer],
    ["Client ID (OIDC)", c.oidc_client_id],
    ["Entity ID / SP metadata (SAML)", c.saml_entity_id],
    ["ACS URL (SAML)", c.saml_acs_url],
    ["IdP metadata (SAML)", c.saml_metadata_url],
  ];
  return (
    <dl className="mt-2 grid gap-x-4 gap-y-1 sm:grid-cols-[14rem_1fr]">
      {rows
        .filter(([, v]) => v)
        .map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="font-medium text-slate-800">{k}</dt>
            <dd className="break-all font-mono text-xs text-slate-900">{v}</dd>
          </div>
        ))}
    </dl>
  );
}

interface MappingRow {
  group: string;
  role: RoleName;
}

function CreateForm({ onCreated, onCancel }: { onCreated: (c: Connection) => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [protocol, setProtocol] = useState<"oidc" | "saml">("oidc");
  const [issuer, setIssuer] = useState("");
  const [clientId, setClientId] = useState("");
  const [clientSecret, setClientSecret] = useState("");
  const [metadataUrl, setMetadataUrl] = useState("");
  const [metadataXml, setMetadataXml] = useState("");
  const [domains, setDomains] = useState("");
  const [passwords, setPasswords] = useState(true);
  const [mappings, setMappings] = useState<MappingRow[]>([{ group: "", role: "provider" }]);
  const { run, pending, problem } = useSubmit(async () =>
    unwrap(
      api.POST("/sso/connections", {
        body: {
          name: name.trim(),
          protocol,
          oidc: protocol === "oidc" ? { issuer: issuer.trim(), client_id: clientId.trim(), client_secret: clientSecret } : undefined,
          saml: protocol === "saml" ? { metadata_url: metadataUrl.trim() || undefined, metadata_xml: metadataXml.trim() || undefined } : undefined,
          domains: domains.split(/[\s,]+/).filter(Boolean),
          group_mappings: mappings.filter((m) => m.group.trim()).map((m) => ({ group: m.group.trim(), role: m.role })),
          password_login_allowed: passwords,
        },
      }),
    ),
  );
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const c = await run();
    if (c) onCreated(c);
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-4" aria-label="Add an SSO connection">
      <FormProblem problem={problem} fields={["name", "protocol", "oidc", "saml", "domains", "group_mappings", "password_login_allowed"]} />
      <Card title="New connection">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} hint="What people see, e.g. “Hospital staff”." />
          <SelectField label="Protocol" name="protocol" value={protocol} onChange={(e) => setProtocol(e.target.value as "oidc" | "saml")} error={errors.protocol}>
            <option value="oidc">OpenID Connect</option>
            <option value="saml">SAML 2.0</option>
          </SelectField>
          {protocol === "oidc" ? (
            <>
              <TextField label="Issuer URL" name="oidc/issuer" value={issuer} onChange={(e) => setIssuer(e.target.value)} error={errors["oidc/issuer"] ?? errors.oidc} />
              <TextField label="Client ID" name="oidc/client_id" value={clientId} onChange={(e) => setClientId(e.target.value)} error={errors["oidc/client_id"]} />
              <TextField label="Client secret" name="oidc/client_secret" type="password" autoComplete="off" value={clientSecret} onChange={(e) => setClientSecret(e.target.value)} error={errors["oidc/client_secret"]} hint="Stored encrypted; never shown again." />
            </>
          ) : (
            <>
              <TextField label="IdP metadata URL" name="saml/metadata_url" value={metadataUrl} onChange={(e) => setMetadataUrl(e.target.value)} error={errors["saml/metadata_url"] ?? errors.saml} hint="Or paste the metadata XML below." />
              <div className="sm:col-span-2">
                <label htmlFor="saml-xml" className="block text-sm font-medium text-slate-800">IdP metadata XML</label>
                <textarea id="saml-xml" name="saml/metadata_xml" rows={4} value={metadataXml} onChange={(e) => setMetadataXml(e.target.value)} aria-invalid={errors["saml/metadata_xml"] ? true : undefined} className="mt-1 block w-full rounded-md border border-slate-400 px-3 py-2 font-mono text-xs" />
                {errors["saml/metadata_xml"] && <p className="mt-1 text-sm font-medium text-red-700">⚠ {errors["saml/metadata_xml"]}</p>}
              </div>
            </>
          )}
          <TextField label="Email domains" name="domains" value={domains} onChange={(e) => setDomains(e.target.value)} error={errors.domains} hint="Separated by commas, e.g. clinic.example." />
          <label className="flex items-center gap-2 self-end pb-2 text-sm text-slate-800">
            <input type="checkbox" checked={passwords} onChange={(e) => setPasswords(e.target.checked)} className="h-4 w-4 accent-teal-700" />
            People of these domains may still use a password
          </label>
        </div>
        <fieldset className="mt-6">
          <legend className="text-sm font-semibold text-slate-900">Group → role</legend>
          <p className="text-sm text-slate-600">People whose IdP groups map to no role are refused.</p>
          {errors.group_mappings && <p className="mt-1 text-sm font-medium text-red-700">⚠ {errors.group_mappings}</p>}
          <ul className="mt-2 space-y-2">
            {mappings.map((m, i) => (
              <li key={i} className="grid grid-cols-[1fr_1fr_auto] items-end gap-2">
                <TextField label={`Group ${i + 1}`} name={`group_mappings/${i}/group`} value={m.group} onChange={(e) => setMappings(mappings.map((x, j) => (j === i ? { ...x, group: e.target.value } : x)))} error={errors[`group_mappings/${i}/group`]} />
                <SelectField label={`Role ${i + 1}`} name={`group_mappings/${i}/role`} value={m.role} onChange={(e) => setMappings(mappings.map((x, j) => (j === i ? { ...x, role: e.target.value as RoleName } : x)))} error={errors[`group_mappings/${i}/role`]}>
                  {Object.entries(ROLE_LABELS).map(([v, l]) => (
                    <option key={v} value={v}>{l}</option>
                  ))}
                </SelectField>
                <Button type="button" variant="ghost" onClick={() => setMappings(mappings.filter((_, j) => j !== i))}>
                  Remove<span className="sr-only"> group {i + 1}</span>
                </Button>
              </li>
            ))}
          </ul>
          <Button type="button" variant="secondary" className="mt-2" onClick={() => setMappings([...mappings, { group: "", role: "staff" }])}>
            Add a group
          </Button>
        </fieldset>
        <div className="mt-6 flex gap-2">
          <Button type="submit" pending={pending}>Create connection</Button>
          <Button type="button" variant="secondary" onClick={onCancel}>Cancel</Button>
        </div>
      </Card>
    </form>
  );
}

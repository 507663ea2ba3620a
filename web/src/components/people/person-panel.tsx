"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, LoadError, Loading } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { RoleEditor, rolesFor, type RoleRequest } from "@/components/people/role-editor";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { formatDateTime, roleLabel } from "@/lib/format";
import type { Department } from "@/lib/departments";
import type { components } from "@/api/generated/tenant";

type Person = components["schemas"]["Person"];
type Account = components["schemas"]["Account"];
type DeptOption = { dept: Department; depth: number };

/** One person: their details, their sign-in account and roles, and (for clients) their care team. */
export function PersonPanel({
  person,
  account,
  departments,
  onChanged,
  onClose,
}: {
  person: Person;
  account?: Account;
  departments: DeptOption[];
  onChanged: () => void;
  onClose: () => void;
}) {
  return (
    <div className="space-y-6">
      <Card
        title={`${person.given_name} ${person.family_name}`}
        actions={
          <button type="button" onClick={onClose} className="rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100">
            Close
          </button>
        }
      >
        <DetailsForm person={person} departments={departments} onSaved={onChanged} />
      </Card>
      <Card title="Sign-in access">
        <AccessSection person={person} account={account} departments={departments} onChanged={onChanged} />
      </Card>
      {person.kind === "client" && (
        <Card title="Care team">
          <CareTeam client={person} />
        </Card>
      )}
    </div>
  );
}

function DetailsForm({ person, departments, onSaved }: { person: Person; departments: DeptOption[]; onSaved: () => void }) {
  const [given, setGiven] = useState(person.given_name);
  const [family, setFamily] = useState(person.family_name);
  const [email, setEmail] = useState(person.email ?? "");
  const [department, setDepartment] = useState(person.department_id ?? "");
  const [status, setStatus] = useState(person.status);
  const [phone, setPhone] = useState(person.phone ?? "");
  const [sms, setSms] = useState(person.sms_reminders);
  const [saved, setSaved] = useState(false);
  const { run, pending, problem } = useSubmit(async () => {
    await unwrap(
      api.PATCH("/people/{person_id}", {
        params: { path: { person_id: person.id }, header: { "If-Match": etagOf(person.version) } },
        body: {
          given_name: given,
          family_name: family,
          status,
          ...(email.trim() !== (person.email ?? "") ? { email: email.trim() ? email.trim() : null } : {}),
          ...(department !== (person.department_id ?? "") ? { department_id: department ? department : null } : {}),
          ...(phone.trim() !== (person.phone ?? "") ? { phone: phone.trim() ? phone.trim() : null } : {}),
          ...(sms !== person.sms_reminders ? { sms_reminders: sms } : {}),
        },
      }),
    );
    return true;
  });
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (await run()) {
      setSaved(true);
      onSaved();
    }
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {saved && <Alert tone="success">Saved.</Alert>}
      <FormProblem problem={problem} fields={["given_name", "family_name", "email", "department_id", "status", "phone", "sms_reminders"]} />
      <p className="text-sm text-slate-600">
        <Badge>{person.kind}</Badge> · added {formatDateTime(person.created_at)}
      </p>
      <div className="grid gap-4 sm:grid-cols-2">
        <TextField label="Given name" name="given_name" value={given} onChange={(e) => setGiven(e.target.value)} error={errors.given_name} required />
        <TextField label="Family name" name="family_name" value={family} onChange={(e) => setFamily(e.target.value)} error={errors.family_name} required />
      </div>
      <TextField
        label="Email"
        name="email"
        type="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={errors.email}
        hint={person.email && !email.trim() ? "Saving removes this person's email address." : undefined}
      />
      <SelectField
        label="Department"
        name="department_id"
        value={department}
        onChange={(e) => setDepartment(e.target.value)}
        error={errors.department_id}
        hint={person.department_id && !department ? "Saving takes this person out of every department." : undefined}
      >
        <option value="">— None —</option>
        {departments.map((d) => (
          <option key={d.dept.id} value={d.dept.id}>
            {"\u2003".repeat(d.depth)}
            {d.dept.name}
          </option>
        ))}
      </SelectField>
      {person.kind === "client" && (
        <fieldset className="space-y-3">
          <legend className="text-sm font-medium text-slate-800">Text-message reminders</legend>
          <TextField
            label="Mobile number"
            name="phone"
            type="tel"
            autoComplete="off"
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            error={errors.phone}
            hint="With the country code, e.g. +1 416 555 0123. Leave empty to remove it."
          />
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              name="sms_reminders"
              checked={sms}
              onChange={(e) => setSms(e.target.checked)}
              className="h-4 w-4 accent-teal-700"
              aria-describedby={errors.sms_reminders ? "sms_reminders-error" : undefined}
            />
            The client agreed to appointment reminders by text message
          </label>
          {errors.sms_reminders && (
            <p id="sms_reminders-error" className="text-sm text-red-700">
              {errors.sms_reminders}
            </p>
          )}
        </fieldset>
      )}
      <SelectField label="Status" name="status" value={status} onChange={(e) => setStatus(e.target.value as Person["status"])} error={errors.status}>
        <option value="active">Active</option>
        <option value="inactive">Inactive</option>
      </SelectField>
      <Button type="submit" pending={pending}>
        Save details
      </Button>
    </form>
  );
}

function AccessSection({
  person,
  account,
  departments,
  onChanged,
}: {
  person: Person;
  account?: Account;
  departments: DeptOption[];
  onChanged: () => void;
}) {
  const initialRoles: RoleRequest[] = account?.roles.length
    ? account.roles.map((r) => ({ role: r.role as RoleRequest["role"], ...(r.department_id ? { department_id: r.department_id } : {}) }))
    : [{ role: rolesFor(person.kind)[0]! }];
  const [roles, setRoles] = useState<RoleRequest[]>(initialRoles);
  const [notice, setNotice] = useState<{ tone: "success" | "warning"; text: string } | null>(null);

  const invite = useSubmit(() => unwrap(api.POST("/invitations", { body: { person_id: person.id, roles } })));
  const saveRoles = useSubmit(async () => {
    if (!account) return false;
    await unwrap(api.PUT("/accounts/{account_id}/roles", { params: { path: { account_id: account.id } }, body: { roles } }));
    return true;
  });
  const toggle = useSubmit(async () => {
    if (!account) return false;
    const path = { params: { path: { account_id: account.id } } };
    if (account.status === "disabled") await unwrap(api.POST("/accounts/{account_id}/enable", path));
    else await unwrap(api.POST("/accounts/{account_id}/disable", path));
    return true;
  });
  const problem = invite.problem ?? saveRoles.problem;
  const errors = fieldErrors(problem);

  async function sendInvite(e: FormEvent) {
    e.preventDefault();
    setNotice(null);
    const r = await invite.run();
    if (r) {
      setNotice(
        r.email_sent
          ? { tone: "success", text: `Invitation sent to ${person.email}. The link works until ${formatDateTime(r.expires_at)}.` }
          : { tone: "warning", text: "The invitation was created, but the email could not be sent. Try again later." },
      );
      onChanged();
    }
  }

  const invitable = !account || account.status === "invited";
  return (
    <div className="space-y-4">
      {notice && <Alert tone={notice.tone}>{notice.text}</Alert>}
      {account ? (
        <p className="text-sm text-slate-700">
          Account <strong>{account.email}</strong> · status <strong>{account.status}</strong>
          {account.roles.length > 0 && <> · {account.roles.map((r) => roleLabel(r.role)).join(", ")}</>}
        </p>
      ) : (
        <p className="text-sm text-slate-700">{person.email ? "This person cannot sign in yet." : "Add an email address to invite this person."}</p>
      )}
      <form
        onSubmit={
          invitable
            ? sendInvite
            : async (e) => {
                e.preventDefault();
                setNotice(null);
                if (await saveRoles.run()) {
                  setNotice({ tone: "success", text: "Roles saved. They apply from the person's next request." });
                  onChanged();
                }
              }
        }
        noValidate
        className="space-y-4"
      >
        <FormProblem problem={problem} fields={["roles", "person_id"]} />
        {errors.person_id && <p className="text-sm font-medium text-red-700">⚠ {errors.person_id}</p>}
        <RoleEditor kind={person.kind} value={roles} onChange={setRoles} departments={departments} errors={errors} />
        {invitable ? (
          <Button type="submit" pending={invite.pending} disabled={!person.email}>
            {account ? "Send a new invitation" : "Invite to sign in"}
          </Button>
        ) : (
          <Button type="submit" pending={saveRoles.pending}>
            Save roles
          </Button>
        )}
      </form>
      {account && account.status !== "invited" && (
        <div className="border-t border-slate-200 pt-4">
          {toggle.problem && (
            <div className="mb-3">
              <Alert>{describe(toggle.problem)}</Alert>
            </div>
          )}
          <Button
            variant={account.status === "disabled" ? "secondary" : "danger"}
            pending={toggle.pending}
            onClick={async () => {
              if (await toggle.run()) onChanged();
            }}
          >
            {account.status === "disabled" ? "Re-enable account" : "Disable account"}
          </Button>
          {account.status !== "disabled" && <p className="mt-2 text-sm text-slate-600">Disabling ends all of this person&apos;s sessions at once.</p>}
        </div>
      )}
    </div>
  );
}

function CareTeam({ client }: { client: Person }) {
  const team = useLoad(() => unwrap(api.GET("/people/{person_id}/care-team", { params: { path: { person_id: client.id } } })), [client.id]);
  const providers = useLoad(
    () => unwrap(api.GET("/people", { params: { query: { kind: "provider", limit: 200 } } })).then((p) => p.items),
    [],
  );
  const [provider, setProvider] = useState("");
  const assign = useSubmit(async () => {
    await unwrap(api.POST("/people/{person_id}/care-team", { params: { path: { person_id: client.id } }, body: { provider_id: provider } }));
    return true;
  });
  const unassign = useSubmit(async (id: string) => {
    await unwrap(api.DELETE("/people/{person_id}/care-team/{provider_id}", { params: { path: { person_id: client.id, provider_id: id } } }));
    return true;
  });
  const errors = fieldErrors(assign.problem);
  if (team.loading) return <Loading />;
  if (team.error) return <LoadError problem={team.error} onRetry={team.reload} />;
  const members = team.data?.providers ?? [];
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">Only the providers on a client&apos;s care team can see the client&apos;s records.</p>
      {unassign.problem && <Alert>{describe(unassign.problem)}</Alert>}
      {members.length === 0 ? (
        <p className="text-sm text-slate-700">No providers yet.</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {members.map((m) => (
            <li key={m.id} className="flex items-center justify-between py-2 text-sm">
              <span>
                {m.given_name} {m.family_name}
              </span>
              <Button
                variant="ghost"
                pending={unassign.pending}
                aria-label={`Remove ${m.given_name} ${m.family_name} from the care team`}
                onClick={async () => {
                  if (await unassign.run(m.id)) team.reload();
                }}
              >
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form
        noValidate
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await assign.run()) {
            setProvider("");
            team.reload();
          }
        }}
      >
        <FormProblem problem={assign.problem} fields={["provider_id"]} />
        {providers.error && <LoadError problem={providers.error} onRetry={providers.reload} />}
        <SelectField label="Add a provider" name="provider_id" value={provider} onChange={(e) => setProvider(e.target.value)} error={errors.provider_id}>
          <option value="">— Choose —</option>
          {(providers.data ?? [])
            .filter((p) => !members.some((m) => m.id === p.id))
            .map((p) => (
              <option key={p.id} value={p.id}>
                {p.given_name} {p.family_name}
              </option>
            ))}
        </SelectField>
        <Button type="submit" variant="secondary" pending={assign.pending} disabled={!provider}>
          Add to care team
        </Button>
      </form>
    </div>
  );
}

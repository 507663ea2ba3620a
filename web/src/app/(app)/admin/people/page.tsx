"use client";
import { useMemo, useState } from "react";
import { api, unwrap } from "@/api/client";
import { Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { SelectField, TextField } from "@/components/form";
import { AddPersonForm } from "@/components/people/add-person";
import { PersonPanel } from "@/components/people/person-panel";
import { useLoad } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { buildTree, flatten, loadDepartments } from "@/lib/departments";
import { roleLabel } from "@/lib/format";
import type { components } from "@/api/generated/tenant";

type Person = components["schemas"]["Person"];
type Account = components["schemas"]["Account"];
type PersonKind = components["schemas"]["PersonKind"];

const KIND_LABEL: Record<PersonKind, string> = { provider: "Provider", staff: "Staff", client: "Client" };

export default function PeoplePage() {
  const [kind, setKind] = useState<PersonKind | "">("");
  const [department, setDepartment] = useState("");
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  const people = useLoad(
    () =>
      allPages((after) =>
        unwrap(
          api.GET("/people", {
            params: { query: { limit: 200, after, ...(kind ? { kind } : {}), ...(department ? { department_id: department } : {}) } },
          }),
        ),
      ),
    [kind, department],
  );
  const accounts = useLoad(() => allPages((after) => unwrap(api.GET("/accounts", { params: { query: { limit: 200, after } } }))), []);
  const departments = useLoad(loadDepartments, []);
  const deptOptions = useMemo(() => flatten(buildTree(departments.data ?? [])), [departments.data]);
  const deptName = useMemo(() => new Map((departments.data ?? []).map((d) => [d.id, d.name])), [departments.data]);
  const accountOf = useMemo(() => {
    const m = new Map<string, Account>();
    for (const a of accounts.data ?? []) if (a.person_id) m.set(a.person_id, a);
    return m;
  }, [accounts.data]);

  const person = people.data?.find((p) => p.id === selected) ?? null;
  const q = query.trim().toLowerCase();
  const shown = (people.data ?? []).filter(
    (p) => !q || `${p.given_name} ${p.family_name} ${p.email ?? ""}`.toLowerCase().includes(q),
  );
  const reloadAll = () => {
    people.reload();
    accounts.reload();
  };

  return (
    <>
      <PageHeader
        title="People & roles"
        description="Your directory of providers, staff and clients. Invite people to sign in, choose their roles, and disable access when they leave."
        actions={
          <Button
            onClick={() => {
              setAdding(true);
              setSelected(null);
            }}
          >
            Add person
          </Button>
        }
      />
      <div className={`grid gap-6 ${adding || person ? "xl:grid-cols-[minmax(0,1fr)_26rem]" : ""}`}>
        <Card>
          <div className="mb-4 grid gap-3 sm:grid-cols-3">
            <TextField label="Find" name="query" type="search" value={query} onChange={(e) => setQuery(e.target.value)} hint="Name or email" />
            <SelectField label="Show" name="kind" value={kind} onChange={(e) => setKind(e.target.value as PersonKind | "")}>
              <option value="">Everyone</option>
              <option value="provider">Providers</option>
              <option value="staff">Staff</option>
              <option value="client">Clients</option>
            </SelectField>
            <SelectField label="Department" name="department" value={department} onChange={(e) => setDepartment(e.target.value)}>
              <option value="">All departments</option>
              {deptOptions.map((d) => (
                <option key={d.dept.id} value={d.dept.id}>
                  {"\u2003".repeat(d.depth)}
                  {d.dept.name}
                </option>
              ))}
            </SelectField>
          </div>
          {(people.loading || accounts.loading) && <Loading />}
          {people.error && <LoadError problem={people.error} onRetry={people.reload} />}
          {accounts.error && <LoadError problem={accounts.error} onRetry={accounts.reload} />}
          {people.data && !people.loading &&
            (shown.length === 0 ? (
              <Empty>{people.data.length === 0 ? "No one here yet. Add a person to get started." : "No one matches."}</Empty>
            ) : (
              <div className="-mx-5 overflow-x-auto">
                <table className="min-w-full text-left text-sm">
                  <caption className="sr-only">People ({shown.length})</caption>
                  <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-600">
                    <tr>
                      <th scope="col" className="px-5 py-2 font-semibold">Name</th>
                      <th scope="col" className="px-3 py-2 font-semibold">Kind</th>
                      <th scope="col" className="hidden px-3 py-2 font-semibold md:table-cell">Department</th>
                      <th scope="col" className="px-5 py-2 font-semibold">Sign-in</th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {shown.map((p) => {
                      const a = accountOf.get(p.id);
                      return (
                        <tr key={p.id} className={selected === p.id ? "bg-teal-50/60" : undefined}>
                          <td className="px-5 py-3">
                            <button
                              type="button"
                              className="text-left font-medium text-teal-800 underline-offset-2 hover:underline"
                              aria-current={selected === p.id ? "true" : undefined}
                              onClick={() => {
                                setSelected(p.id);
                                setAdding(false);
                              }}
                            >
                              {p.given_name} {p.family_name}
                            </button>
                            <p className="text-slate-600 [overflow-wrap:anywhere]">{p.email ?? "No email"}</p>
                          </td>
                          <td className="px-3 py-3">{KIND_LABEL[p.kind]}</td>
                          <td className="hidden px-3 py-3 text-slate-700 md:table-cell">{p.department_id ? (deptName.get(p.department_id) ?? "—") : "—"}</td>
                          <td className="px-5 py-3">
                            <span className="whitespace-nowrap">
                              <AccountBadge account={a} inactive={p.status === "inactive"} />
                            </span>
                            {a && a.roles.length > 0 && <p className="mt-1 text-xs text-slate-600">{a.roles.map((r) => roleLabel(r.role)).join(", ")}</p>}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            ))}
        </Card>
        <div>
          {adding && (
            <AddPersonForm
              departments={deptOptions}
              onCancel={() => setAdding(false)}
              onCreated={(p: Person) => {
                setAdding(false);
                setSelected(p.id);
                reloadAll();
              }}
            />
          )}
          {person && !adding && (
            <PersonPanel
              key={`${person.id}-${person.version}`}
              person={person}
              account={accountOf.get(person.id)}
              departments={deptOptions}
              onChanged={reloadAll}
              onClose={() => setSelected(null)}
            />
          )}
        </div>
      </div>
    </>
  );
}

function AccountBadge({ account, inactive }: { account?: Account; inactive: boolean }) {
  if (inactive) return <Badge>Inactive</Badge>;
  if (!account) return <Badge>Not invited</Badge>;
  if (account.status === "active") return <Badge tone="teal">Active</Badge>;
  if (account.status === "invited") return <Badge tone="amber">Invited</Badge>;
  if (account.status === "disabled") return <Badge tone="red">Disabled</Badge>;
  return <Badge>{account.status}</Badge>;
}

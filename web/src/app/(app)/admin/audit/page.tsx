"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { ApiProblem, describe, fieldErrors } from "@/lib/problem";
import { formatDateTime, localInputToIso, localZone } from "@/lib/format";
import type { components } from "@/api/generated/tenant";

type AuditEvent = components["schemas"]["AuditEvent"];
interface Filters {
  action?: string;
  actor_id?: string;
  subject_id?: string;
  from?: string;
  to?: string;
}

export default function AuditPage() {
  const [form, setForm] = useState({ action: "", actor_id: "", subject_id: "", from: "", to: "" });
  const [filters, setFilters] = useState<Filters | null>(null);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<number | undefined>();
  const search = useSubmit(async (f: Filters, before?: number) =>
    unwrap(api.GET("/audit-events", { params: { query: { ...f, limit: 100, ...(before ? { before_seq: before } : {}) } } })),
  );
  const exporter = useSubmit(async (f: Filters) => {
    const r = await api.GET("/audit-events/export", { params: { query: f }, parseAs: "blob" });
    if (!r.response.ok) throw await problemFrom(r.response, r.error);
    const url = URL.createObjectURL(r.data as Blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `audit-${new Date().toISOString().slice(0, 10)}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return true;
  });
  // Names for the "By" column; the log itself stores ids only.
  const accounts = useLoad(() => allPages((after) => unwrap(api.GET("/accounts", { params: { query: { limit: 200, after } } }))), []);
  const emailOf = new Map((accounts.data ?? []).map((a) => [a.id, a.email]));
  const errors = fieldErrors(search.problem ?? exporter.problem);
  const zone = localZone();

  function current(): Filters {
    const f: Filters = {};
    if (form.action.trim()) f.action = form.action.trim();
    if (form.actor_id.trim()) f.actor_id = form.actor_id.trim();
    if (form.subject_id.trim()) f.subject_id = form.subject_id.trim();
    const from = localInputToIso(form.from);
    const to = localInputToIso(form.to);
    if (from) f.from = from;
    if (to) f.to = to;
    return f;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const f = current();
    const page = await search.run(f);
    if (page) {
      setFilters(f);
      setEvents(page.items);
      setNext(page.next_before_seq ?? undefined);
    }
  }

  async function more() {
    if (!filters || !next) return;
    const page = await search.run(filters, next);
    if (page) {
      setEvents((ev) => [...ev, ...page.items]);
      setNext(page.next_before_seq ?? undefined);
    }
  }

  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const problem = search.problem ?? exporter.problem;
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every sign-in, role change and access to a client's records, in a tamper-evident log. Newest first."
      />
      <Card className="mb-6">
        <form onSubmit={submit} noValidate className="space-y-4">
          <FormProblem problem={problem} fields={["action", "actor_id", "subject_id", "from", "to"]} />
          <div className="grid gap-4 md:grid-cols-3">
            <TextField label="Action" name="action" value={form.action} onChange={set("action")} error={errors.action} hint="e.g. person.read, or auth. for all sign-in events" />
            <TextField label="By account (id)" name="actor_id" value={form.actor_id} onChange={set("actor_id")} error={errors.actor_id} spellCheck={false} />
            <TextField label="About client (id)" name="subject_id" value={form.subject_id} onChange={set("subject_id")} error={errors.subject_id} spellCheck={false} />
            <TextField label="From" name="from" type="datetime-local" value={form.from} onChange={set("from")} error={errors.from} hint={`Your time zone: ${zone}`} />
            <TextField label="Until" name="to" type="datetime-local" value={form.to} onChange={set("to")} error={errors.to} hint={`Your time zone: ${zone}`} />
          </div>
          <div className="flex flex-wrap gap-2">
            <Button type="submit" pending={search.pending && !filters}>
              Search
            </Button>
            <Button type="button" variant="secondary" pending={exporter.pending} onClick={() => void exporter.run(current())}>
              Export CSV
            </Button>
          </div>
        </form>
      </Card>
      {!filters && !search.pending && <Empty>Search with no filters to see the latest entries.</Empty>}
      {filters && (
        <Card title={`Entries (${events.length}${next ? "+" : ""})`}>
          {events.length === 0 ? (
            <Empty>No entries match.</Empty>
          ) : (
            <div className="-mx-5 overflow-x-auto">
              <table className="min-w-full text-left text-sm">
                <caption className="sr-only">Audit entries, newest first</caption>
                <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-600">
                  <tr>
                    <th scope="col" className="px-5 py-2 font-semibold">When</th>
                    <th scope="col" className="px-3 py-2 font-semibold">Action</th>
                    <th scope="col" className="px-3 py-2 font-semibold">Outcome</th>
                    <th scope="col" className="px-3 py-2 font-semibold">By</th>
                    <th scope="col" className="px-5 py-2 font-semibold">Resource</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {events.map((e) => (
                    <tr key={e.seq}>
                      <td className="whitespace-nowrap px-5 py-2 text-slate-700">{formatDateTime(e.occurred_at)}</td>
                      <td className="px-3 py-2 font-mono text-xs text-slate-900">{e.action}</td>
                      <td className="px-3 py-2">
                        <Badge tone={e.outcome === "success" ? "teal" : e.outcome === "failure" || e.outcome === "denied" ? "red" : "slate"}>{e.outcome}</Badge>
                      </td>
                      <td className="px-3 py-2 text-slate-700">
                        {e.actor_id && emailOf.get(e.actor_id) ? (
                          <span className="break-all">{emailOf.get(e.actor_id)}</span>
                        ) : (
                          <>
                            {e.actor_type}
                            {e.actor_id && (
                              <span className="block font-mono text-xs text-slate-600" title={e.actor_id}>
                                {e.actor_id.slice(0, 8)}…
                              </span>
                            )}
                          </>
                        )}
                      </td>
                      <td className="px-5 py-2 text-slate-700">
                        {e.resource_type ?? "—"}
                        {e.subjects.length > 0 && <span className="block text-xs text-slate-600">{e.subjects.length} client record(s)</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {search.problem && filters && <Alert>{describe(search.problem)}</Alert>}
          {next && (
            <div className="mt-4">
              <Button variant="secondary" pending={search.pending} onClick={more}>
                Load older entries
              </Button>
            </div>
          )}
        </Card>
      )}
      {search.pending && !filters && <Loading label="Searching…" />}
    </>
  );
}

async function problemFrom(res: Response, body: unknown): Promise<ApiProblem> {
  const { toProblem } = await import("@/lib/problem");
  let parsed = body;
  if (body instanceof Blob) {
    try {
      parsed = JSON.parse(await body.text());
    } catch {
      parsed = undefined;
    }
  }
  return toProblem(parsed, res.status, res.headers.get("Retry-After"));
}

"use client";
import { useEffect, useState } from "react";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading } from "@/components/ui";
import { useLoad, useSubmit } from "@/lib/hooks";
import { ApiProblem, describe, toProblem } from "@/lib/problem";
import { dateTimeIn } from "@/lib/scheduling";

type Batch = components["schemas"]["BulkBatchProgress"];

async function reportText(batchId: string): Promise<string> {
  let r;
  try {
    r = await api.GET("/bulk-batches/{batch_id}/report", { params: { path: { batch_id: batchId } }, parseAs: "text" });
  } catch {
    throw toProblem(undefined, 0);
  }
  if (!r.response.ok) {
    let body: unknown;
    try {
      body = JSON.parse(await r.response.clone().text());
    } catch {
      /* not JSON */
    }
    throw toProblem(body, r.response.status, r.response.headers.get("Retry-After"));
  }
  return r.data as string;
}

function save(batchId: string, csv: string) {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `bulk-report-${batchId}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Past batches, newest first (an institution admin sees every batch, a sub-admin their own),
 * with each one's counts and its report. While a batch is running the list refreshes itself.
 */
export function BatchHistory({ zone, pollMs = 3000, refreshKey }: { zone: string; pollMs?: number; refreshKey?: unknown }) {
  const [pages, setPages] = useState<string[]>([""]);
  const list = useLoad(async () => {
    const out: Batch[] = [];
    let next: string | undefined;
    for (const after of pages) {
      const p = await unwrap(api.GET("/bulk-batches", { params: { query: { limit: 20, after: after || undefined } } }));
      out.push(...p.items);
      next = p.page.next_after ?? undefined;
    }
    return { items: out, next };
  }, [pages, refreshKey]);
  const running = list.data?.items.some((b) => b.status === "running") ?? false;
  const { reload } = list;
  useEffect(() => {
    if (!running) return;
    const t = setTimeout(reload, pollMs);
    return () => clearTimeout(t);
  }, [running, reload, pollMs, list.data]);
  const download = useSubmit(async (id: string) => save(id, await reportText(id)));
  return (
    <Card
      title="Past batches"
      actions={
        <Button variant="secondary" onClick={list.reload} pending={list.loading && !!list.data}>
          Refresh
        </Button>
      }
    >
      {list.loading && !list.data && <Loading label="Loading batches…" />}
      {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
      {download.problem && <Alert title="The report could not be downloaded">{describe(download.problem as ApiProblem)}</Alert>}
      {list.data &&
        (list.data.items.length === 0 ? (
          <Empty>No batches yet.</Empty>
        ) : (
          <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Past batches table">
            <table className="min-w-full text-left text-sm">
              <caption className="sr-only">Past batches, newest first; times in {zone}</caption>
              <thead className="border-b border-slate-300 text-slate-700">
                <tr>
                  <th scope="col" className="px-2 py-1 font-medium">Submitted</th>
                  <th scope="col" className="px-2 py-1 font-medium">Status</th>
                  <th scope="col" className="px-2 py-1 text-right font-medium">Rows</th>
                  <th scope="col" className="px-2 py-1 text-right font-medium">Booked</th>
                  <th scope="col" className="px-2 py-1 text-right font-medium">Not booked</th>
                  <th scope="col" className="px-2 py-1 font-medium">
                    <span className="sr-only">Report</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((b) => (
                  <tr key={b.batch_id} className="border-b border-slate-100">
                    <td className="px-2 py-2">
                      <span className="block">{dateTimeIn(b.created_at, zone)}</span>
                      <code className="text-xs text-slate-600">{b.batch_id}</code>
                    </td>
                    <td className="px-2 py-2">
                      {b.status === "completed" ? <Badge tone="teal">Completed</Badge> : <Badge tone="amber">{`Running, ${b.percent} %`}</Badge>}
                    </td>
                    <td className="px-2 py-2 text-right tabular-nums">{b.total}</td>
                    <td className="px-2 py-2 text-right tabular-nums">{b.booked}</td>
                    <td className="px-2 py-2 text-right tabular-nums">{b.failed}</td>
                    <td className="px-2 py-2 text-right">
                      <Button
                        variant="ghost"
                        pending={download.pending}
                        aria-label={`Report (CSV) of the batch submitted ${dateTimeIn(b.created_at, zone)}`}
                        onClick={() => void download.run(b.batch_id)}
                      >
                        Report (CSV)
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {list.data?.next && (
        <Button className="mt-3" variant="secondary" onClick={() => setPages([...pages, list.data!.next!])}>
          Show older batches
        </Button>
      )}
    </Card>
  );
}

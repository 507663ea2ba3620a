"use client";
import { useEffect, useId, useMemo, useState, type ChangeEvent, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Alert, Badge, Button, Card, LoadError } from "@/components/ui";
import { FormProblem } from "@/components/form";
import { parseCsv } from "@/lib/csv";
import { ApiProblem, fieldErrors, toProblem } from "@/lib/problem";
import { useSubmit } from "@/lib/hooks";

type Batch = components["schemas"]["BulkBatchProgress"];
type BatchInput = components["schemas"]["BulkBatchInput"];

function readText(f: File): Promise<string> {
  if (typeof f.text === "function") return f.text();
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result ?? ""));
    r.onerror = () => reject(r.error);
    r.readAsText(f);
  });
}

function newBatchId(): string {
  return crypto.randomUUID();
}

/**
 * Choose or paste a CSV, preview it, submit it once. The batch id is made when the content
 * changes and kept across retries of the same content, so a resubmission after a lost answer
 * is the same batch (the server answers `replayed`) instead of a second one.
 */
export function BulkUpload({ pollMs = 1000, onProgress }: { pollMs?: number; onProgress?: (status: Batch["status"]) => void }) {
  const id = useId();
  const [text, setText] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [batchId, setBatchId] = useState(newBatchId);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const rows = useMemo(() => parseCsv(text), [text]);
  const header = rows[0] ?? [];
  const data = rows.slice(1);

  const { run, pending, problem, setProblem } = useSubmit(async () => {
    const r = await unwrap(
      api.POST("/bulk-batches", {
        params: { query: { batch_id: batchId } },
        body: text as unknown as BatchInput,
        bodySerializer: (b: unknown) => b as string,
        headers: { "Content-Type": "text/csv" },
      }),
    );
    return r;
  });
  const errors = fieldErrors(problem);
  const csvError = localError ?? errors.csv;

  function changed(next: string, name: string | null) {
    setText(next);
    setFileName(name);
    setLocalError(null);
    setProblem(null);
    setBatchId(newBatchId());
  }

  async function chooseFile(e: ChangeEvent<HTMLInputElement>) {
    const f = e.target.files?.[0];
    if (!f) return;
    changed(await readText(f), f.name);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (data.length === 0) {
      setLocalError("Choose a CSV file (or paste one) with a header row and at least one row.");
      return;
    }
    const accepted = await run();
    if (accepted) setSubmitted(accepted.batch_id);
  }

  if (submitted) {
    return (
      <BatchProgress
        batchId={submitted}
        source={rows}
        pollMs={pollMs}
        onProgress={onProgress}
        onAnother={() => {
          setSubmitted(null);
          changed("", null);
        }}
      />
    );
  }

  const fileId = `${id}-csv`;
  const pasteId = `${id}-paste`;
  return (
    <form onSubmit={submit} noValidate className="max-w-4xl space-y-6">
      <FormProblem problem={problem} fields={["csv"]} />
      <Card title="1. The file">
        <div className="space-y-4">
          <div>
            <label htmlFor={fileId} className="block text-sm font-medium text-slate-800">
              CSV file
            </label>
            <input
              id={fileId}
              name="csv"
              type="file"
              accept=".csv,text/csv"
              onChange={chooseFile}
              aria-invalid={csvError ? true : undefined}
              aria-describedby={`${fileId}-hint${csvError ? ` ${fileId}-error` : ""}`}
              className="mt-1 block w-full text-sm text-slate-800 file:mr-3 file:rounded-md file:border-0 file:bg-teal-700 file:px-3 file:py-2 file:text-white"
            />
            <p id={`${fileId}-hint`} className="mt-1 text-sm text-slate-600">
              A header row naming the columns: <code>client_id</code> or <code>client_email</code>; <code>provider_id</code> or{" "}
              <code>department_id</code>; <code>type_id</code> or <code>type</code>; <code>window_from</code>,{" "}
              <code>window_until</code>; optionally <code>preferred_times</code>. At most 10,000 rows.
            </p>
            {csvError && (
              <p id={`${fileId}-error`} className="mt-1 text-sm font-medium text-red-700" role="alert">
                <span aria-hidden="true">⚠ </span>
                {csvError}
              </p>
            )}
          </div>
          <div>
            <label htmlFor={pasteId} className="block text-sm font-medium text-slate-800">
              Or paste the CSV
            </label>
            <textarea
              id={pasteId}
              name="paste"
              rows={5}
              value={fileName ? "" : text}
              placeholder={fileName ? `Using ${fileName}` : "client_email,provider_id,type,window_from,window_until"}
              onChange={(e) => changed(e.target.value, null)}
              className="mt-1 block w-full rounded-md border border-slate-400 bg-white px-3 py-2 font-mono text-sm text-slate-900 shadow-sm"
            />
          </div>
        </div>
      </Card>
      {data.length > 0 && (
        <Card title="2. Check the rows">
          <p className="text-sm text-slate-700" aria-live="polite">
            <strong>{data.length.toLocaleString()}</strong> {data.length === 1 ? "row" : "rows"}
            {fileName ? ` in ${fileName}` : ""}
            {data.length > 5 ? "; the first 5:" : ":"}
          </p>
          <div className="mt-3 overflow-x-auto" tabIndex={0} role="region" aria-label="Preview of the first rows">
            <table className="min-w-full text-left text-sm">
              <caption className="sr-only">Preview of the first rows</caption>
              <thead className="border-b border-slate-300 text-slate-700">
                <tr>
                  <th scope="col" className="px-2 py-1 font-medium">Line</th>
                  {header.map((h, i) => (
                    <th key={i} scope="col" className="px-2 py-1 font-medium">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.slice(0, 5).map((r, n) => (
                  <tr key={n} className="border-b border-slate-100">
                    <td className="px-2 py-1 text-slate-600">{n + 2}</td>
                    {header.map((_, i) => (
                      <td key={i} className="max-w-[16rem] truncate px-2 py-1">
                        {r[i] ?? ""}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      <div className="flex items-center gap-4">
        <Button type="submit" pending={pending}>
          {problem && problem.status !== 422 ? "Try again" : "Schedule these appointments"}
        </Button>
        <p className="text-xs text-slate-600">
          Batch <code>{batchId}</code>: sending the same file again is not booked twice.
        </p>
      </div>
    </form>
  );
}

interface ReportRow {
  line: string;
  status: string;
  client_id: string;
  provider_id: string;
  reason: string;
}

async function problemOf(res: Response): Promise<ApiProblem> {
  let body: unknown = undefined;
  try {
    body = JSON.parse(await res.clone().text());
  } catch {
    /* not JSON */
  }
  return toProblem(body, res.status, res.headers.get("Retry-After"));
}

/** Polls the batch until it completes, then offers the report and lists the failed rows. */
export function BatchProgress({
  batchId,
  pollMs,
  onAnother,
  onProgress,
  source = [],
}: {
  /** Told when the batch is first seen and when it completes (e.g. to refresh a list of batches). */
  onProgress?: (status: Batch["status"]) => void;
  batchId: string;
  pollMs: number;
  onAnother: () => void;
  /** The submitted CSV's records (header first), to show the client as the file named them. */
  source?: string[][];
}) {
  const [batch, setBatch] = useState<Batch | null>(null);
  const [error, setError] = useState<ApiProblem | null>(null);
  const [tick, setTick] = useState(0);
  const [report, setReport] = useState<string | null>(null);
  const [reportError, setReportError] = useState<ApiProblem | null>(null);
  const done = batch?.status === "completed";
  const status = batch?.status;
  useEffect(() => {
    if (status) onProgress?.(status);
  }, [status, onProgress]);

  useEffect(() => {
    if (done) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const b = await unwrap(api.GET("/bulk-batches/{batch_id}", { params: { path: { batch_id: batchId } } }));
        if (!live) return;
        setBatch(b);
        setError(null);
        if (b.status !== "completed") timer = setTimeout(poll, pollMs);
      } catch (e) {
        if (live) setError(e instanceof ApiProblem ? e : null);
      }
    };
    void poll();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [batchId, pollMs, done, tick]);

  useEffect(() => {
    if (!done) return;
    let live = true;
    (async () => {
      const r = await api.GET("/bulk-batches/{batch_id}/report", { params: { path: { batch_id: batchId } }, parseAs: "text" });
      if (!live) return;
      if (!r.response.ok) setReportError(await problemOf(r.response));
      else setReport(r.data as string);
    })().catch(() => live && setReportError(toProblem(undefined, 0)));
    return () => {
      live = false;
    };
  }, [done, batchId]);

  const failed: ReportRow[] = useMemo(() => {
    if (!report) return [];
    const [head, ...rest] = parseCsv(report);
    const col = (name: string) => (head ?? []).indexOf(name);
    return rest
      .map((r) => ({
        line: r[col("line")] ?? "",
        status: r[col("status")] ?? "",
        client_id: r[col("client_id")] ?? "",
        provider_id: r[col("provider_id")] ?? "",
        reason: r[col("reason")] ?? "",
      }))
      .filter((r) => r.status === "failed")
      .map((r) => {
        // Report lines count the header (line 2 is the first row); the file's own words for the
        // client are clearer than an id, and the only thing there is for an unknown client.
        const head0 = source[0] ?? [];
        const row = source[Number(r.line) - 1];
        const named = (col: string) => (row && head0.indexOf(col) >= 0 ? (row[head0.indexOf(col)] ?? "") : "");
        return { ...r, client_id: named("client_email") || named("client_id") || r.client_id };
      });
  }, [report, source]);

  function download() {
    if (!report) return;
    const url = URL.createObjectURL(new Blob([report], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `bulk-report-${batchId}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const percent = batch?.percent ?? 0;
  return (
    <div className="max-w-4xl space-y-6">
      <Card title={done ? "Batch completed" : "Scheduling…"}>
        {error && <LoadError problem={error} onRetry={() => setTick((t) => t + 1)} />}
        <div className="space-y-3">
          <div className="flex items-baseline justify-between text-sm">
            <span id={`${batchId}-label`} className="font-medium text-slate-800">
              Progress
            </span>
            <span className="tabular-nums text-slate-700">{percent}%</span>
          </div>
          <div
            role="progressbar"
            aria-labelledby={`${batchId}-label`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            aria-valuetext={batch ? `${percent}%: ${batch.booked} booked, ${batch.failed} failed, ${batch.pending} pending` : "Starting"}
            className="h-4 w-full overflow-hidden rounded-full bg-slate-200"
          >
            <div className={`h-full bg-teal-700 transition-all motion-reduce:transition-none ${barWidth(percent)}`} />
          </div>
          {batch && (
            <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-5" aria-live="polite">
              <Stat label="Rows" value={batch.total} />
              <Stat label="Booked" value={batch.booked} />
              <Stat label="Failed" value={batch.failed} />
              <Stat label="Pending" value={batch.pending} />
              <div>
                <dt className="text-slate-600">Status</dt>
                <dd className="mt-1">
                  <Badge tone={done ? "teal" : "sky"}>{done ? "Completed" : "Running"}</Badge>
                </dd>
              </div>
            </dl>
          )}
          <p className="text-xs text-slate-600">
            Batch <code>{batchId}</code>
          </p>
        </div>
      </Card>
      {done && (
        <Card
          title="Report"
          actions={
            <Button onClick={download} disabled={!report}>
              Download report (CSV)
            </Button>
          }
        >
          {reportError && <Alert tone="error">The report could not be loaded: {reportError.message}</Alert>}
          {!report && !reportError && <p className="text-sm text-slate-600">Loading the report…</p>}
          {report && failed.length === 0 && <Alert tone="success">Every row was booked.</Alert>}
          {failed.length > 0 && (
            <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Rows not booked">
              <table className="min-w-full text-left text-sm">
                <caption className="mb-2 text-left font-medium text-slate-800">
                  {failed.length} {failed.length === 1 ? "row was" : "rows were"} not booked
                </caption>
                <thead className="border-b border-slate-300 text-slate-700">
                  <tr>
                    <th scope="col" className="px-2 py-1 font-medium">Line</th>
                    <th scope="col" className="px-2 py-1 font-medium">Client</th>
                    <th scope="col" className="px-2 py-1 font-medium">Provider</th>
                    <th scope="col" className="px-2 py-1 font-medium">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {failed.map((r) => (
                    <tr key={r.line} className="border-b border-slate-100">
                      <td className="px-2 py-1">{r.line}</td>
                      <td className="px-2 py-1 font-mono text-xs">{r.client_id || "—"}</td>
                      <td className="px-2 py-1 font-mono text-xs">{r.provider_id || "—"}</td>
                      <td className="px-2 py-1">{r.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      )}
      {done && (
        <Button variant="secondary" onClick={onAnother}>
          Upload another file
        </Button>
      )}
    </div>
  );
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div>
      <dt className="text-slate-600">{label}</dt>
      <dd className="mt-1 text-lg font-semibold tabular-nums text-slate-900">{value.toLocaleString()}</dd>
    </div>
  );
}

// No inline styles (the CSP forbids them): the width is one of 21 classes, in 5 % steps.
const WIDTHS = [
  "w-0", "w-[5%]", "w-[10%]", "w-[15%]", "w-[20%]", "w-[25%]", "w-[30%]", "w-[35%]", "w-[40%]", "w-[45%]", "w-[50%]",
  "w-[55%]", "w-[60%]", "w-[65%]", "w-[70%]", "w-[75%]", "w-[80%]", "w-[85%]", "w-[90%]", "w-[95%]", "w-full",
];
function barWidth(percent: number): string {
  // Any progress shows a sliver; only 100 % fills the bar.
  const step = Math.round(percent / 5);
  return WIDTHS[percent <= 0 ? 0 : percent >= 100 ? 20 : Math.max(1, Math.min(19, step))]!;
}

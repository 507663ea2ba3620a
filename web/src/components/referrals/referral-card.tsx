"use client";
import { useState, type ReactNode } from "react";
import { api, unwrap } from "@/api/client";
import { Badge, Button, LoadError, Loading } from "@/components/ui";
import { useLoad } from "@/lib/hooks";
import { SOURCE_LABELS, STATUS_LABELS, statusTone, type Referral } from "@/lib/referrals";
import { dateTimeIn } from "@/lib/scheduling";

/** One referral: who, how urgent, where it stands, the reason where the reader may see it. */
export function ReferralCard({ r, zone, children }: { r: Referral; zone: string; children?: ReactNode }) {
  const who = r.client_name ?? "Client";
  const [open, setOpen] = useState(false);
  return (
    <article aria-label={`Referral for ${who}`} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
        <div className="text-sm">
          <p className="text-base font-semibold text-slate-900">{who}</p>
          <p className="text-slate-700">
            {SOURCE_LABELS[r.source]}
            {r.referrer_name ? ` · referred by ${r.referrer_name}` : ""}
          </p>
          <p className="text-xs text-slate-600">Made {dateTimeIn(r.created_at, zone)}</p>
          {r.assigned_provider_name && <p className="text-slate-700">Assigned to {r.assigned_provider_name}</p>}
        </div>
        <div className="flex gap-2">
          {r.urgency === "urgent" && <Badge tone="red">Urgent</Badge>}
          <Badge tone={statusTone(r.status)}>{STATUS_LABELS[r.status]}</Badge>
        </div>
      </div>
      {r.reason && <p className="mt-2 whitespace-pre-line text-sm text-slate-800">{r.reason}</p>}
      {r.status_reason && (
        <p className="mt-2 text-sm text-slate-700">
          <span className="font-medium">{r.status === "withdrawn" ? "Withdrawn" : "Declined"}:</span> {r.status_reason}
        </p>
      )}
      {children}
      <div className="mt-3">
        <Button type="button" variant="ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? "Hide history" : "Show history"}
        </Button>
        {open && <History id={r.id} zone={zone} />}
      </div>
    </article>
  );
}

function History({ id, zone }: { id: string; zone: string }) {
  const h = useLoad(async () => (await unwrap(api.GET("/referrals/{referral_id}", { params: { path: { referral_id: id } } }))).history ?? [], [id]);
  if (h.loading && !h.data) return <Loading label="Loading history…" />;
  if (h.error) return <LoadError problem={h.error} onRetry={h.reload} />;
  return (
    <ol aria-label="History" className="mt-2 space-y-1 border-l-2 border-slate-200 pl-3 text-sm text-slate-700">
      {(h.data ?? []).map((e) => (
        <li key={e.id}>
          <span className="font-medium">{dateTimeIn(e.at, zone)}</span>: {e.from_status ? `${STATUS_LABELS[e.from_status]} → ${STATUS_LABELS[e.to_status]}` : `Made (${STATUS_LABELS[e.to_status]})`}
          {e.provider_name ? ` (${e.provider_name})` : ""}
          {e.actor_name ? ` by ${e.actor_name}` : ""}
          {e.reason ? ` — “${e.reason}”` : ""}
        </li>
      ))}
    </ol>
  );
}

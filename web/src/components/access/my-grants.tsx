"use client";
import { useEffect, useState } from "react";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading } from "@/components/ui";
import { REASON_CODES } from "@/components/access/break-glass-form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe } from "@/lib/problem";
import { dateTimeIn } from "@/lib/scheduling";

type Listed = components["schemas"]["ListedBreakGlassGrant"];

/** "1 h 05 min left", "4 min left", "less than a minute left". */
export function timeLeft(expiresAt: string, now: number): string {
  const minutes = Math.floor((new Date(expiresAt).getTime() - now) / 60_000);
  if (minutes < 1) return "less than a minute left";
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min left` : `${m} min left`;
}

function reasonLabel(code: string): string {
  return REASON_CODES.find((r) => r.value === code)?.label ?? code;
}

/**
 * The caller's own break-glass grants (`GET /break-glass`): open ones first with their expiry
 * (in `zone`, named) and the time left, each with "End access" (`DELETE /break-glass/{id}`);
 * then the ones that ended. `refresh` changes when a grant is opened or ended elsewhere on the page.
 */
export function MyGrants({ zone, refresh, onEnded }: { zone: string; refresh: number; onEnded?: () => void }) {
  const list = useLoad(() => unwrap(api.GET("/break-glass", { params: { query: { limit: 20 } } })), [refresh]);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);
  const [endedMessage, setEndedMessage] = useState<string | null>(null);
  const end = useSubmit(async (g: Listed) => {
    await unwrap(api.DELETE("/break-glass/{grant_id}", { params: { path: { grant_id: g.id } } }));
    return g;
  });
  const items = list.data?.items ?? [];
  // A grant that ran out since the list was read is shown as expired without waiting for a reload.
  const isOpen = (g: Listed) => g.state === "open" && new Date(g.expires_at).getTime() > now;
  const open = items.filter(isOpen);
  const ended = items.filter((g) => !isOpen(g));
  const who = (g: Listed) => (g.client_given_name ? `${g.client_given_name} ${g.client_family_name ?? ""}`.trim() : `Client ${g.client_id.slice(0, 8)}…`);
  return (
    <Card title="Access you opened">
      {endedMessage && (
        <div className="mb-4">
          <Alert tone="success">{endedMessage}</Alert>
        </div>
      )}
      {end.problem && (
        <div className="mb-4">
          <Alert title="Access could not be ended">{describe(end.problem)}</Alert>
        </div>
      )}
      {list.loading && !list.data && <Loading label="Loading your grants…" />}
      {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
      {list.data && items.length === 0 && <Empty>You have not opened emergency access recently.</Empty>}
      {list.data && open.length > 0 && (
        <>
          <h3 className="text-sm font-semibold text-slate-800">Open now</h3>
          <ul className="mb-4 divide-y divide-slate-100" aria-label="Open emergency access">
            {open.map((g) => (
              <li key={g.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
                <span>
                  <span className="font-medium text-slate-900">{who(g)}</span> · {reasonLabel(g.reason_code)}
                  <span className="block text-slate-600">
                    Until {dateTimeIn(g.expires_at, zone)} ({timeLeft(g.expires_at, now)})
                  </span>
                </span>
                <Button
                  type="button"
                  variant="danger"
                  pending={end.pending}
                  aria-label={`End access to ${who(g)}'s records`}
                  onClick={async () => {
                    setEndedMessage(null);
                    const done = await end.run(g);
                    if (done) {
                      setEndedMessage(`Access to ${who(done)}'s records ended.`);
                      list.reload();
                      onEnded?.();
                    }
                  }}
                >
                  End access
                </Button>
              </li>
            ))}
          </ul>
        </>
      )}
      {list.data && ended.length > 0 && (
        <>
          <h3 className="text-sm font-semibold text-slate-800">Ended</h3>
          <ul className="divide-y divide-slate-100" aria-label="Ended emergency access">
            {ended.map((g) => (
              <li key={g.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
                <span>
                  <span className="font-medium text-slate-900">{who(g)}</span> · {reasonLabel(g.reason_code)}
                  <span className="block text-slate-600">
                    Opened {dateTimeIn(g.starts_at, zone)};{" "}
                    {g.state === "closed" && g.closed_at ? `ended early ${dateTimeIn(g.closed_at, zone)}` : `expired ${dateTimeIn(g.expires_at, zone)}`}
                  </span>
                </span>
                <Badge>{g.state === "closed" ? "Ended early" : "Expired"}</Badge>
              </li>
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

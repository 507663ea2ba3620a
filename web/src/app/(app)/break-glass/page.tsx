"use client";
import { useMemo, useState } from "react";
import { api, unwrap } from "@/api/client";
import { LoadError, Loading, PageHeader } from "@/components/ui";
import { BreakGlassForm } from "@/components/access/break-glass-form";
import { MyGrants } from "@/components/access/my-grants";
import { localZone } from "@/lib/format";
import { useLoad } from "@/lib/hooks";

/** Providers, staff and administrators: time-boxed emergency access to one client's records. */
export default function BreakGlassPage() {
  const zone = useMemo(() => localZone(), []);
  // Bumped when the form opens or ends a grant, so the list below reads it again.
  const [changes, setChanges] = useState(0);
  // The clients on the calendars the caller can see, from the last 30 days on.
  const clients = useLoad(async () => {
    const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const page = await unwrap(api.GET("/appointments", { params: { query: { from, status: [], limit: 200 } } }));
    const byId = new Map(page.items.filter((a) => a.client_name).map((a) => [a.client_id, a.client_name!]));
    return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
  }, []);
  return (
    <>
      <PageHeader
        title="Emergency access"
        description="Break the glass: open one client's records for a short time when you need them and cannot otherwise see them. Use it only when it is justified; it is reviewed."
      />
      {clients.loading && <Loading />}
      {clients.error && <LoadError problem={clients.error} onRetry={clients.reload} />}
      {clients.data && <BreakGlassForm clients={clients.data} zone={zone} onChanged={() => setChanges((n) => n + 1)} />}
      {/* Loads on its own: open grants can be ended even if the client list fails. */}
      <div className="mt-6 max-w-3xl">
        <MyGrants zone={zone} refresh={changes} />
      </div>
    </>
  );
}

"use client";
import { useMemo, useState } from "react";
import { api, unwrap } from "@/api/client";
import { Alert, Button, LoadError, Loading, PageHeader } from "@/components/ui";
import { MyReferrals } from "@/components/referrals/my-referrals";
import { NewReferralForm } from "@/components/referrals/new-referral";
import { OwnReferrals } from "@/components/referrals/own-referrals";
import { ReferMyselfForm } from "@/components/referrals/refer-myself";
import { TriageQueue } from "@/components/referrals/triage-queue";
import { useSession } from "@/components/shell/session-context";
import { localZone } from "@/lib/format";
import { useLoad } from "@/lib/hooks";
import { allPages } from "@/lib/paging";

/**
 * Referrals, by role: triage staff (institution admins, front desk, sub-admins) get the triage
 * queue and "New referral"; providers "My referrals" (assigned to them: accept, decline);
 * clients the status of their own.
 */
export default function ReferralsPage() {
  const { roles, me } = useSession();
  const zone = useMemo(() => localZone(), []);
  const triage = roles.has("institution_admin") || roles.has("staff") || roles.has("sub_admin");
  const provider = roles.has("provider") && me.person_id;
  const client = roles.has("client") && !triage && !provider;
  const when = `Times in ${zone.replace(/_/g, " ")}.`;
  return (
    <>
      <PageHeader title={triage ? "Referrals" : provider ? "My referrals" : "Your referrals"} description={triage ? `The triage queue: new and declined referrals, urgent first, then oldest. ${when}` : when} />
      <div className="space-y-8">
        {triage && <Triage zone={zone} />}
        {provider && (
          <section aria-label="My referrals" className="space-y-3">
            {triage && <h2 className="text-xl font-semibold text-slate-900">My referrals</h2>}
            <MyReferrals providerId={me.person_id!} zone={zone} />
          </section>
        )}
        {client && <ClientReferrals zone={zone} />}
        {!triage && !provider && !client && (
          <Alert tone="warning" title="Not available to you">
            Referrals are for staff, providers and clients.
          </Alert>
        )}
      </div>
    </>
  );
}

/** A client's referrals, and "Refer myself" (the list reloads after a referral is sent). */
function ClientReferrals({ zone }: { zone: string }) {
  const [adding, setAdding] = useState(false);
  const [sent, setSent] = useState(0);
  return (
    <section className="space-y-4">
      {sent > 0 && !adding && (
        <Alert tone="success" title="Referral sent">
          The care team will review it and assign someone; its status is shown below.
        </Alert>
      )}
      {adding ? (
        <ReferMyselfForm
          onCreated={() => {
            setAdding(false);
            setSent((n) => n + 1);
          }}
          onCancel={() => setAdding(false)}
        />
      ) : (
        <Button type="button" onClick={() => setAdding(true)}>
          Refer myself
        </Button>
      )}
      <OwnReferrals key={sent} zone={zone} />
    </section>
  );
}

function Triage({ zone }: { zone: string }) {
  const [adding, setAdding] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [made, setMade] = useState<string | null>(null);
  const setup = useLoad(async () => {
    const people = (kind: "provider" | "client") =>
      allPages((after) => unwrap(api.GET("/people", { params: { query: { kind, limit: 200, after } } })));
    const [providers, clients, departments, types] = await Promise.all([
      people("provider"),
      people("client"),
      allPages((after) => unwrap(api.GET("/departments", { params: { query: { limit: 200, after } } }))),
      unwrap(api.GET("/appointment-types")),
    ]);
    const named = (p: { id: string; given_name: string; family_name: string; status: string }[]) =>
      p
        .filter((x) => x.status === "active")
        .map((x) => ({ id: x.id, name: `${x.given_name} ${x.family_name}` }))
        .sort((a, b) => a.name.localeCompare(b.name));
    return {
      providers: named(providers),
      clients: named(clients),
      departments: departments.map((d) => ({ id: d.id, name: d.name })).sort((a, b) => a.name.localeCompare(b.name)),
      types: types.filter((t) => t.active).map((t) => ({ id: t.id, name: t.name })),
    };
  }, []);
  if (setup.loading && !setup.data) return <Loading />;
  if (setup.error) return <LoadError problem={setup.error} onRetry={setup.reload} />;
  const s = setup.data!;
  return (
    <section aria-label="Triage" className="space-y-4">
      {made && <Alert tone="success">{made}</Alert>}
      {adding ? (
        <NewReferralForm
          {...s}
          onCancel={() => setAdding(false)}
          onCreated={(r) => {
            setAdding(false);
            setMade(`Referral made for ${r.client_name ?? "the client"}${r.assigned_provider_name ? `, assigned to ${r.assigned_provider_name}` : ", in the triage queue"}.`);
            setRefresh((n) => n + 1);
          }}
        />
      ) : (
        <Button type="button" onClick={() => setAdding(true)}>
          New referral
        </Button>
      )}
      <TriageQueue zone={zone} providers={s.providers} refresh={refresh} />
    </section>
  );
}

"use client";
import { Suspense, useMemo } from "react";
import { useSearchParams } from "next/navigation";
import { api, unwrap } from "@/api/client";
import { LoadError, Loading, PageHeader } from "@/components/ui";
import { SeriesForm } from "@/components/scheduling/series-form";
import { SeriesView } from "@/components/scheduling/series-view";
import { useSession } from "@/components/shell/session-context";
import { localZone } from "@/lib/format";
import { useLoad } from "@/lib/hooks";
import { allPages } from "@/lib/paging";

/** Recurring series: book one (`/series/`), or see and change one (`/series/?id=<id>`). */
export default function SeriesPage() {
  return (
    <Suspense fallback={<Loading />}>
      <SeriesWithParams />
    </Suspense>
  );
}

function SeriesWithParams() {
  const id = useSearchParams().get("id");
  const zone = useMemo(() => localZone(), []);
  return id ? (
    <>
      <PageHeader title="Recurring series" description={`Times in ${zone.replace(/_/g, " ")} unless a zone is named.`} />
      <SeriesView key={id} seriesId={id} zone={zone} />
    </>
  ) : (
    <NewSeries zone={zone} />
  );
}

function NewSeries({ zone }: { zone: string }) {
  const { roles, me } = useSession();
  const setup = useLoad(async () => {
    const people = (kind: "provider" | "client") =>
      allPages((after) => unwrap(api.GET("/people", { params: { query: { kind, limit: 200, after } } })));
    const [types, providers, clients] = await Promise.all([unwrap(api.GET("/appointment-types")), people("provider"), people("client")]);
    const named = (p: { id: string; given_name: string; family_name: string; status: string }[]) =>
      p.filter((x) => x.status === "active").map((x) => ({ id: x.id, name: `${x.given_name} ${x.family_name}` }));
    return { types: types.filter((t) => t.active), providers: named(providers), clients: named(clients) };
  }, []);
  return (
    <>
      <PageHeader title="Book a recurring series" description="The same time every week, or every few weeks, for a number of appointments." />
      {setup.loading && <Loading />}
      {setup.error && <LoadError problem={setup.error} onRetry={setup.reload} />}
      {setup.data && (
        <SeriesForm {...setup.data} zone={zone} initialProvider={roles.has("provider") ? (me.person_id ?? undefined) : undefined} />
      )}
    </>
  );
}

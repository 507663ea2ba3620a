"use client";
import { api, unwrap } from "@/api/client";
import { Badge, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { useLoad } from "@/lib/hooks";
import { allPages } from "@/lib/paging";

/** Providers and staff see their colleagues (read-only); the API decides who is visible. */
export default function DirectoryPage() {
  const people = useLoad(() => allPages((after) => unwrap(api.GET("/people", { params: { query: { limit: 200, after } } }))), []);
  return (
    <>
      <PageHeader title="Colleagues" description="The providers and staff in your organisation." />
      <Card>
        {people.loading && <Loading />}
        {people.error && <LoadError problem={people.error} onRetry={people.reload} />}
        {people.data &&
          (people.data.length === 0 ? (
            <Empty>No one to show yet.</Empty>
          ) : (
            <ul className="divide-y divide-slate-100">
              {people.data.map((p) => (
                <li key={p.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
                  <span>
                    <span className="font-medium text-slate-900">
                      {p.given_name} {p.family_name}
                    </span>
                    {p.email && <span className="block text-slate-600">{p.email}</span>}
                  </span>
                  <Badge>{p.kind}</Badge>
                </li>
              ))}
            </ul>
          ))}
      </Card>
    </>
  );
}

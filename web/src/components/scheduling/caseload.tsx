"use client";
import Link from "next/link";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/generated/tenant";
import { Badge, Empty, LoadError, Loading } from "@/components/ui";
import { useLoad } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { STATUS_LABELS, dateTimeIn, statusTone, type Appointment } from "@/lib/scheduling";

export type CaseloadClient = components["schemas"]["CaseloadClient"];

/** Every page of a provider's caseload, by family then given name. */
export async function loadCaseload(providerId: string): Promise<CaseloadClient[]> {
  const items = await allPages((after) =>
    unwrap(api.GET("/providers/{provider_id}/clients", { params: { path: { provider_id: providerId }, query: { limit: 200, after } } })),
  );
  const name = (c: CaseloadClient) => `${c.client.family_name} ${c.client.given_name}`;
  return items.sort((a, b) => name(a).localeCompare(name(b)));
}

function When({ a, zone, none }: { a?: Appointment; zone: string; none: string }) {
  if (!a) return <span className="text-slate-600">{none}</span>;
  return (
    <span>
      <span className="block text-slate-900">{dateTimeIn(a.starts_at, zone)}</span>
      <span className="block text-slate-700">
        {a.type_name} <Badge tone={statusTone(a.status)}>{STATUS_LABELS[a.status]}</Badge>
      </span>
    </span>
  );
}

/**
 * A provider's clients (their care team) with each one's next and last appointment with them.
 * A list of cards, one column on a phone and a grid on wider screens.
 */
export function Caseload({ providerId, zone }: { providerId: string; zone: string }) {
  const list = useLoad(() => loadCaseload(providerId), [providerId]);
  if (list.loading && !list.data) return <Loading label="Loading your clients…" />;
  if (list.error) return <LoadError problem={list.error} onRetry={list.reload} />;
  if (!list.data) return null;
  if (list.data.length === 0) return <Empty>No clients are on your care team yet. An administrator adds them.</Empty>;
  return (
    <ul className="grid gap-3 md:grid-cols-2" aria-label="Clients" aria-busy={list.loading || undefined}>
      {list.data.map(({ client, next_appointment, last_appointment }) => {
        const name = `${client.given_name} ${client.family_name}`;
        return (
          <li key={client.id}>
            <article aria-label={name} className="h-full rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm">
              <div className="flex items-start justify-between gap-2">
                <h2 className="text-base font-semibold text-slate-900">{name}</h2>
                {client.status === "inactive" && <Badge>Inactive</Badge>}
              </div>
              {client.email && <p className="break-all text-slate-700">{client.email}</p>}
              <dl className="mt-3 grid gap-3 sm:grid-cols-2">
                <div>
                  <dt className="font-medium text-slate-800">Next appointment</dt>
                  <dd>
                    <When a={next_appointment} zone={zone} none="None booked" />
                  </dd>
                </div>
                <div>
                  <dt className="font-medium text-slate-800">Last appointment</dt>
                  <dd>
                    <When a={last_appointment} zone={zone} none="None yet" />
                  </dd>
                </div>
              </dl>
              {client.status === "active" && (
                <Link href={`/book/?client=${client.id}`} className="mt-3 inline-block font-semibold text-teal-800 underline">
                  Book for {name}
                </Link>
              )}
            </article>
          </li>
        );
      })}
    </ul>
  );
}

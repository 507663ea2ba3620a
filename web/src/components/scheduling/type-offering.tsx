"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, LoadError, Loading } from "@/components/ui";
import { FormProblem } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { allPages } from "@/lib/paging";
import { fieldErrors } from "@/lib/problem";
import type { components } from "@/api/generated/tenant";

type AppointmentType = components["schemas"]["AppointmentType"];

/** Who offers a service: every provider, or the ones ticked. Saved under the service's version. */
export function TypeOffering({ type, onDone, onCancel }: { type: AppointmentType; onDone: () => void; onCancel: () => void }) {
  const data = useLoad(async () => {
    const [offering, providers] = await Promise.all([
      unwrap(api.GET("/appointment-types/{type_id}/providers", { params: { path: { type_id: type.id } } })),
      allPages((after) => unwrap(api.GET("/people", { params: { query: { kind: "provider", limit: 200, after } } }))),
    ]);
    return { offering, providers: providers.filter((p) => p.status === "active") };
  }, [type.id]);
  if (data.loading && !data.data) return <Loading />;
  if (data.error) return <LoadError problem={data.error} onRetry={data.reload} />;
  if (!data.data) return null;
  return <OfferingForm type={type} all={data.data.offering.all_providers} chosen={data.data.offering.provider_ids} providers={data.data.providers} onDone={onDone} onCancel={onCancel} />;
}

function OfferingForm({
  type,
  all: initialAll,
  chosen: initialChosen,
  providers,
  onDone,
  onCancel,
}: {
  type: AppointmentType;
  all: boolean;
  chosen: string[];
  providers: components["schemas"]["Person"][];
  onDone: () => void;
  onCancel: () => void;
}) {
  const [all, setAll] = useState(initialAll);
  const [chosen, setChosen] = useState<string[]>(initialChosen);
  const save = useSubmit(async () =>
    unwrap(
      api.PUT("/appointment-types/{type_id}/providers", {
        params: { path: { type_id: type.id }, header: { "If-Match": etagOf(type.version) } },
        body: { all_providers: all, provider_ids: all ? [] : chosen },
      }),
    ),
  );
  const errors = fieldErrors(save.problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await save.run()) onDone();
  }
  return (
    <form onSubmit={submit} noValidate aria-label={`Who offers ${type.name}`} className="space-y-3 rounded-md border border-slate-200 p-4">
      <FormProblem problem={save.problem} fields={["provider_ids"]} />
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium text-slate-800">Who offers {type.name}</legend>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="offered_by" checked={all} onChange={() => setAll(true)} className="h-4 w-4 accent-teal-700" />
          Every provider
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="radio" name="offered_by" checked={!all} onChange={() => setAll(false)} className="h-4 w-4 accent-teal-700" />
          Only these providers
        </label>
      </fieldset>
      {!all && (
        <fieldset className="grid gap-1 sm:grid-cols-2" aria-describedby={errors.provider_ids ? "offering-error" : undefined}>
          <legend className="sr-only">Providers who offer {type.name}</legend>
          {providers.map((p) => (
            <label key={p.id} className="flex items-center gap-2 text-sm">
              <input
                type="checkbox"
                checked={chosen.includes(p.id)}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, p.id] : chosen.filter((id) => id !== p.id))}
                className="h-4 w-4 accent-teal-700"
              />
              {p.given_name} {p.family_name}
            </label>
          ))}
        </fieldset>
      )}
      {errors.provider_ids && (
        <Alert>
          <span id="offering-error">{errors.provider_ids}</span>
        </Alert>
      )}
      <div className="flex gap-2">
        <Button type="submit" pending={save.pending}>Save who offers it</Button>
        <Button type="button" variant="secondary" onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}

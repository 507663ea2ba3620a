"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useSession } from "@/components/shell/session-context";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { formatDateTime, localZone } from "@/lib/format";
import type { components } from "@/api/generated/tenant";
import { TypeOffering } from "@/components/scheduling/type-offering";

type Policy = components["schemas"]["SchedulingPolicy"];
type Location = components["schemas"]["Location"];
type AppointmentType = components["schemas"]["AppointmentType"];

/** Scheduling set-up: the policy, what can be booked, and where. Others may read; the institution admin changes. */
export default function SchedulingSetupPage() {
  const { isInstitutionAdmin } = useSession();
  // Kept here: the form remounts with the saved version.
  const [saved, setSaved] = useState(false);
  const data = useLoad(async () => {
    const [policy, types, locations] = await Promise.all([
      unwrap(api.GET("/scheduling/policy")),
      unwrap(api.GET("/appointment-types")),
      unwrap(api.GET("/locations")),
    ]);
    return { policy, types, locations: Array.isArray(locations) ? locations : [] };
  }, []);
  return (
    <>
      <PageHeader title="Scheduling set-up" description="Booking rules, the services people can book, and the places they happen." />
      {data.loading && !data.data && <Loading />}
      {data.error && <LoadError problem={data.error} onRetry={data.reload} />}
      {data.data && (
        <div className="space-y-6">
          {saved && <Alert tone="success">Scheduling policy saved.</Alert>}
          <PolicyForm key={data.data.policy.version} policy={data.data.policy} onSaved={() => { setSaved(true); data.reload(); }} onEdit={() => setSaved(false)} canEdit={isInstitutionAdmin} />
          <Types types={data.data.types} locations={data.data.locations} onChanged={data.reload} canEdit={isInstitutionAdmin} />
          <Locations locations={data.data.locations} onChanged={data.reload} canEdit={isInstitutionAdmin} />
        </div>
      )}
    </>
  );
}

function PolicyForm({ policy, onSaved, onEdit, canEdit }: { policy: Policy; onSaved: () => void; onEdit: () => void; canEdit: boolean }) {
  const [v, setV] = useState({
    clients_may_self_book: policy.clients_may_self_book,
    max_open_bookings_per_client: String(policy.max_open_bookings_per_client),
    max_bookings_per_client_per_day: String(policy.max_bookings_per_client_per_day),
    max_waitlist_entries_per_client: String(policy.max_waitlist_entries_per_client),
    waitlist_offer_minutes: String(policy.waitlist_offer_minutes),
    waitlist_offer_batch: String(policy.waitlist_offer_batch),
    reminders_enabled: policy.reminders_enabled,
    reminder_offsets_minutes: policy.reminder_offsets_minutes.join(", "),
    reminder_template: policy.reminder_template,
    ical_show_client_names: policy.ical_show_client_names,
    sms: policy.reminder_channels.includes("sms"),
    sms_webhook_url: policy.sms_webhook_url ?? "",
    sms_webhook_secret: "",
  });
  const { run, pending, problem } = useSubmit(async () =>
    unwrap(
      api.PATCH("/scheduling/policy", {
        params: { header: { "If-Match": etagOf(policy.version) } },
        body: {
          clients_may_self_book: v.clients_may_self_book,
          max_open_bookings_per_client: Number(v.max_open_bookings_per_client),
          max_bookings_per_client_per_day: Number(v.max_bookings_per_client_per_day),
          max_waitlist_entries_per_client: Number(v.max_waitlist_entries_per_client),
          waitlist_offer_minutes: Number(v.waitlist_offer_minutes),
          waitlist_offer_batch: Number(v.waitlist_offer_batch),
          reminders_enabled: v.reminders_enabled,
          reminder_offsets_minutes: v.reminder_offsets_minutes.split(/[\s,]+/).filter(Boolean).map(Number),
          reminder_template: v.reminder_template,
          ical_show_client_names: v.ical_show_client_names,
          reminder_channels: v.sms ? ["email", "sms"] : ["email"],
          ...(v.sms_webhook_url.trim() !== (policy.sms_webhook_url ?? "")
            ? { sms_webhook_url: v.sms_webhook_url.trim() ? v.sms_webhook_url.trim() : null }
            : {}),
          ...(v.sms_webhook_secret ? { sms_webhook_secret: v.sms_webhook_secret } : {}),
        },
      }),
    ),
  );
  const errors = fieldErrors(problem);
  const num = (name: keyof typeof v, label: string, hint?: string) => (
    <TextField label={label} name={name} type="number" inputMode="numeric" disabled={!canEdit} value={String(v[name])} onChange={(e) => setV({ ...v, [name]: e.target.value })} error={errors[name]} hint={hint} />
  );
  const check = (name: "clients_may_self_book" | "reminders_enabled" | "ical_show_client_names" | "sms", label: string) => (
    <label className="flex items-center gap-2 text-sm text-slate-800">
      <input type="checkbox" name={name} disabled={!canEdit} checked={v[name]} onChange={(e) => setV({ ...v, [name]: e.target.checked })} className="h-4 w-4 accent-teal-700" />
      {label}
      {(name === "sms" ? errors.reminder_channels : errors[name]) && (
        <span className="font-medium text-red-700">⚠ {name === "sms" ? errors.reminder_channels : errors[name]}</span>
      )}
    </label>
  );
  async function submit(e: FormEvent) {
    e.preventDefault();
    onEdit();
    if (await run()) onSaved();
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Scheduling policy">
      <Card title="Policy">
        <div className="space-y-4">
          <FormProblem problem={problem} fields={[...Object.keys(v), "reminder_channels"]} />
          {check("clients_may_self_book", "Clients may book, move and cancel their own appointments")}
          <div className="grid gap-4 sm:grid-cols-3">
            {num("max_open_bookings_per_client", "Upcoming appointments per client")}
            {num("max_bookings_per_client_per_day", "Appointments per client per day")}
            {num("max_waitlist_entries_per_client", "Waitlists per client")}
            {num("waitlist_offer_minutes", "Waitlist offer lasts (minutes)")}
            {num("waitlist_offer_batch", "Clients offered each freed slot")}
          </div>
          {check("reminders_enabled", "Send appointment reminders")}
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="Remind this many minutes before" name="reminder_offsets_minutes" disabled={!canEdit} value={v.reminder_offsets_minutes} onChange={(e) => setV({ ...v, reminder_offsets_minutes: e.target.value })} error={errors.reminder_offsets_minutes} hint="Separated by commas, e.g. 2880, 120." />
            <TextField label="Reminder message" name="reminder_template" disabled={!canEdit} value={v.reminder_template} onChange={(e) => setV({ ...v, reminder_template: e.target.value })} error={errors.reminder_template} hint="Only {provider}, {date}, {time} and {zone} are filled in." />
          </div>
          {check("sms", "Also remind by text message (clients who agreed, through your SMS gateway)")}
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField label="SMS gateway URL" name="sms_webhook_url" type="url" disabled={!canEdit} value={v.sms_webhook_url} onChange={(e) => setV({ ...v, sms_webhook_url: e.target.value })} error={errors.sms_webhook_url} hint="Each text is POSTed here as JSON, signed. Leave empty to remove the gateway." />
            <TextField
              label="SMS gateway signing secret"
              name="sms_webhook_secret"
              type="password"
              autoComplete="new-password"
              disabled={!canEdit}
              value={v.sms_webhook_secret}
              onChange={(e) => setV({ ...v, sms_webhook_secret: e.target.value })}
              error={errors.sms_webhook_secret}
              hint={policy.sms_webhook_secret_set ? "A secret is set; type a new one (32–256 characters) to replace it." : "32–256 characters; never shown again."}
            />
          </div>
          {check("ical_show_client_names", "Providers' calendar feeds show client names")}
          <p className="text-xs text-slate-600">Last changed {formatDateTime(policy.updated_at)}.</p>
          {canEdit && <Button type="submit" pending={pending}>Save policy</Button>}
        </div>
      </Card>
    </form>
  );
}

function Types({ types, locations, onChanged, canEdit }: { types: AppointmentType[]; locations: Location[]; onChanged: () => void; canEdit: boolean }) {
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [offering, setOffering] = useState<string | null>(null);
  const toggle = useSubmit(async (t: AppointmentType) =>
    unwrap(api.PATCH("/appointment-types/{type_id}", { params: { path: { type_id: t.id }, header: { "If-Match": etagOf(t.version) } }, body: { active: !t.active } })),
  );
  return (
    <Card title="Services (appointment types)" actions={canEdit && !adding ? <Button variant="secondary" onClick={() => setAdding(true)}>Add a service</Button> : undefined}>
      {toggle.problem && <div className="mb-3"><Alert>{describe(toggle.problem)}</Alert></div>}
      {adding && <TypeForm locations={locations} onDone={() => { setAdding(false); onChanged(); }} onCancel={() => setAdding(false)} />}
      {types.length === 0 ? (
        <Empty>No services yet.</Empty>
      ) : (
        <ul className="divide-y divide-slate-100">
          {types.map((t) =>
            editing === t.id ? (
              <li key={t.id} className="py-3">
                <TypeForm key={t.version} existing={t} locations={locations} onDone={() => { setEditing(null); onChanged(); }} onCancel={() => setEditing(null)} />
              </li>
            ) : offering === t.id ? (
              <li key={t.id} className="py-3">
                <TypeOffering type={t} onDone={() => { setOffering(null); onChanged(); }} onCancel={() => setOffering(null)} />
              </li>
            ) : (
            <li key={t.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
              <span>
                <span className="font-semibold text-slate-900">{t.name}</span> {!t.active && <Badge tone="amber">Inactive</Badge>}
                <span className="block text-slate-700">
                  {t.duration_minutes} min · {t.modality === "video" ? "video" : `in person${t.location_id ? ` at ${locations.find((l) => l.id === t.location_id)?.name ?? "a location"}` : ""}`} · slots every {t.slot_interval_minutes} min
                  {t.buffer_after_minutes ? ` · ${t.buffer_after_minutes} min notes after` : ""}
                </span>
                <span className="block text-slate-600">
                  {t.client_bookable ? "Clients may book" : "Staff book only"}
                  {t.requires_approval ? " · needs approval" : ""} · late cancellation inside {t.cancellation_window_minutes / 60} h
                  {t.offered_by_all ? "" : " · offered by some providers"}
                </span>
              </span>
              {canEdit && (
                <span className="flex gap-2">
                <Button variant="secondary" onClick={() => setEditing(t.id)}>
                  Edit<span className="sr-only"> {t.name}</span>
                </Button>
                <Button variant="secondary" onClick={() => setOffering(t.id)}>
                  Who offers it<span className="sr-only"> ({t.name})</span>
                </Button>
                <Button variant={t.active ? "danger" : "secondary"} pending={toggle.pending} onClick={async () => { if (await toggle.run(t)) onChanged(); }}>
                  {t.active ? "Deactivate" : "Activate"}<span className="sr-only"> {t.name}</span>
                </Button>
                </span>
              )}
            </li>
            ),
          )}
        </ul>
      )}
    </Card>
  );
}

/** Adds a service, or (with `existing`) changes one: a PATCH with its version (If-Match). */
export function TypeForm({ existing, locations, onDone, onCancel }: { existing?: AppointmentType; locations: Location[]; onDone: () => void; onCancel: () => void }) {
  const [f, setF] = useState(
    existing
      ? {
          name: existing.name,
          duration_minutes: String(existing.duration_minutes),
          modality: existing.modality,
          location_id: existing.location_id ?? "",
          buffer_after_minutes: String(existing.buffer_after_minutes),
          slot_interval_minutes: String(existing.slot_interval_minutes),
          cancellation_window_minutes: String(existing.cancellation_window_minutes),
          client_bookable: existing.client_bookable,
          requires_approval: existing.requires_approval,
        }
      : { name: "", duration_minutes: "50", modality: "video" as "video" | "in_person", location_id: "", buffer_after_minutes: "0", slot_interval_minutes: "60", cancellation_window_minutes: "1440", client_bookable: true, requires_approval: false },
  );
  const { run, pending, problem } = useSubmit(async () => {
    const body = {
      name: f.name.trim(),
      duration_minutes: Number(f.duration_minutes),
      modality: f.modality,
      location_id: f.modality === "in_person" && f.location_id ? f.location_id : undefined,
      buffer_after_minutes: Number(f.buffer_after_minutes),
      slot_interval_minutes: Number(f.slot_interval_minutes),
      cancellation_window_minutes: Number(f.cancellation_window_minutes),
      client_bookable: f.client_bookable,
      requires_approval: f.requires_approval,
    };
    if (existing) {
      return unwrap(
        api.PATCH("/appointment-types/{type_id}", {
          params: { path: { type_id: existing.id }, header: { "If-Match": etagOf(existing.version) } },
          // A video service keeps no location: clear one it had.
          body: { ...body, ...(!body.location_id && existing.location_id ? { location_id: null } : {}) },
        }),
      );
    }
    return unwrap(api.POST("/appointment-types", { body }));
  });
  const errors = fieldErrors(problem);
  return (
    <form
      noValidate
      aria-label={existing ? `Edit ${existing.name}` : "Add a service"}
      className="mb-4 space-y-4 rounded-md border border-slate-200 bg-slate-50 p-4"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await run()) onDone();
      }}
    >
      <FormProblem problem={problem} fields={Object.keys(f)} />
      <div className="grid gap-4 sm:grid-cols-3">
        <TextField label="Name" name="name" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} error={errors.name} />
        <TextField label="Length (minutes)" name="duration_minutes" type="number" value={f.duration_minutes} onChange={(e) => setF({ ...f, duration_minutes: e.target.value })} error={errors.duration_minutes} />
        <SelectField label="How" name="modality" value={f.modality} onChange={(e) => setF({ ...f, modality: e.target.value as "video" | "in_person" })} error={errors.modality}>
          <option value="video">Video</option>
          <option value="in_person">In person</option>
        </SelectField>
        {f.modality === "in_person" && (
          <SelectField label="Location" name="location_id" value={f.location_id} onChange={(e) => setF({ ...f, location_id: e.target.value })} error={errors.location_id}>
            <option value="">Choose…</option>
            {locations.filter((l) => l.active).map((l) => (
              <option key={l.id} value={l.id}>{l.name}</option>
            ))}
          </SelectField>
        )}
        <TextField label="Notes time after (minutes)" name="buffer_after_minutes" type="number" value={f.buffer_after_minutes} onChange={(e) => setF({ ...f, buffer_after_minutes: e.target.value })} error={errors.buffer_after_minutes} />
        <TextField label="Slots every (minutes)" name="slot_interval_minutes" type="number" value={f.slot_interval_minutes} onChange={(e) => setF({ ...f, slot_interval_minutes: e.target.value })} error={errors.slot_interval_minutes} />
        <TextField label="Late cancellation inside (minutes)" name="cancellation_window_minutes" type="number" value={f.cancellation_window_minutes} onChange={(e) => setF({ ...f, cancellation_window_minutes: e.target.value })} error={errors.cancellation_window_minutes} />
      </div>
      <div className="flex flex-wrap gap-6 text-sm text-slate-800">
        <label className="flex items-center gap-2"><input type="checkbox" checked={f.client_bookable} onChange={(e) => setF({ ...f, client_bookable: e.target.checked })} className="h-4 w-4 accent-teal-700" />Clients may book it</label>
        <label className="flex items-center gap-2"><input type="checkbox" checked={f.requires_approval} onChange={(e) => setF({ ...f, requires_approval: e.target.checked })} className="h-4 w-4 accent-teal-700" />Clients&apos; bookings need approval</label>
      </div>
      <div className="flex gap-2">
        <Button type="submit" pending={pending}>{existing ? "Save service" : "Add service"}</Button>
        <Button type="button" variant="secondary" onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}

function Locations({ locations, onChanged, canEdit }: { locations: Location[]; onChanged: () => void; canEdit: boolean }) {
  const [name, setName] = useState("");
  const [zone, setZone] = useState(localZone());
  const [address, setAddress] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const add = useSubmit(async () => unwrap(api.POST("/locations", { body: { name: name.trim(), timezone: zone.trim(), address: address.trim() || undefined } })));
  const toggle = useSubmit(async (l: Location) =>
    unwrap(api.PATCH("/locations/{location_id}", { params: { path: { location_id: l.id }, header: { "If-Match": etagOf(l.version) } }, body: { active: !l.active } })),
  );
  const errors = fieldErrors(add.problem);
  return (
    <Card title="Locations">
      {toggle.problem && <div className="mb-3"><Alert>{describe(toggle.problem)}</Alert></div>}
      {locations.length === 0 ? (
        <Empty>No locations yet.</Empty>
      ) : (
        <ul className="divide-y divide-slate-100">
          {locations.map((l) =>
            editing === l.id ? (
              <li key={l.id} className="py-3">
                <LocationForm key={l.version} location={l} onDone={() => { setEditing(null); onChanged(); }} onCancel={() => setEditing(null)} />
              </li>
            ) : (
            <li key={l.id} className="flex flex-wrap items-center justify-between gap-2 py-3 text-sm">
              <span>
                <span className="font-semibold text-slate-900">{l.name}</span> {!l.active && <Badge tone="amber">Inactive</Badge>}
                <span className="block text-slate-700">{l.address ?? "No address"} · {l.timezone}</span>
              </span>
              {canEdit && (
                <span className="flex gap-2">
                <Button variant="secondary" onClick={() => setEditing(l.id)}>
                  Edit<span className="sr-only"> {l.name}</span>
                </Button>
                <Button variant={l.active ? "danger" : "secondary"} pending={toggle.pending} onClick={async () => { if (await toggle.run(l)) onChanged(); }}>
                  {l.active ? "Deactivate" : "Activate"}<span className="sr-only"> {l.name}</span>
                </Button>
                </span>
              )}
            </li>
            ),
          )}
        </ul>
      )}
      {canEdit && (
        <form
          noValidate
          aria-label="Add a location"
          className="mt-4 space-y-3"
          onSubmit={async (e: FormEvent) => {
            e.preventDefault();
            if (await add.run()) {
              setName("");
              setAddress("");
              onChanged();
            }
          }}
        >
          <FormProblem problem={add.problem} fields={["name", "timezone", "address"]} />
          <div className="grid gap-3 sm:grid-cols-3">
            <TextField label="Location name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
            <TextField label="Address" name="address" value={address} onChange={(e) => setAddress(e.target.value)} error={errors.address} />
            <TextField label="Time zone" name="timezone" value={zone} onChange={(e) => setZone(e.target.value)} error={errors.timezone} hint="An IANA zone, e.g. America/Toronto." />
          </div>
          <Button type="submit" variant="secondary" pending={add.pending}>Add location</Button>
        </form>
      )}
    </Card>
  );
}

/** Changes a location's name, address or zone (a PATCH with its version, If-Match). */
function LocationForm({ location, onDone, onCancel }: { location: Location; onDone: () => void; onCancel: () => void }) {
  const [name, setName] = useState(location.name);
  const [address, setAddress] = useState(location.address ?? "");
  const [zone, setZone] = useState(location.timezone);
  const save = useSubmit(async () =>
    unwrap(
      api.PATCH("/locations/{location_id}", {
        params: { path: { location_id: location.id }, header: { "If-Match": etagOf(location.version) } },
        body: {
          name: name.trim(),
          timezone: zone.trim(),
          ...(address.trim() !== (location.address ?? "") ? { address: address.trim() ? address.trim() : null } : {}),
        },
      }),
    ),
  );
  const errors = fieldErrors(save.problem);
  return (
    <form
      noValidate
      aria-label={`Edit ${location.name}`}
      className="space-y-3 rounded-md border border-slate-200 bg-slate-50 p-4"
      onSubmit={async (e: FormEvent) => {
        e.preventDefault();
        if (await save.run()) onDone();
      }}
    >
      <FormProblem problem={save.problem} fields={["name", "timezone", "address"]} />
      <div className="grid gap-3 sm:grid-cols-3">
        <TextField label="Location name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
        <TextField label="Address" name="address" value={address} onChange={(e) => setAddress(e.target.value)} error={errors.address} />
        <TextField label="Time zone" name="timezone" value={zone} onChange={(e) => setZone(e.target.value)} error={errors.timezone} hint="An IANA zone, e.g. America/Toronto." />
      </div>
      <div className="flex gap-2">
        <Button type="submit" pending={save.pending}>Save location</Button>
        <Button type="button" variant="secondary" onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}

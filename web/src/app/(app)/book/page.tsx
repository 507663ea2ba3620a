"use client";
import Link from "next/link";
import { Suspense, useMemo, useRef, useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, Card, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { SlotPicker, slotKey } from "@/components/scheduling/slot-picker";
import { useSession } from "@/components/shell/session-context";
import { useLoad, useSubmit } from "@/lib/hooks";
import { useSearchParams } from "next/navigation";
import { allPages } from "@/lib/paging";
import { fieldErrors } from "@/lib/problem";
import { localZone } from "@/lib/format";
import { addDays, dateKey, dateTimeIn, newIdempotencyKey, type Appointment, type AppointmentType, type Slot } from "@/lib/scheduling";

const ANY = "any";

export default function BookPage() {
  // useSearchParams, not window.location: after a client-side navigation (My appointments →
  // Reschedule) the first render comes before the address bar changes.
  return (
    <Suspense fallback={<Loading />}>
      <BookWithParams />
    </Suspense>
  );
}

function BookWithParams() {
  const params = useSearchParams();
  const reschedule = params.get("reschedule");
  // `?client=<id>`: "Book for …" from a provider's My clients.
  const client = params.get("client");
  return <Booking key={`${reschedule ?? "new"}-${client ?? ""}`} rescheduleId={reschedule} initialClient={client} />;
}

function Booking({ rescheduleId, initialClient }: { rescheduleId: string | null; initialClient: string | null }) {
  const { roles, me } = useSession();
  const isClient = roles.has("client") && roles.size === 1;
  const zone = useMemo(() => localZone(), []);

  const setup = useLoad(async () => {
    const [types, moving, mine, team] = await Promise.all([
      unwrap(api.GET("/appointment-types")),
      rescheduleId ? unwrap(api.GET("/appointments/{appointment_id}", { params: { path: { appointment_id: rescheduleId } } })) : null,
      // Clients cannot list the directory: their providers are their care team and the ones
      // they have seen.
      isClient ? unwrap(api.GET("/appointments", { params: { query: { status: [], limit: 200 } } })) : null,
      isClient && me.person_id ? unwrap(api.GET("/people/{person_id}/care-team", { params: { path: { person_id: me.person_id } } })) : null,
    ]);
    const providers = isClient
      ? [
          ...new Map([
            ...(team?.providers ?? []).map((p) => [p.id, `${p.given_name} ${p.family_name}`] as const),
            ...(mine?.items ?? []).map((a) => [a.provider_id, a.provider_name] as const),
          ]).entries(),
        ].map(([id, name]) => ({ id, name }))
      : (await allPages((after) => unwrap(api.GET("/people", { params: { query: { kind: "provider", limit: 200, after } } }))))
          .filter((p) => p.status === "active")
          .map((p) => ({ id: p.id, name: `${p.given_name} ${p.family_name}` }));
    const clients = isClient
      ? []
      : (await allPages((after) => unwrap(api.GET("/people", { params: { query: { kind: "client", limit: 200, after } } })))).filter((p) => p.status === "active");
    return { types: types.filter((t) => t.active), moving, providers, clients };
  }, [rescheduleId, isClient, me.person_id]);

  return (
    <>
      <PageHeader
        title={rescheduleId ? "Reschedule" : isClient ? "Book an appointment" : "Book for a client"}
        description={`Times are shown in your time zone, ${zone.replace(/_/g, " ")}.`}
      />
      {setup.loading && <Loading />}
      {setup.error && <LoadError problem={setup.error} onRetry={setup.reload} />}
      {setup.data && (
        <BookingForm
          {...setup.data}
          isClient={isClient}
          zone={zone}
          initialClient={initialClient ?? undefined}
          initialProvider={roles.has("provider") && initialClient ? (me.person_id ?? undefined) : undefined}
        />
      )}
    </>
  );
}

export function BookingForm({
  types,
  moving,
  providers,
  clients,
  isClient,
  zone,
  initialClient,
  initialProvider,
}: {
  initialClient?: string;
  initialProvider?: string;
  types: AppointmentType[];
  moving: Appointment | null;
  providers: { id: string; name: string }[];
  clients: { id: string; given_name: string; family_name: string }[];
  isClient: boolean;
  zone: string;
}) {
  const today = dateKey(new Date(), zone);
  const [typeId, setTypeId] = useState(moving?.type_id ?? types[0]?.id ?? "");
  const type = types.find((t) => t.id === typeId);
  const [provider, setProvider] = useState(
    moving?.provider_id ??
      (initialProvider && providers.some((p) => p.id === initialProvider) ? initialProvider : isClient || !providers[0] ? ANY : providers[0].id),
  );
  const [clientId, setClientId] = useState(initialClient && clients.some((c) => c.id === initialClient) ? initialClient : "");
  const [from, setFrom] = useState(today);
  const [slot, setSlot] = useState<string | null>(null);
  const [done, setDone] = useState<Appointment | null>(null);
  const [waitlisted, setWaitlisted] = useState(false);
  const to = addDays(from, 6);
  const anyPossible = !!type?.department_id;
  const effectiveProvider = provider === ANY && !anyPossible ? providers[0]?.id ?? ANY : provider;
  const names = useMemo(() => new Map(providers.map((p) => [p.id, p.name])), [providers]);
  // One key per attempt: a retry after a lost answer replays the same booking.
  const attempt = useRef<{ slot: string; key: string } | null>(null);

  const slotQuery = () =>
    effectiveProvider === ANY
      ? { type: typeId, department: type!.department_id!, from, to, tz: zone }
      : { type: typeId, provider: effectiveProvider, from, to, tz: zone };
  const slots = useLoad(async () => {
    if (!typeId || effectiveProvider === ANY && !anyPossible) return null;
    return unwrap(api.GET("/slots", { params: { query: slotQuery() } }));
  }, [typeId, effectiveProvider, from, zone]);
  // The search answers a page at a time, earliest first; later pages of the same search are
  // kept here under the search's key, so changing the search drops them.
  const searchKey = JSON.stringify([typeId, effectiveProvider, from, zone]);
  const [later, setLater] = useState<{ key: string; slots: Slot[]; next?: string } | null>(null);
  const laterPages = later?.key === searchKey ? later : null;
  const shownSlots = slots.data ? [...slots.data.slots, ...(laterPages?.slots ?? [])] : [];
  const nextAfter = laterPages ? laterPages.next : slots.data?.next_after;
  const loadMore = useSubmit(async () => {
    if (!nextAfter) return;
    const page = await unwrap(api.GET("/slots", { params: { query: { ...slotQuery(), after: nextAfter } } }));
    setLater({ key: searchKey, slots: [...(laterPages?.slots ?? []), ...page.slots], next: page.next_after });
  });

  const book = useSubmit(async (chosen: string) => {
    const [providerId, startsAt] = chosen.split("|") as [string, string];
    if (moving) {
      return unwrap(
        api.POST("/appointments/{appointment_id}/reschedule", {
          params: { path: { appointment_id: moving.id }, header: { "If-Match": etagOf(moving.version) } },
          body: { starts_at: startsAt, reason: "client_request" },
        }),
      );
    }
    if (attempt.current?.slot !== chosen) attempt.current = { slot: chosen, key: newIdempotencyKey() };
    return unwrap(
      api.POST("/appointments", {
        params: { header: { "Idempotency-Key": attempt.current.key } },
        body: { provider_id: providerId, type_id: typeId, starts_at: startsAt, client_id: isClient ? undefined : clientId },
      }),
    );
  });
  const join = useSubmit(async () =>
    unwrap(
      api.POST("/waitlist", {
        body: {
          type_id: typeId,
          provider_id: effectiveProvider === ANY ? undefined : effectiveProvider,
          client_id: isClient ? undefined : clientId || undefined,
          window_from: new Date(`${from}T00:00`).toISOString(),
          window_until: new Date(`${addDays(to, 1)}T00:00`).toISOString(),
        },
      }),
    ),
  );
  const errors = fieldErrors(book.problem ?? join.problem);
  const [clientMissing, setClientMissing] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!isClient && !moving && !clientId) {
      setClientMissing(true);
      return;
    }
    if (!slot) return;
    const a = await book.run(slot);
    if (a) {
      attempt.current = null;
      setDone(a);
    }
  }

  if (done) {
    return (
      <Card>
        <Alert tone="success" title={moving ? "Rescheduled" : done.status === "requested" ? "Requested" : "Booked"}>
          <p>
            {done.type_name} with {done.provider_name}, {dateTimeIn(done.starts_at, zone)}.
          </p>
          {done.status === "requested" && <p className="mt-1">The clinic will confirm this request; you will see it under My appointments.</p>}
        </Alert>
        <div className="mt-4 flex flex-wrap gap-2">
          <Link href={isClient ? "/appointments/" : "/calendar/"} className="rounded-md bg-teal-700 px-4 py-2 text-sm font-semibold text-white hover:bg-teal-800">
            {isClient ? "My appointments" : "Calendars"}
          </Link>
          {!moving && (
            <Button variant="secondary" onClick={() => { setDone(null); setSlot(null); setLater(null); slots.reload(); }}>
              Book another
            </Button>
          )}
        </div>
      </Card>
    );
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-6">
      {moving && (
        <Alert tone="info" title="Choose a new time">
          {moving.type_name} with {moving.provider_name}, now {dateTimeIn(moving.starts_at, zone)}.
        </Alert>
      )}
      <FormProblem problem={book.problem ?? join.problem} fields={["provider_id", "type_id", "starts_at", "client_id", "window_from", "window_until"]} />
      <Card title="What and with whom">
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          {!isClient && !moving && (
            <SelectField
              label="Client"
              name="client_id"
              value={clientId}
              onChange={(e) => { setClientId(e.target.value); setClientMissing(false); }}
              error={clientMissing ? "Choose the client." : errors.client_id}
            >
              <option value="">Choose a client…</option>
              {clients.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.given_name} {c.family_name}
                </option>
              ))}
            </SelectField>
          )}
          <SelectField
            label="Service"
            name="type_id"
            value={typeId}
            disabled={!!moving}
            onChange={(e) => { setTypeId(e.target.value); setSlot(null); }}
            error={errors.type_id}
            hint={type ? `${type.duration_minutes} min · ${type.modality === "video" ? "video" : "in person"}${type.requires_approval ? " · needs approval" : ""}` : undefined}
          >
            {types.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </SelectField>
          <SelectField
            label="Provider"
            name="provider_id"
            value={effectiveProvider}
            disabled={!!moving}
            onChange={(e) => { setProvider(e.target.value); setSlot(null); }}
            error={errors.provider_id}
          >
            {anyPossible && <option value={ANY}>Any available provider</option>}
            {providers.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </SelectField>
          <TextField
            label="Week starting"
            name="from"
            type="date"
            min={today}
            value={from}
            onChange={(e) => { if (e.target.value) { setFrom(e.target.value); setSlot(null); } }}
            error={errors.from}
          />
        </div>
      </Card>
      <Card
        title="Pick a time"
        actions={
          <div className="flex gap-2">
            <Button type="button" variant="secondary" disabled={from <= today} onClick={() => { setFrom(addDays(from, -7) < today ? today : addDays(from, -7)); setSlot(null); }}>
              Earlier
            </Button>
            <Button type="button" variant="secondary" onClick={() => { setFrom(addDays(from, 7)); setSlot(null); }}>
              Later
            </Button>
          </div>
        }
      >
        {!typeId && <p className="text-sm text-slate-600">No services can be booked yet.</p>}
        {typeId && effectiveProvider === ANY && !anyPossible && (
          <p className="text-sm text-slate-600">Choose a provider to see their times.</p>
        )}
        {slots.loading && <Loading label="Finding free times…" />}
        {slots.error && <LoadError problem={slots.error} onRetry={slots.reload} />}
        {!slots.loading && slots.data && (
          <SlotPicker
            slots={shownSlots}
            zone={slots.data.timezone}
            value={slot}
            onChange={setSlot}
            providerName={effectiveProvider === ANY ? (id) => names.get(id) ?? "A clinic provider" : undefined}
            more={nextAfter ? { onMore: () => void loadMore.run(), pending: loadMore.pending } : undefined}
          />
        )}
        {loadMore.problem && <LoadError problem={loadMore.problem} onRetry={() => void loadMore.run()} />}
        {errors.starts_at && <p className="mt-2 text-sm font-medium text-red-700">⚠ {errors.starts_at}</p>}
      </Card>
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center">
        <Button type="submit" pending={book.pending} disabled={!slot}>
          {moving ? "Move to this time" : isClient && type?.requires_approval ? "Request this time" : "Book this time"}
        </Button>
        {slot && (
          <p className="text-sm text-slate-700" aria-live="polite">
            {dateTimeIn(slot.split("|")[1]!, zone)}
          </p>
        )}
      </div>
      {!moving && typeId && (
        <Card title="Nothing suitable?">
          {waitlisted ? (
            <Alert tone="success">You are on the waitlist for {from} to {to}. Offers of freed times appear under My appointments.</Alert>
          ) : (
            <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
              <p className="text-sm text-slate-700">
                Join the waitlist for this service between {from} and {to} ({zone.replace(/_/g, " ")}); if a time frees up you get an offer to accept.
              </p>
              <Button
                type="button"
                variant="secondary"
                pending={join.pending}
                onClick={async () => {
                  if (!isClient && !clientId) { setClientMissing(true); return; }
                  if (await join.run()) setWaitlisted(true);
                }}
              >
                Join the waitlist
              </Button>
            </div>
          )}
        </Card>
      )}
    </form>
  );
}

import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";

vi.mock("next/navigation", () => ({ useRouter: () => ({ replace: vi.fn(), push: vi.fn() }), useSearchParams: () => new URLSearchParams() }));

import { BookingForm } from "@/app/(app)/book/page";
import type { AppointmentType } from "@/lib/scheduling";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => vi.unstubAllGlobals());

const therapy: AppointmentType = {
  id: "t1",
  name: "Therapy session (50 min)",
  active: true,
  buffer_after_minutes: 10,
  buffer_before_minutes: 0,
  cancellation_window_minutes: 1440,
  client_bookable: true,
  offered_by_all: true,
  duration_minutes: 50,
  max_advance_days: 120,
  min_notice_minutes: 0,
  modality: "video",
  requires_approval: false,
  slot_interval_minutes: 60,
  version: 1,
};
const start = new Date(Date.now() + 3 * 86_400_000);
start.setUTCHours(15, 0, 0, 0);
const slotAt = (h: number) => {
  const s = new Date(start);
  s.setUTCHours(h);
  return { provider_id: "p1", starts_at: s.toISOString().replace(".000Z", "Z"), ends_at: new Date(s.getTime() + 50 * 60_000).toISOString() };
};

it("a booking attempt keeps its Idempotency-Key across a retry, and a new slot gets a new one", async () => {
  const keys: string[] = [];
  let posts = 0;
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    if (url.pathname === "/api/v1/slots") {
      expect(url.searchParams.get("provider")).toBe("p1");
      expect(url.searchParams.get("tz")).toBe("America/Vancouver");
      return json({ timezone: "America/Vancouver", slots: [slotAt(17), slotAt(18)] }, 200);
    }
    expect(url.pathname).toBe("/api/v1/appointments");
    keys.push(req.headers.get("Idempotency-Key") ?? "");
    const body = (await req.json()) as { starts_at: string; client_id?: string };
    expect(body.client_id).toBeUndefined();
    posts += 1;
    // The first answer is lost (as if the connection dropped); the retry succeeds.
    if (posts === 1) throw new TypeError("network down");
    if (posts === 2)
      return json({ type: "urn:swiftacare:problem:conflict", title: "Conflict", status: 409, detail: "the provider is already booked at that time" }, 409, "application/problem+json");
    return json({ id: "a1", status: "booked", type_name: "Therapy session (50 min)", provider_name: "Maya Chen", starts_at: body.starts_at, timezone: "America/Toronto" }, 201);
  });
  vi.stubGlobal("fetch", fetch);
  render(<BookingForm types={[therapy]} moving={null} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[]} isClient zone="America/Vancouver" />);
  expect(await screen.findByRole("group", { name: /Available times \(shown in America\/Vancouver\)/ })).toBeInTheDocument();
  const radios = screen.getAllByRole("radio");
  await userEvent.click(radios[0]!);
  await userEvent.click(screen.getByRole("button", { name: "Book this time" }));
  expect(await screen.findByRole("alert")).toHaveTextContent(/could not be reached/);
  await userEvent.click(screen.getByRole("button", { name: "Book this time" }));
  expect(await screen.findByRole("alert")).toHaveTextContent(/already booked/);
  expect(keys[0]).toBeTruthy();
  expect(keys[1]).toBe(keys[0]);
  await userEvent.click(screen.getAllByRole("radio")[1]!);
  await userEvent.click(screen.getByRole("button", { name: "Book this time" }));
  expect(await screen.findByText("Booked")).toBeInTheDocument();
  expect(keys[2]).toBeTruthy();
  expect(keys[2]).not.toBe(keys[0]);
  expect(screen.getByText(/with Maya Chen/)).toHaveTextContent(/P[SD]T/);
});

it("booking for a client needs the client first, said on the field, without a request", async () => {
  const fetch = vi.fn(async () => json({ timezone: "UTC", slots: [slotAt(17)] }, 200));
  vi.stubGlobal("fetch", fetch);
  render(<BookingForm types={[therapy]} moving={null} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[{ id: "c1", given_name: "Alex", family_name: "Morgan" }]} isClient={false} zone="UTC" />);
  await screen.findByRole("group", { name: /Available times/ });
  await userEvent.click(screen.getAllByRole("radio")[0]!);
  await userEvent.click(screen.getByRole("button", { name: "Book this time" }));
  expect(screen.getByLabelText("Client")).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByLabelText("Client")).toHaveAccessibleDescription(/Choose the client/);
  expect(fetch).toHaveBeenCalledTimes(1);
});

it("later times come a page at a time: the next page is asked for with the cursor and added", async () => {
  const afters: (string | null)[] = [];
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    expect(url.pathname).toBe("/api/v1/slots");
    afters.push(url.searchParams.get("after"));
    return url.searchParams.get("after") === "c1"
      ? json({ timezone: "UTC", slots: [slotAt(19)] }, 200)
      : json({ timezone: "UTC", slots: [slotAt(17), slotAt(18)], next_after: "c1" }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<BookingForm types={[therapy]} moving={null} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[]} isClient zone="UTC" />);
  await screen.findByRole("group", { name: /Available times/ });
  expect(screen.getAllByRole("radio")).toHaveLength(2);
  expect(screen.getByText(/2\+ free/)).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Show later times" }));
  await vi.waitFor(() => expect(screen.getAllByRole("radio")).toHaveLength(3));
  expect(afters).toEqual([null, "c1"]);
  expect(screen.queryByRole("button", { name: "Show later times" })).not.toBeInTheDocument();
  expect(screen.getByText(/3 free/)).toBeInTheDocument();
});

import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { IntakeQueue } from "@/components/scheduling/intake-queue";
import { Caseload } from "@/components/scheduling/caseload";
import { BatchHistory } from "@/components/bulk/batch-history";
import type { Appointment } from "@/lib/scheduling";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

function requested(id: string, start: string, client: string): Appointment {
  return {
    id,
    client_id: `c-${id}`,
    client_name: client,
    provider_id: "p1",
    provider_name: "Maya Chen",
    type_id: "t1",
    type_name: "Intake assessment",
    status: "requested",
    starts_at: start,
    ends_at: new Date(Date.parse(start) + 90 * 60_000).toISOString(),
    local_start: start,
    timezone: "America/Toronto",
    late_cancellation: false,
    series_exception: false,
    created_at: "2027-02-01T10:00:00Z",
    updated_at: "2027-02-01T10:00:00Z",
    version: 2,
  };
}

it("intake: lists requests soonest first with the zone named, approves with If-Match and says so", async () => {
  const later = requested("a2", "2027-03-02T15:00:00Z", "Riley Brooks");
  const sooner = requested("a1", "2027-03-01T15:00:00Z", "Alex Morgan");
  let queue = [later, sooner];
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    if (req.method === "GET") {
      expect(url.pathname).toBe("/api/v1/appointments");
      expect(url.searchParams.getAll("status")).toEqual(["requested"]);
      expect(url.searchParams.get("from")).toBeTruthy();
      return json({ items: queue, page: {} }, 200);
    }
    expect(url.pathname).toBe("/api/v1/appointments/a1/transitions");
    expect(req.headers.get("If-Match")).toBe('"2"');
    expect(await req.json()).toEqual({ action: "approve" });
    queue = [later];
    return json({ ...sooner, status: "booked", version: 3 }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<IntakeQueue zone="America/Toronto" />);
  const list = await screen.findByRole("list", { name: "Requests awaiting approval" });
  const items = within(list).getAllByRole("article");
  expect(items.map((i) => within(i).getByText(/Morgan|Brooks/).textContent)).toEqual(["Alex Morgan", "Riley Brooks"]);
  // 15:00 UTC is 10:00 in Toronto (EST), and the zone is named.
  expect(items[0]).toHaveTextContent(/10:00( AM)? EST/);
  await userEvent.click(within(items[0]!).getByRole("button", { name: /^Approve Alex Morgan/ }));
  const done = await screen.findByText(/^Approved: Alex Morgan/);
  await vi.waitFor(() => expect(screen.getAllByRole("article")).toHaveLength(1));
  expect(done.closest("[tabindex='-1']")).toHaveFocus();
});

it("intake: declining needs a reason before any request, then sends it; a 422 on /reason is shown on the field", async () => {
  const a = requested("a1", "2027-03-01T15:00:00Z", "Alex Morgan");
  const posts: unknown[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      if (req.method === "GET") return json({ items: [a], page: {} }, 200);
      posts.push(await req.json());
      return json(
        { type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/reason", message: "is not a reason code" }] },
        422,
        "application/problem+json",
      );
    }),
  );
  render(<IntakeQueue zone="UTC" />);
  await userEvent.click(await screen.findByRole("button", { name: /^Decline Alex Morgan/ }));
  const reason = screen.getByLabelText("Reason for declining");
  expect(reason).toHaveFocus();
  await userEvent.click(screen.getByRole("button", { name: "Decline request" }));
  expect(posts).toHaveLength(0);
  expect(reason).toHaveAccessibleDescription(/Choose a reason/);
  await userEvent.selectOptions(reason, "provider_unavailable");
  await userEvent.click(screen.getByRole("button", { name: "Decline request" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Reason for declining")).toHaveAccessibleDescription(/is not a reason code/));
  expect(posts).toEqual([{ action: "decline", reason: "provider_unavailable" }]);
});

it("intake: an empty queue says so; a failed load offers a retry", async () => {
  let fail = true;
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      fail
        ? json({ type: "urn:swiftacare:problem:internal", title: "Internal Server Error", status: 500, request_id: "r-1" }, 500, "application/problem+json")
        : json({ items: [], page: {} }, 200),
    ),
  );
  render(<IntakeQueue zone="UTC" />);
  expect(await screen.findByRole("alert")).toHaveTextContent(/quote reference r-1/);
  fail = false;
  await userEvent.click(screen.getByRole("button", { name: "Try again" }));
  expect(await screen.findByText("No requests are waiting for approval.")).toBeInTheDocument();
});

it("caseload: every page is read, clients sorted by name, next and last with the zone, none said plainly", async () => {
  const client = (id: string, given: string, family: string) => ({
    id,
    kind: "client",
    given_name: given,
    family_name: family,
    status: "active",
    created_at: "2027-01-01T00:00:00Z",
    updated_at: "2027-01-01T00:00:00Z",
    version: 1,
  });
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    expect(url.pathname).toBe("/api/v1/providers/p1/clients");
    if (!url.searchParams.get("after")) {
      return json({ items: [{ client: client("c2", "Taylor", "Singh") }], page: { next_after: "c2" } }, 200);
    }
    const next = { ...requested("n1", "2027-03-01T15:00:00Z", "Alex Morgan"), status: "booked", type_name: "Therapy session" };
    return json({ items: [{ client: client("c1", "Alex", "Morgan"), next_appointment: next }], page: {} }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<Caseload providerId="p1" zone="Europe/London" />);
  const list = await screen.findByRole("list", { name: "Clients" });
  const cards = within(list).getAllByRole("article");
  expect(cards.map((c) => c.getAttribute("aria-label"))).toEqual(["Alex Morgan", "Taylor Singh"]);
  expect(cards[0]).toHaveTextContent(/(03:00 PM|15:00) GMT/);
  expect(cards[0]).toHaveTextContent("Therapy session");
  expect(cards[0]).toHaveTextContent("None yet");
  expect(cards[1]).toHaveTextContent("None booked");
  expect(within(cards[0]!).getByRole("link", { name: "Book for Alex Morgan" })).toHaveAttribute("href", expect.stringMatching(/^\/book\/?\?client=c1$/));
  expect(fetch).toHaveBeenCalledTimes(2);
});

it("batch history: newest first as the API gives them, older pages on request, a report downloads", async () => {
  const batch = (id: string, status: "running" | "completed", created: string) => ({
    batch_id: id,
    status,
    total: 10,
    booked: status === "completed" ? 8 : 3,
    failed: status === "completed" ? 2 : 0,
    pending: status === "completed" ? 0 : 7,
    percent: status === "completed" ? 100 : 30,
    created_at: created,
  });
  const urls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      urls.push(url.pathname + url.search);
      if (url.pathname.endsWith("/report")) return new Response("line,status\n2,booked\n", { status: 200, headers: { "Content-Type": "text/csv" } });
      if (url.searchParams.get("after") === "b2") return json({ items: [batch("b1", "completed", "2027-01-01T09:00:00Z")], page: {} }, 200);
      return json({ items: [batch("b3", "completed", "2027-01-03T09:00:00Z"), batch("b2", "completed", "2027-01-02T09:00:00Z")], page: { next_after: "b2" } }, 200);
    }),
  );
  const created = vi.fn(() => "blob:report");
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() }));
  render(<BatchHistory zone="UTC" />);
  const table = await screen.findByRole("table");
  expect(within(table).getAllByRole("row")).toHaveLength(3);
  await userEvent.click(screen.getByRole("button", { name: "Show older batches" }));
  await vi.waitFor(() => expect(within(screen.getByRole("table")).getAllByRole("row")).toHaveLength(4));
  expect(screen.queryByRole("button", { name: "Show older batches" })).not.toBeInTheDocument();
  const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
  expect(rows.map((r) => r.querySelector("code")?.textContent)).toEqual(["b3", "b2", "b1"]);
  await userEvent.click(within(rows[2]!).getByRole("button", { name: /^Report \(CSV\) of the batch/ }));
  await vi.waitFor(() => expect(created).toHaveBeenCalledOnce());
  expect(urls).toContain("/api/v1/bulk-batches/b1/report");
});

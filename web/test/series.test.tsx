import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { SeriesForm } from "@/components/scheduling/series-form";
import { SeriesView } from "@/components/scheduling/series-view";
import { describeRule, weeklyRule } from "@/lib/series";
import type { Appointment } from "@/lib/scheduling";

vi.mock("next/navigation", () => ({ useRouter: () => ({ push: vi.fn() }) }));

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const type = {
  id: "t1",
  name: "Therapy session",
  active: true,
  duration_minutes: 50,
  buffer_before_minutes: 0,
  buffer_after_minutes: 10,
  slot_interval_minutes: 60,
  min_notice_minutes: 0,
  max_advance_days: 120,
  cancellation_window_minutes: 1440,
  modality: "video",
  client_bookable: true,
  requires_approval: false,
  created_at: "2027-01-01T00:00:00Z",
  updated_at: "2027-01-01T00:00:00Z",
  version: 1,
} as never;

function occurrence(id: string, start: string, series = "s1"): Appointment {
  return {
    id,
    client_id: "c1",
    client_name: "Taylor Singh",
    provider_id: "p1",
    provider_name: "Maya Chen",
    type_id: "t1",
    type_name: "Therapy session",
    series_id: series,
    series_exception: false,
    status: "booked",
    starts_at: start,
    ends_at: new Date(Date.parse(start) + 50 * 60_000).toISOString(),
    local_start: start,
    timezone: "America/Toronto",
    late_cancellation: false,
    created_at: "2027-01-01T00:00:00Z",
    updated_at: "2027-01-01T00:00:00Z",
    version: 1,
  };
}

const seriesRow = { id: "s1", provider_id: "p1", client_id: "c1", type_id: "t1", timezone: "America/Toronto", first_start: "2027-03-01T10:00:00", rrule: "FREQ=WEEKLY;INTERVAL=2;COUNT=3", status: "active", version: 4 };

it("the rule: every N weeks with a count, and its wording", () => {
  expect(weeklyRule(1, 6)).toBe("FREQ=WEEKLY;COUNT=6");
  expect(weeklyRule(2, 3)).toBe("FREQ=WEEKLY;INTERVAL=2;COUNT=3");
  expect(describeRule("FREQ=WEEKLY;INTERVAL=2;COUNT=3")).toBe("Every 2 weeks, 3 times");
  expect(describeRule("FREQ=WEEKLY;UNTIL=20270601T000000Z")).toBe("Every week, until 2027-06-01");
  expect(describeRule("FREQ=MONTHLY;BYDAY=2TU;COUNT=3")).toBe("Every month on the second Tuesday, 3 times");
  expect(describeRule("FREQ=DAILY;COUNT=3")).toBe("FREQ=DAILY;COUNT=3");
});

it("series form: names the provider's zone, checks before sending, books and lists each conflict", async () => {
  const posted: unknown[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      if (req.method === "GET") {
        expect(url.pathname).toBe("/api/v1/providers/p1/availability");
        return json({ provider_id: "p1", timezone: "America/Toronto", rules: [], overrides: [], version: 1 }, 200);
      }
      expect(url.pathname).toBe("/api/v1/appointment-series");
      posted.push(await req.json());
      return json(
        {
          series: seriesRow,
          appointments: [occurrence("a1", "2027-03-01T15:00:00Z"), occurrence("a3", "2027-03-29T14:00:00Z")],
          conflicts: [{ local_start: "2027-03-15T10:00:00", starts_at: "2027-03-15T14:00:00Z", reason: "the provider is already booked then" }],
        },
        201,
      );
    }),
  );
  render(<SeriesForm types={[type]} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[{ id: "c1", name: "Taylor Singh" }]} zone="America/Toronto" />);
  expect(await screen.findByText(/in the provider's zone, America\/Toronto/)).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  expect(posted).toHaveLength(0);
  expect(screen.getByLabelText("Client")).toHaveAccessibleDescription(/Choose the client/);
  expect(screen.getByLabelText("First date")).toHaveAccessibleDescription(/Choose the first date/);
  await userEvent.selectOptions(screen.getByLabelText("Client"), "c1");
  await userEvent.type(screen.getByLabelText("First date"), "2027-03-01");
  await userEvent.clear(screen.getByLabelText("Repeat every (weeks)"));
  await userEvent.type(screen.getByLabelText("Repeat every (weeks)"), "2");
  await userEvent.clear(screen.getByLabelText("Number of appointments"));
  await userEvent.type(screen.getByLabelText("Number of appointments"), "3");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  await screen.findByText(/2 booked, 1 could not be booked/);
  expect(posted).toEqual([{ provider_id: "p1", client_id: "c1", type_id: "t1", first_start: "2027-03-01T10:00:00", rrule: "FREQ=WEEKLY;INTERVAL=2;COUNT=3" }]);
  const conflicts = screen.getByRole("list", { name: "Occurrences not booked" });
  expect(conflicts).toHaveTextContent(/Mar 15, 2027.*10:00.*\(America\/Toronto\): the provider is already booked then/);
  expect(within(screen.getByRole("list", { name: "Occurrences booked" })).getAllByRole("listitem")).toHaveLength(2);
});

it("series form: the server's 422 on /first_start is shown on the date", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) =>
      req.method === "GET"
        ? json({ provider_id: "p1", timezone: "UTC", rules: [], overrides: [], version: 1 }, 200)
        : json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/first_start", message: "is in the past" }] }, 422, "application/problem+json"),
    ),
  );
  render(<SeriesForm types={[type]} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[{ id: "c1", name: "Taylor Singh" }]} zone="UTC" />);
  await userEvent.selectOptions(screen.getByLabelText("Client"), "c1");
  await userEvent.type(screen.getByLabelText("First date"), "2020-01-06");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  await vi.waitFor(() => expect(screen.getByLabelText("First date")).toHaveAccessibleDescription(/is in the past/));
});

it("series view: cancelling this and following needs a reason and an occurrence, then sends If-Match and the scope", async () => {
  const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const occ = [occurrence("a1", future(7)), occurrence("a2", future(21)), occurrence("a3", future(35))];
  const posts: { path: string; ifMatch: string | null; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      if (req.method === "GET") return json({ series: seriesRow, appointments: occ, conflicts: [] }, 200);
      posts.push({ path: url.pathname, ifMatch: req.headers.get("If-Match"), body: await req.json() });
      return json({ series: { ...seriesRow, version: 5 }, appointments: occ.slice(1).map((a) => ({ ...a, status: "cancelled" })), conflicts: [] }, 200);
    }),
  );
  render(<SeriesView seriesId="s1" zone="America/Toronto" />);
  await screen.findByText(/Every 2 weeks, 3 times/);
  expect(within(screen.getByRole("list", { name: "Appointments in this series" })).getAllByRole("listitem")).toHaveLength(3);
  const form = screen.getByRole("form", { name: "Cancel appointments of the series" });
  await userEvent.click(within(form).getByLabelText("One and every later one"));
  await userEvent.click(within(form).getByRole("button", { name: "Cancel appointments" }));
  expect(posts).toHaveLength(0);
  expect(within(form).getByLabelText("Reason for cancelling")).toHaveAccessibleDescription(/Choose a reason/);
  expect(within(form).getByLabelText("Starting from")).toHaveAccessibleDescription(/Choose the appointment/);
  await userEvent.selectOptions(within(form).getByLabelText("Starting from"), "a2");
  await userEvent.selectOptions(within(form).getByLabelText("Reason for cancelling"), "illness");
  await userEvent.click(within(form).getByRole("button", { name: "Cancel appointments" }));
  await screen.findByText("Cancelled 2 appointments.");
  expect(posts).toEqual([{ path: "/api/v1/appointment-series/s1/cancel", ifMatch: '"4"', body: { scope: "following", from_appointment_id: "a2", reason: "illness" } }]);
});

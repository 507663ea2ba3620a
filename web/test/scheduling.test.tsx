import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { CancelForm } from "@/components/scheduling/cancel-form";
import { SlotPicker } from "@/components/scheduling/slot-picker";
import { groupByDay, isLateCancellation, type Appointment } from "@/lib/scheduling";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

function appointment(startsInMinutes: number): Appointment {
  const start = new Date(Date.now() + startsInMinutes * 60_000);
  return {
    id: "a1",
    client_id: "c1",
    provider_id: "p1",
    provider_name: "Maya Chen",
    type_id: "t1",
    type_name: "Therapy session",
    status: "booked",
    starts_at: start.toISOString(),
    ends_at: new Date(start.getTime() + 50 * 60_000).toISOString(),
    local_start: start.toISOString(),
    timezone: "America/Toronto",
    late_cancellation: false,
    series_exception: false,
    created_at: start.toISOString(),
    updated_at: start.toISOString(),
    version: 3,
  };
}

it("slots are grouped by day in the zone asked for, and the zone is named", () => {
  const slots = [
    { provider_id: "p1", starts_at: "2027-03-01T09:00:00-05:00", ends_at: "2027-03-01T09:50:00-05:00" },
    { provider_id: "p1", starts_at: "2027-03-01T23:30:00-05:00", ends_at: "2027-03-02T00:20:00-05:00" },
  ];
  // 23:30 in Toronto is the next day in London.
  expect(groupByDay(slots, "America/Toronto")).toHaveLength(1);
  expect(groupByDay(slots, "Europe/London")).toHaveLength(2);
  const chosen = vi.fn();
  render(<SlotPicker slots={slots} zone="America/Toronto" value={null} onChange={chosen} />);
  const group = screen.getByRole("group", { name: /Available times \(shown in America\/Toronto\)/ });
  const radios = within(group).getAllByRole("radio");
  expect(radios).toHaveLength(2);
  return userEvent.click(radios[0]!).then(() => expect(chosen).toHaveBeenCalledWith("p1|2027-03-01T09:00:00-05:00"));
});

it("no slots says what to do instead", () => {
  render(<SlotPicker slots={[]} zone="UTC" value={null} onChange={() => {}} />);
  expect(screen.getByText(/join the waitlist/)).toBeInTheDocument();
});

it("late cancellation: inside the window only, and only before the start", () => {
  const now = Date.parse("2027-01-01T10:00:00Z");
  expect(isLateCancellation("2027-01-01T20:00:00Z", 24 * 60, now)).toBe(true);
  expect(isLateCancellation("2027-01-03T10:00:00Z", 24 * 60, now)).toBe(false);
  expect(isLateCancellation("2027-01-01T09:00:00Z", 24 * 60, now)).toBe(false);
  expect(isLateCancellation("2027-01-01T20:00:00Z", 0, now)).toBe(false);
});

it("cancel: warns when late, needs a reason before any request, sends If-Match and the reason code", async () => {
  const fetch = vi.fn(async (req: Request) => {
    expect(req.method).toBe("POST");
    expect(new URL(req.url).pathname).toBe("/api/v1/appointments/a1/transitions");
    expect(req.headers.get("If-Match")).toBe('"3"');
    expect(await req.json()).toEqual({ action: "cancel", reason: "illness" });
    return json({ ...appointment(60), status: "cancelled", late_cancellation: true, version: 4 }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  const done = vi.fn();
  render(<CancelForm appointment={appointment(60)} windowMinutes={24 * 60} onDone={done} onClose={() => {}} />);
  expect(screen.getByText("This is a late cancellation")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Cancel appointment" }));
  expect(fetch).not.toHaveBeenCalled();
  expect(screen.getByLabelText("Reason for cancelling")).toHaveAccessibleDescription(/Choose a reason/);
  await userEvent.selectOptions(screen.getByLabelText("Reason for cancelling"), "illness");
  await userEvent.click(screen.getByRole("button", { name: "Cancel appointment" }));
  await vi.waitFor(() => expect(done).toHaveBeenCalledOnce());
  expect(done.mock.calls[0]![0]).toMatchObject({ status: "cancelled", late_cancellation: true });
});

it("cancel: no warning outside the window; a stale version (412) is explained", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => json({ type: "urn:swiftacare:problem:precondition-failed", title: "Precondition Failed", status: 412 }, 412, "application/problem+json")),
  );
  render(<CancelForm appointment={appointment(3 * 24 * 60)} windowMinutes={24 * 60} onDone={() => {}} onClose={() => {}} />);
  expect(screen.queryByText("This is a late cancellation")).not.toBeInTheDocument();
  await userEvent.selectOptions(screen.getByLabelText("Reason for cancelling"), "client_request");
  await userEvent.click(screen.getByRole("button", { name: "Cancel appointment" }));
  expect(await screen.findByRole("alert")).toHaveTextContent(/Someone else changed this/);
});

it("cancel: a field error from the server is shown on the reason", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      json(
        { type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/reason", message: "is not a reason code" }] },
        422,
        "application/problem+json",
      ),
    ),
  );
  render(<CancelForm appointment={appointment(3 * 24 * 60)} windowMinutes={60} onDone={() => {}} onClose={() => {}} />);
  await userEvent.selectOptions(screen.getByLabelText("Reason for cancelling"), "other");
  await userEvent.click(screen.getByRole("button", { name: "Cancel appointment" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Reason for cancelling")).toHaveAccessibleDescription(/is not a reason code/));
});

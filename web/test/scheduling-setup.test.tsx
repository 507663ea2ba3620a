import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { TypeForm } from "@/app/(app)/admin/scheduling/page";

vi.mock("@/components/shell/session-context", () => ({ useSession: () => ({ isInstitutionAdmin: true }) }));

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const intake = {
  id: "t9",
  name: "Intake assessment (90 min)",
  active: true,
  duration_minutes: 90,
  buffer_before_minutes: 0,
  buffer_after_minutes: 0,
  slot_interval_minutes: 90,
  min_notice_minutes: 0,
  max_advance_days: 120,
  cancellation_window_minutes: 1440,
  modality: "in_person",
  location_id: "l1",
  client_bookable: true,
  requires_approval: true,
  created_at: "2027-01-01T00:00:00Z",
  updated_at: "2027-01-01T00:00:00Z",
  version: 7,
} as never;

it("editing a service starts from its values, PATCHes with If-Match, and shows the server's field error", async () => {
  const sent: { method: string; path: string; ifMatch: string | null; body: Record<string, unknown> }[] = [];
  let answer = 422;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      sent.push({ method: req.method, path: new URL(req.url).pathname, ifMatch: req.headers.get("If-Match"), body: await req.json() });
      return answer === 422
        ? json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/duration_minutes", message: "must be between 5 and 480" }] }, 422, "application/problem+json")
        : json({ ...(intake as object), cancellation_window_minutes: 2880, version: 8 }, 200);
    }),
  );
  const done = vi.fn();
  const locations = [{ id: "l1", name: "Outpatient Wing", timezone: "America/Toronto", active: true, created_at: "", updated_at: "", version: 1 }] as never;
  render(<TypeForm existing={intake} locations={locations} onDone={done} onCancel={() => {}} />);
  expect(screen.getByRole("form", { name: "Edit Intake assessment (90 min)" })).toBeInTheDocument();
  expect(screen.getByLabelText("Length (minutes)")).toHaveValue(90);
  expect(screen.getByLabelText("Location")).toHaveValue("l1");
  await userEvent.clear(screen.getByLabelText("Length (minutes)"));
  await userEvent.type(screen.getByLabelText("Length (minutes)"), "0");
  await userEvent.click(screen.getByRole("button", { name: "Save service" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Length (minutes)")).toHaveAccessibleDescription(/must be between 5 and 480/));
  expect(done).not.toHaveBeenCalled();
  answer = 200;
  await userEvent.clear(screen.getByLabelText("Length (minutes)"));
  await userEvent.type(screen.getByLabelText("Length (minutes)"), "90");
  await userEvent.clear(screen.getByLabelText("Late cancellation inside (minutes)"));
  await userEvent.type(screen.getByLabelText("Late cancellation inside (minutes)"), "2880");
  await userEvent.click(screen.getByRole("button", { name: "Save service" }));
  await vi.waitFor(() => expect(done).toHaveBeenCalledOnce());
  expect(sent[1]).toMatchObject({ method: "PATCH", path: "/api/v1/appointment-types/t9", ifMatch: '"7"' });
  expect(sent[1]!.body).toMatchObject({ duration_minutes: 90, cancellation_window_minutes: 2880, location_id: "l1", requires_approval: true });
});

it("narrows a service to some providers with a PUT under the service's version", async () => {
  const { TypeOffering } = await import("@/components/scheduling/type-offering");
  const puts: { ifMatch: string | null; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (path === "/api/v1/appointment-types/t9/providers" && req.method === "GET") return json({ all_providers: true, provider_ids: [] }, 200);
      if (path === "/api/v1/appointment-types/t9/providers" && req.method === "PUT") {
        puts.push({ ifMatch: req.headers.get("If-Match"), body: await req.json() });
        return json({ all_providers: false, provider_ids: ["p2"] }, 200);
      }
      if (path === "/api/v1/people")
        return json({ items: [
          { id: "p1", kind: "provider", given_name: "Maya", family_name: "Chen", status: "active", sms_reminders: false, created_at: "", updated_at: "", version: 1 },
          { id: "p2", kind: "provider", given_name: "Sam", family_name: "Okafor", status: "active", sms_reminders: false, created_at: "", updated_at: "", version: 1 },
        ], page: { limit: 200 } }, 200);
      return json({}, 404);
    }),
  );
  const done = vi.fn();
  render(<TypeOffering type={intake} onDone={done} onCancel={() => {}} />);
  await userEvent.click(await screen.findByLabelText("Only these providers"));
  await userEvent.click(screen.getByLabelText("Sam Okafor"));
  await userEvent.click(screen.getByRole("button", { name: "Save who offers it" }));
  await vi.waitFor(() => expect(done).toHaveBeenCalledOnce());
  expect(puts).toEqual([{ ifMatch: '"7"', body: { all_providers: false, provider_ids: ["p2"] } }]);
});

import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { BreakGlassForm } from "@/components/access/break-glass-form";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const CLIENT = "0190c2a4-1111-7222-8333-944455556666";

it("break-glass: checks before sending, opens with the reason, reads the record, ends early", async () => {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const path = new URL(req.url).pathname;
      calls.push({ method: req.method, path, body: req.method === "POST" ? await req.json() : undefined });
      if (req.method === "POST") return json({ id: "g1", client_id: CLIENT, reason_code: "emergency", expires_at: "2027-01-01T15:00:00Z" }, 201);
      if (req.method === "GET") return json({ id: CLIENT, kind: "client", given_name: "Casey", family_name: "Nguyen", status: "active", created_at: "", updated_at: "", version: 1 }, 200);
      return new Response(null, { status: 204 });
    }),
  );
  render(<BreakGlassForm clients={[]} zone="America/Toronto" />);
  await userEvent.type(screen.getByLabelText("Or the client's id"), "not-an-id");
  await userEvent.type(screen.getByLabelText("Reason", { exact: true }), "short");
  await userEvent.click(screen.getByRole("button", { name: "Open access" }));
  expect(calls).toHaveLength(0);
  expect(screen.getByLabelText("Or the client's id")).toHaveAccessibleDescription(/36 characters/);
  expect(screen.getByLabelText("Reason code")).toHaveAccessibleDescription(/Choose a reason code/);
  expect(screen.getByLabelText("Reason", { exact: true })).toHaveAccessibleDescription(/at least 10 characters/);
  await userEvent.clear(screen.getByLabelText("Or the client's id"));
  await userEvent.type(screen.getByLabelText("Or the client's id"), CLIENT);
  await userEvent.selectOptions(screen.getByLabelText("Reason code"), "emergency");
  await userEvent.type(screen.getByLabelText("Reason", { exact: true }), " of breath: seen in the ED");
  // Editing a field clears its message.
  expect(screen.getByLabelText("Reason", { exact: true })).not.toHaveAccessibleDescription(/at least 10 characters/);
  await userEvent.click(screen.getByRole("button", { name: "Open access" }));
  expect(await screen.findByText("Access open to Casey Nguyen's records")).toBeInTheDocument();
  // 15:00 UTC is 10:00 in Toronto, and the zone is named.
  expect(screen.getByText(/Until .*10:00( AM)? EST/)).toBeInTheDocument();
  expect(calls[0]).toEqual({ method: "POST", path: "/api/v1/break-glass", body: { client_id: CLIENT, reason_code: "emergency", reason: "short of breath: seen in the ED", minutes: 60 } });
  expect(calls[1]).toMatchObject({ method: "GET", path: `/api/v1/people/${CLIENT}` });
  await userEvent.click(screen.getByRole("button", { name: "End access now" }));
  expect(await screen.findByText("Access ended")).toBeInTheDocument();
  expect(calls[2]).toMatchObject({ method: "DELETE", path: "/api/v1/break-glass/g1" });
});

it("break-glass: the server's 422 on /reason is shown on the field", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/reason", message: "must be 10 to 1000 characters" }] }, 422, "application/problem+json"),
    ),
  );
  render(<BreakGlassForm clients={[{ id: CLIENT, name: "Casey Nguyen" }]} zone="UTC" />);
  await userEvent.selectOptions(screen.getByLabelText("Client"), CLIENT);
  await userEvent.selectOptions(screen.getByLabelText("Reason code"), "patient_safety");
  await userEvent.type(screen.getByLabelText("Reason", { exact: true }), "ten chars at least");
  await userEvent.click(screen.getByRole("button", { name: "Open access" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Reason", { exact: true })).toHaveAccessibleDescription(/must be 10 to 1000 characters/));
});

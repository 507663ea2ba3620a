import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { PersonPanel } from "@/components/people/person-panel";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => vi.unstubAllGlobals());

const client = {
  id: "c1",
  kind: "client",
  given_name: "Alex",
  family_name: "Morgan",
  email: "alex@example.org",
  status: "active",
  sms_reminders: false,
  created_at: "2027-01-01T00:00:00Z",
  updated_at: "2027-01-01T00:00:00Z",
  version: 3,
} as never;

it("records a client's mobile number and SMS consent, and shows the server's field error next to the number", async () => {
  const patches: { ifMatch: string | null; body: Record<string, unknown> }[] = [];
  let answer = 422;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (req.method === "PATCH" && path === "/api/v1/people/c1") {
        patches.push({ ifMatch: req.headers.get("If-Match"), body: await req.json() });
        return answer === 422
          ? json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/phone", message: "must be an international phone number" }] }, 422, "application/problem+json")
          : json({ ...(client as object), phone: "+14165550123", sms_reminders: true, version: 4 }, 200);
      }
      return json([], 200);
    }),
  );
  const changed = vi.fn();
  render(<PersonPanel person={client} departments={[]} onChanged={changed} onClose={() => {}} />);
  await userEvent.type(screen.getByLabelText("Mobile number"), "416 555 0123");
  await userEvent.click(screen.getByLabelText(/agreed to appointment reminders by text message/));
  await userEvent.click(screen.getByRole("button", { name: "Save details" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Mobile number")).toHaveAccessibleDescription(/must be an international phone number/));
  expect(changed).not.toHaveBeenCalled();
  answer = 200;
  await userEvent.clear(screen.getByLabelText("Mobile number"));
  await userEvent.type(screen.getByLabelText("Mobile number"), "+1 416 555 0123");
  await userEvent.click(screen.getByRole("button", { name: "Save details" }));
  await vi.waitFor(() => expect(changed).toHaveBeenCalledOnce());
  expect(patches[1]).toMatchObject({ ifMatch: '"3"', body: { phone: "+1 416 555 0123", sms_reminders: true } });
  expect(patches[1]!.body).not.toHaveProperty("email");
});

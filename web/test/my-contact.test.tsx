import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { MyContact } from "@/components/people/my-contact";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => vi.unstubAllGlobals());

it("a client records their own number and consent: the server's field error next to the number, then If-Match and only what changed", async () => {
  const patches: { ifMatch: string | null; body: Record<string, unknown> }[] = [];
  let answer = 422;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const path = new URL(req.url).pathname;
      if (path !== "/api/v1/me/contact") return json({}, 404);
      if (req.method === "GET") return json({ sms_reminders: false, version: 3 }, 200);
      patches.push({ ifMatch: req.headers.get("If-Match"), body: await req.json() });
      return answer === 422
        ? json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/phone", message: "must be an international phone number" }] }, 422, "application/problem+json")
        : json({ phone: "+14165550123", sms_reminders: true, version: 4 }, 200);
    }),
  );
  render(<MyContact />);
  const number = await screen.findByLabelText("Mobile number");
  await userEvent.type(number, "416 555 0123");
  await userEvent.click(screen.getByLabelText("Send me appointment reminders by text message"));
  await userEvent.click(screen.getByRole("button", { name: "Save contact preferences" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Mobile number")).toHaveAccessibleDescription(/must be an international phone number/));
  expect(screen.getByLabelText("Mobile number")).toHaveAttribute("aria-invalid", "true");
  expect(screen.queryByRole("status")).toBeNull();
  answer = 200;
  await userEvent.clear(screen.getByLabelText("Mobile number"));
  await userEvent.type(screen.getByLabelText("Mobile number"), "+1 416 555 0123");
  await userEvent.click(screen.getByRole("button", { name: "Save contact preferences" }));
  expect(await screen.findByRole("status")).toHaveTextContent("by text message to +14165550123");
  expect(patches[1]).toEqual({ ifMatch: '"3"', body: { phone: "+1 416 555 0123", sms_reminders: true } });
  // The form now shows what the server stored, at the new version.
  expect(screen.getByLabelText("Mobile number")).toHaveValue("+14165550123");
  expect(screen.getByLabelText("Send me appointment reminders by text message")).toBeChecked();
});

it("withdrawing consent sends only that, with the new version, and a 422 on /sms_reminders is shown on the checkbox", async () => {
  const patches: { ifMatch: string | null; body: Record<string, unknown> }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      if (req.method === "GET") return json({ phone: "+447911123456", sms_reminders: true, version: 7 }, 200);
      const body = await req.json();
      patches.push({ ifMatch: req.headers.get("If-Match"), body });
      return "phone" in body
        ? json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/sms_reminders", message: "text-message reminders need a phone number" }] }, 422, "application/problem+json")
        : json({ phone: "+447911123456", sms_reminders: false, version: 8 }, 200);
    }),
  );
  render(<MyContact />);
  // Removing the number while consenting: the server's refusal lands on the checkbox.
  await userEvent.clear(await screen.findByLabelText("Mobile number"));
  await userEvent.click(screen.getByRole("button", { name: "Save contact preferences" }));
  const box = screen.getByLabelText("Send me appointment reminders by text message");
  await vi.waitFor(() => expect(box).toHaveAccessibleDescription(/need a phone number/));
  expect(patches[0]).toEqual({ ifMatch: '"7"', body: { phone: null } });
  await userEvent.type(screen.getByLabelText("Mobile number"), "+447911123456");
  await userEvent.click(box);
  await userEvent.click(screen.getByRole("button", { name: "Save contact preferences" }));
  expect(await screen.findByRole("status")).toHaveTextContent("No more reminders will be sent by text message");
  expect(patches[1]).toEqual({ ifMatch: '"7"', body: { sms_reminders: false } });
});

it("a failed load says so and offers a retry", async () => {
  let fail = true;
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      fail
        ? json({ type: "urn:swiftacare:problem:internal", title: "Internal Server Error", status: 500, request_id: "req-42" }, 500, "application/problem+json")
        : json({ sms_reminders: false, version: 1 }, 200),
    ),
  );
  render(<MyContact />);
  expect(await screen.findByText(/req-42/)).toBeInTheDocument();
  fail = false;
  await userEvent.click(screen.getByRole("button", { name: /try again|retry/i }));
  expect(await screen.findByLabelText("Mobile number")).toHaveValue("");
});

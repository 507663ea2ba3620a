import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { AddPersonForm } from "@/components/people/add-person";
import { ChoosePassword } from "@/components/auth/choose-password";

function problem(status: number, body: object) {
  return new Response(JSON.stringify({ title: "x", status, ...body }), {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

beforeEach(() => {
  window.localStorage.clear();
  window.history.replaceState(null, "", "/");
});
afterEach(() => vi.unstubAllGlobals());

it("add person: each field the server names shows its own message, and nothing else is lost", async () => {
  const fetch = vi.fn(async (req: Request) => {
    expect(req.method).toBe("POST");
    expect(new URL(req.url).pathname).toBe("/api/v1/people");
    expect(await req.json()).toEqual({ kind: "provider", given_name: "", family_name: "Lee", email: "not-an-email" });
    return problem(422, {
      type: "urn:swiftacare:problem:validation",
      errors: [
        { field: "/given_name", message: "must not be empty" },
        { field: "/email", message: "is not a valid email address" },
      ],
    });
  });
  vi.stubGlobal("fetch", fetch);
  const created = vi.fn();
  render(<AddPersonForm departments={[]} onCreated={created} onCancel={vi.fn()} />);
  await userEvent.type(screen.getByLabelText(/^Family name/), "Lee");
  await userEvent.type(screen.getByLabelText(/^Email/), "not-an-email");
  await userEvent.click(screen.getByRole("button", { name: "Add person" }));

  expect(await screen.findByRole("alert")).toHaveTextContent("Please correct the 2 highlighted fields.");
  expect(screen.getByLabelText(/^Given name/)).toHaveAccessibleDescription("must not be empty");
  expect(screen.getByLabelText(/^Email/)).toHaveAccessibleDescription(/is not a valid email address/);
  expect(screen.getByLabelText(/^Family name/)).not.toHaveAttribute("aria-invalid");
  expect(created).not.toHaveBeenCalled();
});

it("add person: a conflict is explained at the top of the form", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => problem(409, { type: "urn:swiftacare:problem:conflict", detail: "a person with this email already exists" })),
  );
  render(<AddPersonForm departments={[]} onCreated={vi.fn()} onCancel={vi.fn()} />);
  await userEvent.click(screen.getByRole("button", { name: "Add person" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("A person with this email already exists.");
});

it("invitation link: passwords must match before anything is sent", async () => {
  window.history.replaceState(null, "", "/accept-invite/?tenant=demo#token=sco_abc");
  const fetch = vi.fn();
  vi.stubGlobal("fetch", fetch);
  render(<ChoosePassword kind="invite" />);
  await userEvent.type(await screen.findByLabelText(/^Choose a password/), "one long password");
  await userEvent.type(screen.getByLabelText(/^Repeat the password/), "another long password");
  await userEvent.click(screen.getByRole("button", { name: "Create my account" }));
  expect(screen.getByLabelText(/^Repeat the password/)).toHaveAccessibleDescription(/do not match/);
  expect(fetch).not.toHaveBeenCalled();
});

it("invitation link: the secret comes from the fragment, and a spent link says what to do", async () => {
  window.history.replaceState(null, "", "/accept-invite/?tenant=demo#token=sco_abc");
  const fetch = vi.fn(async (req: Request) => {
    expect(req.headers.get("X-Tenant")).toBe("demo");
    expect(await req.json()).toEqual({ token: "sco_abc", password: "one long password" });
    return problem(422, { type: "urn:swiftacare:problem:validation", errors: [{ field: "/token", message: "the link is invalid, used or expired" }] });
  });
  vi.stubGlobal("fetch", fetch);
  render(<ChoosePassword kind="invite" />);
  await userEvent.type(await screen.findByLabelText(/^Choose a password/), "one long password");
  await userEvent.type(screen.getByLabelText(/^Repeat the password/), "one long password");
  await userEvent.click(screen.getByRole("button", { name: "Create my account" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("This link can no longer be used");
  expect(screen.getByRole("alert")).toHaveTextContent("Ask your administrator to send a new invitation.");
});

it("invitation link: success says what happens next", async () => {
  window.history.replaceState(null, "", "/accept-invite/?tenant=demo#token=sco_abc");
  vi.stubGlobal("fetch", vi.fn(async () => new Response(null, { status: 204 })));
  render(<ChoosePassword kind="invite" />);
  await userEvent.type(await screen.findByLabelText(/^Choose a password/), "one long password");
  await userEvent.type(screen.getByLabelText(/^Repeat the password/), "one long password");
  await userEvent.click(screen.getByRole("button", { name: "Create my account" }));
  expect(await screen.findByText("Your account is ready")).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Continue to sign in" })).toHaveAttribute("href", expect.stringMatching(/^\/sign-in\/?\?tenant=demo$/));
  expect(window.localStorage.getItem("swiftacare.tenant")).toBe("demo");
});

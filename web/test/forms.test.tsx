import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { TenantStep } from "@/components/auth/tenant-step";
import { FormProblem, TextField } from "@/components/form";
import { ApiProblem } from "@/lib/problem";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

beforeEach(() => {
  window.localStorage.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

it("a field error is tied to its control", () => {
  render(<TextField label="Email" name="email" error="is not a valid email address" />);
  const input = screen.getByLabelText("Email");
  expect(input).toHaveAttribute("aria-invalid", "true");
  expect(input).toHaveAccessibleDescription(/is not a valid email address/);
});

it("the form summary counts placed errors and lists the others", () => {
  const p = new ApiProblem({
    type: "urn:swiftacare:problem:validation",
    title: "Unprocessable Entity",
    status: 422,
    errors: [
      { field: "/email", message: "bad" },
      { field: "/secret_thing", message: "no" },
    ],
  });
  render(<FormProblem problem={p} fields={["email"]} />);
  expect(screen.getByRole("alert")).toHaveTextContent("Please correct the highlighted field.");
  expect(screen.getByRole("alert")).toHaveTextContent("/secret_thing: no");
});

it("organisation step: an unknown organisation is shown on the field", async () => {
  const fetch = vi.fn(async (req: Request) => {
    expect(req.headers.get("X-Tenant")).toBe("nowhere");
    return json({ type: "urn:swiftacare:problem:not-found", title: "Not Found", status: 404, detail: "no such tenant" }, 404, "application/problem+json");
  });
  vi.stubGlobal("fetch", fetch);
  const chosen = vi.fn();
  render(<TenantStep onChosen={chosen} />);
  await userEvent.type(screen.getByLabelText(/Organisation/), "  Nowhere ");
  await userEvent.click(screen.getByRole("button", { name: "Continue" }));
  const field = await screen.findByLabelText(/Organisation/);
  expect(field).toHaveAttribute("aria-invalid", "true");
  expect(field).toHaveAccessibleDescription(/No organisation uses this address/);
  expect(chosen).not.toHaveBeenCalled();
});

it("organisation step: a known organisation is remembered", async () => {
  // Before sign-in the API answers 401 for a live organisation (404 for an unknown one).
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => json({ type: "urn:swiftacare:problem:unauthenticated", title: "Unauthorized", status: 401 }, 401, "application/problem+json")),
  );
  const chosen = vi.fn();
  render(<TenantStep onChosen={chosen} />);
  await userEvent.type(screen.getByLabelText(/Organisation/), "demo");
  await userEvent.click(screen.getByRole("button", { name: "Continue" }));
  await vi.waitFor(() => expect(chosen).toHaveBeenCalledWith({ slug: "demo", name: null }));
  expect(window.localStorage.getItem("swiftacare.tenant")).toBe("demo");
});

it("organisation step: an invalid short name is caught before asking the server", async () => {
  const fetch = vi.fn();
  vi.stubGlobal("fetch", fetch);
  render(<TenantStep onChosen={vi.fn()} />);
  await userEvent.type(screen.getByLabelText(/Organisation/), "not valid!");
  await userEvent.click(screen.getByRole("button", { name: "Continue" }));
  expect(screen.getByLabelText(/Organisation/)).toHaveAccessibleDescription(/lower-case letters/);
  expect(fetch).not.toHaveBeenCalled();
});

import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { ConnectionActions } from "@/components/sso/connection-actions";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const connection = {
  id: "k1",
  name: "Hospital Entra ID",
  protocol: "oidc",
  domains: ["hospital.example"],
  group_mappings: [],
  password_login_allowed: false,
  scim_enabled: true,
  start_url: "http://x/api/v1/auth/sso/k1/start",
  created_at: "2027-01-01T00:00:00Z",
} as never;

it("SCIM token: nothing is sent before confirming; the new token is shown once with its URL", async () => {
  const fetch = vi.fn(async (req: Request) => {
    expect(req.method).toBe("POST");
    expect(new URL(req.url).pathname).toBe("/api/v1/sso/connections/k1/scim-token");
    return json({ token: "scim_secret_1", base_url: "http://x/scim/v2" }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<ConnectionActions c={connection} onDeleted={() => {}} />);
  await userEvent.click(screen.getByRole("button", { name: "Issue a SCIM token for Hospital Entra ID" }));
  expect(fetch).not.toHaveBeenCalled();
  expect(screen.getByText(/stops the current one from working/)).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Issue the token" }));
  expect(await screen.findByLabelText("SCIM token")).toHaveValue("scim_secret_1");
  expect(screen.getByLabelText("SCIM base URL")).toHaveValue("http://x/scim/v2");
  expect(screen.getByText("Copy the SCIM token now")).toBeInTheDocument();
  expect(fetch).toHaveBeenCalledOnce();
});

it("delete: warns when passwords are off for its domains, sends DELETE only on confirmation, explains a refusal", async () => {
  let status = 403;
  const fetch = vi.fn(async (req: Request) => {
    expect(req.method).toBe("DELETE");
    expect(new URL(req.url).pathname).toBe("/api/v1/sso/connections/k1");
    return status === 204
      ? new Response(null, { status: 204 })
      : json({ type: "urn:swiftacare:problem:forbidden", title: "Forbidden", status: 403, detail: "only institution admins manage SSO" }, 403, "application/problem+json");
  });
  vi.stubGlobal("fetch", fetch);
  const deleted = vi.fn();
  render(<ConnectionActions c={connection} onDeleted={deleted} />);
  await userEvent.click(screen.getByRole("button", { name: "Delete Hospital Entra ID" }));
  expect(screen.getByRole("group", { name: "Confirm deleting Hospital Entra ID" })).toHaveTextContent(/passwords were turned off for them/);
  await userEvent.click(screen.getByRole("button", { name: "Keep it" }));
  expect(fetch).not.toHaveBeenCalled();
  await userEvent.click(screen.getByRole("button", { name: "Delete Hospital Entra ID" }));
  await userEvent.click(screen.getByRole("button", { name: "Delete the connection" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("Only institution admins manage SSO.");
  expect(deleted).not.toHaveBeenCalled();
  status = 204;
  await userEvent.click(screen.getByRole("button", { name: "Delete the connection" }));
  await vi.waitFor(() => expect(deleted).toHaveBeenCalledOnce());
});

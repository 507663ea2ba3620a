import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, it, vi } from "vitest";

const replace = vi.fn();
vi.mock("next/navigation", () => ({ useRouter: () => ({ replace, push: vi.fn() }) }));

import { SsoStep, safeStartUrl } from "@/components/auth/sso-step";
import SsoCompletePage from "@/app/sso/complete/page";
import { hasSession, sessionTenant } from "@/lib/session";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

beforeEach(() => {
  window.localStorage.clear();
  replace.mockReset();
});
afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

it("only this server's SSO start endpoint is followed", () => {
  expect(safeStartUrl("http://localhost:3000/api/v1/auth/sso/0190/start")).toBe("http://localhost:3000/api/v1/auth/sso/0190/start");
  expect(safeStartUrl("https://evil.example/phish")).toBeNull();
  expect(safeStartUrl("javascript:alert(1)")).toBeNull();
  expect(safeStartUrl(undefined)).toBeNull();
});

it("home-realm discovery sends an SSO email to the identity provider", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      expect(new URL(req.url).pathname).toBe("/api/v1/auth/sso/discover");
      expect(req.headers.get("X-Tenant")).toBe("demo");
      expect(await req.json()).toEqual({ email: "alice@clinic.example" });
      return json({ method: "sso", password_login_allowed: false, protocol: "saml", start_url: "http://localhost:3000/api/v1/auth/sso/abc/start" }, 200);
    }),
  );
  const go = vi.fn();
  render(<SsoStep tenant="demo" onPassword={vi.fn()} go={go} />);
  await userEvent.type(screen.getByLabelText(/^Work email/), " alice@clinic.example ");
  await userEvent.click(screen.getByRole("button", { name: "Continue with your organisation" }));
  await vi.waitFor(() => expect(go).toHaveBeenCalledWith("http://localhost:3000/api/v1/auth/sso/abc/start"));
});

it("an email without SSO is told to use the password, which keeps the email", async () => {
  vi.stubGlobal("fetch", vi.fn(async () => json({ method: "password", password_login_allowed: true }, 200)));
  const go = vi.fn();
  const onPassword = vi.fn();
  render(<SsoStep tenant="demo" onPassword={onPassword} go={go} />);
  await userEvent.type(screen.getByLabelText(/^Work email/), "sam@elsewhere.example");
  await userEvent.click(screen.getByRole("button", { name: "Continue with your organisation" }));
  expect(await screen.findByText("Use your password")).toBeInTheDocument();
  expect(go).not.toHaveBeenCalled();
  await userEvent.click(screen.getByRole("button", { name: "Sign in with a password instead" }));
  expect(onPassword).toHaveBeenCalledWith("sam@elsewhere.example");
});

it("/sso/complete exchanges the code once, forgets it from the address bar and signs in", async () => {
  window.history.replaceState(null, "", "/sso/complete/#tenant=demo&code=sso_abc");
  const fetch = vi.fn(async (req: Request) => {
    expect(new URL(req.url).pathname).toBe("/api/v1/auth/sso/exchange");
    expect(req.headers.get("X-Tenant")).toBe("demo");
    expect(await req.json()).toEqual({ code: "sso_abc" });
    return json({ access_token: "at", refresh_token: "rt", session_id: "s1", expires_at: new Date(Date.now() + 600_000).toISOString(), token_type: "Bearer" }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<SsoCompletePage />);
  await vi.waitFor(() => expect(replace).toHaveBeenCalledWith("/home/"));
  expect(fetch).toHaveBeenCalledOnce();
  expect(window.location.hash).toBe("");
  expect(hasSession()).toBe(true);
  expect(sessionTenant()).toBe("demo");
});

it("/sso/complete explains a refused sign-in and links back to sign-in", async () => {
  window.history.replaceState(null, "", "/sso/complete/#tenant=demo&code=sso_used");
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => json({ type: "urn:swiftacare:problem:sso-no-role-mapped", title: "Forbidden", status: 403, detail: "no role is mapped to your groups" }, 403, "application/problem+json")),
  );
  render(<SsoCompletePage />);
  expect(await screen.findByText(/No role is mapped to your groups/)).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "Back to sign-in" })).toHaveAttribute("href", expect.stringMatching(/^\/sign-in\/?\?tenant=demo$/));
  expect(replace).not.toHaveBeenCalled();
});

it("/sso/complete without a code says the link is incomplete, without a request", async () => {
  window.history.replaceState(null, "", "/sso/complete/");
  const fetch = vi.fn();
  vi.stubGlobal("fetch", fetch);
  render(<SsoCompletePage />);
  expect(await screen.findByText(/This sign-in link is invalid/)).toBeInTheDocument();
  expect(fetch).not.toHaveBeenCalled();
});

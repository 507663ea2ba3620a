import { beforeEach, expect, it, vi } from "vitest";

function session(n: number) {
  return {
    access_token: `access-${n}`,
    token_type: "Bearer",
    expires_in: 600,
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    refresh_token: `refresh-${n}`,
    session_id: "s1",
    session_expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    mfa_enrolment_required: false,
  };
}

beforeEach(() => {
  window.localStorage.clear();
  vi.resetModules();
  vi.unstubAllGlobals();
});

it("concurrent callers share one refresh, so a refresh token is never presented twice", async () => {
  window.localStorage.setItem("swiftacare.session", JSON.stringify({ tenant: "demo", refresh_token: "refresh-0", session_id: "s1" }));
  const fetch = vi.fn(async (_url: string, init: RequestInit) => {
    expect(JSON.parse(init.body as string)).toEqual({ refresh_token: "refresh-0" });
    return new Response(JSON.stringify(session(1)), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetch);
  const s = await import("@/lib/session");
  const tokens = await Promise.all([s.accessToken(), s.accessToken(), s.accessToken()]);
  expect(tokens).toEqual(["access-1", "access-1", "access-1"]);
  expect(fetch).toHaveBeenCalledTimes(1);
  expect(JSON.parse(window.localStorage.getItem("swiftacare.session")!).refresh_token).toBe("refresh-1");
});

it("a refused refresh ends the session", async () => {
  window.localStorage.setItem("swiftacare.session", JSON.stringify({ tenant: "demo", refresh_token: "used", session_id: "s1" }));
  vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 401 })));
  const s = await import("@/lib/session");
  expect(await s.accessToken()).toBeNull();
  expect(s.hasSession()).toBe(false);
});

it("offline: the stored session is kept for the next try", async () => {
  window.localStorage.setItem("swiftacare.session", JSON.stringify({ tenant: "demo", refresh_token: "r", session_id: "s1" }));
  vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("offline"))));
  const s = await import("@/lib/session");
  expect(await s.accessToken()).toBeNull();
  expect(s.hasSession()).toBe(true);
});

// Token handling for the tenant API (the why is in docs/WEB.md):
// - the access token (10 min) lives only in this tab's memory;
// - the rotating refresh token lives in localStorage with the tenant it belongs to, so a reload
//   or a second tab continues the session; the server's 30-minute idle and 12-hour absolute
//   limits bound how long a forgotten browser stays signed in;
// - every refresh runs under one Web Lock shared by all tabs and re-reads the stored token
//   inside it, because presenting a refresh token twice ends the session (reuse detection).
import type { components } from "@/api/generated/tenant";

export type SessionCreated = components["schemas"]["SessionCreated"];

const REFRESH_KEY = "swiftacare.session";
const LOCK = "swiftacare-refresh";
const MARGIN_MS = 30_000;

interface Stored {
  tenant: string;
  refresh_token: string;
  session_id: string;
}

let access: { token: string; expiresAt: number; tenant: string } | null = null;
let inflight: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

function read(): Stored | null {
  if (typeof window === "undefined") return null;
  try {
    const raw = window.localStorage.getItem(REFRESH_KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

function notify() {
  for (const l of listeners) l();
}

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

if (typeof window !== "undefined") {
  // Another tab signed out (or its session ended): follow it.
  window.addEventListener("storage", (e) => {
    if (e.key === REFRESH_KEY && e.newValue === null && access) {
      access = null;
      notify();
    }
  });
}

/** Keeps a fresh sign-in: called with the answer of login, MFA verify or refresh. */
export function startSession(tenant: string, s: SessionCreated): void {
  access = { token: s.access_token, expiresAt: Date.parse(s.expires_at), tenant };
  const stored: Stored = { tenant, refresh_token: s.refresh_token, session_id: s.session_id };
  window.localStorage.setItem(REFRESH_KEY, JSON.stringify(stored));
  notify();
}

export function endSession(): void {
  access = null;
  window.localStorage.removeItem(REFRESH_KEY);
  notify();
}

export function sessionTenant(): string | null {
  return access?.tenant ?? read()?.tenant ?? null;
}

export function hasSession(): boolean {
  return access !== null || read() !== null;
}

/** A usable access token, refreshing first if it is missing or about to expire. */
export async function accessToken(): Promise<string | null> {
  if (access && access.expiresAt - MARGIN_MS > Date.now()) return access.token;
  if (!read()) return null;
  return (await refresh()) ? (access?.token ?? null) : null;
}

/** Rotates the refresh token once, for all callers in this tab and across tabs. */
export function refresh(): Promise<boolean> {
  inflight ??= withLock(doRefresh).finally(() => {
    inflight = null;
  });
  return inflight;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? locks.request(LOCK, fn) : fn();
}

async function doRefresh(): Promise<boolean> {
  const stored = read();
  if (!stored) {
    access = null;
    notify();
    return false;
  }
  // Another tab may have rotated while we waited for the lock; its new token is in `stored`.
  let res: Response;
  try {
    res = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Tenant": stored.tenant },
      body: JSON.stringify({ refresh_token: stored.refresh_token }),
    });
  } catch {
    return false; // offline: keep the stored token, the next request tries again
  }
  if (res.ok) {
    startSession(stored.tenant, (await res.json()) as SessionCreated);
    return true;
  }
  if (res.status === 401 || res.status === 403 || res.status === 404) endSession();
  return false;
}

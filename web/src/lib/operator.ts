// Platform operator sign-in: a short-lived token with no refresh, kept in sessionStorage so
// it ends with the tab (operators act above every tenant; docs/WEB.md).
const KEY = "swiftacare.operator";

interface Stored {
  access_token: string;
  expires_at: string;
}

export function operatorToken(): string | null {
  if (typeof window === "undefined") return null;
  try {
    const raw = window.sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Stored;
    if (Date.parse(s.expires_at) <= Date.now()) {
      window.sessionStorage.removeItem(KEY);
      return null;
    }
    return s.access_token;
  } catch {
    return null;
  }
}

export function startOperatorSession(s: Stored): void {
  window.sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function endOperatorSession(): void {
  window.sessionStorage.removeItem(KEY);
}

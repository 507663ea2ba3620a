"use client";
import { useMemo, useSyncExternalStore } from "react";

const noSubscribe = () => () => {};

/** False while prerendering and during hydration, true once running in the browser. */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscribe,
    () => true,
    () => false,
  );
}

/**
 * Query and fragment parameters of the current URL, once in the browser (a static export has
 * no server to read them). Emailed links carry their secret in the fragment (`#token=…`),
 * which browsers never send to a server.
 */
export function useUrlParams(): { query: URLSearchParams; hash: URLSearchParams } | null {
  const hydrated = useHydrated();
  return useMemo(
    () =>
      hydrated
        ? {
            query: new URLSearchParams(window.location.search),
            hash: new URLSearchParams(window.location.hash.replace(/^#/, "")),
          }
        : null,
    [hydrated],
  );
}

/** Only same-site paths may be a `next` target (no open redirect). */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return null;
  return next;
}

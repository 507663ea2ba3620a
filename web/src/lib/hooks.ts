"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiProblem, networkProblem } from "@/lib/problem";

function asProblem(e: unknown): ApiProblem {
  return e instanceof ApiProblem ? e : networkProblem();
}

/**
 * Loads data for a screen: `loading`, `error` (a problem) and `data`, with `reload`. The load
 * runs again when a value in `deps` changes; earlier data stays visible while it does.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [tick, setTick] = useState(0);
  const key = JSON.stringify([deps, tick]);
  const [result, setResult] = useState<{ key: string; data?: T; error?: ApiProblem } | null>(null);
  const loader = useRef(load);
  useEffect(() => {
    loader.current = load;
  });
  useEffect(() => {
    let live = true;
    loader.current().then(
      (data) => live && setResult({ key, data }),
      (e: unknown) => live && setResult({ key, error: asProblem(e) }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  const loading = result?.key !== key;
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: result?.data, error: loading ? undefined : result?.error, loading, reload };
}

/** Runs one submission at a time and keeps its problem for the form to show. */
export function useSubmit<A extends unknown[], T>(action: (...args: A) => Promise<T>) {
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setPending(true);
      setProblem(null);
      try {
        return await action(...args);
      } catch (e) {
        setProblem(asProblem(e));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [action],
  );
  return { run, pending, problem, setProblem };
}

/**
 * One `Idempotency-Key` per distinct request: called with the body about to be sent, it gives
 * the same key while the body is unchanged (a retry after a lost answer replays the first
 * request) and a new key once the body changes (a new request, which the server would refuse
 * under the old key).
 */
export function useRequestKey(): (body: unknown) => string {
  const last = useRef<{ body: string; key: string } | null>(null);
  return useCallback((body: unknown) => {
    const b = JSON.stringify(body);
    if (last.current?.body !== b) last.current = { body: b, key: crypto.randomUUID() };
    return last.current.key;
  }, []);
}

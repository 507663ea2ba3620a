// RFC 9457 problem+json from the API (docs/ERRORS.md), turned into something a form can show.
import type { components } from "@/api/generated/tenant";

export type Problem = components["schemas"]["Problem"];
export type ProblemField = components["schemas"]["ProblemField"];

/** An error any API call can throw: the server's problem document, or a network failure (status 0). */
export class ApiProblem extends Error {
  readonly problem: Problem;
  readonly retryAfter?: number;
  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail ?? problem.title);
    this.name = "ApiProblem";
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
  get status(): number {
    return this.problem.status;
  }
  get kind(): string {
    return this.problem.type.replace(/^urn:swiftacare:problem:/, "");
  }
}

export function networkProblem(): ApiProblem {
  return new ApiProblem({
    type: "urn:swiftacare:problem:network",
    title: "Network error",
    status: 0,
    detail: "The server could not be reached. Check your connection and try again.",
  });
}

/** Accepts anything the server sent as an error body and makes it a Problem. */
export function toProblem(body: unknown, status: number, retryAfter?: string | null): ApiProblem {
  const retry = retryAfter ? Number.parseInt(retryAfter, 10) : undefined;
  if (body && typeof body === "object" && "type" in body && "status" in body) {
    return new ApiProblem(body as Problem, Number.isFinite(retry) ? retry : undefined);
  }
  return new ApiProblem(
    { type: "about:blank", title: `HTTP ${status}`, status, detail: typeof body === "string" ? body : undefined },
    Number.isFinite(retry) ? retry : undefined,
  );
}

/**
 * Field errors keyed by form field name. The API names fields as JSON pointers into the body
 * (`/email`, `/roles/0/department_id`) or as query parameter names (`limit`). Each error is
 * filed under its full path without the leading slash (`roles/0/department_id`) and, if
 * nested, also under its top-level member (`roles`), so a form can show it on the control it has.
 */
export function fieldErrors(p: ApiProblem | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of p?.problem.errors ?? []) {
    const path = e.field.replace(/^\//, "");
    const add = (k: string) => {
      out[k] = out[k] ? `${out[k]}; ${e.message}` : e.message;
    };
    add(path);
    const top = path.split("/")[0];
    if (top && top !== path) add(top);
  }
  return out;
}

/** The server's details are lower-case fragments ("email or password is incorrect"). */
function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** A sentence for the top of a form or a page: what went wrong and, where useful, what to do. */
export function describe(p: ApiProblem): string {
  return sentence(describeRaw(p));
}

function describeRaw(p: ApiProblem): string {
  switch (p.status) {
    case 0:
      return p.problem.detail ?? "The server could not be reached.";
    case 401:
      return p.problem.detail ?? "Your sign-in is no longer valid. Please sign in again.";
    case 403:
      return p.problem.detail ?? "You do not have permission to do this.";
    case 404:
      return p.problem.detail ?? "Not found.";
    case 412:
      return "Someone else changed this while you were editing. Reload to see the latest version, then try again.";
    case 429:
      return p.retryAfter
        ? `Too many attempts. Try again in ${formatWait(p.retryAfter)}.`
        : (p.problem.detail ?? "Too many attempts. Try again later.");
    case 500:
      return `Something went wrong on our side. If it keeps happening, quote reference ${p.problem.request_id ?? "(none)"} to support.`;
    case 503:
      return "The service is temporarily unavailable. Please try again in a moment.";
    default:
      return p.problem.detail ?? p.problem.title;
  }
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** Field errors the form has no control for: they are listed in the summary instead. */
export function unplacedErrors(p: ApiProblem | null | undefined, placed: string[]): ProblemField[] {
  return (p?.problem.errors ?? []).filter((e) => {
    const path = e.field.replace(/^\//, "");
    return !placed.includes(path) && !placed.includes(path.split("/")[0] ?? "");
  });
}

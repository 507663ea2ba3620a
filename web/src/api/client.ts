// The typed API clients. Paths, parameters and bodies all come from the generated schemas
// (src/api/generated, from openapi/*.json); nothing here declares a request or response type.
import createClient from "openapi-fetch";
import type { paths as TenantPaths } from "@/api/generated/tenant";
import type { paths as PlatformPaths } from "@/api/generated/platform";
import { ApiProblem, networkProblem, toProblem } from "@/lib/problem";
import { accessToken, refresh, sessionTenant } from "@/lib/session";
import { rememberedTenant } from "@/lib/tenant";
import { operatorToken, endOperatorSession } from "@/lib/operator";

/** Tenant API: adds `X-Tenant` and the bearer token; on a 401 refreshes once and retries. */
async function tenantFetch(request: Request): Promise<Response> {
  const tenant = request.headers.get("X-Tenant") ?? sessionTenant() ?? rememberedTenant();
  const retry = request.clone();
  const send = async (req: Request, token: string | null) => {
    if (tenant && !req.headers.has("X-Tenant")) req.headers.set("X-Tenant", tenant);
    if (token && !req.headers.has("Authorization")) req.headers.set("Authorization", `Bearer ${token}`);
    return fetch(req);
  };
  const token = await accessToken();
  const res = await send(request, token);
  if (res.status === 401 && token && (await refresh())) {
    return send(retry, await accessToken());
  }
  return res;
}

async function platformFetch(request: Request): Promise<Response> {
  const token = operatorToken();
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  const res = await fetch(request);
  if (res.status === 401 && token) endOperatorSession();
  return res;
}

// Same origin as the page (the server that serves the app serves the API).
const origin = typeof window === "undefined" ? "" : window.location.origin;
export const api = createClient<TenantPaths>({ baseUrl: `${origin}/api/v1`, fetch: tenantFetch });
export const platform = createClient<PlatformPaths>({ baseUrl: `${origin}/platform/v1`, fetch: platformFetch });

type Result = { data?: unknown; error?: unknown; response: Response };

/** Awaits an openapi-fetch call: the data, or throws ApiProblem (status 0 when offline). */
export async function unwrap<R extends Result>(call: Promise<R>): Promise<NonNullable<R["data"]>> {
  return (await unwrapWithResponse(call)).data;
}

export async function unwrapWithResponse<R extends Result>(
  call: Promise<R>,
): Promise<{ data: NonNullable<R["data"]>; response: Response }> {
  let r: R;
  try {
    r = await call;
  } catch (e) {
    if (e instanceof ApiProblem) throw e;
    throw networkProblem();
  }
  if (!r.response.ok) {
    throw toProblem(r.error, r.response.status, r.response.headers.get("Retry-After"));
  }
  return { data: r.data as NonNullable<R["data"]>, response: r.response };
}

/** The strong ETag the API gives a versioned resource (api/src/http/types.rs: `"<version>"`). */
export function etagOf(version: number): string {
  return `"${version}"`;
}

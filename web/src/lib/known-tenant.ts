import { api } from "@/api/client";
import { ApiProblem, networkProblem, toProblem } from "@/lib/problem";
import { rememberedTenantName } from "@/lib/tenant";

/** An organisation as known before sign-in: its name only once someone has signed in. */
export interface KnownTenant {
  slug: string;
  name: string | null;
}

/**
 * Checks that an organisation exists before asking for a password. `GET /tenant` needs a
 * sign-in, but the tenant router answers first: an unknown slug is 404 and a suspended one
 * 403, whereas a live one reaches authentication (401). Sent without any stored token.
 */
export async function checkTenant(slug: string): Promise<KnownTenant> {
  let r;
  try {
    r = await api.GET("/tenant", { params: { header: { "X-Tenant": slug } }, fetch: (req: Request) => globalThis.fetch(req) });
  } catch {
    throw networkProblem();
  }
  if (r.data) return { slug: r.data.slug, name: r.data.name };
  if (r.response.status === 401) return { slug, name: rememberedTenantName(slug) };
  if (r.response.status === 404) {
    throw new ApiProblem({
      type: "urn:swiftacare:problem:not-found",
      title: "Not Found",
      status: 404,
      errors: [{ field: "slug", message: "No organisation uses this address. Check the spelling or ask your administrator." }],
    });
  }
  if (r.response.status === 403) {
    throw new ApiProblem({
      type: "urn:swiftacare:problem:tenant-suspended",
      title: "Forbidden",
      status: 403,
      errors: [{ field: "slug", message: "This organisation's access is suspended. Contact its administrator." }],
    });
  }
  throw toProblem(r.error, r.response.status, r.response.headers.get("Retry-After"));
}

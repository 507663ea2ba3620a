// The organisation (tenant) a browser signs in to, remembered between visits.
const KEY = "swiftacare.tenant";
export const SLUG_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function rememberedTenant(): string | null {
  if (typeof window === "undefined") return null;
  return window.localStorage.getItem(KEY);
}

export function rememberTenant(slug: string): void {
  window.localStorage.setItem(KEY, slug);
}

export function forgetTenant(): void {
  window.localStorage.removeItem(KEY);
  window.localStorage.removeItem(NAME_KEY);
}

// The organisation's display name is only readable once signed in; remembered for next time.
const NAME_KEY = "swiftacare.tenant-name";

export function rememberTenantName(slug: string, name: string): void {
  window.localStorage.setItem(NAME_KEY, JSON.stringify({ slug, name }));
}

export function rememberedTenantName(slug: string): string | null {
  if (typeof window === "undefined") return null;
  try {
    const v = JSON.parse(window.localStorage.getItem(NAME_KEY) ?? "null") as { slug: string; name: string } | null;
    return v?.slug === slug ? v.name : null;
  } catch {
    return null;
  }
}

/** Normalises what a person typed: trims, lower-cases. */
export function normaliseSlug(input: string): string {
  return input.trim().toLowerCase();
}

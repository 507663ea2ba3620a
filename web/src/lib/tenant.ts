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
}

/** Normalises what a person typed: trims, lower-cases. */
export function normaliseSlug(input: string): string {
  return input.trim().toLowerCase();
}

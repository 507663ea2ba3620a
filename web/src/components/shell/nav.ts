// Role-aware navigation. A new area (scheduling, SSO, bulk jobs) adds its entries here with
// the roles that may use it; the shell shows a section only when one of its items is visible.
export type Role = "institution_admin" | "sub_admin" | "provider" | "staff" | "client";

export interface NavItem {
  href: string;
  label: string;
  /** Shown to anyone holding one of these roles; `"any"` for every signed-in person. */
  roles: Role[] | "any";
}

export interface NavSection {
  label?: string;
  items: NavItem[];
}

const ADMINS: Role[] = ["institution_admin", "sub_admin"];

export const NAV: NavSection[] = [
  { items: [{ href: "/home/", label: "Overview", roles: "any" }] },
  {
    label: "Scheduling",
    items: [
      { href: "/appointments/", label: "My appointments", roles: ["client"] },
      { href: "/book/", label: "Book an appointment", roles: ["client"] },
      { href: "/calendar/", label: "My calendar", roles: ["provider"] },
      { href: "/availability/", label: "My hours", roles: ["provider"] },
      { href: "/clients/", label: "My clients", roles: ["provider"] },
      { href: "/book/", label: "Book for a client", roles: ["institution_admin", "sub_admin", "staff", "provider"] },
      { href: "/series/", label: "Recurring series", roles: ["institution_admin", "sub_admin", "staff", "provider"] },
      { href: "/calendar/", label: "Calendars", roles: ["institution_admin", "sub_admin", "staff"] },
      { href: "/intake/", label: "Intake queue", roles: ["institution_admin", "sub_admin", "staff"] },
      { href: "/referrals/", label: "Referrals", roles: ["institution_admin", "sub_admin", "staff"] },
      { href: "/referrals/", label: "My referrals", roles: ["provider", "client"] },
      { href: "/availability/", label: "Providers' hours", roles: ["institution_admin", "sub_admin", "staff"] },
      { href: "/admin/bulk/", label: "Bulk scheduling", roles: ADMINS },
      { href: "/admin/scheduling/", label: "Scheduling set-up", roles: ["institution_admin"] },
    ],
  },
  {
    label: "Organisation",
    items: [
      { href: "/admin/departments/", label: "Departments", roles: [...ADMINS, "provider", "staff"] },
      { href: "/admin/people/", label: "People & roles", roles: ADMINS },
      { href: "/directory/", label: "Colleagues", roles: ["provider", "staff"] },
      { href: "/break-glass/", label: "Emergency access", roles: [...ADMINS, "provider", "staff"] },
    ],
  },
  {
    label: "Governance",
    items: [
      { href: "/admin/security-policy/", label: "Security policy", roles: ["institution_admin"] },
      { href: "/admin/sso/", label: "Single sign-on", roles: ["institution_admin"] },
      { href: "/admin/api-clients/", label: "API clients", roles: ["institution_admin"] },
      { href: "/admin/audit/", label: "Audit log", roles: ["institution_admin"] },
    ],
  },
  {
    label: "My account",
    items: [{ href: "/account/security/", label: "Sign-in & security", roles: "any" }],
  },
];

export function visibleNav(roles: ReadonlySet<string>): NavSection[] {
  return NAV.map((s) => ({
    ...s,
    items: s.items.filter((i) => i.roles === "any" || i.roles.some((r) => roles.has(r))),
  }))
    .map((s) => ({
      ...s,
      // Admins see "People & roles"; the read-only colleague list is for those who are not.
      items: s.items.filter((i) => !(i.href === "/directory/" && (roles.has("institution_admin") || roles.has("sub_admin")))),
    }))
    // Someone who is both client and staff books once, not twice.
    .map((s) => ({ ...s, items: s.items.filter((i, n, all) => all.findIndex((j) => j.href === i.href) === n) }))
    .filter((s) => s.items.length > 0);
}

"use client";
import Link from "next/link";
import { useSession } from "@/components/shell/session-context";
import { visibleNav } from "@/components/shell/nav";
import { PageHeader, Badge } from "@/components/ui";
import { formatDateTime, roleLabel } from "@/lib/format";

const DESCRIPTIONS: Record<string, string> = {
  "/appointments/": "Your upcoming and past appointments: reschedule, cancel, and waitlist offers.",
  "/book/": "Find a free time with a provider and book it, or join the waitlist.",
  "/calendar/": "Your week of appointments: check clients in, complete, and see each one's history.",
  "/availability/": "Your weekly working hours, time off and extra hours.",
  "/admin/scheduling/": "Booking rules and reminders, the services people can book, and locations.",
  "/admin/sso/": "Sign-in through your organisation's identity provider (OIDC or SAML).",
  "/admin/departments/": "Sites, departments, units and programs, as a tree.",
  "/admin/people/": "Everyone in the directory, their sign-in accounts, roles and invitations.",
  "/directory/": "The providers and staff you work with.",
  "/admin/security-policy/": "Who must use two-step verification, and how long sessions last.",
  "/admin/api-clients/": "Credentials for systems that integrate with Swiftacare.",
  "/admin/audit/": "Every sign-in and every access to health information, searchable and exportable.",
  "/account/security/": "Your authenticator app, recovery codes and signed-in devices.",
};

export default function HomePage() {
  const { me, tenant, roles } = useSession();
  const cards = visibleNav(roles)
    .flatMap((s) => s.items)
    .filter((i) => i.href !== "/home/");
  return (
    <>
      <PageHeader
        title={`Welcome to ${tenant.name}`}
        description={
          <>
            Signed in as <strong className="break-all">{me.email}</strong>. This session ends {formatDateTime(me.session_expires_at)} at the latest.
          </>
        }
      />
      <ul className="mb-8 flex flex-wrap gap-2" aria-label="Your roles">
        {me.roles.length === 0 && (
          <li>
            <Badge>No role yet: ask your administrator</Badge>
          </li>
        )}
        {me.roles.map((r, i) => (
          <li key={i}>
            <Badge tone="teal">
              {roleLabel(r.role)}
              {r.department_id ? " (department)" : ""}
            </Badge>
          </li>
        ))}
      </ul>
      <h2 className="mb-3 text-sm font-semibold uppercase tracking-wider text-slate-600">What you can do here</h2>
      <ul className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
        {cards.map((c) => (
          <li key={c.href}>
            <Link
              href={c.href}
              className="block h-full rounded-lg border border-slate-200 bg-white p-5 shadow-sm transition hover:border-teal-300 hover:shadow"
            >
              <span className="font-semibold text-teal-800">{c.label} →</span>
              <span className="mt-1 block text-sm text-slate-600">{DESCRIPTIONS[c.href]}</span>
            </Link>
          </li>
        ))}
      </ul>
    </>
  );
}

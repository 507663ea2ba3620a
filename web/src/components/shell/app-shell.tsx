"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { api, unwrap } from "@/api/client";
import { Logo } from "@/components/logo";
import { Button, LoadError, Loading } from "@/components/ui";
import { useLoad } from "@/lib/hooks";
import { accessToken, endSession, subscribe, hasSession } from "@/lib/session";
import { roleLabel } from "@/lib/format";
import { rememberTenantName } from "@/lib/tenant";
import { SessionContext, type SessionInfo } from "./session-context";
import { visibleNav } from "./nav";

/** The signed-in frame: checks the session, loads who the person is, and shows role-aware navigation. */
export function AppShell({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [menuOpen, setMenuOpen] = useState(false);

  const toSignIn = useMemo(
    () => () => router.replace(`/sign-in/?next=${encodeURIComponent(window.location.pathname + window.location.search)}`),
    [router],
  );

  const session = useLoad(async () => {
    if (!(await accessToken())) return null;
    const [me, tenant] = await Promise.all([unwrap(api.GET("/auth/me")), unwrap(api.GET("/tenant"))]);
    rememberTenantName(tenant.slug, tenant.name);
    const roles = new Set(me.roles.map((r) => r.role));
    const info: SessionInfo = {
      me,
      tenant,
      roles,
      isInstitutionAdmin: roles.has("institution_admin"),
      isAdmin: roles.has("institution_admin") || roles.has("sub_admin"),
    };
    return info;
  }, []);

  useEffect(() => {
    if (!session.loading && (session.data === null || session.error?.status === 401)) toSignIn();
  }, [session.loading, session.data, session.error, toSignIn]);
  // Signed out in another tab, or the session ended: leave.
  useEffect(() => subscribe(() => !hasSession() && toSignIn()), [toSignIn]);

  if (session.loading || session.data === null || session.error?.status === 401) {
    return (
      <main id="main" className="mx-auto max-w-md p-8">
        <Loading label="Checking your sign-in…" />
      </main>
    );
  }
  if (session.error || !session.data) {
    return (
      <main id="main" className="mx-auto max-w-lg p-8">
        {session.error && <LoadError problem={session.error} onRetry={session.reload} />}
      </main>
    );
  }
  const info = session.data;
  const nav = visibleNav(info.roles);

  async function signOut() {
    try {
      await api.POST("/auth/logout");
    } finally {
      endSession();
      router.replace("/sign-in/");
    }
  }

  const navList = (
    <nav aria-label="Main" className="space-y-6">
      {nav.map((section, i) => (
        <div key={section.label ?? i}>
          {section.label && <h2 className="mb-2 px-3 text-xs font-semibold uppercase tracking-wider text-slate-600">{section.label}</h2>}
          <ul className="space-y-1">
            {section.items.map((item) => {
              const current = pathname === item.href || pathname === item.href.replace(/\/$/, "");
              return (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    aria-current={current ? "page" : undefined}
                    onClick={() => setMenuOpen(false)}
                    className={`block rounded-md px-3 py-2 text-sm font-medium ${
                      current ? "bg-teal-50 text-teal-900 ring-1 ring-inset ring-teal-200" : "text-slate-700 hover:bg-slate-100 hover:text-slate-900"
                    }`}
                  >
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );

  return (
    <SessionContext.Provider value={info}>
      <div className="min-h-screen lg:grid lg:grid-cols-[16rem_minmax(0,1fr)]">
        <aside className="hidden border-r border-slate-200 bg-white lg:block">
          <div className="sticky top-0 flex h-screen flex-col gap-6 overflow-y-auto px-4 py-5">
            <Link href="/home/" className="px-2">
              <Logo />
            </Link>
            <div className="rounded-md bg-slate-50 px-3 py-2 text-sm">
              <p className="font-medium text-slate-900">{info.tenant.name}</p>
              <p className="text-xs capitalize text-slate-600">{info.tenant.kind}</p>
            </div>
            {navList}
          </div>
        </aside>
        <div className="flex min-w-0 flex-col">
          <header className="sticky top-0 z-20 flex items-center justify-between gap-3 border-b border-slate-200 bg-white/95 px-4 py-3 backdrop-blur sm:px-6">
            <div className="flex items-center gap-3 lg:hidden">
              <button
                type="button"
                className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-800"
                aria-expanded={menuOpen}
                aria-controls="mobile-nav"
                onClick={() => setMenuOpen(!menuOpen)}
              >
                Menu
              </button>
              <Logo />
            </div>
            <p className="hidden text-sm text-slate-600 lg:block">
              Signed in to <span className="font-medium text-slate-900">{info.tenant.name}</span>
            </p>
            <div className="flex items-center gap-3">
              <div className="hidden text-right sm:block">
                <p className="text-sm font-medium text-slate-900">{info.me.email}</p>
                <p className="text-xs text-slate-600">{[...info.roles].map(roleLabel).join(", ") || "No role"}</p>
              </div>
              <Button variant="secondary" onClick={signOut}>
                Sign out
              </Button>
            </div>
          </header>
          {menuOpen && (
            <div id="mobile-nav" className="border-b border-slate-200 bg-white px-4 py-4 lg:hidden">
              {navList}
            </div>
          )}
          <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 sm:px-6 lg:px-10 lg:py-10">
            {children}
          </main>
        </div>
      </div>
    </SessionContext.Provider>
  );
}

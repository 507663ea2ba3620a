import type { ReactNode } from "react";
import { Logo } from "@/components/logo";

/** The frame of the signed-out pages: sign-in, invitation, set-up, password reset. */
export function AuthFrame({ title, subtitle, children, wide }: { title: string; subtitle?: ReactNode; children: ReactNode; wide?: boolean }) {
  return (
    <div className="flex min-h-screen flex-col bg-gradient-to-b from-teal-50 to-slate-50">
      <header className="px-6 py-5">
        <Logo />
      </header>
      <main id="main" className="flex flex-1 items-start justify-center px-4 pb-16 pt-4 sm:pt-12">
        <div className={`w-full ${wide ? "max-w-xl" : "max-w-md"}`}>
          <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
            <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
            {subtitle && <div className="mt-1 text-sm text-slate-600">{subtitle}</div>}
            <div className="mt-6">{children}</div>
          </div>
        </div>
      </main>
      <footer className="px-6 py-4 text-center text-xs text-slate-600">
        Swiftacare protects health information: every access is recorded.
      </footer>
    </div>
  );
}

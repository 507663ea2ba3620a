import type { ReactNode } from "react";
import { Logo } from "@/components/logo";

const PROMISES = [
  "Each organisation's records are kept apart from every other's.",
  "Every access to health information is recorded in a tamper-evident log.",
  "Two-step verification and session limits, set by your organisation.",
];

/** The frame of the signed-out pages: sign-in, invitation, set-up, password reset. */
export function AuthFrame({ title, subtitle, children, wide }: { title: string; subtitle?: ReactNode; children: ReactNode; wide?: boolean }) {
  return (
    <div className="flex min-h-screen flex-col bg-gradient-to-b from-teal-50 to-slate-50 lg:grid lg:grid-cols-[minmax(0,5fr)_minmax(0,7fr)] lg:bg-none">
      <aside className="hidden flex-col justify-between bg-teal-900 px-12 py-10 text-teal-50 lg:flex">
        <span className="inline-flex items-center gap-2 text-lg font-semibold text-white">
          <svg aria-hidden="true" viewBox="0 0 32 32" className="h-8 w-8">
            <rect width="32" height="32" rx="8" fill="#ffffff" />
            <path d="M16 24s-8-4.6-8-10.2A4.6 4.6 0 0 1 16 11a4.6 4.6 0 0 1 8 2.8C24 19.4 16 24 16 24z" fill="#115e59" />
          </svg>
          Swiftacare
        </span>
        <div>
          <p className="text-3xl font-semibold leading-tight text-white">Mental-health care, organised around the people in it.</p>
          <ul className="mt-8 space-y-4 text-sm leading-relaxed text-teal-100">
            {PROMISES.map((p) => (
              <li key={p} className="flex gap-3">
                <span aria-hidden="true" className="mt-1.5 h-2 w-2 flex-none rounded-full bg-teal-300" />
                {p}
              </li>
            ))}
          </ul>
        </div>
        <p className="text-xs text-teal-200">For clinics, hospitals, programs and the people they care for.</p>
      </aside>
      <div className="flex flex-1 flex-col lg:bg-gradient-to-b lg:from-teal-50 lg:to-slate-50">
        <header className="px-6 py-5 lg:hidden">
          <Logo />
        </header>
        <main id="main" className="flex flex-1 items-start justify-center px-4 pb-16 pt-4 sm:pt-12 lg:items-center lg:pt-0">
          <div className={`w-full ${wide ? "max-w-xl" : "max-w-md"}`}>
            <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
              <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
              {subtitle && <div className="mt-1 text-sm text-slate-600">{subtitle}</div>}
              <div className="mt-6">{children}</div>
            </div>
          </div>
        </main>
        <footer className="px-6 py-4 text-center text-xs text-slate-600">Swiftacare protects health information: every access is recorded.</footer>
      </div>
    </div>
  );
}

import Link from "next/link";
import { Logo } from "@/components/logo";

export default function NotFound() {
  return (
    <main id="main" className="mx-auto flex min-h-screen max-w-md flex-col items-start justify-center gap-4 px-6">
      <Logo />
      <h1 className="text-2xl font-semibold text-slate-900">Page not found</h1>
      <p className="text-slate-600">The address may be mistyped, or the page may have moved.</p>
      <Link href="/" className="font-semibold text-teal-800 underline">
        Go to Swiftacare
      </Link>
    </main>
  );
}

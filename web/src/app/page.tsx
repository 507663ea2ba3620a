"use client";
import { useEffect } from "react";
import { useRouter } from "next/navigation";
import { Loading } from "@/components/ui";
import { hasSession } from "@/lib/session";

/** `/`: to the app when a session is kept, else to sign-in. */
export default function Index() {
  const router = useRouter();
  useEffect(() => {
    router.replace(hasSession() ? "/home/" : "/sign-in/");
  }, [router]);
  return (
    <main id="main" className="mx-auto max-w-md p-8">
      <Loading label="Opening Swiftacare…" />
    </main>
  );
}

"use client";
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { platform, unwrap } from "@/api/client";
import { AuthFrame } from "@/components/auth-frame";
import { Button } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { startOperatorSession } from "@/lib/operator";

/** Platform operator sign-in (`/platform/v1/auth/login`): above every tenant, no tenant data. */
export default function OperatorSignIn() {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { run, pending, problem } = useSubmit(() => unwrap(platform.POST("/auth/login", { body: { email, password } })));
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = await run();
    if (t) {
      startOperatorSession(t);
      router.replace("/operator/tenants/");
    }
  }
  return (
    <AuthFrame title="Platform operator sign-in" subtitle="For the people who run this Swiftacare deployment. Clinic staff sign in on the main page.">
      <form onSubmit={submit} noValidate className="space-y-5">
        <FormProblem problem={problem} fields={["email", "password"]} />
        <TextField label="Email" name="email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} required />
        <TextField label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} error={errors.password} required />
        <Button type="submit" pending={pending} className="w-full">
          Sign in
        </Button>
      </form>
    </AuthFrame>
  );
}

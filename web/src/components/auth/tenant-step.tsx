"use client";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { checkTenant, type KnownTenant } from "@/lib/known-tenant";
import { normaliseSlug, rememberTenant, SLUG_PATTERN } from "@/lib/tenant";

export type Tenant = KnownTenant;

/** Step 1 of sign-in: which organisation. Checked with `GET /tenant`, then remembered. */
export function TenantStep({ initial, onChosen }: { initial?: string; onChosen: (t: Tenant) => void }) {
  const [slug, setSlug] = useState(initial ?? "");
  const [localError, setLocalError] = useState<string>();
  const { run, pending, problem } = useSubmit(checkTenant);
  const errors = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = normaliseSlug(slug);
    if (!SLUG_PATTERN.test(s)) {
      setLocalError("Use the short name your organisation gave you: lower-case letters, digits and hyphens.");
      return;
    }
    setLocalError(undefined);
    const t = await run(s);
    if (t) {
      rememberTenant(t.slug);
      onChosen(t);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-5">
      <FormProblem problem={problem} fields={["slug"]} />
      <TextField
        label="Organisation"
        name="slug"
        value={slug}
        onChange={(e) => setSlug(e.target.value)}
        autoComplete="organization"
        autoCapitalize="none"
        spellCheck={false}
        required
        hint="The short name of your clinic or organisation, e.g. riverside. We will remember it on this device."
        error={localError ?? errors.slug}
      />
      <Button type="submit" pending={pending} className="w-full">
        Continue
      </Button>
    </form>
  );
}

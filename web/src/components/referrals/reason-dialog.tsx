"use client";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { Button } from "@/components/ui";
import { FormProblem, TextAreaField } from "@/components/form";
import { fieldErrors, type ApiProblem } from "@/lib/problem";
import { STATUS_REASON_MAX, textProblem } from "@/lib/referrals";

/**
 * A modal dialog asking for a reason (declining or withdrawing a referral). A missing or too
 * long reason is caught before any request; the server's 422 on `/reason` is shown on the field.
 */
export function ReasonDialog({
  title,
  intro,
  confirm,
  pending,
  problem,
  onSubmit,
  onCancel,
}: {
  title: string;
  intro: string;
  confirm: string;
  pending: boolean;
  problem: ApiProblem | null;
  onSubmit: (reason: string) => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState("");
  const [local, setLocal] = useState<string | undefined>();
  const titleId = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.querySelector("textarea")?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onCancel();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onCancel]);
  function submit(e: FormEvent) {
    e.preventDefault();
    const p = textProblem(reason, STATUS_REASON_MAX, "a reason");
    setLocal(p);
    if (!p) onSubmit(reason.trim());
  }
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-slate-900/40 p-4">
      <div ref={box} role="dialog" aria-modal="true" aria-labelledby={titleId} className="w-full max-w-lg rounded-lg bg-white p-5 shadow-xl">
        <h2 id={titleId} className="text-lg font-semibold text-slate-900">
          {title}
        </h2>
        <p className="mt-1 text-sm text-slate-700">{intro}</p>
        <form onSubmit={submit} noValidate className="mt-4 space-y-3">
          <FormProblem problem={problem} fields={["reason"]} />
          <TextAreaField
            label="Reason"
            name="reason"
            required
            value={reason}
            hint={`Up to ${STATUS_REASON_MAX} characters. Kept in the referral's history; not copied into the audit log.`}
            onChange={(e) => {
              setReason(e.target.value);
              setLocal(undefined);
            }}
            error={local ?? fieldErrors(problem).reason}
          />
          <div className="flex flex-wrap gap-2">
            <Button type="submit" variant="danger" pending={pending}>
              {confirm}
            </Button>
            <Button type="button" variant="secondary" onClick={onCancel}>
              Cancel
            </Button>
          </div>
        </form>
      </div>
    </div>
  );
}

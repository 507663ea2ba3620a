"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button } from "@/components/ui";
import { FormProblem, SelectField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import { REASONS, dateTimeIn, hoursText, isLateCancellation, type Appointment, type Reason } from "@/lib/scheduling";

/** Cancel one appointment with a reason code; warns first when the cancellation would be late. */
export function CancelForm({
  appointment,
  windowMinutes,
  onDone,
  onClose,
}: {
  appointment: Appointment;
  /** The type's cancellation window (minutes before the start); 0 or unknown means none. */
  windowMinutes?: number;
  onDone: (a: Appointment) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState<Reason | "">("");
  const [missing, setMissing] = useState(false);
  const late = windowMinutes !== undefined && appointment.status === "booked" && isLateCancellation(appointment.starts_at, windowMinutes);
  const { run, pending, problem } = useSubmit(async (r: Reason) =>
    unwrap(
      api.POST("/appointments/{appointment_id}/transitions", {
        params: { path: { appointment_id: appointment.id }, header: { "If-Match": etagOf(appointment.version) } },
        body: { action: "cancel", reason: r },
      }),
    ),
  );
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!reason) {
      setMissing(true);
      return;
    }
    const done = await run(reason);
    if (done) onDone(done);
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-3" aria-label="Cancel appointment">
      {late && windowMinutes !== undefined && (
        <Alert tone="warning" title="This is a late cancellation">
          It is less than {hoursText(windowMinutes)} before the start ({dateTimeIn(appointment.starts_at, appointment.timezone)}), so it will be
          recorded as late. Your clinic&apos;s cancellation policy may apply.
        </Alert>
      )}
      <FormProblem problem={problem} fields={["reason", "action"]} />
      <SelectField
        label="Reason for cancelling"
        name="reason"
        value={reason}
        required
        onChange={(e) => {
          setReason(e.target.value as Reason);
          setMissing(false);
        }}
        error={missing ? "Choose a reason." : errors.reason}
      >
        <option value="">Choose a reason…</option>
        {REASONS.map((r) => (
          <option key={r.value} value={r.value}>
            {r.label}
          </option>
        ))}
      </SelectField>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" variant="danger" pending={pending}>
          Cancel appointment
        </Button>
        <Button type="button" variant="secondary" onClick={onClose}>
          Keep it
        </Button>
      </div>
    </form>
  );
}

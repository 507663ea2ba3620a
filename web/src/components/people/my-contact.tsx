"use client";
import { useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Button, Card, LoadError, Loading } from "@/components/ui";
import { FormProblem, TextField } from "@/components/form";
import { useLoad, useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import type { components } from "@/api/generated/tenant";

type Contact = components["schemas"]["Contact"];

/**
 * A client's own contact preferences (`GET/PATCH /me/contact`): their mobile number and their
 * consent to appointment reminders by text message. Saved with the version read (If-Match);
 * the server's 422s (`/phone`, `/sms_reminders`) are shown on their controls.
 */
export function MyContact() {
  const data = useLoad(() => unwrap(api.GET("/me/contact")), []);
  // What the last save returned (the server's E.164 number and the new version).
  const [current, setCurrent] = useState<Contact | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const contact = current ?? data.data;
  return (
    <Card title="Contact & reminders">
      {saved && (
        <div className="mb-4">
          <Alert tone="success">{saved}</Alert>
        </div>
      )}
      {data.loading && !contact && <Loading label="Loading your contact preferences…" />}
      {data.error && <LoadError problem={data.error} onRetry={data.reload} />}
      {/* Keyed by version: after a save the form starts again from what the server stored. */}
      {contact && (
        <ContactForm
          key={contact.version}
          contact={contact}
          onSaving={() => setSaved(null)}
          onSaved={(after) => {
            setSaved(
              after.sms_reminders
                ? `Saved. Reminders will also be sent by text message to ${after.phone}.`
                : contact.sms_reminders
                  ? "Saved. No more reminders will be sent by text message, including for appointments already booked."
                  : "Saved.",
            );
            setCurrent(after);
          }}
        />
      )}
    </Card>
  );
}

function ContactForm({ contact, onSaving, onSaved }: { contact: Contact; onSaving: () => void; onSaved: (c: Contact) => void }) {
  const [phone, setPhone] = useState(contact.phone ?? "");
  const [sms, setSms] = useState(contact.sms_reminders);
  const { run, pending, problem } = useSubmit(async () => {
    const number = phone.trim();
    return unwrap(
      api.PATCH("/me/contact", {
        params: { header: { "If-Match": etagOf(contact.version) } },
        body: {
          ...(number !== (contact.phone ?? "") ? { phone: number ? number : null } : {}),
          ...(sms !== contact.sms_reminders ? { sms_reminders: sms } : {}),
        },
      }),
    );
  });
  const errors = fieldErrors(problem);
  async function submit(e: FormEvent) {
    e.preventDefault();
    onSaving();
    const after = await run();
    if (after) onSaved(after);
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <FormProblem problem={problem} fields={["phone", "sms_reminders"]} />
      <TextField
        label="Mobile number"
        name="phone"
        type="tel"
        autoComplete="tel"
        value={phone}
        onChange={(e) => setPhone(e.target.value)}
        error={errors.phone}
        hint="With the country code, e.g. +1 416 555 0123. Leave empty to remove it."
      />
      <div>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            name="sms_reminders"
            checked={sms}
            onChange={(e) => setSms(e.target.checked)}
            className="h-4 w-4 accent-teal-700"
            aria-invalid={errors.sms_reminders ? true : undefined}
            aria-describedby={errors.sms_reminders ? "my-sms-reminders-error" : "my-sms-reminders-hint"}
          />
          Send me appointment reminders by text message
        </label>
        <p id="my-sms-reminders-hint" className="mt-1 text-sm text-slate-600">
          You can change your mind at any time; it applies to every reminder not yet sent.
        </p>
        {errors.sms_reminders && (
          <p id="my-sms-reminders-error" className="mt-1 text-sm font-medium text-red-700">
            <span aria-hidden="true">⚠ </span>
            {errors.sms_reminders}
          </p>
        )}
      </div>
      <Button type="submit" pending={pending}>
        Save contact preferences
      </Button>
    </form>
  );
}

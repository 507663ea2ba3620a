-- Jobs and reminders. A job's consumer records the job id here in the same transaction as its
-- effect, so a redelivered job (broker retry, relay republish after a crash) changes nothing.
CREATE TABLE processed_jobs (
    job_id       uuid PRIMARY KEY,
    kind         text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Reminder rules live with the rest of the scheduling policy.
ALTER TABLE scheduling_policy
    ADD COLUMN reminders_enabled boolean NOT NULL DEFAULT true,
    -- Minutes before the start (default 48 h and 2 h).
    ADD COLUMN reminder_offsets_minutes integer[] NOT NULL DEFAULT '{2880,120}'
        CHECK (cardinality(reminder_offsets_minutes) <= 5
               AND 1 <= ALL (reminder_offsets_minutes) AND 20160 >= ALL (reminder_offsets_minutes)),
    ADD COLUMN reminder_channels text[] NOT NULL DEFAULT '{email}'
        CHECK (cardinality(reminder_channels) >= 1 AND reminder_channels <@ ARRAY['email', 'sms']),
    -- Where SMS reminders are POSTed (the tenant's SMS provider or gateway).
    ADD COLUMN sms_webhook_url text CHECK (sms_webhook_url IS NULL OR length(sms_webhook_url) <= 500),
    -- The message: only {provider}, {date}, {time} and {zone} are filled in; no health details.
    ADD COLUMN reminder_template text NOT NULL
        DEFAULT 'Reminder: you have an appointment with {provider} on {date} at {time} ({zone}).'
        CHECK (length(reminder_template) BETWEEN 1 AND 1000);

-- One row per reminder that fell due: what happened to it.
CREATE TABLE reminder_deliveries (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    job_id         uuid NOT NULL UNIQUE,
    offset_minutes integer NOT NULL,
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    -- The appointment start this reminder was for (a moved appointment gets new reminders).
    scheduled_for  timestamptz NOT NULL,
    due_at         timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('sending', 'sent', 'skipped', 'failed')),
    -- A reason code (cancelled, moved, no_address, smtp_error …), never message text.
    detail         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    CONSTRAINT reminder_deliveries_once UNIQUE (appointment_id, offset_minutes, channel, scheduled_for)
);
CREATE INDEX reminder_deliveries_appointment ON reminder_deliveries (appointment_id, created_at);

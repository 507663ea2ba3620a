-- Bulk scheduling for institutions: a batch of rows ("book this client with this provider or
-- department, this type, within this window"), placed by outbox jobs in chunks.

-- The id is chosen by the client, so resubmitting a batch is a no-op.
CREATE TABLE bulk_batches (
    id           uuid PRIMARY KEY,
    submitted_by uuid NOT NULL,                 -- the account (for booked_by and the audit)
    total        integer NOT NULL CHECK (total BETWEEN 1 AND 10000),
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

-- One row per input line. Rows that could not be parsed or resolved at submission are stored
-- as `failed` with their reason; the others are `pending` until a chunk job places them.
CREATE TABLE bulk_rows (
    batch_id        uuid NOT NULL REFERENCES bulk_batches (id) ON DELETE CASCADE,
    line            integer NOT NULL,            -- the input's line (CSV: counting the header)
    seq             integer NOT NULL,            -- work order: departments interleaved
    chunk           integer NOT NULL,            -- which job places it
    client_id       uuid,
    provider_id     uuid,                        -- named, or chosen from the department
    department_id   uuid,
    type_id         uuid,
    -- The window: local dates in the provider's zone, or instants.
    from_date       date,
    until_date      date,
    from_at         timestamptz,
    until_at        timestamptz,
    preferred_from  time,
    preferred_until time,
    status          text NOT NULL CHECK (status IN ('pending', 'booked', 'failed')),
    reason          text CHECK (reason IS NULL OR length(reason) <= 500),
    appointment_id  uuid,
    starts_at       timestamptz,
    PRIMARY KEY (batch_id, line)
);
CREATE INDEX bulk_rows_work ON bulk_rows (batch_id, chunk, seq);

-- Scheduling: where and what can be booked, when providers work, and the appointments
-- themselves. Overlap is made impossible by the database (exclusion constraints over
-- btree_gist, installed per shard in the swiftacare_ext schema), not by application checks.

-- The tenant's scheduling rules (one row).
CREATE TABLE scheduling_policy (
    id                               boolean PRIMARY KEY DEFAULT true CHECK (id),
    clients_may_self_book            boolean NOT NULL DEFAULT true,
    -- Slot hoarding (QUALITY T20): open = requested or booked and not yet started.
    max_open_bookings_per_client     integer NOT NULL DEFAULT 6 CHECK (max_open_bookings_per_client BETWEEN 1 AND 500),
    max_bookings_per_client_per_day  integer NOT NULL DEFAULT 2 CHECK (max_bookings_per_client_per_day BETWEEN 1 AND 50),
    max_waitlist_entries_per_client  integer NOT NULL DEFAULT 3 CHECK (max_waitlist_entries_per_client BETWEEN 0 AND 50),
    waitlist_offer_minutes           integer NOT NULL DEFAULT 120 CHECK (waitlist_offer_minutes BETWEEN 5 AND 10080),
    waitlist_offer_batch             integer NOT NULL DEFAULT 3 CHECK (waitlist_offer_batch BETWEEN 1 AND 20),
    -- Provider calendar feeds show client initials only when the tenant allows it.
    ical_show_client_names           boolean NOT NULL DEFAULT false,
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    version                          integer NOT NULL DEFAULT 1
);
INSERT INTO scheduling_policy DEFAULT VALUES;
REVOKE INSERT, DELETE, TRUNCATE ON scheduling_policy FROM swiftacare_app;

CREATE TABLE locations (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- Street address or room description shown to clients booking in person.
    address       text CHECK (address IS NULL OR length(address) <= 500),
    timezone      text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    department_id uuid REFERENCES departments (id) ON DELETE RESTRICT,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX locations_name ON locations (lower(name));

CREATE TABLE appointment_types (
    id                          uuid PRIMARY KEY,
    name                        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    duration_minutes            integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    buffer_before_minutes       integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes        integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    -- Slots start every this many minutes from the start of each working period.
    slot_interval_minutes       integer NOT NULL CHECK (slot_interval_minutes BETWEEN 5 AND 480),
    min_notice_minutes          integer NOT NULL DEFAULT 0 CHECK (min_notice_minutes BETWEEN 0 AND 43200),
    max_advance_days            integer NOT NULL DEFAULT 90 CHECK (max_advance_days BETWEEN 1 AND 730),
    cancellation_window_minutes integer NOT NULL DEFAULT 1440 CHECK (cancellation_window_minutes BETWEEN 0 AND 20160),
    modality                    text NOT NULL CHECK (modality IN ('in_person', 'video')),
    location_id                 uuid REFERENCES locations (id) ON DELETE RESTRICT,
    client_bookable             boolean NOT NULL DEFAULT true,
    requires_approval           boolean NOT NULL DEFAULT false,
    department_id               uuid REFERENCES departments (id) ON DELETE RESTRICT,
    active                      boolean NOT NULL DEFAULT true,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    version                     integer NOT NULL DEFAULT 1,
    CHECK (modality = 'video' OR location_id IS NOT NULL)
);
CREATE UNIQUE INDEX appointment_types_name ON appointment_types (lower(name));

-- A provider's working week: wall-clock rules in the provider's IANA zone. Expanded with the
-- tz database at query time, so 09:00 stays 09:00 across daylight-saving changes.
CREATE TABLE provider_schedules (
    provider_id uuid PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    timezone    text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer NOT NULL DEFAULT 1
);

CREATE TABLE availability_rules (
    id          uuid PRIMARY KEY,
    provider_id uuid NOT NULL REFERENCES provider_schedules (provider_id) ON DELETE CASCADE,
    -- ISO weekday: 1 = Monday … 7 = Sunday.
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_time  time NOT NULL,
    end_time    time NOT NULL,
    location_id uuid REFERENCES locations (id) ON DELETE RESTRICT,
    valid_from  date,
    valid_until date,
    CHECK (end_time > start_time),
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);
CREATE INDEX availability_rules_provider ON availability_rules (provider_id, weekday);

-- Date-specific changes: extra hours, or time off (a whole day when the times are null).
CREATE TABLE availability_overrides (
    id          uuid PRIMARY KEY,
    provider_id uuid NOT NULL REFERENCES provider_schedules (provider_id) ON DELETE CASCADE,
    on_date     date NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('extra', 'time_off')),
    start_time  time,
    end_time    time,
    location_id uuid REFERENCES locations (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((start_time IS NULL) = (end_time IS NULL)),
    CHECK (start_time IS NULL OR end_time > start_time),
    CHECK (kind = 'time_off' OR start_time IS NOT NULL)
);
CREATE INDEX availability_overrides_provider ON availability_overrides (provider_id, on_date);

-- A recurring series: the rule and the first occurrence's wall-clock time in the provider's
-- zone. Occurrences are materialised as appointments carrying series_id and the occurrence's
-- original local start (its RECURRENCE-ID), so edits to one occurrence stay exceptions.
CREATE TABLE appointment_series (
    id             uuid PRIMARY KEY,
    provider_id    uuid NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    client_id      uuid NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    type_id        uuid NOT NULL REFERENCES appointment_types (id) ON DELETE RESTRICT,
    timezone       text NOT NULL,
    first_local    timestamp NOT NULL,
    rrule          text NOT NULL CHECK (length(rrule) <= 500),
    -- Set when "this and following" splits the series: the series it continues.
    parent_id      uuid REFERENCES appointment_series (id) ON DELETE RESTRICT,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'cancelled')),
    created_by     uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        integer NOT NULL DEFAULT 1
);
CREATE INDEX appointment_series_client ON appointment_series (client_id);

CREATE TABLE appointments (
    id                  uuid PRIMARY KEY,
    provider_id         uuid NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    client_id           uuid NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    type_id             uuid NOT NULL REFERENCES appointment_types (id) ON DELETE RESTRICT,
    location_id         uuid REFERENCES locations (id) ON DELETE RESTRICT,
    series_id           uuid REFERENCES appointment_series (id) ON DELETE RESTRICT,
    -- The occurrence's original local start in the series' zone (RECURRENCE-ID).
    occurrence_local    timestamp,
    -- True once this occurrence was edited on its own (it no longer follows the series).
    series_exception    boolean NOT NULL DEFAULT false,
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    -- The provider's time blocked by this appointment: its own time plus the type's buffers
    -- (preparation and notes), which belong to it alone.
    busy_from           timestamptz NOT NULL,
    busy_until          timestamptz NOT NULL,
    timezone            text NOT NULL,
    status              text NOT NULL
                        CHECK (status IN ('requested', 'booked', 'checked_in', 'completed', 'no_show', 'cancelled')),
    cancelled_by        text CHECK (cancelled_by IN ('client', 'provider', 'staff')),
    late_cancellation   boolean NOT NULL DEFAULT false,
    booked_by           uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at),
    CHECK (busy_from <= starts_at AND busy_until >= ends_at),
    CHECK ((series_id IS NULL) = (occurrence_local IS NULL)),
    CONSTRAINT appointments_provider_no_overlap EXCLUDE USING gist
        (provider_id WITH =, tstzrange(busy_from, busy_until, '[)') WITH &&)
        WHERE (status <> 'cancelled'),
    CONSTRAINT appointments_client_no_overlap EXCLUDE USING gist
        (client_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE (status <> 'cancelled')
);
CREATE INDEX appointments_client_start ON appointments (client_id, starts_at);
CREATE INDEX appointments_provider_start ON appointments (provider_id, starts_at);
CREATE INDEX appointments_series ON appointments (series_id, occurrence_local);
CREATE UNIQUE INDEX appointments_series_occurrence
    ON appointments (series_id, occurrence_local) WHERE series_id IS NOT NULL AND status <> 'cancelled';

-- Every transition, who made it and why (reason codes, never free text about health).
CREATE TABLE appointment_events (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_account  uuid REFERENCES accounts (id) ON DELETE SET NULL,
    action         text NOT NULL CHECK (action IN
                   ('requested', 'booked', 'approved', 'declined', 'checked_in', 'completed',
                    'no_show', 'cancelled', 'rescheduled')),
    from_status    text,
    to_status      text NOT NULL,
    reason_code    text,
    late           boolean NOT NULL DEFAULT false,
    previous_start timestamptz,
    previous_end   timestamptz
);
CREATE INDEX appointment_events_appointment ON appointment_events (appointment_id, at);
REVOKE UPDATE, DELETE, TRUNCATE ON appointment_events FROM swiftacare_app;

-- Idempotency-Key replay (QUALITY T6): the first request with a key stores a hash of its body
-- and what it created; a repeat replays it, a different body under the same key is refused.
CREATE TABLE idempotency_keys (
    account_id    uuid NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    operation     text NOT NULL,
    request_hash  bytea NOT NULL,
    resource_id   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE waitlist_entries (
    id           uuid PRIMARY KEY,
    client_id    uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    provider_id  uuid REFERENCES people (id) ON DELETE CASCADE,
    type_id      uuid NOT NULL REFERENCES appointment_types (id) ON DELETE CASCADE,
    window_from  timestamptz NOT NULL,
    window_until timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'booked', 'cancelled', 'expired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (window_until > window_from)
);
CREATE INDEX waitlist_entries_waiting ON waitlist_entries (type_id, created_at) WHERE status = 'waiting';
CREATE INDEX waitlist_entries_client ON waitlist_entries (client_id);

-- A freed slot offered to the first waiting clients; the first to accept books it.
CREATE TABLE waitlist_offers (
    id          uuid PRIMARY KEY,
    entry_id    uuid NOT NULL REFERENCES waitlist_entries (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'expired', 'taken', 'withdrawn')),
    appointment_id uuid REFERENCES appointments (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waitlist_offers_entry ON waitlist_offers (entry_id);
CREATE INDEX waitlist_offers_slot ON waitlist_offers (provider_id, starts_at) WHERE status = 'open';
CREATE INDEX waitlist_offers_open_expiry ON waitlist_offers (expires_at) WHERE status = 'open';

-- iCalendar feeds at unguessable, revocable URLs; only the token's hash is stored.
CREATE TABLE calendar_feeds (
    id          uuid PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_by  uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX calendar_feeds_person ON calendar_feeds (person_id);

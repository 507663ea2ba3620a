-- Referrals (FHIR ServiceRequest semantics): a request that a client be seen, from a provider,
-- the organisation or the client, triaged by staff, assigned to a provider who accepts or
-- declines it. `referral_events` is its status history.
CREATE TABLE referrals (
    id                   uuid PRIMARY KEY,               -- UUID v7, made in Rust
    client_id            uuid NOT NULL REFERENCES people (id) ON DELETE RESTRICT,
    source               text NOT NULL CHECK (source IN ('provider', 'organisation', 'self')),
    referred_by          uuid REFERENCES accounts (id) ON DELETE SET NULL,
    -- An outside referrer (a GP, a school): free text, shown to the staff side only.
    referrer_name        text CHECK (referrer_name IS NULL OR length(btrim(referrer_name)) BETWEEN 1 AND 200),
    -- Clinical: never logged, never in the audit log.
    reason               text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 4000),
    urgency              text NOT NULL CHECK (urgency IN ('routine', 'urgent')),
    department_id        uuid REFERENCES departments (id) ON DELETE RESTRICT,
    type_id              uuid REFERENCES appointment_types (id) ON DELETE RESTRICT,
    assigned_provider_id uuid REFERENCES people (id) ON DELETE RESTRICT,
    status               text NOT NULL DEFAULT 'new'
                         CHECK (status IN ('new', 'assigned', 'accepted', 'declined', 'withdrawn')),
    -- Why it was declined or withdrawn (the latest such reason; each one is in the history).
    status_reason        text CHECK (status_reason IS NULL OR length(status_reason) <= 1000),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              integer NOT NULL DEFAULT 1,
    CHECK ((status IN ('assigned', 'accepted')) = (assigned_provider_id IS NOT NULL))
);
-- The triage queue and the lists: urgent first, then oldest (ids are time-ordered).
CREATE INDEX referrals_queue ON referrals (urgency DESC, id) WHERE status IN ('new', 'declined');
CREATE INDEX referrals_provider ON referrals (assigned_provider_id) WHERE assigned_provider_id IS NOT NULL;
CREATE INDEX referrals_client ON referrals (client_id);
CREATE INDEX referrals_department ON referrals (department_id) WHERE department_id IS NOT NULL;
CREATE INDEX referrals_referred_by ON referrals (referred_by);

CREATE TABLE referral_events (
    id            uuid PRIMARY KEY,
    referral_id   uuid NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_account uuid REFERENCES accounts (id) ON DELETE SET NULL,
    -- NULL for the creation.
    from_status   text,
    to_status     text NOT NULL
                  CHECK (to_status IN ('new', 'assigned', 'accepted', 'declined', 'withdrawn')),
    -- The provider assigned, accepting or declining.
    provider_id   uuid REFERENCES people (id) ON DELETE SET NULL,
    reason        text CHECK (reason IS NULL OR length(reason) <= 1000)
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, at, id);
COMMENT ON TABLE referral_events IS 'append-only';

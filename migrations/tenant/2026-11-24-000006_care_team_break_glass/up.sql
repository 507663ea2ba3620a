-- Who may see a client's records beyond administrators: the providers on the client's care
-- team, and — for a stated reason, for a limited time, audited and alerted — anyone on the
-- staff side through break-glass.

CREATE TABLE care_team (
    client_person_id   uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    provider_person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    assigned_at        timestamptz NOT NULL DEFAULT now(),
    assigned_by        uuid REFERENCES accounts (id) ON DELETE SET NULL,
    PRIMARY KEY (client_person_id, provider_person_id)
);
CREATE INDEX care_team_provider ON care_team (provider_person_id);

CREATE TABLE break_glass_grants (
    id               uuid PRIMARY KEY,
    account_id       uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    reason_code      text NOT NULL
                     CHECK (reason_code IN ('emergency', 'patient_safety', 'continuity_of_care', 'legal_request')),
    -- Free text is kept here for the reviewers, never in the audit log (which may be exported).
    reason           text NOT NULL CHECK (length(btrim(reason)) BETWEEN 10 AND 1000),
    starts_at        timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    CHECK (expires_at > starts_at)
);
CREATE INDEX break_glass_active ON break_glass_grants (account_id, client_person_id, expires_at);

-- The tenant's security policy (one row): session timeouts and which roles must use MFA.
CREATE TABLE security_policy (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    session_idle_minutes  integer NOT NULL DEFAULT 30 CHECK (session_idle_minutes BETWEEN 5 AND 480),
    session_max_hours     integer NOT NULL DEFAULT 12 CHECK (session_max_hours BETWEEN 1 AND 168),
    mfa_required_roles    text[] NOT NULL DEFAULT '{}'
        CHECK (mfa_required_roles <@ ARRAY['institution_admin', 'sub_admin', 'provider', 'staff', 'client']),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               integer NOT NULL DEFAULT 1
);
INSERT INTO security_policy DEFAULT VALUES;
REVOKE INSERT, DELETE, TRUNCATE ON security_policy FROM swiftacare_app;

-- A session whose account must enrol an authenticator before doing anything else.
ALTER TABLE sessions ADD COLUMN mfa_enrolment_required boolean NOT NULL DEFAULT false;

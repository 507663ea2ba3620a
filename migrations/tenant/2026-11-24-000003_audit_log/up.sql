-- The audit log: append-only and hash-chained (HIPAA 164.312(b)).
--
-- Each row stores the previous row's hash and its own: hash = sha256(prev_hash || payload),
-- where payload is the canonical JSON of the row's fields (domain::audit::canonical). The
-- application role may only SELECT and INSERT here (see the 'append-only' comment, which
-- tenancy::migrate turns into grants), and a trigger refuses UPDATE, DELETE and TRUNCATE for
-- everyone, so only a deliberate edit behind the application's back can change a row — and
-- `swiftacare audit verify` then names the first row whose hash no longer matches.
--
-- No health data: actions, resource ids and subject ids only; never names, emails or free text.

CREATE TABLE audit_log (
    seq           bigint PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    actor_type    text NOT NULL CHECK (actor_type IN ('account', 'system', 'anonymous', 'integration', 'operator')),
    actor_id      uuid,
    action        text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)+$'),
    resource_type text,
    resource_id   uuid,
    -- The clients whose records were read or written (for "who accessed my record").
    subjects      uuid[] NOT NULL DEFAULT '{}',
    outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    request_id    text,
    details       jsonb NOT NULL DEFAULT '{}',
    prev_hash     bytea NOT NULL,
    hash          bytea NOT NULL
);
COMMENT ON TABLE audit_log IS 'append-only';
CREATE INDEX audit_log_time ON audit_log (occurred_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, occurred_at);
CREATE INDEX audit_log_action ON audit_log (action, occurred_at);
CREATE INDEX audit_log_subjects ON audit_log USING gin (subjects);

-- The chain head: one row, locked by each append so appends are serialised per tenant.
CREATE TABLE audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

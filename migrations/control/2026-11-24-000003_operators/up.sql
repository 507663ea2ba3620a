-- Platform operators: they create, place and suspend tenants. They sign in to the control
-- plane (tokens with audience "platform"), never to a tenant, so they cannot read tenant data.

CREATE TABLE control.operators (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX operators_email ON control.operators (lower(email));

CREATE TABLE control.operator_sessions (
    id           uuid PRIMARY KEY,
    operator_id  uuid NOT NULL REFERENCES control.operators (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- What operators did (append-only; no tenant data is ever in it).
CREATE TABLE control.operator_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    operator_id uuid,
    action      text NOT NULL,
    tenant_slug text,
    outcome     text NOT NULL,
    request_id  text
);
CREATE FUNCTION control.operator_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER operator_events_append_only BEFORE UPDATE OR DELETE ON control.operator_events
    FOR EACH ROW EXECUTE FUNCTION control.operator_events_refuse_change();

GRANT SELECT, INSERT, UPDATE ON control.operators, control.operator_sessions TO swiftacare_app;
GRANT SELECT, INSERT ON control.operator_events TO swiftacare_app;

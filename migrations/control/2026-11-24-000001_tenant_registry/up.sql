-- Control plane: the tenant registry and the shards tenants are placed on.
-- Every object is schema-qualified: control migrations run with search_path = control,
-- but nothing here relies on it.

CREATE SCHEMA IF NOT EXISTS control;

-- The default search_path of every application connection (see tenancy::pool).
-- It is empty and nobody may create objects in it, so an unqualified query that
-- escaped tenancy's transaction helper fails instead of reading some tenant's rows.
CREATE SCHEMA IF NOT EXISTS swiftacare_empty;
REVOKE ALL ON SCHEMA swiftacare_empty FROM PUBLIC;

CREATE TABLE control.shards (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,30}$'),
    description text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining', 'readonly')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- `primary` is the cluster that holds this control schema.
INSERT INTO control.shards (id, description) VALUES ('primary', 'cluster holding the control schema');

CREATE TABLE control.tenants (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE
                    CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind            text NOT NULL
                    CHECK (kind IN ('government', 'hospital', 'corporate', 'clinic', 'practice')),
    -- Generated from the id, never from user input (HOUSE_STYLE 3).
    schema_name     text GENERATED ALWAYS AS ('t_' || id::text) STORED UNIQUE,
    shard_id        text NOT NULL REFERENCES control.shards (id),
    status          text NOT NULL DEFAULT 'provisioning'
                    CHECK (status IN ('provisioning', 'active', 'suspended')),
    -- Latest tenant migration applied to the schema; NULL until the first one ran.
    schema_version  text,
    -- Why the last migration of this tenant failed (NULL when it succeeded).
    migration_error text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_pending_migration ON control.tenants (schema_version);

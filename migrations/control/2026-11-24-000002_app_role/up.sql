-- The application role. Pooled connections switch to it at start-up (`-c role=…`, see
-- tenancy::pool), so request code runs with only the privileges granted here and by the
-- tenant grants (tenancy::migrate): no DDL, and no UPDATE/DELETE on append-only tables
-- such as the audit log. Migrations keep the connecting (owner) role.
-- Roles are cluster-wide: databases migrating at the same moment on one cluster (tests, or
-- several shards) may race to create or grant it, so losing the race is not an error.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'swiftacare_app') THEN
        BEGIN
            CREATE ROLE swiftacare_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    -- The owner may act as the application role (needed when it is not a superuser).
    IF NOT pg_has_role(current_user, 'swiftacare_app', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT swiftacare_app TO %I', current_user);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA control TO swiftacare_app;
GRANT SELECT, INSERT, UPDATE ON control.tenants, control.shards TO swiftacare_app;

-- Append-only tables refuse UPDATE/DELETE/TRUNCATE to the application role explicitly.
-- (Tenant schemas grant the application role read/write on new tables by default privileges,
-- set by tenancy::migrate before any migration runs; a migration that adds an append-only
-- table must revoke the same way.)
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM swiftacare_app;
REVOKE INSERT, DELETE, TRUNCATE ON audit_head FROM swiftacare_app;

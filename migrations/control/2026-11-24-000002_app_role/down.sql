REVOKE ALL ON control.tenants, control.shards FROM swiftacare_app;
REVOKE USAGE ON SCHEMA control FROM swiftacare_app;

DROP TABLE control.tenants; DROP TABLE control.shards; DROP SCHEMA swiftacare_empty; DROP SCHEMA control;

DROP TABLE control.sso_handoffs;
DROP TABLE control.sso_seen_assertions;
DROP TABLE control.sso_pending;
DROP TABLE control.sso_domains;
DROP TABLE control.sso_connections;

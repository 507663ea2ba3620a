ALTER TABLE sessions DROP COLUMN mfa_enrolment_required;
DROP TABLE security_policy;

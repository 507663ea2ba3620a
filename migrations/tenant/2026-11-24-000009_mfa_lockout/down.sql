ALTER TABLE mfa_totp DROP COLUMN locked_until; ALTER TABLE mfa_totp DROP COLUMN failed_attempts;

-- SMS reminders (issue 6): the client's mobile number and their consent to text messages,
-- recorded by the people who administer the directory; and the secret the tenant's SMS gateway
-- uses to check that a request came from us (sealed with the server key, never returned).
ALTER TABLE people
    -- E.164: '+', country code and number, at most 15 digits.
    ADD COLUMN phone text CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$'),
    ADD COLUMN sms_reminders boolean NOT NULL DEFAULT false;

ALTER TABLE scheduling_policy
    ADD COLUMN sms_webhook_secret bytea;

ALTER TABLE scheduling_policy DROP COLUMN sms_webhook_secret;
ALTER TABLE people DROP COLUMN sms_reminders, DROP COLUMN phone;

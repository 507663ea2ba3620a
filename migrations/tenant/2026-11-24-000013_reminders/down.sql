DROP TABLE reminder_deliveries, processed_jobs;
ALTER TABLE scheduling_policy
    DROP COLUMN reminders_enabled, DROP COLUMN reminder_offsets_minutes, DROP COLUMN reminder_channels,
    DROP COLUMN sms_webhook_url, DROP COLUMN reminder_template;

DROP TABLE calendar_feeds, waitlist_offers, waitlist_entries, idempotency_keys, appointment_events,
    appointments, appointment_series, availability_overrides, availability_rules,
    provider_schedules, appointment_types, locations, scheduling_policy;

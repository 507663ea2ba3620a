//! Diesel tables for scheduling (migration `000011_scheduling`). Kept beside the context so
//! the shared `crate::schema` stays the identity/organisation core.

diesel::table! {
    scheduling_policy (id) {
        id -> Bool,
        clients_may_self_book -> Bool,
        max_open_bookings_per_client -> Int4,
        max_bookings_per_client_per_day -> Int4,
        max_waitlist_entries_per_client -> Int4,
        waitlist_offer_minutes -> Int4,
        waitlist_offer_batch -> Int4,
        ical_show_client_names -> Bool,
        updated_at -> Timestamptz,
        version -> Int4,
        reminders_enabled -> Bool,
        reminder_offsets_minutes -> Array<Int4>,
        reminder_channels -> Array<Text>,
        sms_webhook_url -> Nullable<Text>,
        reminder_template -> Text,
        sms_webhook_secret -> Nullable<Bytea>,
    }
}

diesel::table! {
    locations (id) {
        id -> Uuid,
        name -> Text,
        address -> Nullable<Text>,
        timezone -> Text,
        department_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    appointment_type_providers (type_id, provider_id) {
        type_id -> Uuid,
        provider_id -> Uuid,
    }
}

diesel::table! {
    appointment_types (id) {
        id -> Uuid,
        name -> Text,
        duration_minutes -> Int4,
        buffer_before_minutes -> Int4,
        buffer_after_minutes -> Int4,
        slot_interval_minutes -> Int4,
        min_notice_minutes -> Int4,
        max_advance_days -> Int4,
        cancellation_window_minutes -> Int4,
        modality -> Text,
        location_id -> Nullable<Uuid>,
        client_bookable -> Bool,
        requires_approval -> Bool,
        department_id -> Nullable<Uuid>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        offered_by_all -> Bool,
    }
}

diesel::table! {
    provider_schedules (provider_id) {
        provider_id -> Uuid,
        timezone -> Text,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    availability_rules (id) {
        id -> Uuid,
        provider_id -> Uuid,
        weekday -> Int2,
        start_time -> Time,
        end_time -> Time,
        location_id -> Nullable<Uuid>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
    }
}

diesel::table! {
    availability_overrides (id) {
        id -> Uuid,
        provider_id -> Uuid,
        on_date -> Date,
        kind -> Text,
        start_time -> Nullable<Time>,
        end_time -> Nullable<Time>,
        location_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    appointment_series (id) {
        id -> Uuid,
        provider_id -> Uuid,
        client_id -> Uuid,
        type_id -> Uuid,
        timezone -> Text,
        first_local -> Timestamp,
        rrule -> Text,
        parent_id -> Nullable<Uuid>,
        status -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    appointments (id) {
        id -> Uuid,
        provider_id -> Uuid,
        client_id -> Uuid,
        type_id -> Uuid,
        location_id -> Nullable<Uuid>,
        series_id -> Nullable<Uuid>,
        occurrence_local -> Nullable<Timestamp>,
        series_exception -> Bool,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        busy_from -> Timestamptz,
        busy_until -> Timestamptz,
        timezone -> Text,
        status -> Text,
        cancelled_by -> Nullable<Text>,
        late_cancellation -> Bool,
        booked_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    appointment_events (id) {
        id -> Uuid,
        appointment_id -> Uuid,
        at -> Timestamptz,
        actor_account -> Nullable<Uuid>,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason_code -> Nullable<Text>,
        late -> Bool,
        previous_start -> Nullable<Timestamptz>,
        previous_end -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    idempotency_keys (account_id, key) {
        account_id -> Uuid,
        key -> Text,
        operation -> Text,
        request_hash -> Bytea,
        resource_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    waitlist_entries (id) {
        id -> Uuid,
        client_id -> Uuid,
        provider_id -> Nullable<Uuid>,
        type_id -> Uuid,
        window_from -> Timestamptz,
        window_until -> Timestamptz,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    waitlist_offers (id) {
        id -> Uuid,
        entry_id -> Uuid,
        provider_id -> Uuid,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        expires_at -> Timestamptz,
        status -> Text,
        appointment_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_feeds (id) {
        id -> Uuid,
        person_id -> Uuid,
        token_hash -> Bytea,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reminder_deliveries (id) {
        id -> Uuid,
        appointment_id -> Uuid,
        job_id -> Uuid,
        offset_minutes -> Int4,
        channel -> Text,
        scheduled_for -> Timestamptz,
        due_at -> Timestamptz,
        status -> Text,
        detail -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    bulk_batches (id) {
        id -> Uuid,
        submitted_by -> Uuid,
        total -> Int4,
        status -> Text,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    bulk_rows (batch_id, line) {
        batch_id -> Uuid,
        line -> Int4,
        seq -> Int4,
        chunk -> Int4,
        client_id -> Nullable<Uuid>,
        provider_id -> Nullable<Uuid>,
        department_id -> Nullable<Uuid>,
        type_id -> Nullable<Uuid>,
        from_date -> Nullable<Date>,
        until_date -> Nullable<Date>,
        from_at -> Nullable<Timestamptz>,
        until_at -> Nullable<Timestamptz>,
        preferred_from -> Nullable<Time>,
        preferred_until -> Nullable<Time>,
        status -> Text,
        reason -> Nullable<Text>,
        appointment_id -> Nullable<Uuid>,
        starts_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(appointments -> appointment_types (type_id));
diesel::joinable!(waitlist_offers -> waitlist_entries (entry_id));
diesel::joinable!(availability_rules -> provider_schedules (provider_id));

diesel::allow_tables_to_appear_in_same_query!(
    scheduling_policy,
    appointment_type_providers,
    locations,
    appointment_types,
    provider_schedules,
    availability_rules,
    availability_overrides,
    appointment_series,
    appointments,
    appointment_events,
    idempotency_keys,
    waitlist_entries,
    waitlist_offers,
    calendar_feeds,
    reminder_deliveries,
    bulk_batches,
    bulk_rows,
);

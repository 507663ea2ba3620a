//! Diesel definitions of the referral tables (unqualified: they resolve only inside
//! `Tenancy::tx`).

diesel::table! {
    referrals (id) {
        id -> Uuid,
        client_id -> Uuid,
        source -> Text,
        referred_by -> Nullable<Uuid>,
        referrer_name -> Nullable<Text>,
        reason -> Text,
        urgency -> Text,
        department_id -> Nullable<Uuid>,
        type_id -> Nullable<Uuid>,
        assigned_provider_id -> Nullable<Uuid>,
        status -> Text,
        status_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    referral_events (id) {
        id -> Uuid,
        referral_id -> Uuid,
        at -> Timestamptz,
        actor_account -> Nullable<Uuid>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        provider_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
    }
}

diesel::joinable!(referral_events -> referrals (referral_id));

diesel::allow_tables_to_appear_in_same_query!(referrals, referral_events);
use crate::schema::people;
// The visibility filter selects a sub-admin's clients and providers in a subquery.
diesel::allow_tables_to_appear_in_same_query!(referrals, people);

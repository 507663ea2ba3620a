//! The one integration-test binary. Every test runs against the real PostgreSQL (and, where
//! named, the real `swiftacare` binary) in a database of its own, dropped afterwards.
//!
//! * `isolation` — QUALITY T3: every operation in the spec, tenant A's credentials, B's ids.
//! * `search_path` — QUALITY T4 and fail-closed.
//! * `migrations` — per-tenant failure isolation and resumable reruns.
//! * `http` — bad input, problem+json, tenant routing, auth, If-Match, access policy.
//! * `cli` — `tenant create/list`, `migrate` idempotency, `serve` logs without personal data.
//! * `spec` — the committed OpenAPI file matches the code.
//! * `caseload` — a provider's clients with their next and last appointment.
//! * `referrals` — the referral triage flow, transitions, visibility and audit.
//! * `slot_pages` — slot search in pages: cursors lose and repeat nothing, bad paging input.
//! * `web` — the web app is served at `/` with its security headers, without shadowing the API.

mod support;

mod access;
mod accounts;
mod audit;
mod bulk;
mod caseload;
mod cli;
mod clients;
mod contact;
mod http;
mod idp;
mod invitations;
mod isolation;
mod jobs;
mod mfa;
mod migrations;
mod offering;
mod platform;
mod referrals;
mod roles;
mod scheduling;
mod scim;
mod search_path;
mod security;
mod series_rules;
mod slot_pages;
mod spec;
mod sso;
mod sso_attacks;
mod throttle;
mod tokens;
mod web;

//! The Swiftacare HTTP API and CLI (one binary: `swiftacare`; job workers arrive with the jobs issue).
//!
//! * [`app`] builds the poem endpoint (router, middleware, spec, health, metrics).
//! * [`tenant_router`] resolves each request's tenant; [`auth`] its caller.
//! * [`http`] holds the thin handlers, one `#[OpenApi]` impl per bounded context.
//! * [`scim`] serves SCIM 2.0 (`/scim/v2`) for identity providers, outside the tenant router.
//! * [`cli`] implements `serve`, `migrate`, `tenant …`, `demo`, `openapi`.

pub mod app;
pub mod auth;
pub mod body_limit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod embedded_pg;
pub mod http;
pub mod ical;
pub mod jobs;
pub mod mail;
pub mod openapi;
pub mod platform;
pub mod problem;
pub mod scim;
pub mod serve;
pub mod telemetry;
pub mod tenant_router;
pub mod throttle;
pub mod web;

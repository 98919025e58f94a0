//! Helpline's HTTP API and the `helpline` binary's machinery.
//!
//! An actix-web application under `/api/v1`: JSON in and out, RFC 9457 problems for every
//! error (mapped in one place, [`error`]), bearer authentication by JWT for staff and by hashed
//! API tokens for integrations ([`auth`]), the domain's permission matrix applied to every
//! route, optimistic concurrency with ETag / If-Match, idempotency keys on creation, and
//! `openapi.yaml` as the contract a test holds the routes to.
//!
//! It must never log a request body, a beneficiary's name or address, a token or a password;
//! and it must never answer a question about a confidential case to someone who may not see it
//! with anything but "not found".

pub mod allowed;
pub mod app;
pub mod auth;
pub mod callers;
pub mod config;
pub mod console;
pub mod error;
pub mod extract;
pub mod indexer;
pub mod mail;
pub mod outbox;
pub mod routes;
pub mod second_factor;
pub mod service;
pub mod sharing;
pub mod sign_in;
pub mod telemetry;
pub mod throttle;
pub mod webhooks;
pub mod worker;

pub use app::{AppState, Application, Clock};
pub use config::Config;

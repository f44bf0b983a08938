//! Soku's shared core: configuration, ids, domain types, the platform rules table, job payloads and the
//! store (all SQL). It holds no HTTP handlers and no platform HTTP clients.

pub mod account;
pub mod auth_epoch;
pub mod config;
pub mod crypto;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod platform;
pub mod post;
pub mod queue;
pub mod rules;
pub mod store;
pub mod text;
pub mod validate;

//! Soku's shared core: configuration, ids, domain types, the platform rules table, job payloads and the
//! store (all SQL). It holds no HTTP handlers and no platform HTTP clients.

pub mod account;
pub mod address_policy;
pub mod admin;
pub mod auth_epoch;
pub mod config;
pub mod crypto;
pub mod fetch;
pub mod handoff;
pub mod ids;
pub mod integration;
pub mod jobs;
pub mod media;
pub mod media_check;
pub mod metrics;
pub mod platform;
pub mod post;
pub mod redis_keys;
pub mod redis_queue;
pub mod rules;
pub mod status;
pub mod storage;
pub mod store;
pub mod templates;
pub mod text;
pub mod transcription;
pub mod validate;

//! Soku end to end: each module is one topic of the contract (docs/api.md and docs/configuration.md); each test
//! starts its own database, Redis prefix and `soku` processes, so they all run in parallel.

mod auth;
mod cli;
mod config;
mod dashboard_browser;
mod durability;
mod errors;
mod front_door;
mod idempotency;
mod integrations;
mod media;
mod media_posts;
mod odd_requests;
mod openapi_health;
mod openapi_spec;
mod platform_rules;
mod post_lifecycle;
mod postgres_restart;
mod posts;
mod publishing;
mod rate_limit;
mod robustness;
mod scale_out;
mod sessions;
mod shutdown;
mod storage_s3;
mod templates;
mod transcription;

//! One module per resource.

pub mod api_keys;
pub mod credits;
pub mod files;
pub mod health;
pub mod integrations;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod posts;
pub mod sessions;
pub mod templates;
pub mod transcribe;

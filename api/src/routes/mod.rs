//! One module per resource.

pub mod health;
pub mod integrations;
pub mod metrics;
pub mod openapi;
pub mod posts;

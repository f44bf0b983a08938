//! One file per job kind, each a [`crate::job::Job`]; `lib.rs` registers each on its queues.

pub mod media;
pub mod publish;
pub mod transcribe;

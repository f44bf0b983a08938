//! The harness of Soku's end-to-end tests. Each test builds a [`TestEnv`] (a fresh Postgres database, a fresh
//! Redis key prefix, a fresh master key, migrated by the real `soku migrate`), starts real `soku api` processes
//! against it with [`TestEnv::spawn_api`], and talks HTTP to them. Nothing here links the server's crates: the
//! tests see Soku only the way a client or an operator does (HTTP, the CLI, and the rows and keys it leaves).

mod delivery;
mod env;
mod files;
mod fixtures;
mod http;
mod inspect;
mod process;
mod publishing;
mod raw;
mod sink;
mod worker;

pub use delivery::{
    QUIET_PERIOD, assert_delivered_exactly_once, attempts_by_outcome, attempts_by_worker,
    rerun_quickly,
};
pub mod media_files {
    //! Real media files made by ffmpeg, and a multipart body.
    pub use crate::files::{ffmpeg, jpeg, mp4, multipart, png};
}
pub use env::{Account, TestEnv, setup, setup_unlimited};
pub use files::{FileServer, Route, tripwire, upload, wait_media};
pub use fixtures::{
    TEST_TOKEN_PREFIX, assert_id, assert_time_ms, random_alnum, random_live_key, text_post,
    time_from_now,
};
pub use http::{Req, Resp};
pub use process::{ApiBuilder, ApiProc};
pub use publishing::{create_post, settled, wait_post};
pub use raw::{RawConn, RawResponse, raw_request};
pub use reqwest::Method;
pub use serde_json::{Value, json};
pub use sink::Sink;
pub use worker::{WorkerProc, WorkerSpec, metric};

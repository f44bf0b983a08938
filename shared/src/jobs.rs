//! Job payloads handed to the workers through Redis, and the queue names they travel on. Payloads carry ids,
//! never content: Postgres holds the truth and each job re-reads it.

use serde::{Deserialize, Serialize};

/// Publish one target. Safe to run twice: the worker first takes a lease on the target in Postgres, which
/// only a `pending` or due `retrying` target grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublishTarget {
    pub target_id: String,
    pub post_id: String,
    pub request_id: String,
}

/// Finish one media object: fetch it (a URL), check what it really is, probe it, make its thumbnail. Safe to
/// run twice: the worker first takes a lease on the media row, which only a `processing` row grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMedia {
    pub media_id: String,
    pub request_id: String,
}

/// Transcribe one recording (a media object's audio). Safe to run twice: the worker first takes a lease on the
/// job row, which only an unfinished job with no live lease grants; chunks already done are never redone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Transcribe {
    pub job_id: String,
    pub request_id: String,
}

/// The Postgres row a job stands for: a push Redis refuses leaves that row marked "not handed over", so the
/// reconciler hands it over again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row<'a> {
    Target(&'a str),
    Media(&'a str),
    Transcription(&'a str),
}

/// What every job payload is: serializable, re-runnable (it holds ids, never content), tied to one row in
/// Postgres, and carrying the request id that follows the work into every log line.
pub trait Payload:
    Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + Unpin + 'static
{
    fn row(&self) -> Row<'_>;
    fn request_id(&self) -> &str;
}

impl Payload for PublishTarget {
    fn row(&self) -> Row<'_> {
        Row::Target(&self.target_id)
    }
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl Payload for ProcessMedia {
    fn row(&self) -> Row<'_> {
        Row::Media(&self.media_id)
    }
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl Payload for Transcribe {
    fn row(&self) -> Row<'_> {
        Row::Transcription(&self.job_id)
    }
    fn request_id(&self) -> &str {
        &self.request_id
    }
}

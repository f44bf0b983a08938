//! Speech to text: the pure, testable core of turning a video's or a recording's sound into a transcript and
//! subtitle files.
//!
//! Transcription is done by a remote (or self-hosted) Whisper behind the OpenAI-compatible
//! `POST /v1/audio/transcriptions` endpoint. Those endpoints take one file of a bounded size (25 MB at OpenAI),
//! so a long recording is sent in chunks, and the chunks' transcripts are put back together. The steps, each a
//! function here that a worker job calls in order:
//!
//! 1. [`audio::extract_pcm`]: ffmpeg decodes the first audio track to raw 16 kHz mono 16-bit PCM (what Whisper
//!    works on internally, so nothing is lost, and 32000 bytes a second, so a byte offset *is* a time). The
//!    duration is measured from the decoded bytes, not read from a header that may be wrong.
//! 2. [`audio::detect_silences`]: ffmpeg's `silencedetect` finds the pauses.
//! 3. [`split::plan`]: chunk ranges of about a target length, each cut in the middle of a pause, so no word is
//!    cut in two; a hard cut only where there is no pause before the provider's limit
//!    ([`split::max_seconds_for_bytes`]).
//! 4. [`audio::read_range`] and [`audio::wav`]: one chunk's bytes, with a WAV header, is the upload.
//! 5. [`provider::Provider::transcribe`]: the request, retried when the provider is busy or down, refused
//!    for good when it refuses the audio.
//! 6. [`stitch::shift`] and [`stitch::stitch`]: each chunk's segments moved to the recording's clock, likely
//!    hallucinations on silence dropped, then joined in order into one text and one list of [`Segment`]s.
//! 7. [`stitch::srt`], [`stitch::vtt`], [`stitch::txt`]: the files a user downloads.
//!
//! Nothing here stores anything or knows about jobs: the worker owns the temporary files, the storage and the
//! settings (which provider, which model, the API key).

use serde::{Deserialize, Serialize};

pub mod audio;
pub mod provider;
pub mod split;
pub mod stitch;

pub use audio::{BYTES_PER_SECOND, detect_silences, extract_pcm, read_range, wav};
pub use provider::{ChunkTranscript, Provider, ProviderError, RawSegment};
pub use split::{max_seconds_for_bytes, plan};
pub use stitch::{keep, shift, srt, stitch, txt, vtt};

/// One timed piece of a transcript, on the recording's clock. Serialises with camelCase names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording; never before `start`.
    pub end: f64,
    /// What was said, trimmed.
    pub text: String,
}

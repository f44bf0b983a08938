//! The transcription job: speech to text of one media object's audio, settled in credits. It takes the lease on
//! the job row (only an unfinished job with no live lease grants one, so a duplicate delivery does nothing),
//! keeps it alive while it works, and then:
//!
//! 1. copies the media's file down and decodes its audio to 16 kHz mono PCM with ffmpeg (killed on timeout);
//!    the duration is measured from the decoded samples, never read from the container;
//! 2. fails at once, releasing everything, when the measured length costs more than the reservation and the
//!    account cannot cover the difference (no provider call is wasted on a job that cannot be paid);
//! 3. finds the pauses (`silencedetect`) and cuts the recording into chunks of about
//!    `SOKU_TRANSCRIPTION_CHUNK_SECONDS`, each cut in the middle of a pause, none over the provider's size
//!    limit; the plan is stored, so a run after a crash cuts the same chunks;
//! 4. sends the chunks not yet done to the provider, `SOKU_TRANSCRIPTION_PARALLEL_CHUNKS` at a time; each is
//!    stored the moment it is done (on the recording's clock, hallucinations on silence dropped), and is never
//!    sent again, so a worker killed mid-job resumes from the chunks already done;
//! 5. stitches the chunks in order and settles in one transaction: the transcript stored, the real cost charged,
//!    the rest of the reservation released.
//!
//! A provider that refuses a chunk (4xx) fails the job with its message and releases everything; one that is
//! unavailable (429/5xx after the client's own retries) puts the job back for later, at most [`MAX_ATTEMPTS`]
//! runs. A job canceled mid-run is noticed at the next chunk: the run stops and settles nothing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use soku_shared::config::credits_for;
use soku_shared::jobs::Transcribe;
use soku_shared::media::ProbeError;
use soku_shared::status::MediaStatus;
use soku_shared::store::credits;
use soku_shared::store::media as media_store;
use soku_shared::store::transcriptions::{
    self as store, ChunkRow, Settled, Transcript, TranscriptionRow,
};
use soku_shared::transcription::{self, ProviderError, Segment};

use crate::backoff;
use crate::context::Ctx;
use crate::job::{Job, Outcome, renewing};

/// Runs of one job before a transient failure becomes `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long decoding the audio, or finding its pauses, may take.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The part of the progress the audio extraction stands for; the chunks share the rest by length.
const EXTRACTED: f64 = 0.05;

pub struct TranscribeJob;

impl Job for TranscribeJob {
    type Payload = Transcribe;
    const NAME: &'static str = "transcribe";

    fn span(job: &Transcribe) -> tracing::Span {
        tracing::info_span!("transcribe", job_id = %job.job_id)
    }

    async fn run(ctx: &Ctx, job: &Transcribe) -> anyhow::Result<Outcome> {
        let lease_secs = ctx.cfg.lease_secs as f64;
        let Some(row) = store::lease(&ctx.db, &job.job_id, &ctx.name, lease_secs)
            .await
            .context("taking the lease on the transcription")?
        else {
            tracing::debug!("transcription finished, canceled or leased elsewhere: nothing to do");
            return Ok(Outcome::Skipped);
        };
        let input = ctx.storage.tmp_path("transcribe-in");
        let pcm = ctx.storage.tmp_path("transcribe-pcm");
        let every = Duration::from_secs_f64((lease_secs / 3.0).max(0.2));
        let renew = || async {
            store::renew(&ctx.db, &row.id, &ctx.name, lease_secs).await?;
            Ok(())
        };
        let verdict = renewing(process(ctx, &row, &input, &pcm), every, renew).await;
        let _ = tokio::fs::remove_file(&input).await;
        let _ = tokio::fs::remove_file(&pcm).await;
        settle(ctx, &row, verdict).await?;
        Ok(Outcome::Done)
    }
}

/// What became of one run.
enum Verdict {
    Done {
        text: String,
        segments: Vec<Segment>,
        language: Option<String>,
        duration: f64,
    },
    /// For good: everything is released.
    Failed {
        code: &'static str,
        message: String,
        duration: Option<f64>,
    },
    /// Worth another run later; the chunks done are kept.
    Transient { code: &'static str, message: String },
    /// Canceled, or taken over, while it ran: nothing to settle.
    Gone,
}

fn failed(code: &'static str, message: impl Into<String>, duration: Option<f64>) -> Verdict {
    Verdict::Failed {
        code,
        message: message.into(),
        duration,
    }
}

async fn process(ctx: &Ctx, row: &TranscriptionRow, input: &Path, pcm: &Path) -> Verdict {
    match try_process(ctx, row, input, pcm).await {
        Ok(v) => v,
        Err(e) => Verdict::Transient {
            code: "transcription_internal",
            message: format!("the recording could not be transcribed yet: {e:#}"),
        },
    }
}

async fn try_process(
    ctx: &Ctx,
    row: &TranscriptionRow,
    input: &Path,
    pcm: &Path,
) -> anyhow::Result<Verdict> {
    let Some(provider) = ctx.transcriber.as_ref() else {
        return Ok(Verdict::Transient {
            code: "transcription_unavailable",
            message:
                "this worker has no transcription provider (SOKU_TRANSCRIPTION_URL is not set)"
                    .into(),
        });
    };
    let media = media_store::get(&ctx.db, &row.account_id, row.livemode, &row.media_id).await?;
    let Some(media) = media.filter(|m| m.status == MediaStatus::Ready) else {
        return Ok(failed(
            "media_failed",
            "the media to transcribe failed or was deleted",
            None,
        ));
    };
    let key = media
        .original_key
        .clone()
        .context("ready media without a stored file")?;
    ctx.storage
        .download(&key, input)
        .await
        .context("copying the media file down")?;
    let duration = match transcription::extract_pcm(input, pcm, FFMPEG_TIMEOUT).await {
        Ok(d) => d,
        Err(ProbeError::ToolMissing { tool }) => {
            anyhow::bail!("{tool} is not installed on this worker")
        }
        Err(ProbeError::Io { detail }) => anyhow::bail!("{detail}"),
        Err(e) => return Ok(failed("no_audio", e.to_string(), None)),
    };
    let _ = tokio::fs::remove_file(input).await;
    if !store::set_progress(&ctx.db, &row.id, &ctx.name, EXTRACTED, Some(duration)).await? {
        return Ok(Verdict::Gone);
    }
    // A cost above the reservation that the account cannot cover fails now, before the provider is paid for.
    let cost = credits_for(row.credits_per_minute as u64, duration);
    if row.livemode && cost > row.credits_reserved {
        let available = credits::balance(&ctx.db, &row.account_id)
            .await?
            .map_or(0, |b| b.available());
        if cost - row.credits_reserved > available {
            return Ok(failed(
                "insufficient_credits",
                format!(
                    "The recording is {duration:.1} s long, which costs {cost} credits; {} were reserved and \
                     the account has {available} more available. Add credits and transcribe it again.",
                    row.credits_reserved
                ),
                Some(duration),
            ));
        }
    }
    let cfg = &ctx.transcription;
    let max = transcription::max_seconds_for_bytes(cfg.max_upload_bytes);
    // A recording one chunk holds needs no cut, so no pauses (a second ffmpeg run saved: ~90 ms a job).
    let one_chunk = duration <= (cfg.chunk_seconds as f64).min(max);
    let silences = if one_chunk {
        Vec::new()
    } else {
        match transcription::detect_silences(pcm, FFMPEG_TIMEOUT).await {
            Ok(s) => s,
            Err(e) => anyhow::bail!("finding the pauses: {e}"),
        }
    };
    let plan = transcription::plan(duration, &silences, cfg.chunk_seconds as f64, max);
    let chunks = store::plan_chunks(&ctx.db, &row.id, &plan).await?;
    let done_secs = AtomicU64::new(0);
    let add_done = |secs: f64| {
        done_secs.fetch_add((secs * 1000.0) as u64, Ordering::Relaxed) as f64 / 1000.0 + secs
    };
    for c in chunks.iter().filter(|c| c.is_done()) {
        add_done(c.end_seconds - c.start_seconds);
    }
    let pending: Vec<ChunkRow> = chunks.iter().filter(|c| !c.is_done()).cloned().collect();
    tracing::info!(
        duration,
        chunks = chunks.len(),
        pending = pending.len(),
        "transcribing"
    );
    let language = row.language.as_deref();
    let mut results = futures::stream::iter(pending)
        .map(|c| async move {
            let bytes = transcription::read_range(pcm, c.start_seconds, c.end_seconds)
                .await
                .context("reading a chunk of the audio")?;
            let len = c.end_seconds - c.start_seconds;
            let answer = provider
                .transcribe(
                    transcription::wav(&bytes),
                    &row.provider_model,
                    language,
                    None,
                )
                .await;
            let chunk = match answer {
                Ok(chunk) => chunk,
                Err(e) => return Ok::<_, anyhow::Error>(Err(e)),
            };
            let segments = transcription::shift(&chunk, c.start_seconds, len);
            let text = segments
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            store::chunk_done(
                &ctx.db,
                &row.id,
                c.idx,
                &serde_json::to_value(&segments)?,
                &text,
                chunk.language.as_deref(),
            )
            .await?;
            let so_far = add_done(len);
            let progress = EXTRACTED + (1.0 - EXTRACTED) * (so_far / duration).min(1.0);
            let still_ours =
                store::set_progress(&ctx.db, &row.id, &ctx.name, progress, None).await?;
            Ok(Ok(still_ours))
        })
        .buffer_unordered(cfg.parallel_chunks.max(1));
    while let Some(result) = results.next().await {
        match result? {
            Ok(true) => {}
            Ok(false) => return Ok(Verdict::Gone),
            Err(ProviderError::Rejected { status, message }) => {
                return Ok(failed(
                    "transcription_rejected",
                    format!(
                        "The transcription provider refused the audio (HTTP {status}): {message}"
                    ),
                    Some(duration),
                ));
            }
            Err(e) => {
                return Ok(Verdict::Transient {
                    code: e.code(),
                    message: e.to_string(),
                });
            }
        }
    }
    drop(results);
    let stored = store::chunks(&ctx.db, &row.id).await?;
    let mut pieces = Vec::with_capacity(stored.len());
    let mut detected = None;
    for c in &stored {
        let Some(segments) = &c.segments else {
            anyhow::bail!("chunk {} of the job is not done", c.idx);
        };
        pieces.push(serde_json::from_value::<Vec<Segment>>(segments.0.clone())?);
        if detected.is_none() {
            detected = c.language.clone();
        }
    }
    let (text, segments) = transcription::stitch(&pieces);
    Ok(Verdict::Done {
        text,
        segments,
        language: row.language.clone().or(detected),
        duration,
    })
}

async fn settle(ctx: &Ctx, row: &TranscriptionRow, verdict: Verdict) -> anyhow::Result<()> {
    let owner = ctx.name.as_str();
    match verdict {
        Verdict::Done {
            text,
            segments,
            language,
            duration,
        } => {
            let cost = credits_for(row.credits_per_minute as u64, duration);
            let segments = serde_json::to_value(&segments)?;
            let t = Transcript {
                text: &text,
                segments: &segments,
                language: language.as_deref(),
                duration_seconds: duration,
                cost,
            };
            match store::complete(&ctx.db, &row.id, owner, &t).await? {
                Settled::Completed => tracing::info!(
                    duration,
                    charged = if row.livemode { cost } else { 0 },
                    reserved = row.credits_reserved,
                    "transcription completed"
                ),
                Settled::Insufficient { available } => tracing::warn!(
                    cost,
                    available,
                    "transcription failed: the real cost is more than the account can pay"
                ),
                Settled::Gone => {
                    tracing::info!("transcription canceled or taken over; nothing settled")
                }
            }
        }
        Verdict::Failed {
            code,
            message,
            duration,
        } => {
            if store::fail(&ctx.db, &row.id, Some(owner), code, &message, duration).await? {
                tracing::warn!(code, message = %message, "transcription failed; reservation released");
            }
        }
        Verdict::Transient { code, message } if row.attempts >= MAX_ATTEMPTS => {
            let message = format!("{message} (gave up after {} attempts)", row.attempts);
            if store::fail(&ctx.db, &row.id, Some(owner), code, &message, None).await? {
                tracing::warn!(code, message = %message, "transcription failed; reservation released");
            }
        }
        Verdict::Transient { code, message } => {
            let wait = backoff::delay(row.attempts, Duration::from_secs(5), None);
            if store::retry_later(&ctx.db, &row.id, owner, wait.as_secs_f64(), code, &message)
                .await?
            {
                tracing::warn!(code, message = %message, retry_in_secs = wait.as_secs_f64(), "transcription will be tried again");
            }
        }
        Verdict::Gone => tracing::info!("transcription canceled or taken over mid-run; stopped"),
    }
    Ok(())
}

/// Transcription jobs that waited for media (`media_id`'s, or any) whose media has settled: due now when it is
/// ready, failed (everything released) when it failed or is gone.
pub async fn media_settled(ctx: &Ctx, media_id: Option<&str>) -> anyhow::Result<()> {
    let released = store::release_waiting(&ctx.db, media_id).await?;
    if released > 0 {
        tracing::info!(
            jobs = released,
            "transcription jobs waiting for their media are due"
        );
    }
    for id in store::waiting_on_failed_media(&ctx.db, 100).await? {
        if store::fail(
            &ctx.db,
            &id,
            None,
            "media_failed",
            "The media to transcribe failed (see GET /v1/media/{id}) or was deleted; nothing was charged.",
            None,
        )
        .await?
        {
            tracing::warn!(job_id = %id, "transcription failed with its media; reservation released");
        }
    }
    Ok(())
}

//! The media job: finishes one media object. It takes the lease on the media row (only a `processing` row with
//! no live lease grants one, so a duplicate delivery does nothing), keeps it alive while it works, and then:
//!
//! 1. gets the bytes into a temporary file: the URL fetched with the safe fetcher (`soku_shared::fetch`), or
//!    the upload the API stored copied down;
//! 2. reads what the file really is from its bytes (`sniff`) and probes it (ffprobe for video, the image
//!    header for images) under a time and pixel limit;
//! 3. stores the original (a fetched file), a metadata-free copy of an image that carried EXIF/GPS (what is
//!    served), and a JPEG thumbnail or poster frame;
//! 4. for a video that breaks a rule a transcode can fix (codec, pixel format, frame rate, odd dimensions,
//!    container, audio codec, rotation by metadata), makes the one platform-safe H.264 rendition
//!    (`soku_shared::media::rendition`) that the platforms needing safe video publish; this is the long part,
//!    and the lease is renewed all along;
//! 5. settles the row: `ready` with what the probe found, `failed` with a code and a sentence naming what was
//!    wrong, or, for a transient failure (the host answered 503, the network timed out), back to the queue
//!    after a backoff, at most [`MAX_ATTEMPTS`] times.
//!
//! Every store write is under a key of the media's own, so a second run overwrites the first's files with the
//! same bytes; the row changes only while this worker holds the lease.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};
use soku_shared::fetch::FetchError;
use soku_shared::jobs::ProcessMedia;
use soku_shared::media::thumbnail::{image_thumbnail, stripped_image, video_poster};
use soku_shared::media::{Kind, Probe, ProbeError, ProbeLimits, Sniffed, probe, rendition, sniff};
use soku_shared::storage::media_key;
use soku_shared::store::media::{self as store, MediaRow, Ready};
use tokio::io::AsyncReadExt;

use crate::backoff;
use crate::context::Ctx;
use crate::job::{Job, Outcome, renewing};

/// Attempts of one media object before a transient failure becomes `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// The longest side of a thumbnail or poster frame.
const THUMBNAIL_SIDE: u32 = 640;
/// How long making a poster frame may take.
const POSTER_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ProcessMediaJob;

impl Job for ProcessMediaJob {
    type Payload = ProcessMedia;
    const NAME: &'static str = "media";

    fn span(job: &ProcessMedia) -> tracing::Span {
        tracing::info_span!("media", media_id = %job.media_id)
    }

    async fn run(ctx: &Ctx, job: &ProcessMedia) -> anyhow::Result<Outcome> {
        let lease_secs = ctx.cfg.lease_secs as f64;
        let Some(row) = store::lease(&ctx.db, &job.media_id, &ctx.name, lease_secs)
            .await
            .context("taking the lease on the media")?
        else {
            tracing::debug!("media not processing or leased elsewhere: nothing to do");
            return Ok(Outcome::Skipped);
        };
        let tmp = ctx.storage.tmp_path("media");
        let every = Duration::from_secs_f64((lease_secs / 3.0).max(0.2));
        let renew = || async {
            store::renew(&ctx.db, &row.id, &ctx.name, lease_secs).await?;
            Ok(())
        };
        let verdict = renewing(process(ctx, &row, &tmp), every, renew).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        settle(ctx, &row, verdict).await?;
        Ok(Outcome::Done)
    }
}

/// What became of one run.
enum Verdict {
    Ready(Box<Finished>),
    /// The file is not usable: for good.
    Failed {
        code: &'static str,
        message: String,
        size: Option<i64>,
    },
    /// Worth another try later.
    Transient {
        code: &'static str,
        message: String,
    },
}

struct Finished {
    original_key: String,
    served_key: String,
    thumbnail_key: Option<String>,
    size: i64,
    sha256: Vec<u8>,
    probe: Probe,
    rendition: Option<(String, i64, serde_json::Value)>,
    rendition_error: Option<String>,
}

fn failed(code: &'static str, message: impl Into<String>, size: Option<u64>) -> Verdict {
    Verdict::Failed {
        code,
        message: message.into(),
        size: size.map(|s| s as i64),
    }
}

/// Does the work; an `Err` is our side failing (storage, Postgres), which is transient too.
async fn process(ctx: &Ctx, row: &MediaRow, tmp: &Path) -> Verdict {
    match try_process(ctx, row, tmp).await {
        Ok(v) => v,
        Err(e) => Verdict::Transient {
            code: "media_internal",
            message: format!("the file could not be processed yet: {e:#}"),
        },
    }
}

async fn try_process(ctx: &Ctx, row: &MediaRow, tmp: &Path) -> anyhow::Result<Verdict> {
    let original_key = media_key(&row.id, "original");
    let fetched = row.original_key.is_none();
    let size = if fetched {
        let url = row
            .source_url
            .as_deref()
            .context("a media row with neither a file nor a URL")?;
        let mut file = tokio::fs::File::create(tmp)
            .await
            .with_context(|| format!("creating {}", tmp.display()))?;
        match ctx.fetcher.fetch_to(url, &mut file).await {
            Ok(f) => f.bytes,
            Err(e) => return Ok(fetch_verdict(&e)),
        }
    } else {
        ctx.storage
            .download(&original_key, tmp)
            .await
            .context("reading the uploaded file")?
    };
    if size > ctx.media.max_bytes {
        return Ok(failed(
            "media_too_large",
            format!(
                "the file is {size} bytes; the limit (SOKU_MEDIA_MAX_BYTES) is {} bytes",
                ctx.media.max_bytes
            ),
            Some(size),
        ));
    }
    let kind = match sniff_path(tmp.to_path_buf()).await? {
        Sniffed::Accepted(kind) => kind,
        Sniffed::Unsupported(what) => {
            return Ok(failed(
                "unsupported_media",
                format!(
                    "the file is {what}; accepted are JPEG, PNG, WebP and GIF images and MP4, MOV and WebM videos"
                ),
                Some(size),
            ));
        }
    };
    let limits = ProbeLimits::default();
    let found = match probe::probe(tmp, kind, &limits).await {
        Ok(p) => p,
        Err(e) => return Ok(probe_verdict(e, size)),
    };
    let (served_key, thumbnail) = match derived(tmp, kind, &found).await {
        Ok(d) => d,
        Err(e) => return Ok(probe_verdict(e, size)),
    };
    if fetched {
        ctx.storage
            .put_file(&original_key, tmp)
            .await
            .context("storing the fetched file")?;
    }
    let served_key = match served_key {
        Some((name, bytes)) => {
            let key = media_key(&row.id, &name);
            ctx.storage.put_bytes(&key, bytes).await?;
            key
        }
        None => original_key.clone(),
    };
    let thumbnail_key = media_key(&row.id, "thumbnail.jpg");
    ctx.storage.put_bytes(&thumbnail_key, thumbnail).await?;
    let sha256 = match &row.sha256 {
        Some(h) if !fetched => h.clone(),
        _ => hash_file(tmp).await?,
    };
    let (rendition, rendition_error) = match safe_copy(ctx, row, tmp, &found).await? {
        Some(Ok(r)) => (Some(r), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    Ok(Verdict::Ready(Box::new(Finished {
        original_key,
        served_key,
        thumbnail_key: Some(thumbnail_key),
        size: size as i64,
        sha256,
        probe: found,
        rendition,
        rendition_error,
    })))
}

/// The platform-safe rendition of a video that needs one: `None` when the original is safe; `Some(Err)` with
/// the reason when it could not be made (the media is still ready: platforms taking any video use the original).
async fn safe_copy(
    ctx: &Ctx,
    row: &MediaRow,
    original: &Path,
    found: &Probe,
) -> anyhow::Result<Option<Result<(String, i64, serde_json::Value), String>>> {
    let reasons = rendition::unsafe_because(found);
    if reasons.is_empty() {
        return Ok(None);
    }
    tracing::info!(reasons = %reasons.join("; "), "making the platform-safe rendition");
    let out = ctx.storage.tmp_path(rendition::FILE_NAME);
    let budget = Duration::from_secs_f64(
        (found.duration_seconds.unwrap_or(60.0) * 10.0).clamp(120.0, 4.0 * 3600.0),
    );
    let made = async {
        rendition::transcode(original, &out, found, budget).await?;
        probe::probe(&out, Kind::Mp4, &ProbeLimits::default()).await
    }
    .await;
    let result = match made {
        Ok(p) => {
            let key = media_key(&row.id, rendition::FILE_NAME);
            let size = ctx
                .storage
                .put_file(&key, &out)
                .await
                .context("storing the rendition")?;
            Ok((key, size as i64, serde_json::to_value(&p)?))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the platform-safe rendition could not be made");
            Err(e.to_string())
        }
    };
    let _ = tokio::fs::remove_file(&out).await;
    Ok(Some(result))
}

async fn sniff_path(path: PathBuf) -> anyhow::Result<Sniffed> {
    let head = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut head = Vec::with_capacity(4096);
        std::fs::File::open(&path)?
            .take(4096)
            .read_to_end(&mut head)?;
        Ok(head)
    })
    .await??;
    Ok(sniff::sniff(&head))
}

/// The served copy of an image that carried metadata (its name and bytes; `None`: serve the original) and
/// the thumbnail or poster frame.
async fn derived(
    path: &Path,
    kind: Kind,
    found: &Probe,
) -> Result<(Option<(String, Vec<u8>)>, Vec<u8>), ProbeError> {
    if kind.is_video() {
        let poster =
            video_poster(path, found.duration_seconds, THUMBNAIL_SIDE, POSTER_TIMEOUT).await?;
        return Ok((None, poster));
    }
    let owned = path.to_path_buf();
    let (served, thumb) = tokio::task::spawn_blocking(move || {
        let served = stripped_image(&owned, kind)?;
        let thumb = image_thumbnail(&owned, kind, THUMBNAIL_SIDE)?;
        Ok::<_, ProbeError>((served, thumb))
    })
    .await
    .map_err(|e| ProbeError::Io {
        detail: format!("the image worker thread failed: {e}"),
    })??;
    let served = served.map(|bytes| (format!("served.{}", kind.extension()), bytes));
    Ok((served, thumb))
}

async fn hash_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_vec())
}

fn fetch_verdict(e: &FetchError) -> Verdict {
    let message = e.to_string();
    if e.retryable() {
        Verdict::Transient {
            code: e.code(),
            message,
        }
    } else {
        failed(e.code(), message, None)
    }
}

fn probe_verdict(e: ProbeError, size: u64) -> Verdict {
    match e {
        ProbeError::Io { .. } | ProbeError::ToolMissing { .. } => Verdict::Transient {
            code: e.code(),
            message: e.to_string(),
        },
        other => failed(other.code(), other.to_string(), Some(size)),
    }
}

async fn settle(ctx: &Ctx, row: &MediaRow, verdict: Verdict) -> anyhow::Result<()> {
    let owner = &ctx.name;
    let kept = match verdict {
        Verdict::Ready(f) => {
            let p = &f.probe;
            let ready = Ready {
                original_key: &f.original_key,
                served_key: &f.served_key,
                thumbnail_key: f.thumbnail_key.as_deref(),
                mime_type: p.mime,
                size_bytes: f.size,
                sha256: &f.sha256,
                width: Some(p.width as i32),
                height: Some(p.height as i32),
                duration_seconds: p.duration_seconds,
                probe: serde_json::to_value(p)?,
                rendition: f.rendition.clone(),
                rendition_error: f.rendition_error.clone(),
            };
            let kept = store::finish_ready(&ctx.db, &row.id, owner, &ready).await?;
            if kept {
                tracing::info!(
                    mime = p.mime,
                    bytes = f.size,
                    width = p.width,
                    height = p.height,
                    duration = ?p.duration_seconds,
                    "media ready"
                );
            }
            kept
        }
        Verdict::Failed {
            code,
            message,
            size,
        } => {
            let kept = store::finish_failed(&ctx.db, &row.id, owner, code, &message, size).await?;
            if kept {
                tracing::warn!(code, message = %message, "media failed");
            }
            kept
        }
        Verdict::Transient { code, message } if row.attempts >= MAX_ATTEMPTS => {
            let message = format!("{message} (gave up after {} attempts)", row.attempts);
            let kept = store::finish_failed(&ctx.db, &row.id, owner, code, &message, None).await?;
            if kept {
                tracing::warn!(code, message = %message, "media failed");
            }
            kept
        }
        Verdict::Transient { code, message } => {
            let wait = backoff::delay(row.attempts, Duration::from_secs(2), None);
            let kept =
                store::retry_later(&ctx.db, &row.id, owner, wait.as_secs_f64(), code, &message)
                    .await?;
            if kept {
                tracing::warn!(code, message = %message, retry_in_secs = wait.as_secs_f64(), "media will be tried again");
            }
            kept
        }
    };
    if !kept {
        tracing::warn!(
            "the lease on the media was lost before it settled; left to whoever holds it"
        );
        return Ok(());
    }
    // Transcription jobs that waited for this media may go now, or fail with it.
    crate::jobs::transcribe::media_settled(ctx, Some(&row.id)).await
}

//! The sound of a media file as raw PCM, its pauses, and WAV uploads cut from it.
//!
//! Everything downstream works on one format: 16 kHz, mono, signed 16-bit little-endian samples with no header
//! (ffmpeg's `s16le`). That is what Whisper resamples every input to anyway, so decoding to it loses nothing
//! the provider would have used, and it makes time and bytes the same thing: [`BYTES_PER_SECOND`] bytes a
//! second, so a chunk is a byte range ([`read_range`]) and the duration is the file's length. A duration read
//! from a container header can be wrong (a stream written live, an edited file, a lying upload); one measured by
//! decoding cannot.
//!
//! ffmpeg is run the way [`crate::media`] runs it: an argument vector (no shell), no standard input, the input
//! with the `file:` prefix and a `file`-only protocol whitelist, and a deadline after which the process is
//! killed.

use std::ffi::OsString;
use std::io::SeekFrom;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::time::Instant;

use crate::media::probe::file_len;
use crate::media::{ProbeError, run_tool, run_tool_capped, tool_detail, tool_input};

/// Samples per second of the PCM.
pub const SAMPLE_RATE: u32 = 16_000;

/// Bytes per second of the PCM: 16000 samples of 2 bytes, one channel.
pub const BYTES_PER_SECOND: u64 = 32_000;

/// Bytes of the header [`wav`] puts before the samples.
pub const WAV_HEADER_LEN: u64 = 44;

/// The `silencedetect` settings: quieter than -35 dB for at least 0.4 s is a pause. Speech between words
/// rarely stays that quiet that long; the pause between sentences does.
const SILENCE_FILTER: &str = "silencedetect=noise=-35dB:d=0.4";

/// How much of ffmpeg's standard error [`detect_silences`] keeps: each pause is two lines, some 150 bytes in
/// all, so 8 MB is over 50000 pauses, more than a day of speech has. Past it the result is an error, not a
/// silently shorter list.
const SILENCE_STDERR_CAP: usize = 8 << 20;

/// Decodes the first audio track of `input` to raw PCM (16 kHz, mono, s16le: see the module doc) at `output`,
/// killing ffmpeg after `timeout`, and returns the duration in seconds measured from the decoded bytes.
///
/// A file without an audio track, and one whose audio track decodes to nothing, is an error. On an error the
/// output file is removed.
pub async fn extract_pcm(
    input: &Path,
    output: &Path,
    timeout: Duration,
) -> Result<f64, ProbeError> {
    extract_pcm_with(Path::new("ffmpeg"), input, output, timeout).await
}

pub(crate) async fn extract_pcm_with(
    ffmpeg: &Path,
    input: &Path,
    output: &Path,
    timeout: Duration,
) -> Result<f64, ProbeError> {
    let result = extract(ffmpeg, input, output, timeout).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(output).await;
    }
    result
}

async fn extract(
    ffmpeg: &Path,
    input: &Path,
    output: &Path,
    timeout: Duration,
) -> Result<f64, ProbeError> {
    if file_len(input)? == 0 {
        return Err(ProbeError::EmptyFile);
    }
    let mut args = os_args(&[
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-protocol_whitelist",
        "file",
        "-i",
    ]);
    args.push(tool_input(input));
    args.extend(os_args(&[
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        "16000",
        "-c:a",
        "pcm_s16le",
        "-f",
        "s16le",
    ]));
    args.push(tool_input(output));
    let deadline = Instant::now() + timeout;
    let out = run_tool(ffmpeg, "ffmpeg", &args, deadline, timeout, 1 << 20).await?;
    if !out.status.success() {
        // `-map 0:a:0` is how ffmpeg is told "the first audio track"; with none it says so and stops.
        if out.stderr.contains("matches no streams") {
            return Err(no_audio(
                "the media has no audio track, so there is nothing to transcribe",
            ));
        }
        let detail = tool_detail(&out.stderr, input);
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: if detail.is_empty() {
                "ffmpeg could not decode its audio".to_string()
            } else {
                format!("its audio could not be decoded: {detail}")
            },
        });
    }
    let bytes = file_len(output)?;
    if bytes < 2 {
        return Err(no_audio(
            "the media's audio track has no sound in it (it decodes to 0 samples)",
        ));
    }
    Ok(seconds(bytes))
}

fn no_audio(detail: &str) -> ProbeError {
    ProbeError::Unreadable {
        mime: None,
        detail: detail.to_string(),
    }
}

/// The pauses in the raw PCM at `pcm` (as [`extract_pcm`] writes it), as `(start, end)` seconds in order, found
/// by ffmpeg's `silencedetect` (quieter than -35 dB for 0.4 s or more); ffmpeg is killed after `timeout`.
pub async fn detect_silences(pcm: &Path, timeout: Duration) -> Result<Vec<(f64, f64)>, ProbeError> {
    detect_silences_with(Path::new("ffmpeg"), pcm, timeout).await
}

pub(crate) async fn detect_silences_with(
    ffmpeg: &Path,
    pcm: &Path,
    timeout: Duration,
) -> Result<Vec<(f64, f64)>, ProbeError> {
    let duration = seconds(file_len(pcm)?);
    // `silencedetect` reports at the `info` level, on standard error; `-nostats` and `-hide_banner` keep the
    // progress lines and the build banner out of it, so it holds little more than the reports.
    let mut args = os_args(&[
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "info",
        "-protocol_whitelist",
        "file",
        "-f",
        "s16le",
        "-ar",
        "16000",
        "-ac",
        "1",
        "-i",
    ]);
    args.push(tool_input(pcm));
    args.extend(os_args(&["-af", SILENCE_FILTER, "-f", "null", "-"]));
    let deadline = Instant::now() + timeout;
    let out = run_tool_capped(
        ffmpeg,
        "ffmpeg",
        &args,
        deadline,
        timeout,
        1 << 20,
        SILENCE_STDERR_CAP,
    )
    .await?;
    if !out.status.success() {
        let detail = tool_detail(&out.stderr, pcm);
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: format!("looking for pauses in the audio failed: {detail}"),
        });
    }
    if out.stderr_truncated {
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: format!(
                "ffmpeg reported more than {} MB of pauses, more than any recording of speech has",
                SILENCE_STDERR_CAP >> 20
            ),
        });
    }
    Ok(parse_silences(&out.stderr, duration))
}

/// The pauses `silencedetect` reported in `stderr`, as `(start, end)` seconds, in order, clamped into
/// `[0, duration]`, without empty ones. A `silence_start` with no `silence_end` after it (the recording ends
/// in silence) ends at `duration`. Other lines are ignored.
pub fn parse_silences(stderr: &str, duration: f64) -> Vec<(f64, f64)> {
    let duration = if duration.is_finite() {
        duration.max(0.0)
    } else {
        0.0
    };
    let mut found: Vec<(f64, f64)> = Vec::new();
    let mut open: Option<f64> = None;
    for line in stderr.lines() {
        if let Some(start) = value_after(line, "silence_start:") {
            // Two starts in a row do not happen with one channel; if they did, the silence began at the first.
            open = open.or(Some(start));
        } else if let Some(end) = value_after(line, "silence_end:")
            && let Some(start) = open.take()
        {
            found.push((start, end));
        }
    }
    if let Some(start) = open {
        found.push((start, duration));
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(found.len());
    for (start, end) in found {
        let start = start.clamp(0.0, duration);
        let end = end.clamp(0.0, duration);
        if end > start {
            out.push((start, end));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Merge any overlap, so callers can rely on disjoint ranges.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(out.len());
    for (start, end) in out {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The number right after `key` in `line` (`silence_end: 3.00006 | silence_duration: 1.00006` → 3.00006).
fn value_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    let number = rest.split_whitespace().next()?.trim_end_matches('|');
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `pcm` (16 kHz mono s16le) as a WAV file: the 44-byte RIFF/WAVE header for that format, then the bytes.
/// A length that does not fit the header's 32-bit sizes (over 4 GB, far past any provider's limit) is written
/// as the largest size, which readers take as "to the end of the file".
pub fn wav(pcm: &[u8]) -> Vec<u8> {
    let data_len = u32::try_from(pcm.len()).unwrap_or(u32::MAX);
    let riff_len = data_len.saturating_add(36);
    let mut out = Vec::with_capacity(pcm.len() + WAV_HEADER_LEN as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // the fmt chunk's size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // channels
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(BYTES_PER_SECOND as u32).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes()); // bytes per sample frame
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(pcm);
    out
}

/// The bytes of the raw PCM at `pcm` from `start` to `end` seconds (end excluded). Both times are rounded to
/// the nearest sample, so the range starts and ends on a sample; ranges that share a boundary time share the
/// boundary sample, so consecutive chunks of a [`super::split::plan`] neither lose nor repeat a sample. Times
/// before 0 or past the end are clamped to the file; an empty range is no bytes.
pub async fn read_range(pcm: &Path, start: f64, end: f64) -> std::io::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(pcm).await?;
    let len = file.metadata().await?.len();
    let samples = len / 2;
    let from = sample_at(start, samples);
    let to = sample_at(end, samples);
    if to <= from {
        return Ok(Vec::new());
    }
    let count = usize::try_from((to - from) * 2).map_err(std::io::Error::other)?;
    file.seek(SeekFrom::Start(from * 2)).await?;
    let mut out = vec![0u8; count];
    file.read_exact(&mut out).await?;
    Ok(out)
}

/// The sample nearest `seconds`, within `0..=samples`.
fn sample_at(seconds: f64, samples: u64) -> u64 {
    if seconds.is_nan() || seconds <= 0.0 {
        return 0;
    }
    let at = (seconds * f64::from(SAMPLE_RATE)).round();
    if at >= samples as f64 {
        samples
    } else {
        at as u64
    }
}

/// Seconds of PCM in `bytes` bytes (whole samples only).
fn seconds(bytes: u64) -> f64 {
    (bytes / 2) as f64 / f64::from(SAMPLE_RATE)
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests;

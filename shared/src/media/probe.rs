//! What is in a media file: dimensions as displayed, duration, codecs, frame rate, bitrate.
//!
//! Video is read with `ffprobe -show_streams -show_format` (JSON), images with the `image` crate from their
//! header only. Both are bounded before anything large happens: `ffprobe` runs under [`ProbeLimits::timeout`]
//! and is killed when it passes; an image's pixel count is checked against [`ProbeLimits::max_pixels`] from its
//! header, before a single pixel is decoded, so a small file that claims to be 100000×100000 (a decompression
//! bomb) is refused without allocating for it.
//!
//! Dimensions are reported as the picture is displayed: a phone video stored 1920×1080 with a 90° display
//! matrix is 1080×1920 here, and so is a JPEG whose EXIF orientation says "rotate 90". Platforms check aspect
//! ratios against what viewers see.
//!
//! Duration comes from the container header when it has one (`format.duration`, else the video stream's, else
//! a Matroska `DURATION` tag). A header may not: a WebM written to a pipe or by a live encoder has no duration
//! element at all. Then the duration is measured by reading the whole file with `ffmpeg -c copy -f null` (a
//! remux to nowhere, no decoding, fast) and taking the last `out_time` it reports, see [`measure_duration`].
//! A duration is never guessed from the bitrate: platforms refuse videos over a limit, and a guess can be wrong
//! by minutes.
//!
//! A cut-off MP4, MOV or WebM (an upload or download that stopped early) is caught before `ffprobe` runs, from
//! the container's own sizes: the top-level box, or the Matroska segment, that claims to end past the end of the
//! file. `ffprobe` alone would accept a cut file whose index is at the front and report its full duration.

use std::ffi::OsString;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::sniff::{Kind, ebml_unknown_size, ebml_vint};
use super::{run_tool, tool_detail, tool_input};

/// Bounds on one probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeLimits {
    /// The wall-clock time the whole probe may take (ffprobe, and the duration measurement when it is needed).
    pub timeout: Duration,
    /// The most pixels (width × height, as stored) an image may have; more is [`ProbeError::TooManyPixels`].
    pub max_pixels: u64,
    /// The `ffprobe` program (a name looked up on `PATH`, or a path).
    pub ffprobe: PathBuf,
    /// The `ffmpeg` program, for measuring a duration the header lacks.
    pub ffmpeg: PathBuf,
}

impl ProbeLimits {
    /// The default [`ProbeLimits::timeout`]: 30 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default [`ProbeLimits::max_pixels`]: 100 megapixels (an RGBA decode of that is 400 MB).
    pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
}

impl Default for ProbeLimits {
    fn default() -> Self {
        ProbeLimits {
            timeout: Self::DEFAULT_TIMEOUT,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            ffprobe: PathBuf::from("ffprobe"),
            ffmpeg: PathBuf::from("ffmpeg"),
        }
    }
}

/// What a probe found. Serialises with camelCase names (`durationSeconds`, `videoCodec`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// The kind the probe was asked to read (from [`super::sniff::sniff`]).
    pub kind: Kind,
    /// `kind.mime()`, for the JSON.
    pub mime: &'static str,
    /// Width as displayed (stored height when the rotation is 90° or 270°).
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    /// Seconds; `None` for images.
    pub duration_seconds: Option<f64>,
    /// True when the duration was measured by reading the file because the header had none.
    pub duration_measured: bool,
    /// Clockwise degrees to turn the stored picture for display: 0, 90, 180 or 270. For video, the display
    /// matrix's rotation (or a `rotate` tag) as ffprobe reports it, normalised into 0..360; for images, the
    /// rotation part of the EXIF orientation (a mirrored orientation reports its rotation only).
    pub rotation: i32,
    /// Frames per second (`avg_frame_rate`, e.g. 30000/1001 = 29.97); `None` for images.
    pub frame_rate: Option<f64>,
    /// `h264`, `hevc`, `vp9`, `av1`, …; `None` for images.
    pub video_codec: Option<String>,
    /// `aac`, `opus`, …; `None` when there is no audio.
    pub audio_codec: Option<String>,
    /// Bits per second of the whole file (the container's figure, else size × 8 / duration); `None` for images.
    pub bitrate: Option<u64>,
    /// Whether there is an audio stream.
    pub has_audio: bool,
    /// `yuv420p`, `yuv420p10le`, … for video; the decoded colour type (`rgb8`, `rgba8`, `l8`, …) for images.
    pub pixel_format: Option<String>,
    /// The video codec's profile, e.g. `High`, `Main 10`, `Profile 0`.
    pub profile: Option<String>,
    /// ffprobe's `format_name` (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`); `jpeg`, `png`, `gif` or `webp`
    /// for images.
    pub format_name: String,
}

/// Why a file could not be read. `code()` is the stable machine code; `Display` is a sentence for an API user.
/// Thumbnails and posters ([`super::thumbnail`]) fail with the same errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    /// The file has no bytes.
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    /// The file ends before the data its container declares: an upload or download that stopped early.
    #[error(
        "the {mime} file is truncated: it ends before its own data does (was the upload or download cut short?)"
    )]
    Truncated { mime: &'static str },
    /// The bytes could not be read as the kind they claim to be.
    #[error("{}", unreadable_sentence(*mime, detail))]
    Unreadable {
        mime: Option<&'static str>,
        detail: String,
    },
    /// A video container with no video in it (audio only, or only cover art).
    #[error("the {mime} file has no video stream")]
    NoVideoStream { mime: &'static str },
    /// An image with more pixels than allowed, refused from its header before decoding.
    #[error(
        "the image is {width}x{height} pixels ({} megapixels), more than the {} megapixels allowed",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*limit)
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    /// Reading the file took longer than allowed; the tool was killed.
    #[error("reading the media took longer than {seconds} s, so it was stopped")]
    Timeout { tool: &'static str, seconds: f64 },
    /// `ffprobe` or `ffmpeg` is not installed.
    #[error("{tool} is not installed on this server: install the Debian package `ffmpeg`")]
    ToolMissing { tool: &'static str },
    /// The file could not be opened or read, or a tool could not be run.
    #[error("the media file could not be read: {detail}")]
    Io { detail: String },
    /// A function for images was given a video kind, or the other way round.
    #[error("{what} cannot be made from a {mime} file")]
    WrongKind {
        mime: &'static str,
        what: &'static str,
    },
}

fn unreadable_sentence(mime: Option<&'static str>, detail: &str) -> String {
    match mime {
        Some(mime) => format!("the file could not be read as {mime}: {detail}"),
        None => format!("the file could not be read: {detail}"),
    }
}

fn megapixels(pixels: u64) -> String {
    let mp = pixels as f64 / 1_000_000.0;
    if mp >= 10.0 {
        format!("{mp:.0}")
    } else {
        format!("{mp:.1}")
    }
}

impl ProbeError {
    /// The stable machine code: `empty_file`, `truncated`, `unreadable_media`, `no_video_stream`,
    /// `too_many_pixels`, `probe_timeout`, `media_tool_missing`, `media_io`, `wrong_media_kind`.
    pub const fn code(&self) -> &'static str {
        match self {
            ProbeError::EmptyFile => "empty_file",
            ProbeError::Truncated { .. } => "truncated",
            ProbeError::Unreadable { .. } => "unreadable_media",
            ProbeError::NoVideoStream { .. } => "no_video_stream",
            ProbeError::TooManyPixels { .. } => "too_many_pixels",
            ProbeError::Timeout { .. } => "probe_timeout",
            ProbeError::ToolMissing { .. } => "media_tool_missing",
            ProbeError::Io { .. } => "media_io",
            ProbeError::WrongKind { .. } => "wrong_media_kind",
        }
    }

    pub(crate) fn unreadable(kind: Kind, detail: impl Into<String>) -> Self {
        ProbeError::Unreadable {
            mime: Some(kind.mime()),
            detail: detail.into(),
        }
    }

    pub(crate) fn io(e: std::io::Error) -> Self {
        ProbeError::Io {
            detail: e.to_string(),
        }
    }
}

/// Reads what is in the file at `path`, which [`super::sniff::sniff`] found to be `kind`.
pub async fn probe(path: &Path, kind: Kind, limits: &ProbeLimits) -> Result<Probe, ProbeError> {
    if file_len(path)? == 0 {
        return Err(ProbeError::EmptyFile);
    }
    if kind.is_video() {
        probe_video(path, kind, limits).await
    } else {
        let path = path.to_path_buf();
        let max_pixels = limits.max_pixels;
        tokio::task::spawn_blocking(move || probe_image(&path, kind, max_pixels))
            .await
            .map_err(|e| ProbeError::Io {
                detail: format!("the image reader failed: {e}"),
            })?
    }
}

/// Measures a video's duration by reading every packet: `ffmpeg -i IN -map 0:v:0? -map 0:a:0? -c copy -f null
/// -progress pipe:1 -` and the last `out_time_us` it reports. Used by [`probe`] when the header has no duration;
/// `Ok(None)` when the file has no timestamps to measure. Killed after `timeout`.
pub async fn measure_duration(path: &Path, timeout: Duration) -> Result<Option<f64>, ProbeError> {
    measure_duration_with(Path::new("ffmpeg"), path, Instant::now() + timeout, timeout).await
}

/// The length of the regular file at `path`. Anything else (a FIFO, a device, a directory) is refused: opening
/// one could block forever, and a worker only ever hands us files it wrote.
pub(crate) fn file_len(path: &Path) -> Result<u64, ProbeError> {
    let meta = std::fs::metadata(path).map_err(ProbeError::io)?;
    if !meta.is_file() {
        return Err(ProbeError::Io {
            detail: "it is not a regular file".to_string(),
        });
    }
    Ok(meta.len())
}

async fn measure_duration_with(
    ffmpeg: &Path,
    path: &Path,
    deadline: Instant,
    budget: Duration,
) -> Result<Option<f64>, ProbeError> {
    let args: Vec<OsString> = [
        "-nostdin",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-i",
    ]
    .iter()
    .map(OsString::from)
    .chain([tool_input(path)])
    .chain(
        [
            "-map",
            "0:v:0?",
            "-map",
            "0:a:0?",
            "-c",
            "copy",
            "-f",
            "null",
            "-nostats",
            "-progress",
            "pipe:1",
            "-",
        ]
        .iter()
        .map(OsString::from),
    )
    .collect();
    let out = run_tool(ffmpeg, "ffmpeg", &args, deadline, budget, 1 << 20).await?;
    if !out.status.success() {
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: or_default(tool_detail(&out.stderr, path), "ffmpeg could not read it"),
        });
    }
    Ok(last_out_time(&String::from_utf8_lossy(&out.stdout)))
}

/// The last `out_time_us` (else `out_time_ms`, which ffmpeg also writes in microseconds, else `out_time`) of
/// `-progress` output, in seconds; `None` when there is none or it is not positive.
pub(crate) fn last_out_time(progress: &str) -> Option<f64> {
    let mut us: Option<f64> = None;
    let mut ms: Option<f64> = None;
    let mut clock: Option<f64> = None;
    for line in progress.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        match key {
            "out_time_us" => us = value.parse::<f64>().ok().or(us),
            "out_time_ms" => ms = value.parse::<f64>().ok().or(ms),
            "out_time" => clock = parse_clock(value).or(clock),
            _ => {}
        }
    }
    us.or(ms)
        .map(|v| v / 1_000_000.0)
        .or(clock)
        .filter(|s| s.is_finite() && *s > 0.0)
}

/// `HH:MM:SS.ffffff` (ffmpeg's `out_time`, and Matroska's `DURATION` tag with nanoseconds) in seconds.
pub(crate) fn parse_clock(value: &str) -> Option<f64> {
    let mut parts = value.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, s) = (
        h.parse::<f64>().ok()?,
        m.parse::<f64>().ok()?,
        s.parse::<f64>().ok()?,
    );
    let total = h * 3600.0 + m * 60.0 + s;
    (total.is_finite() && total >= 0.0).then_some(total)
}

fn or_default(detail: String, default: &str) -> String {
    if detail.is_empty() {
        default.to_string()
    } else {
        detail
    }
}

// ---- video ----

#[derive(Debug, Deserialize)]
struct FfprobeOutput {
    #[serde(default)]
    streams: Vec<FfStream>,
    format: Option<FfFormat>,
}

#[derive(Debug, Deserialize)]
struct FfStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    profile: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    side_data_list: Vec<FfSideData>,
    #[serde(default)]
    disposition: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct FfSideData {
    side_data_type: Option<String>,
    rotation: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct FfFormat {
    format_name: Option<String>,
    duration: Option<String>,
    bit_rate: Option<String>,
}

impl FfStream {
    fn is(&self, codec_type: &str) -> bool {
        self.codec_type.as_deref() == Some(codec_type)
    }

    /// Cover art in an MP4 or MOV is a one-picture "video" stream marked `attached_pic`.
    fn is_attached_picture(&self) -> bool {
        self.disposition
            .get("attached_pic")
            .and_then(serde_json::Value::as_i64)
            == Some(1)
    }

    fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }

    /// Degrees, normalised into 0..360, from the display matrix, else a `rotate` tag; rounded to a quarter turn.
    fn rotation(&self) -> i32 {
        let from_matrix = self
            .side_data_list
            .iter()
            .find(|d| d.side_data_type.as_deref() == Some("Display Matrix"))
            .and_then(|d| d.rotation);
        let degrees = from_matrix
            .or_else(|| {
                self.tag("rotate")
                    .and_then(|r| r.trim().parse::<f64>().ok())
            })
            .filter(|d| d.is_finite())
            .unwrap_or(0.0);
        let quarter = (degrees / 90.0).round() as i64;
        (quarter.rem_euclid(4) * 90) as i32
    }

    fn frame_rate(&self) -> Option<f64> {
        [&self.avg_frame_rate, &self.r_frame_rate]
            .into_iter()
            .flatten()
            .find_map(|r| parse_ratio(r))
    }
}

/// "30000/1001" → 29.97; "0/0", "N/A" and non-positive rates → `None`.
pub(crate) fn parse_ratio(ratio: &str) -> Option<f64> {
    let value = match ratio.split_once('/') {
        Some((n, d)) => n.trim().parse::<f64>().ok()? / d.trim().parse::<f64>().ok()?,
        None => ratio.trim().parse::<f64>().ok()?,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

fn parse_seconds(value: Option<&str>) -> Option<f64> {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
}

async fn probe_video(path: &Path, kind: Kind, limits: &ProbeLimits) -> Result<Probe, ProbeError> {
    let deadline = Instant::now() + limits.timeout;
    let len = file_len(path)?;
    if container_overruns(path, kind, len).map_err(ProbeError::io)? {
        return Err(ProbeError::Truncated { mime: kind.mime() });
    }
    let args: Vec<OsString> = [
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-print_format",
        "json",
        "-show_streams",
        "-show_format",
    ]
    .iter()
    .map(OsString::from)
    .chain([tool_input(path)])
    .collect();
    let out = run_tool(
        &limits.ffprobe,
        "ffprobe",
        &args,
        deadline,
        limits.timeout,
        16 << 20,
    )
    .await?;
    if !out.status.success() {
        return Err(ProbeError::unreadable(
            kind,
            or_default(tool_detail(&out.stderr, path), "ffprobe could not read it"),
        ));
    }
    let parsed: FfprobeOutput = serde_json::from_slice(&out.stdout).map_err(|e| {
        ProbeError::unreadable(kind, format!("ffprobe's report was not JSON ({e})"))
    })?;

    let Some(video) = parsed
        .streams
        .iter()
        .find(|s| s.is("video") && !s.is_attached_picture())
    else {
        return Err(ProbeError::NoVideoStream { mime: kind.mime() });
    };
    let audio = parsed.streams.iter().find(|s| s.is("audio"));
    let (Some(stored_w), Some(stored_h)) = (video.width, video.height) else {
        return Err(ProbeError::unreadable(
            kind,
            "the video stream has no picture size",
        ));
    };
    if stored_w == 0 || stored_h == 0 {
        return Err(ProbeError::unreadable(
            kind,
            "the video stream has no picture size",
        ));
    }
    let rotation = video.rotation();
    let (width, height) = if rotation % 180 == 90 {
        (stored_h, stored_w)
    } else {
        (stored_w, stored_h)
    };

    let format = parsed.format.as_ref();
    let header_duration = parse_seconds(format.and_then(|f| f.duration.as_deref()))
        .or_else(|| parse_seconds(video.duration.as_deref()))
        .or_else(|| video.tag("DURATION").and_then(parse_clock))
        .filter(|s| *s > 0.0);
    let (duration_seconds, duration_measured) = match header_duration {
        Some(d) => (Some(d), false),
        None => {
            let measured =
                measure_duration_with(&limits.ffmpeg, path, deadline, limits.timeout).await?;
            (measured, measured.is_some())
        }
    };
    let bitrate = format
        .and_then(|f| f.bit_rate.as_deref())
        .and_then(|b| b.trim().parse::<u64>().ok())
        .filter(|b| *b > 0)
        .or_else(|| {
            duration_seconds
                .filter(|d| *d > 0.0)
                .map(|d| (len as f64 * 8.0 / d).round() as u64)
        });

    Ok(Probe {
        kind,
        mime: kind.mime(),
        width,
        height,
        duration_seconds,
        duration_measured,
        rotation,
        frame_rate: video.frame_rate(),
        video_codec: video.codec_name.clone(),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
        bitrate,
        has_audio: audio.is_some(),
        pixel_format: video.pix_fmt.clone(),
        profile: video.profile.clone().filter(|p| !p.is_empty()),
        format_name: format
            .and_then(|f| f.format_name.clone())
            .unwrap_or_default(),
    })
}

/// True when the container says it is longer than the file: a top-level MP4/MOV box, or the WebM segment,
/// ends past the end of the file. Bytes that do not parse as boxes at all are left for ffprobe to judge.
fn container_overruns(path: &Path, kind: Kind, len: u64) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    match kind {
        Kind::Mp4 | Kind::Mov => iso_boxes_overrun(&mut file, len),
        Kind::Webm => webm_segment_overruns(&mut file, len),
        Kind::Jpeg | Kind::Png | Kind::Webp | Kind::Gif => Ok(false),
    }
}

fn iso_boxes_overrun(file: &mut std::fs::File, len: u64) -> std::io::Result<bool> {
    let plausible = |t: &[u8]| t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b' ');
    let mut pos = 0u64;
    // A real file has a handful of top-level boxes; the bound only stops a pathological one.
    for _ in 0..10_000 {
        if len.saturating_sub(pos) < 8 {
            return Ok(false);
        }
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(pos))?;
        let got = read_up_to(file, &mut header)?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if !plausible(&header[4..8]) {
            return Ok(false);
        }
        let (size, header_len) = match size32 {
            0 => return Ok(false), // the box runs to the end of the file
            1 if got >= 16 => (
                u64::from_be_bytes([
                    header[8], header[9], header[10], header[11], header[12], header[13],
                    header[14], header[15],
                ]),
                16,
            ),
            1 => return Ok(true),
            n => (u64::from(n), 8),
        };
        if size < header_len {
            return Ok(false);
        }
        let Some(end) = pos.checked_add(size) else {
            return Ok(true);
        };
        if end > len {
            return Ok(true);
        }
        pos = end;
    }
    Ok(false)
}

fn webm_segment_overruns(file: &mut std::fs::File, len: u64) -> std::io::Result<bool> {
    const SEGMENT: [u8; 4] = [0x18, 0x53, 0x80, 0x67];
    let mut head = [0u8; 64];
    let got = read_up_to(file, &mut head)?;
    let head = &head[..got];
    // The EBML header: 4-byte id, size, body; the Segment follows it.
    let Some((header_size, header_size_len)) = head.get(4..).and_then(ebml_vint) else {
        return Ok(false);
    };
    let Some(segment_at) = usize::try_from(header_size)
        .ok()
        .and_then(|s| s.checked_add(4 + header_size_len))
    else {
        return Ok(false);
    };
    if head.get(segment_at..segment_at + 4) != Some(SEGMENT.as_slice()) {
        return Ok(false);
    }
    let Some((size, size_len)) = head.get(segment_at + 4..).and_then(ebml_vint) else {
        return Ok(false);
    };
    if ebml_unknown_size(size, size_len) {
        return Ok(false);
    }
    let data_start = (segment_at + 4 + size_len) as u64;
    Ok(data_start.checked_add(size).is_none_or(|end| end > len))
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

// ---- images ----

/// An image decoder for `path`, with the `image` crate's allocation limit set, and its stored dimensions,
/// already checked against `max_pixels`. Nothing but the header has been read.
pub(crate) fn open_image(
    path: &Path,
    kind: Kind,
    max_pixels: u64,
) -> Result<(impl image::ImageDecoder, u32, u32), ProbeError> {
    let Some(format) = kind.image_format() else {
        return Err(ProbeError::WrongKind {
            mime: kind.mime(),
            what: "an image reading",
        });
    };
    let file = std::fs::File::open(path).map_err(ProbeError::io)?;
    if file.metadata().map_err(ProbeError::io)?.len() == 0 {
        return Err(ProbeError::EmptyFile);
    }
    let mut reader = image::ImageReader::with_format(BufReader::new(file), format);
    let mut image_limits = image::Limits::default();
    // 8 bytes a pixel covers RGBA at 16 bits a channel; the slack is for the decoders' own buffers.
    image_limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(|e| image_error(kind, e))?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ProbeError::TooManyPixels {
            width,
            height,
            limit: max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(ProbeError::unreadable(kind, "the image has no pixels"));
    }
    Ok((decoder, width, height))
}

/// The `image` crate's errors as ours: an early end of file is [`ProbeError::Truncated`].
pub(crate) fn image_error(kind: Kind, e: image::ImageError) -> ProbeError {
    use image::ImageError;
    let truncated = ProbeError::Truncated { mime: kind.mime() };
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => truncated,
        ImageError::IoError(io) => ProbeError::io(io),
        ImageError::Limits(l) => ProbeError::unreadable(
            kind,
            format!("decoding it would need more memory than allowed ({l})"),
        ),
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if [
                "end of file",
                "unexpected eof",
                "truncated",
                "unexpected end",
                "no more data",
            ]
            .iter()
            .any(|p| lower.contains(p))
            {
                truncated
            } else {
                ProbeError::unreadable(kind, detail)
            }
        }
    }
}

/// Clockwise degrees of an EXIF orientation, and whether it swaps width and height.
pub(crate) fn orientation_rotation(orientation: image::metadata::Orientation) -> i32 {
    use image::metadata::Orientation as O;
    match orientation {
        O::NoTransforms | O::FlipHorizontal => 0,
        O::Rotate90 | O::Rotate90FlipH => 90,
        O::Rotate180 | O::FlipVertical => 180,
        O::Rotate270 | O::Rotate270FlipH => 270,
    }
}

fn probe_image(path: &Path, kind: Kind, max_pixels: u64) -> Result<Probe, ProbeError> {
    use image::ImageDecoder;
    let (mut decoder, stored_w, stored_h) = open_image(path, kind, max_pixels)?;
    // A broken EXIF block is not a broken image: it is then displayed as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let rotation = orientation_rotation(orientation);
    let (width, height) = if rotation % 180 == 90 {
        (stored_h, stored_w)
    } else {
        (stored_w, stored_h)
    };
    let pixel_format = format!("{:?}", decoder.color_type()).to_ascii_lowercase();
    Ok(Probe {
        kind,
        mime: kind.mime(),
        width,
        height,
        duration_seconds: None,
        duration_measured: false,
        rotation,
        frame_rate: None,
        video_codec: None,
        audio_codec: None,
        bitrate: None,
        has_audio: false,
        pixel_format: Some(pixel_format),
        profile: None,
        format_name: match kind {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Mp4 | Kind::Mov | Kind::Webm => "",
        }
        .to_string(),
    })
}

//! The platform-safe rendition of a video: one H.264 copy that every platform taking "safe" video accepts, made
//! once by the media job when the original breaks a rule a transcode can fix (codec, pixel format, frame rate,
//! odd dimensions, container, audio codec). What it is: H.264 High, yuv420p, even dimensions, square pixels,
//! closed GOPs of at most 2 s, at most 60 fps, AAC-LC stereo 48 kHz (or no audio), MP4 with `+faststart` and
//! no edit lists, metadata dropped, the rotation applied to the pixels. Platforms that take anything (YouTube)
//! keep the original.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::probe::{Probe, ProbeError};
use super::{run_tool, tool_detail, tool_input};

/// The rendition's file name under the media's storage prefix (and its public URL's last segment).
pub const FILE_NAME: &str = "h264.mp4";

/// The most frames per second a safe video has.
pub const MAX_FPS: f64 = 60.0;

/// The longest side, in pixels, of a safe video: 1920 (1080x1920 is the size Instagram reels, Threads and TikTok
/// recommend and the largest the X and Threads guides list (3p); LinkedIn takes up to 4096x2304). Larger video
/// is scaled down, keeping its aspect ratio.
pub const MAX_SIDE: u32 = 1920;

/// Why a video is not platform-safe as it is: each a phrase naming the rule. Empty: it is safe.
pub fn unsafe_because(p: &Probe) -> Vec<String> {
    let mut out = Vec::new();
    if !p.kind.is_video() {
        return out;
    }
    match p.video_codec.as_deref() {
        Some("h264") => {}
        Some(other) => out.push(format!("the video codec is {other}, not H.264")),
        None => out.push("the video codec is unknown".into()),
    }
    match p.pixel_format.as_deref() {
        Some("yuv420p" | "yuvj420p") => {}
        Some(other) => out.push(format!("the pixel format is {other}, not yuv420p")),
        None => {}
    }
    if let Some(fps) = p.frame_rate
        && fps > MAX_FPS + 0.01
    {
        out.push(format!("the frame rate is {fps:.2} fps, over {MAX_FPS:.0}"));
    }
    if p.width.max(p.height) > MAX_SIDE {
        out.push(format!(
            "the video is {}x{}, over {MAX_SIDE} px on its long side",
            p.width, p.height
        ));
    }
    if p.width % 2 == 1 || p.height % 2 == 1 {
        out.push(format!(
            "the dimensions {}x{} are not even",
            p.width, p.height
        ));
    }
    if !p.format_name.contains("mp4") && !p.format_name.contains("mov") {
        out.push(format!("the container is {}, not MP4", p.format_name));
    }
    if let Some(a) = p.audio_codec.as_deref()
        && a != "aac"
    {
        out.push(format!("the audio codec is {a}, not AAC"));
    }
    if p.rotation != 0 {
        out.push(format!(
            "the picture is rotated {}° by metadata",
            p.rotation
        ));
    }
    out
}

/// Even dimensions, at most [`MAX_SIDE`] on the long side (never scaled up), square pixels. `iw`/`ih` are the
/// displayed size: ffmpeg applies the rotation before the filters.
const SCALE: &str = "scale=w='trunc(iw*min(1\\,1920/max(iw\\,ih))/2)*2':h='trunc(ih*min(1\\,1920/max(iw\\,ih))/2)*2',setsar=1";

/// Transcodes the video at `input` into the platform-safe rendition at `output`, killing ffmpeg after
/// `timeout`. `probe` is the original's probe (its frame rate and audio decide a few options).
pub async fn transcode(
    input: &Path,
    output: &Path,
    probe: &Probe,
    timeout: Duration,
) -> Result<(), ProbeError> {
    transcode_with(Path::new("ffmpeg"), input, output, probe, timeout).await
}

pub(crate) async fn transcode_with(
    ffmpeg: &Path,
    input: &Path,
    output: &Path,
    probe: &Probe,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let fps = probe.frame_rate.unwrap_or(30.0).clamp(1.0, MAX_FPS);
    let gop = ((fps * 2.0).round() as u32).max(2).to_string();
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &str| args.push(OsString::from(a));
    for a in [
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-protocol_whitelist",
        "file",
        "-i",
    ] {
        push(a);
    }
    args.push(tool_input(input));
    let mut push = |a: &str| args.push(OsString::from(a));
    let video = [
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        SCALE,
        "-fpsmax",
        "60",
        "-c:v",
        "libx264",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-maxrate",
        "20M",
        "-bufsize",
        "40M",
        "-flags",
        "+cgop",
        "-g",
    ];
    for a in video {
        push(a);
    }
    push(&gop);
    if probe.has_audio {
        for a in ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"] {
            push(a);
        }
    }
    for a in [
        "-map_metadata",
        "-1",
        "-movflags",
        "+faststart",
        "-use_editlist",
        "0",
        "-f",
        "mp4",
    ] {
        push(a);
    }
    let mut out_arg = OsString::from("file:");
    out_arg.push(output.as_os_str());
    args.push(out_arg);
    let deadline = Instant::now() + timeout;
    let out = run_tool(ffmpeg, "ffmpeg", &args, deadline, timeout, 1 << 20).await?;
    if !out.status.success() {
        return Err(ProbeError::Unreadable {
            mime: Some(probe.mime),
            detail: format!(
                "the platform-safe copy could not be made: {}",
                tool_detail(&out.stderr, input)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Kind;

    fn safe() -> Probe {
        Probe {
            kind: Kind::Mp4,
            mime: "video/mp4",
            width: 1280,
            height: 720,
            duration_seconds: Some(10.0),
            duration_measured: false,
            rotation: 0,
            frame_rate: Some(30.0),
            video_codec: Some("h264".into()),
            audio_codec: Some("aac".into()),
            bitrate: Some(2_000_000),
            has_audio: true,
            pixel_format: Some("yuv420p".into()),
            profile: Some("High".into()),
            format_name: "mov,mp4,m4a,3gp,3g2,mj2".into(),
        }
    }

    type Change = fn(&mut Probe);

    #[test]
    fn each_fixable_rule_is_named() {
        assert!(unsafe_because(&safe()).is_empty());
        let cases: [(Change, &str); 8] = [
            (|p| p.video_codec = Some("hevc".into()), "hevc, not H.264"),
            (
                |p| p.pixel_format = Some("yuv420p10le".into()),
                "yuv420p10le",
            ),
            (|p| p.frame_rate = Some(120.0), "120.00 fps"),
            (|p| p.width = 1281, "1281x720 are not even"),
            (
                |p| p.format_name = "matroska,webm".into(),
                "matroska,webm, not MP4",
            ),
            (|p| p.audio_codec = Some("opus".into()), "opus, not AAC"),
            (|p| p.rotation = 90, "rotated 90°"),
            (
                |p| (p.width, p.height) = (2160, 3840),
                "2160x3840, over 1920 px",
            ),
        ];
        for (change, phrase) in cases {
            let mut p = safe();
            change(&mut p);
            let why = unsafe_because(&p);
            assert_eq!(why.len(), 1, "{why:?}");
            assert!(why[0].contains(phrase), "{why:?} lacks {phrase}");
        }
    }
}

//! Tests of sniffing, probing and thumbnails, on media made in each test by the system `ffmpeg` (Debian's
//! package) and the `image` crate, in a temporary directory of its own (so the tests run in parallel).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use super::probe::{self, Probe, ProbeError, ProbeLimits, last_out_time, parse_clock, parse_ratio};
use super::sniff::{self, Kind, Sniffed};
use super::thumbnail;

// ---- helpers ----

/// Runs the system ffmpeg with `args` (after `-v error -y`), asserting it succeeds.
pub(crate) fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg (Debian package ffmpeg) must be installed to run these tests");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn has_encoder(name: &str) -> bool {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .expect("ffmpeg runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|w| w == name)
}

pub(crate) fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Writes an executable shell script at `path` whose body is `body` (a stand-in for ffmpeg or ffprobe). Written
/// by a child shell, so no write handle of this (multi-threaded) process is open when it is run.
pub(crate) fn fake_tool(path: &Path, body: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '#!/bin/sh\\n{body}\\n' > {fake} && chmod +x {fake}",
            fake = path_str(path)
        ))
        .status()
        .expect("sh");
    assert!(status.success());
}

const TESTSRC: &str = "testsrc=size=320x240:rate=30";
const SINE: &str = "sine=frequency=440";

/// One second of 320×240 at 30 fps, H.264 + AAC, in MP4.
fn make_mp4(dir: &Path) -> PathBuf {
    let out = dir.join("out.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        TESTSRC,
        "-f",
        "lavfi",
        "-i",
        SINE,
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        path_str(&out),
    ]);
    out
}

fn sniffed(path: &Path) -> Sniffed {
    sniff::sniff_file(path).expect("readable")
}

async fn probe_ok(path: &Path, kind: Kind) -> Probe {
    let started = Instant::now();
    let probe = probe::probe(path, kind, &ProbeLimits::default())
        .await
        .unwrap_or_else(|e| panic!("probe of {} failed: {e}", path.display()));
    eprintln!(
        "probe {:?} {}: {:?}",
        kind,
        path.file_name().unwrap_or_default().to_string_lossy(),
        started.elapsed()
    );
    probe
}

fn assert_close(actual: Option<f64>, expected: f64, within: f64, what: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{what} missing"));
    assert!(
        (actual - expected).abs() <= within,
        "{what}: {actual} is not within {within} of {expected}"
    );
}

fn dimensions_of_jpeg(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "not a JPEG");
    let image = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).expect("a JPEG");
    (image.width(), image.height())
}

/// True when the JPEG has an APP1 segment (EXIF or XMP) or the `Exif` marker anywhere.
fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0") || jpeg_segments(bytes).contains(&0xE1)
}

/// The marker bytes of a JPEG's segments up to the start of scan.
fn jpeg_segments(bytes: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut pos = 2;
    while pos + 4 <= bytes.len() && bytes[pos] == 0xFF {
        let marker = bytes[pos + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]) as usize;
        pos += 2 + len;
    }
    markers
}

fn save(image: &DynamicImage, path: &Path, format: ImageFormat) {
    image.save_with_format(path, format).expect("saved");
}

/// 64×32: the left half red, the right half blue.
fn halves() -> RgbImage {
    RgbImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

/// A minimal big-endian EXIF block: IFD0 with Orientation = `orientation` and a GPS IFD holding
/// GPSLatitudeRef "N".
fn exif_block(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a");
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 offset
    tiff.extend_from_slice(&2u16.to_be_bytes()); // two entries
    // Orientation, SHORT, count 1, value left-justified.
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // GPSInfo IFD pointer, LONG.
    let gps_ifd = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&0x8825u16.to_be_bytes());
    tiff.extend_from_slice(&4u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&(gps_ifd as u32).to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no IFD1
    assert_eq!(tiff.len(), gps_ifd);
    // GPS IFD: GPSLatitudeRef, ASCII, count 2, "N\0".
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0001u16.to_be_bytes());
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&2u32.to_be_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff
}

/// A JPEG of `image` with an APP1 EXIF segment (orientation + GPS) inserted after its JFIF APP0 segment.
fn jpeg_with_exif(image: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut plain = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut std::io::Cursor::new(&mut plain), ImageFormat::Jpeg)
        .expect("encoded");
    assert_eq!(
        &plain[2..4],
        &[0xFF, 0xE0],
        "the encoder writes JFIF APP0 first"
    );
    let app0_end = 4 + u16::from_be_bytes([plain[4], plain[5]]) as usize;
    let tiff = exif_block(orientation);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut out = plain[..app0_end].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[app0_end..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A valid PNG header claiming `width`×`height` RGBA, a tiny (wrong) IDAT and IEND: a decompression bomb's
/// shape, without the bomb.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

// ---- sniff ----

#[test]
fn sniff_names_what_the_bytes_are() {
    let accepted = |head: &[u8]| match sniff::sniff(head) {
        Sniffed::Accepted(kind) => kind,
        other => panic!("{head:02x?} was {other:?}"),
    };
    let unsupported = |head: &[u8]| match sniff::sniff(head) {
        Sniffed::Unsupported(what) => what,
        other => panic!("{head:02x?} was {other:?}"),
    };
    let ftyp = |major: &[u8; 4], compatible: &[&[u8; 4]]| {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 2, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(b"\0\0\0\x08free");
        b
    };

    assert_eq!(accepted(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Kind::Jpeg);
    assert_eq!(accepted(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), Kind::Png);
    assert_eq!(accepted(b"GIF89a\x01\0\x01\0"), Kind::Gif);
    assert_eq!(accepted(b"GIF87a\x01\0\x01\0"), Kind::Gif);
    assert_eq!(accepted(b"RIFF\x24\0\0\0WEBPVP8 "), Kind::Webp);
    assert_eq!(
        accepted(&ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])),
        Kind::Mp4
    );
    assert_eq!(accepted(&ftyp(b"mp42", &[b"mp42", b"isom"])), Kind::Mp4);
    assert_eq!(accepted(&ftyp(b"M4V ", &[b"M4V ", b"M4A "])), Kind::Mp4);
    assert_eq!(accepted(&ftyp(b"dash", &[b"iso6"])), Kind::Mp4);
    assert_eq!(accepted(&ftyp(b"qt  ", &[b"qt  "])), Kind::Mov);
    // An unknown major brand is decided by the compatible ones.
    assert_eq!(accepted(&ftyp(b"zzzz", &[b"isom"])), Kind::Mp4);
    assert_eq!(accepted(&ftyp(b"zzzz", &[b"qt  "])), Kind::Mov);
    // QuickTime from before ftyp: the first atom.
    assert_eq!(accepted(b"\0\0\0\x08wide\0\0\x10\0mdat"), Kind::Mov);
    assert_eq!(accepted(b"\0\0\x01\0moov\0\0\0\x6cmvhd"), Kind::Mov);
    // EBML header: size 0x9F... here a short one with DocType "webm" / "matroska".
    let ebml = |doctype: &[u8]| {
        let mut body = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
        body.extend_from_slice(&[0x42, 0x82, 0x80 | doctype.len() as u8]);
        body.extend_from_slice(doctype);
        let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | body.len() as u8];
        b.extend(body);
        b.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        b
    };
    assert_eq!(accepted(&ebml(b"webm")), Kind::Webm);
    assert_eq!(unsupported(&ebml(b"matroska")), "a Matroska (MKV) video");
    assert_eq!(
        unsupported(&ebml(b"other")),
        "an EBML file that is neither WebM nor Matroska"
    );

    assert_eq!(unsupported(b""), "an empty file");
    assert_eq!(
        unsupported(&ftyp(b"heic", &[b"mif1", b"heic"])),
        "a HEIF/AVIF image"
    );
    assert_eq!(
        unsupported(&ftyp(b"mif1", &[b"mif1", b"heic"])),
        "a HEIF/AVIF image"
    );
    assert_eq!(
        unsupported(&ftyp(b"avif", &[b"avif", b"mif1"])),
        "a HEIF/AVIF image"
    );
    assert_eq!(
        unsupported(&ftyp(b"M4A ", &[b"M4A ", b"mp42"])),
        "an MPEG-4 audio file (M4A)"
    );
    assert_eq!(unsupported(&ftyp(b"3gp5", &[b"3gp5"])), "a 3GPP video");
    assert_eq!(
        unsupported(&ftyp(b"zzzz", &[b"zzzz"])),
        "an ISO media file of brand 'zzzz'"
    );
    assert_eq!(unsupported(b"%PDF-1.7\n%\xe2\xe3"), "a PDF document");
    assert_eq!(unsupported(b"PK\x03\x04\x14\0\0\0"), "a ZIP archive");
    assert_eq!(unsupported(b"\x1f\x8b\x08\0"), "a gzip archive");
    assert_eq!(unsupported(b"II*\0\x08\0\0\0"), "a TIFF image");
    assert_eq!(unsupported(b"RIFF\x24\0\0\0AVI LIST"), "an AVI video");
    assert_eq!(unsupported(b"RIFF\x24\0\0\0WAVEfmt "), "a WAV audio file");
    assert_eq!(unsupported(b"ID3\x04\0\0\0\0"), "an MP3 audio file");
    assert_eq!(unsupported(b"OggS\0\x02"), "an Ogg file");
    assert_eq!(unsupported(b"<!DOCTYPE html><html>"), "an HTML document");
    assert_eq!(
        unsupported(b"\xef\xbb\xbf \r\n\t<HTML lang=en>"),
        "an HTML document"
    );
    assert_eq!(unsupported(b"<head><title>404</title>"), "an HTML document");
    assert_eq!(unsupported(b"\n<body>Not found</body>"), "an HTML document");
    assert_eq!(
        unsupported(b"<?xml version=\"1.0\"?>\n<svg xmlns="),
        "an SVG image"
    );
    assert_eq!(
        unsupported(b"<?xml version=\"1.0\"?><feed>"),
        "an XML document"
    );
    assert_eq!(
        unsupported(b"<!DOCTYPE svg>"),
        "unrecognised bytes (starts 3c 21 44 4f)"
    );
    assert_eq!(unsupported(b"\0\x01"), "unrecognised bytes (starts 00 01)");
    // Too short for any signature: unrecognised, not a panic.
    assert_eq!(unsupported(b"\x89P"), "unrecognised bytes (starts 89 50)");
    assert_eq!(
        unsupported(b"RIFF"),
        "unrecognised bytes (starts 52 49 46 46)"
    );
    assert_eq!(
        unsupported(b"\0\0\0\x20ftyp"),
        "a truncated ISO media file (no brand in its ftyp box)"
    );
    assert_eq!(
        unsupported(&[0x1A, 0x45, 0xDF, 0xA3, 0xFF]),
        "an EBML file that is neither WebM nor Matroska"
    );
}

#[test]
fn kinds_have_mime_types_and_extensions() {
    let table: Vec<(&str, bool, &str)> = Kind::ALL
        .iter()
        .map(|k| (k.mime(), k.is_video(), k.extension()))
        .collect();
    assert_eq!(
        table,
        [
            ("image/jpeg", false, "jpg"),
            ("image/png", false, "png"),
            ("image/webp", false, "webp"),
            ("image/gif", false, "gif"),
            ("video/mp4", true, "mp4"),
            ("video/quicktime", true, "mov"),
            ("video/webm", true, "webm"),
        ]
    );
}

// ---- parsing helpers ----

#[test]
fn frame_rates_clocks_and_progress_output_parse() {
    assert_close(parse_ratio("30000/1001"), 29.97, 0.001, "ntsc");
    assert_eq!(parse_ratio("30/1"), Some(30.0));
    assert_eq!(parse_ratio("25"), Some(25.0));
    assert_eq!(parse_ratio("0/0"), None);
    assert_eq!(parse_ratio("N/A"), None);
    assert_eq!(parse_ratio("1/0"), None);
    assert_eq!(parse_clock("00:00:01.500000000"), Some(1.5));
    assert_eq!(parse_clock("01:02:03.25"), Some(3723.25));
    assert_eq!(parse_clock("N/A"), None);
    let progress = "frame=15\nout_time_us=500000\nout_time_ms=500000\nprogress=continue\n\
                    frame=30\nout_time_us=1001000\nout_time_ms=1001000\nout_time=00:00:01.001000\nprogress=end\n";
    assert_eq!(last_out_time(progress), Some(1.001));
    assert_eq!(
        last_out_time("out_time_us=N/A\nout_time=00:00:02.000000\n"),
        Some(2.0)
    );
    assert_eq!(last_out_time("out_time_us=0\nprogress=end\n"), None);
    assert_eq!(last_out_time(""), None);
}

#[test]
fn errors_have_codes_and_sentences() {
    let cases = [
        (
            ProbeError::EmptyFile,
            "empty_file",
            "the file is empty (0 bytes)",
        ),
        (
            ProbeError::Truncated { mime: "video/mp4" },
            "truncated",
            "the video/mp4 file is truncated: it ends before its own data does (was the upload or download \
             cut short?)",
        ),
        (
            ProbeError::Unreadable {
                mime: Some("video/mp4"),
                detail: "moov atom not found".into(),
            },
            "unreadable_media",
            "the file could not be read as video/mp4: moov atom not found",
        ),
        (
            ProbeError::NoVideoStream { mime: "video/mp4" },
            "no_video_stream",
            "the video/mp4 file has no video stream",
        ),
        (
            ProbeError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                limit: 100_000_000,
            },
            "too_many_pixels",
            "the image is 100000x100000 pixels (10000 megapixels), more than the 100 megapixels allowed",
        ),
        (
            ProbeError::Timeout {
                tool: "ffprobe",
                seconds: 30.0,
            },
            "probe_timeout",
            "reading the media took longer than 30 s, so it was stopped",
        ),
        (
            ProbeError::ToolMissing { tool: "ffprobe" },
            "media_tool_missing",
            "ffprobe is not installed on this server: install the Debian package `ffmpeg`",
        ),
    ];
    for (error, code, sentence) in cases {
        assert_eq!(error.code(), code);
        assert_eq!(error.to_string(), sentence);
    }
}

// ---- video ----

#[tokio::test]
async fn mp4_h264_aac() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = make_mp4(dir.path());
    assert_eq!(sniffed(&mp4), Sniffed::Accepted(Kind::Mp4));
    let p = probe_ok(&mp4, Kind::Mp4).await;
    assert_eq!((p.width, p.height, p.rotation), (320, 240, 0));
    assert_eq!(p.video_codec.as_deref(), Some("h264"));
    assert_eq!(p.audio_codec.as_deref(), Some("aac"));
    assert!(p.has_audio);
    assert_close(p.duration_seconds, 1.0, 0.1, "duration");
    assert!(!p.duration_measured);
    assert_close(p.frame_rate, 30.0, 0.01, "frame rate");
    assert_eq!(p.pixel_format.as_deref(), Some("yuv420p"));
    assert_eq!(p.profile.as_deref(), Some("Constrained Baseline"));
    assert_eq!(p.format_name, "mov,mp4,m4a,3gp,3g2,mj2");
    assert!(p.bitrate.is_some_and(|b| b > 10_000), "{:?}", p.bitrate);
    assert_eq!(p.mime, "video/mp4");

    let json = serde_json::to_value(&p).expect("serialises");
    assert_eq!(
        json["durationSeconds"],
        serde_json::json!(p.duration_seconds)
    );
    assert_eq!(json["videoCodec"], "h264");
    assert_eq!(json["hasAudio"], true);
    assert_eq!(json["kind"], "mp4");
    assert_eq!(json["formatName"], "mov,mp4,m4a,3gp,3g2,mj2");

    // The poster: a JPEG at most 160 px on its longest side, no EXIF.
    let poster = thumbnail::video_poster(&mp4, p.duration_seconds, 160, Duration::from_secs(10))
        .await
        .expect("poster");
    assert_eq!(dimensions_of_jpeg(&poster), (160, 120));
    assert!(!has_exif(&poster));
    // Never enlarged.
    let poster = thumbnail::video_poster(&mp4, None, 640, Duration::from_secs(10))
        .await
        .expect("poster");
    assert_eq!(dimensions_of_jpeg(&poster), (320, 240));
    // A header duration far past the real end: the seek finds nothing, the start is used.
    let poster = thumbnail::video_poster(&mp4, Some(3600.0), 640, Duration::from_secs(10))
        .await
        .expect("poster");
    assert_eq!(dimensions_of_jpeg(&poster), (320, 240));
}

#[tokio::test]
async fn mp4_hevc_without_audio() {
    if !has_encoder("libx265") {
        eprintln!("skipped: this ffmpeg has no libx265");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("hevc.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=30",
        "-t",
        "1",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "log-level=none",
        "-pix_fmt",
        "yuv420p",
        "-tag:v",
        "hvc1",
        path_str(&out),
    ]);
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Mp4));
    let p = probe_ok(&out, Kind::Mp4).await;
    assert_eq!((p.width, p.height, p.rotation), (320, 240, 0));
    assert_eq!(p.video_codec.as_deref(), Some("hevc"));
    assert_eq!(p.profile.as_deref(), Some("Main"));
    assert_eq!((p.has_audio, p.audio_codec), (false, None));
    assert_close(p.duration_seconds, 1.0, 0.1, "duration");
    assert_close(p.frame_rate, 30.0, 0.01, "frame rate");
}

#[tokio::test]
async fn mp4_without_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("silent.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x360:rate=25",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        path_str(&out),
    ]);
    let p = probe_ok(&out, Kind::Mp4).await;
    assert_eq!((p.width, p.height), (640, 360));
    assert_eq!((p.has_audio, p.audio_codec), (false, None));
    assert_close(p.duration_seconds, 2.0, 0.1, "duration");
    assert_close(p.frame_rate, 25.0, 0.01, "frame rate");
}

#[tokio::test]
async fn rotated_mp4_reports_displayed_dimensions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = make_mp4(dir.path());
    for (rotate, expected) in [("90", 90), ("270", 270), ("180", 180)] {
        let out = dir.path().join(format!("rot{rotate}.mp4"));
        // ffmpeg 5.1 turns a `rotate` tag into the track's display matrix.
        ffmpeg(&[
            "-i",
            path_str(&mp4),
            "-c",
            "copy",
            "-metadata:s:v:0",
            &format!("rotate={rotate}"),
            path_str(&out),
        ]);
        let p = probe_ok(&out, Kind::Mp4).await;
        assert_eq!(p.rotation, expected, "rotate={rotate}");
        let displayed = if expected == 180 {
            (320, 240)
        } else {
            (240, 320)
        };
        assert_eq!((p.width, p.height), displayed, "rotate={rotate}");
        if expected == 90 {
            let poster =
                thumbnail::video_poster(&out, p.duration_seconds, 640, Duration::from_secs(10))
                    .await
                    .expect("poster");
            assert_eq!(
                dimensions_of_jpeg(&poster),
                (240, 320),
                "the poster is turned too"
            );
        }
    }
}

#[tokio::test]
async fn mov_h264() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("clip.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        TESTSRC,
        "-f",
        "lavfi",
        "-i",
        SINE,
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-f",
        "mov",
        path_str(&out),
    ]);
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Mov));
    let p = probe_ok(&out, Kind::Mov).await;
    assert_eq!((p.width, p.height), (320, 240));
    assert_eq!(p.video_codec.as_deref(), Some("h264"));
    assert_eq!(p.audio_codec.as_deref(), Some("aac"));
    assert_close(p.duration_seconds, 1.0, 0.1, "duration");
    assert_close(p.frame_rate, 30.0, 0.01, "frame rate");
    assert_eq!(p.mime, "video/quicktime");
}

fn make_webm(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        TESTSRC,
        "-f",
        "lavfi",
        "-i",
        SINE,
        "-t",
        "1",
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "200k",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "libopus",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-f", "webm", path_str(&out)]);
    ffmpeg(&args);
    out
}

#[tokio::test]
async fn webm_vp9_opus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = make_webm(dir.path(), "clip.webm", &[]);
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Webm));
    let p = probe_ok(&out, Kind::Webm).await;
    assert_eq!((p.width, p.height, p.rotation), (320, 240, 0));
    assert_eq!(p.video_codec.as_deref(), Some("vp9"));
    assert_eq!(p.audio_codec.as_deref(), Some("opus"));
    assert_eq!(p.profile.as_deref(), Some("Profile 0"));
    assert!(p.has_audio);
    assert_close(p.duration_seconds, 1.0, 0.1, "duration");
    assert!(!p.duration_measured);
    assert_close(p.frame_rate, 30.0, 0.01, "frame rate");
    assert_eq!(p.format_name, "matroska,webm");
}

#[tokio::test]
async fn webm_without_a_duration_in_its_header_is_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A live WebM has no Duration element (nor per-track DURATION tags), like one written to a pipe.
    let out = make_webm(dir.path(), "live.webm", &["-live", "1"]);
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Webm));
    let p = probe_ok(&out, Kind::Webm).await;
    assert!(p.duration_measured, "the header had no duration");
    assert_close(p.duration_seconds, 1.0, 0.1, "measured duration");
    assert!(p.bitrate.is_some(), "computed from size and duration");
    assert_close(
        probe::measure_duration(&out, Duration::from_secs(10))
            .await
            .expect("measured"),
        1.0,
        0.1,
        "measure_duration",
    );
}

#[tokio::test]
async fn matroska_is_named_not_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("clip.webm");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        TESTSRC,
        "-t",
        "0.2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "matroska",
        path_str(&out),
    ]);
    assert_eq!(
        sniffed(&out),
        Sniffed::Unsupported("a Matroska (MKV) video".to_string())
    );
}

#[tokio::test]
async fn audio_only_mp4_has_no_video_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("audio.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        SINE,
        "-t",
        "0.5",
        "-c:a",
        "aac",
        path_str(&out),
    ]);
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Mp4));
    let err = probe::probe(&out, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("no video");
    assert_eq!(err, ProbeError::NoVideoStream { mime: "video/mp4" });
}

// ---- bad files ----

#[tokio::test]
async fn html_named_mp4_is_html() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("video.mp4");
    std::fs::write(
        &out,
        b"\n  <!doctype html>\n<html><body>Rate limited</body></html>\n",
    )
    .expect("written");
    assert_eq!(
        sniffed(&out),
        Sniffed::Unsupported("an HTML document".to_string())
    );
    // Probed as an MP4 regardless (a caller that skipped sniffing): an error, not a panic.
    let err = probe::probe(&out, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("not an MP4");
    assert_eq!(err.code(), "unreadable_media", "{err}");
    assert!(
        !err.to_string().contains(path_str(dir.path())),
        "no temp path in {err}"
    );
}

#[tokio::test]
async fn truncated_mp4_is_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = make_mp4(dir.path());
    let bytes = std::fs::read(&mp4).expect("read");
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..1000]).expect("written");
    assert_eq!(sniffed(&cut), Sniffed::Accepted(Kind::Mp4));
    let err = probe::probe(&cut, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("truncated");
    assert_eq!(err, ProbeError::Truncated { mime: "video/mp4" });

    // With the index first (faststart), ffprobe alone would accept a cut file; the box sizes do not.
    let fast = dir.path().join("fast.mp4");
    ffmpeg(&[
        "-i",
        path_str(&mp4),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        path_str(&fast),
    ]);
    let bytes = std::fs::read(&fast).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("written");
    let err = probe::probe(&cut, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("truncated");
    assert_eq!(err.code(), "truncated");

    // A cut WebM: its segment claims more bytes than there are.
    let webm = make_webm(dir.path(), "whole.webm", &[]);
    let bytes = std::fs::read(&webm).expect("read");
    let cut = dir.path().join("cut.webm");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("written");
    let err = probe::probe(&cut, Kind::Webm, &ProbeLimits::default())
        .await
        .expect_err("truncated");
    assert_eq!(err, ProbeError::Truncated { mime: "video/webm" });
}

#[tokio::test]
async fn garbage_after_an_mp4_signature_is_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("garbage.mp4");
    let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    // A deterministic scramble, not a valid box.
    let mut x = 0x2545_F491u32;
    bytes.extend((0..20_000).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 24) as u8 | 0x80
    }));
    std::fs::write(&out, &bytes).expect("written");
    assert_eq!(sniffed(&out), Sniffed::Accepted(Kind::Mp4));
    let err = probe::probe(&out, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("garbage");
    assert_eq!(err.code(), "unreadable_media", "{err}");
    let err = thumbnail::video_poster(&out, None, 640, Duration::from_secs(10))
        .await
        .expect_err("no poster");
    assert_eq!(err.code(), "unreadable_media", "{err}");
}

#[tokio::test]
async fn empty_files_and_pdfs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").expect("written");
    assert_eq!(
        sniffed(&empty),
        Sniffed::Unsupported("an empty file".to_string())
    );
    for kind in [Kind::Mp4, Kind::Png] {
        let err = probe::probe(&empty, kind, &ProbeLimits::default())
            .await
            .expect_err("empty");
        assert_eq!(err, ProbeError::EmptyFile);
    }
    assert_eq!(
        thumbnail::image_thumbnail(&empty, Kind::Jpeg, 640),
        Err(ProbeError::EmptyFile)
    );
    assert_eq!(
        thumbnail::video_poster(&empty, None, 640, Duration::from_secs(5)).await,
        Err(ProbeError::EmptyFile)
    );

    let pdf = dir.path().join("doc.jpg");
    std::fs::write(&pdf, b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n").expect("written");
    assert_eq!(
        sniffed(&pdf),
        Sniffed::Unsupported("a PDF document".to_string())
    );
    let missing = dir.path().join("missing.mp4");
    let err = probe::probe(&missing, Kind::Mp4, &ProbeLimits::default())
        .await
        .expect_err("missing");
    assert_eq!(err.code(), "media_io");
}

// ---- tools that hang or are missing ----

#[tokio::test]
async fn a_hanging_ffprobe_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = make_mp4(dir.path());
    let fake = dir.path().join("ffprobe");
    let pid_file = dir.path().join("pid");
    fake_tool(
        &fake,
        &format!("echo $$ > {}\\nexec sleep 30", path_str(&pid_file)),
    );
    let limits = ProbeLimits {
        timeout: Duration::from_millis(500),
        ffprobe: fake,
        ..ProbeLimits::default()
    };
    let started = Instant::now();
    let err = probe::probe(&mp4, Kind::Mp4, &limits)
        .await
        .expect_err("timeout");
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        ProbeError::Timeout {
            tool: "ffprobe",
            seconds: 0.5
        }
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    let pid = std::fs::read_to_string(&pid_file).expect("the fake ffprobe ran");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hanging process {pid} was killed and reaped"
    );
}

#[tokio::test]
async fn ffmpeg_blocked_on_a_fifo_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("never-written.webm");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let started = Instant::now();
    let err = probe::measure_duration(&fifo, Duration::from_millis(300))
        .await
        .expect_err("timeout");
    assert_eq!(err.code(), "probe_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // probe itself refuses anything but a regular file instead of opening it.
    let err = probe::probe(&fifo, Kind::Webm, &ProbeLimits::default())
        .await
        .expect_err("not a file");
    assert_eq!(err.code(), "media_io");
}

#[tokio::test]
async fn a_missing_ffprobe_names_the_debian_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = dir.path().join("x.mp4");
    std::fs::write(&mp4, b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2").expect("written");
    let limits = ProbeLimits {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..ProbeLimits::default()
    };
    let err = probe::probe(&mp4, Kind::Mp4, &limits)
        .await
        .expect_err("missing");
    assert_eq!(err, ProbeError::ToolMissing { tool: "ffprobe" });
    assert!(err.to_string().contains("Debian package `ffmpeg`"));
}

// ---- images ----

#[tokio::test]
async fn images_of_every_accepted_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let picture = RgbaImage::from_fn(800, 600, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
    });
    let cases = [
        (Kind::Png, ImageFormat::Png, "rgba8"),
        (Kind::Jpeg, ImageFormat::Jpeg, "rgb8"),
        (Kind::Gif, ImageFormat::Gif, "rgba8"),
        (Kind::Webp, ImageFormat::WebP, "rgba8"),
    ];
    for (kind, format, pixel_format) in cases {
        // Named .bin: nothing is read from the name.
        let path = dir.path().join(format!("{}.bin", kind.extension()));
        let image = if format == ImageFormat::Jpeg {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(picture.clone()).to_rgb8())
        } else {
            DynamicImage::ImageRgba8(picture.clone())
        };
        save(&image, &path, format);
        assert_eq!(sniffed(&path), Sniffed::Accepted(kind));
        let p = probe_ok(&path, kind).await;
        assert_eq!((p.width, p.height, p.rotation), (800, 600, 0), "{kind:?}");
        assert_eq!(p.pixel_format.as_deref(), Some(pixel_format), "{kind:?}");
        assert_eq!(
            (p.duration_seconds, p.video_codec.clone(), p.has_audio),
            (None, None, false)
        );
        assert_eq!(
            p.format_name,
            format.extensions_str()[0].replace("jpg", "jpeg")
        );

        let thumb = thumbnail::image_thumbnail(&path, kind, 640).expect("thumbnail");
        assert_eq!(dimensions_of_jpeg(&thumb), (640, 480), "{kind:?}");
        assert!(!has_exif(&thumb));
        // Nothing to strip in a file the image crate wrote.
        assert_eq!(thumbnail::stripped_image(&path, kind), Ok(None), "{kind:?}");
    }
}

#[test]
fn animated_gif_thumbnail_is_its_first_frame() {
    use image::codecs::gif::GifEncoder;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("anim.gif");
    let frame = |c: [u8; 4]| image::Frame::new(RgbaImage::from_pixel(40, 20, Rgba(c)));
    let file = std::fs::File::create(&path).expect("created");
    let mut encoder = GifEncoder::new(file);
    encoder
        .encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
        .expect("encoded");
    drop(encoder);
    let thumb = thumbnail::image_thumbnail(&path, Kind::Gif, 640).expect("thumbnail");
    let image = image::load_from_memory(&thumb).expect("jpeg").to_rgb8();
    assert_eq!(image.dimensions(), (40, 20));
    let Rgb([r, _, b]) = *image.get_pixel(20, 10);
    assert!(r > 200 && b < 60, "the first (red) frame, got {r},{b}");
    assert_eq!(thumbnail::stripped_image(&path, Kind::Gif), Ok(None));
}

#[tokio::test]
async fn jpeg_with_exif_orientation_and_gps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phone.jpg");
    // Orientation 6: turn 90° clockwise to display.
    let bytes = jpeg_with_exif(&halves(), 6);
    assert!(has_exif(&bytes));
    std::fs::write(&path, &bytes).expect("written");
    assert_eq!(sniffed(&path), Sniffed::Accepted(Kind::Jpeg));

    let p = probe_ok(&path, Kind::Jpeg).await;
    assert_eq!((p.width, p.height, p.rotation), (32, 64, 90));

    // The thumbnail is turned: the left (red) half is now on top; and carries no EXIF.
    let thumb = thumbnail::image_thumbnail(&path, Kind::Jpeg, 640).expect("thumbnail");
    assert!(!has_exif(&thumb));
    let image = image::load_from_memory(&thumb).expect("jpeg").to_rgb8();
    assert_eq!(image.dimensions(), (32, 64));
    let top = image.get_pixel(16, 8).0;
    let bottom = image.get_pixel(16, 56).0;
    assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom is blue: {bottom:?}"
    );

    // The stripped copy: turned, no EXIF (so no GPS), and probing it finds nothing left to turn or strip.
    let stripped = thumbnail::stripped_image(&path, Kind::Jpeg)
        .expect("strips")
        .expect("there was EXIF to strip");
    assert!(!has_exif(&stripped));
    assert!(
        !stripped.windows(4).any(|w| w == b"MM\0\x2a"),
        "no TIFF block left"
    );
    assert_eq!(dimensions_of_jpeg(&stripped), (32, 64));
    let again = dir.path().join("stripped.jpg");
    std::fs::write(&again, &stripped).expect("written");
    let p = probe_ok(&again, Kind::Jpeg).await;
    assert_eq!((p.width, p.height, p.rotation), (32, 64, 0));
    assert_eq!(thumbnail::stripped_image(&again, Kind::Jpeg), Ok(None));

    // EXIF with orientation 1 but GPS: still stripped, dimensions unchanged.
    let gps_only = dir.path().join("gps.jpg");
    std::fs::write(&gps_only, jpeg_with_exif(&halves(), 1)).expect("written");
    let stripped = thumbnail::stripped_image(&gps_only, Kind::Jpeg)
        .expect("strips")
        .expect("GPS to strip");
    assert!(!has_exif(&stripped));
    assert_eq!(dimensions_of_jpeg(&stripped), (64, 32));
}

#[tokio::test]
async fn a_png_claiming_ten_gigapixels_is_refused_from_its_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bomb.png");
    std::fs::write(&path, png_claiming(100_000, 100_000)).expect("written");
    assert_eq!(sniffed(&path), Sniffed::Accepted(Kind::Png));
    let too_many = ProbeError::TooManyPixels {
        width: 100_000,
        height: 100_000,
        limit: ProbeLimits::DEFAULT_MAX_PIXELS,
    };
    let started = Instant::now();
    let err = probe::probe(&path, Kind::Png, &ProbeLimits::default())
        .await
        .expect_err("bomb");
    assert_eq!(err, too_many);
    assert_eq!(
        thumbnail::image_thumbnail(&path, Kind::Png, 640),
        Err(too_many.clone())
    );
    assert_eq!(thumbnail::stripped_image(&path, Kind::Png), Err(too_many));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "nothing was decoded"
    );

    // A lower limit applies to ordinary sizes too.
    let small = dir.path().join("small.png");
    save(&DynamicImage::ImageRgb8(halves()), &small, ImageFormat::Png);
    let limits = ProbeLimits {
        max_pixels: 1000,
        ..ProbeLimits::default()
    };
    let err = probe::probe(&small, Kind::Png, &limits)
        .await
        .expect_err("over");
    assert_eq!(err.code(), "too_many_pixels");
    assert_eq!(
        err.to_string(),
        "the image is 64x32 pixels (0.0 megapixels), more than the 0.0 megapixels allowed"
    );
}

#[tokio::test]
async fn truncated_and_mislabelled_images_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("whole.png");
    let noisy = RgbImage::from_fn(300, 200, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 13 % 256) as u8,
            ((x ^ y) % 256) as u8,
        ])
    });
    save(&DynamicImage::ImageRgb8(noisy), &png, ImageFormat::Png);
    let bytes = std::fs::read(&png).expect("read");

    // Cut inside the header: the probe fails.
    let cut = dir.path().join("cut.png");
    std::fs::write(&cut, &bytes[..20]).expect("written");
    let err = probe::probe(&cut, Kind::Png, &ProbeLimits::default())
        .await
        .expect_err("cut header");
    assert_eq!(err.code(), "truncated", "{err}");

    // Cut inside the pixels: the header reads, decoding does not.
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("written");
    let p = probe_ok(&cut, Kind::Png).await;
    assert_eq!((p.width, p.height), (300, 200));
    let err = thumbnail::image_thumbnail(&cut, Kind::Png, 640).expect_err("cut pixels");
    assert_eq!(err.code(), "truncated", "{err}");

    // A file probed as a kind it is not.
    let err = probe::probe(&png, Kind::Jpeg, &ProbeLimits::default())
        .await
        .expect_err("not a JPEG");
    assert_eq!(err.code(), "unreadable_media", "{err}");
    let err = thumbnail::image_thumbnail(&png, Kind::Mp4, 640).expect_err("video kind");
    assert_eq!(err.code(), "wrong_media_kind");
}

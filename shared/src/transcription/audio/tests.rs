//! Tests of the PCM helpers, and of ffmpeg runs on sound made in each test (by the system `ffmpeg`, Debian's
//! package, or written sample by sample), each in a temporary directory of its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::media::tests::{fake_tool, ffmpeg, path_str};

/// Raw PCM: `pattern` repeated `times`, each `(seconds, loud)` a 440 Hz tone at half scale or digital silence.
fn pcm_pattern(pattern: &[(f64, bool)], times: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n: u64 = 0;
    for _ in 0..times {
        for &(secs, loud) in pattern {
            let samples = (secs * 16000.0).round() as u64;
            for _ in 0..samples {
                let t = n as f64 / 16000.0;
                let v = if loud {
                    (0.5 * f64::from(i16::MAX) * (2.0 * std::f64::consts::PI * 440.0 * t).sin())
                        as i16
                } else {
                    0
                };
                out.extend_from_slice(&v.to_le_bytes());
                n += 1;
            }
        }
    }
    out
}

const TIMEOUT: Duration = Duration::from_secs(60);

// ---- parse_silences ----

const REPORT: &str = "\
Input #0, s16le, from 'file:/tmp/a.pcm':
  Duration: 00:00:05.02, bitrate: 256 kb/s
[silencedetect @ 0x55e743992800] silence_start: 0
[silencedetect @ 0x55e743992800] silence_end: 0.75 | silence_duration: 0.75
[silencedetect @ 0x55e743992800] silence_start: 2
[silencedetect @ 0x55e743992800] silence_end: 3.00006 | silence_duration: 1.00006
size=N/A time=00:00:05.01 bitrate=N/A speed=3.15e+03x
[silencedetect @ 0x55e743992800] silence_start: 4.5
";

#[test]
fn silences_are_read_in_order_and_a_trailing_start_ends_at_the_duration() {
    assert_eq!(
        parse_silences(REPORT, 5.02),
        vec![(0.0, 0.75), (2.0, 3.00006), (4.5, 5.02)]
    );
}

#[test]
fn silences_are_clamped_and_nonsense_is_ignored() {
    let report = "\
[silencedetect @ 0x1] silence_start: -0.0000625
[silencedetect @ 0x1] silence_end: 1.5 | silence_duration: 1.5000625
silence_end: 7 | without a start
[silencedetect @ 0x1] silence_start: nan-ish
[silencedetect @ 0x1] silence_start: 9
[silencedetect @ 0x1] silence_end: 12.5 | silence_duration: 3.5
[silencedetect @ 0x1] silence_start: 12.5
";
    // The last start is at the end (nothing left), the one before runs past it (clamped).
    assert_eq!(parse_silences(report, 10.0), vec![(0.0, 1.5), (9.0, 10.0)]);
    assert!(parse_silences("", 10.0).is_empty());
    assert!(parse_silences("no reports at all\n", 10.0).is_empty());
    assert!(parse_silences(REPORT, f64::NAN).is_empty());
}

#[test]
fn overlapping_reports_are_merged() {
    let report = "\
silence_start: 1
silence_end: 3
silence_start: 2.5
silence_end: 4
";
    assert_eq!(parse_silences(report, 10.0), vec![(1.0, 4.0)]);
}

// ---- wav ----

#[test]
fn the_wav_header_describes_16_khz_mono_16_bit_pcm() {
    let pcm: Vec<u8> = (0..100u8).collect();
    let file = wav(&pcm);
    assert_eq!(file.len(), 144);
    let u32_at = |i: usize| u32::from_le_bytes(file[i..i + 4].try_into().unwrap());
    let u16_at = |i: usize| u16::from_le_bytes(file[i..i + 2].try_into().unwrap());
    assert_eq!(&file[0..4], b"RIFF");
    assert_eq!(u32_at(4), 136, "RIFF size is the file minus 8");
    assert_eq!(&file[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(16), 16);
    assert_eq!(u16_at(20), 1, "PCM");
    assert_eq!(u16_at(22), 1, "mono");
    assert_eq!(u32_at(24), 16000);
    assert_eq!(u32_at(28), 32000);
    assert_eq!(u16_at(32), 2);
    assert_eq!(u16_at(34), 16);
    assert_eq!(&file[36..40], b"data");
    assert_eq!(u32_at(40), 100);
    assert_eq!(&file[44..], &pcm[..]);
    assert_eq!(wav(&[]).len(), 44);
}

#[tokio::test]
async fn ffmpeg_reads_our_wav_as_what_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.wav");
    std::fs::write(&path, wav(&pcm_pattern(&[(1.5, true)], 1))).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pcm_s16le,16000,1"
    );
}

// ---- read_range ----

fn numbered_pcm(dir: &Path, samples: u16) -> PathBuf {
    let path = dir.join("n.pcm");
    let bytes: Vec<u8> = (0..samples).flat_map(u16::to_le_bytes).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn samples_of(bytes: &[u8]) -> Vec<u16> {
    assert_eq!(bytes.len() % 2, 0);
    bytes
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

#[tokio::test]
async fn ranges_are_whole_samples_and_adjacent_ranges_tile_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcm = numbered_pcm(dir.path(), 48000); // 3 s
    let all = read_range(&pcm, 0.0, 3.0).await.unwrap();
    assert_eq!(all.len(), 96000);
    let one = samples_of(&read_range(&pcm, 1.0, 1.5).await.unwrap());
    assert_eq!(one.len(), 8000);
    assert_eq!(one[0], 16000);
    assert_eq!(*one.last().unwrap(), 23999);
    // A time between samples is rounded to the nearest one (1/32000 s is half a sample: rounds up).
    let odd = samples_of(
        &read_range(&pcm, 1.0 + 1.0 / 32000.0 + 1e-9, 1.0001)
            .await
            .unwrap(),
    );
    assert_eq!(odd, vec![16001]);
    // Cuts at awkward times still tile the file exactly.
    let cuts = [0.0, 0.123_456_7, 0.999_99, 1.000_03, 2.654_321, 3.0];
    let mut joined = Vec::new();
    for w in cuts.windows(2) {
        joined.extend(read_range(&pcm, w[0], w[1]).await.unwrap());
    }
    assert_eq!(joined, all);
    // Clamped to the file; empty and inverted ranges are nothing.
    assert_eq!(read_range(&pcm, -5.0, 99.0).await.unwrap(), all);
    assert!(read_range(&pcm, 2.0, 2.0).await.unwrap().is_empty());
    assert!(read_range(&pcm, 2.5, 1.0).await.unwrap().is_empty());
    assert!(read_range(&pcm, 5.0, 9.0).await.unwrap().is_empty());
    assert!(
        read_range(&pcm, f64::NAN, f64::NAN)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_odd_trailing_byte_is_never_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("odd.pcm");
    std::fs::write(&path, [1u8, 0, 2, 0, 3]).unwrap();
    assert_eq!(
        read_range(&path, 0.0, 10.0).await.unwrap(),
        vec![1, 0, 2, 0]
    );
}

#[tokio::test]
async fn a_missing_file_is_an_io_error() {
    let err = read_range(Path::new("/nonexistent/soku.pcm"), 0.0, 1.0)
        .await
        .expect_err("missing");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

// ---- extract_pcm and detect_silences with ffmpeg ----

#[tokio::test]
async fn compressed_audio_is_decoded_measured_and_its_pause_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m4a = dir.path().join("speech.m4a");
    // 5 s at 44.1 kHz, silent from 2 s to 3 s.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "aevalsrc='if(between(t,2,3),0,0.5*sin(2*PI*440*t))':s=44100:d=5",
        "-c:a",
        "aac",
        path_str(&m4a),
    ]);
    let pcm = dir.path().join("speech.pcm");
    let duration = extract_pcm(&m4a, &pcm, TIMEOUT).await.expect("decoded");
    // AAC adds its encoder delay (some tens of ms) at the front.
    assert!((duration - 5.0).abs() < 0.1, "{duration}");
    let len = std::fs::metadata(&pcm).unwrap().len();
    assert_eq!(len % 2, 0);
    assert_eq!(duration, (len / 2) as f64 / 16000.0);

    let silences = detect_silences(&pcm, TIMEOUT).await.expect("detected");
    assert_eq!(silences.len(), 1, "{silences:?}");
    let (start, end) = silences[0];
    assert!(
        (start - 2.0).abs() < 0.1 && (end - 3.0).abs() < 0.1,
        "{silences:?}"
    );
}

#[tokio::test]
async fn the_duration_is_what_decodes_not_what_the_header_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("liar.wav");
    let mut file = wav(&pcm_pattern(&[(2.0, true)], 1));
    // Claim 100 s of data in a file that has 2 s.
    let claimed = 100 * 32000u32;
    file[40..44].copy_from_slice(&claimed.to_le_bytes());
    file[4..8].copy_from_slice(&(claimed + 36).to_le_bytes());
    std::fs::write(&path, file).unwrap();
    let duration = extract_pcm(&path, &dir.path().join("out.pcm"), TIMEOUT)
        .await
        .expect("decoded");
    assert_eq!(duration, 2.0);
}

#[tokio::test]
async fn a_video_without_sound_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp4 = dir.path().join("silent-film.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x64:rate=10",
        "-t",
        "1",
        "-c:v",
        "mpeg4",
        path_str(&mp4),
    ]);
    let out = dir.path().join("out.pcm");
    let err = extract_pcm(&mp4, &out, TIMEOUT)
        .await
        .expect_err("no audio");
    assert_eq!(err.code(), "unreadable_media");
    assert!(
        err.to_string().contains("the media has no audio track"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is left behind");
}

#[tokio::test]
async fn garbage_and_empty_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.mp3");
    std::fs::write(&empty, b"").unwrap();
    let out = dir.path().join("out.pcm");
    assert_eq!(
        extract_pcm(&empty, &out, TIMEOUT).await,
        Err(ProbeError::EmptyFile)
    );
    let junk = dir.path().join("junk.mp3");
    std::fs::write(&junk, vec![0x5au8; 4096]).unwrap();
    let err = extract_pcm(&junk, &out, TIMEOUT).await.expect_err("junk");
    assert_eq!(err.code(), "unreadable_media");
    assert!(!err.to_string().contains(path_str(&junk)), "{err}");
}

#[tokio::test]
async fn a_thousand_pauses_are_all_reported() {
    // 1000 × (0.6 s tone, 0.6 s silence) = 20 minutes: some 150 KB of reports, more than media's default 64 KB
    // standard error cap would have kept.
    let dir = tempfile::tempdir().expect("tempdir");
    let pcm = dir.path().join("long.pcm");
    std::fs::write(&pcm, pcm_pattern(&[(0.6, true), (0.6, false)], 1000)).unwrap();
    let silences = detect_silences(&pcm, TIMEOUT).await.expect("detected");
    assert_eq!(silences.len(), 1000);
    for (i, (start, end)) in silences.iter().enumerate() {
        let expect_start = 1.2 * i as f64 + 0.6;
        assert!((start - expect_start).abs() < 0.05, "#{i}: {start}");
        assert!((end - (expect_start + 0.6)).abs() < 0.05, "#{i}: {end}");
    }
    // The last one runs to the end of the file.
    assert_eq!(silences[999].1, 1200.0);
}

#[tokio::test]
async fn a_hanging_ffmpeg_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = dir.path().join("ffmpeg");
    fake_tool(&fake, "exec sleep 30");
    let input = dir.path().join("in.wav");
    std::fs::write(&input, wav(&[0u8; 3200])).unwrap();
    let budget = Duration::from_millis(300);
    let started = Instant::now();
    let err = extract_pcm_with(&fake, &input, &dir.path().join("out.pcm"), budget)
        .await
        .expect_err("timeout");
    assert_eq!(
        err,
        ProbeError::Timeout {
            tool: "ffmpeg",
            seconds: 0.3
        }
    );
    let err = detect_silences_with(&fake, &input, budget)
        .await
        .expect_err("timeout");
    assert_eq!(err.code(), "probe_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_missing_ffmpeg_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.wav");
    std::fs::write(&input, wav(&[0u8; 3200])).unwrap();
    let err = extract_pcm_with(
        Path::new("/nonexistent/ffmpeg"),
        &input,
        &dir.path().join("out.pcm"),
        TIMEOUT,
    )
    .await
    .expect_err("missing");
    assert_eq!(err, ProbeError::ToolMissing { tool: "ffmpeg" });
}

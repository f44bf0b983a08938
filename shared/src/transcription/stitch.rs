//! Chunk transcripts put back together, and the subtitle and text files made from the result.
//!
//! Each chunk's segments are on the chunk's clock; [`shift`] moves them to the recording's, keeping each inside
//! its chunk (a provider's last timestamp can overshoot the audio it was given), and drops what Whisper itself
//! would have treated as silence ([`keep`]). [`stitch`] lays the chunks end to end: one text, and segments
//! whose times never go backwards, which subtitle players expect.
//!
//! [`srt`] and [`vtt`] write SubRip and WebVTT: one cue a segment, numbered from 1 in SubRip, times rounded to
//! the millisecond, hours past 99 written in full. A cue's text never has an empty line (that would end the cue
//! early in both formats) and a cue without text is left out. WebVTT gives `&`, `<` and `>` meanings of its
//! own, so they are written as character references, which also keeps `-->` out of a cue's text.

use super::Segment;
use super::provider::{ChunkTranscript, RawSegment};

/// Whisper's `no_speech_threshold`: a segment more likely than this to be no speech...
const NO_SPEECH_PROB: f64 = 0.6;
/// ...and less confident than Whisper's `logprob_threshold` is silence Whisper put words on.
const AVG_LOGPROB: f64 = -1.0;

/// Whether a segment is worth keeping: it has text, and is not what Whisper's own rule takes for a
/// hallucination on silence (`no_speech_prob` over 0.6 *and* `avg_logprob` under -1.0; a segment missing
/// either figure is kept).
pub fn keep(seg: &RawSegment) -> bool {
    if seg.text.trim().is_empty() {
        return false;
    }
    !matches!(
        (seg.no_speech_prob, seg.avg_logprob),
        (Some(nsp), Some(lp)) if nsp > NO_SPEECH_PROB && lp < AVG_LOGPROB
    )
}

/// The kept segments of `chunk`, a transcript of `chunk_len` seconds that starts `offset` seconds into the
/// recording, on the recording's clock: times moved by `offset` and clamped into
/// `[offset, offset + chunk_len]` (a time that is not a number is taken as the chunk's start), `end` never
/// before `start`, text trimmed.
pub fn shift(chunk: &ChunkTranscript, offset: f64, chunk_len: f64) -> Vec<Segment> {
    let offset = finite_or(offset, 0.0).max(0.0);
    let chunk_len = finite_or(chunk_len, 0.0).max(0.0);
    chunk
        .segments
        .iter()
        .filter(|s| keep(s))
        .map(|s| {
            let start = finite_or(s.start, 0.0).clamp(0.0, chunk_len);
            let end = finite_or(s.end, start).clamp(start, chunk_len);
            Segment {
                start: offset + start,
                end: offset + end,
                text: s.text.trim().to_string(),
            }
        })
        .collect()
}

/// The chunks' segments (each from [`shift`]) in order, as one text (the segments' texts joined with single
/// spaces) and one list of segments whose times never go backwards: a segment that starts before the previous
/// one ends starts where it ended (and ends no earlier). Segments without text are left out.
pub fn stitch(chunks: &[Vec<Segment>]) -> (String, Vec<Segment>) {
    let mut text = String::new();
    let mut out: Vec<Segment> = Vec::new();
    let mut last_end = 0.0f64;
    for seg in chunks.iter().flatten() {
        let words = seg.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if words.is_empty() {
            continue;
        }
        let start = finite_or(seg.start, last_end).max(last_end);
        let end = finite_or(seg.end, start).max(start);
        last_end = end;
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&words);
        out.push(Segment {
            start,
            end,
            text: seg.text.trim().to_string(),
        });
    }
    (text, out)
}

/// The segments as a SubRip (`.srt`) file.
pub fn srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    let mut index = 0;
    for seg in segments {
        let lines = cue_lines(&seg.text, false);
        if lines.is_empty() {
            continue;
        }
        index += 1;
        let (start, end) = cue_times(seg);
        out.push_str(&format!(
            "{index}\n{} --> {}\n{}\n\n",
            timestamp(start, ','),
            timestamp(end, ','),
            lines.join("\n")
        ));
    }
    out
}

/// The segments as a WebVTT (`.vtt`) file.
pub fn vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for seg in segments {
        let lines = cue_lines(&seg.text, true);
        if lines.is_empty() {
            continue;
        }
        let (start, end) = cue_times(seg);
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(start, '.'),
            timestamp(end, '.'),
            lines.join("\n")
        ));
    }
    out
}

/// The transcript's text as a plain text file: trimmed, ending in a line break; empty when there is no text.
pub fn txt(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!("{text}\n")
    }
}

/// A cue's text as lines, none empty; for WebVTT with `&`, `<` and `>` escaped. No lines: no cue.
fn cue_lines(text: &str, webvtt: bool) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if webvtt {
                l.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            } else {
                // SubRip has no escapes; an arrow in the text could be taken for a timing line.
                l.replace("-->", "->")
            }
        })
        .collect()
}

/// A cue's start and end in milliseconds; the end at least a millisecond after the start, since a cue that
/// ends when it starts is never shown (and validators refuse it).
fn cue_times(seg: &Segment) -> (u64, u64) {
    let start = millis(seg.start);
    let end = millis(seg.end).max(start + 1);
    (start, end)
}

/// Seconds rounded to the nearest millisecond; not a number, or negative, is 0.
fn millis(seconds: f64) -> u64 {
    if seconds.is_nan() || seconds <= 0.0 {
        0
    } else {
        (seconds * 1000.0).round().min(u64::MAX as f64) as u64
    }
}

/// `HH:MM:SS,mmm` (SubRip, `sep` = `,`) or `HH:MM:SS.mmm` (WebVTT, `.`).
fn timestamp(ms: u64, sep: char) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

fn finite_or(v: f64, default: f64) -> f64 {
    if v.is_finite() { v } else { default }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(start: f64, end: f64, text: &str) -> RawSegment {
        RawSegment {
            start,
            end,
            text: text.to_string(),
            no_speech_prob: None,
            avg_logprob: None,
        }
    }

    fn seg(start: f64, end: f64, text: &str) -> Segment {
        Segment {
            start,
            end,
            text: text.to_string(),
        }
    }

    fn chunk(segments: Vec<RawSegment>) -> ChunkTranscript {
        ChunkTranscript {
            language: Some("en".into()),
            duration: None,
            text: String::new(),
            segments,
        }
    }

    #[test]
    fn hallucinations_on_silence_and_empty_text_are_dropped() {
        let mut s = raw(0.0, 1.0, " Thank you for watching.");
        assert!(keep(&s));
        s.no_speech_prob = Some(0.9);
        assert!(keep(&s), "likely no speech, but confident: kept");
        s.avg_logprob = Some(-1.5);
        assert!(!keep(&s), "likely no speech and unsure: dropped");
        s.no_speech_prob = Some(0.6);
        assert!(keep(&s), "the threshold itself is kept");
        s.no_speech_prob = None;
        assert!(keep(&s), "a figure missing: kept");
        assert!(!keep(&raw(0.0, 1.0, "  \n\t")));
        assert!(!keep(&raw(0.0, 1.0, "")));
    }

    #[test]
    fn segments_move_to_the_recordings_clock_inside_their_chunk() {
        let mut silent = raw(5.0, 6.0, " you");
        silent.no_speech_prob = Some(0.95);
        silent.avg_logprob = Some(-2.0);
        let c = chunk(vec![
            raw(0.0, 4.2, "  Hello there. "),
            silent,
            raw(8.0, 12.5, " Past the end"),
            raw(-0.5, f64::NAN, "Odd times"),
            raw(9.0, 3.0, "Backwards"),
            raw(20.0, 30.0, "Wholly past"),
        ]);
        let shifted = shift(&c, 600.0, 10.0);
        assert_eq!(
            shifted,
            vec![
                seg(600.0, 604.2, "Hello there."),
                seg(608.0, 610.0, "Past the end"),
                seg(600.0, 600.0, "Odd times"),
                seg(609.0, 609.0, "Backwards"),
                seg(610.0, 610.0, "Wholly past"),
            ]
        );
    }

    #[test]
    fn chunks_are_stitched_in_order_with_times_that_never_go_back() {
        let chunks = vec![
            vec![seg(0.0, 4.0, "One  two."), seg(4.0, 9.0, "Three\nfour.")],
            vec![],
            vec![
                seg(8.5, 12.0, "Five."),
                seg(10.0, 11.0, "Six."),
                seg(13.0, 14.0, "  "),
            ],
            vec![seg(20.0, 25.0, "Seven.")],
        ];
        let (text, segments) = stitch(&chunks);
        assert_eq!(text, "One two. Three four. Five. Six. Seven.");
        assert_eq!(
            segments,
            vec![
                seg(0.0, 4.0, "One  two."),
                seg(4.0, 9.0, "Three\nfour."),
                seg(9.0, 12.0, "Five."),
                seg(12.0, 12.0, "Six."),
                seg(20.0, 25.0, "Seven."),
            ]
        );
        for w in segments.windows(2) {
            assert!(w[1].start >= w[0].end);
        }
        assert_eq!(stitch(&[]), (String::new(), vec![]));
    }

    #[test]
    fn srt_numbers_cues_from_one_with_comma_millis() {
        let segments = vec![
            seg(0.0, 1.5, "Hello."),
            seg(1.5, 2.0, "   "),
            seg(59.9996, 61.0004, "Rounded\n\nto the millisecond"),
            seg(3723.456, 3725.0, "Past an hour --> on"),
            seg(360_000.0, 360_001.0, "A hundred hours in"),
        ];
        assert_eq!(
            srt(&segments),
            "1\n00:00:00,000 --> 00:00:01,500\nHello.\n\n\
             2\n00:01:00,000 --> 00:01:01,000\nRounded\nto the millisecond\n\n\
             3\n01:02:03,456 --> 01:02:05,000\nPast an hour -> on\n\n\
             4\n100:00:00,000 --> 100:00:01,000\nA hundred hours in\n\n"
        );
        assert_eq!(srt(&[]), "");
    }

    #[test]
    fn vtt_has_its_header_dot_millis_and_escaped_text() {
        let segments = vec![
            seg(0.0, 0.0, "Instant"),
            seg(1.0006, 2.0, "a --> b & <i>c</i>"),
            seg(3599.9996, 7200.0, "Hours"),
            seg(7200.0, 7201.0, "\n"),
        ];
        assert_eq!(
            vtt(&segments),
            "WEBVTT\n\n\
             00:00:00.000 --> 00:00:00.001\nInstant\n\n\
             00:00:01.001 --> 00:00:02.000\na --&gt; b &amp; &lt;i&gt;c&lt;/i&gt;\n\n\
             01:00:00.000 --> 02:00:00.000\nHours\n\n"
        );
        assert_eq!(vtt(&[]), "WEBVTT\n\n");
    }

    #[test]
    fn cue_files_are_well_formed() {
        // Every cue: a timing line whose end is after its start, then non-empty text lines, then one blank line.
        let segments: Vec<Segment> = (0..50)
            .map(|i| {
                let t = f64::from(i) * 0.7 + 0.00049;
                seg(
                    t,
                    t + if i % 7 == 0 { 0.0 } else { 0.69 },
                    &format!("line {i}\n\n  second  "),
                )
            })
            .collect();
        for (file, sep, header) in [
            (srt(&segments), ',', ""),
            (vtt(&segments), '.', "WEBVTT\n\n"),
        ] {
            let body = file.strip_prefix(header).expect("header");
            let cues: Vec<&str> = body.trim_end_matches('\n').split("\n\n").collect();
            assert_eq!(cues.len(), 50);
            for (i, cue) in cues.iter().enumerate() {
                let mut lines = cue.lines();
                if sep == ',' {
                    assert_eq!(lines.next(), Some((i + 1).to_string().as_str()));
                }
                let timing = lines.next().expect("timing");
                let (a, b) = timing.split_once(" --> ").expect("arrow");
                assert!(a.len() == 12 && b.len() == 12 && a < b, "{timing}");
                assert_eq!(a.as_bytes()[8], sep as u8);
                let text: Vec<&str> = lines.collect();
                assert_eq!(text, vec![format!("line {i}").as_str(), "second"]);
            }
        }
    }

    #[test]
    fn txt_is_the_text_and_a_line_break() {
        assert_eq!(txt("  Hello world.  "), "Hello world.\n");
        assert_eq!(txt(" \n "), "");
    }
}

//! Where to cut a long recording into chunks a provider accepts.
//!
//! A provider takes one file of at most so many bytes ([`max_seconds_for_bytes`] turns that into seconds of
//! PCM WAV). A chunk cut in the middle of a word loses that word, or gets it half-heard on both sides, so every
//! cut is put in a pause ([`super::audio::detect_silences`]): at the middle of the pause whose middle is
//! nearest the target length, counted from the previous cut, among the pauses that keep the chunk within the
//! maximum. Only where no pause is usable is the cut made hard, at the maximum.
//!
//! The target is shorter than the maximum: it leaves room to find a pause after it, and shorter chunks fail and
//! are retried more cheaply. Chunks carry no overlap: the segments of consecutive chunks are laid end to end by
//! [`super::stitch::stitch`], and a cut in a pause has nothing to repeat.

use super::audio::{BYTES_PER_SECOND, SAMPLE_RATE, WAV_HEADER_LEN};

/// The shortest chunk worth sending, in seconds: no cut is placed closer than this to the previous one, and a
/// tail shorter than this is merged into the chunk before it when that stays within the maximum.
pub const MIN_CHUNK_SECONDS: f64 = 1.0;

/// The longest chunk, in seconds, whose WAV ([`super::audio::wav`]: a 44-byte header, then
/// [`BYTES_PER_SECOND`] bytes a second) fits in `limit` bytes. One sample is held back, because a chunk's ends
/// are rounded to the nearest sample when it is read ([`super::audio::read_range`]). For OpenAI's 25 MB
/// (`25 * 1024 * 1024`) it is 819.198 s.
pub fn max_seconds_for_bytes(limit: u64) -> f64 {
    let bytes_per_sample = BYTES_PER_SECOND / u64::from(SAMPLE_RATE);
    let samples = (limit.saturating_sub(WAV_HEADER_LEN) / bytes_per_sample).saturating_sub(1);
    samples as f64 / f64::from(SAMPLE_RATE)
}

/// Chunk ranges `(start, end)`, in seconds, for a recording of `duration` seconds with the pauses `silences`
/// (`(start, end)` seconds, in any order), aiming at `target` seconds a chunk and never over `max`.
///
/// The ranges cover `[0, duration]` in order, without gaps or overlaps (each starts where the one before
/// ended). A recording no longer than `target` is one chunk. Each cut is at the middle of the pause nearest the
/// target length from the previous cut, among the pauses whose middle is at least [`MIN_CHUNK_SECONDS`] and at
/// most `max` after it; with none, at `max` (or, when the rest fits in `max`, not at all). A last chunk shorter
/// than [`MIN_CHUNK_SECONDS`] is merged into the one before when the two together fit in `max`.
///
/// `max` below [`MIN_CHUNK_SECONDS`] (or not a number) is taken as [`MIN_CHUNK_SECONDS`]; `target` is clamped
/// into `[MIN_CHUNK_SECONDS, max]`. A `duration` that is not a positive number has no chunks.
pub fn plan(duration: f64, silences: &[(f64, f64)], target: f64, max: f64) -> Vec<(f64, f64)> {
    if !(duration.is_finite() && duration > 0.0) {
        return Vec::new();
    }
    let max = if max >= MIN_CHUNK_SECONDS {
        max
    } else {
        MIN_CHUNK_SECONDS
    };
    let target = if target.is_nan() {
        max
    } else {
        target.clamp(MIN_CHUNK_SECONDS, max)
    };
    let mut middles: Vec<f64> = silences
        .iter()
        .filter(|(s, e)| s.is_finite() && e.is_finite() && e >= s)
        .map(|(s, e)| (s + e) / 2.0)
        .filter(|m| *m > 0.0 && *m < duration)
        .collect();
    middles.sort_by(f64::total_cmp);

    let mut bounds = vec![0.0];
    let mut prev = 0.0;
    while duration - prev > target {
        let want = prev + target;
        // The pauses that keep this chunk within [MIN_CHUNK_SECONDS, max]: a window of the sorted middles.
        let from = middles.partition_point(|m| *m - prev < MIN_CHUNK_SECONDS);
        let to = middles.partition_point(|m| *m - prev <= max);
        let nearest = middles[from..to.max(from)]
            .iter()
            .copied()
            .min_by(|a, b| (a - want).abs().total_cmp(&(b - want).abs()));
        let cut = match nearest {
            Some(m) => m,
            None if duration - prev <= max => break,
            None => prev + max,
        };
        bounds.push(cut);
        prev = cut;
    }
    bounds.push(duration);

    let mut chunks: Vec<(f64, f64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    if let [.., before, last] = chunks.as_slice()
        && last.1 - last.0 < MIN_CHUNK_SECONDS
        && last.1 - before.0 <= max
    {
        let merged = (before.0, last.1);
        chunks.pop();
        chunks.pop();
        chunks.push(merged);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const OPENAI: u64 = 25 * 1024 * 1024;

    #[test]
    fn the_openai_limit_is_about_819_seconds_and_its_wav_fits() {
        let max = max_seconds_for_bytes(OPENAI);
        assert!((max - 819.198).abs() < 0.001, "{max}");
        // The most samples a chunk of `max` seconds can round to, plus the header, is within the limit.
        let samples = (max * 16000.0).round() as u64 + 1;
        assert!(samples * 2 + 44 <= OPENAI);
        assert_eq!(max_seconds_for_bytes(0), 0.0);
        assert_eq!(max_seconds_for_bytes(44), 0.0);
        assert_eq!(max_seconds_for_bytes(44 + 32000 + 2), 1.0);
    }

    #[test]
    fn a_short_recording_is_one_chunk() {
        assert_eq!(plan(42.5, &[(10.0, 11.0)], 600.0, 819.0), vec![(0.0, 42.5)]);
        assert_eq!(plan(600.0, &[], 600.0, 819.0), vec![(0.0, 600.0)]);
        assert_eq!(plan(0.3, &[], 600.0, 819.0), vec![(0.0, 0.3)]);
    }

    #[test]
    fn nothing_to_plan_has_no_chunks() {
        assert!(plan(0.0, &[], 600.0, 819.0).is_empty());
        assert!(plan(-3.0, &[], 600.0, 819.0).is_empty());
        assert!(plan(f64::NAN, &[], 600.0, 819.0).is_empty());
        assert!(plan(f64::INFINITY, &[], 600.0, 819.0).is_empty());
    }

    #[test]
    fn cuts_are_in_the_middle_of_the_pauses_nearest_the_target() {
        let silences = [
            (100.0, 101.0),
            (590.0, 591.0),
            (640.0, 641.0),
            (1190.0, 1192.0),
            (1250.0, 1251.0),
            (1795.0, 1796.0),
        ];
        let chunks = plan(2000.0, &silences, 600.0, 819.0);
        assert_eq!(
            chunks,
            vec![
                (0.0, 590.5),
                (590.5, 1191.0),
                (1191.0, 1795.5),
                (1795.5, 2000.0)
            ]
        );
    }

    #[test]
    fn the_target_counts_from_the_previous_cut() {
        // After a cut at 400.5, the pause nearest 400.5 + 300 is the one at 700, not the one at 600.
        let silences = [(400.0, 401.0), (599.5, 600.5), (699.5, 700.5)];
        let chunks = plan(900.0, &silences, 300.0, 500.0);
        assert_eq!(chunks, vec![(0.0, 400.5), (400.5, 700.0), (700.0, 900.0)]);
    }

    #[test]
    fn a_pause_past_the_maximum_is_not_used_and_a_hard_cut_is_made_at_it() {
        let chunks = plan(2000.0, &[(900.0, 901.0)], 600.0, 819.0);
        // 900.5 is more than 819 from 0: hard cut at 819; from there, 900.5 is the nearest usable pause.
        assert_eq!(
            chunks,
            vec![
                (0.0, 819.0),
                (819.0, 900.5),
                (900.5, 1719.5),
                (1719.5, 2000.0)
            ]
        );
        let chunks = plan(2000.0, &[], 600.0, 819.0);
        assert_eq!(
            chunks,
            vec![(0.0, 819.0), (819.0, 1638.0), (1638.0, 2000.0)]
        );
    }

    #[test]
    fn with_no_pause_the_rest_is_one_chunk_when_it_fits() {
        assert_eq!(plan(700.0, &[], 600.0, 819.0), vec![(0.0, 700.0)]);
    }

    #[test]
    fn a_tiny_tail_is_merged_when_that_fits() {
        assert_eq!(
            plan(600.5, &[(599.5, 600.5)], 600.0, 819.0),
            vec![(0.0, 600.5)]
        );
        // 819 + 819 + 0.5: merging the 0.5 s would make 819.5 s, over the maximum, so it stays.
        let chunks = plan(1638.5, &[], 600.0, 819.0);
        assert_eq!(
            chunks,
            vec![(0.0, 819.0), (819.0, 1638.0), (1638.0, 1638.5)]
        );
    }

    #[test]
    fn a_pause_right_after_a_cut_is_not_used() {
        // A pause half a second after the start would make a 0.5 s chunk.
        let chunks = plan(30.0, &[(0.2, 0.8), (9.5, 10.5)], 10.0, 20.0);
        assert_eq!(chunks, vec![(0.0, 10.0), (10.0, 30.0)]);
        // Nor one that starts before the recording.
        let chunks = plan(
            30.0,
            &[(-5.0, -1.0), (f64::NAN, 3.0), (9.5, 10.5)],
            10.0,
            20.0,
        );
        assert_eq!(chunks, vec![(0.0, 10.0), (10.0, 30.0)]);
    }

    #[test]
    fn odd_targets_and_maximums_are_made_sensible() {
        // A target over the maximum is the maximum.
        assert_eq!(
            plan(30.0, &[], 50.0, 10.0),
            vec![(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
        );
        // A maximum under a second is a second.
        assert_eq!(plan(2.5, &[], 0.1, 0.0).len(), 3);
        assert_eq!(plan(2.5, &[], f64::NAN, f64::NAN).len(), 3);
        // No maximum: one chunk.
        assert_eq!(
            plan(1e6, &[], f64::INFINITY, f64::INFINITY),
            vec![(0.0, 1e6)]
        );
    }

    /// Checks every promise of [`plan`] for one input; returns how many cuts were hard.
    fn check(duration: f64, silences: &[(f64, f64)], target: f64, max: f64) -> usize {
        let chunks = plan(duration, silences, target, max);
        // What `plan` aims at: the target within [MIN_CHUNK_SECONDS, max].
        let target = target.clamp(MIN_CHUNK_SECONDS, max);
        let ctx = || {
            format!(
                "duration {duration}, target {target}, max {max}, silences {silences:?}: {chunks:?}"
            )
        };
        assert!(!chunks.is_empty(), "{}", ctx());
        assert_eq!(chunks[0].0, 0.0, "{}", ctx());
        assert_eq!(chunks.last().unwrap().1, duration, "{}", ctx());
        for w in chunks.windows(2) {
            assert_eq!(w[0].1, w[1].0, "no gap, no overlap: {}", ctx());
        }
        for &(s, e) in &chunks {
            assert!(e > s, "in order: {}", ctx());
            assert!(e - s <= max + 1e-9, "within max: {}", ctx());
        }
        if duration <= target {
            assert_eq!(chunks.len(), 1, "{}", ctx());
        }
        let middles: Vec<f64> = silences
            .iter()
            .filter(|(s, e)| s <= e)
            .map(|(s, e)| (s + e) / 2.0)
            .collect();
        let mut hard = 0;
        for w in chunks.windows(2) {
            let (prev, cut) = (w[0].0, w[0].1);
            let usable: Vec<f64> = middles
                .iter()
                .copied()
                .filter(|m| *m - prev >= MIN_CHUNK_SECONDS && *m - prev <= max && *m < duration)
                .collect();
            if usable.is_empty() {
                assert!(
                    (cut - prev - max).abs() < 1e-9,
                    "hard cut at max: {}",
                    ctx()
                );
                hard += 1;
                continue;
            }
            assert!(middles.contains(&cut), "cut {cut} in a pause: {}", ctx());
            let off = (cut - prev - target).abs();
            for m in usable {
                assert!(
                    (m - prev - target).abs() >= off,
                    "{m} is nearer the target than {cut}: {}",
                    ctx()
                );
            }
        }
        if let [.., before, last] = chunks.as_slice() {
            assert!(
                last.1 - last.0 >= MIN_CHUNK_SECONDS || last.1 - before.0 > max,
                "a tiny tail is merged when it fits: {}",
                ctx()
            );
        }
        hard
    }

    #[test]
    fn every_plan_covers_in_order_within_max_cutting_in_pauses() {
        let mut rng = StdRng::seed_from_u64(0x50c0);
        let mut hard_cuts = 0;
        for round in 0..3000 {
            let duration: f64 = match round % 4 {
                0 => rng.random_range(0.1..60.0),
                1 => rng.random_range(60.0..3000.0),
                2 => rng.random_range(3000.0..20000.0),
                _ => rng.random_range(1.0..5.0) * 819.0,
            };
            let max: f64 = if round % 3 == 0 {
                819.198
            } else {
                rng.random_range(2.0..900.0)
            };
            let target: f64 = rng.random_range(0.5..1.2) * max;
            let mut silences: Vec<(f64, f64)> = Vec::new();
            match round % 5 {
                0 => {}
                1 => {
                    // Speech: a pause every few seconds.
                    let mut t: f64 = rng.random_range(0.0..3.0);
                    while t < duration {
                        let len: f64 = rng.random_range(0.4..2.0);
                        silences.push((t, (t + len).min(duration)));
                        t += len + rng.random_range(0.5..15.0);
                    }
                }
                2 => {
                    // Rare pauses, some far apart.
                    for _ in 0..rng.random_range(1..8) {
                        let s: f64 = rng.random_range(0.0..duration);
                        silences.push((s, (s + rng.random_range(0.4..5.0)).min(duration)));
                    }
                }
                3 => {
                    // Pauses near where the targets fall.
                    let mut t = target;
                    while t < duration {
                        let s: f64 = t + rng.random_range(-30.0..30.0);
                        silences.push((s.max(0.0), (s + 0.8).clamp(0.0, duration)));
                        t += target;
                    }
                }
                _ => {
                    // Long silences and a silent start and end.
                    silences.push((0.0, duration.min(5.0)));
                    let s: f64 = rng.random_range(0.0..duration);
                    silences.push((s, (s + rng.random_range(10.0..400.0)).min(duration)));
                    silences.push(((duration - 2.0).max(0.0), duration));
                }
            }
            hard_cuts += check(duration, &silences, target, max);
        }
        assert!(hard_cuts > 0, "some rounds had no pause to cut in");
    }

    #[test]
    fn speech_with_pauses_near_the_targets_is_never_cut_hard() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let duration = rng.random_range(600.0..30000.0);
            let mut silences = Vec::new();
            let mut t = 0.0;
            while t < duration {
                t += rng.random_range(2.0..20.0);
                silences.push((t, t + rng.random_range(0.4..1.5)));
            }
            let chunks = plan(duration, &silences, 600.0, 819.198);
            assert_eq!(check(duration, &silences, 600.0, 819.198), 0);
            for w in chunks.windows(2) {
                let cut = w[0].1;
                assert!(
                    silences.iter().any(|(s, e)| *s <= cut && cut <= *e),
                    "cut {cut} is inside a pause"
                );
                let len = w[0].1 - w[0].0;
                assert!(
                    (len - 600.0).abs() <= 20.0,
                    "a chunk of {len} s, near the target"
                );
            }
        }
    }
}

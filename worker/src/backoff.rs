//! When to try again: exponential backoff with jitter, never sooner than the platform's reset time.

use std::time::Duration;

use rand::Rng;

/// The longest Soku waits between two automatic attempts.
const CAP: Duration = Duration::from_secs(300);

/// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed: `base · 2^(attempt-1)`,
/// capped, with "equal jitter" (half fixed, half random) so that targets that failed together do not
/// retry together; at least `retry_after` (the platform's reset) plus a little jitter when one was given.
pub fn delay(attempt: i32, base: Duration, retry_after: Option<Duration>) -> Duration {
    let exp = base
        .saturating_mul(1u32 << (attempt.clamp(1, 20) - 1) as u32)
        .min(CAP);
    let half = exp / 2;
    let mut rng = rand::rng();
    let jittered = half + half.mul_f64(rng.random::<f64>());
    match retry_after {
        Some(reset) => jittered.max(reset + reset.mul_f64(0.1 * rng.random::<f64>())),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_jittered_and_capped() {
        let base = Duration::from_secs(1);
        for _ in 0..100 {
            let d1 = delay(1, base, None);
            assert!(d1 >= Duration::from_millis(500) && d1 <= base);
            let d4 = delay(4, base, None);
            assert!(d4 >= Duration::from_secs(4) && d4 <= Duration::from_secs(8));
            assert!(delay(30, base, None) <= CAP);
        }
    }

    #[test]
    fn honours_the_platform_reset() {
        let d = delay(1, Duration::from_secs(1), Some(Duration::from_secs(60)));
        assert!(d >= Duration::from_secs(60) && d <= Duration::from_secs(66));
    }
}

//! When to reconnect: the server's reconnection time and up to half of it
//! more after a stream that delivered events, exponential backoff after a
//! failure; random in both cases, so that clients that lost the same
//! server at the same moment come back spread out.
//!
//! Invariant: every delay is within `[floor, cap]` (with `floor ≤ cap`
//! enforced), so no server (`retry: 0`, say) can make the client loop
//! without a pause, and none can park it beyond the cap.

/// Reconnection delays for one client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    /// Failures since the last stream that delivered an event.
    pub(crate) failures: u32,
    /// xorshift32 state for the jitter (never 0).
    rng: u32,
}

impl Backoff {
    pub(crate) fn new(seed: u32) -> Self {
        Self { failures: 0, rng: seed.max(1) }
    }

    /// Starts the jitter afresh from `seed`.
    #[cfg_attr(not(feature = "rand_core"), allow(dead_code))]
    pub(crate) fn reseed(&mut self, seed: u32) {
        self.rng = seed.max(1);
    }

    /// The delay before the next attempt. `retry_ms` is the reconnection
    /// time (the server's `retry:`, or the initial one); `delivered` says
    /// whether the connection that just ended delivered an event. A clean
    /// connection waits the reconnection time plus a random part of up to
    /// half of it (the server asked for at least that much); each failure
    /// in a row doubles it and then draws the delay at random from its
    /// upper half.
    pub(crate) fn next_delay(&mut self, retry_ms: u32, delivered: bool, floor_ms: u32, cap_ms: u32) -> u32 {
        let cap = cap_ms.max(floor_ms);
        let base = retry_ms.clamp(floor_ms, cap);
        if delivered {
            self.failures = 0;
            let jitter = self.next_random().checked_rem((base / 2).saturating_add(1)).unwrap_or(0);
            return base.saturating_add(jitter).min(cap);
        }
        self.failures = self.failures.saturating_add(1);
        let doublings = self.failures.saturating_sub(1).min(31);
        let grown = base.checked_shl(doublings).filter(|&d| d >> doublings == base).unwrap_or(cap).min(cap);
        let half = grown / 2;
        let jitter = self.next_random().checked_rem(half.saturating_add(1)).unwrap_or(0);
        half.saturating_add(jitter).clamp(floor_ms.min(cap), cap)
    }

    fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_floor_and_cap() {
        let mut b = Backoff::new(7);
        // `retry: 0` from the server: the floor, and up to half more.
        assert!((500..=750).contains(&b.next_delay(0, true, 500, 60_000)));
        let mut last_upper = 0;
        for n in 1..40 {
            let d = b.next_delay(1_000, false, 500, 60_000);
            let upper = (1_000u64 << (n - 1).min(20)).min(60_000) as u32;
            assert!(d >= upper / 2 && d <= upper, "failure {n}: {d} not in [{}, {upper}]", upper / 2);
            assert!(upper >= last_upper);
            last_upper = upper;
        }
        // A stream that delivers resets the count.
        assert!((1_000..=1_500).contains(&b.next_delay(1_000, true, 500, 60_000)));
        assert_eq!(b.failures, 0);
        // Never beyond the cap.
        assert_eq!(b.next_delay(60_000, true, 500, 60_000), 60_000);
        // A floor above the cap: the floor wins, nothing panics.
        assert_eq!(Backoff::new(1).next_delay(u32::MAX, false, 900, 100), 900);
    }

    #[test]
    fn clients_that_lost_the_same_server_come_back_spread_out() {
        // A hundred devices, each seeded differently, after a clean end.
        let mut delays = [0u32; 100];
        for (seed, delay) in (1u32..).zip(delays.iter_mut()) {
            *delay = Backoff::new(seed.wrapping_mul(0x9e37_79b9)).next_delay(2_000, true, 500, 60_000);
        }
        assert!(delays.iter().all(|d| (2_000..=3_000).contains(d)), "{delays:?}");
        delays.sort_unstable();
        let distinct = 1 + delays.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(distinct > 80, "only {distinct} distinct delays");
    }
}

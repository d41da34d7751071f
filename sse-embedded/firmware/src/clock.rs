//! Time from the LAN9118's free-running 25 MHz counter, extended past its
//! 32-bit wrap (every 171.8 s) by counting wraps.
//!
//! Invariant: `now` must be called at least once per wrap period; the main
//! loop calls it many times a second.

use core::cell::Cell;

use smoltcp::time::Instant;

use crate::lan9118::Lan9118;

/// Ticks per microsecond.
const TICKS_PER_US: u64 = 25;

pub struct Clock {
    last: Cell<u32>,
    high: Cell<u64>,
}

impl Clock {
    pub fn new() -> Self {
        Self { last: Cell::new(0), high: Cell::new(0) }
    }

    pub fn now(&self, chip: &Lan9118) -> Instant {
        let low = chip.free_run();
        if low < self.last.get() {
            self.high.set(self.high.get() + (1 << 32));
        }
        self.last.set(low);
        let ticks = self.high.get() | u64::from(low);
        Instant::from_micros((ticks / TICKS_PER_US) as i64)
    }
}

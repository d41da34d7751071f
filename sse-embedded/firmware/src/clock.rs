//! Time from the LAN9118's free-running 25 MHz counter, extended past its
//! 32-bit wrap (every 171.8 s) by counting wraps.
//!
//! Invariant: `micros` must be called at least once per wrap period; the
//! main loop calls it many times a second.

use core::cell::Cell;

use crate::lan9118::FreeRun;

/// Ticks per microsecond.
const TICKS_PER_US: u64 = 25;

pub struct Clock {
    counter: FreeRun,
    last: Cell<u32>,
    high: Cell<u64>,
}

impl Clock {
    pub fn new(counter: FreeRun) -> Self {
        Self { counter, last: Cell::new(0), high: Cell::new(0) }
    }

    /// Microseconds since the chip started counting.
    pub fn micros(&self) -> u64 {
        let low = self.counter.ticks();
        if low < self.last.get() {
            self.high.set(self.high.get() + (1 << 32));
        }
        self.last.set(low);
        (self.high.get() | u64::from(low)) / TICKS_PER_US
    }
}

//! Sleeping between polls: the CPU waits in WFI until a frame arrives (the
//! LAN9118's interrupt line, IRQ 13 on the mps2-an385) or a deadline
//! passes (SysTick), instead of spinning.
//!
//! Invariant: interrupts stay masked (PRIMASK set) for the whole run, so no
//! handler ever runs: a pending interrupt only ends WFI, and each wake-up
//! clears what it pended. A frame that arrives between the last poll and
//! WFI leaves its interrupt pending, so WFI returns at once: no frame waits
//! for the next deadline.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{NVIC, SCB, SYST};

/// The LAN9118's interrupt line on the mps2-an385.
#[derive(Clone, Copy)]
struct Ethernet;

// SAFETY: 13 is the number of an external interrupt of the mps2-an385's
// NVIC (QEMU's board wires the LAN9118 to it), as the trait requires.
#[allow(unsafe_code)]
unsafe impl InterruptNumber for Ethernet {
    fn number(self) -> u16 {
        13
    }
}

/// CPU clock of the mps2-an385, which SysTick counts.
const CPU_HZ: u64 = 25_000_000;
/// SysTick's reload register has 24 bits: at most 0.67 s per sleep.
const MAX_RELOAD: u64 = 0x00ff_ffff;

pub struct Wake {
    syst: SYST,
}

impl Wake {
    /// Masks interrupts for good, then lets the Ethernet line and SysTick
    /// end WFI.
    pub fn new(mut syst: SYST) -> Self {
        cortex_m::interrupt::disable();
        syst.set_clock_source(SystClkSource::Core);
        syst.enable_interrupt();
        // SAFETY: PRIMASK is set and never cleared, so unmasking the line
        // runs no handler; it only lets the line end WFI.
        #[allow(unsafe_code)]
        unsafe {
            NVIC::unmask(Ethernet)
        };
        Self { syst }
    }

    /// Sleeps until a frame arrives or `micros` have passed (at most
    /// 0.67 s, then the caller polls and sleeps again).
    pub fn sleep(&mut self, micros: u64) {
        let ticks = micros.saturating_mul(CPU_HZ / 1_000_000).clamp(1, MAX_RELOAD);
        self.syst.set_reload(ticks as u32);
        self.syst.clear_current();
        self.syst.enable_counter();
        cortex_m::asm::wfi();
        self.syst.disable_counter();
        SCB::clear_pendst();
        NVIC::unpend(Ethernet);
    }
}

//! The stack's high-water mark, by painting: at boot the `SPAN` bytes
//! below the stack's top that no frame uses yet are filled with a pattern;
//! later, the deepest word that no longer holds it is as far as the stack
//! has grown. Shared by every firmware of the repository; the footprint
//! script reads the marks they print.
//!
//! Invariant: painting writes only below the live stack pointer (memory no
//! frame uses yet); measuring only reads.

use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m_semihosting::hprintln;

/// The pattern.
const PAINT: u32 = 0x5a5a_a5a5;
/// How much of the stack is painted and measured; a mark of `SPAN` means
/// "at least".
const SPAN: usize = 64 * 1024;

// SAFETY: the symbol is the address cortex-m-rt's linker script gives the
// top of the stack; only its address is taken, never its value.
#[allow(unsafe_code)]
unsafe extern "C" {
    /// The top of the stack (cortex-m-rt's linker script).
    static _stack_start: u32;
}

fn top() -> usize {
    (&raw const _stack_start) as usize
}

/// Paints the unused part of the stack; call it first thing at boot.
pub fn paint() {
    let sp = cortex_m::register::msp::read() as usize;
    let bottom = top() - SPAN;
    // Leaves this function's own frame alone.
    let end = sp.saturating_sub(256);
    let mut word = bottom;
    while word < end {
        // SAFETY: `word` is in RAM below the stack pointer and above the
        // static data (the board's RAM is 4 MiB; the statics take well
        // under 4 MiB - 64 KiB), so no live value is there to overwrite.
        #[allow(unsafe_code)]
        unsafe {
            (word as *mut u32).write_volatile(PAINT)
        };
        word += 4;
    }
}

/// The most stack used since `paint`, in bytes.
pub fn high_water() -> usize {
    let mut word = top() - SPAN;
    // SAFETY: reading RAM between the painted bottom and the stack's top.
    #[allow(unsafe_code)]
    while word < top() && unsafe { (word as *const u32).read_volatile() } == PAINT {
        word += 4;
    }
    top() - word
}

/// Prints the mark on the console (`<who>: stack high water N B`) when it
/// grew since the last call.
pub fn report(who: &str) {
    static LAST: AtomicUsize = AtomicUsize::new(0);
    let mark = high_water();
    if mark > LAST.swap(mark, Ordering::Relaxed) {
        hprintln!("{}: stack high water {} B", who, mark);
    }
}

//! The emulated board every QEMU build runs on (the poll firmware, the
//! embassy firmware and the picoserve peer): QEMU's mps2-an385 with its
//! LAN9118 at 0x4020_0000, in QEMU's user-mode network 192.168.70.0/24
//! (the host is .1, the firmware .2).
//!
//! Invariant: the chip is made here once, into its static place; a build
//! that cannot reach it ends QEMU with a message on the console instead
//! of running without a network.

use core::net::Ipv4Addr;

use cortex_m_semihosting::{debug, hprintln};
use static_cell::StaticCell;

use crate::lan9118::Lan9118;

/// The firmware's address.
pub const IP: Ipv4Addr = Ipv4Addr::new(192, 168, 70, 2);
/// QEMU's side of the user-mode network.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 168, 70, 1);
/// The LAN9118's register window.
const LAN9118_BASE: usize = 0x4020_0000;

/// The board's LAN9118, reset and in its static place, and its MAC
/// address; `name` prefixes the console message if it fails.
pub fn lan9118(name: &str) -> (&'static mut Lan9118, [u8; 6]) {
    // SAFETY: 0x4020_0000 is the LAN9118's register window on the
    // mps2-an385, device memory, and this is the only driver made for it
    // (`CHIP` can be initialised once only).
    #[allow(unsafe_code)]
    let chip = unsafe { Lan9118::new(LAN9118_BASE) };
    let chip = chip.unwrap_or_else(|e| fail(name, "no LAN9118", e));
    static CHIP: StaticCell<Lan9118> = StaticCell::new();
    let chip = CHIP.init(chip);
    let mac = chip.mac_address().unwrap_or_else(|e| fail(name, "LAN9118", e));
    (chip, mac)
}

/// Prints what failed and ends QEMU with a failure status.
pub fn fail(name: &str, what: &str, error: impl core::fmt::Debug) -> ! {
    hprintln!("{}: {}: {:?}", name, what, error);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

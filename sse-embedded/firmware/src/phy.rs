//! The LAN9118 lent to smoltcp as a `phy::Device`: one received frame and
//! one frame to send at a time, in the driver's own buffers.
//!
//! Invariant: no register access here; everything goes through `lan9118`.

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::lan9118::{Lan9118, MTU, Regs};

/// A received frame, lent to smoltcp.
pub struct RxToken<'a>(&'a [u8]);

/// Room for one frame to send.
pub struct TxToken<'a> {
    regs: &'a mut Regs,
    buf: &'a mut [u8; MTU],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.buf[..len.min(MTU)];
        let result = f(frame);
        self.regs.transmit(frame);
        result
    }
}

impl Device for Lan9118 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        // Disjoint fields: the received frame and the transmitter are lent
        // at the same time.
        let Self { regs, rx, tx } = self;
        let len = regs.receive(rx)?;
        Some((RxToken(&rx[..len]), TxToken { regs, buf: tx }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { regs: &mut self.regs, buf: &mut self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}

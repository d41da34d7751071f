//! QEMU's mps2-an385 for embassy: embassy-time's clock (the LAN9118's
//! 25 MHz counter) with a timer queue, the LAN9118 as an
//! `embassy-net-driver`, and the executor's loop, which sleeps in WFI until
//! the next timer or a frame, as `sse-firmware`'s poll loop does. Shared
//! with the picoserve peer, so both run on the same board support.
//!
//! Invariant: interrupts stay masked for good (`wake`), so no handler ever
//! runs: the loop polls the executor, fires due timers, wakes the network
//! task after every sleep (a frame may have come), and sleeps only when no
//! task was woken since its last poll. The only `unsafe` is the symbols
//! embassy links against (the time driver and the pender) and the
//! executor's poll from this single thread.

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Waker};

use critical_section::Mutex;
use embassy_executor::raw::Executor;
use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
use embassy_time_queue_utils::Queue;

use crate::clock::Clock;
use crate::lan9118::{Lan9118, MTU, Regs};
use crate::wake::Wake;

/// embassy-time's driver: the clock and the timers due.
struct Time {
    clock: Mutex<RefCell<Option<Clock>>>,
    queue: Mutex<RefCell<Queue>>,
}

impl embassy_time_driver::Driver for Time {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.clock.borrow_ref(cs).as_ref().map_or(0, Clock::micros))
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        // The loop reads the queue before it sleeps.
        critical_section::with(|cs| self.queue.borrow_ref_mut(cs).schedule_wake(at, waker));
    }
}

#[allow(unsafe_code)]
mod driver {
    use super::{Mutex, Queue, RefCell, Time};

    embassy_time_driver::time_driver_impl!(static TIME: Time = Time {
        clock: Mutex::new(RefCell::new(None)),
        queue: Mutex::new(RefCell::new(Queue::new())),
    });

    pub(super) fn time() -> &'static Time {
        &TIME
    }
}

/// Set when a task is woken: the loop polls again instead of sleeping.
static PENDED: AtomicBool = AtomicBool::new(false);

/// The executor's pender: a task was woken.
#[allow(unsafe_code)]
#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    PENDED.store(true, Ordering::Release);
}

/// The network task's waker, parked while no frame waits.
static NET: Mutex<RefCell<Option<Waker>>> = Mutex::new(RefCell::new(None));

/// Starts embassy-time's clock.
pub fn start_clock(clock: Clock) {
    critical_section::with(|cs| *driver::time().clock.borrow_ref_mut(cs) = Some(clock));
}

/// Runs `executor` for ever, sleeping between polls.
pub fn run(executor: &'static Executor, mut wake: Wake) -> ! {
    use embassy_time_driver::Driver;
    let time = driver::time();
    loop {
        PENDED.store(false, Ordering::Release);
        // SAFETY: this loop is the executor's only poller, on the one
        // thread of the firmware, never from an interrupt.
        #[allow(unsafe_code)]
        unsafe {
            executor.poll()
        };
        let now = time.now();
        // Wakes the tasks whose timers are due; their pender sets PENDED.
        let next = critical_section::with(|cs| time.queue.borrow_ref_mut(cs).next_expiration(now));
        if PENDED.load(Ordering::Acquire) {
            continue;
        }
        if next > now {
            wake.sleep(next - now);
        }
        if let Some(waker) = critical_section::with(|cs| NET.borrow_ref_mut(cs).take()) {
            waker.wake();
        }
    }
}

/// The LAN9118 lent to embassy-net.
pub struct Ethernet {
    pub chip: &'static mut Lan9118,
    pub mac: [u8; 6],
}

pub struct Rx<'a>(&'a mut [u8]);

pub struct Tx<'a> {
    regs: &'a mut Regs,
    buf: &'a mut [u8; MTU],
}

impl embassy_net_driver::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl embassy_net_driver::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.buf[..len.min(MTU)];
        let result = f(frame);
        self.regs.transmit(frame);
        result
    }
}

impl embassy_net_driver::Driver for Ethernet {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Rx<'_>, Tx<'_>)> {
        let Lan9118 { regs, rx, tx } = &mut *self.chip;
        // Re-arms the line, so that a frame that comes after this look
        // ends the next sleep.
        regs.ack_interrupt();
        match regs.receive(rx) {
            Some(len) => Some((Rx(&mut rx[..len]), Tx { regs, buf: tx })),
            None => {
                critical_section::with(|cs| *NET.borrow_ref_mut(cs) = Some(cx.waker().clone()));
                None
            }
        }
    }

    fn transmit(&mut self, _cx: &mut Context<'_>) -> Option<Tx<'_>> {
        Some(Tx { regs: &mut self.chip.regs, buf: &mut self.chip.tx })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

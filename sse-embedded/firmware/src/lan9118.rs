//! A polling driver for the SMSC LAN9118 Ethernet controller (as emulated
//! by QEMU on the mps2-an385 board), free of any network stack's types:
//! `phy.rs` lends it to smoltcp (and the picoserve peer in
//! `sse-embedded/picoserve-peer` to embassy-net).
//!
//! Invariant: every register access goes through [`Regs::read`] and
//! [`Regs::write`]: volatile 32-bit accesses inside the chip's 256-byte
//! register window, whose address only [`Lan9118::new`] (an `unsafe fn`)
//! accepts. Frames move word by word through the chip's FIFOs; no DMA. The
//! chip raises its interrupt line when a frame arrives, so that a sleeping
//! CPU wakes; no handler runs (see `wake.rs`). Every wait on the chip is
//! bounded by its free-running counter and ends in [`Error::Timeout`]
//! rather than a spin (a frame that finds no room in the TX FIFO in time
//! is dropped and counted; TCP sends it again), and the TX status FIFO
//! may overrun (`TX_CFG.TXSAO`): this driver never reads it, and on
//! silicon a full status FIFO would otherwise suspend transmission.

/// Register offsets (LAN9118 datasheet, section 5).
mod reg {
    pub const RX_DATA_FIFO: usize = 0x00;
    pub const TX_DATA_FIFO: usize = 0x20;
    pub const RX_STATUS_FIFO: usize = 0x40;
    pub const ID_REV: usize = 0x50;
    pub const IRQ_CFG: usize = 0x54;
    pub const INT_STS: usize = 0x58;
    pub const INT_EN: usize = 0x5c;
    pub const RX_CFG: usize = 0x6c;
    pub const TX_CFG: usize = 0x70;
    pub const HW_CFG: usize = 0x74;
    pub const RX_FIFO_INF: usize = 0x7c;
    pub const TX_FIFO_INF: usize = 0x80;
    pub const FREE_RUN: usize = 0x9c;
    pub const MAC_CSR_CMD: usize = 0xa4;
    pub const MAC_CSR_DATA: usize = 0xa8;
}

/// `TX_CFG` bits.
mod tx_cfg {
    /// The transmitter is on.
    pub const TX_ON: u32 = 1 << 1;
    /// TX Status Allow Overrun: transmission goes on when the TX status
    /// FIFO is full (this driver does not read it).
    pub const TXSAO: u32 = 1 << 2;
}

/// Limits of the waits on the chip, in ticks of its 25 MHz counter.
mod limit {
    /// A MAC CSR access (a few clock cycles on silicon).
    pub const MAC_CSR: u32 = 25_000; // 1 ms
    /// The soft reset (the datasheet's worst case is well under this).
    pub const RESET: u32 = 2_500_000; // 100 ms
    /// Room in the TX data FIFO for one frame: the FIFO drains a full
    /// frame in 1.2 ms at 10 Mbit/s.
    pub const TX_ROOM: u32 = 250_000; // 10 ms
}

/// Indirect MAC registers, reached through `MAC_CSR_CMD`.
mod mac {
    pub const CR: u32 = 1;
    pub const ADDRH: u32 = 2;
    pub const ADDRL: u32 = 3;
    pub const CR_RXEN: u32 = 1 << 2;
    pub const CR_TXEN: u32 = 1 << 3;
    pub const CSR_BUSY: u32 = 1 << 31;
    pub const CSR_READ: u32 = 1 << 30;
}

/// `IRQ_CFG`: interrupt output enabled, active high, push-pull.
const IRQ_ENABLED_ACTIVE_HIGH: u32 = (1 << 8) | (1 << 4) | 1;
/// `INT_STS`/`INT_EN`: the RX status FIFO holds a frame's status.
const RSFL: u32 = 1 << 3;

/// Largest Ethernet frame handled (without the FCS).
pub const MTU: usize = 1514;

/// The `ID_REV` value of a LAN9118.
pub const ID_LAN9118: u32 = 0x0118_0001;

/// Why the chip could not be brought up, or did not answer in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `ID_REV` did not read as a LAN9118.
    NotFound(u32),
    /// The chip did not finish this in time.
    Timeout(Wait),
}

/// What the driver waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A MAC CSR access.
    MacCsr,
    /// The soft reset.
    Reset,
    /// Room in the TX data FIFO.
    TxRoom,
}

/// The chip's register window.
pub struct Regs {
    base: usize,
    /// Frames dropped because the TX FIFO had no room for them in time.
    pub tx_timeouts: u32,
}

impl Regs {
    /// The free-running 25 MHz counter (wraps every 171.8 s).
    pub fn free_run(&self) -> u32 {
        self.read(reg::FREE_RUN)
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is a LAN9118's register window that only this
        // driver accesses (the contract of `Lan9118::new`, the only way to
        // make a `Regs`), and `offset` one of the `reg` constants, all inside
        // it and 4-byte aligned; MMIO must be read volatile.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::read_volatile((self.base + offset) as *const u32)
        }
    }

    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        #[allow(unsafe_code)]
        unsafe {
            core::ptr::write_volatile((self.base + offset) as *mut u32, value)
        }
    }

    /// Waits until `done` holds, at most `limit` counter ticks.
    fn wait(&self, limit: u32, what: Wait, done: impl Fn(&Self) -> bool) -> Result<(), Error> {
        let start = self.free_run();
        loop {
            if done(self) {
                return Ok(());
            }
            if self.free_run().wrapping_sub(start) > limit {
                return Err(Error::Timeout(what));
            }
        }
    }

    fn mac_wait(&self) -> Result<(), Error> {
        self.wait(limit::MAC_CSR, Wait::MacCsr, |r| r.read(reg::MAC_CSR_CMD) & mac::CSR_BUSY == 0)
    }

    fn mac_write(&mut self, register: u32, value: u32) -> Result<(), Error> {
        self.mac_wait()?;
        self.write(reg::MAC_CSR_DATA, value);
        self.write(reg::MAC_CSR_CMD, mac::CSR_BUSY | register);
        self.mac_wait()
    }

    fn mac_read(&mut self, register: u32) -> Result<u32, Error> {
        self.mac_wait()?;
        self.write(reg::MAC_CSR_CMD, mac::CSR_BUSY | mac::CSR_READ | register);
        self.mac_wait()?;
        Ok(self.read(reg::MAC_CSR_DATA))
    }

    /// Moves one received frame, if any, into `rx`; returns its length
    /// without the FCS. Bad or oversized frames are read out and dropped.
    pub fn receive(&mut self, rx: &mut [u8; MTU + 4]) -> Option<usize> {
        while (self.read(reg::RX_FIFO_INF) >> 16) & 0xff != 0 {
            let status = self.read(reg::RX_STATUS_FIFO);
            // The length includes the 4-byte FCS; the data is padded to words.
            let length = ((status >> 16) & 0x3fff) as usize;
            let error = status & (1 << 15) != 0;
            let keep = !error && (18..=MTU + 4).contains(&length);
            for i in 0..length.div_ceil(4) {
                let word = self.read(reg::RX_DATA_FIFO).to_le_bytes();
                if keep && let Some(dst) = rx.get_mut(i * 4..i * 4 + 4) {
                    dst.copy_from_slice(&word);
                }
            }
            if keep {
                return Some(length - 4);
            }
        }
        None
    }

    /// Whether a received frame waits in the FIFO.
    pub fn rx_pending(&self) -> bool {
        (self.read(reg::RX_FIFO_INF) >> 16) & 0xff != 0
    }

    /// Acknowledges the frame-received interrupt (the chip raises it again
    /// for the next frame).
    pub fn ack_interrupt(&mut self) {
        self.write(reg::INT_STS, RSFL);
    }

    /// Sends `frame` (at most `MTU` bytes) as one frame; if the TX FIFO
    /// has no room for it within [`limit::TX_ROOM`], drops it and counts
    /// it in `tx_timeouts`.
    pub fn transmit(&mut self, frame: &[u8]) {
        if self.try_transmit(frame).is_err() {
            self.tx_timeouts = self.tx_timeouts.wrapping_add(1);
        }
    }

    fn try_transmit(&mut self, frame: &[u8]) -> Result<(), Error> {
        let len = frame.len().min(MTU);
        // Wait for room: the frame and its two command words.
        let room = (len + 8) as u32;
        self.wait(limit::TX_ROOM, Wait::TxRoom, |r| (r.read(reg::TX_FIFO_INF) & 0xffff) >= room)?;
        let command_a = (1 << 13) | (1 << 12) | len as u32; // first and last segment
        let command_b = len as u32;
        self.write(reg::TX_DATA_FIFO, command_a);
        self.write(reg::TX_DATA_FIFO, command_b);
        for chunk in frame[..len].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write(reg::TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        Ok(())
    }
}

/// The controller: its registers and one frame buffer each way.
pub struct Lan9118 {
    pub regs: Regs,
    pub rx: [u8; MTU + 4],
    pub tx: [u8; MTU],
}

impl Lan9118 {
    /// Resets the chip at `base`, enables its receiver and transmitter,
    /// and its interrupt line for received frames (active high). The
    /// receiver is enabled first: QEMU drops frames while it is off.
    ///
    /// # Safety
    /// `base` must be the address of a LAN9118's 256-byte register window,
    /// mapped as device memory, and nothing else may access that window
    /// while the returned driver or a [`FreeRun`] made from it exists.
    #[allow(unsafe_code)]
    pub unsafe fn new(base: usize) -> Result<Self, Error> {
        let mut regs = Regs { base, tx_timeouts: 0 };
        let id = regs.read(reg::ID_REV);
        if id != ID_LAN9118 {
            return Err(Error::NotFound(id));
        }
        regs.write(reg::HW_CFG, 1); // soft reset
        regs.wait(limit::RESET, Wait::Reset, |r| r.read(reg::HW_CFG) & 1 == 0)?;
        regs.write(reg::RX_CFG, 0); // no offset, no end padding
        regs.mac_write(mac::CR, mac::CR_RXEN)?;
        regs.mac_write(mac::CR, mac::CR_RXEN | mac::CR_TXEN)?;
        regs.write(reg::TX_CFG, tx_cfg::TX_ON | tx_cfg::TXSAO);
        regs.write(reg::INT_STS, u32::MAX);
        regs.write(reg::INT_EN, RSFL);
        regs.write(reg::IRQ_CFG, IRQ_ENABLED_ACTIVE_HIGH);
        Ok(Self { regs, rx: [0; MTU + 4], tx: [0; MTU] })
    }

    /// The station address the chip was given (by QEMU's `-nic`).
    ///
    /// # Errors
    /// [`Error::Timeout`] if the MAC does not answer.
    pub fn mac_address(&mut self) -> Result<[u8; 6], Error> {
        let low = self.regs.mac_read(mac::ADDRL)?.to_le_bytes();
        let high = self.regs.mac_read(mac::ADDRH)?.to_le_bytes();
        Ok([low[0], low[1], low[2], low[3], high[0], high[1]])
    }

    /// A handle that reads only the free-running counter, for a clock that
    /// lives apart from the driver.
    pub fn counter(&self) -> FreeRun {
        FreeRun { base: self.regs.base }
    }
}

/// Read access to the free-running counter of a chip found by
/// [`Lan9118::new`].
#[derive(Clone, Copy)]
pub struct FreeRun {
    base: usize,
}

impl FreeRun {
    /// The counter's value (25 MHz, wraps every 171.8 s).
    pub fn ticks(&self) -> u32 {
        Regs { base: self.base, tx_timeouts: 0 }.free_run()
    }
}

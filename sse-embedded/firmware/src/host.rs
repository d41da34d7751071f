//! What the firmware learns from the host through semihosting: a value
//! that differs on every boot, and the sensor's period from the command
//! line. Shared by the poll and the embassy firmware.
//!
//! Invariant: each call is one semihosting request that only returns a
//! value or fills a buffer this module owns.

/// A value that differs on every boot: the host's clock in seconds, read
/// through semihosting (a device would use its RTC, a boot counter in
/// flash, or its RNG).
pub fn boot_epoch() -> u32 {
    // SAFETY: SYS_TIME takes no parameter block and only returns a value;
    // the firmware runs with semihosting on (it prints through it too).
    #[allow(unsafe_code)]
    let seconds = unsafe { cortex_m_semihosting::syscall1(cortex_m_semihosting::nr::TIME, 0) };
    seconds as u32
}

/// The sensor's period in milliseconds: 250, or `period-ms=N` from the
/// semihosting command line (the QEMU tests read faster, to fill a stalled
/// client's path in seconds rather than minutes).
pub fn sensor_period_ms() -> u64 {
    let mut text = [0u8; 96];
    let block = core::cell::UnsafeCell::new([text.as_mut_ptr() as usize, text.len()]);
    // SAFETY: SYS_GET_CMDLINE writes at most `text.len()` bytes into
    // `text` and the length into the block, which lives in an UnsafeCell
    // for that write; both outlive the call.
    #[allow(unsafe_code)]
    let failed = unsafe { cortex_m_semihosting::syscall(cortex_m_semihosting::nr::GET_CMDLINE, &block) } != 0;
    let len = block.into_inner()[1].min(text.len());
    let line = if failed { &[][..] } else { &text[..len] };
    line.split(|&b| b == b' ')
        .find_map(|word| word.strip_prefix(b"period-ms="))
        .and_then(|digits| core::str::from_utf8(digits).ok()?.parse().ok())
        .filter(|&ms| ms > 0)
        .unwrap_or(250)
}

//! Logging shim: `defmt` or `log`, never both, nothing when neither.

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("sse-embedded: enable at most one of the features `defmt` and `log`");

#[allow(unused_macros)]
macro_rules! log_debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::debug!($($arg)*);
        #[cfg(feature = "log")]
        log::debug!($($arg)*);
    }};
}

#[allow(unused_macros)]
macro_rules! log_warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "defmt")]
        defmt::warn!($($arg)*);
        #[cfg(feature = "log")]
        log::warn!($($arg)*);
    }};
}

#[allow(unused_imports)]
pub(crate) use {log_debug, log_warn};

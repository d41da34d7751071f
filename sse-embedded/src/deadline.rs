//! Deadlines for the async variants: a future raced against the caller's
//! timer (any `embedded_hal_async::delay::DelayNs`).
//!
//! Invariant: the work is polled first, so work that is ready wins over a
//! deadline that is ready in the same poll. Both futures are pinned where
//! they are made, in the caller's future: a function taking them by value
//! would hold each twice (its argument, and the pinned copy), which on a
//! device is per connection.

/// Runs `work` unless `deadline` completes first (`None` then).
macro_rules! within {
    ($work:expr, $deadline:expr) => {{
        let mut work = core::pin::pin!($work);
        let mut deadline = core::pin::pin!($deadline);
        core::future::poll_fn(|cx| {
            if let core::task::Poll::Ready(output) = core::future::Future::poll(work.as_mut(), cx) {
                return core::task::Poll::Ready(Some(output));
            }
            match core::future::Future::poll(deadline.as_mut(), cx) {
                core::task::Poll::Ready(_) => core::task::Poll::Ready(None),
                core::task::Poll::Pending => core::task::Poll::Pending,
            }
        })
        .await
    }};
}

/// Runs `work` unless `ms` (an `Option<u32>`) pass on `timer` first
/// (`None` then); without a limit, to its end. (The client's; the server
/// also races its source's end, in `conn`.)
#[cfg_attr(not(feature = "client"), allow(unused_macros))]
macro_rules! bounded {
    ($work:expr, $timer:expr, $ms:expr) => {{
        let ms: Option<u32> = $ms;
        let timer = $timer;
        crate::deadline::within!($work, async move {
            match ms {
                Some(ms) => embedded_hal_async::delay::DelayNs::delay_ms(timer, ms).await,
                None => core::future::pending::<()>().await,
            }
        })
    }};
}

#[cfg(feature = "client")]
pub(crate) use bounded;
pub(crate) use within;

//! Deadlines for the async variants: a future raced against the caller's
//! timer (any `embedded_hal_async::delay::DelayNs`).
//!
//! Invariant: the work is polled first, so work that is ready wins over a
//! deadline that is ready in the same poll.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embedded_hal_async::delay::DelayNs;

/// Runs `work` unless `deadline` completes first (`None` then).
pub(crate) async fn within<F: Future, D: Future>(work: F, deadline: D) -> Option<F::Output> {
    let mut work = pin!(work);
    let mut deadline = pin!(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Runs `work` unless `ms` pass on `timer` first (`None` then); without a
/// limit, to its end.
pub(crate) async fn bounded<F: Future, T: DelayNs>(
    work: F,
    timer: &mut T,
    ms: Option<u32>,
) -> Option<F::Output> {
    match ms {
        Some(ms) => within(work, timer.delay_ms(ms)).await,
        None => Some(work.await),
    }
}

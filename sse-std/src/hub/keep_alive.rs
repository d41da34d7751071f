//! The keep-alive timer of one subscriber.
//!
//! Invariant: the timer is made on the first idle poll (so a subscriber can
//! be made and dropped outside a tokio runtime), and polling it outside a
//! runtime never panics: without a runtime there is simply no keep-alive.
//! Inside a tokio runtime the timer needs tokio's time driver
//! (`enable_time` or `enable_all`), as every tokio timer does.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

pub(crate) struct KeepAlive {
    period: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

/// `period` from now, saturating (a huge period means "not for a year").
pub(crate) fn deadline(period: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(period).or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600))).unwrap_or(now)
}

impl KeepAlive {
    pub(crate) fn new(period: Duration) -> Self {
        Self { period, sleep: None }
    }

    /// Real traffic was sent: the next comment is a period from now.
    pub(crate) fn reset(&mut self) {
        if let Some(sleep) = self.sleep.as_mut() {
            sleep.as_mut().reset(deadline(self.period));
        }
    }

    /// `Ready` when a comment is due (and the timer starts over).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.sleep.is_none() {
            if tokio::runtime::Handle::try_current().is_err() {
                return Poll::Pending;
            }
            self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline(self.period))));
        }
        let Some(sleep) = self.sleep.as_mut() else { return Poll::Pending };
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                sleep.as_mut().reset(deadline(self.period));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

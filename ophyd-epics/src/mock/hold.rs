//! Puts held until a test lets them complete: [`PutHold`].

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::__private::lock;
use tokio::sync::watch;

use super::pv::PvState;

/// Where the puts held by a [`PutHold`] stand.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum HoldState {
    Holding,
    Released,
    Failed(String),
}

/// The completion of a put held by the hold `held` belongs to: done when
/// the hold ends, failed with its reason if it was failed.
pub(super) fn completion(mut held: watch::Receiver<HoldState>) -> BoxFuture<'static, Result<(), String>> {
    async move {
        // A hold dropped without a word releases its puts.
        let ended = held.wait_for(|h| *h != HoldState::Holding).await.map(|h| h.clone());
        match ended {
            Ok(HoldState::Failed(reason)) => Err(reason),
            _ => Ok(()),
        }
    }
    .boxed()
}

/// Puts to a mock PV held until the test lets them complete, from
/// [`MockIoc::hold_puts`](super::MockIoc::hold_puts) (ophyd-async's
/// `set_mock_put_proceeds` and `mock_puts_blocked`). Each put that arrives
/// while it lasts is stored at once, but its completion (the put-callback a
/// `put_complete` signal waits for) waits for [`PutHold::release`] or
/// [`PutHold::fail`]. Dropping it releases them: a test that fails half-way
/// leaves nothing waiting.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> ophyd_core::Result<()> {
/// use std::time::Duration;
/// use ophyd_core::prelude::*;
/// use ophyd_epics::{mock::MockIoc, EpicsSignal};
/// let mock = MockIoc::new();
/// let acquire = EpicsSignal::<i32>::new("det:acquire", "acquire").with_put_complete(true);
/// acquire.connect(&mock.transport()).await?;
///
/// let hold = mock.hold_puts(&acquire);
/// let status = acquire.set(1);
/// tokio::time::sleep(Duration::from_secs(5)).await; // on the paused clock: at once
/// assert!(!status.done(), "the IOC has not completed the put");
/// hold.release();
/// status.await?;
///
/// let hold = mock.hold_puts(&acquire);
/// let status = acquire.set(1);
/// hold.fail("detector fault");
/// assert!(status.await.unwrap_err().to_string().contains("detector fault"));
/// # Ok(()) }
/// ```
#[must_use = "dropping a PutHold releases its puts at once"]
pub struct PutHold {
    state: Arc<PvState>,
    signal: String,
    sender: Option<watch::Sender<HoldState>>,
}

impl PutHold {
    pub(super) fn start(state: Arc<PvState>, signal: &str) -> PutHold {
        let (sender, receiver) = watch::channel(HoldState::Holding);
        *lock(&state.hold) = Some(receiver);
        PutHold { state, signal: signal.to_owned(), sender: Some(sender) }
    }

    /// Let every held put complete, successfully, and stop holding.
    pub fn release(mut self) {
        self.end(HoldState::Released);
    }

    /// Complete every held put with a failure, `reason` as the IOC's
    /// (the client's Status fails naming the PV and the reason), and stop
    /// holding: an aborted acquisition, a motor fault.
    pub fn fail(mut self, reason: &str) {
        self.end(HoldState::Failed(reason.to_owned()));
    }

    fn end(&mut self, how: HoldState) {
        let Some(sender) = self.sender.take() else { return };
        {
            let mut hold = lock(&self.state.hold);
            // A later hold of the same PV may have taken over: leave it be.
            if hold.as_ref().is_some_and(|receiver| receiver.same_channel(&sender.subscribe())) {
                *hold = None;
            }
        }
        sender.send_replace(how);
    }
}

impl Drop for PutHold {
    fn drop(&mut self) {
        self.end(HoldState::Released);
    }
}

impl std::fmt::Debug for PutHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PutHold(`{}`: {})", self.signal, self.state.name)
    }
}

//! Control of a run from outside it: pause, resume, abort, and Ctrl-C.

use std::sync::Arc;

use ophyd_core::Interrupt;
use tokio::sync::watch;

/// What the run has been asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Carry on.
    Run,
    /// Pause at the next point boundary.
    Pause,
    /// Stop, clean up, and end with exit status `abort`.
    Abort(String),
}

/// A handle to steer a run from another task or thread. Cheap to clone.
///
/// ```
/// use ophyd_run::{Request, RunControl};
/// let control = RunControl::new();
/// control.pause();
/// assert_eq!(control.request(), Request::Pause);
/// control.resume();
/// control.abort("beam lost");
/// assert_eq!(control.request(), Request::Abort("beam lost".into()));
/// ```
#[derive(Clone, Debug)]
pub struct RunControl {
    request: Arc<watch::Sender<Request>>,
    interrupt: Interrupt,
}

impl Default for RunControl {
    fn default() -> Self {
        RunControl::new()
    }
}

impl RunControl {
    /// A control asking to run.
    pub fn new() -> RunControl {
        RunControl { request: Arc::new(watch::Sender::new(Request::Run)), interrupt: Interrupt::new() }
    }

    /// The current request.
    pub fn request(&self) -> Request {
        self.request.borrow().clone()
    }

    /// Ask the run to pause at the next point boundary (ignored once aborted).
    pub fn pause(&self) {
        self.request.send_if_modified(|r| {
            let change = *r == Request::Run;
            if change {
                *r = Request::Pause;
            }
            change
        });
    }

    /// Ask a paused run to go on (ignored once aborted).
    pub fn resume(&self) {
        self.request.send_if_modified(|r| {
            let change = *r == Request::Pause;
            if change {
                *r = Request::Run;
            }
            change
        });
    }

    /// Ask the run to stop now and clean up; it ends with exit status `abort`.
    pub fn abort(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.request.send_if_modified(|r| {
            let change = !matches!(r, Request::Abort(_));
            if change {
                *r = Request::Abort(reason);
            }
            change
        });
    }

    /// Ready a control for the next run: a finished run's abort does not
    /// carry over. The run engine calls it when a run ends.
    pub fn reset(&self) {
        self.request.send_replace(Request::Run);
        self.interrupt.reset();
    }

    /// The interrupt the run's cleanup listens to: each press skips the
    /// cleanup step in progress (a stuck unstage) and ends the waiting for
    /// unreachable PVs; it also knows what is still changed.
    pub fn cleanup_interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Resolves with the reason once an abort is requested.
    pub async fn aborted(&self) -> String {
        let mut rx = self.request.subscribe();
        let r = rx.wait_for(|r| matches!(r, Request::Abort(_))).await.expect("the sender lives in self");
        match &*r {
            Request::Abort(reason) => reason.clone(),
            _ => unreachable!("waited for an abort"),
        }
    }

    /// Resolves when the run may go on (`Ok`) or must stop (`Err(reason)`).
    pub async fn proceed(&self) -> Result<(), String> {
        let mut rx = self.request.subscribe();
        let r = rx.wait_for(|r| *r != Request::Pause).await.expect("the sender lives in self");
        match &*r {
            Request::Abort(reason) => Err(reason.clone()),
            _ => Ok(()),
        }
    }

    /// Wire Ctrl-C to this control, as bluesky's RunEngine does: the first
    /// Ctrl-C pauses the run, a second one (while paused) aborts it. Call
    /// [`RunControl::resume`] or [`RunControl::abort`] to answer a pause.
    /// Once aborted, a Ctrl-C skips the cleanup step in progress (every
    /// other restore is still attempted, and what could not be put back is
    /// reported); one more exits the program at once (status 130), printing
    /// what is still changed. The returned task runs until the program ends.
    pub fn abort_on_ctrl_c(&self) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                match control.request() {
                    Request::Run => {
                        eprintln!("\nCtrl-C: pausing at the next point (Ctrl-C again to abort)");
                        control.pause();
                    }
                    Request::Pause => {
                        eprintln!("\nCtrl-C again: aborting");
                        control.abort("interrupted by Ctrl-C");
                    }
                    Request::Abort(_) if control.interrupt.count() == 0 => {
                        eprintln!("\nCtrl-C: skipping the cleanup step in progress (Ctrl-C again exits at once)");
                        control.interrupt.interrupt();
                    }
                    Request::Abort(_) => {
                        eprintln!("\nCtrl-C again: exiting before the cleanup finished");
                        for left in control.interrupt.unrestored() {
                            eprintln!("  not put back: {left}");
                        }
                        std::process::exit(130);
                    }
                }
            }
        })
    }
}

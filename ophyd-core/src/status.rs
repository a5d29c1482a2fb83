//! [`Status`]: one operation in flight.
//!
//! A `Status` is cheap to clone (all clones share one state) and can be
//! awaited, polled with [`Status::done`], waited on with a timeout, and given
//! callbacks. It is finished either by whoever holds it (a transport's put
//! callback, the tutorial's `callback=status._finished`) or by a future
//! ([`Status::from_future`]).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::sync::lock;

type Callback = Box<dyn FnOnce(&Result<()>) + Send>;
type ProgressWatcher = Arc<dyn Fn(f64, f64) + Send + Sync>;

struct Inner {
    what: String,
    result: watch::Sender<Option<Result<()>>>,
    callbacks: Mutex<Vec<Callback>>,
    progress: Mutex<Progress>,
}

/// The latest `(done, total)` and who wants to hear of the next.
type Progress = (Option<(f64, f64)>, Vec<ProgressWatcher>);

/// An operation in flight: done or not, and once done, success or an error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ophyd_core::Status;
/// let status = Status::new("acquisition");
/// let finish = status.finisher();          // hand this to a put callback
/// assert!(!status.done());
/// finish(Ok(()));
/// assert!(status.done() && status.success());
/// status.await.unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct Status {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Status").field("what", &self.inner.what).field("result", &*self.inner.result.borrow()).finish()
    }
}

impl Status {
    /// A status not yet done. `what` names the operation in errors
    /// (`"trigger of triggered_detector"`).
    pub fn new(what: impl Into<String>) -> Status {
        Status {
            inner: Arc::new(Inner {
                what: what.into(),
                result: watch::Sender::new(None),
                callbacks: Mutex::new(Vec::new()),
                progress: Mutex::new((None, Vec::new())),
            }),
        }
    }

    /// A status that is already done and succeeded.
    pub fn finished(what: impl Into<String>) -> Status {
        let s = Status::new(what);
        s.set_finished();
        s
    }

    /// A status that is already done and failed with `error`.
    pub fn failed(what: impl Into<String>, error: Error) -> Status {
        let s = Status::new(what);
        s.set_exception(error);
        s
    }

    /// A status finished by `future`, which runs on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn from_future<F>(what: impl Into<String>, future: F) -> Status
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let status = Status::new(what);
        let finisher = FinishOnDrop(status.clone());
        tokio::spawn(async move {
            let result = future.await;
            finisher.0.finish(result);
        });
        status
    }

    /// What this status is about.
    pub fn what(&self) -> &str {
        &self.inner.what
    }

    /// Whether the operation has finished, successfully or not.
    pub fn done(&self) -> bool {
        self.inner.result.borrow().is_some()
    }

    /// Whether the operation finished successfully.
    pub fn success(&self) -> bool {
        matches!(*self.inner.result.borrow(), Some(Ok(())))
    }

    /// The outcome, once done.
    pub fn result(&self) -> Option<Result<()>> {
        self.inner.result.borrow().clone()
    }

    /// Mark the operation done and successful. Returns whether this call
    /// finished it (a status finishes once; later calls change nothing).
    pub fn set_finished(&self) -> bool {
        self.finish(Ok(()))
    }

    /// Mark the operation failed. Returns whether this call finished it.
    pub fn set_exception(&self, error: Error) -> bool {
        self.finish(Err(error))
    }

    /// Finish with `result`. Returns whether this call finished the status.
    pub fn finish(&self, result: Result<()>) -> bool {
        let first = self.inner.result.send_if_modified(|slot| {
            if slot.is_some() {
                return false;
            }
            *slot = Some(result);
            true
        });
        if first {
            let callbacks = std::mem::take(&mut *lock(&self.inner.callbacks));
            let outcome = self.inner.result.borrow().clone().expect("just set");
            for cb in callbacks {
                self.run_callback(cb, &outcome);
            }
        }
        first
    }

    /// Run one callback; one that panics is logged and does not keep the
    /// others (a `Status::all` waiting on this one, say) from running.
    fn run_callback(&self, callback: Callback, outcome: &Result<()>) {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(outcome)));
        if ran.is_err() {
            tracing::error!(status = %self.inner.what, "a callback of the status panicked");
        }
    }

    /// A callback that finishes this status: the Rust form of ophyd's
    /// `callback=status._finished`.
    pub fn finisher(&self) -> impl FnOnce(Result<()>) + Send + 'static {
        let status = self.clone();
        move |result| {
            status.finish(result);
        }
    }

    /// Run `callback` when the status finishes (at once if it already has).
    pub fn add_callback(&self, callback: impl FnOnce(&Result<()>) + Send + 'static) {
        let mut callbacks = lock(&self.inner.callbacks);
        let outcome = self.inner.result.borrow().clone();
        match outcome {
            Some(outcome) => {
                drop(callbacks);
                self.run_callback(Box::new(callback), &outcome);
            }
            None => callbacks.push(Box::new(callback)),
        }
    }

    /// Report how far the operation has come: `done` out of `total` (a
    /// distance moved out of the distance to move, frames out of frames).
    pub fn report_progress(&self, done: f64, total: f64) {
        let watchers = {
            let mut progress = lock(&self.inner.progress);
            progress.0 = Some((done, total));
            progress.1.clone()
        };
        for watcher in watchers {
            watcher(done, total);
        }
    }

    /// The latest progress reported, as `(done, total)`.
    pub fn progress(&self) -> Option<(f64, f64)> {
        lock(&self.inner.progress).0
    }

    /// Call `watcher(done, total)` on every progress report (at once with
    /// the latest, if any). A progress bar hangs off this.
    pub fn on_progress(&self, watcher: impl Fn(f64, f64) + Send + Sync + 'static) {
        let latest = {
            let mut progress = lock(&self.inner.progress);
            progress.1.push(Arc::new(watcher));
            progress.0.map(|latest| (latest, progress.1.last().cloned().expect("just pushed")))
        };
        if let Some(((done, total), watcher)) = latest {
            watcher(done, total);
        }
    }

    /// Wait until done, at most `timeout`. A timeout is an error naming this
    /// status; the operation itself goes on.
    pub async fn wait(&self, timeout: Duration) -> Result<()> {
        match tokio::time::timeout(timeout, self.wait_forever()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { what: self.inner.what.clone(), after: timeout }),
        }
    }

    async fn wait_forever(&self) -> Result<()> {
        let mut rx = self.inner.result.subscribe();
        let outcome = rx.wait_for(Option::is_some).await.expect("the sender lives in self");
        outcome.clone().expect("waited for Some")
    }

    /// Fail this status with a timeout error if it is not done within
    /// `timeout`. Returns the same status, for chaining.
    pub fn with_timeout(self, timeout: Duration) -> Status {
        self.fail_after(timeout);
        self
    }

    /// Fail this status with a timeout error naming it if it is not done
    /// within `timeout` (measured in real time, by one thread that keeps
    /// every status's deadline: cheap enough for every write).
    pub fn fail_after(&self, timeout: Duration) {
        if !self.done() {
            let inner: Arc<dyn crate::deadline::Expire> = self.inner.clone();
            crate::deadline::fail_after(Arc::downgrade(&inner), timeout);
        }
    }

    /// A status that finishes `settle` after this one does, with its
    /// outcome: ophyd's `settle_time`, for hardware that needs a moment.
    pub fn with_settle_time(self, settle: Duration) -> Status {
        let what = self.inner.what.clone();
        Status::from_future(what, async move {
            let result = self.wait_forever().await;
            tokio::time::sleep(settle).await;
            result
        })
    }

    /// A status that finishes when all of `statuses` have succeeded, or
    /// fails with the first failure among them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use ophyd_core::Status;
    /// let (a, b) = (Status::new("a"), Status::new("b"));
    /// let both = Status::all("a and b", [a.clone(), b.clone()]);
    /// a.set_finished();
    /// assert!(!both.done());
    /// b.set_finished();
    /// assert!(both.success());
    /// # }
    /// ```
    pub fn all(what: impl Into<String>, statuses: impl IntoIterator<Item = Status>) -> Status {
        let all = Status::new(what);
        let statuses: Vec<Status> = statuses.into_iter().collect();
        let remaining = Arc::new(Mutex::new(statuses.len()));
        if statuses.is_empty() {
            all.set_finished();
        }
        for s in statuses {
            let all = all.clone();
            let remaining = remaining.clone();
            s.add_callback(move |outcome| match outcome {
                Ok(()) => {
                    let mut left = lock(&remaining);
                    *left -= 1;
                    if *left == 0 {
                        all.set_finished();
                    }
                }
                Err(e) => {
                    all.set_exception(e.clone());
                }
            });
        }
        all
    }
}

/// Finishes its status with [`Error::Cancelled`] if dropped before the
/// status is done: a task that panicked or whose runtime shut down must not
/// leave its waiters hanging.
struct FinishOnDrop(Status);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finish(Err(Error::Cancelled { what: self.0.inner.what.clone() }));
    }
}

impl std::ops::BitAnd for Status {
    type Output = Status;
    /// Both: ophyd's `status_a & status_b`.
    fn bitand(self, rhs: Status) -> Status {
        let what = format!("{} and {}", self.inner.what, rhs.inner.what);
        Status::all(what, [self, rhs])
    }
}

impl IntoFuture for Status {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.wait_forever().await })
    }
}

impl<'a> IntoFuture for &'a Status {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait_forever())
    }
}

impl crate::deadline::Expire for Inner {
    fn done(&self) -> bool {
        self.result.borrow().is_some()
    }

    fn expire(self: Arc<Self>, after: Duration) {
        let status = Status { inner: self };
        let what = status.inner.what.clone();
        status.set_exception(Error::Timeout { what, after });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn status_finishes_once_and_keeps_its_first_outcome() {
        let s = Status::new("op");
        assert!(s.set_finished());
        assert!(!s.set_exception(Error::Cancelled { what: "op".into() }));
        assert!(s.success());
    }

    #[tokio::test]
    async fn callbacks_run_on_finish_and_immediately_when_already_done() {
        let count = Arc::new(AtomicUsize::new(0));
        let s = Status::new("op");
        let c = count.clone();
        s.add_callback(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 0);
        s.set_finished();
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let c = count.clone();
        s.add_callback(move |r| {
            assert!(r.is_ok());
            c.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn wait_with_timeout_names_what_timed_out() {
        let s = Status::new("acquisition of det");
        let err = s.wait(Duration::from_millis(10)).await.unwrap_err();
        assert!(matches!(&err, Error::Timeout { what, .. } if what == "acquisition of det"), "{err}");
        assert!(err.to_string().contains("acquisition of det"));
        assert!(!s.done(), "a wait timeout leaves the operation running");
    }

    #[tokio::test]
    async fn with_timeout_fails_the_status_itself() {
        let s = Status::new("move").with_timeout(Duration::from_millis(10));
        let err = (&s).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }));
        assert!(s.done() && !s.success());
    }

    #[tokio::test]
    async fn from_future_reports_the_futures_error() {
        let s = Status::from_future("op", async { Err(Error::Failed { what: "op".into(), reason: "boom".into() }) });
        assert!(s.clone().await.is_err());
        assert!(!s.success());
    }

    #[tokio::test]
    async fn a_status_whose_future_panics_fails_instead_of_hanging() {
        let s = Status::from_future("op", async { panic!("the operation crashed") });
        let err = s.wait(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    }

    #[tokio::test]
    async fn all_fails_with_the_first_failure() {
        let (a, b) = (Status::new("a"), Status::new("b"));
        let both = a.clone() & b.clone();
        b.set_exception(Error::Failed { what: "b".into(), reason: "no".into() });
        assert!(both.done() && !both.success());
        a.set_finished();
        assert!(!both.success());
    }

    #[tokio::test]
    async fn progress_reaches_watchers_added_before_and_after() {
        let s = Status::new("move");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let w = seen.clone();
        s.on_progress(move |done, total| w.lock().unwrap().push((done, total)));
        s.report_progress(1.0, 4.0);
        let w = seen.clone();
        s.on_progress(move |done, total| w.lock().unwrap().push((done, total)));
        s.report_progress(4.0, 4.0);
        assert_eq!(*seen.lock().unwrap(), [(1.0, 4.0), (1.0, 4.0), (4.0, 4.0), (4.0, 4.0)]);
        assert_eq!(s.progress(), Some((4.0, 4.0)));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_time_delays_done() {
        let s = Status::new("move");
        let settled = s.clone().with_settle_time(Duration::from_millis(500));
        s.set_finished();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!settled.done());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(settled.success());
    }
}

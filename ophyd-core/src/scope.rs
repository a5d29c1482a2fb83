//! Guaranteed cleanup: stage devices, run code, and unstage them whatever
//! happens — success, error, panic, or the future being dropped. The Rust
//! form of the RunEngine's promise that `unstage()` is called.
//!
//! [`StageGuard`] holds the one copy of this promise: the run engine
//! (`ophyd-run`) and [`staged`] both clean up through it. Every step (one
//! device's stage, unstage or stop) is bounded by a timeout
//! ([`CleanupPolicy`], or the device's own [`StepTimeouts`]); an
//! [`Interrupt`] (Ctrl-C) skips the step in progress; restores that failed
//! because a PV was unreachable are retried until it comes back, within a
//! grace period; and what could not be put back is reported with its
//! original value, for a person to restore by hand.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// tokio's clock, so that a paused clock (in tests) governs the deadlines
// as it does the sleeps.
use tokio::time::Instant;

use futures::FutureExt;
use tokio::sync::watch;

use crate::component::DynDevice;
use crate::error::{Error, Result, Unrestored};
use crate::meta::DeviceMeta;
use crate::policy::{CleanupPolicy, StepTimeouts};
use crate::sync::lock;

/// How often restores that failed on a lost connection are retried.
const RETRY_PERIOD: Duration = Duration::from_millis(250);

/// A person's request to get out of a cleanup that is stuck: each
/// [`Interrupt::interrupt`] skips the step in progress, and stops the
/// waiting for PVs to come back. Cheap to clone; clones share the state.
/// `ophyd-run` presses it on Ctrl-C during a run's cleanup.
///
/// ```
/// use ophyd_core::Interrupt;
/// let interrupt = Interrupt::new();
/// interrupt.interrupt();
/// assert_eq!(interrupt.count(), 1);
/// assert!(interrupt.unrestored().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    inner: Arc<InterruptState>,
}

#[derive(Debug, Default)]
struct InterruptState {
    count: watch::Sender<u64>,
    unrestored: Mutex<Vec<Unrestored>>,
}

impl Interrupt {
    /// An interrupt nobody has pressed.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Skip the step in progress, and stop waiting for PVs to come back.
    pub fn interrupt(&self) {
        self.inner.count.send_modify(|n| *n += 1);
    }

    /// How many times it was pressed since it was made or [`reset`](Self::reset).
    pub fn count(&self) -> u64 {
        *self.inner.count.borrow()
    }

    /// What the last cleanup using this interrupt knew to be still changed
    /// (updated after each step): what to print when a person exits before
    /// the cleanup ends.
    pub fn unrestored(&self) -> Vec<Unrestored> {
        lock(&self.inner.unrestored).clone()
    }

    /// Forget the presses and the report (before the next run).
    pub fn reset(&self) {
        self.inner.count.send_replace(0);
        lock(&self.inner.unrestored).clear();
    }

    /// Resolves once pressed more than `seen` times.
    async fn pressed_after(&self, seen: u64) {
        let mut rx = self.inner.count.subscribe();
        // The sender lives in `self`.
        let _ = rx.wait_for(|n| *n > seen).await;
    }

    fn record(&self, unrestored: Vec<Unrestored>) {
        *lock(&self.inner.unrestored) = unrestored;
    }
}

/// Whether `device` is `other` or one of its sub-devices.
fn within(device: &Arc<DeviceMeta>, other: &Arc<DeviceMeta>) -> bool {
    let mut at = Some(device);
    while let Some(meta) = at {
        if Arc::ptr_eq(meta, other) {
            return true;
        }
        at = meta.parent();
    }
    false
}

/// The devices of `devices` that their parents do not already cover: each
/// device once (identified by its metadata, not its address: a parent and
/// its first sub-device share an address), and no sub-device of another
/// listed device (staging the parent stages it). Order is kept.
pub fn top_level_devices<'a>(devices: &[&'a dyn DynDevice]) -> Vec<&'a dyn DynDevice> {
    let mut out: Vec<&'a dyn DynDevice> = Vec::with_capacity(devices.len());
    for (i, d) in devices.iter().enumerate() {
        let covered = devices.iter().enumerate().any(|(j, other)| {
            let same = Arc::ptr_eq(d.meta(), other.meta());
            (same && j < i) || (!same && within(d.meta(), other.meta()))
        });
        if !covered {
            out.push(*d);
        }
    }
    out
}

/// Devices staged by [`StageGuard::stage`]; put back by
/// [`StageGuard::unstage`] or [`StageGuard::finish`], or, if the guard is
/// dropped without that (an early return, a panic, a cancelled future),
/// by its `Drop`.
///
/// Cleanup stops the devices marked [`moved`](StageGuard::moved), then
/// unstages every staged device in reverse order, attempting every step
/// even when one fails, each step bounded by its timeout and skipped by an
/// [`Interrupt`]. Restores that failed because a PV was unreachable are
/// retried until it comes back or the policy's grace period ends.
///
/// `Drop` cannot await, so it cleans up on a helper thread with its own
/// small runtime and waits for it: the devices are back as they were when
/// the drop returns, even if the caller's runtime is shutting down. The
/// helper never waits for a staging lock another task holds (that task
/// may need the blocked thread to go on: it is left to that task), and
/// every step it takes is bounded by its timeout (the drop may still take
/// as long as the step timeouts and the reconnect grace allow).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::{prelude::*, StageGuard};
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "omitted", stage = 1)]
///     enabled: SoftSignal<i32>,
/// }
/// let det = Det::new("", "det");
/// let guard = StageGuard::stage(&[&det]).await?;
/// assert_eq!(det.enabled.get().await?, 1);
/// guard.unstage().await?;
/// assert_eq!(det.enabled.get().await?, 0);
/// # Ok(()) }
/// ```
#[must_use = "dropping the guard unstages the devices at once"]
pub struct StageGuard<'a> {
    /// Staged (or being staged), in order; a device leaves once unstaged.
    staged: Vec<&'a dyn DynDevice>,
    /// To stop before unstaging; a device leaves once its stop was tried.
    moved: Vec<&'a dyn DynDevice>,
    policy: CleanupPolicy,
    interrupt: Interrupt,
    armed: bool,
}

impl<'a> StageGuard<'a> {
    /// Stage `devices` in order with the default [`CleanupPolicy`]. If one
    /// fails, those already staged are unstaged (in reverse) before the
    /// error is returned.
    pub async fn stage(devices: &[&'a dyn DynDevice]) -> Result<StageGuard<'a>> {
        StageGuard::stage_with(devices, CleanupPolicy::default(), Interrupt::new()).await
    }

    /// [`StageGuard::stage`] with a policy and an interrupt of the caller's.
    /// A device listed twice, or listed with its parent, is staged once
    /// (by its parent).
    pub async fn stage_with(
        devices: &[&'a dyn DynDevice],
        policy: CleanupPolicy,
        interrupt: Interrupt,
    ) -> Result<StageGuard<'a>> {
        let devices = top_level_devices(devices);
        let mut guard =
            StageGuard { staged: Vec::with_capacity(devices.len()), moved: Vec::new(), policy, interrupt, armed: true };
        for device in devices {
            // Recorded first: a stage dropped or timed out half-way is undone.
            guard.staged.push(device);
            let timeout = guard.timeouts(device).stage;
            let seen = guard.interrupt.count();
            let staging =
                step(device.stage_dyn(), timeout, || format!("stage of `{}`", device.name()), &guard.interrupt, seen);
            if let Err(e) = staging.await {
                if matches!(e, Error::RedundantStaging { .. } | Error::PartiallyStaged { .. }) {
                    guard.staged.pop(); // staged by someone else: theirs to unstage
                }
                let cleanup = guard.finish(false).await;
                return Err(match cleanup {
                    Ok(()) => e,
                    Err(c) => e.with(vec![c]),
                });
            }
        }
        Ok(guard)
    }

    /// The devices staged, in order (each once; sub-devices of listed
    /// devices are their parents').
    pub fn devices(&self) -> &[&'a dyn DynDevice] {
        &self.staged
    }

    /// Stop `device` at cleanup, before unstaging (a motor the run moved).
    pub fn moved(&mut self, device: &'a dyn DynDevice) {
        if !self.moved.iter().any(|m| Arc::ptr_eq(m.meta(), device.meta())) {
            self.moved.push(device);
        }
    }

    /// Stop what moved (`success = true`) and unstage every device in
    /// reverse order; see [`StageGuard::finish`].
    pub async fn unstage(self) -> Result<()> {
        self.finish(true).await
    }

    /// Clean up: stop the devices that moved (telling them whether the
    /// work ended well), unstage every device in reverse order, retry
    /// restores that failed on a lost connection within the grace period.
    /// Every step is attempted; the error ([`Error::Cleanup`]) lists every
    /// failure and every value still changed.
    pub async fn finish(mut self, success: bool) -> Result<()> {
        let outcome = self.clean_up(success).await;
        // Disarmed only now: if this future is dropped half-way, `Drop`
        // finishes the job (a no-op for what is already done).
        self.armed = false;
        outcome
    }

    /// [`StageGuard::finish`] from code that cannot await (a `Drop`): on a
    /// helper thread with its own runtime, blocking this thread until done.
    pub fn finish_blocking(mut self, success: bool) -> Result<()> {
        self.armed = false;
        let what = format!(
            "cleanup of {}",
            self.staged.iter().map(|d| format!("`{}`", d.name())).collect::<Vec<_>>().join(", ")
        );
        let this = &mut self;
        let outcome = std::thread::scope(|s| {
            s.spawn(move || {
                crate::staging::never_wait_for_staging_locks();
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                runtime.map(|rt| rt.block_on(this.clean_up(success))).map_err(|e| e.to_string())
            })
            .join()
        });
        let reason = match outcome {
            Ok(Ok(cleaned)) => return cleaned,
            Ok(Err(no_runtime)) => format!("no runtime to run it on: {no_runtime}"),
            Err(_) => "it panicked".to_owned(),
        };
        let unrestored = self.unrestored();
        Err(Error::Cleanup { failures: vec![Error::Failed { what, reason }], unrestored })
    }

    /// What the staged devices still have changed, as far as they know.
    fn unrestored(&self) -> Vec<Unrestored> {
        self.staged.iter().rev().flat_map(|d| crate::staging::unrestored(*d)).collect()
    }

    fn timeouts(&self, device: &dyn DynDevice) -> StepTimeouts {
        device.meta().step_timeouts().unwrap_or(self.policy.timeouts)
    }

    async fn clean_up(&mut self, success: bool) -> Result<()> {
        let start = self.interrupt.count();
        let mut failures = Vec::new();
        while let Some(m) = self.moved.first().copied() {
            let seen = self.interrupt.count();
            let stop = step(
                m.stop_dyn(success),
                self.timeouts(m).stop,
                || format!("stop of `{}`", m.name()),
                &self.interrupt,
                seen,
            );
            if let Err(e) = stop.await {
                failures.push(e);
            }
            self.moved.remove(0);
        }
        let mut errors = self.unstage_pass().await;
        let deadline = Instant::now() + self.policy.reconnect_grace;
        while errors.iter().any(|(_, e)| e.is_disconnection()) && self.interrupt.count() == start {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tracing::info!(devices = errors.len(), "cleanup: waiting for unreachable PVs to come back");
            tokio::select! {
                _ = tokio::time::sleep(RETRY_PERIOD.min(left)) => {}
                _ = self.interrupt.pressed_after(start) => break,
            }
            errors = self.unstage_pass().await;
        }
        failures.extend(errors.into_iter().map(|(_, e)| e));
        let unrestored = self.unrestored();
        self.interrupt.record(unrestored.clone());
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Cleanup { failures, unrestored })
        }
    }

    /// Unstage, in reverse order, every device not yet unstaged; a device
    /// leaves the list once its unstage succeeds. Returns the failures.
    async fn unstage_pass(&mut self) -> Vec<(usize, Error)> {
        let mut errors = Vec::new();
        for i in (0..self.staged.len()).rev() {
            let d = self.staged[i];
            let seen = self.interrupt.count();
            let unstage = step(
                d.unstage_dyn(),
                self.timeouts(d).unstage,
                || format!("unstage of `{}`", d.name()),
                &self.interrupt,
                seen,
            );
            match unstage.await {
                Ok(()) => {
                    self.staged.remove(i);
                }
                Err(e) => errors.push((i, e)),
            }
            self.interrupt.record(self.unrestored());
        }
        errors
    }
}

/// One step of staging or cleanup: `work`, bounded by `timeout`, skipped
/// when `interrupt` is pressed (again) after `seen` presses.
async fn step(
    work: impl Future<Output = Result<()>>,
    timeout: Duration,
    what: impl Fn() -> String,
    interrupt: &Interrupt,
    seen: u64,
) -> Result<()> {
    tokio::select! {
        outcome = tokio::time::timeout(timeout, work) => {
            outcome.unwrap_or_else(|_| Err(Error::Timeout { what: what(), after: timeout }))
        }
        _ = interrupt.pressed_after(seen) => Err(Error::Cancelled { what: format!("{} (skipped by an interrupt)", what()) }),
    }
}

impl Drop for StageGuard<'_> {
    fn drop(&mut self) {
        if !self.armed || (self.staged.is_empty() && self.moved.is_empty()) {
            return;
        }
        let guard = StageGuard {
            staged: std::mem::take(&mut self.staged),
            moved: std::mem::take(&mut self.moved),
            policy: self.policy,
            interrupt: self.interrupt.clone(),
            armed: false,
        };
        match guard.finish_blocking(false) {
            Ok(()) => tracing::debug!("staged scope dropped; devices unstaged"),
            Err(e) => tracing::error!(error = %e, "staged scope dropped; cleanup failed"),
        }
    }
}

/// Stage `devices`, run `body`, and unstage them on success, error, panic
/// (the panic then continues) and cancellation (this future dropped).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ophyd_core::prelude::*;
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "omitted", stage = 1)]
///     enabled: SoftSignal<i32>,
/// }
/// let det = Det::new("", "det");
/// let seen = ophyd_core::staged(&[&det], || async { det.enabled.get().await }).await.unwrap();
/// assert_eq!(seen, 1);                              // staged inside
/// assert_eq!(det.enabled.get().await.unwrap(), 0);  // put back after
/// # }
/// ```
pub fn staged<'a, T, F, Fut>(devices: &[&'a dyn DynDevice], body: F) -> impl Future<Output = Result<T>> + 'a
where
    F: FnOnce() -> Fut + 'a,
    Fut: Future<Output = Result<T>> + 'a,
    T: 'a,
{
    let devices = devices.to_vec();
    async move {
        let guard = StageGuard::stage(&devices).await?;
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(body)) {
            Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        let cleanup = guard.unstage().await;
        match outcome {
            Ok(Ok(value)) => cleanup.map(|()| value),
            Ok(Err(e)) => Err(match cleanup {
                Ok(()) => e,
                Err(c) => e.with(vec![c]),
            }),
            Err(panic) => {
                if let Err(e) = cleanup {
                    tracing::error!(error = %e, "unstaging after a panic failed");
                }
                std::panic::resume_unwind(panic)
            }
        }
    }
}

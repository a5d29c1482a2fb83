//! Guaranteed cleanup: stage devices, run code, and unstage them whatever
//! happens — success, error, panic, or the future being dropped. The Rust
//! form of the RunEngine's promise that `unstage()` is called.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::component::DynDevice;
use crate::error::{Error, Result};

/// Devices staged by [`StageGuard::stage`]; unstaged by
/// [`StageGuard::unstage`], or, if the guard is dropped without that (an
/// early return, a panic, a cancelled future), by its `Drop`.
///
/// `Drop` cannot await, so it unstages on a helper thread with its own
/// small runtime and waits for it: the devices are back as they were when
/// the drop returns, even if the caller's runtime is shutting down. The
/// calling thread is blocked meanwhile, so a hand-written `unstage` must not
/// wait on a task of the caller's runtime (the transports here complete
/// writes from their own threads or from tasks of the runtime they run on).
#[must_use = "dropping the guard unstages the devices at once"]
pub struct StageGuard<'a> {
    devices: Vec<&'a dyn DynDevice>,
    armed: bool,
}

impl<'a> StageGuard<'a> {
    /// Stage `devices` in order. If one fails, those already staged are
    /// unstaged (in reverse) before the error is returned.
    pub async fn stage(devices: &[&'a dyn DynDevice]) -> Result<StageGuard<'a>> {
        let mut guard = StageGuard { devices: Vec::with_capacity(devices.len()), armed: true };
        for device in devices {
            if guard.devices.iter().any(|d| std::ptr::addr_eq(*d, *device)) {
                continue; // listed twice: staged once, as bluesky does
            }
            // Recorded first: a stage dropped half-way is unstaged by `Drop`.
            guard.devices.push(*device);
            if let Err(e) = device.stage_dyn().await {
                if matches!(e, Error::RedundantStaging { .. } | Error::PartiallyStaged { .. }) {
                    guard.devices.pop(); // staged by someone else: theirs to unstage
                }
                let cleanup = guard.unstage().await;
                return Err(with_cleanup(e, cleanup));
            }
        }
        Ok(guard)
    }

    /// Unstage every device in reverse order, attempting all; every failure
    /// is reported.
    pub async fn unstage(mut self) -> Result<()> {
        let outcome = unstage_all(&self.devices).await;
        // Disarmed only now: if this future is dropped half-way, `Drop`
        // unstages again (a no-op for what is already unstaged).
        self.armed = false;
        outcome
    }
}

impl Drop for StageGuard<'_> {
    fn drop(&mut self) {
        if !self.armed || self.devices.is_empty() {
            return;
        }
        let devices = &self.devices;
        let outcome = std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                match rt {
                    Ok(rt) => rt.block_on(unstage_all(devices)),
                    Err(e) => Err(Error::Failed { what: "unstage on drop".into(), reason: e.to_string() }),
                }
            })
            .join()
        });
        match outcome {
            Ok(Ok(())) => tracing::debug!("staged scope dropped; devices unstaged"),
            Ok(Err(e)) => tracing::error!(error = %e, "staged scope dropped; unstaging failed"),
            Err(_) => tracing::error!("staged scope dropped; unstaging panicked"),
        }
    }
}

async fn unstage_all(devices: &[&dyn DynDevice]) -> Result<()> {
    let mut errors = Vec::new();
    for device in devices.iter().rev() {
        if let Err(e) = device.unstage_dyn().await {
            errors.push(e);
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.pop().expect("one error")),
        _ => Err(Error::Many(errors)),
    }
}

fn with_cleanup(error: Error, cleanup: Result<()>) -> Error {
    match cleanup {
        Ok(()) => error,
        Err(c) => Error::Many(vec![error, c]),
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
            Ok(Err(e)) => Err(with_cleanup(e, cleanup)),
            Err(panic) => {
                if let Err(e) = cleanup {
                    tracing::error!(error = %e, "unstaging after a panic failed");
                }
                std::panic::resume_unwind(panic)
            }
        }
    }
}

//! How long the steps of staging and cleanup may take: [`StepTimeouts`]
//! per device, [`CleanupPolicy`] per run or staged scope.

use std::time::Duration;

/// How long one device's `stage()`, `unstage()` and `stop()` may take in a
/// run or a staged scope. A step that takes longer is abandoned (a stage
/// then counts as failed; an unstage leaves what it had not put back
/// recorded and reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepTimeouts {
    /// One device's `stage()`.
    pub stage: Duration,
    /// One device's `unstage()`.
    pub unstage: Duration,
    /// One device's `stop()`.
    pub stop: Duration,
}

impl Default for StepTimeouts {
    /// 60 s to stage or unstage (each `stage_sigs` write has 10 s of its
    /// own), 10 s to stop.
    fn default() -> Self {
        StepTimeouts { stage: Duration::from_secs(60), unstage: Duration::from_secs(60), stop: Duration::from_secs(10) }
    }
}

/// How a run or a staged scope cleans up: how long each step may take (a
/// device's own [`StepTimeouts`] win over these), and how long restores
/// that failed because a PV was unreachable are retried, waiting for it to
/// come back (an IOC rebooting mid-run).
///
/// ```
/// use std::time::Duration;
/// use ophyd_core::CleanupPolicy;
/// let policy = CleanupPolicy { reconnect_grace: Duration::from_secs(120), ..CleanupPolicy::default() };
/// assert_eq!(policy.timeouts.stop, Duration::from_secs(10));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Timeouts of each device's steps, unless the device has its own.
    pub timeouts: StepTimeouts,
    /// How long to keep retrying restores that failed on a lost
    /// connection (cut short by an interrupt).
    pub reconnect_grace: Duration,
}

impl Default for CleanupPolicy {
    /// [`StepTimeouts::default`] and 30 s of reconnect grace.
    fn default() -> Self {
        CleanupPolicy { timeouts: StepTimeouts::default(), reconnect_grace: Duration::from_secs(30) }
    }
}

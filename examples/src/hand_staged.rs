//! The tutorial's first variant: `stage` and `unstage` written by hand,
//! storing the previous `enabled` value and calling the default
//! implementation (Python's `super().stage()`).

use std::sync::Mutex;

use ophyd_core::prelude::*;
use ophyd_core::{Error, Result};
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

/// A detector that requires triggering.
#[derive(Device)]
#[device(custom(stage, trigger))]
pub struct TriggeredDetector {
    /// Gain.
    #[component(suffix = ":gain", kind = "config")]
    pub gain: EpicsSignal<f64>,
    /// Exposure time, in seconds.
    #[component(suffix = ":exposure_time", kind = "config")]
    pub exposure_time: EpicsSignal<f64>,
    /// The reading, new after each acquisition.
    #[component(suffix = ":reading", kind = "normal")]
    pub reading: EpicsSignalRO<f64>,
    /// Start an acquisition; the put completes when it is done.
    #[component(suffix = ":acquire", kind = "omitted", put_complete)]
    pub acquire: EpicsSignal<Enum>,
    /// Whether the detector accepts triggers.
    #[component(suffix = ":enabled", kind = "omitted")]
    pub enabled: EpicsSignal<Enum>,
    /// `enabled` as it was before `stage`, to put back on `unstage`.
    initial_enabled_state: Mutex<Option<Enum>>,
}

impl Trigger for TriggeredDetector {
    /// Trigger the detector and return a Status: the tutorial's
    /// `self.acquire.put(1, callback=status._finished)`.
    fn trigger(&self) -> Status {
        let status = Status::new(format!("trigger of {}", self.name()));
        self.acquire.put_with_callback(1, status.finisher());
        status
    }
}

impl Stage for TriggeredDetector {
    /// Set the stage, storing the previous value for later.
    ///
    /// Unlike the Python original, a second `stage` is refused before
    /// anything is touched: Python overwrites `initial_enabled_state` with
    /// the staged value first, so the following `unstage` cannot restore.
    async fn stage(&self) -> Result<()> {
        if self.initial_enabled_state.lock().expect("not poisoned").is_some() {
            return Err(Error::RedundantStaging { device: self.name().to_owned() });
        }
        let initial = self.enabled.get().await?;
        *self.initial_enabled_state.lock().expect("not poisoned") = Some(initial);
        set_and_wait(&self.enabled, 1).await?;
        self.stage_default().await
    }

    /// Restore the previously saved state.
    async fn unstage(&self) -> Result<()> {
        let ret = self.unstage_default().await;
        let initial = self.initial_enabled_state.lock().expect("not poisoned").clone();
        if let Some(initial) = initial {
            set_and_wait(&self.enabled, initial).await?;
            *self.initial_enabled_state.lock().expect("not poisoned") = None;
        }
        ret
    }
}

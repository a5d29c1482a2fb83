//! The tutorial's third variant: `stage_sigs`, plus `stop`, `pause` and
//! `resume`, which the run machinery calls. This one records the calls, so
//! a person (or a test) can see when they happened.

use std::sync::Mutex;

use ophyd_core::prelude::*;
use ophyd_core::Result;
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

/// A detector that requires triggering, and says when it is stopped,
/// paused and resumed.
#[derive(Device)]
#[device(custom(trigger, stop))]
pub struct TriggeredDetector {
    /// Gain.
    #[component(suffix = ":gain", kind = "config")]
    pub gain: EpicsSignal<f64>,
    /// Exposure time, in seconds.
    #[component(suffix = ":exposure_time", kind = "config")]
    pub exposure_time: EpicsSignal<f64>,
    /// The reading; hinted for plotting.
    #[component(suffix = ":reading", kind = "hinted")]
    pub reading: EpicsSignalRO<f64>,
    /// Start an acquisition; the put completes when it is done.
    #[component(suffix = ":acquire", kind = "omitted", put_complete)]
    pub acquire: EpicsSignal<Enum>,
    /// Whether the detector accepts triggers; staged to 1.
    #[component(suffix = ":enabled", kind = "omitted", stage = 1)]
    pub enabled: EpicsSignal<Enum>,
    /// The calls to stop/pause/resume, in order.
    calls: Mutex<Vec<String>>,
}

impl TriggeredDetector {
    /// The stop/pause/resume calls so far, in order (`"stop(success=true)"`).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("not poisoned").clone()
    }

    fn record(&self, call: String) {
        tracing::info!(device = self.name(), "{call}");
        self.calls.lock().expect("not poisoned").push(call);
    }
}

impl Trigger for TriggeredDetector {
    fn trigger(&self) -> Status {
        self.acquire.set(1)
    }
}

impl Stop for TriggeredDetector {
    /// Called when a run ends, well or not.
    async fn stop(&self, success: bool) -> Result<()> {
        self.record(format!("stop(success={success})"));
        Ok(())
    }

    /// Called when the run is paused.
    async fn pause(&self) -> Result<()> {
        self.record("pause()".into());
        Ok(())
    }

    /// Called when the run resumes.
    async fn resume(&self) -> Result<()> {
        self.record("resume()".into());
        Ok(())
    }
}

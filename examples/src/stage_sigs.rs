//! The tutorial's second variant: no hand-written staging, just
//! `stage_sigs` (`self.stage_sigs['enabled'] = 1`), declared on the field.

use ophyd_core::prelude::*;
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

/// A detector that requires triggering.
#[derive(Device)]
#[device(custom(trigger))]
pub struct TriggeredDetector {
    /// Gain.
    #[component(suffix = ":gain", kind = "config")]
    pub gain: EpicsSignal<f64>,
    /// Exposure time, in seconds.
    #[component(suffix = ":exposure_time", kind = "config")]
    pub exposure_time: EpicsSignal<f64>,
    /// The reading, new after each acquisition; hinted for plotting.
    #[component(suffix = ":reading", kind = "hinted")]
    pub reading: EpicsSignalRO<f64>,
    /// Start an acquisition; the put completes when it is done.
    #[component(suffix = ":acquire", kind = "omitted", put_complete)]
    pub acquire: EpicsSignal<Enum>,
    /// Whether the detector accepts triggers; staged to 1.
    #[component(suffix = ":enabled", kind = "omitted", stage = 1)]
    pub enabled: EpicsSignal<Enum>,
}

impl Trigger for TriggeredDetector {
    /// Trigger the detector: the Status finishes when the IOC reports the
    /// acquisition's put as complete.
    fn trigger(&self) -> Status {
        self.acquire.set(1)
    }
}

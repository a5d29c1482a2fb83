use std::sync::Arc;

use ophyd_core::{DerivedSignalRO, Device};
use ophyd_epics::EpicsSignal;

fn gap(top: f64, bottom: f64) -> f64 {
    top - bottom
}

#[derive(Device)]
struct Slit {
    #[component(suffix = ":top")]
    top: Arc<EpicsSignal<f64>>,
    #[component(suffix = ":bottom")]
    bottom: EpicsSignal<f64>,
    #[component(derived(from(top, bottom), raw_to_derived = gap))]
    gap: DerivedSignalRO<f64>,
}

fn main() {}

use std::sync::Arc;

use ophyd_core::{DerivedSignal, DerivedSignalRO, Device};
use ophyd_epics::EpicsSignal;

fn millimetres(metres: f64) -> f64 {
    metres * 1000.0
}

fn metres(millimetres: f64, _current: f64) -> f64 {
    millimetres / 1000.0
}

#[derive(Device)]
struct Stage {
    #[component(suffix = ":x")]
    x: Arc<EpicsSignal<f64>>,
    #[component(derived(from(x), raw_to_derived = millimetres))]
    x_mm: DerivedSignal<f64>,
    #[component(derived(from(x), raw_to_derived = millimetres, derived_to_raw = metres))]
    x_mm_ro: DerivedSignalRO<f64>,
}

fn main() {}

use std::sync::Arc;

use ophyd_core::{DerivedSignalRO, Device, DeviceVector};
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

fn double(x: f64) -> f64 {
    2.0 * x
}

#[derive(Device)]
struct Scaler {
    #[component(suffix = ".S1", pv = "{prefix}.S1")]
    clock: EpicsSignalRO<i32>,
    #[component(suffix = ":", vector(count = 4, suffix = ".S{}"))]
    channels: DeviceVector<EpicsSignalRO<i32>>,
    #[component(vector(count = 4, suffix = ".PR{}"), stage = 1)]
    presets: DeviceVector<EpicsSignal<i32>>,
    #[component(suffix = ".TP")]
    preset_time: Arc<EpicsSignal<f64>>,
    #[component(suffix = ".TP2", put_complete, derived(from(preset_time), raw_to_derived = double))]
    doubled: DerivedSignalRO<f64>,
}

fn main() {}

use ophyd_core::{Device, DeviceVector};
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

#[derive(Device)]
struct Scaler {
    #[component(vector(suffix = ".S{}"))]
    channels: DeviceVector<EpicsSignalRO<i32>>,
    #[component(vector(count = 32, suffix = ".NM"))]
    names: DeviceVector<EpicsSignal<String>>,
    #[component(vector(count = 32, suffix = ".PR{n}"))]
    presets: DeviceVector<EpicsSignal<i32>>,
    #[component(vector(cout = 32, suffix = ".G{}"))]
    gates: DeviceVector<EpicsSignal<i32>>,
    #[component(vector(count = 0, suffix = ".T{}"))]
    times: DeviceVector<EpicsSignal<f64>>,
    #[component(vector(count = 2, suffix = ".U{}", attr = "u.{}"))]
    units: DeviceVector<EpicsSignal<String>>,
}

fn main() {}

use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":gain", kind = "confg")]
    gain: EpicsSignal<f64>,
    #[component(suffix = ":exposure_time", knd = "config")]
    exposure_time: EpicsSignal<f64>,
    #[component(suffix = 5)]
    reading: EpicsSignal<f64>,
}

fn main() {}

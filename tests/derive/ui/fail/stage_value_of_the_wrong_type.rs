use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":exposure_time", stage = "fast")]
    exposure_time: EpicsSignal<f64>,
}

fn main() {}

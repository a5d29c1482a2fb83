use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":reading", kind = "hint")]
    reading: EpicsSignal<f64>,
}

fn main() {}

use ophyd_core::Device;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":reading", stage = 1.0)]
    reading: EpicsSignalRO<f64>,
}

fn main() {}

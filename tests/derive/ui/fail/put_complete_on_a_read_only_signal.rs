use ophyd_core::Device;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":reading", put_complete)]
    reading: EpicsSignalRO<f64>,
}

fn main() {}

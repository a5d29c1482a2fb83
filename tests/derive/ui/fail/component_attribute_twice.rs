use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":gain")]
    #[component(kind = "config")]
    gain: EpicsSignal<f64>,
}

fn main() {}

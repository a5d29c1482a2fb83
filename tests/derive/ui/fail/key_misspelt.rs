use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(sufix = ":gain", kind = "config")]
    gain: EpicsSignal<f64>,
}

fn main() {}

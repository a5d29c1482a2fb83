use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":gain")]
    gain: EpicsSignal<f64>,
    #[component(suffix = ":count")]
    count: u32,
}

fn main() {}

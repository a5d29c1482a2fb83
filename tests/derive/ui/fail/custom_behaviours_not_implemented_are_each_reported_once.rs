use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
#[device(custom(stage, trigger, stop))]
struct Detector {
    #[component(suffix = ":gain")]
    gain: EpicsSignal<f64>,
}

fn main() {}

use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector<'a> {
    #[component(suffix = ":gain")]
    gain: EpicsSignal<f64>,
    label: &'a str,
}

fn main() {}

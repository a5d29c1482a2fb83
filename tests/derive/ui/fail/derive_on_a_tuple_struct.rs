use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector(EpicsSignal<f64>);

fn main() {}

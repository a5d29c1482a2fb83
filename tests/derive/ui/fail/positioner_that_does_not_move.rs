use ophyd_core::Device;
use ophyd_epics::EpicsSignal;

// `positioner` says the device implements `Positioner`; this one does not.
#[derive(Device)]
#[device(positioner)]
struct Stage {
    #[component(suffix = ":SP")]
    setpoint: EpicsSignal<f64>,
}

fn main() {}

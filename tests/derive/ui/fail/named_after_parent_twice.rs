use ophyd_core::Device;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Motor {
    #[component(suffix = ".RBV", kind = "hinted", named_after_parent)]
    readback: EpicsSignalRO<f64>,
    #[component(suffix = ".DRBV", named_after_parent)]
    dial_readback: EpicsSignalRO<f64>,
}

fn main() {}

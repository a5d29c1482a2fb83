use ophyd_core::Device;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Scaler {
    #[component(vector(count = 32, suffix = ".S{}", attr = "chan{}"), kind = "hinted")]
    channels: EpicsSignalRO<i32>,
}

fn main() {}

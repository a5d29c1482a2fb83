use ophyd_core::{Device, DeviceVector};
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Scaler {
    #[component(kind = "hinted")]
    channels: DeviceVector<EpicsSignalRO<i32>>,
}

fn main() {}

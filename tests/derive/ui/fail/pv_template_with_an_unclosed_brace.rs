use ophyd_core::Device;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Channel {
    #[component(pv = "{prefix.S1")]
    counts: EpicsSignalRO<i32>,
}

fn main() {}

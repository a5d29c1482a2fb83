use ophyd_core::Device;
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

#[derive(Device)]
struct Channel {
    #[component(pv = "{prefix}.S{chn}", kind = "hinted")]
    counts: EpicsSignalRO<i32>,
    #[component(pv = "{prefix}.NM{gain}")]
    label: EpicsSignal<String>,
    #[component(suffix = ".G1")]
    gain: EpicsSignal<f64>,
    #[component(pv = "{prefix}.PR{}")]
    preset: EpicsSignal<i32>,
    ch: u32,
}

fn main() {}

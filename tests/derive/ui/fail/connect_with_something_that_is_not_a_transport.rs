use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":gain")]
    gain: EpicsSignal<f64>,
}

async fn connect(det: &Detector) {
    let _ = det.connect(&"trigger_with_pc:").await;
}

fn main() {
    let _ = connect;
}

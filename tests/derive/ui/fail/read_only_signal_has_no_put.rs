use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignalRO;

#[derive(Device)]
struct Detector {
    #[component(suffix = ":reading")]
    reading: EpicsSignalRO<f64>,
}

async fn write(det: &Detector) {
    let _ = det.reading.put(1.0).await;
}

fn main() {
    let _ = write;
}

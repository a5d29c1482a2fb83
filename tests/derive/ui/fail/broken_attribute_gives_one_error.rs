use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
#[device(custom(trigger))]
struct Detector {
    #[component(suffix = ":acquire", kind = "omited")]
    acquire: EpicsSignal<Enum>,
    #[component(suffix = ":reading", kind = "hinted")]
    reading: EpicsSignal<f64>,
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        self.acquire.set(1)
    }
}

async fn use_it(det: &Detector) -> ophyd_core::Result<()> {
    det.stage().await?;
    det.trigger().await?;
    let _ = det.read().await?;
    det.unstage().await
}

fn main() {
    let _ = use_it;
}

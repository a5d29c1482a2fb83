// Python's habit: override `trigger` (and `stage`, `stop`) by just writing
// them. Here the derive must be told, with `#[device(custom(...))]`; the
// conflict names the marker that says so.
use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct Scaler {
    #[component(suffix = ".CNT", kind = "omitted", put_complete)]
    count: EpicsSignal<Enum>,
}

impl Trigger for Scaler {
    fn trigger(&self) -> Status {
        self.count.set(1)
    }
}

impl Stage for Scaler {}

impl Stop for Scaler {}

fn main() {}

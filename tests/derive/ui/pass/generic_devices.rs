//! Generic devices: over the signal type, and over the value type.

use ophyd_core::prelude::*;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsValue};

/// An axis whose position is any component.
#[derive(Device)]
pub struct Axis<P> {
    #[component(suffix = ":pos", kind = "hinted")]
    pub position: P,
    #[component(suffix = ":moving", kind = "omitted")]
    pub moving: EpicsSignalRO<i32>,
}

/// A setpoint of any EPICS value type, staged to its default.
#[derive(Device)]
pub struct Setpoint<T: EpicsValue> {
    #[component(suffix = ":SP")]
    pub setpoint: EpicsSignal<T>,
    #[component(suffix = ":RBV")]
    pub readback: EpicsSignalRO<T>,
}

#[derive(Device)]
pub struct Stage2 {
    #[component(suffix = ":X")]
    pub x: Axis<EpicsSignal<f64>>,
    #[component(suffix = ":Y")]
    pub y: Axis<SoftSignal<f64>>,
    #[component(suffix = ":T")]
    pub temperature: Setpoint<f32>,
    #[component(suffix = ":N")]
    pub name: Setpoint<String>,
}

fn main() {
    let s = Stage2::new("BL", "stage");
    assert_eq!(s.x.position.read_pv(), "BL:X:pos");
    assert_eq!(s.hints().fields, ["stage_x_position", "stage_y_position"]);
    assert_eq!(s.temperature.setpoint.write_pv(), "BL:T:SP");
}

//! A beamline's own devices for bluesky: the `my_beamline` Python module.
//!
//! The devices are declared as for any ophyd-rs program; one
//! [`python_module!`](ophyd_rs::python_module) call makes each a Python
//! class that bluesky's `RunEngine` drives as it drives ophyd devices:
//!
//! ```python
//! import my_beamline
//! ioc = my_beamline.CaTransport()
//! thermometer = my_beamline.Thermometer("XF:31ID-ES{TM:1}", name="thermometer")
//! controller = my_beamline.TemperatureController("XF:31ID-ES{TC:1}", name="controller")
//! thermometer.connect(ioc); controller.connect(ioc)
//! RE(scan([thermometer], controller, 20, 30, 11))
//! ```
//!
//! Build it into a venv with `maturin develop` (or `pip install .`).

use ophyd_core::prelude::*;
use ophyd_core::Tolerance;
use ophyd_epics::{EpicsMotor, EpicsSignal, EpicsSignalRO, PositionerSignals, PvPositioner, PvPositionerSignals};

/// A thermometer whose readout filter is switched on while it is staged.
#[derive(Device)]
pub struct Thermometer {
    /// The temperature; hinted for plotting.
    #[component(suffix = ":T", kind = "hinted")]
    pub temperature: EpicsSignalRO<f64>,
    /// How many samples the readout averages.
    #[component(suffix = ":AVG", kind = "config")]
    pub averaging: EpicsSignal<i32>,
    /// The readout filter (`Off`, `On`): on during a run, put back after.
    #[component(suffix = ":FILTER", kind = "config", stage = 1)]
    pub filter: EpicsSignal<Enum>,
}

/// A sample stage of two motor records: in Python `stage.x` is a
/// positioner bluesky scans (`EpicsMotor` says it is one with
/// `#[device(positioner)]`).
#[derive(Device)]
pub struct SampleStage {
    /// Horizontal.
    #[component(suffix = ":x")]
    pub x: EpicsMotor,
    /// Vertical.
    #[component(suffix = ":y")]
    pub y: EpicsMotor,
}

/// A temperature controller's PVs: a setpoint, the temperature it drives
/// to it, and its ramp rate.
#[derive(Device)]
pub struct Controller {
    /// Where the temperature goes.
    #[component(suffix = ":SP")]
    pub setpoint: EpicsSignal<f64>,
    /// The temperature; hinted for plotting.
    #[component(suffix = ":T", kind = "hinted")]
    pub readback: EpicsSignalRO<f64>,
    /// Kelvin per minute.
    #[component(suffix = ":RAMP", kind = "config")]
    pub ramp_rate: EpicsSignal<f64>,
}

/// A move is done when the temperature is within 0.05 of the setpoint
/// (ophyd's `PVPositionerIsClose`).
impl PvPositionerSignals for Controller {
    fn signals(&self) -> PositionerSignals<'_> {
        PositionerSignals::new(&self.setpoint)
            .readback(&self.readback)
            .done_when_close(Tolerance { atol: 0.05, rtol: 0.0 })
    }
}

/// The controller as a positioner: `TemperatureController(prefix, name=...)`
/// in Python.
pub fn temperature_controller(prefix: &str, name: &str) -> PvPositioner<Controller> {
    PvPositioner::new(Controller::new(prefix, name))
}

/// The Python module. Its classes are Rust structs of the same names: a
/// module of their own keeps them apart from the device types.
mod python {
    use crate::Controller;
    use ophyd_epics::PvPositioner;

    ophyd_rs::python_module!(my_beamline {
        devices: [Thermometer => crate::Thermometer, SampleStage => crate::SampleStage],
        positioners: [TemperatureController => PvPositioner<Controller> = crate::temperature_controller],
    });
}

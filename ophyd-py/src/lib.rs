//! ophyd-rs devices for Python's bluesky: the `ophyd_rs` module.
//!
//! Devices declared in Rust (`#[derive(Device)]`), driven by bluesky's
//! `RunEngine` as if they were ophyd devices: the same methods, readings and
//! data keys, with Rust doing the I/O.
//!
//! ```python
//! from bluesky import RunEngine
//! from bluesky.plans import count
//! import ophyd_rs
//! ioc = ophyd_rs.SimIoc.trigger_with_pc()
//! det = ophyd_rs.TriggeredDetector("trigger_with_pc", name="triggered_detector")
//! det.connect(ioc)
//! RunEngine()(count([det], 5))
//! ```
//!
//! The stock module carries the staging tutorial's `TriggeredDetector`,
//! `EpicsMotor`, the simulated IOC (`SimIoc`) and Channel Access
//! (`CaTransport`). A module of your own devices is a few lines with
//! [`python_module!`]:
//!
//! ```text
//! ophyd_rs::python_module!(my_beamline {
//!     devices: [Thermometer => crate::Thermometer],
//!     positioners: [TemperatureController => PvPositioner<crate::Controller> = crate::temperature_controller],
//! });
//! ```
//!
//! Build it with maturin (`module-name = "my_beamline"`); the classes extend
//! that module's `Device` and `Positioner`. `ophyd-py/my-beamline` in the
//! repository is such a crate, whole, built and driven by bluesky in the
//! tests.

// The macros name this crate `ophyd_rs` (its library name), here and in
// users' crates alike.
extern crate self as ophyd_rs;

pub mod device;
pub mod errors;
pub mod pending;
pub mod runtime;
pub mod status;
pub mod transport;
pub mod value;

pub use device::{Device, OphydObject, Positioner, Root, Signal};
pub use pending::Pending;
pub use status::Status;
pub use transport::{CaTransport, SimIoc};

#[doc(hidden)]
pub use pyo3;

use pyo3::prelude::*;

/// Panic in Rust code the module runs: `"call"` in a method call,
/// `"await"` in the work of an awaitable (returned). For the tests: they
/// check a panic reaches Python as `RustPanic`, an `Exception`.
#[pyfunction]
fn _panic_in(py: Python<'_>, place: &str) -> PyResult<Pending> {
    match place {
        "call" => errors::guard(py, "_panic_in(\"call\")", || panic!("a panic in a call"))?,
        "await" => {
            Ok(Pending::start(py, "_panic_in(\"await\")".into(), async { panic_now("a panic in awaited work") }))
        }
        other => Err(pyo3::exceptions::PyValueError::new_err(format!("no place {other:?}: \"call\" or \"await\""))),
    }
}

fn panic_now(message: &str) -> pending::Outcome {
    panic!("{message}")
}

/// Add the base classes, the transports and the exceptions to `module`.
pub fn add_base_classes(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<OphydObject>()?;
    module.add_class::<Device>()?;
    module.add_class::<Positioner>()?;
    module.add_class::<Signal>()?;
    module.add_class::<Status>()?;
    module.add_class::<Pending>()?;
    module.add_class::<SimIoc>()?;
    module.add_class::<CaTransport>()?;
    module.add_function(wrap_pyfunction!(_panic_in, module)?)?;
    // Benchmarks refuse a debug build: its figures say nothing of the module users install.
    module.add("build_profile", if cfg!(debug_assertions) { "debug" } else { "release" })?;
    errors::register(module)
}

/// A Python class for the Rust device type `$rust`, named `$python`:
/// `$python(prefix, name=...)` makes the device with `<$rust>::new(prefix,
/// name)` (what `#[derive(Device)]` writes), or with the function given
/// after `=`, for a type made otherwise (a `PvPositioner<D>` wraps a
/// derived device). With `positioner`, the class extends `Positioner` (the
/// type implements [`ophyd_core::Positioner`]), otherwise `Device`.
///
/// `$python` is also the name of a Rust struct made in the calling module:
/// choose one no type in scope has.
#[macro_export]
macro_rules! device_class {
    ($python:ident => $rust:ty $(= $new:path)?) => {
        $crate::device_class!(@class $python, $rust, Device, device, [$($new)?]);
    };
    ($python:ident => $rust:ty $(= $new:path)?, positioner) => {
        $crate::device_class!(@class $python, $rust, Positioner, positioner, [$($new)?]);
    };
    (@class $python:ident, $rust:ty, $base:ident, $root:ident, []) => {
        $crate::device_class!(@class $python, $rust, $base, $root, <$rust>::new);
    };
    (@class $python:ident, $rust:ty, $base:ident, $root:ident, [$new:path]) => {
        $crate::device_class!(@class $python, $rust, $base, $root, $new);
    };
    (@class $python:ident, $rust:ty, $base:ident, $root:ident, $new:expr) => {
        #[doc = concat!("The Python class of `", stringify!($rust), "`.")]
        #[$crate::pyo3::pyclass(extends = $crate::$base, frozen, crate = "::ophyd_rs::pyo3")]
        pub struct $python;

        #[$crate::pyo3::pymethods(crate = "::ophyd_rs::pyo3")]
        impl $python {
            #[new]
            #[pyo3(signature = (prefix = "", *, name))]
            fn new(
                py: $crate::pyo3::Python<'_>,
                prefix: &str,
                name: &str,
            ) -> $crate::pyo3::PyResult<$crate::pyo3::PyClassInitializer<Self>> {
                let device = $crate::errors::guard(py, concat!(stringify!($python), "()"), || {
                    let _runtime = $crate::runtime::runtime().enter();
                    let device: $rust = ($new)(prefix, name);
                    device
                })?;
                Ok($crate::$base::root(py, $crate::Root::$root(device))?.add_subclass($python))
            }
        }
    };
}

/// A Python extension module `$module` of Rust device types: the base
/// classes (`Device`, `Positioner`, `Signal`, `Status`), the transports
/// (`SimIoc`, `CaTransport`), the exceptions, and a class per type listed
/// (see [`device_class!`]; `= function` names how a type without
/// `new(prefix, name)` is made). The crate-level documentation shows a
/// call; `ophyd-py/my-beamline` in the repository is a whole crate.
#[macro_export]
macro_rules! python_module {
    ($module:ident {
        devices: [$($device:ident => $device_type:ty $(= $device_new:path)?),* $(,)?],
        positioners: [$($positioner:ident => $positioner_type:ty $(= $positioner_new:path)?),* $(,)?] $(,)?
    }) => {
        $($crate::device_class!($device => $device_type $(= $device_new)?);)*
        $($crate::device_class!($positioner => $positioner_type $(= $positioner_new)?, positioner);)*

        #[doc = concat!("The `", stringify!($module), "` Python module.")]
        #[$crate::pyo3::pymodule(crate = "::ophyd_rs::pyo3")]
        fn $module(module: &$crate::pyo3::Bound<'_, $crate::pyo3::types::PyModule>) -> $crate::pyo3::PyResult<()> {
            use $crate::pyo3::types::PyModuleMethods as _;
            $crate::add_base_classes(module)?;
            $(module.add_class::<$device>()?;)*
            $(module.add_class::<$positioner>()?;)*
            Ok(())
        }
    };
}

/// The stock module: the staging tutorial's detector and a motor record.
mod stock {
    python_module!(ophyd_rs {
        devices: [TriggeredDetector => examples::TriggeredDetector],
        positioners: [EpicsMotor => ophyd_epics::EpicsMotor],
    });
}

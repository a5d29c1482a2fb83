//! What devices connect through: the simulated IOC and Channel Access.

use ophyd_core::Value;
use ophyd_epics::sim::{PvSpec, SimIoc as RustSimIoc, SimMotor};
use ophyd_epics::Transport;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::guard;
use crate::runtime::runtime;
use crate::value::to_value;

/// The in-process simulated IOC: PVs with EPICS's behaviours, no network.
///
/// `SimIoc.trigger_with_pc()` serves the staging tutorial's IOC
/// (`trigger_with_pc:gain`, ...) and a motor record (`sim:mtr1`).
#[pyclass(frozen, module = "ophyd_rs")]
pub struct SimIoc {
    ioc: RustSimIoc,
}

#[pymethods]
impl SimIoc {
    /// An IOC with no PVs.
    #[new]
    fn new() -> SimIoc {
        SimIoc { ioc: RustSimIoc::new() }
    }

    /// The tutorial's IOC under `prefix` (caproto's `trigger_with_pc`: an
    /// acquisition takes `exposure_time` s, refused while `enabled` is 0),
    /// and a motor record `motor` at 0 (limits ±100, 10 units/s).
    #[staticmethod]
    #[pyo3(signature = (prefix = "trigger_with_pc:", motor = "sim:mtr1"))]
    fn trigger_with_pc(py: Python<'_>, prefix: &str, motor: &str) -> PyResult<SimIoc> {
        guard(py, "SimIoc.trigger_with_pc", || {
            let _runtime = runtime().enter();
            let ioc = SimIoc { ioc: RustSimIoc::trigger_with_pc(prefix) };
            ioc.add_motor(motor, 0.0, -100.0, 100.0, 10.0);
            ioc
        })
    }

    /// Add a motor record `name` at `position` (limits `low`..`high`,
    /// `velocity` units/s).
    #[pyo3(signature = (name, position = 0.0, *, low = -100.0, high = 100.0, velocity = 10.0))]
    fn add_motor(&self, name: &str, position: f64, low: f64, high: f64, velocity: f64) {
        self.ioc.add_motor_record(name, SimMotor::at(position).limits(low, high).velocity(velocity).units("mm"));
    }

    /// Add a PV `name` holding `value`: a float makes a double, an int a
    /// long, a str a string, a sequence of numbers a waveform (with room
    /// for as many elements). With `enum_strs`, an enum whose `value` is an
    /// index or one of the strings. `units`, `precision` and `limits`
    /// (`(low, high)`, writes outside are clamped as records do) are the
    /// PV's metadata; `read_only` refuses clients' writes. A PV of that
    /// name must not exist yet.
    #[pyo3(signature = (name, value, *, enum_strs = None, units = None, precision = None, limits = None, read_only = false))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn add_pv(
        &self,
        name: &str,
        value: &Bound<'_, PyAny>,
        enum_strs: Option<Vec<String>>,
        units: Option<&str>,
        precision: Option<i16>,
        limits: Option<(f64, f64)>,
        read_only: bool,
    ) -> PyResult<()> {
        if self.ioc.get(name).is_some() {
            return Err(PyValueError::new_err(format!("the simulated IOC has a PV {name:?} already")));
        }
        let value = to_value(value)?;
        let mut spec = match enum_strs {
            Some(strings) => enum_spec(name, &value, &strings)?,
            None => scalar_spec(name, value)?,
        };
        if let Some(units) = units {
            spec = spec.units(units);
        }
        if let Some(precision) = precision {
            spec = spec.precision(precision);
        }
        if let Some((low, high)) = limits {
            spec = spec.limits(low, high);
        }
        if read_only {
            spec = spec.read_only();
        }
        let _runtime = runtime().enter();
        self.ioc.add(spec);
        Ok(())
    }

    /// The value of PV `pv` (an enum's index).
    fn get(&self, py: Python<'_>, pv: &str) -> PyResult<Py<PyAny>> {
        Ok(pythonize::pythonize(py, &self.value(pv)?)?.unbind())
    }

    /// Write `value` to PV `pv` as another client would (put handlers run).
    fn put(&self, pv: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.value(pv)?;
        let value = to_value(value)?;
        let _runtime = runtime().enter();
        self.ioc.write(pv, value);
        Ok(())
    }

    /// Take PV `pv` off the network (`connected=False`), as an IOC that
    /// drops or reboots does, or bring it back.
    fn set_connected(&self, pv: &str, connected: bool) -> PyResult<()> {
        self.value(pv)?;
        let _runtime = runtime().enter();
        self.ioc.set_connected(pv, connected);
        Ok(())
    }

    /// Refuse clients' writes to PV `pv` (`writable=False`), as EPICS
    /// access security does, or accept them again.
    fn set_writable(&self, pv: &str, writable: bool) -> PyResult<()> {
        self.value(pv)?;
        self.ioc.set_writable(pv, writable);
        Ok(())
    }

    /// Every PV's name.
    fn pv_names(&self) -> Vec<String> {
        self.ioc.pv_names()
    }

    fn __repr__(&self) -> String {
        format!("<ophyd_rs.SimIoc with {} PVs>", self.ioc.pv_names().len())
    }
}

impl SimIoc {
    /// The value of PV `pv`; a `KeyError` naming it if there is none.
    fn value(&self, pv: &str) -> PyResult<Value> {
        self.ioc.get(pv).ok_or_else(|| PyKeyError::new_err(format!("the simulated IOC has no PV {pv:?}")))
    }
}

/// The PV `add_pv(name, value)` makes without `enum_strs`.
fn scalar_spec(name: &str, value: Value) -> PyResult<PvSpec> {
    Ok(match value {
        Value::Float(x) => PvSpec::double(name, x),
        Value::Int(i) => PvSpec::long(
            name,
            i32::try_from(i).map_err(|_| {
                PyValueError::new_err(format!(
                    "PV {name:?}: {i} does not fit a long (32 bits); give a float for a double"
                ))
            })?,
        ),
        Value::String(text) => PvSpec::string(name, &text),
        Value::FloatArray(xs) => {
            let capacity = xs.len();
            PvSpec::waveform(name, xs, capacity)
        }
        Value::IntArray(is) => {
            let capacity = is.len();
            PvSpec::waveform(name, is.into_iter().map(|i| i as f64).collect(), capacity)
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "PV {name:?}: cannot hold {other}: expected a float, an int, a str or a sequence of numbers"
            )))
        }
    })
}

/// The enum PV `add_pv(name, value, enum_strs=strings)` makes: `value` is
/// an index into `strings` or one of them.
fn enum_spec(name: &str, value: &Value, strings: &[String]) -> PyResult<PvSpec> {
    let index = match value {
        Value::Int(i) => usize::try_from(*i).ok().filter(|i| *i < strings.len()),
        Value::String(text) => strings.iter().position(|s| s == text),
        _ => None,
    };
    let index = index.and_then(|i| u16::try_from(i).ok()).ok_or_else(|| {
        PyValueError::new_err(format!(
            "PV {name:?}: {value} is neither an index of its enum_strs {strings:?} nor one of them"
        ))
    })?;
    let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
    Ok(PvSpec::enumeration(name, &strings, index))
}

/// Channel Access, through libca: real IOCs, found as `EPICS_CA_ADDR_LIST`
/// and the other `EPICS_CA_*` variables say.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct CaTransport {
    transport: Transport,
}

#[pymethods]
impl CaTransport {
    /// A Channel Access client context; `auto_monitor` serves reads from
    /// monitors (ophyd's `auto_monitor`).
    #[new]
    #[pyo3(signature = (*, auto_monitor = false))]
    fn new(py: Python<'_>, auto_monitor: bool) -> PyResult<CaTransport> {
        let transport = guard(py, "CaTransport()", || {
            let _runtime = runtime().enter();
            ophyd_epics::ca::CaTransport::new().map(|ca| ca.into_transport().with_auto_monitor(auto_monitor))
        })?
        .map_err(|e| pyo3::exceptions::PyConnectionError::new_err(format!("cannot start Channel Access: {e}")))?;
        Ok(CaTransport { transport })
    }

    fn __repr__(&self) -> String {
        format!("<ophyd_rs.CaTransport {}>", self.transport.describe())
    }
}

/// The transport of a `SimIoc` or a `CaTransport`.
pub fn transport_of(object: &Bound<'_, PyAny>) -> PyResult<Transport> {
    if let Ok(ioc) = object.cast::<SimIoc>() {
        return Ok(ioc.get().ioc.transport());
    }
    if let Ok(ca) = object.cast::<CaTransport>() {
        return Ok(ca.get().transport.clone());
    }
    let class = object.get_type().name()?;
    if class == "SimIoc" || class == "CaTransport" {
        // Each extension module built on this crate has its own classes,
        // over its own runtime: a transport does not cross between them.
        return Err(PyTypeError::new_err(format!(
            "connect() takes a SimIoc or a CaTransport of the extension module whose class made the device; \
             this {class} is another module's: make the transport with the device's module \
             (e.g. my_beamline.SimIoc() for my_beamline's devices)"
        )));
    }
    Err(PyTypeError::new_err(format!("connect() takes a SimIoc or a CaTransport, not {class}")))
}

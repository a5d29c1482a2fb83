//! ophyd-rs errors as Python exceptions, and panics turned into them.
//!
//! Every [`ophyd_core::Error`] becomes an instance of the class named as
//! Python ophyd names the exception ([`ophyd_core::Error::name`]), deriving
//! from `OphydError` and from the builtin a Python user catches for it
//! (`LimitError` is a `ValueError`, `Timeout` a `TimeoutError`, ...). A
//! Rust panic becomes `RustPanic`, an ordinary `Exception`: PyO3's own
//! `PanicException` derives from `BaseException` and would escape the
//! RunEngine's cleanup (`except Exception`).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// The exception classes, as Python code: multiple bases are simplest said there.
const CLASSES: &std::ffi::CStr = cr#"
import builtins

class OphydError(Exception):
    """An error of an ophyd-rs device; `error_name` is ophyd's name for it."""

def _error(name, *bases, doc):
    if not any(issubclass(base, OphydError) for base in bases):
        bases = (OphydError, *bases)
    cls = type(name, bases, {"__doc__": doc, "__module__": "ophyd_rs"})
    globals()[name] = cls
    return cls

_error("RedundantStaging", builtins.RuntimeError, doc="stage() on a staged device")
Timeout = _error("Timeout", builtins.TimeoutError, doc="an operation did not finish in time")
_error("SetAndWaitTimeout", Timeout, doc="a value did not read back in time")
_error("ConnectTimeout", builtins.TimeoutError, doc="PVs did not connect in time")
_error("PutError", doc="the IOC refused a write")
_error("GetError", doc="a read failed")
_error("LimitError", builtins.ValueError, doc="a target outside the limits")
_error("DisconnectedError", builtins.ConnectionError, doc="a PV is not connected")
_error("ConnectionError", builtins.ConnectionError, doc="a PV cannot be connected")
_error("TypeError", builtins.TypeError, doc="a value of the wrong type")
_error("AttributeError", builtins.AttributeError, doc="no such component")
_error("ValueError", builtins.ValueError, doc="a value that does not fit")
_error("ConfigureError", doc="configure() failed")
_error("ReadOnlyError", doc="a write to a read-only signal")
_error("StageError", doc="stage() failed (what it changed was put back)")
_error("CleanupError", doc="putting a device back failed")
_error("UnstageError", doc="unstage() could not put everything back")
_error("StatusFailed", doc="an operation's Status failed")
_error("Cancelled", doc="an operation was abandoned")
_error("ExceptionBundle", doc="several errors at once")
_error("RustPanic", builtins.RuntimeError, doc="a bug: Rust code panicked")
del _error
"#;

/// The module holding the classes, made once per interpreter.
fn classes(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    crate::runtime::python_module(py, &MODULE, CLASSES, c"ophyd_rs/errors.py", c"ophyd_rs.errors")
}

/// Add every exception class to `module`.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let classes = classes(py)?;
    for (name, value) in classes.dict() {
        let name: String = name.extract()?;
        if value.is_instance_of::<pyo3::types::PyType>() {
            module.add(name, value)?;
        }
    }
    Ok(())
}

/// An exception of class `name` (one of the classes above) with `message`.
fn exception(py: Python<'_>, name: &str, message: String) -> PyErr {
    match classes(py).and_then(|c| c.getattr(name)).and_then(|class| class.call1((message,))) {
        Ok(instance) => {
            let _ = instance.setattr("error_name", name);
            PyErr::from_value(instance)
        }
        Err(e) => e,
    }
}

/// An ophyd-rs error, as the Python exception ophyd would raise.
pub fn to_py(py: Python<'_>, error: &ophyd_core::Error) -> PyErr {
    exception(py, error.name(), error.to_string())
}

/// A Python error for an error of the Rust side: an ophyd error, a panic, or
/// an error Python raised itself (a conversion).
pub enum Failure {
    /// A device's error.
    Ophyd(ophyd_core::Error),
    /// A panic, with its message.
    Panic(String),
    /// Already a Python error.
    Python(PyErr),
}

impl Failure {
    /// The Python exception.
    pub fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Ophyd(e) => to_py(py, &e),
            Failure::Panic(message) => exception(py, "RustPanic", message),
            Failure::Python(e) => e,
        }
    }

    /// As an ophyd error, for what finishes a Status: a panic or a Python
    /// error becomes [`ophyd_core::Error::Failed`] of `what`.
    pub fn into_ophyd(self, what: &str) -> ophyd_core::Error {
        let reason = match self {
            Failure::Ophyd(e) => return e,
            Failure::Panic(message) => format!("a bug: {message}"),
            Failure::Python(e) => e.to_string(),
        };
        ophyd_core::Error::Failed { what: what.to_owned(), reason }
    }

    /// A panic's payload, as a failure naming `what` panicked.
    pub fn panic(what: &str, payload: Box<dyn Any + Send>) -> Failure {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Failure::Panic(format!("{what} panicked: {message}"))
    }
}

impl From<ophyd_core::Error> for Failure {
    fn from(e: ophyd_core::Error) -> Failure {
        Failure::Ophyd(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Failure {
        Failure::Python(e)
    }
}

/// Run `f`, a call into device code, turning a panic into `RustPanic`.
pub fn guard<T>(py: Python<'_>, what: &str, f: impl FnOnce() -> T) -> PyResult<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Failure::panic(what, payload).into_py(py))
}

/// `future`, with a panic turned into [`Failure::Panic`].
pub fn guarded<T, F>(what: String, future: F) -> impl Future<Output = Result<T, Failure>> + Send
where
    F: Future<Output = Result<T, Failure>> + Send,
{
    AssertUnwindSafe(future)
        .catch_unwind()
        .map(move |outcome| outcome.unwrap_or_else(|p| Err(Failure::panic(&what, p))))
}

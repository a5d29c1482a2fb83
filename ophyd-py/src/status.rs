//! [`Status`]: an ophyd-rs [`ophyd_core::Status`] as bluesky's `Status`
//! protocol (`add_callback`, `done`, `success`, `exception`, `watch`,
//! awaitable) and ophyd's `wait`.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py;
use crate::pending::{none, Awaiting, Pending};
use crate::runtime::{dispatch, report_callback_error, wait};

/// An operation in flight (a trigger, a move, a write).
///
/// `done` and `success` are read without waiting and never raise (bluesky
/// checks them through `isinstance`). Callbacks given to `add_callback` are
/// called with the status once it is done: at once, on the caller's thread,
/// if it already is; otherwise on ophyd-rs's callback thread.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct Status {
    inner: ophyd_core::Status,
    started: Instant,
}

impl Status {
    /// `status` as a Python object.
    pub fn wrap(py: Python<'_>, status: ophyd_core::Status) -> PyResult<Py<Status>> {
        Py::new(py, Status { inner: status, started: Instant::now() })
    }

    /// The exception of a failed status, `None` otherwise.
    fn exception_now(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match self.inner.result() {
            Some(Err(e)) => Some(to_py(py, &e).into_value(py).into_any()),
            _ => None,
        }
    }
}

#[pymethods]
impl Status {
    /// Whether the operation has finished (either way).
    #[getter]
    fn done(&self) -> bool {
        self.inner.done()
    }

    /// Whether it finished and succeeded.
    #[getter]
    fn success(&self) -> bool {
        self.inner.success()
    }

    /// Call `callback(status)` when done (at once if it is).
    fn add_callback(slf: &Bound<'_, Self>, callback: Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        if slf.get().inner.done() {
            if let Err(e) = callback.call1((slf,)) {
                report_callback_error(py, &callback, e);
            }
            return Ok(());
        }
        let (status, callback) = (slf.clone().unbind(), callback.unbind());
        slf.get().inner.add_callback(move |_| {
            dispatch(Box::new(move |py| {
                let callback = callback.bind(py);
                if let Err(e) = callback.call1((status,)) {
                    report_callback_error(py, callback, e);
                }
            }))
        });
        Ok(())
    }

    /// The exception the operation failed with, or `None` if it succeeded;
    /// waits up to `timeout` seconds (`None`: for as long as it takes) and
    /// raises `TimeoutError` if it is still not done.
    #[pyo3(signature = (timeout = None))]
    fn exception(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        self.wait_done(py, timeout)?;
        Ok(self.exception_now(py))
    }

    /// Wait until done, up to `timeout` seconds; raise what it failed with
    /// (ophyd's `Status.wait`).
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.wait_done(py, timeout)?;
        match self.exception_now(py) {
            Some(e) => Err(PyErr::from_value(e.into_bound(py))),
            None => Ok(()),
        }
    }

    /// Call `func(name=, current=, initial=, target=, fraction=,
    /// time_elapsed=)` as the operation reports progress (a motor's move),
    /// for bluesky's progress bars.
    fn watch(&self, func: Py<PyAny>) {
        let (name, started) = (self.inner.what().to_owned(), self.started);
        let func = std::sync::Arc::new(func);
        self.inner.on_progress(move |done, total| {
            let (func, name) = (func.clone(), name.clone());
            dispatch(Box::new(move |py| {
                let func = func.bind(py);
                let kwargs = PyDict::new(py);
                let fraction = if total > 0.0 { 1.0 - done / total } else { 0.0 };
                let call = (|| {
                    kwargs.set_item("name", name)?;
                    kwargs.set_item("current", done)?;
                    kwargs.set_item("initial", 0.0)?;
                    kwargs.set_item("target", total)?;
                    kwargs.set_item("fraction", fraction)?;
                    kwargs.set_item("time_elapsed", started.elapsed().as_secs_f64())?;
                    func.call((), Some(&kwargs))
                })();
                if let Err(e) = call {
                    report_callback_error(py, func, e);
                }
            }))
        });
    }

    fn __await__(&self, py: Python<'_>) -> PyResult<Awaiting> {
        let status = self.inner.clone();
        let pending = Pending::start(py, self.inner.what().to_owned(), async move {
            status.await?;
            Ok(none())
        });
        Ok(Pending::__await__(Py::new(py, pending)?))
    }

    fn __repr__(&self) -> String {
        let state = match self.inner.result() {
            None => "running".to_owned(),
            Some(Ok(())) => "done".to_owned(),
            Some(Err(e)) => format!("failed: {e}"),
        };
        format!("<ophyd_rs.Status {} ({state})>", self.inner.what())
    }
}

impl Status {
    fn wait_done(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        if self.inner.done() {
            return Ok(());
        }
        let status = self.inner.clone();
        let finished = async move {
            let _ = status.await;
        };
        match wait(py, finished, timeout.map(Duration::from_secs_f64))? {
            Some(()) => Ok(()),
            None => Err(PyTimeoutError::new_err(format!(
                "{} is not done after {} s",
                self.inner.what(),
                timeout.unwrap_or_default()
            ))),
        }
    }
}

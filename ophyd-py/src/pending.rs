//! [`Pending`]: a Rust future as a Python awaitable.
//!
//! bluesky awaits what `read()`, `describe()`, `stop()`, `pause()` and
//! `resume()` return (`inspect.isawaitable`). A `Pending` starts its work
//! only when first awaited (or asked for its `result()`):
//! `RunEngine.resume()` calls `resume()` on a thread with no event loop and
//! awaits the result on the RunEngine's loop later.
//!
//! When awaited, the work is polled once at once, off the GIL: a read that
//! the simulated IOC or a monitor answers from memory is done then, and the
//! `await` finishes without a trip through the event loop. Otherwise the
//! work goes on on the runtime, and the awaiting task waits on an asyncio
//! future that the dispatcher thread completes through the loop's
//! `call_soon_threadsafe`.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use crate::errors::{guarded, Failure};
use crate::runtime::{dispatch, runtime, wait};

/// Makes the Python value of a result, with the GIL.
pub type ToPython = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// What a piece of work ends with.
pub type Outcome = Result<ToPython, Failure>;

/// A serde value (readings, data keys) as Python dicts and lists.
pub fn serialized<T: serde::Serialize + Send + 'static>(value: T) -> ToPython {
    Box::new(move |py| Ok(pythonize::pythonize(py, &value)?.unbind()))
}

/// `None`.
pub fn none() -> ToPython {
    Box::new(|py| Ok(py.None()))
}

/// Where the runtime leaves the outcome of work that did not finish at once.
struct Slot {
    outcome: Mutex<Option<Outcome>>,
    filled: tokio::sync::Notify,
}

impl Slot {
    fn take(&self) -> Option<Outcome> {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

enum State {
    /// Not started: nobody awaited it yet.
    Idle(BoxFuture<'static, Outcome>),
    /// Going on on the runtime; an awaiting task waits on `waiter` (an
    /// asyncio future of its loop), if one is.
    Running { slot: Arc<Slot>, waiter: Option<Py<PyAny>> },
    /// Its result was handed out.
    Finished,
}

/// Work of an ophyd-rs device, awaitable from asyncio (`await det.read()`)
/// or waited for with `result()`. Awaitable once.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct Pending {
    what: String,
    state: Mutex<State>,
}

impl Pending {
    /// `future`, awaited when Python awaits; `what` names it in errors.
    pub fn new(what: String, future: impl Future<Output = Outcome> + Send + 'static) -> Pending {
        let work = guarded(what.clone(), future).boxed();
        Pending { what, state: Mutex::new(State::Idle(work)) }
    }

    /// Take the state out (the lock is never held while Python runs).
    fn take_state(&self) -> State {
        std::mem::replace(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()), State::Finished)
    }

    fn put_state(&self, state: State) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// Start `work` on the runtime; its outcome lands in the returned slot,
    /// and `wake`, if any, is then called on the dispatcher thread.
    fn spawn(work: BoxFuture<'static, Outcome>, wake: Option<(Py<PyAny>, Py<PyAny>)>) -> Arc<Slot> {
        let slot = Arc::new(Slot { outcome: Mutex::new(None), filled: tokio::sync::Notify::new() });
        let filled = slot.clone();
        runtime().spawn(async move {
            let outcome = work.await;
            *filled.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            filled.filled.notify_waiters();
            if let Some((event_loop, waiter)) = wake {
                dispatch(Box::new(move |py| wake_waiter(py, &event_loop, &waiter)));
            }
        });
        slot
    }
}

/// Poll `work` once, off the GIL, in the runtime's context: what is at hand
/// (a monitored value, the simulated IOC's answer) is done now.
fn poll_once(py: Python<'_>, work: &mut BoxFuture<'static, Outcome>) -> Poll<Outcome> {
    py.detach(|| {
        let _runtime = runtime().enter();
        work.poll_unpin(&mut Context::from_waker(std::task::Waker::noop()))
    })
}

/// The value of an outcome, or its exception.
fn outcome_value(py: Python<'_>, outcome: Outcome) -> PyResult<Py<PyAny>> {
    outcome.and_then(|to_python| to_python(py).map_err(Failure::Python)).map_err(|f| f.into_py(py))
}

/// The end of the `await`: `StopIteration(value)` or the exception.
fn finish(py: Python<'_>, outcome: Outcome) -> PyErr {
    match outcome_value(py, outcome) {
        Ok(value) => PyStopIteration::new_err((value,)),
        Err(e) => e,
    }
}

/// Python helpers: completing an asyncio future from another thread.
const HELPERS: &std::ffi::CStr = cr#"
import asyncio

def wake(loop, waiter):
    def set_result():
        if not waiter.done():
            waiter.set_result(None)
    try:
        loop.call_soon_threadsafe(set_result)
    except RuntimeError:
        pass  # the loop is closed: nobody waits any more

def get_running_loop():
    return asyncio.get_running_loop()
"#;

fn helpers(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    crate::runtime::python_module(py, &MODULE, HELPERS, c"ophyd_rs/pending.py", c"ophyd_rs._pending")
}

fn wake_waiter(py: Python<'_>, event_loop: &Py<PyAny>, waiter: &Py<PyAny>) {
    if let Err(e) = helpers(py).and_then(|h| h.getattr("wake")?.call1((event_loop, waiter))) {
        e.write_unraisable(py, None);
    }
}

#[pymethods]
impl Pending {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// One step of the `await`: the result (as `StopIteration`), or an
    /// asyncio future for the awaiting task to wait on.
    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self.take_state() {
            State::Idle(mut work) => match poll_once(py, &mut work) {
                Poll::Ready(outcome) => Err(finish(py, outcome)),
                Poll::Pending => {
                    let event_loop = match helpers(py)?.getattr("get_running_loop")?.call0() {
                        Ok(event_loop) => event_loop,
                        Err(e) => {
                            self.put_state(State::Idle(work));
                            return Err(e);
                        }
                    };
                    let waiter = event_loop.call_method0("create_future")?;
                    waiter.setattr("_asyncio_future_blocking", true)?;
                    let slot = Pending::spawn(work, Some((event_loop.unbind(), waiter.clone().unbind())));
                    self.put_state(State::Running { slot, waiter: Some(waiter.clone().unbind()) });
                    Ok(waiter.unbind())
                }
            },
            State::Running { slot, waiter } => match slot.take() {
                Some(outcome) => Err(finish(py, outcome)),
                None => {
                    let waiter = waiter.ok_or_else(|| {
                        PyRuntimeError::new_err(format!("{} is being waited for with result()", self.what))
                    })?;
                    waiter.bind(py).setattr("_asyncio_future_blocking", true)?;
                    let yielded = waiter.clone_ref(py);
                    self.put_state(State::Running { slot, waiter: Some(waiter) });
                    Ok(yielded)
                }
            },
            State::Finished => Err(PyRuntimeError::new_err(format!("{} was already awaited", self.what))),
        }
    }

    /// Wait for the result without an event loop (the GIL released), up to
    /// `timeout` seconds; raises `TimeoutError` then, and what the work
    /// raised if it failed.
    #[pyo3(signature = (timeout = None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let timeout = timeout.map(Duration::from_secs_f64);
        let slot = match self.take_state() {
            State::Idle(mut work) => match poll_once(py, &mut work) {
                Poll::Ready(outcome) => return outcome_value(py, outcome),
                Poll::Pending => Pending::spawn(work, None),
            },
            State::Running { slot, .. } => slot,
            State::Finished => {
                return Err(PyRuntimeError::new_err(format!("{} was already awaited", self.what)));
            }
        };
        let filled = async {
            loop {
                let notified = slot.filled.notified();
                if let Some(outcome) = slot.take() {
                    return outcome;
                }
                notified.await;
            }
        };
        match wait(py, filled, timeout) {
            Ok(Some(outcome)) => outcome_value(py, outcome),
            other => {
                self.put_state(State::Running { slot, waiter: None });
                match other {
                    Ok(_) => Err(PyTimeoutError::new_err(format!("{} did not finish within {timeout:?}", self.what))),
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn __repr__(&self) -> String {
        format!("<ophyd_rs.Pending {}>", self.what)
    }
}

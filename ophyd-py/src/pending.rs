//! [`Pending`]: a Rust future as a Python awaitable.
//!
//! bluesky awaits what `read()`, `describe()`, `stop()`, `pause()` and
//! `resume()` return (`inspect.isawaitable`). A `Pending` starts its work
//! when it is made, as ophyd's call does its work then: a `stop()` stops
//! the motor whether or not anyone awaits, a `read()` reads the values of
//! that moment. `RunEngine.resume()` calls `resume()` on a thread with no
//! event loop and awaits the result on the RunEngine's loop later: the
//! work needs no loop, only the awaiting does.
//!
//! The work is first polled once, off the GIL: a read that the simulated
//! IOC or a monitor answers from memory is done then, and an `await`
//! finishes without a trip through the event loop. Otherwise the work goes
//! on on the runtime, and an awaiting task waits on an asyncio future that
//! the dispatcher thread completes through the loop's
//! `call_soon_threadsafe`.
//!
//! A `Pending` is also what ophyd's methods return, for code that does not
//! await: a mapping (`det.read()["det_reading"]`, `list(det.describe())`,
//! `LiveTable([det])`) and a `repr` at the prompt, each of which waits for
//! the result. The result is kept once there.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use pyo3::exceptions::{PyStopIteration, PyTimeoutError};
use pyo3::gc::{PyTraverseError, PyVisit};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyString};

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

/// Where the runtime leaves the outcome of work that did not finish at once,
/// and whom to wake then.
struct Slot {
    state: Mutex<SlotState>,
    filled: tokio::sync::Notify,
}

#[derive(Default)]
struct SlotState {
    outcome: Option<Outcome>,
    /// The event loops and asyncio futures of the tasks awaiting the work.
    waiters: Vec<(Py<PyAny>, Py<PyAny>)>,
    /// Set, to the work's name, when its `Pending` went with the work going
    /// on: a failure is then reported when it comes, not kept.
    abandoned: Option<String>,
}

/// Wake the tasks that wait on `waiters`, on the dispatcher thread.
fn wake_all(waiters: Vec<(Py<PyAny>, Py<PyAny>)>) {
    if !waiters.is_empty() {
        dispatch(Box::new(move |py| {
            for (event_loop, waiter) in &waiters {
                wake_waiter(py, event_loop, waiter);
            }
        }));
    }
}

/// Report the failure of work whose result nobody will look at, as asyncio
/// reports an exception never retrieved.
fn report_unobserved(py: Python<'_>, what: &str, exception: PyErr) {
    exception.write_unraisable(py, Some(PyString::new(py, what).as_any()));
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

enum State {
    /// Going on on the runtime.
    Running(Arc<Slot>),
    /// Its result (or exception instance), kept for every later ask.
    Settled(Kept),
}

/// A result kept as Python objects, copied by reference counts alone (no
/// Python code runs while the state's lock is held).
type Kept = Result<Py<PyAny>, Py<PyAny>>;

/// Work of an ophyd-rs device, started when made (as ophyd's call does its
/// work then): awaitable from asyncio (`await det.read()`), waited for with
/// `result()`, or used as the mapping it ends with.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct Pending {
    what: String,
    state: Mutex<State>,
    /// Whether its result was handed out: a failure nobody looked at is
    /// reported when the `Pending` goes (as asyncio reports a future's
    /// exception never retrieved), not lost.
    observed: AtomicBool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.observed.load(Ordering::SeqCst) {
            return;
        }
        match self.state.get_mut().unwrap_or_else(|p| p.into_inner()) {
            State::Settled(Err(exception)) => {
                Python::attach(|py| report_unobserved(py, &self.what, PyErr::from_value(exception.bind(py).clone())));
            }
            State::Settled(Ok(_)) => {}
            State::Running(slot) => {
                let mut state = slot.lock();
                match state.outcome.take() {
                    Some(Err(failure)) => {
                        drop(state);
                        Python::attach(|py| report_unobserved(py, &self.what, failure.into_py(py)));
                    }
                    Some(Ok(_)) => {}
                    None => state.abandoned = Some(self.what.clone()),
                }
            }
        }
    }
}

impl Pending {
    /// Start `future` now; `what` names it in errors. What is at hand (a
    /// monitored value, the simulated IOC's answer) is done before this
    /// returns; the rest goes on on the runtime.
    pub fn start(py: Python<'_>, what: String, future: impl Future<Output = Outcome> + Send + 'static) -> Pending {
        let mut work = guarded(what.clone(), future).boxed();
        let state = match poll_once(py, &mut work) {
            Poll::Ready(outcome) => State::Settled(keep(py, outcome_value(py, outcome))),
            Poll::Pending => State::Running(Pending::spawn(work)),
        };
        Pending { what, state: Mutex::new(state), observed: AtomicBool::new(false) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `work` on the runtime; its outcome lands in the returned slot,
    /// and an awaiting task, if one is, is woken through the dispatcher.
    fn spawn(work: BoxFuture<'static, Outcome>) -> Arc<Slot> {
        let slot = Arc::new(Slot { state: Mutex::new(SlotState::default()), filled: tokio::sync::Notify::new() });
        let filled = slot.clone();
        runtime().spawn(async move {
            let outcome = work.await;
            let (waiters, unobserved) = {
                let mut state = filled.lock();
                let waiters = std::mem::take(&mut state.waiters);
                match (state.abandoned.take(), outcome) {
                    (Some(what), Err(failure)) => (waiters, Some((what, failure))),
                    (Some(_), Ok(_)) => (waiters, None),
                    (None, outcome) => {
                        state.outcome = Some(outcome);
                        (waiters, None)
                    }
                }
            };
            filled.filled.notify_waiters();
            wake_all(waiters);
            if let Some((what, failure)) = unobserved {
                dispatch(Box::new(move |py| report_unobserved(py, &what, failure.into_py(py))));
            }
        });
        slot
    }

    /// The result if it is there, handed out: kept, or just landed (then
    /// kept). The slot of work still going on otherwise.
    fn settled(&self, py: Python<'_>) -> Result<PyResult<Py<PyAny>>, Arc<Slot>> {
        let settled = self.settle(py);
        if settled.is_ok() {
            self.observed.store(true, Ordering::SeqCst);
        }
        settled
    }

    /// [`Pending::settled`], without counting as handed out.
    fn settle(&self, py: Python<'_>) -> Result<PyResult<Py<PyAny>>, Arc<Slot>> {
        let running = match &*self.lock() {
            State::Settled(kept) => Err(copy(py, kept)),
            State::Running(slot) => Ok(slot.clone()),
        };
        let slot = match running {
            Ok(slot) => slot,
            Err(kept) => return Ok(unkept(py, &kept)),
        };
        let Some(outcome) = slot.lock().outcome.take() else { return Err(slot) };
        // Made into Python with no lock held. A caller on another thread
        // that finds the slot empty meanwhile waits for this: it is told.
        let kept = keep(py, outcome_value(py, outcome));
        let value = unkept(py, &copy(py, &kept));
        *self.lock() = State::Settled(kept);
        slot.filled.notify_waiters();
        let waiters = std::mem::take(&mut slot.lock().waiters);
        wake_all(waiters);
        Ok(value)
    }

    fn is_settled(&self) -> bool {
        matches!(*self.lock(), State::Settled(_))
    }

    /// The result, waiting for it (as `result()` does) if need be.
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.result(py, None)?.into_bound(py))
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

/// A result as kept: the exception as its instance.
fn keep(py: Python<'_>, value: PyResult<Py<PyAny>>) -> Kept {
    value.map_err(|e| e.into_value(py).into_any())
}

/// Another reference to a kept result.
fn copy(py: Python<'_>, kept: &Kept) -> Kept {
    match kept {
        Ok(value) => Ok(value.clone_ref(py)),
        Err(e) => Err(e.clone_ref(py)),
    }
}

/// A kept result as Python's: the value, or the exception to raise again,
/// its traceback that of this raise alone.
fn unkept(py: Python<'_>, kept: &Kept) -> PyResult<Py<PyAny>> {
    match kept {
        Ok(value) => Ok(value.clone_ref(py)),
        Err(e) => {
            let exception = e.bind(py);
            if let Err(reset) = exception.setattr("__traceback__", py.None()) {
                reset.write_unraisable(py, Some(exception));
            }
            Err(PyErr::from_value(exception.clone()))
        }
    }
}

/// The end of the `await`: `StopIteration(value)` or the exception.
fn finish(value: PyResult<Py<PyAny>>) -> PyErr {
    match value {
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

impl Pending {
    /// One step of an `await`: the result (as `StopIteration`), or an
    /// asyncio future for the awaiting task to wait on.
    fn await_step(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let slot = match self.settled(py) {
            Ok(value) => return Err(finish(value)),
            Err(slot) => slot,
        };
        let event_loop = helpers(py)?.getattr("get_running_loop")?.call0()?;
        let waiter = event_loop.call_method0("create_future")?;
        loop {
            {
                // Checked and registered at once: the work, or whoever makes
                // its outcome Python's, then wakes the waiter.
                let mut state = slot.lock();
                if state.outcome.is_none() && !self.is_settled() {
                    state.waiters.push((event_loop.clone().unbind(), waiter.clone().unbind()));
                    break;
                }
            }
            if let Ok(value) = self.settled(py) {
                return Err(finish(value)); // landed meanwhile
            }
        }
        waiter.setattr("_asyncio_future_blocking", true)?;
        Ok(waiter.unbind())
    }
}

/// The iterator of an `await` of a [`Pending`] (its `__await__`): apart
/// from the `Pending`, whose own iteration is that of its mapping.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct Awaiting {
    pending: Py<Pending>,
}

#[pymethods]
impl Awaiting {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Awaitable itself too (a `Status`'s `__await__()`, kept and awaited
    /// later).
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.pending.get().await_step(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.pending)
    }
}

#[pymethods]
impl Pending {
    /// The iterator an `await` drives.
    pub fn __await__(slf: Py<Self>) -> Awaiting {
        Awaiting { pending: slf }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Never blocks the collector: a state being changed is skipped.
        if let Ok(state) = self.state.try_lock() {
            if let State::Settled(Ok(kept) | Err(kept)) = &*state {
                visit.call(kept)?;
            }
        }
        Ok(())
    }

    /// Wait for the result without an event loop (the GIL released), up to
    /// `timeout` seconds; raises `TimeoutError` then, and what the work
    /// raised if it failed.
    #[pyo3(signature = (timeout = None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let slot = match self.settled(py) {
            Ok(value) => return value,
            Err(slot) => slot,
        };
        let timeout = timeout.map(Duration::from_secs_f64);
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut slot = slot;
        loop {
            let landed = async {
                loop {
                    let notified = slot.filled.notified();
                    if slot.lock().outcome.is_some() || self.is_settled() {
                        return;
                    }
                    notified.await;
                }
            };
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if wait(py, landed, left)?.is_none() {
                let waited = timeout.map_or_else(String::new, |t| format!(" within {} s", t.as_secs_f64()));
                return Err(PyTimeoutError::new_err(format!("{} did not finish{waited}", self.what)));
            }
            // Another thread may have taken the outcome and be making it
            // Python's: it tells when it is done.
            match self.settled(py) {
                Ok(value) => return value,
                Err(running) => slot = running,
            }
        }
    }

    /// The result's `repr`, as ophyd's call shows its dict at the prompt
    /// (waiting for it if need be).
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.value(py)?.repr()?.to_string())
    }

    // The mapping the work ends with (a reading, data keys), as ophyd's
    // `read()` and `describe()` give it.

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.get_item(key)?.unbind())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.value(py)?.len()
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.value(py)?.contains(key)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.try_iter()?.into_any().unbind())
    }

    fn keys(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.call_method0("keys")?.unbind())
    }

    fn values(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.call_method0("values")?.unbind())
    }

    fn items(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.call_method0("items")?.unbind())
    }

    #[pyo3(signature = (key, default = None))]
    fn get(&self, py: Python<'_>, key: &Bound<'_, PyAny>, default: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        Ok(self.value(py)?.call_method1("get", (key, default))?.unbind())
    }
}

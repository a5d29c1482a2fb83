//! The Rust side's threads: one tokio runtime for every device of the
//! process, one dispatcher thread that calls Python back, and waits that
//! never hold the GIL.
//!
//! Rules every other module keeps:
//!
//! - Python is called only with no Rust lock held, and from Rust threads
//!   only through [`dispatch`]: a status finishing on libca's thread or a
//!   tokio worker hands the call to the dispatcher, which takes the GIL.
//!   Callbacks therefore run one at a time, in the order they were sent.
//! - Every wait releases the GIL ([`wait`]), so the RunEngine's other
//!   threads, and the dispatcher delivering the very completion being
//!   waited for, go on.
//! - Rust values whose drop may wait on libca (a device's channels) are
//!   dropped off the GIL ([`OffGil`]).

use std::future::Future;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use tokio::runtime::Runtime;

/// The runtime every device of the process runs on (its I/O, timers and the
/// tasks that finish statuses).
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("ophyd-rs")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime of ophyd_rs")
    })
}

/// A call into Python, run on the dispatcher thread with the GIL held.
pub type Job = Box<dyn FnOnce(Python<'_>) + Send>;

/// Run `job` on the dispatcher thread. Never blocks and never needs the GIL:
/// any thread may call it, holding any lock.
pub fn dispatch(job: Job) {
    static SENDER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let sender = SENDER.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ophyd-rs-callbacks".into())
            .spawn(move || {
                for job in receiver {
                    Python::attach(job);
                }
            })
            .expect("cannot start the callback thread of ophyd_rs");
        sender
    });
    // The dispatcher lives as long as the process; a failed send means the
    // interpreter is shutting down, and there is nobody left to call.
    let _ = sender.send(job);
}

/// Report what a Python callback raised through `sys.unraisablehook`, as
/// Python does for an exception nobody can catch, and go on with the other
/// callbacks.
pub fn report_callback_error(py: Python<'_>, callback: &Bound<'_, PyAny>, error: PyErr) {
    error.write_unraisable(py, Some(callback));
}

/// How often a long wait looks at Python's signal handlers (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Wait for `future` on the runtime with the GIL released, up to `timeout`
/// (`None`: no limit). Ctrl-C raises `KeyboardInterrupt` (within 0.1 s) and
/// drops the future; callers whose work must not be abandoned spawn it and
/// wait for its handle instead. `Ok(None)` on timeout.
pub fn wait<F>(py: Python<'_>, future: F, timeout: Option<Duration>) -> PyResult<Option<F::Output>>
where
    F: Future + Send,
    F::Output: Send,
{
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut future = std::pin::pin!(future);
    loop {
        let slice = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(SIGNAL_CHECK),
            None => SIGNAL_CHECK,
        };
        let outcome = py.detach(|| runtime().block_on(async { tokio::time::timeout(slice, future.as_mut()).await }));
        if let Ok(output) = outcome {
            return Ok(Some(output));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        py.check_signals()?;
    }
}

/// Holds a value whose drop may block (a device's CA channels wait for
/// libca's callback lock) and drops it on the runtime's blocking pool, never
/// on the thread that let go of it — which, for a Python object, holds the
/// GIL.
pub struct OffGil<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> OffGil<T> {
    /// Keep `value`.
    pub fn new(value: T) -> OffGil<T> {
        OffGil(Some(value))
    }

    /// Drop the value now, on this thread, with the GIL released: for when
    /// the caller must know it is gone before going on.
    pub fn drop_now(mut self, py: Python<'_>) {
        let value = self.0.take();
        py.detach(move || drop(value));
    }
}

impl<T: Send + 'static> std::ops::Deref for OffGil<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("an OffGil holds its value until it is dropped")
    }
}

impl<T: Send + 'static> Drop for OffGil<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            drop(runtime().spawn_blocking(move || drop(value)));
        }
    }
}

/// A module of Python code the Rust side needs, made once per interpreter
/// into `cell`.
///
/// Every extension module built on this crate (the stock `ophyd_rs`, a
/// beamline's own) has its own `cell`, but those built from the same code
/// share the module: the first one makes it and registers it in
/// `sys.modules` under `module_name` and a hash of `code`, and the others
/// take it from there. Making it again under the same name would run its
/// code again into that same module object, replacing the classes the
/// first extension handed out (its `except ophyd_rs.PutError` would stop
/// matching); shared, one `except` catches the errors of every such
/// extension's devices. An extension built from other code (another
/// revision) makes its own; so does one that finds the module still being
/// made by another thread.
pub fn python_module<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyModule>>,
    code: &std::ffi::CStr,
    file_name: &std::ffi::CStr,
    module_name: &std::ffi::CStr,
) -> PyResult<&'py Bound<'py, PyModule>> {
    /// Set once the module's code has run.
    const MADE: &str = "_ophyd_rs_made";
    cell.get_or_try_init(py, || {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(code.to_bytes(), &mut hasher);
        let mut key = format!("{}_{:016x}", module_name.to_string_lossy(), std::hash::Hasher::finish(&hasher));
        let modules = py.import("sys")?.getattr("modules")?;
        if let Ok(made) = modules.get_item(&key) {
            if made.hasattr(MADE)? {
                return Ok(made.cast_into::<PyModule>()?.unbind());
            }
            key = format!("{key}_{:p}", cell);
        }
        let name = std::ffi::CString::new(key).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let module = PyModule::from_code(py, code, file_name, &name)?;
        module.setattr(MADE, true)?;
        Ok(module.unbind())
    })
    .map(|m| m.bind(py))
}

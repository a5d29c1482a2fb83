//! The Python classes of devices, positioners and signals.
//!
//! A Python object holds its Rust device tree (the top-level device, shared)
//! and the path of attribute names from the top to its component. Children
//! are made once, on first access, and kept by their parent: bluesky tells
//! devices apart by identity, so `det.enabled is det.enabled`.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::{DynComponent, DynDevice, DynSignal, Positioner as RustPositioner, Value};
use ophyd_epics::Transport;
use pyo3::exceptions::PyAttributeError;
use pyo3::gc::{PyTraverseError, PyVisit};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{guard, guarded, Failure};
use crate::pending::{none, serialized, Pending};
use crate::runtime::{dispatch, report_callback_error, runtime, wait, OffGil};
use crate::status::Status;
use crate::transport::transport_of;
use crate::value::to_value;

/// How long `connect()` waits unless told (ophyd's default is 10 s too).
const CONNECT_TIMEOUT: f64 = 10.0;
/// How long `put()` and `set()` wait for a written value to read back.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type Connect = Box<dyn Fn(Transport, Duration) -> BoxFuture<'static, ophyd_core::Result<()>> + Send + Sync>;

/// A top-level Rust device, with what Python needs of its type.
pub struct Root {
    device: Arc<dyn DynDevice>,
    connect: Connect,
    positioner: Option<Arc<dyn RustPositioner>>,
}

impl Root {
    /// A device.
    pub fn device<D: ophyd_core::Device>(device: D) -> Root {
        Root::with(Arc::new(device), None)
    }

    /// A device that moves.
    pub fn positioner<D: ophyd_core::Device + RustPositioner>(device: D) -> Root {
        let device = Arc::new(device);
        Root::with(device.clone(), Some(device))
    }

    fn with<D: ophyd_core::Device>(device: Arc<D>, positioner: Option<Arc<dyn RustPositioner>>) -> Root {
        let connecting = device.clone();
        let connect: Connect = Box::new(move |transport, timeout| {
            let device = connecting.clone();
            async move { device.connect_timeout(&transport, timeout).await }.boxed()
        });
        Root { device, connect, positioner }
    }
}

/// A component of a device tree: the tree, and the attribute path to it.
#[derive(Clone)]
pub struct Node {
    root: Arc<OffGil<Arc<Root>>>,
    path: Arc<[&'static str]>,
}

impl Node {
    fn new(root: Root) -> Node {
        Node { root: Arc::new(OffGil::new(Arc::new(root))), path: Arc::from([]) }
    }

    fn child(&self, attr: &'static str) -> Node {
        let mut path = self.path.to_vec();
        path.push(attr);
        Node { root: self.root.clone(), path: path.into() }
    }

    fn top(&self) -> &Root {
        &self.root
    }

    /// The component at the path.
    fn component(&self) -> Result<&dyn DynComponent, Failure> {
        let mut current: &dyn DynComponent = &*self.top().device;
        for (depth, attr) in self.path.iter().enumerate() {
            let device = current.as_device().ok_or_else(|| self.missing(depth))?;
            current = device.component(attr).ok_or_else(|| self.missing(depth))?;
        }
        Ok(current)
    }

    fn missing(&self, depth: usize) -> Failure {
        Failure::Panic(format!("no component `{}` in the device tree", self.path[..=depth].join(".")))
    }

    fn device(&self) -> Result<&dyn DynDevice, Failure> {
        let c = self.component()?;
        c.as_device().ok_or_else(|| Failure::Panic(format!("`{}` is not a device", c.name())))
    }

    fn signal(&self) -> Result<&dyn DynSignal, Failure> {
        let c = self.component()?;
        c.as_signal().ok_or_else(|| Failure::Panic(format!("`{}` is not a signal", c.name())))
    }
}

/// Common to devices and signals: name, kind, parent.
fn kind_of(node: &Node) -> PyResult<u8> {
    Python::attach(|py| node.component().map(|c| c.kind().bits()).map_err(|f| f.into_py(py)))
}

/// Work on `node`, as a [`Pending`] for Python to await.
fn pending<F>(what: String, node: &Node, work: F) -> Pending
where
    F: for<'a> FnOnce(&'a Node) -> BoxFuture<'a, Result<crate::pending::ToPython, Failure>> + Send + 'static,
{
    let node = node.clone();
    Pending::new(what, async move { work(&node).await })
}

/// A device: its components as attributes, and ophyd's methods.
///
/// `read()`, `describe()`, `read_configuration()`, `describe_configuration()`,
/// `stop()`, `pause()` and `resume()` return awaitables (bluesky awaits
/// them; `.result()` waits for them outside an event loop); `trigger()`
/// returns a `Status`; `stage()` and `unstage()` finish before they return.
#[pyclass(subclass, frozen, module = "ophyd_rs")]
pub struct Device {
    node: Node,
    name: String,
    parent: Option<Py<PyAny>>,
    children: Py<PyDict>,
}

impl Device {
    /// The Python object of a top-level device.
    pub fn root(py: Python<'_>, root: Root) -> PyResult<Device> {
        let name = root.device.name().to_owned();
        Ok(Device { node: Node::new(root), name, parent: None, children: PyDict::new(py).unbind() })
    }

    fn what(&self, action: &str) -> String {
        format!("{action} of {}", self.name)
    }
}

/// Stage and unstage's progress, so that Ctrl-C during `stage()` never
/// leaves a device staged that nobody knows of.
enum Staging {
    Running,
    /// Python stopped waiting: unstage as soon as staging ends.
    Abandoned,
    Done,
}

#[pymethods]
impl Device {
    /// Connect every PV of the device through `transport` (a `SimIoc` or a
    /// `CaTransport`), waiting up to `timeout` seconds.
    #[pyo3(signature = (transport, timeout = CONNECT_TIMEOUT))]
    fn connect(&self, py: Python<'_>, transport: &Bound<'_, PyAny>, timeout: f64) -> PyResult<()> {
        let transport = transport_of(transport)?;
        let connecting = guard(py, "connect", || {
            let _runtime = runtime().enter();
            (self.node.top().connect)(transport, Duration::from_secs_f64(timeout))
        })?;
        // The connect's own timeout ends it; the margin only guards a bug.
        let limit = Duration::from_secs_f64(timeout) + Duration::from_secs(5);
        match wait(py, guarded(self.what("connect"), connecting.map(|r| r.map_err(Failure::from))), Some(limit))? {
            Some(outcome) => outcome.map_err(|f| f.into_py(py)),
            None => Err(pyo3::exceptions::PyTimeoutError::new_err(format!("{} did not finish", self.what("connect")))),
        }
    }

    /// The device's name (the prefix of its data keys).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The device this one is a component of; `None` at the top.
    #[getter]
    fn parent(&self, py: Python<'_>) -> Py<PyAny> {
        self.parent.as_ref().map_or_else(|| py.None(), |p| p.clone_ref(py))
    }

    /// ophyd's `Kind` bits: 0 omitted, 1 normal, 2 config, 5 hinted.
    #[getter]
    fn kind(&self) -> PyResult<u8> {
        kind_of(&self.node)
    }

    /// `{"fields": [...]}`: the data keys worth plotting.
    #[getter]
    fn hints(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let hints = self.node.device().map_err(|f| f.into_py(py))?;
        Ok(pythonize::pythonize(py, &ophyd_core::hints_of(hints))?.unbind())
    }

    /// The components read by `read()`, dotted for sub-devices' own.
    #[getter]
    fn read_attrs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.node.device().map(ophyd_core::read_attrs_of).map_err(|f| f.into_py(py))
    }

    /// The components read by `read_configuration()`.
    #[getter]
    fn configuration_attrs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.node.device().map(ophyd_core::configuration_attrs_of).map_err(|f| f.into_py(py))
    }

    /// The attribute names of the components, in declaration order.
    #[getter]
    fn component_names(&self, py: Python<'_>) -> PyResult<Vec<&'static str>> {
        let device = self.node.device().map_err(|f| f.into_py(py))?;
        Ok(device.components().into_iter().map(|(attr, _)| attr).collect())
    }

    /// The readings of the components of kind normal and hinted.
    fn read(&self) -> Pending {
        pending(self.what("read"), &self.node, |node| {
            async move { Ok(serialized(node.device()?.read_dyn().await?)) }.boxed()
        })
    }

    /// The data keys of `read()`.
    fn describe(&self) -> Pending {
        pending(self.what("describe"), &self.node, |node| {
            async move { Ok(serialized(node.device()?.describe_dyn().await?)) }.boxed()
        })
    }

    /// The readings of the components of kind config.
    fn read_configuration(&self) -> Pending {
        pending(self.what("read_configuration"), &self.node, |node| {
            async move { Ok(serialized(node.device()?.read_configuration_dyn().await?)) }.boxed()
        })
    }

    /// The data keys of `read_configuration()`.
    fn describe_configuration(&self) -> Pending {
        pending(self.what("describe_configuration"), &self.node, |node| {
            async move { Ok(serialized(node.device()?.describe_configuration_dyn().await?)) }.boxed()
        })
    }

    /// Start an acquisition; the `Status` finishes with it.
    fn trigger(&self, py: Python<'_>) -> PyResult<Py<Status>> {
        let device = self.node.device().map_err(|f| f.into_py(py))?;
        let status = guard(py, &self.what("trigger"), || {
            let _runtime = runtime().enter();
            device.trigger_dyn()
        })?;
        Status::wrap(py, status)
    }

    /// Stage: apply the stage_sigs (remembering what they replace) and stage
    /// the sub-devices. Returns `[self]`, as ophyd does.
    fn stage(slf: &Bound<'_, Self>) -> PyResult<Py<PyList>> {
        let py = slf.py();
        let this = slf.get();
        let progress = Arc::new(Mutex::new(Staging::Running));
        let (node, tracked) = (this.node.clone(), progress.clone());
        let staging = runtime().spawn(guarded(this.what("stage"), async move {
            let device = node.device()?;
            let result = device.stage_dyn().await;
            let abandoned = {
                let mut progress = tracked.lock().unwrap_or_else(|p| p.into_inner());
                let abandoned = matches!(*progress, Staging::Abandoned);
                *progress = Staging::Done;
                abandoned
            };
            if abandoned && result.is_ok() {
                device.unstage_dyn().await?;
            }
            result.map_err(Failure::from)
        }));
        match wait(py, staging, None) {
            Ok(joined) => {
                let joined = joined.expect("no timeout was set");
                joined.unwrap_or_else(|e| Err(Failure::Panic(e.to_string()))).map_err(|f| f.into_py(py))?;
                Ok(PyList::new(py, [slf])?.unbind())
            }
            Err(interrupted) => {
                let finished = {
                    let mut progress = progress.lock().unwrap_or_else(|p| p.into_inner());
                    let finished = matches!(*progress, Staging::Done);
                    *progress = Staging::Abandoned;
                    finished
                };
                if finished {
                    // Staged just as Python gave up waiting: put it back.
                    let node = this.node.clone();
                    runtime().spawn(async move {
                        if let Ok(device) = node.device() {
                            let _ = device.unstage_dyn().await;
                        }
                    });
                }
                Err(interrupted)
            }
        }
    }

    /// Unstage: put back what staging changed, whatever else happens. The
    /// work runs to its end even if Python stops waiting (Ctrl-C) or never
    /// looks at the result (the RunEngine's cleanup).
    fn unstage(slf: &Bound<'_, Self>) -> PyResult<Py<PyList>> {
        let py = slf.py();
        let this = slf.get();
        let node = this.node.clone();
        let unstaging = runtime().spawn(guarded(this.what("unstage"), async move {
            node.device()?.unstage_dyn().await.map_err(Failure::from)
        }));
        let joined = wait(py, unstaging, None)?.expect("no timeout was set");
        joined.unwrap_or_else(|e| Err(Failure::Panic(e.to_string()))).map_err(|f| f.into_py(py))?;
        Ok(PyList::new(py, [slf])?.unbind())
    }

    /// Stop what the device is doing (a motor's move).
    #[pyo3(signature = (*, success = false))]
    fn stop(&self, success: bool) -> Pending {
        pending(self.what("stop"), &self.node, move |node| {
            async move {
                node.device()?.stop_dyn(success).await?;
                Ok(none())
            }
            .boxed()
        })
    }

    /// The RunEngine is pausing.
    fn pause(&self) -> Pending {
        pending(self.what("pause"), &self.node, |node| {
            async move {
                node.device()?.pause_dyn().await?;
                Ok(none())
            }
            .boxed()
        })
    }

    /// The RunEngine is resuming.
    fn resume(&self) -> Pending {
        pending(self.what("resume"), &self.node, |node| {
            async move {
                node.device()?.resume_dyn().await?;
                Ok(none())
            }
            .boxed()
        })
    }

    /// A component, by attribute name: the same object each time.
    fn __getattr__(slf: &Bound<'_, Self>, attr: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if let Some(child) = this.children.bind(py).get_item(attr)? {
            return Ok(child.unbind());
        }
        let device = this.node.device().map_err(|f| f.into_py(py))?;
        let Some((attr, component)) = device.components().into_iter().find(|(a, _)| *a == attr) else {
            return Err(PyAttributeError::new_err(format!("'{}' has no attribute or component '{attr}'", this.name)));
        };
        let (node, name, parent) =
            (this.node.child(attr), component.name().to_owned(), Some(slf.clone().into_any().unbind()));
        let child = if component.as_device().is_some() {
            Py::new(py, Device { node, name, parent, children: PyDict::new(py).unbind() })?.into_any()
        } else {
            Py::new(py, Signal { node, name, parent, subscriptions: Mutex::default() })?.into_any()
        };
        this.children.bind(py).set_item(attr, &child)?;
        Ok(child)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(parent) = &self.parent {
            visit.call(parent)?;
        }
        visit.call(&self.children)
    }

    fn __clear__(&self) {
        // Breaking the parent → child references breaks every cycle.
        Python::attach(|py| self.children.bind(py).clear());
    }

    fn __repr__(&self) -> String {
        let type_name = self.node.component().map(|c| c.type_name()).unwrap_or("?");
        format!("<ophyd_rs device {} ({type_name})>", self.name)
    }
}

/// A device that moves: bluesky's `Movable` (`set(value)` returns a
/// `Status`), with ophyd's `position`, `limits` and `move`.
#[pyclass(extends = Device, subclass, frozen, module = "ophyd_rs")]
pub struct Positioner;

impl Positioner {
    /// The Python object of a top-level positioner.
    pub fn root(py: Python<'_>, root: Root) -> PyResult<PyClassInitializer<Positioner>> {
        Ok(PyClassInitializer::from(Device::root(py, root)?).add_subclass(Positioner))
    }
}

fn positioner_of(device: &Device) -> Arc<dyn RustPositioner> {
    device.node.top().positioner.clone().expect("a Positioner is made from a positioner's Root")
}

#[pymethods]
impl Positioner {
    /// Move to `value`; the `Status` finishes when the move ends.
    fn set(slf: &Bound<'_, Self>, value: f64) -> PyResult<Py<Status>> {
        let py = slf.py();
        let device = slf.as_super().get();
        let positioner = positioner_of(device);
        let status = ophyd_core::Status::new(device.what(&format!("move to {value}")));
        let finishing = status.clone();
        runtime().spawn(guarded(status.what().to_owned(), async move {
            let outcome = match positioner.move_to(value).await {
                Ok(moving) => {
                    let reporting = finishing.clone();
                    moving.on_progress(move |done, total| reporting.report_progress(done, total));
                    moving.await
                }
                Err(e) => Err(e),
            };
            finishing.finish(outcome);
            Ok::<(), Failure>(())
        }));
        Status::wrap(py, status)
    }

    /// Move to `position`; with `wait`, return when the move is over (and
    /// raise if it failed).
    #[pyo3(name = "move", signature = (position, wait = true, timeout = None))]
    fn move_to(slf: &Bound<'_, Self>, position: f64, wait: bool, timeout: Option<f64>) -> PyResult<Py<Status>> {
        let status = Positioner::set(slf, position)?;
        if wait {
            status.bind(slf.py()).call_method1("wait", (timeout,))?;
        }
        Ok(status)
    }

    /// The current position.
    #[getter]
    fn position(slf: &Bound<'_, Self>) -> PyResult<f64> {
        let py = slf.py();
        let positioner = positioner_of(slf.as_super().get());
        let reading = async move { positioner.position().await };
        wait(py, reading, None)?.expect("no timeout was set").map_err(|e| crate::errors::to_py(py, &e))
    }

    /// `(low, high)`; `(0, 0)` when there are none.
    #[getter]
    fn limits(slf: &Bound<'_, Self>) -> PyResult<(f64, f64)> {
        let py = slf.py();
        let positioner = positioner_of(slf.as_super().get());
        let reading = async move { positioner.limits().await };
        wait(py, reading, None)?.expect("no timeout was set").map_err(|e| crate::errors::to_py(py, &e))
    }
}

/// A subscription's callback, and the subscription (ended off the GIL).
type Subscribed = (Py<PyAny>, OffGil<ophyd_core::Subscription>);

/// One value, read and maybe written: ophyd's `Signal`.
#[pyclass(frozen, module = "ophyd_rs")]
pub struct Signal {
    node: Node,
    name: String,
    parent: Option<Py<PyAny>>,
    subscriptions: Mutex<HashMap<u64, Subscribed>>,
}

impl Signal {
    fn what(&self, action: &str) -> String {
        format!("{action} of {}", self.name)
    }

    fn signal(&self, py: Python<'_>) -> PyResult<&dyn DynSignal> {
        self.node.signal().map_err(|f| f.into_py(py))
    }
}

#[pymethods]
impl Signal {
    /// The signal's name (its data key).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The device it belongs to.
    #[getter]
    fn parent(&self, py: Python<'_>) -> Py<PyAny> {
        self.parent.as_ref().map_or_else(|| py.None(), |p| p.clone_ref(py))
    }

    /// ophyd's `Kind` bits: 0 omitted, 1 normal, 2 config, 5 hinted.
    #[getter]
    fn kind(&self) -> PyResult<u8> {
        kind_of(&self.node)
    }

    /// `{"fields": [name]}` if the signal is hinted, `{"fields": []}` otherwise.
    #[getter]
    fn hints(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut fields = Vec::new();
        self.node.component().map_err(|f| f.into_py(py))?.hints_into(&mut fields);
        Ok(pythonize::pythonize(py, &ophyd_core::Hints { fields })?.unbind())
    }

    /// Where the value lives (`"PV:det:gain"`).
    #[getter]
    fn source(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.signal(py)?.source().to_owned())
    }

    /// Whether the signal can be written.
    #[getter]
    fn write_access(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.signal(py)?.writable())
    }

    /// `{name: {"value": .., "timestamp": ..}}`.
    fn read(&self) -> Pending {
        pending(self.what("read"), &self.node, |node| {
            async move { Ok(serialized(node.signal()?.read_signal().await?)) }.boxed()
        })
    }

    /// `{name: data key}`.
    fn describe(&self) -> Pending {
        pending(self.what("describe"), &self.node, |node| {
            async move { Ok(serialized(node.signal()?.describe_signal().await?)) }.boxed()
        })
    }

    /// The same as `read()`, as ophyd's signals do.
    fn read_configuration(&self) -> Pending {
        self.read()
    }

    /// The same as `describe()`.
    fn describe_configuration(&self) -> Pending {
        self.describe()
    }

    /// The current value (waits for it).
    #[pyo3(signature = (timeout = None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let node = self.node.clone();
        let reading = guarded(self.what("get"), async move { Ok(node.signal()?.get_value().await?) });
        let outcome = wait(py, reading, timeout.map(Duration::from_secs_f64))?.ok_or_else(|| {
            pyo3::exceptions::PyTimeoutError::new_err(format!("{} did not finish in {timeout:?} s", self.what("get")))
        })?;
        let value = outcome.map_err(|f: Failure| f.into_py(py))?;
        Ok(pythonize::pythonize(py, &value)?.unbind())
    }

    /// The current value.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.get(py, None)
    }

    /// Write `value` and wait until it reads back.
    fn put(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let status = self.write(py, value)?;
        let outcome = wait(py, status.into_future(), None)?.expect("no timeout was set");
        outcome.map_err(|e| crate::errors::to_py(py, &e))
    }

    /// Write `value`; the `Status` finishes when it reads back.
    fn set(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Py<Status>> {
        let status = self.write(py, value)?;
        Status::wrap(py, status)
    }

    /// Call `callback(value=, old_value=, timestamp=, sub_type="value",
    /// obj=self)` on every change of value, first with the current one
    /// (unless `run=False`). Returns an id for `clear_sub`.
    #[pyo3(signature = (callback, event_type = None, run = true))]
    fn subscribe(slf: &Bound<'_, Self>, callback: Py<PyAny>, event_type: Option<&str>, run: bool) -> PyResult<u64> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let py = slf.py();
        if let Some(other) = event_type.filter(|e| *e != "value") {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{} has only \"value\" events, not {other:?}",
                slf.get().name
            )));
        }
        let this = slf.get();
        let signal = this.signal(py)?;
        let (obj, target) = (Arc::new(slf.clone().unbind()), Arc::new(callback.clone_ref(py)));
        let old = Arc::new(Mutex::new(None::<Value>));
        let skip_first = Arc::new(std::sync::atomic::AtomicBool::new(!run));
        let subscription = guard(py, &this.what("subscribe"), || {
            let _runtime = runtime().enter();
            signal.subscribe_value(Box::new(move |value, timestamp| {
                let old_value = old.lock().unwrap_or_else(|p| p.into_inner()).replace(value.clone());
                if skip_first.swap(false, Ordering::SeqCst) {
                    return;
                }
                let (obj, target) = (obj.clone(), target.clone());
                dispatch(Box::new(move |py| {
                    let target = target.bind(py);
                    let call = (|| {
                        let kwargs = PyDict::new(py);
                        kwargs.set_item("value", pythonize::pythonize(py, &value)?)?;
                        kwargs.set_item("old_value", pythonize::pythonize(py, &old_value)?)?;
                        kwargs.set_item("timestamp", timestamp)?;
                        kwargs.set_item("sub_type", "value")?;
                        kwargs.set_item("obj", obj.bind(py))?;
                        target.call((), Some(&kwargs))
                    })();
                    if let Err(e) = call {
                        report_callback_error(py, target, e);
                    }
                }))
            }))
        })?
        .map_err(|e| crate::errors::to_py(py, &e))?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        this.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).insert(id, (callback, OffGil::new(subscription)));
        Ok(id)
    }

    /// End a subscription, given its id or its callback.
    fn clear_sub(&self, py: Python<'_>, callback_or_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = callback_or_id.extract::<u64>().ok();
        let ended: Vec<_> = {
            let mut subscriptions = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<u64> = subscriptions
                .iter()
                .filter(|(key, (callback, _))| Some(**key) == id || callback.bind(py).is(callback_or_id))
                .map(|(key, _)| *key)
                .collect();
            ids.into_iter().filter_map(|key| subscriptions.remove(&key)).collect()
        };
        // Dropped here, with no lock held: the callbacks' references go, and
        // each subscription ends off the GIL.
        drop(ended);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(parent) = &self.parent {
            visit.call(parent)?;
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        let source = self.node.signal().map(|s| s.source().to_owned()).unwrap_or_default();
        format!("<ophyd_rs signal {} ({source})>", self.name)
    }
}

impl Signal {
    /// Start writing `value`, checked first against the signal's type.
    fn write(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<ophyd_core::Status> {
        let value = to_value(value)?;
        let signal = self.signal(py)?;
        signal.check_value(&value).map_err(|e| crate::errors::to_py(py, &e))?;
        let node = self.node.clone();
        guard(py, &self.what("set"), || {
            let _runtime = runtime().enter();
            ophyd_core::Status::from_future(self.what("set"), async move {
                let signal = node.signal().map_err(|f| match f {
                    Failure::Ophyd(e) => e,
                    other => ophyd_core::Error::Failed { what: "set".into(), reason: failure_text(other) },
                })?;
                signal.set_and_wait_value(value, WRITE_TIMEOUT).await
            })
        })
    }
}

fn failure_text(failure: Failure) -> String {
    match failure {
        Failure::Ophyd(e) => e.to_string(),
        Failure::Panic(message) => message,
        Failure::Python(e) => e.to_string(),
    }
}

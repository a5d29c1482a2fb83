//! The Python classes of devices, positioners and signals.
//!
//! A Python object holds its Rust device tree (the top-level device, shared)
//! and the path of attribute names from the top to its component. Children
//! are made once, on first access, and kept by their parent: bluesky tells
//! devices apart by identity, so `det.enabled is det.enabled`.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::{CleanupPolicy, DynComponent, DynDevice, DynSignal, Kind, Positioner as RustPositioner, Value};
use ophyd_epics::Transport;
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::gc::{PyTraverseError, PyVisit};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokio::time::Instant;

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

/// How often `unstage()` tries again to put back what a lost connection
/// kept it from putting back.
const RESTORE_RETRY: Duration = Duration::from_millis(250);

/// Unstage `device`. While a restore fails on a lost connection, try it
/// again every [`RESTORE_RETRY`] for the tree's reconnect grace (by
/// default that of ophyd-rs's own run engine,
/// [`CleanupPolicy::reconnect_grace`], 30 s): an IOC that reboots comes
/// back with its defaults, not the values staging replaced, and bluesky's
/// cleanup calls `unstage()` once. Ctrl-C stops the caller's wait, not the
/// retries; a `stage()` of the tree since (`root.stages` moved on from
/// `stages`) stops them, as it finished the restore itself and what is
/// staged now is not this unstage's to undo.
async fn unstage_within_grace(device: &dyn DynDevice, root: &Root, stages: u64) -> ophyd_core::Result<()> {
    let deadline = Instant::now() + root.reconnect_grace();
    loop {
        match device.unstage_dyn().await {
            Err(e) if e.is_disconnection() && Instant::now() < deadline => {
                // An IOC that is away: wait for it, unless staged again meanwhile.
                tokio::time::sleep(RESTORE_RETRY.min(deadline.saturating_duration_since(Instant::now()))).await;
                if root.stages.load(Ordering::SeqCst) != stages {
                    return Err(e);
                }
            }
            done => return done,
        }
    }
}

/// Stage `device`. A device whose last unstage failed (partially staged)
/// first finishes that unstage, putting back what it replaced, then is
/// staged afresh: ophyd stages such a device again too (keeping the
/// values to put back from before), and bluesky's next run must not fail
/// for a restore the last one could not do. If the restore fails again,
/// that is the error.
async fn stage_again_if_partially_staged(device: &dyn DynDevice) -> ophyd_core::Result<()> {
    match device.stage_dyn().await {
        Err(partially @ ophyd_core::Error::PartiallyStaged { .. }) => {
            if let Err(restore) = device.unstage_dyn().await {
                return Err(ophyd_core::Error::Stage {
                    device: device.name().to_owned(),
                    cause: Box::new(partially),
                    restore_failures: vec![restore],
                });
            }
            device.stage_dyn().await
        }
        staged => staged,
    }
}

/// A top-level Rust device, with what Python needs of its type.
pub struct Root {
    device: Arc<dyn DynDevice>,
    connect: Connect,
    positioner: Option<Arc<dyn RustPositioner>>,
    /// How many times Python staged the tree (or a part of it).
    stages: AtomicU64,
    /// How long `unstage()` waits for an unreachable PV, in nanoseconds.
    reconnect_grace: AtomicU64,
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
        let grace = CleanupPolicy::default().reconnect_grace.as_nanos();
        Root {
            device,
            connect,
            positioner,
            stages: AtomicU64::new(0),
            reconnect_grace: AtomicU64::new(u64::try_from(grace).expect("the default grace fits in u64 ns")),
        }
    }

    fn reconnect_grace(&self) -> Duration {
        Duration::from_nanos(self.reconnect_grace.load(Ordering::SeqCst))
    }
}

/// A component of a device tree: the tree, and the attribute path to it.
#[derive(Clone)]
pub struct Node {
    root: Arc<OffGil<Root>>,
    path: Arc<[&'static str]>,
}

impl Node {
    fn new(root: Root) -> Node {
        Node { root: Arc::new(OffGil::new(root)), path: Arc::from([]) }
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

    /// The positioner at the path: a top-level device made as one, or a
    /// device that says it is one (`as_positioner`: a motor in a stage).
    fn positioner(&self) -> Result<&dyn RustPositioner, Failure> {
        if let (true, Some(positioner)) = (self.path.is_empty(), &self.top().positioner) {
            return Ok(&**positioner);
        }
        let device = self.device()?;
        device.as_positioner().ok_or_else(|| Failure::Panic(format!("`{}` is not a positioner", device.name())))
    }

    fn signal(&self) -> Result<&dyn DynSignal, Failure> {
        let c = self.component()?;
        c.as_signal().ok_or_else(|| Failure::Panic(format!("`{}` is not a signal", c.name())))
    }
}

/// Run `work` on the runtime and wait for it with the GIL released; its
/// failure (a panic too) as a Python exception. Ctrl-C ends the wait, not
/// the work: what it changes on an IOC is done whoever waits.
fn run_and_wait<T: Send + 'static>(
    py: Python<'_>,
    what: String,
    work: impl std::future::Future<Output = Result<T, Failure>> + Send + 'static,
) -> PyResult<T> {
    let running = runtime().spawn(guarded(what, work));
    joined(py, wait(py, running, None)?.expect("no timeout was set"))
}

/// A kind as Python gives it, as ophyd takes it: a name, or ophyd's bits
/// (a hint bit only with the normal one, as `Kind.hinted` has it).
fn kind_of(kind: &Bound<'_, PyAny>) -> Option<Kind> {
    if let Ok(name) = kind.extract::<&str>() {
        return name.parse().ok();
    }
    let bits = kind.extract::<u8>().ok()?;
    matches!(bits, 0 | 1 | 2 | 3 | 5 | 7).then(|| Kind::from_bits(bits))
}

/// A spawned task's end as Python sees it: its value, or its failure as an
/// exception (a task that could not finish as a panic).
fn joined<T>(py: Python<'_>, joined: Result<Result<T, Failure>, tokio::task::JoinError>) -> PyResult<T> {
    joined.unwrap_or_else(|e| Err(Failure::Panic(e.to_string()))).map_err(|f| f.into_py(py))
}

/// Work on `node`, started now, as a [`Pending`] for Python to await.
fn pending<F>(py: Python<'_>, what: String, node: &Node, work: F) -> Pending
where
    F: for<'a> FnOnce(&'a Node) -> BoxFuture<'a, Result<crate::pending::ToPython, Failure>> + Send + 'static,
{
    let node = node.clone();
    Pending::start(py, what, async move { work(&node).await })
}

/// The four reads bluesky makes of a device or a signal.
#[derive(Clone, Copy)]
enum Query {
    Read,
    Describe,
    ReadConfiguration,
    DescribeConfiguration,
}

/// What devices and signals share (ophyd's `OphydObject`): a name, a parent,
/// a kind, hints, and the reads. The reads read when called and return a
/// [`Pending`]: an awaitable (bluesky awaits it) that is also the dict
/// ophyd's read returns, for code that does not await.
#[pyclass(subclass, frozen, module = "ophyd_rs")]
pub struct OphydObject {
    node: Node,
    name: String,
    parent: Option<Py<PyAny>>,
}

impl OphydObject {
    fn what(&self, action: &str) -> String {
        format!("{action} of {}", self.name)
    }

    fn reads(&self, py: Python<'_>, which: Query) -> Pending {
        let action = match which {
            Query::Read => "read",
            Query::Describe => "describe",
            Query::ReadConfiguration => "read_configuration",
            Query::DescribeConfiguration => "describe_configuration",
        };
        pending(py, self.what(action), &self.node, move |node| {
            async move {
                Ok(match (node.component()?.as_device(), which) {
                    (Some(device), Query::Read) => serialized(device.read_dyn().await?),
                    (Some(device), Query::Describe) => serialized(device.describe_dyn().await?),
                    (Some(device), Query::ReadConfiguration) => serialized(device.read_configuration_dyn().await?),
                    (Some(device), Query::DescribeConfiguration) => {
                        serialized(device.describe_configuration_dyn().await?)
                    }
                    // A signal's configuration is itself, as ophyd's `Signal` says.
                    (None, Query::Read | Query::ReadConfiguration) => serialized(node.signal()?.read_signal().await?),
                    (None, Query::Describe | Query::DescribeConfiguration) => {
                        serialized(node.signal()?.describe_signal().await?)
                    }
                })
            }
            .boxed()
        })
    }
}

#[pymethods]
impl OphydObject {
    /// The name: a signal's data key, the prefix of a device's.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The device this is a component of; `None` at the top.
    #[getter]
    fn parent(&self, py: Python<'_>) -> Py<PyAny> {
        self.parent.as_ref().map_or_else(|| py.None(), |p| p.clone_ref(py))
    }

    /// ophyd's `Kind` bits: 0 omitted, 1 normal, 2 config, 5 hinted (3 for a
    /// top-level device, as ophyd's).
    #[getter]
    fn kind(&self, py: Python<'_>) -> PyResult<u8> {
        self.node.component().map(|c| c.kind().bits()).map_err(|f| f.into_py(py))
    }

    /// Change the kind, as ophyd's `obj.kind = ...`: a name ("hinted",
    /// "normal", "config", "omitted"), or ophyd's bits (an `ophyd.Kind`,
    /// such as `Kind.normal | Kind.config`, is an int). Reads,
    /// descriptions, configuration and hints follow at once.
    #[setter]
    fn set_kind(&self, py: Python<'_>, kind: &Bound<'_, PyAny>) -> PyResult<()> {
        let kind = kind_of(kind).ok_or_else(|| {
            PyValueError::new_err(format!(
                "`{}`: a kind is one of \"normal\", \"config\", \"hinted\", \"omitted\", or ophyd's Kind \
                 bits (0, 1, 2, 3, 5 or 7), not {}",
                self.name,
                kind.repr().map_or_else(|_| "that".to_owned(), |r| r.to_string())
            ))
        })?;
        self.node.component().map_err(|f| f.into_py(py))?.set_kind(kind);
        Ok(())
    }

    /// `{"fields": [...]}`: the data keys worth plotting.
    #[getter]
    fn hints(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let component = self.node.component().map_err(|f| f.into_py(py))?;
        Ok(pythonize::pythonize(py, &ophyd_core::hints_of(component))?.unbind())
    }

    /// The readings: a device's components of kind normal and hinted, a
    /// signal's own.
    fn read(&self, py: Python<'_>) -> Pending {
        self.reads(py, Query::Read)
    }

    /// The data keys of `read()`.
    fn describe(&self, py: Python<'_>) -> Pending {
        self.reads(py, Query::Describe)
    }

    /// The readings of a device's components of kind config (a signal's own).
    fn read_configuration(&self, py: Python<'_>) -> Pending {
        self.reads(py, Query::ReadConfiguration)
    }

    /// The data keys of `read_configuration()`.
    fn describe_configuration(&self, py: Python<'_>) -> Pending {
        self.reads(py, Query::DescribeConfiguration)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.parent {
            Some(parent) => visit.call(parent),
            None => Ok(()),
        }
    }

    fn __repr__(&self) -> String {
        match self.node.component() {
            Ok(c) if c.as_device().is_some() => format!("<ophyd_rs device {} ({})>", self.name, c.type_name()),
            Ok(c) => format!("<ophyd_rs signal {} ({})>", self.name, c.as_signal().map_or("?", |s| s.source())),
            Err(_) => format!("<ophyd_rs {}>", self.name),
        }
    }
}

/// The shared part of a device's or a signal's Python object.
fn base<'a, T: pyo3::PyClass<BaseType = OphydObject, Frozen = pyo3::pyclass::boolean_struct::True>>(
    slf: &'a Bound<'_, T>,
) -> &'a OphydObject {
    slf.as_super().get()
}

/// A device: its components as attributes, and ophyd's methods.
///
/// `stop()`, `pause()` and `resume()` act when called and return
/// awaitables of `None`, as the reads do;
/// `trigger()` returns a `Status`; `stage()` and `unstage()` finish before
/// they return.
#[pyclass(extends = OphydObject, subclass, frozen, module = "ophyd_rs")]
pub struct Device {
    children: Py<PyDict>,
}

impl Device {
    /// The Python object of a top-level device.
    pub fn root(py: Python<'_>, root: Root) -> PyResult<PyClassInitializer<Device>> {
        let name = root.device.name().to_owned();
        let object = OphydObject { node: Node::new(root), name, parent: None };
        Ok(PyClassInitializer::from(object).add_subclass(Device { children: PyDict::new(py).unbind() }))
    }
}

impl Device {
    /// `call` of the device, as an awaitable of `None`.
    fn call<F>(slf: &Bound<'_, Self>, action: &str, call: F) -> Pending
    where
        F: for<'a> FnOnce(&'a dyn DynDevice) -> BoxFuture<'a, ophyd_core::Result<()>> + Send + 'static,
    {
        let this = base(slf);
        pending(slf.py(), this.what(action), &this.node, move |node| {
            async move {
                call(node.device()?).await?;
                Ok(none())
            }
            .boxed()
        })
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
    fn connect(slf: &Bound<'_, Self>, transport: &Bound<'_, PyAny>, timeout: f64) -> PyResult<()> {
        let (py, this) = (slf.py(), base(slf));
        let transport = transport_of(transport)?;
        let connecting = guard(py, "connect", || {
            let _runtime = runtime().enter();
            (this.node.top().connect)(transport, Duration::from_secs_f64(timeout))
        })?;
        // The connect's own timeout ends it; the margin only guards a bug.
        let limit = Duration::from_secs_f64(timeout) + Duration::from_secs(5);
        match wait(py, guarded(this.what("connect"), connecting.map(|r| r.map_err(Failure::from))), Some(limit))? {
            Some(outcome) => outcome.map_err(|f| f.into_py(py)),
            None => Err(pyo3::exceptions::PyTimeoutError::new_err(format!("{} did not finish", this.what("connect")))),
        }
    }

    /// The components read by `read()`, dotted for sub-devices' own.
    #[getter]
    fn read_attrs(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        base(slf).node.device().map(ophyd_core::read_attrs_of).map_err(|f| f.into_py(slf.py()))
    }

    /// The components read by `read_configuration()`.
    #[getter]
    fn configuration_attrs(slf: &Bound<'_, Self>) -> PyResult<Vec<String>> {
        base(slf).node.device().map(ophyd_core::configuration_attrs_of).map_err(|f| f.into_py(slf.py()))
    }

    /// The attribute names of the components, in declaration order.
    /// Seconds `unstage()` keeps trying to put back a value whose PV is
    /// unreachable, for its IOC to return (30, as ophyd-rs's own run
    /// engine waits). One setting for the whole tree, from any device of it.
    #[getter]
    fn reconnect_grace(slf: &Bound<'_, Self>) -> f64 {
        base(slf).node.top().reconnect_grace().as_secs_f64()
    }

    #[setter]
    fn set_reconnect_grace(slf: &Bound<'_, Self>, seconds: f64) -> PyResult<()> {
        let this = base(slf);
        let grace = Duration::try_from_secs_f64(seconds)
            .ok()
            .and_then(|grace| u64::try_from(grace.as_nanos()).ok())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{}: reconnect_grace must be a number of seconds from 0 up (about 584 years at most), not {seconds}",
                    this.name
                ))
            })?;
        this.node.top().reconnect_grace.store(grace, Ordering::SeqCst);
        Ok(())
    }

    #[getter]
    fn component_names(slf: &Bound<'_, Self>) -> PyResult<Vec<&'static str>> {
        let device = base(slf).node.device().map_err(|f| f.into_py(slf.py()))?;
        Ok(device.components().into_iter().map(|(attr, _)| attr).collect())
    }

    /// Start an acquisition; the `Status` finishes with it.
    fn trigger(slf: &Bound<'_, Self>) -> PyResult<Py<Status>> {
        let (py, this) = (slf.py(), base(slf));
        let device = this.node.device().map_err(|f| f.into_py(py))?;
        // Off the GIL: sending the request may wait for libca's locks.
        let status = guard(py, &this.what("trigger"), || {
            py.detach(|| {
                let _runtime = runtime().enter();
                device.trigger_dyn()
            })
        })?;
        Status::wrap(py, status)
    }

    /// Stage: apply the stage_sigs (remembering what they replace) and stage
    /// the sub-devices. Returns `[self]`, as ophyd does. A device whose
    /// last unstage failed first puts back what that one could not.
    fn stage(slf: &Bound<'_, Self>) -> PyResult<Py<PyList>> {
        let (py, this) = (slf.py(), base(slf));
        let progress = Arc::new(Mutex::new(Staging::Running));
        let (node, tracked) = (this.node.clone(), progress.clone());
        node.top().stages.fetch_add(1, Ordering::SeqCst);
        let staging = runtime().spawn(guarded(this.what("stage"), async move {
            let device = node.device()?;
            let result = stage_again_if_partially_staged(device).await;
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
            Ok(staged) => {
                joined(py, staged.expect("no timeout was set"))?;
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

    /// Write configuration values (`{"gain": 3.0}`, dotted paths for
    /// sub-devices' signals) and return the configuration before and after,
    /// as ophyd's `configure(d)` returns `(old, new)`. Every key and value
    /// is checked before anything is written; a write that fails puts back
    /// the ones before it.
    fn configure(slf: &Bound<'_, Self>, d: &Bound<'_, PyDict>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let (py, this) = (slf.py(), base(slf));
        let (keys, values): (Vec<String>, Vec<Value>) = d
            .iter()
            .map(|(key, value)| Ok((key.extract::<String>()?, to_value(&value)?)))
            .collect::<PyResult<Vec<_>>>()?
            .into_iter()
            .unzip();
        let node = this.node.clone();
        let configured = run_and_wait(py, this.what("configure"), async move {
            let pairs: Vec<(&str, Value)> = keys.iter().map(String::as_str).zip(values).collect();
            Ok(ophyd_core::configure_dyn(node.device()?, &pairs).await?)
        })?;
        Ok((pythonize::pythonize(py, &configured.old)?.unbind(), pythonize::pythonize(py, &configured.new)?.unbind()))
    }

    /// Print an overview of the device, as ophyd's `summary()`: data keys
    /// (hints marked), read, configuration and unused attributes, each
    /// with its type, name, source and current value.
    fn summary(slf: &Bound<'_, Self>) -> PyResult<()> {
        let text = Device::_summary(slf)?;
        let print = slf.py().import("builtins")?.getattr("print")?;
        print.call1((text,))?;
        Ok(())
    }

    /// The text `summary()` prints.
    fn _summary(slf: &Bound<'_, Self>) -> PyResult<String> {
        let (py, this) = (slf.py(), base(slf));
        let node = this.node.clone();
        run_and_wait(
            py,
            this.what("summary"),
            async move { Ok(ophyd_core::summary_dyn(node.device()?).await.to_string()) },
        )
    }

    /// Unstage: put back what staging changed, whatever else happens. The
    /// work runs to its end even if Python stops waiting (Ctrl-C) or never
    /// looks at the result (the RunEngine's cleanup). A PV that is
    /// unreachable is waited for, up to `reconnect_grace` seconds (an IOC
    /// rebooting); what could not be put back then is put back by the next
    /// `stage()`.
    fn unstage(slf: &Bound<'_, Self>) -> PyResult<Py<PyList>> {
        let (py, this) = (slf.py(), base(slf));
        let node = this.node.clone();
        let stages = node.top().stages.load(Ordering::SeqCst);
        run_and_wait(py, this.what("unstage"), async move {
            Ok(unstage_within_grace(node.device()?, node.top(), stages).await?)
        })?;
        Ok(PyList::new(py, [slf])?.unbind())
    }

    /// Stop what the device is doing (a motor's move).
    #[pyo3(signature = (*, success = false))]
    fn stop(slf: &Bound<'_, Self>, success: bool) -> Pending {
        Device::call(slf, "stop", move |device| device.stop_dyn(success))
    }

    /// The RunEngine is pausing.
    fn pause(slf: &Bound<'_, Self>) -> Pending {
        Device::call(slf, "pause", |device| device.pause_dyn())
    }

    /// The RunEngine is resuming.
    fn resume(slf: &Bound<'_, Self>) -> Pending {
        Device::call(slf, "resume", |device| device.resume_dyn())
    }

    /// A component, by attribute name: the same object each time.
    fn __getattr__(slf: &Bound<'_, Self>, attr: &str) -> PyResult<Py<PyAny>> {
        let (py, this, children) = (slf.py(), base(slf), slf.get().children.bind(slf.py()));
        if let Some(child) = children.get_item(attr)? {
            return Ok(child.unbind());
        }
        let device = this.node.device().map_err(|f| f.into_py(py))?;
        let Some((attr, component)) = device.components().into_iter().find(|(a, _)| *a == attr) else {
            return Err(PyAttributeError::new_err(format!("'{}' has no attribute or component '{attr}'", this.name)));
        };
        let object = OphydObject {
            node: this.node.child(attr),
            name: component.name().to_owned(),
            parent: Some(slf.clone().into_any().unbind()),
        };
        let object = PyClassInitializer::from(object);
        let child = if let Some(sub) = component.as_device() {
            let object = object.add_subclass(Device { children: PyDict::new(py).unbind() });
            if sub.as_positioner().is_some() {
                Py::new(py, object.add_subclass(Positioner))?.into_any()
            } else {
                Py::new(py, object)?.into_any()
            }
        } else {
            Py::new(py, object.add_subclass(Signal { subscriptions: Mutex::default() }))?.into_any()
        };
        children.set_item(attr, &child)?;
        Ok(child)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.children)
    }

    fn __clear__(&self) {
        // Breaking the parent → child references breaks every cycle.
        Python::attach(|py| self.children.bind(py).clear());
    }
}

/// A device that moves: bluesky's `Movable` (`set(value)` returns a
/// `Status`), with ophyd's `position`, `limits` and `move`.
#[pyclass(extends = Device, subclass, frozen, module = "ophyd_rs")]
pub struct Positioner;

impl Positioner {
    /// The Python object of a top-level positioner.
    pub fn root(py: Python<'_>, root: Root) -> PyResult<PyClassInitializer<Positioner>> {
        Ok(Device::root(py, root)?.add_subclass(Positioner))
    }

    fn base<'a>(slf: &'a Bound<'_, Self>) -> &'a OphydObject {
        slf.as_super().as_super().get()
    }

    /// Wait for `work` on the Rust positioner, the GIL released.
    fn wait_for<T: Send + 'static>(
        slf: &Bound<'_, Self>,
        what: &str,
        work: impl for<'a> FnOnce(&'a dyn RustPositioner) -> BoxFuture<'a, ophyd_core::Result<T>> + Send + 'static,
    ) -> PyResult<T> {
        let (py, node) = (slf.py(), Positioner::base(slf).node.clone());
        run_and_wait(py, Positioner::base(slf).what(what), async move { Ok(work(node.positioner()?).await?) })
    }
}

#[pymethods]
impl Positioner {
    /// Move to `value`; the `Status` finishes when the move ends. The move
    /// has started when this returns (its request sent, as ophyd's `set`
    /// sends its put), so that a `stop()` that follows stops it. A move
    /// refused before it started raises, as ophyd's `set` does: a target
    /// beyond the limits is a `LimitError` (a plan can catch it), a PV
    /// that is down a `DisconnectedError`. Ctrl-C before it has started
    /// raises `KeyboardInterrupt`: the start is abandoned and the
    /// positioner stopped, as ophyd's `move()` stops on Ctrl-C.
    fn set(slf: &Bound<'_, Self>, value: f64) -> PyResult<Py<Status>> {
        let (py, node) = (slf.py(), Positioner::base(slf).node.clone());
        let what = Positioner::base(slf).what(&format!("move to {value}"));
        let mover = node.clone();
        let mut starting = runtime().spawn(guarded(what, async move { Ok(mover.positioner()?.move_to(value).await?) }));
        let started = match wait(py, &mut starting, None) {
            Ok(started) => started.expect("no timeout was set"),
            Err(interrupted) => {
                // Ctrl-C while the move is being started (an IOC that stalls
                // holds up its reads): it is abandoned, and once the start
                // has ended the positioner is stopped, as ophyd's move()
                // stops on KeyboardInterrupt — whatever part of the move
                // had begun (the start finished meanwhile; some axes of a
                // pseudo positioner) must not go on unseen.
                starting.abort();
                runtime().spawn(async move {
                    let _ = starting.await;
                    if let Ok(device) = node.device() {
                        let _ = device.stop_dyn(false).await;
                    }
                });
                return Err(interrupted);
            }
        };
        let moving = joined(py, started)?;
        Status::wrap(py, moving)
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
        Positioner::wait_for(slf, "position", |positioner| positioner.position())
    }

    /// `(low, high)`; `(0, 0)` when there are none.
    #[getter]
    fn limits(slf: &Bound<'_, Self>) -> PyResult<(f64, f64)> {
        Positioner::wait_for(slf, "limits", |positioner| positioner.limits())
    }
}

/// A subscription of a Python callback.
struct Subscribed {
    callback: Py<PyAny>,
    /// Cleared by `clear_sub`: a change already on its way to the callback
    /// thread is then not delivered.
    active: Arc<AtomicBool>,
    /// Ended off the GIL (it may wait on libca).
    subscription: OffGil<ophyd_core::Subscription>,
}

/// One value, read and maybe written: ophyd's `Signal`.
#[pyclass(extends = OphydObject, frozen, module = "ophyd_rs")]
pub struct Signal {
    subscriptions: Mutex<HashMap<u64, Subscribed>>,
}

impl Signal {
    fn signal<'a>(slf: &'a Bound<'_, Self>) -> PyResult<&'a dyn DynSignal> {
        base(slf).node.signal().map_err(|f| f.into_py(slf.py()))
    }
}

#[pymethods]
impl Signal {
    /// Where the value lives (`"PV:det:gain"`).
    #[getter]
    fn source(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(Signal::signal(slf)?.source().to_owned())
    }

    /// Whether the signal can be written.
    #[getter]
    fn write_access(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(Signal::signal(slf)?.writable())
    }

    /// The current value (waits for it).
    #[pyo3(signature = (timeout = None))]
    fn get(slf: &Bound<'_, Self>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let (py, this) = (slf.py(), base(slf));
        let node = this.node.clone();
        let reading = guarded(this.what("get"), async move { Ok(node.signal()?.get_value().await?) });
        let outcome = wait(py, reading, timeout.map(Duration::from_secs_f64))?.ok_or_else(|| {
            pyo3::exceptions::PyTimeoutError::new_err(format!("{} did not finish in {timeout:?} s", this.what("get")))
        })?;
        let value = outcome.map_err(|f: Failure| f.into_py(py))?;
        Ok(pythonize::pythonize(py, &value)?.unbind())
    }

    /// The current value.
    #[getter]
    fn value(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Signal::get(slf, None)
    }

    /// Write `value` and wait until it reads back.
    fn put(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let status = Signal::write(slf, value)?;
        let outcome = wait(py, status.into_future(), None)?.expect("no timeout was set");
        outcome.map_err(|e| crate::errors::to_py(py, &e))
    }

    /// Write `value`; the `Status` finishes when it reads back.
    fn set(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<Status>> {
        let py = slf.py();
        let status = Signal::write(slf, value)?;
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
            return Err(PyValueError::new_err(format!("{} has only \"value\" events, not {other:?}", base(slf).name)));
        }
        let this = base(slf);
        let signal = Signal::signal(slf)?;
        let (obj, target) = (Arc::new(slf.clone().unbind()), Arc::new(callback.clone_ref(py)));
        let old = Arc::new(Mutex::new(None::<Value>));
        let skip_first = Arc::new(AtomicBool::new(!run));
        let active = Arc::new(AtomicBool::new(true));
        let delivering = active.clone();
        let subscribe = move || {
            let _runtime = runtime().enter();
            signal.subscribe_value(Box::new(move |value, timestamp| {
                let old_value = old.lock().unwrap_or_else(|p| p.into_inner()).replace(value.clone());
                if skip_first.swap(false, Ordering::SeqCst) {
                    return;
                }
                let (obj, target, delivering) = (obj.clone(), target.clone(), delivering.clone());
                dispatch(Box::new(move |py| {
                    if !delivering.load(Ordering::SeqCst) {
                        return;
                    }
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
        };
        // Off the GIL: the subscription's request may wait for libca's locks.
        let subscription =
            guard(py, &this.what("subscribe"), || py.detach(subscribe))?.map_err(|e| crate::errors::to_py(py, &e))?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let subscribed = Subscribed { callback, active, subscription: OffGil::new(subscription) };
        slf.get().subscriptions.lock().unwrap_or_else(|p| p.into_inner()).insert(id, subscribed);
        Ok(id)
    }

    /// End a subscription, given its id or its callback: once this returns,
    /// the callback is not called again.
    fn clear_sub(&self, py: Python<'_>, callback_or_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = callback_or_id.extract::<u64>().ok();
        let ended: Vec<Subscribed> = {
            let mut subscriptions = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<u64> = subscriptions
                .iter()
                .filter(|(key, s)| Some(**key) == id || s.callback.bind(py).is(callback_or_id))
                .map(|(key, _)| *key)
                .collect();
            ids.into_iter().filter_map(|key| subscriptions.remove(&key)).collect()
        };
        // With no lock held: no more deliveries, the subscriptions ended
        // (off the GIL) before returning, then the callbacks let go of.
        for subscribed in ended {
            subscribed.active.store(false, Ordering::SeqCst);
            subscribed.subscription.drop_now(py);
        }
        Ok(())
    }
}

impl Signal {
    /// Start writing `value`, checked first against the signal's type.
    fn write(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<ophyd_core::Status> {
        let (py, this) = (slf.py(), base(slf));
        let what = this.what("set");
        let value = to_value(value).map_err(|e| PyTypeError::new_err(format!("{what}: {}", e.value(py))))?;
        Signal::signal(slf)?.check_value(&value).map_err(|e| crate::errors::to_py(py, &e))?;
        let node = this.node.clone();
        let failed = what.clone();
        guard(py, &what, || {
            let _runtime = runtime().enter();
            ophyd_core::Status::from_future(what.clone(), async move {
                // The path was a signal when the write was checked; a tree does not change.
                let signal = node.signal().map_err(|f| f.into_ophyd(&failed))?;
                signal.set_and_wait_value(value, WRITE_TIMEOUT).await
            })
        })
    }
}

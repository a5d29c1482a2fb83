//! The run engine: runs a [`Plan`], emitting documents, with cleanup that
//! cannot be skipped.

use std::sync::Arc;
use std::time::Duration;

use ophyd_core::{DeviceMeta, DynDevice, Error, Movable, Result, Status};
use serde_json::{json, Map, Value as Json};

use crate::callbacks::Callback;
use crate::control::{Request, RunControl};
use crate::documents::{new_uid, Document, Event, EventDescriptor, ExitStatus, RunStart, RunStop};

type Subscriber = Box<dyn Callback>;
type StatusWatcher = Box<dyn Fn(&Status) + Send + Sync>;

/// What to do: which devices, how many points, where the motor goes.
pub struct Plan<'a> {
    name: &'static str,
    detectors: Vec<&'a dyn DynDevice>,
    motor: Option<&'a dyn Movable>,
    positions: Vec<Option<f64>>,
    delay: Duration,
    plan_args: Map<String, Json>,
    metadata: Map<String, Json>,
}

impl Plan<'_> {
    /// Add `key: value` to the run's start document.
    pub fn with_metadata(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

fn names(devices: &[&dyn DynDevice]) -> Vec<String> {
    devices.iter().map(|d| d.name().to_owned()).collect()
}

/// Take `num` readings of `detectors`, `delay` apart (bluesky's `count`).
pub fn count<'a>(detectors: &[&'a dyn DynDevice], num: usize, delay: Duration) -> Plan<'a> {
    let mut plan_args = Map::new();
    plan_args.insert("detectors".into(), json!(names(detectors)));
    plan_args.insert("num".into(), json!(num));
    plan_args.insert("delay".into(), json!(delay.as_secs_f64()));
    Plan {
        name: "count",
        detectors: detectors.to_vec(),
        motor: None,
        positions: vec![None; num],
        delay,
        plan_args,
        metadata: Map::new(),
    }
}

/// Move `motor` to each of `positions` and read `detectors` there
/// (bluesky's `list_scan`).
pub fn scan<'a>(
    detectors: &[&'a dyn DynDevice],
    motor: &'a dyn Movable,
    positions: impl IntoIterator<Item = f64>,
) -> Plan<'a> {
    let positions: Vec<f64> = positions.into_iter().collect();
    let mut plan_args = Map::new();
    plan_args.insert("detectors".into(), json!(names(detectors)));
    plan_args.insert("motor".into(), json!(motor.name()));
    plan_args.insert("positions".into(), json!(positions));
    Plan {
        name: "scan",
        detectors: detectors.to_vec(),
        motor: Some(motor),
        positions: positions.into_iter().map(Some).collect(),
        delay: Duration::ZERO,
        plan_args,
        metadata: Map::new(),
    }
}

/// How a run went.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The run's uid.
    pub uid: String,
    /// How it ended.
    pub exit_status: ExitStatus,
    /// Why, when it did not succeed.
    pub reason: String,
    /// Events emitted.
    pub num_events: u64,
}

/// Runs plans, one at a time, sending every document to its subscribers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_run::{count, ExitStatus, RunEngine};
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "hinted")]
///     value: SoftSignal<f64>,
/// }
/// let det = Det::new("", "det");
/// let mut re = RunEngine::new();
/// let names = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let seen = names.clone();
/// re.subscribe(move |name, _doc| seen.lock().unwrap().push(name.to_owned()));
/// let summary = re.run(count(&[&det], 2, std::time::Duration::ZERO)).await?;
/// assert_eq!(summary.exit_status, ExitStatus::Success);
/// assert_eq!(*names.lock().unwrap(), ["start", "descriptor", "event", "event", "stop"]);
/// # Ok(()) }
/// ```
pub struct RunEngine {
    subscribers: Vec<Subscriber>,
    watchers: Vec<StatusWatcher>,
    control: RunControl,
    scan_id: u64,
}

impl Default for RunEngine {
    fn default() -> Self {
        RunEngine::new()
    }
}

impl RunEngine {
    /// An engine with no subscribers.
    pub fn new() -> RunEngine {
        RunEngine { subscribers: Vec::new(), watchers: Vec::new(), control: RunControl::new(), scan_id: 0 }
    }

    /// The handle that pauses, resumes and aborts this engine's runs.
    pub fn control(&self) -> RunControl {
        self.control.clone()
    }

    /// Send every document, with its name, to `subscriber(name, doc)`.
    pub fn subscribe(&mut self, subscriber: impl FnMut(&str, &Document) + Send + 'static) {
        self.subscribers.push(Box::new(subscriber));
    }

    /// Show `watcher` every Status a run waits on (each move and each
    /// trigger), e.g. [`ProgressBar::watch`](crate::ProgressBar::watch).
    pub fn watch_statuses(&mut self, watcher: impl Fn(&Status) + Send + Sync + 'static) {
        self.watchers.push(Box::new(watcher));
    }

    /// Send every document to a [`Callback`]: [`JsonLines`](crate::JsonLines),
    /// [`LiveTable`](crate::LiveTable), [`ProgressBar`](crate::ProgressBar).
    pub fn subscribe_callback(&mut self, callback: impl Callback + 'static) {
        self.subscribers.push(Box::new(callback));
    }

    /// Run `plan`: stage every device once, open the run, take each point
    /// (move, trigger every detector at once and wait, read, emit), and, at
    /// the end, whatever ended it — success, an error, a panic, an abort, or
    /// this future being dropped — stop every device the run moved, unstage
    /// every staged device in reverse order, and close the run.
    ///
    /// Returns the summary when the run succeeded or was aborted and its
    /// cleanup went well; otherwise the error (with any cleanup failures).
    pub async fn run(&mut self, plan: Plan<'_>) -> Result<RunSummary> {
        self.control.reset();
        self.scan_id += 1;
        let control = self.control.clone();
        let mut run = Run::new(&mut self.subscribers, &self.watchers, &plan);
        run.stage_all().await?;
        run.open(&plan, self.scan_id);
        let outcome = run.points(&plan, &control).await;
        run.finish(outcome).await
    }
}

/// Whether `device` is `other` or one of its sub-devices.
fn within(device: &Arc<DeviceMeta>, other: &Arc<DeviceMeta>) -> bool {
    let mut at = Some(device);
    while let Some(meta) = at {
        if Arc::ptr_eq(meta, other) {
            return true;
        }
        at = meta.parent();
    }
    false
}

enum Ended {
    Done,
    Aborted(String),
    Failed(Error),
}

struct Run<'r, 'a> {
    subscribers: &'r mut Vec<Subscriber>,
    watchers: &'r [StatusWatcher],
    /// Motor first, then detectors; each device once, sub-devices of
    /// listed devices left to their parents.
    devices: Vec<&'a dyn DynDevice>,
    staged: Vec<&'a dyn DynDevice>,
    moved: Vec<&'a dyn DynDevice>,
    start: Option<String>,
    descriptor: Option<String>,
    num_events: u64,
    closed: bool,
}

impl<'r, 'a> Run<'r, 'a> {
    fn new(subscribers: &'r mut Vec<Subscriber>, watchers: &'r [StatusWatcher], plan: &Plan<'a>) -> Self {
        let listed: Vec<&'a dyn DynDevice> =
            plan.motor.map(|m| m as &dyn DynDevice).into_iter().chain(plan.detectors.iter().copied()).collect();
        let mut devices: Vec<&'a dyn DynDevice> = Vec::new();
        for (i, d) in listed.iter().enumerate() {
            let covered = listed.iter().enumerate().any(|(j, other)| {
                let same = Arc::ptr_eq(d.meta(), other.meta());
                (same && j < i) || (!same && within(d.meta(), other.meta()))
            });
            if !covered {
                devices.push(*d);
            }
        }
        Run {
            subscribers,
            watchers,
            devices,
            staged: Vec::new(),
            moved: Vec::new(),
            start: None,
            descriptor: None,
            num_events: 0,
            closed: false,
        }
    }

    fn emit(&mut self, doc: Document) {
        for s in self.subscribers.iter_mut() {
            s.call(doc.name(), &doc);
        }
    }

    async fn stage_all(&mut self) -> Result<()> {
        for d in self.devices.clone() {
            // Recorded first: a stage dropped half-way is unstaged by `Drop`.
            self.staged.push(d);
            if let Err(e) = d.stage_dyn().await {
                if matches!(e, Error::RedundantStaging { .. } | Error::PartiallyStaged { .. }) {
                    self.staged.pop(); // staged by someone else: theirs to unstage
                }
                let errors = self.cleanup(false).await;
                self.closed = true;
                return Err(with(e, errors));
            }
        }
        Ok(())
    }

    fn open(&mut self, plan: &Plan<'a>, scan_id: u64) {
        let uid = new_uid();
        let dimensions = match plan.motor {
            Some(m) => {
                let mut fields = Vec::new();
                m.hints_into(&mut fields);
                json!([[fields, "primary"]])
            }
            None => json!([[["time"], "primary"]]),
        };
        let mut hints = Map::new();
        hints.insert("dimensions".into(), dimensions);
        let start = RunStart {
            uid: uid.clone(),
            time: ophyd_core::now(),
            scan_id,
            plan_name: plan.name.to_owned(),
            plan_type: "generator".into(),
            detectors: names(&plan.detectors),
            motors: plan.motor.map(|m| vec![m.name().to_owned()]).unwrap_or_default(),
            num_points: plan.positions.len(),
            num_intervals: plan.positions.len().saturating_sub(1),
            plan_args: plan.plan_args.clone(),
            hints,
            metadata: plan.metadata.clone(),
        };
        self.start = Some(uid);
        self.emit(Document::Start(start));
    }

    async fn points(&mut self, plan: &Plan<'a>, control: &RunControl) -> Ended {
        for (i, position) in plan.positions.iter().enumerate() {
            if let Err(reason) = self.boundary(control).await {
                return Ended::Aborted(reason);
            }
            let outcome = tokio::select! {
                outcome = self.point(plan, *position) => outcome,
                reason = control.aborted() => return Ended::Aborted(reason),
            };
            if let Err(e) = outcome {
                return Ended::Failed(e);
            }
            if !plan.delay.is_zero() && i + 1 < plan.positions.len() {
                tokio::select! {
                    _ = tokio::time::sleep(plan.delay) => {}
                    reason = control.aborted() => return Ended::Aborted(reason),
                }
            }
        }
        Ended::Done
    }

    /// A point boundary: honour a pause (devices paused, then resumed) or an abort.
    async fn boundary(&mut self, control: &RunControl) -> Result<(), String> {
        match control.request() {
            Request::Run => Ok(()),
            Request::Abort(reason) => Err(reason),
            Request::Pause => {
                tracing::info!("run paused");
                for d in &self.staged {
                    if let Err(e) = d.pause_dyn().await {
                        tracing::warn!(device = d.name(), error = %e, "pause failed");
                    }
                }
                control.proceed().await?;
                tracing::info!("run resumed");
                for d in &self.staged {
                    if let Err(e) = d.resume_dyn().await {
                        tracing::warn!(device = d.name(), error = %e, "resume failed");
                    }
                }
                Ok(())
            }
        }
    }

    async fn point(&mut self, plan: &Plan<'a>, position: Option<f64>) -> Result<()> {
        if let (Some(motor), Some(target)) = (plan.motor, position) {
            let as_device: &dyn DynDevice = motor;
            if !self.moved.iter().any(|m| Arc::ptr_eq(m.meta(), as_device.meta())) {
                self.moved.push(as_device);
            }
            let moving = motor.move_to(target);
            self.show(&moving);
            moving.await?;
        }
        let triggers = plan.detectors.iter().map(|d| d.trigger_dyn()).collect::<Vec<_>>();
        for t in &triggers {
            self.show(t);
        }
        Status::all("trigger of the detectors", triggers).await?;

        if self.descriptor.is_none() {
            self.describe().await?;
        }
        let mut data = Map::new();
        let mut timestamps = Map::new();
        for d in &self.devices {
            for (key, reading) in d.read_dyn().await? {
                data.insert(key.to_string(), serde_json::to_value(&reading.value).expect("values serialize"));
                timestamps.insert(key.to_string(), json!(reading.timestamp));
            }
        }
        self.num_events += 1;
        let event = Event {
            uid: new_uid(),
            time: ophyd_core::now(),
            descriptor: self.descriptor.clone().expect("described above"),
            seq_num: self.num_events,
            data,
            timestamps,
            filled: Map::new(),
        };
        self.emit(Document::Event(event));
        Ok(())
    }

    fn show(&self, status: &Status) {
        for w in self.watchers {
            w(status);
        }
    }

    async fn describe(&mut self) -> Result<()> {
        let mut data_keys = Map::new();
        let mut configuration = Map::new();
        let mut object_keys = Map::new();
        let mut hints = Map::new();
        for d in &self.devices {
            let name = d.name().to_owned();
            let mut keys = Vec::new();
            for (key, data_key) in d.describe_dyn().await? {
                let mut entry = serde_json::to_value(&data_key).expect("data keys serialize");
                entry["object_name"] = json!(name);
                keys.push(key.to_string());
                data_keys.insert(key.to_string(), entry);
            }
            object_keys.insert(name.clone(), json!(keys));
            let (mut data, mut timestamps) = (Map::new(), Map::new());
            for (key, reading) in d.read_configuration_dyn().await? {
                data.insert(key.to_string(), serde_json::to_value(&reading.value).expect("values serialize"));
                timestamps.insert(key.to_string(), json!(reading.timestamp));
            }
            let config_keys = serde_json::to_value(d.describe_configuration_dyn().await?).expect("data keys serialize");
            configuration
                .insert(name.clone(), json!({"data": data, "timestamps": timestamps, "data_keys": config_keys}));
            let mut fields = Vec::new();
            d.hints_into(&mut fields);
            hints.insert(name, json!({ "fields": fields }));
        }
        let uid = new_uid();
        let descriptor = EventDescriptor {
            uid: uid.clone(),
            time: ophyd_core::now(),
            run_start: self.start.clone().expect("the run is open"),
            name: "primary".into(),
            data_keys,
            configuration,
            object_keys,
            hints,
        };
        self.descriptor = Some(uid);
        self.emit(Document::Descriptor(descriptor));
        Ok(())
    }

    /// Stop what the run moved, then unstage in reverse; every step is
    /// attempted and every failure returned.
    async fn cleanup(&mut self, success: bool) -> Vec<Error> {
        let mut errors = Vec::new();
        for m in &self.moved {
            if let Err(e) = m.stop_dyn(success).await {
                errors.push(e);
            }
        }
        // Each device leaves the list once its unstage has run, so a cleanup
        // dropped half-way is finished by `Drop`.
        while let Some(d) = self.staged.last().copied() {
            if let Err(e) = d.unstage_dyn().await {
                errors.push(e);
            }
            self.staged.pop();
        }
        errors
    }

    async fn finish(mut self, ended: Ended) -> Result<RunSummary> {
        let success = matches!(ended, Ended::Done);
        let errors = self.cleanup(success).await;
        let (exit_status, mut reason, error) = match ended {
            Ended::Done => (ExitStatus::Success, String::new(), None),
            Ended::Aborted(reason) => (ExitStatus::Abort, reason, None),
            Ended::Failed(e) => (ExitStatus::Fail, e.to_string(), Some(e)),
        };
        let exit_status = if errors.is_empty() { exit_status } else { ExitStatus::Fail };
        if !errors.is_empty() {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let sep = if reason.is_empty() { "" } else { "; " };
            reason = format!("{reason}{sep}cleanup failed: {}", list.join("; "));
        }
        self.close(exit_status, reason.clone());
        let summary = RunSummary {
            uid: self.start.clone().unwrap_or_default(),
            exit_status,
            reason,
            num_events: self.num_events,
        };
        match (error, errors.is_empty()) {
            (None, true) => Ok(summary),
            (Some(e), _) => Err(with(e, errors)),
            (None, false) => Err(Error::Many(errors)),
        }
    }

    fn close(&mut self, exit_status: ExitStatus, reason: String) {
        self.closed = true;
        let Some(start) = self.start.clone() else { return };
        let mut num_events = Map::new();
        num_events.insert("primary".into(), json!(self.num_events));
        let stop =
            RunStop { uid: new_uid(), time: ophyd_core::now(), run_start: start, exit_status, reason, num_events };
        self.emit(Document::Stop(stop));
    }
}

fn with(error: Error, mut more: Vec<Error>) -> Error {
    if more.is_empty() {
        error
    } else {
        more.insert(0, error);
        Error::Many(more)
    }
}

impl Drop for Run<'_, '_> {
    /// The run future was dropped (or a panic unwound through it) before the
    /// run closed: clean up now, on a helper thread with its own runtime
    /// (`Drop` cannot await), then close the run.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let panicking = std::thread::panicking();
        // Cleanup, and the closing document, run on a helper thread: `Drop`
        // cannot await, and a subscriber that panics again there (while this
        // thread unwinds) must not abort the process.
        let closed = std::thread::scope(|s| {
            s.spawn(|| {
                let errors = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt.block_on(self.cleanup(false)),
                    Err(e) => vec![Error::Failed { what: "cleanup of a dropped run".into(), reason: e.to_string() }],
                };
                let (status, mut reason) = if panicking {
                    (ExitStatus::Fail, "a panic ended the run".to_owned())
                } else {
                    (ExitStatus::Abort, "the run was dropped before it finished".to_owned())
                };
                for e in &errors {
                    tracing::error!(error = %e, "cleanup of a dropped run failed");
                    reason.push_str(&format!("; cleanup failed: {e}"));
                }
                self.close(status, reason);
            })
            .join()
        });
        if closed.is_err() {
            tracing::error!("cleanup of a dropped run panicked");
        }
    }
}

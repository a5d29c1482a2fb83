//! The run engine: runs a [`Plan`], emitting documents, with cleanup that
//! cannot be skipped.

use std::time::Duration;

use ophyd_core::{
    top_level_devices, CleanupPolicy, DynDevice, Error, Interrupt, Movable, Result, StageGuard, Status, StreamAsset,
};
use serde_json::{json, Map, Value as Json};

use crate::callbacks::Callback;
use crate::control::{Request, RunControl};
use crate::documents::{
    new_uid, Document, Event, EventDescriptor, ExitStatus, RunStart, RunStop, StreamDatum, StreamRange, StreamResource,
};

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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use std::time::Duration;
/// use ophyd_core::prelude::*;
/// use ophyd_run::{count, RunEngine};
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "hinted")]
///     reading: SoftSignal<f64>,
/// }
/// let det = Det::new("", "det");
/// let mut re = RunEngine::new();
/// let summary = re.run(count(&[&det], 3, Duration::ZERO).with_metadata("sample", "Si")).await?;
/// assert_eq!(summary.num_events, 3);
/// # Ok(()) }
/// ```
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
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_epics::{sim::SimIoc, EpicsMotor};
/// use ophyd_run::{scan, RunEngine};
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "hinted")]
///     reading: SoftSignal<f64>,
/// }
/// let ioc = SimIoc::new();
/// ioc.add_motor("XF:m1", 0.0);
/// let m1 = EpicsMotor::new("XF:m1", "m1");
/// m1.connect(&ioc.transport()).await?;
/// m1.velocity.put(100.0).await?;
/// let det = Det::new("", "det");
/// let summary = RunEngine::new().run(scan(&[&det], &m1, [0.0, 0.5, 1.0])).await?;
/// assert_eq!(summary.num_events, 3);
/// assert_eq!(m1.user_readback.get().await?, 1.0);
/// # Ok(()) }
/// ```
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
    policy: CleanupPolicy,
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
        RunEngine {
            subscribers: Vec::new(),
            watchers: Vec::new(),
            control: RunControl::new(),
            policy: CleanupPolicy::default(),
            scan_id: 0,
        }
    }

    /// How runs clean up: the timeout of each device's stage, unstage and
    /// stop (a device's own [`StepTimeouts`](ophyd_core::StepTimeouts) win),
    /// and how long restores that failed on a lost connection are retried.
    pub fn set_cleanup_policy(&mut self, policy: CleanupPolicy) {
        self.policy = policy;
    }

    /// The cleanup policy of this engine's runs.
    pub fn cleanup_policy(&self) -> CleanupPolicy {
        self.policy
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
    ///
    /// ```
    /// use ophyd_run::{JsonLines, LiveTable, RunEngine};
    /// let mut re = RunEngine::new();
    /// re.subscribe_callback(LiveTable::stdout());
    /// let path = std::env::temp_dir().join(format!("run-{}.jsonl", std::process::id()));
    /// re.subscribe_callback(JsonLines::create(&path).unwrap()); // [name, document] per line
    /// # std::fs::remove_file(path).ok();
    /// ```
    pub fn subscribe_callback(&mut self, callback: impl Callback + 'static) {
        self.subscribers.push(Box::new(callback));
    }

    /// Run `plan`: stage every device once, open the run, take each point
    /// (move, trigger every detector at once and wait, read, emit), and, at
    /// the end, whatever ended it — success, an error, a panic, an abort, or
    /// this future being dropped — stop every device the run moved, unstage
    /// every staged device in reverse order, and close the run.
    ///
    /// Each step of the cleanup is bounded by the [`CleanupPolicy`]; an
    /// interrupt of the control's [`RunControl::cleanup_interrupt`] (a
    /// Ctrl-C during cleanup) skips the step in progress. An abort asked
    /// for before the run starts is honoured: the run opens and closes with
    /// exit status `abort`, touching no device.
    ///
    /// Returns the summary when the run succeeded or was aborted and its
    /// cleanup went well; otherwise the error (with any cleanup failures).
    pub async fn run(&mut self, plan: Plan<'_>) -> Result<RunSummary> {
        self.scan_id += 1;
        let control = self.control.clone();
        // The next run starts afresh, however this one ends.
        let _reset = ResetOnDrop(control.clone());
        let mut run = Run::new(&mut self.subscribers, &self.watchers, &plan);
        if let Request::Abort(reason) = control.request() {
            run.open(&plan, self.scan_id);
            return run.finish(Ended::Aborted(reason)).await;
        }
        run.stage_all(self.policy, control.cleanup_interrupt()).await?;
        run.open(&plan, self.scan_id);
        let outcome = run.points(&plan, &control).await;
        run.finish(outcome).await
    }
}

/// Readies a control for the next run when a run ends (or is dropped).
struct ResetOnDrop(RunControl);

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        self.0.reset();
    }
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
    /// What puts the devices back: the core's guard, the one copy of the
    /// cleanup promise.
    guard: Option<StageGuard<'a>>,
    start: Option<String>,
    descriptor: Option<String>,
    num_events: u64,
    closed: bool,
}

impl<'r, 'a> Run<'r, 'a> {
    fn new(subscribers: &'r mut Vec<Subscriber>, watchers: &'r [StatusWatcher], plan: &Plan<'a>) -> Self {
        let listed: Vec<&'a dyn DynDevice> =
            plan.motor.map(|m| m as &dyn DynDevice).into_iter().chain(plan.detectors.iter().copied()).collect();
        Run {
            subscribers,
            watchers,
            devices: top_level_devices(&listed),
            guard: None,
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

    /// Stage every device once; on failure the guard has put back what
    /// was staged, and no run is opened.
    async fn stage_all(&mut self, policy: CleanupPolicy, interrupt: Interrupt) -> Result<()> {
        match StageGuard::stage_with(&self.devices, policy, interrupt).await {
            Ok(guard) => {
                self.guard = Some(guard);
                Ok(())
            }
            Err(e) => {
                self.closed = true;
                Err(e)
            }
        }
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
                for d in &self.devices {
                    if let Err(e) = d.pause_dyn().await {
                        tracing::warn!(device = d.name(), error = %e, "pause failed");
                    }
                }
                control.proceed().await?;
                tracing::info!("run resumed");
                for d in &self.devices {
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
            if let Some(guard) = self.guard.as_mut() {
                guard.moved(motor);
            }
            let moving = motor.move_to(target).await?;
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
        // Where the external data of this point is: resources, then data,
        // before the event (bluesky's order). Counted only once all of it
        // is known: a point that fails here has no event.
        let seq_num = self.num_events + 1;
        let mut documents = Vec::new();
        for d in &self.devices {
            for asset in d.collect_asset_docs_dyn().await? {
                documents.push(self.asset_document(d.name(), asset, seq_num)?);
            }
        }
        for doc in documents {
            self.emit(doc);
        }
        self.num_events = seq_num;
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

    /// The document of `device`'s stream asset, with what the run knows
    /// (the run, the descriptor, the sequence numbers of the events whose
    /// data it is: as many as its indices, ending with `seq_num`'s, as
    /// bluesky numbers them).
    fn asset_document(&self, device: &str, asset: StreamAsset, seq_num: u64) -> Result<Document> {
        Ok(match asset {
            StreamAsset::Resource(r) => Document::StreamResource(StreamResource {
                uid: r.uid,
                data_key: r.data_key,
                mimetype: r.mimetype,
                uri: r.uri,
                parameters: r
                    .parameters
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::to_value(v).expect("values serialize")))
                    .collect(),
                run_start: self.start.clone().expect("opened before any point"),
            }),
            StreamAsset::Datum(d) => {
                let events = d.indices.end.saturating_sub(d.indices.start);
                if events == 0 || events > seq_num {
                    return Err(Error::Failed {
                        what: format!("the stream datum {} of `{device}`", d.uid),
                        reason: format!(
                            "it covers indices {}..{}, but {seq_num} event(s) can have data in it",
                            d.indices.start, d.indices.end
                        ),
                    });
                }
                Document::StreamDatum(StreamDatum {
                    stream_resource: d.stream_resource,
                    uid: d.uid,
                    seq_nums: StreamRange { start: seq_num + 1 - events, stop: seq_num + 1 },
                    indices: StreamRange { start: d.indices.start, stop: d.indices.end },
                    descriptor: self.descriptor.clone().expect("described before any event"),
                })
            }
        })
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
            // The device's readings, then what it writes outside the events.
            let described = d.describe_dyn().await?.into_iter().chain(d.describe_streams_dyn().await?);
            for (key, data_key) in described {
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

    async fn finish(mut self, ended: Ended) -> Result<RunSummary> {
        let success = matches!(ended, Ended::Done);
        let cleanup = match self.guard.take() {
            Some(guard) => Some(guard.finish(success).await),
            None => None,
        };
        let (exit_status, reason, error) = match ended {
            Ended::Done => (ExitStatus::Success, String::new(), None),
            Ended::Aborted(reason) => (ExitStatus::Abort, reason, None),
            Ended::Failed(e) => (ExitStatus::Fail, e.to_string(), Some(e)),
        };
        let (exit_status, reason) = match &cleanup {
            Some(cleanup) => with_cleanup(exit_status, reason, cleanup),
            None => (exit_status, reason), // nothing was staged
        };
        self.close(exit_status, reason.clone());
        let summary = RunSummary {
            uid: self.start.clone().unwrap_or_default(),
            exit_status,
            reason,
            num_events: self.num_events,
        };
        match (error, cleanup.unwrap_or(Ok(()))) {
            (None, Ok(())) => Ok(summary),
            (Some(e), cleanup) => Err(e.with(cleanup.err().into_iter().collect())),
            (None, Err(c)) => Err(c),
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

/// The exit status and reason of a run, given how its cleanup went: a
/// failed cleanup fails the run and says what is still changed; a run that
/// did not succeed says that everything was put back.
fn with_cleanup(exit_status: ExitStatus, mut reason: String, cleanup: &Result<()>) -> (ExitStatus, String) {
    let sep = if reason.is_empty() { "" } else { "; " };
    match cleanup {
        Ok(()) if exit_status == ExitStatus::Success => (exit_status, reason),
        Ok(()) => {
            reason.push_str(&format!("{sep}cleanup: everything was put back"));
            (exit_status, reason)
        }
        Err(e) => {
            reason.push_str(&format!("{sep}{e}"));
            (ExitStatus::Fail, reason)
        }
    }
}

impl Drop for Run<'_, '_> {
    /// The run future was dropped (or a panic unwound through it) before the
    /// run closed: clean up now through the guard, then close the run.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let panicking = std::thread::panicking();
        // The closing document goes out on a helper thread: a subscriber
        // that panics again there (while this thread unwinds) must not
        // abort the process.
        let closed = std::thread::scope(|s| {
            s.spawn(|| {
                let cleanup = self.guard.take().map_or(Ok(()), |guard| guard.finish_blocking(false));
                if let Err(e) = &cleanup {
                    tracing::error!(error = %e, "cleanup of a dropped run failed");
                }
                let (status, reason) = if panicking {
                    (ExitStatus::Fail, "a panic ended the run".to_owned())
                } else {
                    (ExitStatus::Abort, "the run was dropped before it finished".to_owned())
                };
                let (status, reason) = with_cleanup(status, reason, &cleanup);
                self.close(status, reason);
            })
            .join()
        });
        if closed.is_err() {
            tracing::error!("cleanup of a dropped run panicked");
        }
    }
}

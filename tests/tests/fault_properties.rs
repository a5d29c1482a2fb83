//! Property test of staging's promise on the simulated IOC: nothing the
//! user had is lost and nothing hangs.
//!
//! A random sequence of operations — connect, stage, trigger, read,
//! unstage, a stage or unstage cut off at a random await point, a staged
//! scope dropped at a random await point, a staged scope whose body
//! panics, two scopes racing from two tasks, the sub-device staged and
//! unstaged on its own — runs against a device with staged signals of four
//! value types and a staged sub-device, while faults are injected at
//! random points (now, or on the IOC's n-th next write): PVs that refuse
//! writes, drop off the network before or after the IOC takes a value,
//! whose processing fails or never ends, whose write access is revoked,
//! and that come back. Then every fault is healed and `unstage()` called
//! until it succeeds: every PV must hold exactly what it held before the
//! first stage (floats bit for bit, NaN matching NaN), the devices must be
//! unstaged, and every Status created must be done. Between operations, a
//! device that says it is not staged must have put its values back, and
//! every value still changed must be reported with its true original.
//! Every await is bounded; a hang is a failure naming the step.
//!
//! `PROPTEST_CASES` changes the number of sequences (default [`CASES`]).
//! The counter-examples it found, shrunk, are regression tests at the end
//! of the file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::{Future, IntoFuture};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_core::staging::{self, Staged};
use ophyd_core::{CleanupPolicy, DynDevice, Error, Interrupt, StageGuard, StepTimeouts, Value};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::EpicsSignal;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// Random sequences per run unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 2000;

/// How long one operation may take before it counts as hung.
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// How long a whole sequence may take before it counts as hung (a hang
/// in a blocking `Drop` cannot be timed out from inside the sequence).
const CASE_LIMIT: Duration = Duration::from_secs(60);

/// How long a put-complete write may wait for the IOC's processing.
const COMPLETION_TIMEOUT: Duration = Duration::from_millis(100);

/// The panic message of the panics the test makes on purpose.
const INJECTED_PANIC: &str = "injected panic in a staged scope";

#[derive(Device)]
struct Cam {
    #[component(suffix = ":exposure", kind = "config", put_complete, stage = 0.25)]
    exposure: EpicsSignal<f64>,
    #[component(suffix = ":count", kind = "config", stage = 5)]
    count: EpicsSignal<i32>,
}

#[derive(Device)]
#[device(custom(trigger))]
struct Det {
    #[component(suffix = ":gain", kind = "config", put_complete, stage = 2.5)]
    gain: EpicsSignal<f64>,
    #[component(suffix = ":frames", kind = "config", stage = 10)]
    frames: EpicsSignal<i32>,
    #[component(suffix = ":mode", kind = "config", stage = "multiple")]
    mode: EpicsSignal<Enum>,
    #[component(suffix = ":label", kind = "config", stage = "staged run")]
    label: EpicsSignal<String>,
    #[component(suffix = ":acquire", kind = "omitted", put_complete)]
    acquire: EpicsSignal<Enum>,
    #[component(suffix = ":cam")]
    cam: Cam,
}

impl Trigger for Det {
    fn trigger(&self) -> Status {
        self.acquire.set(1)
    }
}

/// The staged PVs, in declaration order.
const STAGED: [&str; 6] = ["f:gain", "f:frames", "f:mode", "f:label", "f:cam:exposure", "f:cam:count"];
const ACQUIRE: &str = "f:acquire";
/// Every PV a fault can hit: the staged ones and the trigger's.
const PVS: [&str; 7] = ["f:gain", "f:frames", "f:mode", "f:label", "f:cam:exposure", "f:cam:count", ACQUIRE];
const MODES: [&str; 3] = ["single", "multiple", "continuous"];

/// What the staged PVs hold while the device is staged.
fn stage_values() -> [Value; 6] {
    [
        Value::Float(2.5),
        Value::Int(10),
        Value::Int(1),
        Value::String("staged run".into()),
        Value::Float(0.25),
        Value::Int(5),
    ]
}

/// What the staged PVs hold before the first stage: what must come back.
#[derive(Clone, Debug)]
struct Originals {
    gain: f64,
    frames: i32,
    /// May be out of the enum's range (an mbbo with no string for its value).
    mode: u16,
    label: String,
    exposure: f64,
    count: i32,
}

impl Originals {
    fn values(&self) -> [Value; 6] {
        [
            Value::Float(self.gain),
            Value::Int(self.frames.into()),
            Value::Int(self.mode.into()),
            Value::String(self.label.clone()),
            Value::Float(self.exposure),
            Value::Int(self.count.into()),
        ]
    }
}

/// What happens to a PV, or to how its IOC handles writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The put handler refuses writes.
    Refuse,
    /// The PV drops off the network (before the IOC takes a value).
    Disconnect,
    /// The put handler stores the value, then the PV drops off the
    /// network: the IOC took the value, the client sees an error.
    StoreThenDisconnect,
    /// The put handler stores the value, then its processing fails (a
    /// put-complete write fails after the value changed).
    CompletionFails,
    /// The put handler stores the value and its processing never ends (a
    /// put-complete write times out).
    Hang,
    /// Client write access revoked.
    RevokeWrite,
    /// Back to normal: reconnected, writable, the normal put handler.
    Heal,
}

/// How long each put-complete PV's processing takes, in yields of the
/// IOC's task (each one a point where a cut-off can land).
#[derive(Clone, Copy, Debug)]
struct Processing {
    gain: u8,
    exposure: u8,
    acquire: u8,
}

#[derive(Clone, Debug)]
enum Op {
    /// `connect()` again (a PV that is down makes it time out).
    Connect,
    Stage,
    Unstage,
    /// `trigger()`; its Status awaited if `wait`, else left to finish.
    Trigger {
        wait: bool,
    },
    Read,
    /// `stage()` polled `polls` times, then dropped.
    CutStage {
        polls: u8,
    },
    /// `unstage()` polled `polls` times, then dropped.
    CutUnstage {
        polls: u8,
    },
    /// A staged scope (a trigger and a read inside if `work`) polled
    /// `polls` times, then dropped.
    DropScope {
        polls: u8,
        work: bool,
    },
    /// A staged scope whose body panics (after a trigger and a read if
    /// `work`), in a tokio task if `in_task`, else under `catch_unwind`.
    Panic {
        in_task: bool,
        work: bool,
    },
    /// `fault` hits `PVS[pv]` now (`after_writes == 0`) or when the IOC
    /// receives its `after_writes`-th client write from now on (any PV),
    /// before that write is handled.
    Fault {
        pv: usize,
        fault: Fault,
        after_writes: u8,
    },
    /// Two staged scopes race: one in a tokio task of its own, the other
    /// (a trigger and a read inside if `work`) polled `polls` times in this
    /// one, then dropped.
    Race {
        polls: u8,
        work: bool,
    },
    /// `stage()` of the sub-device on its own (the user's).
    StageSub,
    /// `unstage()` of the sub-device on its own.
    UnstageSub,
    /// Every PV back to normal, every armed fault disarmed (the IOC rebooted).
    HealAll,
}

/// The IOC side of the faults: how each PV handles writes now, and the
/// faults armed to fire on a later write.
#[derive(Default)]
struct Lab {
    state: Mutex<LabState>,
}

#[derive(Default)]
struct LabState {
    /// PVs whose put handler misbehaves (Refuse, StoreThenDisconnect,
    /// CompletionFails, Hang); the others behave.
    handling: HashMap<&'static str, Fault>,
    /// `(writes to go, pv, fault)`.
    armed: Vec<(u8, &'static str, Fault)>,
    disconnected: HashSet<&'static str>,
    read_only: HashSet<&'static str>,
    /// Faults that hit the IOC (now or armed ones that fired).
    fired: usize,
}

impl Lab {
    fn state(&self) -> std::sync::MutexGuard<'_, LabState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn apply(&self, ioc: &SimIoc, pv: &'static str, fault: Fault) {
        let mut state = self.state();
        state.fired += 1;
        match fault {
            Fault::Disconnect => {
                state.disconnected.insert(pv);
                ioc.set_connected(pv, false);
            }
            Fault::RevokeWrite => {
                state.read_only.insert(pv);
                ioc.set_writable(pv, false);
            }
            Fault::Heal => {
                state.handling.remove(pv);
                state.disconnected.remove(pv);
                state.read_only.remove(pv);
                ioc.set_connected(pv, true);
                ioc.set_writable(pv, true);
            }
            handling => {
                state.handling.insert(pv, handling);
            }
        }
    }

    fn arm(&self, pv: &'static str, fault: Fault, after_writes: u8) {
        self.state().armed.push((after_writes, pv, fault));
    }

    /// A client write reached the IOC: fire the faults armed for it.
    fn count_write(&self, ioc: &SimIoc) {
        let due: Vec<(&'static str, Fault)> = {
            let mut state = self.state();
            state.armed.iter_mut().for_each(|(n, _, _)| *n -= 1);
            let due = state.armed.iter().filter(|(n, _, _)| *n == 0).map(|&(_, pv, f)| (pv, f)).collect();
            state.armed.retain(|(n, _, _)| *n > 0);
            due
        };
        for (pv, fault) in due {
            self.apply(ioc, pv, fault);
        }
    }

    /// Heal every PV and disarm every fault.
    fn heal_all(&self, ioc: &SimIoc) {
        self.state().armed.clear();
        for pv in PVS {
            self.apply(ioc, pv, Fault::Heal);
        }
    }

    /// Whether a PV is down or may go down: a cleanup would then wait
    /// for it to come back (the default grace period is 30 s).
    fn disconnection_possible(&self) -> bool {
        let state = self.state();
        let goes_down = |f: &Fault| matches!(f, Fault::Disconnect | Fault::StoreThenDisconnect);
        !state.disconnected.is_empty()
            || state.handling.values().any(goes_down)
            || state.armed.iter().any(|(_, _, f)| goes_down(f))
    }

    /// Whether the IOC behaves everywhere, and will.
    fn healthy(&self) -> bool {
        let state = self.state();
        state.handling.is_empty()
            && state.armed.is_empty()
            && state.disconnected.is_empty()
            && state.read_only.is_empty()
    }

    /// The put handler of `pv`: counts the write (firing armed faults),
    /// then does what the PV's handling says. Processing takes `yields`
    /// yields of the IOC's task; the trigger's sets it back to 0 at the end.
    fn handler(
        self: &Arc<Self>,
        pv: &'static str,
        yields: u8,
    ) -> impl Fn(&SimIoc, &Value) -> PutAction + Send + Sync + 'static {
        let lab = self.clone();
        move |ioc, value| {
            lab.count_write(ioc);
            let handling = lab.state().handling.get(pv).copied();
            let processing = |outcome: Result<(), String>| -> BoxFuture<'static, Result<(), String>> {
                let ioc = ioc.clone();
                async move {
                    for _ in 0..yields {
                        tokio::task::yield_now().await;
                    }
                    if pv == ACQUIRE && outcome.is_ok() {
                        ioc.write(ACQUIRE, 0);
                    }
                    outcome
                }
                .boxed()
            };
            match handling {
                None => PutAction::Write { value: value.clone(), completion: Some(processing(Ok(()))) },
                Some(Fault::Refuse) => PutAction::Refuse("injected fault: interlock".into()),
                Some(Fault::StoreThenDisconnect) => {
                    lab.state().disconnected.insert(pv);
                    ioc.set_connected(pv, false);
                    PutAction::accept(value)
                }
                Some(Fault::CompletionFails) => PutAction::Write {
                    value: value.clone(),
                    completion: Some(processing(Err("injected fault: processing failed".into()))),
                },
                Some(Fault::Hang) => {
                    PutAction::Write { value: value.clone(), completion: Some(futures::future::pending().boxed()) }
                }
                Some(other) => unreachable!("{other:?} is not a way of handling writes"),
            }
        }
    }
}

/// The IOC holding `originals`, with every PV's writes going through `lab`.
fn ioc(originals: &Originals, processing: Processing, lab: &Arc<Lab>) -> SimIoc {
    let ioc = SimIoc::new();
    let yields = |pv: &str| match pv {
        "f:gain" => processing.gain,
        "f:cam:exposure" => processing.exposure,
        ACQUIRE => processing.acquire,
        _ => 0,
    };
    let specs = [
        PvSpec::double("f:gain", originals.gain),
        PvSpec::long("f:frames", originals.frames),
        PvSpec::enumeration("f:mode", &MODES, originals.mode),
        PvSpec::string("f:label", &originals.label),
        PvSpec::double("f:cam:exposure", originals.exposure).precision(3),
        PvSpec::long("f:cam:count", originals.count),
        PvSpec::enumeration(ACQUIRE, &["Done", "Acquire"], 0),
    ];
    for (pv, spec) in PVS.into_iter().zip(specs) {
        ioc.add(spec.on_put(lab.handler(pv, yields(pv))));
    }
    ioc
}

/// Same value, floats bit for bit (so -0.0 is not 0.0), any NaN matching
/// any NaN.
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// The staged PVs whose IOC value is not `expected`, described.
fn differences(ioc: &SimIoc, expected: &[Value; 6]) -> Vec<String> {
    STAGED
        .iter()
        .zip(expected)
        .filter_map(|(pv, want)| match ioc.get(pv) {
            Some(got) if identical(&got, want) => None,
            got => Some(format!("{pv} holds {got:?}, not {want:?}")),
        })
        .collect()
}

/// The cleanup policy of the scopes built on `StageGuard`: a short grace
/// for PVs that are down (the test heals them only at the end).
fn quick_policy() -> CleanupPolicy {
    CleanupPolicy {
        timeouts: StepTimeouts { stage: STEP_LIMIT / 2, unstage: STEP_LIMIT / 2, stop: Duration::from_secs(1) },
        reconnect_grace: Duration::from_millis(5),
    }
}

/// Counts over every sequence run, for the summary.
#[derive(Default)]
struct Tally {
    sequences: AtomicUsize,
    operations: AtomicUsize,
    faults: AtomicUsize,
    stages_ok: AtomicUsize,
    stages_failed: AtomicUsize,
    cut_off: AtomicUsize,
    /// While staging, in the body, while unstaging.
    scopes_dropped: [AtomicUsize; 3],
    panics: AtomicUsize,
    staged_at_the_end: AtomicUsize,
    unstage_retries: AtomicUsize,
}

static TALLY: Tally = Tally {
    sequences: AtomicUsize::new(0),
    operations: AtomicUsize::new(0),
    faults: AtomicUsize::new(0),
    stages_ok: AtomicUsize::new(0),
    stages_failed: AtomicUsize::new(0),
    cut_off: AtomicUsize::new(0),
    scopes_dropped: [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)],
    panics: AtomicUsize::new(0),
    staged_at_the_end: AtomicUsize::new(0),
    unstage_retries: AtomicUsize::new(0),
};

fn count(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Why stages failed, by error name, for the summary.
static STAGE_FAILURES: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// One sequence's world.
struct Bench {
    det: Arc<Det>,
    ioc: SimIoc,
    lab: Arc<Lab>,
    originals: [Value; 6],
    /// Every Status the sequence created.
    statuses: Mutex<Vec<Status>>,
    /// The step in progress, for the hang report.
    step: Arc<Mutex<String>>,
    /// Whether the user staged the sub-device on its own (then it is
    /// theirs to unstage).
    user_cam: AtomicBool,
    /// Where the last scope is: [`STAGING`], [`IN_BODY`] or [`UNSTAGING`].
    phase: AtomicU8,
}

const STAGING: u8 = 0;
const IN_BODY: u8 = 1;
const UNSTAGING: u8 = 2;

impl Bench {
    /// `future`, bounded by [`STEP_LIMIT`]; a timeout names the step.
    async fn step<T>(&self, what: &str, future: impl IntoFuture<Output = T>) -> Result<T, String> {
        *self.step.lock().unwrap() = what.to_owned();
        tokio::time::timeout(STEP_LIMIT, future).await.map_err(|_| format!("step `{what}` hung (over {STEP_LIMIT:?})"))
    }

    fn keep(&self, status: &Status) {
        self.statuses.lock().unwrap().push(status.clone());
    }

    /// Between operations: a device that says it is not staged has put
    /// its own values back; a sub-device is left staged only by the user;
    /// and every value still changed is reported, with its true original.
    fn check_between_operations(&self, after: &str) -> Result<(), String> {
        let (det, cam): (&dyn DynDevice, &dyn DynDevice) = (&*self.det, &self.det.cam);
        for (device, own) in [(det, 0..4), (cam, 4..6)] {
            if staging::state_of(device) != Staged::No {
                continue;
            }
            let wrong: Vec<String> = own
                .filter_map(|i| match self.ioc.get(STAGED[i]) {
                    Some(got) if identical(&got, &self.originals[i]) => None,
                    got => Some(format!("{} holds {got:?}, not {:?}", STAGED[i], self.originals[i])),
                })
                .collect();
            if !wrong.is_empty() {
                return Err(format!("after {after}: `{}` is not staged but {}", device.name(), wrong.join("; ")));
            }
        }
        if staging::state_of(det) == Staged::No
            && staging::state_of(cam) != Staged::No
            && !self.user_cam.load(Ordering::SeqCst)
        {
            return Err(format!(
                "after {after}: `{}` is not staged, but its sub-device is {:?} and nobody staged it on its own",
                det.name(),
                staging::state_of(cam)
            ));
        }
        let mut reported = staging::unrestored(det);
        reported.extend(staging::unrestored(cam));
        for entry in &reported {
            let i = STAGED.iter().position(|pv| *entry.source == *format!("PV:{pv}"));
            match i {
                Some(i) if identical(&entry.original, &self.originals[i]) => {}
                _ => return Err(format!("after {after}: a wrong original is recorded: {entry:?}")),
            }
        }
        for (i, pv) in STAGED.iter().enumerate() {
            let changed = self.ioc.get(pv).is_none_or(|v| !identical(&v, &self.originals[i]));
            if changed && !reported.iter().any(|entry| *entry.source == *format!("PV:{pv}")) {
                return Err(format!(
                    "after {after}: {pv} holds {:?}, not its original {:?}, and nothing reports it as still changed",
                    self.ioc.get(pv),
                    self.originals[i]
                ));
            }
        }
        Ok(())
    }

    /// The work inside a scope: a trigger (its Status kept) and a read.
    async fn work(&self) -> ophyd_core::Result<()> {
        let status = self.det.trigger();
        self.keep(&status);
        status.await?;
        self.det.read().await.map(drop)
    }

    /// A staged scope around `work` (if `work`), panicking at its end if
    /// `panic`. `ophyd_core::staged` when no PV can be down (its cleanup
    /// would wait 30 s for one to come back); otherwise the same on a
    /// `StageGuard` with a short grace, where a panic unwinds through the
    /// guard's `Drop`.
    async fn scope(self: Arc<Self>, work: bool, panic: bool) -> ophyd_core::Result<()> {
        self.phase.store(STAGING, Ordering::SeqCst);
        let body = || async {
            self.phase.store(IN_BODY, Ordering::SeqCst);
            if work {
                // The outcome of the work does not matter here.
                let _ = self.work().await;
            }
            self.phase.store(UNSTAGING, Ordering::SeqCst);
            if panic {
                std::panic::panic_any(INJECTED_PANIC);
            }
            Ok(())
        };
        let det: &dyn DynDevice = &*self.det;
        if self.lab.disconnection_possible() {
            let guard = StageGuard::stage_with(&[det], quick_policy(), Interrupt::new()).await?;
            let outcome = body().await;
            let cleanup = guard.unstage().await;
            outcome.and(cleanup)
        } else {
            ophyd_core::staged(&[det], body).await
        }
    }

    async fn run(self: &Arc<Self>, i: usize, op: &Op) -> Result<(), String> {
        let what = format!("operation {i} ({op:?})");
        let before = staging::state_of(&*self.det);
        let sub_before = staging::state_of(&self.det.cam);
        let healthy = self.lab.healthy();
        match *op {
            Op::Connect => {
                let transport = self.ioc.transport();
                // A PV that is down does not connect: that is not what is tested.
                let _ = self.step(&what, self.det.connect_timeout(&transport, Duration::from_millis(20))).await?;
            }
            Op::Stage => match self.step(&what, self.det.stage()).await? {
                Err(e) if sub_before == Staged::Yes && staging::state_of(&self.det.cam) != Staged::Yes => {
                    return Err(format!(
                        "after {what}: stage() failed ({e}) and left the sub-device the user had staged on its \
                         own {:?}",
                        staging::state_of(&self.det.cam),
                    ));
                }
                Ok(()) => {
                    count(&TALLY.stages_ok);
                    let wrong = differences(&self.ioc, &stage_values());
                    if staging::state_of(&*self.det) != Staged::Yes || !wrong.is_empty() {
                        return Err(format!(
                            "after {what}: stage() succeeded but the device is {:?} and {}",
                            staging::state_of(&*self.det),
                            wrong.join("; ")
                        ));
                    }
                }
                Err(e) => {
                    count(&TALLY.stages_failed);
                    let why = match &e {
                        Error::Stage { cause, .. } => cause.name(),
                        e => e.name(),
                    };
                    *STAGE_FAILURES.lock().unwrap().entry(why.to_owned()).or_default() += 1;
                    if let Error::Stage { restore_failures, .. } = &e {
                        if restore_failures.is_empty() && staging::state_of(&*self.det) != Staged::No {
                            return Err(format!(
                                "after {what}: stage() failed saying everything was put back ({e}), \
                                 but the device is {:?}",
                                staging::state_of(&*self.det)
                            ));
                        }
                    }
                }
            },
            Op::Unstage => {
                if self.step(&what, self.det.unstage()).await?.is_ok() && staging::state_of(&*self.det) != Staged::No {
                    return Err(format!("after {what}: unstage() succeeded but the device is still staged"));
                }
            }
            Op::Trigger { wait } => {
                let status = self.det.trigger();
                self.keep(&status);
                if wait {
                    let _ = self.step(&what, &status).await?;
                }
            }
            Op::Read => {
                let _ = self.step(&what, self.det.read()).await?;
            }
            Op::CutStage { polls } => {
                if self.step(&what, poll_then_drop(self.det.stage(), polls)).await?.is_none() {
                    count(&TALLY.cut_off);
                }
            }
            Op::CutUnstage { polls } => {
                if self.step(&what, poll_then_drop(self.det.unstage(), polls)).await?.is_none() {
                    count(&TALLY.cut_off);
                }
            }
            Op::DropScope { polls, work } => {
                let scope = self.clone().scope(work, false);
                if self.step(&what, poll_then_drop(scope, polls)).await?.is_none() {
                    count(&TALLY.scopes_dropped[usize::from(self.phase.load(Ordering::SeqCst))]);
                }
                self.check_scope_cleaned_up(&what, before, healthy)?;
            }
            Op::Race { polls, work } => {
                let other = tokio::spawn(self.clone().scope(false, false));
                let scope = self.clone().scope(work, false);
                if self.step(&what, poll_then_drop(scope, polls)).await?.is_none() {
                    count(&TALLY.scopes_dropped[usize::from(self.phase.load(Ordering::SeqCst))]);
                }
                // Its outcome does not matter; that it ends does.
                let _ = self.step(&format!("{what}: the other scope"), other).await?;
                self.check_scope_cleaned_up(&what, before, healthy)?;
            }
            Op::Panic { in_task, work } => {
                let scope = self.clone().scope(work, true);
                let panicked = if in_task {
                    match self.step(&what, tokio::spawn(scope)).await? {
                        Err(joined) => joined.is_panic(),
                        Ok(staging_failed) => {
                            staging_failed.err().ok_or_else(|| format!("{what}: the scope ended well"))?;
                            false
                        }
                    }
                } else {
                    match self.step(&what, AssertUnwindSafe(scope).catch_unwind()).await? {
                        Err(_) => true,
                        Ok(staging_failed) => {
                            staging_failed.err().ok_or_else(|| format!("{what}: the scope ended well"))?;
                            false
                        }
                    }
                };
                if panicked {
                    count(&TALLY.panics);
                }
                self.check_scope_cleaned_up(&what, before, healthy)?;
            }
            Op::HealAll => self.lab.heal_all(&self.ioc),
            Op::StageSub => {
                let staged = self.step(&what, self.det.cam.stage()).await?;
                // The user's to unstage if it got anywhere (a stage of the
                // parent's refused as redundant is not the user's).
                if !matches!(staged, Err(Error::RedundantStaging { .. } | Error::PartiallyStaged { .. })) {
                    self.user_cam.store(true, Ordering::SeqCst);
                }
            }
            Op::UnstageSub => {
                if self.step(&what, self.det.cam.unstage()).await?.is_ok() {
                    self.user_cam.store(false, Ordering::SeqCst);
                }
            }
            Op::Fault { pv, fault, after_writes } => {
                count(&TALLY.faults);
                match after_writes {
                    0 => self.lab.apply(&self.ioc, PVS[pv], fault),
                    n => self.lab.arm(PVS[pv], fault, n),
                }
            }
        }
        self.check_between_operations(&what)
    }

    /// A scope that began on an unstaged device, with a healthy IOC that
    /// stayed so, leaves it unstaged however it ended.
    fn check_scope_cleaned_up(&self, what: &str, before: Staged, healthy: bool) -> Result<(), String> {
        if before == Staged::No && healthy && self.lab.healthy() && staging::state_of(&*self.det) != Staged::No {
            return Err(format!(
                "after {what}: a scope on a healthy IOC left the device {:?}",
                staging::state_of(&*self.det)
            ));
        }
        Ok(())
    }

    /// Heal everything, unstage until it works, then check the promise.
    async fn finish(&self) -> Result<(), String> {
        self.lab.heal_all(&self.ioc);
        if staging::state_of(&*self.det) != Staged::No {
            count(&TALLY.staged_at_the_end);
        }
        // The device, then the sub-device if the user staged it on its own.
        for device in [&*self.det as &dyn DynDevice, &self.det.cam] {
            let mut attempts = 0;
            loop {
                attempts += 1;
                match self.step(&format!("the final unstage of `{}`", device.name()), device.unstage_dyn()).await? {
                    Ok(()) => break,
                    Err(_) if attempts < 3 => count(&TALLY.unstage_retries),
                    Err(e) => {
                        return Err(format!(
                            "unstage() of `{}` failed {attempts} times after every fault was healed: {e}",
                            device.name()
                        ))
                    }
                }
            }
        }
        let wrong = differences(&self.ioc, &self.originals);
        if !wrong.is_empty() {
            return Err(format!("after healing and unstaging: {}", wrong.join("; ")));
        }
        for device in [&*self.det as &dyn DynDevice, &self.det.cam] {
            if staging::state_of(device) != Staged::No {
                return Err(format!("after unstaging: `{}` is {:?}", device.name(), staging::state_of(device)));
            }
            let left = staging::unrestored(device);
            if !left.is_empty() {
                return Err(format!("after unstaging: `{}` still lists {left:?} to restore", device.name()));
            }
        }
        let statuses = self.statuses.lock().unwrap().clone();
        for (i, status) in statuses.iter().enumerate() {
            let _ = self.step(&format!("waiting for status {i} ({})", status.what()), status).await?;
            if !status.done() {
                return Err(format!("status {i} ({}) is still pending", status.what()));
            }
        }
        Ok(())
    }
}

/// Poll `future` up to `polls` times, letting the runtime's other tasks
/// (the IOC's processing) run in between, then drop it; its output if it
/// finished.
async fn poll_then_drop<F: Future>(future: F, polls: u8) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        if let Poll::Ready(out) = futures::poll!(future.as_mut()) {
            return Some(out);
        }
        tokio::task::yield_now().await;
    }
    None
}

/// Run one sequence on a runtime of its own, on a thread of its own
/// watched by this one: a hang anywhere (a blocking `Drop` included) is a
/// failure naming the step.
fn run_sequence(originals: Originals, processing: Processing, ops: Vec<Op>) -> Result<(), String> {
    quiet_injected_panics();
    count(&TALLY.sequences);
    let step = Arc::new(Mutex::new(String::from("setting up")));
    let (tx, rx) = std::sync::mpsc::channel();
    let watched = step.clone();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| sequence(originals, processing, ops, watched)));
        let _ = tx.send(outcome.unwrap_or_else(|panic| Err(format!("the sequence panicked: {}", message(&*panic)))));
    });
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("the sequence hung in {} (over {CASE_LIMIT:?})", step.lock().unwrap())),
    }
}

fn sequence(
    originals: Originals,
    processing: Processing,
    ops: Vec<Op>,
    step: Arc<Mutex<String>>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let lab = Arc::new(Lab::default());
        let ioc = ioc(&originals, processing, &lab);
        let det = Arc::new(Det::new("f", "det"));
        det.gain.set_completion_timeout(Some(COMPLETION_TIMEOUT));
        det.cam.exposure.set_completion_timeout(Some(COMPLETION_TIMEOUT));
        det.acquire.set_completion_timeout(Some(COMPLETION_TIMEOUT));
        let bench = Arc::new(Bench {
            det,
            ioc,
            lab,
            originals: originals.values(),
            statuses: Mutex::default(),
            step,
            phase: AtomicU8::new(STAGING),
            user_cam: AtomicBool::new(false),
        });
        bench.step("connect", bench.det.connect(&bench.ioc.transport())).await?.map_err(|e| e.to_string())?;
        for (i, op) in ops.iter().enumerate() {
            count(&TALLY.operations);
            bench.run(i, op).await?;
        }
        bench.finish().await?;
        Ok(())
    })
}

fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(not a string)".into())
}

/// Keep the panics made on purpose out of the test's output.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INJECTED_PANIC) {
                default(info);
            }
        }));
    });
}

fn float_original() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e6..1e6_f64,
        1 => Just(f64::NAN),
        2 => prop::sample::select(vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            0.0,
            2.5,
            0.25,
        ]),
        2 => any::<f64>(),
    ]
}

fn originals() -> impl Strategy<Value = Originals> {
    (
        float_original(),
        any::<i32>(),
        prop_oneof![8 => 0..3_u16, 1 => Just(7_u16)],
        prop_oneof![Just(String::new()), Just("staged run".to_string()), "[a-z ]{1,12}", "\\PC{0,40}"],
        float_original(),
        any::<i32>(),
    )
        .prop_map(|(gain, frames, mode, label, exposure, count)| Originals {
            gain,
            frames,
            mode,
            label,
            exposure,
            count,
        })
}

fn processing() -> impl Strategy<Value = Processing> {
    (0..4_u8, 0..4_u8, 0..4_u8).prop_map(|(gain, exposure, acquire)| Processing { gain, exposure, acquire })
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => Just(Fault::Refuse),
        2 => Just(Fault::Disconnect),
        2 => Just(Fault::StoreThenDisconnect),
        2 => Just(Fault::CompletionFails),
        1 => Just(Fault::Hang),
        1 => Just(Fault::RevokeWrite),
        3 => Just(Fault::Heal),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Connect),
        4 => Just(Op::Stage),
        3 => Just(Op::Unstage),
        2 => any::<bool>().prop_map(|wait| Op::Trigger { wait }),
        1 => Just(Op::Read),
        2 => (1..12_u8).prop_map(|polls| Op::CutStage { polls }),
        1 => (1..12_u8).prop_map(|polls| Op::CutUnstage { polls }),
        3 => (1..24_u8, any::<bool>()).prop_map(|(polls, work)| Op::DropScope { polls, work }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(in_task, work)| Op::Panic { in_task, work }),
        6 => (0..PVS.len(), fault(), prop_oneof![2 => Just(0_u8), 1 => 1..8_u8])
            .prop_map(|(pv, fault, after_writes)| Op::Fault { pv, fault, after_writes }),
        1 => Just(Op::HealAll),
        2 => (1..24_u8, any::<bool>()).prop_map(|(polls, work)| Op::Race { polls, work }),
        1 => Just(Op::StageSub),
        1 => Just(Op::UnstageSub),
    ]
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(CASES);
    Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..Config::default()
    }
}

#[test]
fn nothing_the_user_had_is_lost_and_nothing_hangs() {
    let start = Instant::now();
    let mut runner = TestRunner::new(config());
    let outcome = runner.run(&(originals(), processing(), prop::collection::vec(op(), 1..30)), |(o, p, ops)| {
        run_sequence(o, p, ops).map_err(TestCaseError::fail)
    });
    let n = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    println!(
        "{} sequences ({} operations, {} faults) in {:.1?}: {} stages succeeded, {} failed; {} stages or \
         unstages cut off; scopes dropped while staging {}, in the body {}, while unstaging {}; {} panics in scopes; {} sequences ended staged or half-staged, \
         {} final unstages needed a retry",
        n(&TALLY.sequences),
        n(&TALLY.operations),
        n(&TALLY.faults),
        start.elapsed(),
        n(&TALLY.stages_ok),
        n(&TALLY.stages_failed),
        n(&TALLY.cut_off),
        n(&TALLY.scopes_dropped[0]),
        n(&TALLY.scopes_dropped[1]),
        n(&TALLY.scopes_dropped[2]),
        n(&TALLY.panics),
        n(&TALLY.staged_at_the_end),
        n(&TALLY.unstage_retries),
    );
    println!("stages failed on: {:?}", STAGE_FAILURES.lock().unwrap());
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Originals that are nothing special, for the regression tests.
fn plain_originals() -> Originals {
    Originals { gain: 1.0, frames: 1, mode: 0, label: "user's".into(), exposure: 1.0, count: 1 }
}

async fn connected(originals: &Originals) -> (SimIoc, Det) {
    let lab = Arc::new(Lab::default());
    let ioc = ioc(originals, Processing { gain: 0, exposure: 0, acquire: 0 }, &lab);
    let det = Det::new("f", "det");
    det.connect(&ioc.transport()).await.unwrap();
    (ioc, det)
}

/// Found by the property, shrunk to `[StageSub, Stage]`: the user stages
/// the sub-device on its own, then the parent's `stage()` is refused
/// because the sub-device is already staged — rightly — but on its way
/// out it unstages that sub-device, which it never staged: the user's
/// staged settings are reverted behind their back (their own `unstage()`
/// then does nothing), while the error says "everything it had changed
/// was put back".
#[tokio::test]
async fn a_parent_stage_refused_for_a_sub_device_the_user_staged_leaves_it_staged() {
    let (ioc, det) = connected(&plain_originals()).await;
    det.cam.stage().await.unwrap();
    let err = det.stage().await.unwrap_err();
    let Error::Stage { cause, restore_failures, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(**cause, Error::RedundantStaging { ref device } if device == "det_cam"), "{err}");
    assert!(restore_failures.is_empty(), "{err}");
    // The parent's own values are back...
    assert_eq!(staging::state_of(&det), Staged::No);
    assert_eq!(ioc.get("f:gain"), Some(Value::Float(1.0)));
    // ...and the sub-device is as the user left it: staged.
    assert_eq!(staging::state_of(&det.cam), Staged::Yes, "the failed stage of `det` unstaged `det_cam`");
    assert_eq!(ioc.get("f:cam:exposure"), Some(Value::Float(0.25)));
    assert_eq!(ioc.get("f:cam:count"), Some(Value::Int(5)));
}

/// Found by the property, shrunk to `[Race { polls: 1, work: false }]`
/// with one yield of processing on `gain`: a staged scope is dropped while
/// it is staging (a put-complete write in flight) and another task waits
/// to stage the same device. Dropping the stage releases the device's
/// staging lock, which the lock hands straight to the waiting task; the
/// scope's `Drop` never waits for a lock another task holds, so it skips
/// the cleanup ("it is left to that task"); the waiting task then finds
/// the device partially staged and leaves it alone (`PartiallyStaged`;
/// a scope drops it as "staged by someone else"). Nobody unstages: the
/// device stays half-staged with `gain` at its staged value until someone
/// calls `unstage()` by hand.
#[tokio::test]
async fn a_scope_dropped_while_another_task_waits_to_stage_the_device_still_unstages_it() {
    let lab = Arc::new(Lab::default());
    let ioc = ioc(&plain_originals(), Processing { gain: 1, exposure: 0, acquire: 0 }, &lab);
    let det = Arc::new(Det::new("f", "det"));
    det.connect(&ioc.transport()).await.unwrap();
    let theirs = det.clone();
    let other =
        tokio::spawn(async move { ophyd_core::staged(&[&*theirs as &dyn DynDevice], || async { Ok(()) }).await });
    let scope = ophyd_core::staged(&[&*det as &dyn DynDevice], || async { Ok(()) });
    // Staging, waiting for the IOC to complete the write of `gain`; the
    // other task runs and waits for the staging lock; then the scope is dropped.
    assert!(poll_then_drop(scope, 1).await.is_none(), "dropped while staging");
    let outcome = tokio::time::timeout(STEP_LIMIT, other).await.expect("the other scope ended").unwrap();
    assert_eq!(
        (staging::state_of(&*det), ioc.get("f:gain")),
        (Staged::No, Some(Value::Float(1.0))),
        "after the dropped scope and the other one ({outcome:?}), still changed: {:?}",
        staging::unrestored(&*det)
    );
}

/// Found by the property: `det`'s stage is cut off while its sub-device
/// `cam` stages (one yield of processing on `exposure`); the user then
/// stages `cam` on its own (which first finishes putting back what the
/// cut-off stage left of it); `gain` starts refusing writes; `det.stage()`
/// finishes putting back its own cut-off stage first, and used to unstage
/// `cam` with it, although `cam` was the user's by then.
#[test]
fn a_sub_device_the_user_staged_after_its_parents_stage_was_cut_off_stays_the_users() {
    let originals = Originals { gain: 0.0, frames: 0, mode: 0, label: String::new(), exposure: 0.0, count: 0 };
    let processing = Processing { gain: 0, exposure: 1, acquire: 0 };
    let ops = vec![
        Op::CutStage { polls: 2 },
        Op::StageSub,
        Op::Fault { pv: 0, fault: Fault::Refuse, after_writes: 0 },
        Op::Stage,
    ];
    run_sequence(originals, processing, ops).unwrap();
}

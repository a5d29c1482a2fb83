//! Faults on the simulated IOC: every case where the "nothing lost,
//! nothing hangs" promise used to break, one named test each. The same
//! faults against real IOCs are in `ca_faults.rs`; random sequences of
//! them in `fault_properties.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_core::{staging, CleanupPolicy, Error, Interrupt, StageGuard, StepTimeouts, Subscription, Value};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::{EpicsMotor, EpicsSignal, PutDone, PvChannel, PvError, PvInfo, PvMetadata, PvReading};
use ophyd_run::{count, Document, ExitStatus, RunEngine};
use ophyd_tests::stuck::{add_stuck_pvs, Stuck};

#[derive(Device)]
struct Det {
    #[component(suffix = ":x", stage = 5.0)]
    x: EpicsSignal<f64>,
    #[component(suffix = ":y", stage = 2)]
    y: EpicsSignal<i32>,
}

fn ioc() -> SimIoc {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("f:x", 1.0)).add(PvSpec::long("f:y", 7));
    ioc
}

async fn det(ioc: &SimIoc) -> Det {
    let det = Det::new("f", "det");
    det.connect(&ioc.transport()).await.unwrap();
    det
}

fn held(ioc: &SimIoc) -> (Option<Value>, Option<Value>) {
    (ioc.get("f:x"), ioc.get("f:y"))
}

const BEFORE: (Option<Value>, Option<Value>) = (Some(Value::Float(1.0)), Some(Value::Int(7)));

/// Run `body` on a thread of its own and fail (instead of hanging) if it
/// does not end within `limit`.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || drop(sender.send(body())));
    receiver.recv_timeout(limit).unwrap_or_else(|_| panic!("did not finish within {limit:?}: a hang"))
}

// --- 1. An error after the write left the client keeps the original ---------

#[tokio::test]
async fn a_write_the_ioc_took_before_the_connection_dropped_is_put_back_after_reconnecting() {
    let ioc = ioc();
    ioc.set_put_handler("f:y", |ioc, v| {
        ioc.set_connected("f:y", false); // takes the value, then the link goes
        PutAction::accept(v)
    });
    let det = det(&ioc).await;
    let err = det.stage().await.unwrap_err();
    let Error::Stage { restore_failures, .. } = &err else { panic!("{err:?}") };
    assert!(!restore_failures.is_empty(), "the IOC holds 2, so staging cannot say everything was put back: {err}");
    assert_eq!(ioc.get("f:y"), Some(Value::Int(2)));
    assert_eq!(staging::state_of(&det), staging::Staged::Partially);

    ioc.set_put_handler("f:y", |_, v| PutAction::accept(v));
    ioc.set_connected("f:y", true);
    det.unstage().await.unwrap();
    assert_eq!(held(&ioc), BEFORE, "the original 7 is back");
}

#[tokio::test]
async fn a_write_stored_before_its_processing_failed_is_put_back() {
    let ioc = ioc();
    ioc.set_put_handler("f:y", |ioc, v| {
        if *v == Value::Int(2) {
            ioc.write("f:y", v.clone()); // stored...
            return PutAction::Refuse("record processing failed".into()); // ...then reported failed
        }
        PutAction::accept(v)
    });
    let det = det(&ioc).await;
    let err = det.stage().await.unwrap_err();
    assert!(matches!(&err, Error::Stage { restore_failures, .. } if restore_failures.is_empty()), "{err:?}");
    assert!(err.to_string().contains("record processing failed"), "{err}");
    assert_eq!(held(&ioc), BEFORE, "both x and the stored y were put back");
    assert_eq!(staging::state_of(&det), staging::Staged::No);
}

#[tokio::test]
async fn a_write_refused_before_it_was_sent_leaves_nothing_to_put_back() {
    let ioc = ioc();
    ioc.set_writable("f:y", false);
    let det = det(&ioc).await;
    let err = det.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("refused before it was sent") && text.contains("f:y"), "{text}");
    assert!(text.contains("everything it had changed was put back"), "{text}");
    assert_eq!(held(&ioc), BEFORE);
    assert_eq!(staging::state_of(&det), staging::Staged::No, "nothing left to put back: stageable again");
}

// --- 3. NaN and empty originals -------------------------------------------------

#[derive(Device)]
struct Odd {
    #[component(suffix = ":nan", stage = 1.0)]
    nan: EpicsSignal<f64>,
    #[component(suffix = ":wave", stage = vec![1.0, 2.0])]
    wave: EpicsSignal<Vec<f64>>,
}

#[tokio::test]
async fn a_nan_and_an_empty_waveform_original_are_put_back_at_once() {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("o:nan", f64::NAN)).add(PvSpec::waveform("o:wave", vec![], 8));
    let odd = Odd::new("o", "odd");
    odd.connect(&ioc.transport()).await.unwrap();
    odd.stage().await.unwrap();
    assert_eq!(ioc.get("o:nan"), Some(Value::Float(1.0)));
    let start = Instant::now();
    odd.unstage().await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(1), "no read-back timeout: {:?}", start.elapsed());
    assert!(ioc.get_f64("o:nan").unwrap().is_nan());
    assert_eq!(ioc.get("o:wave"), Some(Value::FloatArray(vec![])));
    assert_eq!(staging::state_of(&odd), staging::Staged::No);
}

#[tokio::test]
async fn set_and_wait_refuses_a_target_that_can_never_be_reached() {
    let ioc = ioc();
    let det = det(&ioc).await;
    for target in [f64::NAN, f64::INFINITY] {
        let err = set_and_wait(&det.x, target).await.unwrap_err();
        assert!(matches!(&err, Error::NotSent { pv, .. } if pv == "PV:f:x"), "{err:?}");
        assert!(err.to_string().contains("finite"), "{err}");
    }
    assert_eq!(held(&ioc), BEFORE);
}

// --- 4. Every Status finishes ----------------------------------------------------

/// A channel whose transport loses every write: it drops the completion
/// callback without calling it, as a channel cleared mid-put does.
struct LosingChannel;

impl PvChannel for LosingChannel {
    fn pv(&self) -> &str {
        "lost:pv"
    }
    fn info(&self) -> PvInfo {
        PvInfo { native: ophyd_epics::NativeType::Double, count: 1 }
    }
    fn connected(&self) -> bool {
        true
    }
    fn connections(&self) -> u64 {
        1
    }
    fn get(&self) -> futures::future::BoxFuture<'static, Result<PvReading, PvError>> {
        std::future::ready(Ok(PvReading { value: Value::Float(0.0), timestamp: 0.0, severity: 0 })).boxed()
    }
    fn metadata(&self) -> futures::future::BoxFuture<'static, Result<PvMetadata, PvError>> {
        std::future::ready(Ok(PvMetadata::default())).boxed()
    }
    fn put_then(&self, _: Value, _: bool, done: PutDone) -> Result<(), PvError> {
        drop(done);
        Ok(())
    }
    fn subscribe(&self, _: ophyd_epics::PvCallback) -> Result<Subscription, PvError> {
        Ok(Subscription::new(|| {}))
    }
}

struct LosingTransport;

impl ophyd_epics::PvTransport for LosingTransport {
    fn describe(&self) -> String {
        "a transport that loses writes".into()
    }
    fn connect(&self, _: &str) -> futures::future::BoxFuture<'static, Result<Arc<dyn PvChannel>, PvError>> {
        std::future::ready(Ok(Arc::new(LosingChannel) as Arc<dyn PvChannel>)).boxed()
    }
}

#[tokio::test]
async fn a_write_the_transport_abandons_fails_its_status_naming_the_pv() {
    let signal = EpicsSignal::<f64>::new("lost:pv", "lost").with_put_complete(true);
    signal.connect(&ophyd_epics::Transport::new(LosingTransport)).await.unwrap();
    let err = signal.set(1.0).wait(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(&err, Error::Put { pv, .. } if pv == "lost:pv"), "{err:?}");
    assert!(err.to_string().contains("abandoned"), "{err}");
}

#[tokio::test]
async fn a_put_callback_the_ioc_never_completes_fails_after_its_timeout_naming_the_pv() {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("s:busy", 0.0).on_put(|_, v| PutAction::Write {
        value: v.clone(),
        completion: Some(std::future::pending().boxed()), // an asyn driver that never calls back
    }));
    let busy = EpicsSignal::<f64>::new("s:busy", "busy").with_put_complete(true);
    busy.connect(&ioc.transport()).await.unwrap();
    busy.set_completion_timeout(Some(Duration::from_millis(200)));
    let err = busy.set(1.0).wait(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(&err, Error::Timeout { what, .. } if what.contains("s:busy")), "{err:?}");
}

#[tokio::test]
async fn a_status_callback_that_panics_does_not_stop_the_others() {
    let (a, b) = (Status::new("a"), Status::new("b"));
    a.add_callback(|_| panic!("a careless callback"));
    let both = Status::all("a and b", [a.clone(), b.clone()]);
    let reached = Arc::new(AtomicUsize::new(0));
    let r = reached.clone();
    a.add_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    a.set_finished();
    b.set_finished();
    assert!(both.success(), "Status::all heard of `a` despite the panic before it");
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

// --- 5. Nothing bounds a stuck step: now every step is bounded -------------------

fn stuck_ioc() -> SimIoc {
    let ioc = ioc();
    add_stuck_pvs(&ioc, "s");
    ioc
}

async fn stuck(ioc: &SimIoc) -> Stuck {
    let stuck = Stuck::new("s", "stuck");
    stuck.connect(&ioc.transport()).await.unwrap();
    stuck
}

#[tokio::test]
async fn a_stuck_unstage_times_out_and_every_other_device_is_still_put_back() {
    let ioc = stuck_ioc();
    let (det, stuck) = (det(&ioc).await, stuck(&ioc).await);
    let policy = CleanupPolicy {
        timeouts: StepTimeouts { unstage: Duration::from_millis(300), ..StepTimeouts::default() },
        ..CleanupPolicy::default()
    };
    let guard = StageGuard::stage_with(&[&det, &stuck], policy, Interrupt::new()).await.unwrap();
    let start = Instant::now();
    let err = guard.unstage().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    let Error::Cleanup { failures, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(&failures[..], [Error::Timeout { what, .. }] if what.contains("unstage of `stuck`")), "{err}");
    assert_eq!(held(&ioc), BEFORE, "the other device was put back");
}

#[tokio::test]
async fn a_device_can_set_its_own_step_timeouts() {
    let ioc = stuck_ioc();
    let stuck = stuck(&ioc).await;
    stuck
        .meta()
        .set_step_timeouts(Some(StepTimeouts { unstage: Duration::from_millis(100), ..StepTimeouts::default() }));
    let guard = StageGuard::stage(&[&stuck]).await.unwrap();
    let err = guard.unstage().await.unwrap_err();
    assert!(err.to_string().contains("within 100ms"), "{err}");
}

#[tokio::test]
async fn an_interrupt_skips_the_stuck_step_attempts_the_rest_and_reports_what_is_left() {
    let ioc = stuck_ioc();
    let (det, stuck) = (det(&ioc).await, stuck(&ioc).await);
    // stage order det, stuck: unstage order stuck (stuck), then det.
    let interrupt = Interrupt::new();
    let guard = StageGuard::stage_with(&[&det, &stuck], CleanupPolicy::default(), interrupt.clone()).await.unwrap();
    let pressing = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pressing.interrupt(); // Ctrl-C
    });
    let start = Instant::now();
    let err = guard.unstage().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "skipped promptly: {:?}", start.elapsed());
    assert!(err.to_string().contains("skipped by an interrupt"), "{err}");
    assert_eq!(held(&ioc), BEFORE, "every other restore was still attempted");
    let Error::Cleanup { unrestored, .. } = &err else { panic!("{err:?}") };
    assert_eq!(unrestored, &interrupt.unrestored());
    let left: Vec<String> = unrestored.iter().map(ToString::to_string).collect();
    assert_eq!(left, ["`stuck_level` (PV:s:level) should be 0.5"]);
}

#[tokio::test]
async fn what_could_not_be_put_back_is_named_with_its_pv_and_original_value() {
    let ioc = ioc();
    let det = det(&ioc).await;
    let policy = CleanupPolicy { reconnect_grace: Duration::ZERO, ..CleanupPolicy::default() };
    let guard = StageGuard::stage_with(&[&det], policy, Interrupt::new()).await.unwrap();
    ioc.set_connected("f:x", false);
    let err = guard.unstage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("put these back by hand") && text.contains("`det_x` (PV:f:x) should be 1"), "{text}");
    assert_eq!(ioc.get("f:y"), Some(Value::Int(7)), "y was put back all the same");
}

// --- 6. A restore that failed on a lost connection is retried on reconnect ------

#[tokio::test]
async fn a_restore_that_failed_on_a_lost_connection_is_retried_when_the_pv_comes_back() {
    let ioc = ioc();
    let det = det(&ioc).await;
    let guard = StageGuard::stage(&[&det]).await.unwrap();
    // The IOC reboots: gone, then back with its defaults, not our originals.
    ioc.set_connected("f:x", false);
    let rebooting = ioc.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        rebooting.write("f:x", 99.0);
        rebooting.set_connected("f:x", true);
    });
    guard.unstage().await.unwrap();
    assert_eq!(held(&ioc), BEFORE);
}

#[tokio::test]
async fn the_reconnect_grace_is_cut_short_by_an_interrupt() {
    let ioc = ioc();
    let det = det(&ioc).await;
    let interrupt = Interrupt::new();
    let guard = StageGuard::stage_with(&[&det], CleanupPolicy::default(), interrupt.clone()).await.unwrap();
    ioc.set_connected("f:x", false);
    let pressing = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        pressing.interrupt();
    });
    let start = Instant::now();
    let err = guard.unstage().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "not the 30 s grace: {:?}", start.elapsed());
    assert!(err.is_disconnection(), "{err}");
}

#[tokio::test]
async fn a_run_whose_ioc_reboots_ends_fail_and_says_the_cleanup_put_everything_back() {
    let ioc = SimIoc::trigger_with_pc("trigger_with_pc:");
    ioc.write("trigger_with_pc:exposure_time", 0.05);
    ioc.write("trigger_with_pc:enabled", 0);
    let det = examples::TriggeredDetector::new("trigger_with_pc", "det");
    det.connect(&ioc.transport()).await.unwrap();
    let mut re = RunEngine::new();
    let stops = Arc::new(Mutex::new(Vec::new()));
    let (s, rebooting) = (stops.clone(), ioc.clone());
    re.subscribe(move |name, doc| {
        if let (Document::Event(e), "event") = (doc, name) {
            if e.seq_num == 2 {
                // The IOC goes down mid-run and comes back with its defaults.
                for pv in ["acquire", "enabled", "reading", "gain", "exposure_time"] {
                    rebooting.set_connected(&format!("trigger_with_pc:{pv}"), false);
                }
                let ioc = rebooting.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(800));
                    ioc.write("trigger_with_pc:enabled", 1);
                    for pv in ["acquire", "enabled", "reading", "gain", "exposure_time"] {
                        ioc.set_connected(&format!("trigger_with_pc:{pv}"), true);
                    }
                });
            }
        }
        if let Document::Stop(stop) = doc {
            s.lock().unwrap().push(stop.clone());
        }
    });
    let err = re.run(count(&[&det], 10, Duration::ZERO)).await.unwrap_err();
    assert!(err.to_string().contains("trigger_with_pc:"), "the failure names the PV: {err}");
    let stops = stops.lock().unwrap();
    assert_eq!(stops[0].exit_status, ExitStatus::Fail);
    assert!(stops[0].reason.contains("cleanup: everything was put back"), "{}", stops[0].reason);
    assert_eq!(ioc.get_f64("trigger_with_pc:enabled"), Some(0.0), "back to its value before the run");
}

// --- 7. Dropping a scope never deadlocks -----------------------------------------

#[test]
fn a_scope_dropped_while_another_task_unstages_the_device_does_not_deadlock() {
    within(Duration::from_secs(20), || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let ioc = ioc();
            // A restore of x that takes a while to read back: the unstage
            // holds the device's staging lock across awaits meanwhile.
            ioc.set_put_handler("f:x", |ioc, v| {
                let (later_ioc, v2) = (ioc.clone(), v.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    later_ioc.write("f:x", v2);
                });
                PutAction::Write { value: ioc.get("f:x").unwrap(), completion: None }
            });
            let det = Arc::new(det(&ioc).await);
            let d = det.clone();
            let scope = tokio::time::timeout(
                Duration::from_millis(700),
                ophyd_core::staged(&[&*d], || async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    Ok(())
                }),
            );
            let other = det.clone();
            let sibling = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                other.unstage().await
            });
            assert!(scope.await.is_err(), "the scope timed out");
            sibling.await.unwrap().unwrap();
            assert_eq!(held(&ioc), BEFORE);
        });
    });
}

// --- 8. Odd inputs -----------------------------------------------------------------

#[tokio::test]
async fn a_non_finite_move_target_is_refused_by_the_motor_and_by_the_record() {
    let ioc = SimIoc::new();
    ioc.add_motor("m:m1", 0.0);
    let m1 = EpicsMotor::new("m:m1", "m1");
    m1.connect(&ioc.transport()).await.unwrap();
    for target in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = m1.move_to(target).await.unwrap_err();
        assert!(err.to_string().contains("finite") && err.to_string().contains("m1"), "{err}");
    }
    // Past the client's check, the record refuses NaN itself (an infinite
    // target is clamped to the record's limits, as EPICS does).
    let err = m1.user_setpoint.set(f64::NAN).wait(Duration::from_secs(1)).await.unwrap_err();
    assert!(err.to_string().contains("finite"), "the record refuses it too: {err}");
    assert_eq!(ioc.get_f64("m:m1.RBV"), Some(0.0));
}

#[tokio::test]
async fn an_abort_asked_for_before_the_run_starts_is_honoured() {
    let ioc = ioc();
    let det = det(&ioc).await;
    let mut re = RunEngine::new();
    re.control().abort("beam dump before the run");
    let summary = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap();
    assert_eq!((summary.exit_status, summary.num_events), (ExitStatus::Abort, 0));
    assert_eq!(summary.reason, "beam dump before the run");
    assert_eq!(held(&ioc), BEFORE, "nothing was touched");
    let next = re.run(count(&[&det], 1, Duration::ZERO)).await.unwrap();
    assert_eq!(next.exit_status, ExitStatus::Success, "the abort does not carry over");
}

#[derive(Device)]
struct Outer {
    #[component(suffix = ":cam")]
    cam: Det,
    #[component(suffix = ":gain", stage = 3.0)]
    gain: EpicsSignal<f64>,
}

#[tokio::test]
async fn a_parent_listed_after_its_first_sub_device_is_staged_not_skipped() {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("o:cam:x", 1.0)).add(PvSpec::long("o:cam:y", 7)).add(PvSpec::double("o:gain", 1.0));
    let outer = Outer::new("o", "outer");
    outer.connect(&ioc.transport()).await.unwrap();
    assert!(std::ptr::addr_eq(&outer as *const Outer, &outer.cam as *const Det), "they share an address");
    ophyd_core::staged(&[&outer.cam, &outer], || async {
        assert_eq!(ioc.get_f64("o:gain"), Some(3.0), "outer staged");
        assert_eq!(ioc.get_f64("o:cam:x"), Some(5.0), "its sub-device staged, once");
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(ioc.get_f64("o:gain"), Some(1.0));
    assert_eq!(ioc.get_f64("o:cam:x"), Some(1.0));
}

// --- 9. A device's reads go out together; every failure is reported ---------------

#[derive(Device)]
struct Wide {
    #[component(suffix = ":a")]
    a: EpicsSignal<f64>,
    #[component(suffix = ":b", kind = "config")]
    b: EpicsSignal<f64>,
    #[component(suffix = ":c")]
    c: EpicsSignal<f64>,
    #[component(suffix = ":d")]
    d: EpicsSignal<f64>,
    #[component(suffix = ":e")]
    e: EpicsSignal<f64>,
}

#[tokio::test]
async fn a_read_with_failing_pvs_names_each_of_them_in_order_and_no_other() {
    let ioc = SimIoc::new();
    for (name, value) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)] {
        ioc.add(PvSpec::double(&format!("w:{name}"), value));
    }
    let wide = Wide::new("w", "wide");
    wide.connect(&ioc.transport()).await.unwrap();
    ioc.set_connected("w:e", false);
    ioc.set_connected("w:c", false);
    let Error::Many(errors) = wide.read().await.unwrap_err() else { panic!("one error per PV that failed") };
    let named: Vec<String> = errors
        .iter()
        .map(|e| match e {
            Error::Disconnected { signal, pv } => format!("{signal} {pv}"),
            other => panic!("expected a disconnection, got {other}"),
        })
        .collect();
    assert_eq!(named, ["wide_c w:c", "wide_e w:e"], "in component order, the healthy ones not named");
    let err = wide.describe().await.unwrap_err();
    assert!(err.to_string().contains("w:c") && err.to_string().contains("w:e"), "{err}");

    ioc.set_connected("w:c", true);
    ioc.set_connected("w:e", true);
    let keys: Vec<String> = wide.read().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(keys, ["wide_a", "wide_c", "wide_d", "wide_e"]);
}

// --- configure() that fails half-way puts back what it wrote -----------------

#[derive(Device)]
struct Configurable {
    #[component(suffix = ":x", kind = "config")]
    x: EpicsSignal<f64>,
    #[component(suffix = ":y", kind = "config")]
    y: EpicsSignal<i32>,
}

#[tokio::test]
async fn a_configure_refused_half_way_puts_back_what_it_had_written() {
    let ioc = ioc();
    ioc.set_put_handler("f:y", |_, _| PutAction::Refuse("interlock: gain locked".into()));
    let det = Configurable::new("f", "det");
    det.connect(&ioc.transport()).await.unwrap();
    let err = det.configure(&[("x", 5.0.into()), ("y", 9.into())]).await.unwrap_err();
    assert_eq!(err.name(), "ConfigureError");
    let text = err.to_string();
    assert!(text.contains("configuring `det` failed"), "{text}");
    assert!(text.contains("f:y") && text.contains("interlock: gain locked"), "{text}");
    assert!(text.contains("everything it had changed was put back"), "{text}");
    assert_eq!(held(&ioc), BEFORE);
}

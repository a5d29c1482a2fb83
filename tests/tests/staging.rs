//! Staging on the simulated IOC: order, restore, redundancy, and every
//! failure case — nothing the user had is lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_core::{staging, Error, SetAndWait, Value};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::{EpicsSignal, EpicsSignalRO};

#[derive(Device)]
struct Cam {
    #[component(suffix = ":acquire_time", stage = 0.5)]
    acquire_time: EpicsSignal<f64>,
    #[component(suffix = ":mode", kind = "config", stage = "multiple")]
    mode: EpicsSignal<Enum>,
}

#[derive(Device)]
struct Det {
    #[component(suffix = ":a", stage = 1.0)]
    a: EpicsSignal<f64>,
    #[component(suffix = ":b", stage = 2.0)]
    b: EpicsSignal<f64>,
    #[component(suffix = ":c", kind = "config", stage = 3)]
    c: EpicsSignal<i32>,
    #[component(suffix = ":cam")]
    cam: Cam,
    #[component(suffix = ":ro", kind = "omitted")]
    ro: EpicsSignalRO<f64>,
}

type Log = Arc<Mutex<Vec<String>>>;

const PVS: [&str; 5] = ["t:a", "t:b", "t:c", "t:cam:acquire_time", "t:cam:mode"];

/// An IOC for `Det` at prefix `t` whose PVs log every client write, with
/// originals a=10, b=20, c=30, acquire_time=0.1, mode=single.
fn ioc() -> (SimIoc, Log) {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("t:a", 10.0))
        .add(PvSpec::double("t:b", 20.0))
        .add(PvSpec::long("t:c", 30))
        .add(PvSpec::double("t:cam:acquire_time", 0.1).precision(3))
        .add(PvSpec::enumeration("t:cam:mode", &["single", "multiple"], 0))
        .add(PvSpec::double("t:ro", 1.0).read_only());
    let log: Log = Arc::default();
    for pv in PVS {
        logging(&ioc, pv, &log, None);
    }
    (ioc, log)
}

/// Log writes to `pv`; refuse them with `refuse` if given.
fn logging(ioc: &SimIoc, pv: &'static str, log: &Log, refuse: Option<&'static str>) {
    let log = log.clone();
    ioc.set_put_handler(pv, move |_, v| {
        log.lock().unwrap().push(format!("{pv}={v}"));
        match refuse {
            Some(reason) => PutAction::Refuse(reason.into()),
            None => PutAction::accept(v),
        }
    });
}

async fn det(ioc: &SimIoc) -> Det {
    let det = Det::new("t", "det");
    det.connect(&ioc.transport()).await.unwrap();
    det
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn originals(ioc: &SimIoc) -> Vec<Option<Value>> {
    PVS.iter().map(|pv| ioc.get(pv)).collect()
}

#[tokio::test]
async fn stage_applies_stage_sigs_in_order_then_stages_sub_devices() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    det.stage().await.unwrap();
    assert_eq!(take(&log), ["t:a=1", "t:b=2", "t:c=3", "t:cam:acquire_time=0.5", "t:cam:mode=1"]);
    assert_eq!(staging::state_of(&det), staging::Staged::Yes);
}

#[tokio::test]
async fn unstage_restores_sub_devices_first_then_own_values_in_reverse() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    let before = originals(&ioc);
    det.stage().await.unwrap();
    take(&log);
    det.unstage().await.unwrap();
    assert_eq!(take(&log), ["t:cam:mode=0", "t:cam:acquire_time=0.1", "t:c=30", "t:b=20", "t:a=10"]);
    assert_eq!(originals(&ioc), before);
}

#[tokio::test]
async fn stage_reads_every_original_before_changing_anything() {
    let (ioc, log) = ioc();
    // Writing `a` changes `c` inside the IOC: c's original must be read first.
    let l = log.clone();
    ioc.set_put_handler("t:a", move |ioc, v| {
        l.lock().unwrap().push(format!("t:a={v}"));
        if *v == Value::Float(1.0) {
            ioc.write("t:c", 99);
        }
        PutAction::accept(v)
    });
    let det = det(&ioc).await;
    det.stage().await.unwrap();
    det.unstage().await.unwrap();
    assert_eq!(ioc.get("t:c"), Some(Value::Int(30)));
}

#[tokio::test]
async fn staging_twice_is_redundant_staging_naming_the_device_and_changes_nothing() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    det.stage().await.unwrap();
    take(&log);
    let err = det.stage().await.unwrap_err();
    assert!(matches!(&err, Error::RedundantStaging { device } if device == "det"), "{err}");
    assert_eq!(err.name(), "RedundantStaging");
    assert!(err.to_string().contains("`det`"));
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn unstaging_twice_or_without_staging_does_nothing() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    det.unstage().await.unwrap();
    assert!(take(&log).is_empty());
    det.stage().await.unwrap();
    det.unstage().await.unwrap();
    take(&log);
    det.unstage().await.unwrap();
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn failure_mid_stage_puts_back_what_was_applied_then_reports_it() {
    let (ioc, log) = ioc();
    logging(&ioc, "t:b", &log, Some("interlock tripped"));
    let det = det(&ioc).await;
    let before = originals(&ioc);
    let err = det.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::Stage { device, restore_failures, .. } if device == "det" && restore_failures.is_empty()),
        "{err:?}"
    );
    assert!(text.contains("t:b") && text.contains("interlock tripped") && text.contains("put back"), "{text}");
    // a was applied and put back; b was refused, so there is nothing to put back; c was never touched.
    assert_eq!(take(&log), ["t:a=1", "t:b=2", "t:a=10"]);
    assert_eq!(originals(&ioc), before);
    assert_eq!(staging::state_of(&det), staging::Staged::No, "the device can be staged again");
}

#[tokio::test]
async fn failure_in_a_sub_device_unstages_the_parent_too() {
    let (ioc, log) = ioc();
    logging(&ioc, "t:cam:mode", &log, Some("busy"));
    let det = det(&ioc).await;
    let before = originals(&ioc);
    let err = det.stage().await.unwrap_err();
    assert!(err.to_string().contains("det_cam") && err.to_string().contains("busy"), "{err}");
    assert_eq!(originals(&ioc), before);
    assert_eq!(staging::state_of(&det), staging::Staged::No);
    assert_eq!(staging::state_of(&det.cam), staging::Staged::No);
}

#[tokio::test]
async fn failure_mid_unstage_attempts_every_restore_reports_all_and_can_be_retried() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    det.stage().await.unwrap();
    logging(&ioc, "t:a", &log, Some("a is locked"));
    logging(&ioc, "t:c", &log, Some("c is locked"));
    take(&log);

    let err = det.unstage().await.unwrap_err();
    let Error::Unstage { device, failures } = &err else { panic!("{err:?}") };
    assert_eq!(device, "det");
    assert_eq!(failures.len(), 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("a is locked") && text.contains("c is locked") && text.contains("t:a") && text.contains("t:c"),
        "{text}"
    );
    // Every restore was attempted, in order, despite the failures.
    assert_eq!(take(&log), ["t:cam:mode=0", "t:cam:acquire_time=0.1", "t:c=30", "t:b=20", "t:a=10"]);
    assert_eq!(ioc.get("t:b"), Some(Value::Float(20.0)));

    // Half-unstaged: staging again is refused; unstaging again retries only what failed.
    assert!(matches!(det.stage().await, Err(Error::PartiallyStaged { .. })));
    logging(&ioc, "t:a", &log, None);
    logging(&ioc, "t:c", &log, None);
    det.unstage().await.unwrap();
    assert_eq!(take(&log), ["t:c=30", "t:a=10"]);
    assert_eq!(ioc.get("t:a"), Some(Value::Float(10.0)));
    assert_eq!(staging::state_of(&det), staging::Staged::No);
}

#[tokio::test]
async fn set_and_wait_error_names_signal_pv_target_and_last_value() {
    let (ioc, _) = ioc();
    // The IOC stores something else than what was put.
    ioc.set_put_handler("t:a", |_, _| PutAction::Write { value: Value::Float(7.0), completion: None });
    let det = det(&ioc).await;
    let options = SetAndWait { timeout: Duration::from_millis(50), tolerance: None };
    let err = ophyd_core::set_and_wait_with(&det.a, 3.0, options).await.unwrap_err();
    assert!(
        matches!(&err, Error::SetAndWait { signal, pv, target, last, .. }
        if signal == "det_a" && pv == "PV:t:a" && target == "3" && last == "7"),
        "{err:?}"
    );
    assert!(err.to_string().contains("wanted 3") && err.to_string().contains("was 7"), "{err}");
}

#[tokio::test]
async fn set_and_wait_accepts_a_read_back_within_the_pvs_precision() {
    let (ioc, _) = ioc();
    // precision 3 → tolerance 1e-3, as ophyd.
    ioc.set_put_handler("t:cam:acquire_time", |_, v| PutAction::Write {
        value: Value::Float(v.as_f64().unwrap() + 0.0004),
        completion: None,
    });
    let det = det(&ioc).await;
    set_and_wait(&det.cam.acquire_time, 0.2).await.unwrap();
}

#[tokio::test]
async fn stage_sigs_change_at_run_time_by_handle_and_by_dotted_path() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    let sigs = det.stage_sigs();
    sigs.set(&det.cam.acquire_time, 0.75).unwrap(); // a nested signal, in the parent's stage_sigs
    sigs.set_path("b", 5).unwrap(); // an existing entry keeps its place
    assert_eq!(sigs.remove("c"), Some(Value::Int(3)));
    assert_eq!(sigs.paths(), ["a", "b", "cam.acquire_time"]);
    det.stage().await.unwrap();
    assert_eq!(take(&log), ["t:a=1", "t:b=5", "t:cam:acquire_time=0.75", "t:cam:acquire_time=0.5", "t:cam:mode=1"]);
    det.unstage().await.unwrap();
    assert_eq!(ioc.get("t:cam:acquire_time"), Some(Value::Float(0.1)));
}

#[tokio::test]
async fn stage_sigs_path_errors_name_the_device_the_path_and_what_is_wrong() {
    let (ioc, _) = ioc();
    let det = det(&ioc).await;
    let sigs = det.stage_sigs();

    let err = sigs.set_path("cam.acquire_tme", 1.0).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownComponent { device, path, known }
        if device == "det_cam" && path == "cam.acquire_tme" && known.contains(&"acquire_time".to_string())),
        "{err:?}"
    );

    let err = sigs.set_path("cam", 1).unwrap_err().to_string();
    assert!(err.contains("det_cam") && err.contains("a device, not a signal"), "{err}");

    let err = sigs.set_path("ro", 1.0).unwrap_err().to_string();
    assert!(err.contains("det_ro") && err.contains("read-only"), "{err}");

    let err = sigs.set_path("a", "fast").unwrap_err();
    assert!(
        matches!(&err, Error::ValueType { signal, expected, .. } if signal == "det_a" && expected == "f64"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"fast\""), "{err}");
}

#[tokio::test]
async fn enum_stage_value_given_by_label_is_written_and_read_back_as_its_index() {
    let (ioc, _) = ioc();
    let det = det(&ioc).await;
    det.stage().await.unwrap();
    assert_eq!(det.cam.mode.get().await.unwrap(), Enum::Index(1));
    det.unstage().await.unwrap();
    assert_eq!(det.cam.mode.get().await.unwrap(), Enum::Index(0));
}

#[tokio::test]
async fn staged_scope_unstages_after_success() {
    let (ioc, _) = ioc();
    let det = det(&ioc).await;
    let before = originals(&ioc);
    let inside = ophyd_core::staged(&[&det], || async { det.a.get().await }).await.unwrap();
    assert_eq!(inside, 1.0);
    assert_eq!(originals(&ioc), before);
}

#[tokio::test]
async fn staged_scope_unstages_after_an_error_and_returns_it() {
    let (ioc, _) = ioc();
    let det = det(&ioc).await;
    let before = originals(&ioc);
    let err = ophyd_core::staged(&[&det], || async {
        det.a.get().await?;
        Err::<(), _>(Error::Failed { what: "scan".into(), reason: "detector saturated".into() })
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("detector saturated"));
    assert_eq!(originals(&ioc), before);
}

#[tokio::test]
async fn staged_scope_unstages_after_a_panic_and_lets_it_continue() {
    let (ioc, _) = ioc();
    let before = originals(&ioc);
    let transport = ioc.transport();
    let joined: Result<ophyd_core::Result<()>, _> = tokio::spawn(async move {
        let det = Det::new("t", "det");
        det.connect(&transport).await.unwrap();
        ophyd_core::staged(&[&det], || async {
            assert_eq!(det.a.get().await.unwrap(), 1.0);
            panic!("user code failed mid-scan");
        })
        .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(originals(&ioc), before);
}

#[tokio::test]
async fn staged_scope_unstages_when_its_future_is_dropped() {
    let (ioc, _) = ioc();
    let det = det(&ioc).await;
    let before = originals(&ioc);
    let scope = ophyd_core::staged(&[&det], || async {
        std::future::pending::<()>().await;
        Ok(())
    });
    assert!(tokio::time::timeout(Duration::from_millis(50), scope).await.is_err(), "cancelled");
    assert_eq!(originals(&ioc), before, "dropping the scope unstaged the device");
    assert_eq!(staging::state_of(&det), staging::Staged::No);
}

#[tokio::test]
async fn staged_scope_unstages_earlier_devices_when_a_later_one_fails_to_stage() {
    let (ioc, log) = ioc();
    let det = det(&ioc).await;
    let other = SimIoc::new();
    other
        .add(PvSpec::double("u:a", 0.0))
        .add(PvSpec::double("u:b", 0.0))
        .add(PvSpec::long("u:c", 0))
        .add(PvSpec::double("u:cam:acquire_time", 0.0))
        .add(PvSpec::enumeration("u:cam:mode", &["x"], 0))
        .add(PvSpec::double("u:ro", 0.0));
    let broken = Det::new("u", "broken");
    broken.connect(&other.transport()).await.unwrap();
    let before = originals(&ioc);
    let err = ophyd_core::staged(&[&det, &broken], || async { Ok(()) }).await.unwrap_err();
    assert!(err.to_string().contains("broken_cam_mode"), "the mode index 1 is out of range on `u`: {err}");
    assert_eq!(originals(&ioc), before);
    assert!(!take(&log).is_empty());
}

/// A device whose second stage_sig is a put-complete write that the IOC
/// takes 300 ms to process, so stage and unstage can be cut off mid-write.
#[derive(Device)]
struct SlowToStage {
    #[component(suffix = ":a", stage = 1.0)]
    a: EpicsSignal<f64>,
    #[component(suffix = ":slow", put_complete, stage = 5.0)]
    slow: EpicsSignal<f64>,
}

fn slow_ioc() -> SimIoc {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("s:a", 10.0)).add(PvSpec::double("s:slow", 50.0).on_put(|_, v| PutAction::Write {
        value: v.clone(),
        completion: Some(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        })),
    }));
    ioc
}

fn slow_values(ioc: &SimIoc) -> (Option<f64>, Option<f64>) {
    (ioc.get_f64("s:a"), ioc.get_f64("s:slow"))
}

#[tokio::test]
async fn a_stage_cut_off_mid_write_still_lets_unstage_put_everything_back() {
    let ioc = slow_ioc();
    let det = SlowToStage::new("s", "det");
    det.connect(&ioc.transport()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(100), det.stage()).await.is_err(), "cut off");
    assert_eq!(slow_values(&ioc), (Some(1.0), Some(5.0)), "both writes had landed");
    assert_eq!(staging::state_of(&det), staging::Staged::Partially);
    det.unstage().await.unwrap();
    assert_eq!(slow_values(&ioc), (Some(10.0), Some(50.0)));
    assert_eq!(staging::state_of(&det), staging::Staged::No);
}

#[tokio::test]
async fn a_scope_dropped_while_staging_puts_back_the_device_being_staged() {
    let ioc = slow_ioc();
    let det = SlowToStage::new("s", "det");
    det.connect(&ioc.transport()).await.unwrap();
    let scope = ophyd_core::staged(&[&det], || async { Ok(()) });
    assert!(tokio::time::timeout(Duration::from_millis(100), scope).await.is_err(), "cut off while staging");
    assert_eq!(slow_values(&ioc), (Some(10.0), Some(50.0)), "the drop unstaged it");
}

#[tokio::test]
async fn a_scope_dropped_while_unstaging_finishes_the_unstaging() {
    let ioc = slow_ioc();
    let det = SlowToStage::new("s", "det");
    det.connect(&ioc.transport()).await.unwrap();
    // Staging takes ~300 ms, the body nothing, unstaging ~300 ms: cut off in the unstage.
    let scope = ophyd_core::staged(&[&det], || async { Ok(()) });
    assert!(tokio::time::timeout(Duration::from_millis(450), scope).await.is_err(), "cut off while unstaging");
    assert_eq!(slow_values(&ioc), (Some(10.0), Some(50.0)), "the drop finished the unstage");
    assert_eq!(staging::state_of(&det), staging::Staged::No);
}

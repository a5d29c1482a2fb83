//! Faults against real IOCs over Channel Access, started, killed and
//! restarted by the tests: an IOC rebooting mid-run and mid-stage, a
//! put-callback the IOC never completes, access security refusing a
//! restore. What the IOC holds afterwards is checked with an independent
//! client (caproto's, from the project's venv).
#![cfg(feature = "ca")]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use examples::TriggeredDetector;
use ophyd_core::prelude::*;
use ophyd_core::{staging, Error, StageGuard};
use ophyd_epics::{EpicsSignal, EpicsSignalWithRbv, Transport};
use ophyd_run::{count, Document, ExitStatus, RunEngine};
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::venv;

fn transport() -> Transport {
    ioc::ca_transport()
}

/// Kill `ioc` when told to, wait `down`, and start it again on the same
/// port with the same PVs (as an IOC reboot does).
fn reboot_on_signal(mut ioc: Ioc, down: Duration) -> (mpsc::Sender<()>, std::thread::JoinHandle<Ioc>) {
    let (sender, receiver) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        if receiver.recv().is_ok() {
            ioc.stop();
            std::thread::sleep(down);
            ioc.restart().unwrap_or_else(|e| panic!("{e}"));
        }
        ioc
    });
    (sender, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ioc_rebooting_mid_run_gets_its_value_from_before_the_run_back() {
    let ioc = Ioc::trigger_with_pc();
    let enabled_pv = ioc.pv("enabled");
    let det = TriggeredDetector::new(ioc.device_prefix(), "det");
    det.connect(&transport()).await.unwrap();
    det.exposure_time.put(0.1).await.unwrap();
    det.enabled.put(0).await.unwrap(); // the rebooted IOC's default is 1 ("on")

    let (reboot, rebooted) = reboot_on_signal(ioc, Duration::from_secs(1));
    let mut re = RunEngine::new();
    let stops = Arc::new(Mutex::new(Vec::new()));
    let s = stops.clone();
    re.subscribe(move |name, doc| {
        if let (Document::Event(e), "event") = (doc, name) {
            if e.seq_num == 2 {
                reboot.send(()).unwrap();
            }
        }
        if let Document::Stop(stop) = doc {
            s.lock().unwrap().push(stop.clone());
        }
    });
    let err = re.run(count(&[&det], 100, Duration::ZERO)).await.unwrap_err();
    let _ioc = rebooted.join().unwrap();
    assert!(err.is_disconnection(), "the run failed on the lost IOC: {err}");
    let stop = stops.lock().unwrap()[0].clone();
    assert_eq!(stop.exit_status, ExitStatus::Fail);
    assert!(stop.reason.contains("cleanup: everything was put back"), "{}", stop.reason);
    assert_eq!(venv::read_independently(&enabled_pv), "0", "enabled is back to its value before the run");
}

#[derive(Device)]
struct Slow {
    #[component(suffix = ":double", stage = 2.5)]
    double: EpicsSignal<f64>,
    #[component(suffix = ":setpoint", stage = 4.0)]
    setpoint: EpicsSignalWithRbv<f64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ioc_killed_mid_stage_gets_every_original_back_when_it_returns() {
    let ioc = Ioc::soft();
    let (double_pv, setpoint_pv) = (ioc.pv("double"), ioc.pv("setpoint"));
    let slow = Slow::new(ioc.device_prefix(), "slow");
    slow.connect(&transport()).await.unwrap();
    slow.double.put(3.0).await.unwrap(); // not the database's 1.5
    set_and_wait(&slow.setpoint, 1.0).await.unwrap(); // not the database's 0

    let (reboot, rebooted) = reboot_on_signal(ioc, Duration::from_secs(1));
    // The setpoint's read-back follows 0.3 s after a write: kill the IOC then.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        reboot.send(()).unwrap();
    });
    let err = StageGuard::stage(&[&slow]).await.err().expect("staging fails when the IOC dies");
    killer.join().unwrap();
    let _ioc = rebooted.join().unwrap();
    assert!(err.is_disconnection(), "{err}");
    assert_eq!(staging::state_of(&slow), staging::Staged::No, "everything was put back: {err}");
    assert_eq!(venv::read_independently(&double_pv), "3.0");
    assert_eq!(venv::read_independently(&setpoint_pv), "1.0");
}

#[derive(Device)]
#[device(custom(trigger))]
struct NeverDone {
    #[component(suffix = ":stuck", kind = "omitted", put_complete)]
    go: EpicsSignal<f64>,
    #[component(suffix = ":double", kind = "hinted", stage = 2.5)]
    double: EpicsSignal<f64>,
}

impl Trigger for NeverDone {
    fn trigger(&self) -> Status {
        self.go.set(1.0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_whose_put_callback_never_completes_fails_after_its_timeout_and_the_run_cleans_up() {
    let ioc = Ioc::soft();
    let det = NeverDone::new(ioc.device_prefix(), "det");
    det.connect(&transport()).await.unwrap();
    det.go.set_completion_timeout(Some(Duration::from_millis(500)));
    let mut re = RunEngine::new();
    let start = Instant::now();
    let err = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    assert!(matches!(&err, Error::Timeout { what, .. } if what.contains(&ioc.pv("stuck"))), "names the PV: {err}");
    assert_eq!(venv::read_independently(&ioc.pv("double")), "1.5", "the stage_sig was put back");
}

#[derive(Device)]
struct Guarded {
    #[component(suffix = ":guarded", stage = 7.0)]
    guarded: EpicsSignal<f64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_security_refusing_a_restore_is_reported_and_the_restore_is_retried_later() {
    let ioc = Ioc::soft();
    let guarded_pv = ioc.pv("guarded");
    let det = Guarded::new(ioc.device_prefix(), "det");
    det.connect(&transport()).await.unwrap();
    let lock = EpicsSignal::<Enum>::new(&ioc.pv("lock"), "lock");
    lock.connect(&transport()).await.unwrap();
    det.stage().await.unwrap();
    assert_eq!(venv::read_independently(&guarded_pv), "7.0");

    lock.put(1).await.unwrap(); // access security now refuses writes to `guarded`
                                // The IOC tells its clients of new access rights asynchronously.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused = Instant::now();
    let err = det.unstage().await.expect_err("the restore went through although writes are refused");
    assert!(refused.elapsed() < Duration::from_secs(5));
    let text = err.to_string();
    assert!(text.contains(&guarded_pv) && text.contains("Write access denied"), "{text}");
    assert_eq!(staging::state_of(&det), staging::Staged::Partially, "still to be put back");
    let left = staging::unrestored(&det);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].to_string(), format!("`det_guarded` (PV:{guarded_pv}) should be 1.5"));
    assert_eq!(venv::read_independently(&guarded_pv), "7.0");

    lock.put(0).await.unwrap();
    let start = Instant::now();
    while det.unstage().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(5), "access came back but the restore kept failing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(venv::read_independently(&guarded_pv), "1.5");
}

#[derive(Device)]
struct Odd {
    #[component(suffix = ":empty", stage = vec![1, 2])]
    empty: EpicsSignal<Vec<i32>>,
}

#[tokio::test]
async fn an_empty_waveform_original_is_refused_before_staging_changes_anything() {
    let ioc = Ioc::soft();
    let odd = Odd::new(ioc.device_prefix(), "odd");
    odd.connect(&transport()).await.unwrap();
    let err = odd.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("odd_empty") && text.contains("could not be put back"), "{text}");
    assert!(text.contains("Channel Access cannot write an empty array"), "{text}");
    assert_eq!(odd.empty.get().await.unwrap(), Vec::<i32>::new(), "nothing was changed");
    assert_eq!(staging::state_of(&odd), staging::Staged::No, "nothing to put back");
}

#[derive(Device)]
struct Label {
    #[component(suffix = ":latin1", stage = "changed")]
    latin1: EpicsSignal<String>,
}

#[tokio::test]
async fn a_latin_1_string_is_put_back_byte_for_byte() {
    let ioc = Ioc::soft();
    let pv = ioc.pv("latin1");
    let label = Label::new(ioc.device_prefix(), "label");
    label.connect(&transport()).await.unwrap();
    label.stage().await.unwrap();
    assert_eq!(venv::read_bytes_independently(&pv), b"changed");
    label.unstage().await.unwrap();
    assert_eq!(venv::read_bytes_independently(&pv), b"25\xb0C", "the IOC's Latin-1 bytes, not a UTF-8 rewrite");
}

//! Mock mode, as a user tests their devices without hardware: the
//! tutorial's detector, a camera with read-back pairs and `EpicsMotor`
//! connected to a `MockIoc` with no PV declared by hand; puts recorded,
//! hardware emulated by put callbacks, puts held to test waits and
//! timeouts, a `count` run; every test on tokio's paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use examples::TriggeredDetector;
use ophyd_core::prelude::*;
use ophyd_core::testing::{assert_configuration, assert_reading, assert_value, reading};
use ophyd_core::{Error, Value};
use ophyd_epics::mock::MockIoc;
use ophyd_epics::{EpicsMotor, EpicsSignal, EpicsSignalWithRbv, DEFAULT_COMPLETION_TIMEOUT};
use ophyd_run::{count, Document, ExitStatus, RunEngine};

/// The README's example ("Testing your devices without hardware"), as it
/// is there: `the_readme_shows_its_mock_example_as_tested_here` keeps the
/// two the same.
mod readme_mock_example {
    use examples::TriggeredDetector;
    use ophyd_core::prelude::*;
    use ophyd_core::testing::{assert_reading, reading};
    use ophyd_epics::mock::MockIoc;

    #[tokio::test(start_paused = true)] // timeouts and settle times pass at once
    async fn a_trigger_reads_what_the_detector_measured() -> ophyd_core::Result<()> {
        let mock = MockIoc::new();
        let det = TriggeredDetector::new("XF:det", "det");
        det.connect(&mock.transport()).await?; // every PV made from its signal's type
        let measured = mock.pv(&det.reading);
        mock.on_put(&det.acquire, move |_| measured.set(3.0)); // what the hardware would do
        det.stage().await?;
        det.trigger().await?; // put-complete: done at once, unless a test holds it
        assert_reading(&det, reading! {"det_reading" => 3.0}).await;
        det.unstage().await?;
        assert_eq!(mock.puts(&det.enabled), [Enum::Index(1), Enum::Index(0)]); // staged, then put back
        Ok(())
    }
}

/// The tutorial's detector, connected to a fresh mock IOC.
async fn detector() -> (MockIoc, TriggeredDetector) {
    let mock = MockIoc::new();
    let det = TriggeredDetector::new("XF:det", "det");
    det.connect(&mock.transport()).await.unwrap();
    (mock, det)
}

/// Make `det` acquire as the tutorial's IOC does: each acquisition reads
/// `gain` times the next of 1, 2, 3, ...
fn emulate(mock: &MockIoc, det: &TriggeredDetector) -> Arc<AtomicU32> {
    let (reading, gain, shots) = (mock.pv(&det.reading), mock.pv(&det.gain), Arc::new(AtomicU32::new(0)));
    let counted = shots.clone();
    mock.on_put(&det.acquire, move |acquire| {
        if acquire.index() == Some(1) {
            let shot = counted.fetch_add(1, Ordering::SeqCst) + 1;
            reading.set(gain.value() * f64::from(shot));
        }
    });
    shots
}

#[tokio::test(start_paused = true)]
async fn the_tutorial_detector_stages_triggers_reads_and_unstages_in_mock_mode() {
    let (mock, det) = detector().await;
    emulate(&mock, &det);
    mock.set(&det.gain, 2.0);
    mock.set(&det.exposure_time, 0.5);
    assert_configuration(&det, reading! {"det_gain" => 2.0, "det_exposure_time" => 0.5}).await;
    assert_reading(&det, reading! {"det_reading" => 0.0}).await;

    det.stage().await.unwrap();
    assert_value(&det.enabled, 1).await;
    det.trigger().await.unwrap();
    assert_reading(&det, reading! {"det_reading" => 2.0}).await;
    det.trigger().await.unwrap();
    assert_reading(&det, reading! {"det_reading" => 4.0}).await;
    det.unstage().await.unwrap();
    assert_value(&det.enabled, 0).await;

    let described = det.describe().await.unwrap();
    assert_eq!(&*described.get("det_reading").unwrap().source, "PV:XF:det:reading", "the sources of real PVs");
    assert_eq!(det.hints().fields, ["det_reading"]);
}

#[tokio::test(start_paused = true)]
async fn every_put_a_device_makes_is_recorded_in_order_and_typed() {
    let (mock, det) = detector().await;
    set_and_wait(&det.gain, 3.0).await.unwrap();
    det.stage().await.unwrap();
    det.trigger().await.unwrap();
    det.trigger().await.unwrap();
    det.unstage().await.unwrap();
    assert_eq!(mock.puts(&det.gain), [3.0]);
    assert_eq!(mock.puts(&det.enabled), [Enum::Index(1), Enum::Index(0)]);
    assert_eq!(mock.puts(&det.acquire), [Enum::Index(1), Enum::Index(1)]);
    assert!(mock.puts(&det.exposure_time).is_empty(), "a field the device never wrote");
    mock.clear_puts(&det.acquire);
    det.trigger().await.unwrap();
    assert_eq!(mock.puts(&det.acquire).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_put_callback_emulates_the_detector_and_subscribers_see_what_it_sets() {
    let (mock, det) = detector().await;
    let shots = emulate(&mock, &det);
    mock.set(&det.gain, 10.0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let _subscription = det.reading.subscribe(move |value, _| kept.lock().unwrap().push(*value)).unwrap();
    for _ in 0..3 {
        det.trigger().await.unwrap();
    }
    assert_eq!((shots.load(Ordering::SeqCst), det.reading.get().await.unwrap()), (3, 30.0));
    assert_eq!(*seen.lock().unwrap(), [0.0, 10.0, 20.0, 30.0]);
}

#[tokio::test(start_paused = true)]
async fn a_held_acquire_keeps_the_trigger_waiting_until_released() {
    let (mock, det) = detector().await;
    emulate(&mock, &det);
    mock.set(&det.gain, 1.0);
    let hold = mock.hold_puts(&det.acquire);
    let trigger = det.trigger();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(!trigger.done(), "the acquisition has not completed");
    assert_eq!(det.reading.get().await.unwrap(), 1.0, "the put arrived; only its completion waits");
    hold.release();
    trigger.await.unwrap();
    det.trigger().await.expect("the next trigger is not held");
}

#[tokio::test(start_paused = true)]
async fn a_held_acquire_fails_the_trigger_at_its_timeout_at_once_on_the_paused_clock() {
    let (mock, det) = detector().await;
    let _hold = mock.hold_puts(&det.acquire);
    let started = std::time::Instant::now();

    let err = det.trigger().await.unwrap_err();
    assert_eq!(
        err,
        Error::Timeout { what: "put of 1 to `det_acquire` (XF:det:acquire)".into(), after: DEFAULT_COMPLETION_TIMEOUT }
    );
    let err = det.trigger().wait(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { after, .. } if after == Duration::from_secs(5)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "65 s of timeouts passed on the paused clock, not in real time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_hold_fails_the_trigger_with_the_iocs_reason() {
    let (mock, det) = detector().await;
    let hold = mock.hold_puts(&det.acquire);
    let trigger = det.trigger();
    hold.fail("acquisition aborted");
    let err = trigger.await.unwrap_err();
    assert_eq!(err.to_string(), "put of 1 to `det_acquire` (XF:det:acquire) failed: acquisition aborted");
}

/// A camera with areaDetector's setpoint/read-back pairs.
#[derive(Device)]
struct Camera {
    #[component(suffix = ":AcquireTime", kind = "config")]
    acquire_time: EpicsSignalWithRbv<f64>,
    #[component(suffix = ":ImageMode", kind = "config", stage = "Single")]
    image_mode: EpicsSignalWithRbv<Enum>,
    #[component(suffix = ":ArrayCounter", kind = "hinted")]
    array_counter: EpicsSignal<i32>,
}

#[tokio::test(start_paused = true)]
async fn a_read_back_pair_follows_its_setpoint_through_set_and_wait_and_staging() {
    let mock = MockIoc::new();
    let cam = Camera::new("XF:cam1", "cam");
    cam.connect(&mock.transport()).await.unwrap();
    mock.set_enum_strings(&cam.image_mode, &["Single", "Multiple", "Continuous"]);
    mock.set(&cam.image_mode, "Continuous");

    set_and_wait(&cam.acquire_time, 0.25).await.unwrap();
    assert_eq!(mock.ioc().get("XF:cam1:AcquireTime_RBV"), Some(Value::Float(0.25)));
    cam.stage().await.unwrap();
    assert_eq!(cam.image_mode.get_label().await.unwrap(), "Single");
    cam.unstage().await.unwrap();
    assert_eq!(cam.image_mode.get_label().await.unwrap(), "Continuous");
    assert_eq!(mock.puts(&cam.image_mode), [Enum::Index(0), Enum::Index(2)]);
    assert_configuration(&cam, reading! {"cam_acquire_time" => 0.25, "cam_image_mode" => 2}).await;

    // A camera that refuses: the read-back keeps its value, and set_and_wait says so.
    let camera = mock.pv(&cam.acquire_time);
    mock.on_put(&cam.acquire_time, move |_| camera.set(0.25));
    let options = ophyd_core::SetAndWait { timeout: Duration::from_secs(2), tolerance: None };
    let err = ophyd_core::set_and_wait_with(&cam.acquire_time, 1.0, options).await.unwrap_err();
    assert!(matches!(&err, Error::SetAndWait { last, .. } if last == "0.25"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_disconnected_signal_fails_the_read_naming_its_pv_until_it_is_back() {
    let (mock, det) = detector().await;
    mock.disconnect(&det.reading);
    let err = det.read().await.unwrap_err();
    assert!(err.to_string().contains("XF:det:reading"), "{err}");
    mock.reconnect(&det.reading);
    assert_reading(&det, reading! {"det_reading" => 0.0}).await;
}

#[tokio::test(start_paused = true)]
async fn an_epics_motor_in_mock_mode_moves_only_when_the_test_answers_as_the_record() {
    let mock = MockIoc::new();
    let motor = EpicsMotor::new("XF:m1", "m1");
    motor.connect(&mock.transport()).await.unwrap();
    for field in ["VAL", "RBV", "DMOV", "MOVN", "VELO", "ACCL", "EGU", "HLM", "LLM", "DHLM", "DLLM", "LVIO", "STOP"] {
        assert!(mock.ioc().get(&format!("XF:m1.{field}")).is_some(), ".{field} made");
    }
    assert_eq!(mock.ioc().pv_names().len(), 22, "one PV per component");

    // Every field starts at zero, a velocity too: no move would ever arrive.
    let err = motor.move_to(1.0).await.unwrap_err();
    assert!(err.to_string().contains("its velocity (.VELO) is 0"), "{err}");

    // Nothing answers the setpoint: the move stalls, and times out at once.
    mock.set(&motor.velocity, 1.0);
    let err = motor.move_to(2.0).await.unwrap().await.unwrap_err();
    assert!(matches!(&err, Error::Timeout { after, .. } if *after == Duration::from_secs(12)), "{err}");
    assert!(err.to_string().contains("stalled: last read back 0 from XF:m1.RBV"), "{err}");

    // The test answers as the record does: moving, there, done.
    let (readback, done) = (mock.pv(&motor.user_readback), mock.pv(&motor.motor_done_move));
    mock.on_put(&motor.user_setpoint, move |target| {
        done.set(0);
        readback.set(*target);
        done.set(1);
    });
    motor.move_to(3.5).await.unwrap().await.unwrap();
    assert_eq!(motor.position().await.unwrap(), 3.5);
    assert_reading(&motor, reading! {"m1" => 3.5, "m1_user_setpoint" => 3.5}).await;
    assert_eq!(mock.puts(&motor.user_setpoint), [2.0, 3.5]);
}

#[tokio::test(start_paused = true)]
async fn a_count_over_a_mock_detector_stages_once_and_emits_what_it_measured() {
    let (mock, det) = detector().await;
    emulate(&mock, &det);
    mock.set(&det.gain, 1.5);
    let readings = Arc::new(Mutex::new(Vec::new()));
    let kept = readings.clone();
    let mut re = RunEngine::new();
    re.subscribe(move |_, document| {
        if let Document::Event(event) = document {
            kept.lock().unwrap().push(event.data["det_reading"].clone());
        }
    });
    // One second between points, on the paused clock.
    let summary = re.run(count(&[&det], 3, Duration::from_secs(1))).await.unwrap();
    assert_eq!((summary.exit_status, summary.num_events), (ExitStatus::Success, 3));
    assert_eq!(*readings.lock().unwrap(), [1.5, 3.0, 4.5]);
    assert_eq!(mock.puts(&det.enabled), [Enum::Index(1), Enum::Index(0)], "staged once, put back once");
    assert_eq!(mock.puts(&det.acquire).len(), 3);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "assert_reading: the reading of `det` is not the one expected\n  \
                           different (expected | read):\n    det_reading: 3.0 | 0.0")]
async fn assert_reading_names_the_device_and_shows_both_values() {
    let (_mock, det) = detector().await;
    assert_reading(&det, reading! {"det_reading" => 3.0}).await;
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "assert_configuration: the configuration of `det` is not the one expected\n  \
                           missing (expected, not read):\n    det_enabled: 1\n  \
                           unexpected (read, not expected):\n    det_exposure_time: 0.0")]
async fn assert_configuration_lists_keys_missing_and_unexpected() {
    let (_mock, det) = detector().await;
    assert_configuration(&det, reading! {"det_gain" => 0.0, "det_enabled" => 1}).await;
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "assert_value: `det_enabled` (PV:XF:det:enabled) holds 0, not the 1 expected")]
async fn assert_value_names_the_signal_and_its_pv() {
    let (_mock, det) = detector().await;
    assert_value(&det.enabled, 1).await;
}

#[test]
fn the_readme_shows_its_mock_example_as_tested_here() {
    let readme = include_str!("../../README.md");
    let section = readme.split("## Testing your devices without hardware").nth(1).expect("the README's section");
    let shown = section.split("```rust\n").nth(1).and_then(|b| b.split("```").next()).expect("its code block");
    let this_file = include_str!("mock.rs");
    let module = this_file.split("mod readme_mock_example {\n").nth(1).and_then(|m| m.split("\n}\n").next());
    let tested: String =
        module.expect("the module").lines().map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l))).collect();
    assert_eq!(shown, tested, "the README's mock example differs from the test that runs it");
}

/// A camera with a "Start" button: a trigger-only PV, put-complete.
#[derive(Device)]
#[device(custom(trigger))]
struct StartButtonCamera {
    #[component(suffix = ":Start", put_complete)]
    start: ophyd_epics::EpicsSignalX<i32>,
    #[component(suffix = ":Frames", kind = "hinted")]
    frames: ophyd_epics::EpicsSignalRO<i32>,
}

impl Trigger for StartButtonCamera {
    fn trigger(&self) -> Status {
        self.start.trigger()
    }
}

#[tokio::test(start_paused = true)]
async fn a_trigger_only_signal_is_mocked_its_puts_recorded_held_and_answered() {
    let mock = MockIoc::new();
    let cam = StartButtonCamera::new("XF:cam", "cam");
    cam.connect(&mock.transport()).await.unwrap();
    let frames = mock.pv(&cam.frames);
    mock.on_put(&cam.start, move |_| frames.set(frames.value() + 1));
    cam.trigger().await.unwrap();
    assert_reading(&cam, reading! {"cam_frames" => 1}).await;
    let hold = mock.hold_puts(&cam.start);
    let status = cam.trigger();
    tokio::task::yield_now().await;
    assert!(!status.done(), "a held Start keeps the trigger waiting");
    hold.release();
    status.await.unwrap();
    assert_eq!(mock.puts(&cam.start), [1, 1]);
    assert_reading(&cam, reading! {"cam_frames" => 2}).await;
}

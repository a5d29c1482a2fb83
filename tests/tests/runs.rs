//! The run engine: documents (checked against event-model's own schemas and
//! read by Python's event_model), and cleanup in every way a run can end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use examples::{TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use futures::future::{BoxFuture, FutureExt};
use ophyd_core::prelude::*;
use ophyd_core::{Error, Result};
use ophyd_epics::sim::{PutAction, SimIoc};
use ophyd_epics::EpicsMotor;
use ophyd_run::{count, scan, Document, ExitStatus, JsonLines, RunEngine};
use ophyd_tests::venv;
use serde_json::Value as Json;

type Log = Arc<Mutex<Vec<String>>>;
type Docs = Arc<Mutex<Vec<(String, Json)>>>;

fn record(log: &Mutex<Option<Log>>, entry: String) {
    if let Some(log) = &*log.lock().unwrap() {
        log.lock().unwrap().push(entry);
    }
}

/// A motor on a soft signal that logs what the run calls.
#[derive(Device)]
#[device(custom(stop))]
struct Motor {
    #[component(kind = "hinted")]
    position: SoftSignal<f64>,
    log: Mutex<Option<Log>>,
    fail_stop: Mutex<bool>,
}

impl Movable for Motor {
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>> {
        record(&self.log, format!("motor.move_to({target})"));
        futures::future::ready(Ok(self.position.set(target))).boxed()
    }
}

impl Stop for Motor {
    async fn stop(&self, success: bool) -> Result<()> {
        record(&self.log, format!("motor.stop(success={success})"));
        if *self.fail_stop.lock().unwrap() {
            return Err(Error::Failed { what: "stop of motor".into(), reason: "amplifier fault".into() });
        }
        Ok(())
    }
    async fn pause(&self) -> Result<()> {
        record(&self.log, "motor.pause()".into());
        Ok(())
    }
    async fn resume(&self) -> Result<()> {
        record(&self.log, "motor.resume()".into());
        Ok(())
    }
}

/// A detector on soft signals, staged `enabled` 0 -> 1, that logs calls and
/// can be told to fail or panic on a given trigger.
#[derive(Device)]
#[device(custom(trigger, stop))]
struct Det {
    #[component(kind = "hinted")]
    value: SoftSignal<f64>,
    #[component(kind = "omitted", stage = 1)]
    enabled: SoftSignal<i32>,
    log: Mutex<Option<Log>>,
    triggers: AtomicU64,
    fail_at: Mutex<Option<u64>>,
    panic_at: Mutex<Option<u64>>,
}

impl Trigger for Det {
    fn trigger(&self) -> Status {
        let n = self.triggers.fetch_add(1, Ordering::SeqCst) + 1;
        record(&self.log, "det.trigger()".into());
        if *self.panic_at.lock().unwrap() == Some(n) {
            panic!("detector firmware crashed");
        }
        if *self.fail_at.lock().unwrap() == Some(n) {
            return Status::failed(
                "trigger of det",
                Error::Failed { what: "trigger of det".into(), reason: "saturated".into() },
            );
        }
        self.value.set(n as f64)
    }
}

impl Stop for Det {
    async fn stop(&self, success: bool) -> Result<()> {
        record(&self.log, format!("det.stop(success={success})"));
        Ok(())
    }
    async fn pause(&self) -> Result<()> {
        record(&self.log, "det.pause()".into());
        Ok(())
    }
    async fn resume(&self) -> Result<()> {
        record(&self.log, "det.resume()".into());
        Ok(())
    }
}

fn devices(log: &Log) -> (Motor, Det) {
    let (motor, det) = (Motor::new("", "motor"), Det::new("", "det"));
    *motor.log.lock().unwrap() = Some(log.clone());
    *det.log.lock().unwrap() = Some(log.clone());
    (motor, det)
}

fn engine() -> (RunEngine, Docs) {
    let mut re = RunEngine::new();
    let docs: Docs = Arc::default();
    let d = docs.clone();
    re.subscribe(move |name, doc| d.lock().unwrap().push((name.to_owned(), serde_json::to_value(doc).unwrap())));
    (re, docs)
}

fn names(docs: &Docs) -> Vec<String> {
    docs.lock().unwrap().iter().map(|(n, _)| n.clone()).collect()
}

fn stop_doc(docs: &Docs) -> Json {
    docs.lock().unwrap().iter().find(|(n, _)| n == "stop").expect("a stop document").1.clone()
}

/// The tutorial's detector (and a motor) on a simulated IOC with `enabled`
/// off before the run and a short exposure.
async fn tutorial() -> (SimIoc, TriggeredDetector, EpicsMotor) {
    let ioc = SimIoc::trigger_with_pc(&format!("{TUTORIAL_PREFIX}:"));
    ioc.add_motor("sim:m1", 0.0);
    ioc.write("trigger_with_pc:exposure_time", 0.02);
    ioc.write("trigger_with_pc:enabled", 0);
    let det = TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    let motor = EpicsMotor::new("sim:m1", "motor");
    det.connect(&ioc.transport()).await.unwrap();
    motor.connect(&ioc.transport()).await.unwrap();
    motor.velocity.put(100.0).await.unwrap();
    (ioc, det, motor)
}

fn enabled_on_ioc(ioc: &SimIoc) -> Option<f64> {
    ioc.get_f64("trigger_with_pc:enabled")
}

#[tokio::test]
async fn count_emits_start_descriptor_events_and_stop_linked_by_uid() {
    let (_ioc, det, _) = tutorial().await;
    let (mut re, docs) = engine();
    let summary = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap();
    assert_eq!(summary.exit_status, ExitStatus::Success);
    assert_eq!(names(&docs), ["start", "descriptor", "event", "event", "event", "stop"]);
    let docs = docs.lock().unwrap();
    let start = &docs[0].1;
    let descriptor = &docs[1].1;
    assert_eq!(start["plan_name"], "count");
    assert_eq!(start["detectors"], serde_json::json!(["triggered_detector"]));
    assert_eq!(descriptor["run_start"], start["uid"]);
    assert_eq!(descriptor["data_keys"]["triggered_detector_reading"]["source"], "PV:trigger_with_pc:reading");
    assert_eq!(descriptor["data_keys"]["triggered_detector_reading"]["object_name"], "triggered_detector");
    assert_eq!(descriptor["hints"]["triggered_detector"]["fields"], serde_json::json!(["triggered_detector_reading"]));
    let config = &descriptor["configuration"]["triggered_detector"];
    assert_eq!(config["data"]["triggered_detector_exposure_time"], 0.02);
    assert!(config["data_keys"]["triggered_detector_gain"].is_object());
    for (i, (_, event)) in docs[2..5].iter().enumerate() {
        assert_eq!(event["seq_num"], i as u64 + 1);
        assert_eq!(event["descriptor"], descriptor["uid"]);
        assert!(event["data"]["triggered_detector_reading"].is_number());
        assert!(event["timestamps"]["triggered_detector_reading"].is_number());
    }
    let stop = &docs[5].1;
    assert_eq!(
        (&stop["exit_status"], &stop["num_events"]["primary"], &stop["run_start"]),
        (&"success".into(), &3.into(), &start["uid"])
    );
}

#[tokio::test]
async fn scan_moves_the_motor_and_reads_it_with_the_detectors() {
    let (_ioc, det, motor) = tutorial().await;
    let (mut re, docs) = engine();
    re.run(scan(&[&det], &motor, [0.0, 0.5, 1.0])).await.unwrap();
    let docs = docs.lock().unwrap();
    assert_eq!(docs[0].1["hints"]["dimensions"], serde_json::json!([[["motor"], "primary"]]));
    let positions: Vec<f64> =
        docs.iter().filter(|(n, _)| n == "event").map(|(_, e)| e["data"]["motor"].as_f64().unwrap()).collect();
    assert_eq!(positions, [0.0, 0.5, 1.0]);
}

#[tokio::test]
async fn every_document_validates_against_event_models_schemas() {
    let (ioc, det, motor) = tutorial().await;
    let (mut re, docs) = engine();
    re.run(count(&[&det], 2, Duration::ZERO)).await.unwrap();
    re.run(scan(&[&det], &motor, [0.0, 1.0])).await.unwrap();
    ioc.set_put_handler("trigger_with_pc:acquire", |_, _| PutAction::Refuse("detector fault".into()));
    assert!(re.run(count(&[&det], 2, Duration::ZERO)).await.is_err());
    let docs = docs.lock().unwrap();
    assert_eq!(docs.len(), 5 + 5 + 2);
    venv::assert_valid_documents(docs.iter());
}

#[tokio::test]
async fn python_event_model_reads_our_documents() {
    let (_ioc, det, motor) = tutorial().await;
    let dir = std::env::temp_dir().join(format!("ophyd-run-{}", ophyd_run::new_uid()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scan.jsonl");
    let mut re = RunEngine::new();
    re.subscribe_callback(JsonLines::create(&path).unwrap());
    re.run(scan(&[&det], &motor, [0.0, 0.5, 1.0])).await.unwrap();
    drop(re);
    let script = r#"
import json, sys, event_model
counts = {}
class Count(event_model.DocumentRouter):
    def start(self, doc): counts["start"] = counts.get("start", 0) + 1
    def descriptor(self, doc): counts["descriptor"] = counts.get("descriptor", 0) + 1
    def event(self, doc): counts["event"] = counts.get("event", 0) + 1
    def stop(self, doc): counts["stop"] = counts.get("stop", 0) + 1
router = Count()
for line in open(sys.argv[1]):
    name, doc = json.loads(line)
    event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
    router(name, doc)
print(json.dumps(counts, sort_keys=True))
"#;
    let out = std::process::Command::new(venv::python()).arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "event_model refused our documents:\n{}", String::from_utf8_lossy(&out.stderr));
    let counts: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts, serde_json::json!({"descriptor": 1, "event": 3, "start": 1, "stop": 1}));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_error_in_a_trigger_fails_the_run_and_unstages() {
    let (ioc, det, _) = tutorial().await;
    ioc.set_put_handler("trigger_with_pc:acquire", |_, _| PutAction::Refuse("detector fault".into()));
    let (mut re, docs) = engine();
    let err = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap_err();
    assert!(err.to_string().contains("detector fault"), "{err}");
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
    let stop = stop_doc(&docs);
    assert_eq!(stop["exit_status"], "fail");
    assert!(stop["reason"].as_str().unwrap().contains("detector fault"));
}

#[tokio::test]
async fn a_failing_read_fails_the_run_and_unstages() {
    let (ioc, det, _) = tutorial().await;
    let (mut re, docs) = engine();
    let cut = ioc.clone();
    re.subscribe(move |name, _| {
        if name == "event" {
            cut.set_connected("trigger_with_pc:reading", false);
        }
    });
    let err = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap_err();
    assert!(matches!(&err, Error::Disconnected { pv, .. } if pv == "trigger_with_pc:reading"), "{err:?}");
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
    assert_eq!(stop_doc(&docs)["num_events"]["primary"], 1);
}

#[tokio::test]
async fn a_panic_unstages_stops_what_moved_and_closes_the_run() {
    let log: Log = Arc::default();
    let (motor, det) = devices(&log);
    *det.panic_at.lock().unwrap() = Some(2);
    let (mut re, docs) = engine();
    let joined = tokio::spawn(async move {
        let outcome = re.run(scan(&[&det], &motor, [0.0, 1.0, 2.0])).await;
        (outcome, det.enabled.get().await)
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let stop = stop_doc(&docs);
    assert_eq!(stop["exit_status"], "fail");
    assert!(stop["reason"].as_str().unwrap().contains("panic"), "{stop}");
    let log = log.lock().unwrap();
    assert_eq!(log.last().unwrap(), "motor.stop(success=false)");
}

#[tokio::test]
async fn a_panic_leaves_the_ioc_as_it_found_it() {
    let (ioc, det, _) = tutorial().await;
    let (mut re, _docs) = engine();
    re.subscribe(|name, _| {
        if name == "event" {
            panic!("a subscriber crashed");
        }
    });
    let joined = tokio::spawn(async move { re.run(count(&[&det], 3, Duration::ZERO)).await.map(|_| ()) }).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
}

#[tokio::test]
async fn abort_stops_the_run_cleans_up_and_says_abort() {
    let (ioc, det, _) = tutorial().await;
    let (mut re, docs) = engine();
    let control = re.control();
    re.subscribe(move |name, doc| {
        if let (Document::Event(e), "event") = (doc, name) {
            if e.seq_num == 2 {
                control.abort("beam dump");
            }
        }
    });
    let summary = re.run(count(&[&det], 5, Duration::ZERO)).await.unwrap();
    assert_eq!(
        (summary.exit_status, summary.num_events, summary.reason.as_str()),
        (ExitStatus::Abort, 2, "beam dump; cleanup: everything was put back")
    );
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
    assert_eq!(stop_doc(&docs)["exit_status"], "abort");
}

#[tokio::test]
async fn abort_interrupts_a_point_in_progress() {
    let (ioc, det, _) = tutorial().await;
    ioc.write("trigger_with_pc:exposure_time", 30.0);
    let (mut re, docs) = engine();
    let control = re.control();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        control.abort("operator");
    });
    let summary =
        tokio::time::timeout(Duration::from_secs(5), re.run(count(&[&det], 2, Duration::ZERO))).await.unwrap().unwrap();
    assert_eq!(summary.exit_status, ExitStatus::Abort);
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
    assert_eq!(names(&docs), ["start", "stop"]);
}

#[tokio::test]
async fn dropping_the_run_future_cleans_up_and_closes_the_run() {
    let (ioc, det, _) = tutorial().await;
    ioc.write("trigger_with_pc:exposure_time", 30.0);
    let (mut re, docs) = engine();
    let run = re.run(count(&[&det], 2, Duration::ZERO));
    assert!(tokio::time::timeout(Duration::from_millis(100), run).await.is_err());
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0));
    let stop = stop_doc(&docs);
    assert_eq!(stop["exit_status"], "abort");
    assert!(stop["reason"].as_str().unwrap().contains("dropped"));
}

#[tokio::test]
async fn pause_resume_and_stop_are_called_in_order() {
    let log: Log = Arc::default();
    let (motor, det) = devices(&log);
    let (mut re, _docs) = engine();
    let control = re.control();
    re.subscribe(move |name, doc| {
        if let (Document::Event(e), "event") = (doc, name) {
            if e.seq_num == 1 {
                control.pause();
                let control = control.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    control.resume();
                });
            }
        }
    });
    let summary = re.run(scan(&[&det], &motor, [0.0, 1.0])).await.unwrap();
    assert_eq!(summary.exit_status, ExitStatus::Success);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "motor.move_to(0)",
            "det.trigger()",
            "motor.pause()",
            "det.pause()",
            "motor.resume()",
            "det.resume()",
            "motor.move_to(1)",
            "det.trigger()",
            "motor.stop(success=true)",
        ]
    );
    assert_eq!(det.enabled.get().await.unwrap(), 0, "unstaged");
}

#[tokio::test]
async fn a_failed_run_stops_what_it_moved_with_success_false() {
    let log: Log = Arc::default();
    let (motor, det) = devices(&log);
    *det.fail_at.lock().unwrap() = Some(1);
    let (mut re, _docs) = engine();
    let err = re.run(scan(&[&det], &motor, [0.0, 1.0])).await.unwrap_err();
    assert!(err.to_string().contains("saturated"));
    assert_eq!(*log.lock().unwrap(), ["motor.move_to(0)", "det.trigger()", "motor.stop(success=false)"]);
    assert_eq!(det.enabled.get().await.unwrap(), 0);
}

#[tokio::test]
async fn a_cleanup_failure_is_reported_and_the_rest_of_the_cleanup_still_happens() {
    let log: Log = Arc::default();
    let (motor, det) = devices(&log);
    *motor.fail_stop.lock().unwrap() = true;
    let (mut re, docs) = engine();
    let err = re.run(scan(&[&det], &motor, [0.0])).await.unwrap_err();
    assert!(err.to_string().contains("amplifier fault"), "{err}");
    assert_eq!(det.enabled.get().await.unwrap(), 0, "unstaged despite the failed stop");
    let stop = stop_doc(&docs);
    assert_eq!(stop["exit_status"], "fail");
    assert!(stop["reason"].as_str().unwrap().contains("cleanup failed"));
}

#[derive(Device)]
struct Parent {
    #[component]
    det: Det,
    #[component(kind = "omitted", stage = 5)]
    mode: SoftSignal<i32>,
}

#[tokio::test]
async fn devices_listed_twice_or_inside_another_are_staged_once() {
    let log: Log = Arc::default();
    let (_, det) = devices(&log);
    let (mut re, _) = engine();
    // Staging twice would be RedundantStaging: listing twice must not stage twice.
    re.run(count(&[&det, &det], 1, Duration::ZERO)).await.unwrap();
    let parent = Parent::new("", "parent");
    re.run(count(&[&parent, &parent.det], 1, Duration::ZERO)).await.unwrap();
    assert_eq!(parent.det.enabled.get().await.unwrap(), 0);
    assert_eq!(parent.mode.get().await.unwrap(), 0);
}

#[tokio::test]
async fn a_subscriber_that_panics_again_while_the_run_closes_does_not_abort_the_process() {
    let (ioc, det, _) = tutorial().await;
    let (mut re, _docs) = engine();
    re.subscribe(|name, _| {
        if name == "event" || name == "stop" {
            panic!("a subscriber crashed on {name}");
        }
    });
    let joined = tokio::spawn(async move { re.run(count(&[&det], 3, Duration::ZERO)).await.map(|_| ()) }).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(enabled_on_ioc(&ioc), Some(0.0), "cleaned up all the same");
}

/// A camera that writes its frames to a file (as an areaDetector's HDF5
/// plugin does) and says where: one resource, a datum per frame.
#[derive(Device)]
#[device(custom(trigger, stream_assets))]
struct FrameWriter {
    #[component(kind = "omitted")]
    frames: SoftSignal<i64>,
    #[component(kind = "hinted")]
    exposure: SoftSignal<f64>,
    /// The resource's uid once opened, and how many frames were reported.
    reported: Mutex<(Option<String>, u64)>,
    /// Report frames only once this many are new (0: each one).
    batch: AtomicU64,
}

impl Trigger for FrameWriter {
    fn trigger(&self) -> Status {
        let frames = self.frames.cell().snapshot().0;
        self.frames.set(frames + 1)
    }
}

impl ophyd_core::WritesStreamAssets for FrameWriter {
    async fn describe_streams(&self) -> Result<ophyd_core::DataMap<ophyd_core::DataKey>> {
        let mut key = ophyd_core::DataKey::new("file://localhost/data/cam.h5", ophyd_core::Dtype::Array, vec![1, 4, 6]);
        key.dtype_numpy = Some("<u2".into());
        key.external = Some("STREAM:".into());
        let mut keys = ophyd_core::DataMap::new();
        keys.insert("cam".into(), key);
        Ok(keys)
    }

    async fn collect_asset_docs(&self) -> Result<Vec<ophyd_core::StreamAsset>> {
        use ophyd_core::{StreamAsset, StreamDatum, StreamResource, Value};
        let written = self.frames.get().await? as u64;
        let mut reported = self.reported.lock().unwrap();
        let mut assets = Vec::new();
        let uid = match &reported.0 {
            Some(uid) => uid.clone(),
            None => {
                let uid = ophyd_run::new_uid();
                assets.push(StreamAsset::Resource(StreamResource {
                    uid: uid.clone(),
                    data_key: "cam".into(),
                    mimetype: "application/x-hdf5".into(),
                    uri: "file://localhost/data/cam.h5".into(),
                    parameters: vec![
                        ("dataset".into(), Value::String("/entry/data/data".into())),
                        ("chunk_shape".into(), Value::IntArray(vec![1, 4, 6])),
                    ],
                }));
                reported.0 = Some(uid.clone());
                uid
            }
        };
        let batch = self.batch.load(Ordering::Relaxed).max(1);
        if written >= reported.1 + batch {
            assets.push(StreamAsset::Datum(StreamDatum {
                stream_resource: uid.clone(),
                uid: format!("{uid}/{}", reported.1),
                indices: reported.1..written,
            }));
            reported.1 = written;
        }
        Ok(assets)
    }
}

#[tokio::test]
async fn a_device_writing_outside_the_events_gets_stream_resource_and_stream_datum_documents_before_each_event() {
    let cam = FrameWriter::new("", "cam");
    let (mut re, docs) = engine();
    re.run(count(&[&cam], 3, Duration::ZERO)).await.unwrap();
    let docs = docs.lock().unwrap();
    let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "start",
            "descriptor",
            "stream_resource",
            "stream_datum",
            "event",
            "stream_datum",
            "event",
            "stream_datum",
            "event",
            "stop"
        ]
    );
    venv::assert_valid_documents(docs.iter());
    let doc = |name: &'static str| docs.iter().filter(move |(n, _)| n == name).map(|(_, d)| d);
    let descriptor = doc("descriptor").next().unwrap();
    let key = &descriptor["data_keys"]["cam"];
    assert_eq!(
        (&key["external"], &key["dtype_numpy"], &key["shape"], &key["object_name"]),
        (
            &serde_json::json!("STREAM:"),
            &serde_json::json!("<u2"),
            &serde_json::json!([1, 4, 6]),
            &serde_json::json!("cam")
        )
    );
    assert_eq!(descriptor["object_keys"]["cam"], serde_json::json!(["cam_exposure", "cam"]));
    let resource = doc("stream_resource").next().unwrap();
    assert_eq!(resource["run_start"], docs[0].1["uid"]);
    assert_eq!(resource["parameters"], serde_json::json!({"dataset": "/entry/data/data", "chunk_shape": [1, 4, 6]}));
    for (i, (datum, event)) in doc("stream_datum").zip(doc("event")).enumerate() {
        let i = i as u64;
        assert_eq!(datum["stream_resource"], resource["uid"]);
        assert_eq!(datum["descriptor"], descriptor["uid"]);
        assert_eq!(datum["indices"], serde_json::json!({"start": i, "stop": i + 1}));
        assert_eq!(datum["seq_nums"], serde_json::json!({"start": i + 1, "stop": i + 2}));
        assert_eq!(event["seq_num"], serde_json::json!(i + 1));
        assert!(event["data"].get("cam").is_none(), "external data stays out of the event: {event}");
    }
}

#[tokio::test]
async fn a_datum_covering_several_events_has_as_many_sequence_numbers() {
    let cam = FrameWriter::new("", "cam");
    cam.batch.store(2, Ordering::Relaxed);
    let (mut re, docs) = engine();
    re.run(count(&[&cam], 4, Duration::ZERO)).await.unwrap();
    let docs = docs.lock().unwrap();
    venv::assert_valid_documents(docs.iter());
    let datums: Vec<(&Json, &Json)> =
        docs.iter().filter(|(n, _)| n == "stream_datum").map(|(_, d)| (&d["indices"], &d["seq_nums"])).collect();
    let range = |start: u64, stop: u64| serde_json::json!({"start": start, "stop": stop});
    assert_eq!(datums, [(&range(0, 2), &range(1, 3)), (&range(2, 4), &range(3, 5))]);
}

#[tokio::test]
async fn a_datum_covering_more_events_than_the_run_has_fails_the_run() {
    let cam = FrameWriter::new("", "cam");
    cam.frames.put(3).await.unwrap(); // frames from before the run
    let (mut re, docs) = engine();
    let err = re.run(count(&[&cam], 2, Duration::ZERO)).await.unwrap_err();
    assert!(
        err.to_string().contains("of `cam` failed: it covers indices 0..4, but 1 event(s) can have data in it"),
        "{err}"
    );
    let docs = docs.lock().unwrap();
    assert!(docs.iter().all(|(n, _)| n != "event"), "no event without its data");
    assert_eq!(docs.last().unwrap().1["exit_status"], "fail");
}

//! The staging tutorial, end to end, on the simulated IOC: the session's
//! results match what Python ophyd 1.11 reports on the real IOC.

use examples::{hand_staged, session, stoppable, TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use ophyd_core::prelude::*;
use ophyd_epics::sim::SimIoc;
use serde_json::Value as Json;

const REFERENCE: &str = include_str!("../reference/ophyd-1.11-trigger_with_pc.json");

async fn tutorial_ioc(exposure: f64) -> SimIoc {
    let ioc = SimIoc::trigger_with_pc(&format!("{TUTORIAL_PREFIX}:"));
    ioc.write(&format!("{TUTORIAL_PREFIX}:exposure_time"), exposure);
    ioc
}

#[tokio::test]
async fn stage_sigs_session_matches_python_ophyd_field_for_field() {
    let ioc = tutorial_ioc(0.05).await;
    let det = TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();

    let ours = serde_json::to_value(&report).unwrap();
    let reference: Json = serde_json::from_str(REFERENCE).unwrap();
    for (field, expected) in reference.as_object().unwrap() {
        assert_eq!(&ours[field], expected, "field `{field}` differs from Python ophyd's");
    }
}

#[tokio::test]
async fn session_reads_a_new_value_after_each_trigger() {
    let ioc = tutorial_ioc(0.02).await;
    let det = TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();
    let first = report.read.get("triggered_detector_reading").unwrap();
    let second = report.second_read.get("triggered_detector_reading").unwrap();
    assert!(second.timestamp > first.timestamp, "the second acquisition wrote a new reading");
    assert_eq!(report.read_configuration.get("triggered_detector_exposure_time").unwrap().value, 0.02.into());
}

#[tokio::test]
async fn trigger_finishes_only_when_the_ioc_completes_the_acquisition() {
    let ioc = tutorial_ioc(0.3).await;
    let det = TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    let start = std::time::Instant::now();
    let status = det.trigger();
    assert!(!status.done(), "an acquisition of 0.3 s is not done at once");
    assert_eq!(ioc.get_f64("trigger_with_pc:acquire"), Some(1.0));
    status.wait(std::time::Duration::from_secs(5)).await.unwrap();
    assert!(start.elapsed().as_secs_f64() >= 0.29);
    assert_eq!(ioc.get_f64("trigger_with_pc:acquire"), Some(0.0));
}

#[tokio::test]
async fn trigger_while_disabled_fails_with_the_iocs_reason() {
    let ioc = tutorial_ioc(0.01).await;
    let det = TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    det.enabled.put(0).await.unwrap();
    let err = det.trigger().await.unwrap_err().to_string();
    assert!(err.contains("Device must be enabled"), "{err}");
    assert!(err.contains("trigger_with_pc:acquire"), "the error names the PV: {err}");
}

#[tokio::test]
async fn hand_written_stage_variant_restores_enabled_and_refuses_a_second_stage() {
    let ioc = tutorial_ioc(0.01).await;
    let det = hand_staged::TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();
    assert_eq!(
        (
            report.enabled_before_stage,
            report.enabled_after_stage,
            report.enabled_after_unstage,
            report.enabled_after_second_unstage
        ),
        (0, 1, 0, 0)
    );
    assert_eq!(report.stage_twice, "RedundantStaging");
    // The first variant reads `reading` as kind normal: no hints.
    assert!(report.hints.fields.is_empty());
    assert_eq!(report.read_keys, ["triggered_detector_reading"]);
}

#[tokio::test]
async fn stoppable_variant_runs_the_same_session() {
    let ioc = tutorial_ioc(0.01).await;
    let det = stoppable::TriggeredDetector::new(TUTORIAL_PREFIX, TUTORIAL_NAME);
    det.connect(&ioc.transport()).await.unwrap();
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();
    assert_eq!(report.stage_twice, "RedundantStaging");
    det.pause().await.unwrap();
    det.resume().await.unwrap();
    det.stop(true).await.unwrap();
    assert_eq!(det.calls(), ["pause()", "resume()", "stop(success=true)"]);
}

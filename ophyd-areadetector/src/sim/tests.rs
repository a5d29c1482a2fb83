//! The simulated areaDetector at the PV level, through the simulated IOC's
//! own client side.

use std::time::Duration;

use ophyd_core::Value;
use ophyd_epics::sim::SimIoc;
use ophyd_epics::PvChannel;

use super::*;

/// Put `value` to `pv` as a client, waiting for completion.
async fn put(ioc: &SimIoc, pv: &str, value: impl Into<Value>) -> Result<(), ophyd_epics::PvError> {
    let channel: std::sync::Arc<dyn PvChannel> = ioc.transport().connect(pv).await?;
    channel.put(value.into(), true).await
}

fn detector() -> (SimIoc, SimAreaDetector) {
    let ioc = SimIoc::new();
    let det = add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(8, 4));
    (ioc, det)
}

#[tokio::test(start_paused = true)]
async fn an_acquisition_in_multiple_mode_makes_num_images_frames_each_of_the_acquire_time() {
    let (ioc, det) = detector();
    put(&ioc, "13SIM1:cam1:ImageMode", 1).await.unwrap();
    put(&ioc, "13SIM1:cam1:NumImages", 3).await.unwrap();
    put(&ioc, "13SIM1:cam1:AcquireTime", 2.0).await.unwrap();
    let start = tokio::time::Instant::now();
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6), "three frames of 2 s");
    assert!(!det.acquiring());
    assert_eq!(ioc.get_f64("13SIM1:cam1:ArrayCounter_RBV"), Some(3.0));
    assert_eq!(ioc.get_f64("13SIM1:cam1:NumImagesCounter_RBV"), Some(3.0));
    assert_eq!(ioc.get_f64("13SIM1:cam1:DetectorState_RBV"), Some(0.0));
    assert_eq!(ioc.get_f64("13SIM1:cam1:Acquire_RBV"), Some(0.0));
    assert_eq!(
        (ioc.get_f64("13SIM1:cam1:ArraySizeX_RBV"), ioc.get_f64("13SIM1:cam1:ArraySizeY_RBV")),
        (Some(8.0), Some(4.0))
    );
    // Plugins are disabled until enabled.
    assert_eq!(ioc.get_f64("13SIM1:Stats1:ArrayCounter_RBV"), Some(0.0));
}

#[tokio::test(start_paused = true)]
async fn stats_of_the_pattern_are_predictable() {
    let (ioc, _det) = detector();
    put(&ioc, "13SIM1:Stats1:EnableCallbacks", 1).await.unwrap();
    put(&ioc, "13SIM1:Stats1:BgdWidth", 0).await.unwrap();
    put(&ioc, "13SIM1:cam1:ImageMode", 0).await.unwrap();
    put(&ioc, "13SIM1:cam1:Gain", 2.0).await.unwrap();
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap();
    // 2 × (Σx + Σy + 32 × 1) over 8 × 4
    assert_eq!(ioc.get_f64("13SIM1:Stats1:Total_RBV"), Some(2.0 * (4.0 * 28.0 + 8.0 * 6.0 + 32.0)));
    assert_eq!(ioc.get_f64("13SIM1:Stats1:MaxValue_RBV"), Some(2.0 * (7.0 + 3.0 + 1.0)));
    assert_eq!(ioc.get_f64("13SIM1:Stats1:UniqueId_RBV"), Some(1.0));
    assert_eq!(ioc.get_text("13SIM1:Stats1:DataType_RBV"), None, "an enum, not text");
    assert_eq!(ioc.get_f64("13SIM1:Stats1:DataType_RBV"), Some(3.0), "UInt16, as the camera made it");
}

#[tokio::test(start_paused = true)]
async fn acquire_zero_stops_a_continuous_acquisition_and_completes_the_put_that_started_it() {
    let (ioc, det) = detector();
    put(&ioc, "13SIM1:cam1:AcquireTime", 0.5).await.unwrap();
    let channel = ioc.transport().connect("13SIM1:cam1:Acquire").await.unwrap();
    let started = channel.put(Value::Int(1), true);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(det.acquiring());
    put(&ioc, "13SIM1:cam1:Acquire", 0).await.unwrap();
    started.await.unwrap();
    assert!(!det.acquiring());
    let frames = ioc.get_f64("13SIM1:cam1:ArrayCounter_RBV").unwrap();
    assert!((9.0..=10.0).contains(&frames), "{frames} frames in 5 s of 0.5 s each");
}

#[tokio::test]
async fn a_refused_acquisition_fails_its_put_with_the_reason() {
    let (ioc, det) = detector();
    det.refuse_acquire(Some("detector is in error state"));
    let err = put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap_err();
    assert_eq!(err.to_string(), "detector is in error state");
    assert_eq!(ioc.get_f64("13SIM1:cam1:Acquire"), Some(0.0));
}

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

/// A directory of its own under the system's temporary one.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("ophyd-ad-sim-{name}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The shape of `/entry/data/data` in `file`, as rust-hdf5 reads it back.
fn frames_in(file: &str) -> Vec<u64> {
    let mut reader = rust_hdf5::swmr::SwmrFileReader::open(file).unwrap();
    let name = reader.dataset_names().into_iter().find(|n| n.ends_with("data/data")).expect("the dataset");
    reader.dataset_shape(&name).unwrap()
}

fn text_bytes(text: &str) -> Value {
    Value::IntArray(text.bytes().map(i64::from).chain([0]).collect())
}

#[tokio::test]
async fn stream_mode_appends_until_num_capture_then_closes_the_file_and_completes_the_capture_put() {
    let dir = scratch("stream");
    let (ioc, _det) = detector();
    put(&ioc, "13SIM1:HDF1:FileName", text_bytes("f")).await.unwrap();
    put(&ioc, "13SIM1:HDF1:FileTemplate", text_bytes("%s%s_%d.h5")).await.unwrap();
    put(&ioc, "13SIM1:HDF1:FilePath", text_bytes(dir.to_str().unwrap())).await.unwrap();
    assert_eq!(ioc.get_text("13SIM1:HDF1:FilePath_RBV"), Some(format!("{}/", dir.display())), "with a trailing /");
    assert_eq!(ioc.get_f64("13SIM1:HDF1:FilePathExists_RBV"), Some(1.0));
    for (pv, value) in
        [("EnableCallbacks", 1), ("FileWriteMode", 2), ("NumCapture", 3), ("LazyOpen", 1), ("FileNumber", 7)]
    {
        put(&ioc, &format!("13SIM1:HDF1:{pv}"), value).await.unwrap();
    }
    put(&ioc, "13SIM1:cam1:ImageMode", 1).await.unwrap();
    put(&ioc, "13SIM1:cam1:NumImages", 5).await.unwrap();
    put(&ioc, "13SIM1:cam1:AcquireTime", 0.0).await.unwrap();
    let capture = ioc.transport().connect("13SIM1:HDF1:Capture").await.unwrap();
    let captured = capture.put(Value::Int(1), true);
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap();
    captured.await.expect("the capture put completes once NumCapture frames are written");
    let name = format!("{}/f_7.h5", dir.display());
    assert_eq!(ioc.get_text("13SIM1:HDF1:FullFileName_RBV"), Some(name.clone()));
    assert_eq!(ioc.get_f64("13SIM1:HDF1:NumCaptured_RBV"), Some(3.0));
    assert_eq!(ioc.get_f64("13SIM1:HDF1:FileNumber_RBV"), Some(8.0), "AutoIncrement");
    assert_eq!(ioc.get_f64("13SIM1:HDF1:Capture_RBV"), Some(0.0));
    assert_eq!(frames_in(&name), [3, 4, 8]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn capture_mode_keeps_the_frames_and_writes_them_at_num_capture_and_single_mode_writes_each_with_auto_save() {
    let dir = scratch("modes");
    let (ioc, _det) = detector();
    put(&ioc, "13SIM1:HDF1:FileName", text_bytes("c")).await.unwrap();
    put(&ioc, "13SIM1:HDF1:FileTemplate", text_bytes("%s%s_%d.h5")).await.unwrap();
    put(&ioc, "13SIM1:HDF1:FilePath", text_bytes(dir.to_str().unwrap())).await.unwrap();
    for (pv, value) in
        [("EnableCallbacks", 1), ("FileWriteMode", 1), ("NumCapture", 2), ("AutoSave", 1), ("FileNumber", 0)]
    {
        put(&ioc, &format!("13SIM1:HDF1:{pv}"), value).await.unwrap();
    }
    put(&ioc, "13SIM1:cam1:ImageMode", 1).await.unwrap();
    put(&ioc, "13SIM1:cam1:NumImages", 2).await.unwrap();
    put(&ioc, "13SIM1:cam1:AcquireTime", 0.0).await.unwrap();
    let capture = ioc.transport().connect("13SIM1:HDF1:Capture").await.unwrap();
    let captured = capture.put(Value::Int(1), true);
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap();
    captured.await.unwrap();
    assert_eq!(frames_in(&format!("{}/c_0.h5", dir.display())), [2, 4, 8]);

    // Single: each frame to its own file; WriteFile writes the last again.
    put(&ioc, "13SIM1:HDF1:FileWriteMode", 0).await.unwrap();
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap();
    for n in [1, 2] {
        assert_eq!(frames_in(&format!("{}/c_{n}.h5", dir.display())), [1, 4, 8]);
    }
    put(&ioc, "13SIM1:HDF1:WriteFile", 1).await.unwrap();
    assert_eq!(frames_in(&format!("{}/c_3.h5", dir.display())), [1, 4, 8]);
    let refused = put(&ioc, "13SIM1:HDF1:Capture", 1).await.unwrap_err();
    assert!(refused.to_string().contains("Single"), "{refused}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_file_that_cannot_be_opened_is_a_write_error_saying_why_and_ends_capture() {
    let dir = scratch("error");
    let (ioc, _det) = detector();
    put(&ioc, "13SIM1:HDF1:FilePath", text_bytes(dir.to_str().unwrap())).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap(); // gone after the path was set
    for (pv, value) in [("EnableCallbacks", 1), ("FileWriteMode", 2), ("NumCapture", 0)] {
        put(&ioc, &format!("13SIM1:HDF1:{pv}"), value).await.unwrap();
    }
    put(&ioc, "13SIM1:cam1:ImageMode", 0).await.unwrap();
    put(&ioc, "13SIM1:cam1:AcquireTime", 0.0).await.unwrap();
    put(&ioc, "13SIM1:cam1:Acquire", 1).await.unwrap(); // a frame, so that the size is known
                                                        // Not lazy: the file is opened when capture starts, and fails.
    put(&ioc, "13SIM1:HDF1:Capture", 1).await.unwrap();
    assert_eq!(ioc.get_f64("13SIM1:HDF1:WriteStatus"), Some(1.0));
    let message = ioc.get_text("13SIM1:HDF1:WriteMessage").unwrap();
    assert!(message.contains("error opening file") && message.contains(dir.to_str().unwrap()), "{message}");
    assert_eq!((ioc.get_f64("13SIM1:HDF1:Capture"), ioc.get_f64("13SIM1:HDF1:Capture_RBV")), (Some(0.0), Some(0.0)));
}

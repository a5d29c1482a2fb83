//! The device model: kinds, names, read/describe/configuration/hints and
//! attribute lists recursively through nested devices (as ophyd), PV name
//! composition, connecting, and EPICS signals on the simulated IOC.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_core::{Error, Value};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, Transport};

#[derive(Device)]
struct Low {
    #[component]
    z: SoftSignal<f64>,
    #[component(kind = "config")]
    zc: SoftSignal<i32>,
}

#[derive(Device)]
struct Mid {
    #[component(kind = "hinted")]
    y: SoftSignal<f64>,
    #[component(kind = "config")]
    cc: SoftSignal<String>,
    #[component]
    low: Low,
}

#[derive(Device)]
struct Top {
    #[component(kind = "hinted")]
    x: SoftSignal<f64>,
    #[component(kind = "config")]
    c: SoftSignal<i32>,
    #[component]
    mid: Mid,
    #[component(kind = "omitted")]
    o: SoftSignal<f64>,
}

#[tokio::test]
async fn read_covers_normal_and_hinted_components_recursively_in_order() {
    let top = Top::new("", "top");
    let keys: Vec<String> = top.read().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(keys, ["top_x", "top_mid_y", "top_mid_low_z"]);
    let described: Vec<String> = top.describe().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(described, keys);
}

#[tokio::test]
async fn configuration_covers_config_components_and_normal_sub_devices() {
    let top = Top::new("", "top");
    let keys: Vec<String> = top.read_configuration().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(keys, ["top_c", "top_mid_cc", "top_mid_low_zc"]);
    let described: Vec<String> = top.describe_configuration().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(described, keys);
}

#[test]
fn hints_and_attribute_lists_follow_ophyd() {
    let top = Top::new("", "top");
    assert_eq!(top.hints().fields, ["top_x", "top_mid_y"]);
    assert_eq!(top.read_attrs(), ["x", "mid", "mid.y", "mid.low", "mid.low.z"]);
    assert_eq!(top.configuration_attrs(), ["c", "mid", "mid.cc", "mid.low", "mid.low.zc"]);
    assert_eq!(top.component_names(), ["x", "c", "mid", "o"]);
    assert_eq!(top.mid.component_names(), ["y", "cc", "low"]);
}

#[tokio::test]
async fn kinds_can_change_at_run_time() {
    let top = Top::new("", "top");
    top.mid.set_kind(Kind::Omitted);
    top.o.set_kind(Kind::Hinted);
    let keys: Vec<String> = top.read().await.unwrap().keys().map(str::to_owned).collect();
    assert_eq!(keys, ["top_x", "top_o"]);
    assert_eq!(top.hints().fields, ["top_x", "top_o"]);
    assert_eq!(top.configuration_attrs(), ["c"]);
}

#[tokio::test]
async fn readings_and_data_keys_serialize_to_ophyds_json_shape() {
    let top = Top::new("", "top");
    top.x.put(1.5).await.unwrap();
    let read = serde_json::to_value(top.read().await.unwrap()).unwrap();
    assert_eq!(read["top_x"]["value"], 1.5);
    assert!(read["top_x"]["timestamp"].as_f64().unwrap() > 1.6e9);
    assert_eq!(read["top_x"].as_object().unwrap().len(), 2, "only value and timestamp: {read}");
    let described = serde_json::to_value(top.describe().await.unwrap()).unwrap();
    assert_eq!(described["top_x"], serde_json::json!({"source": "SIM:top_x", "dtype": "number", "shape": []}));
    let cfg = serde_json::to_value(top.describe_configuration().await.unwrap()).unwrap();
    assert_eq!(cfg["top_mid_cc"]["dtype"], "string");
    assert_eq!(cfg["top_c"]["dtype"], "integer");
}

#[derive(Device)]
struct Cam {
    #[component(suffix = ":AcquireTime", kind = "config")]
    acquire_time: EpicsSignalWithRbv<f64>,
    #[component(suffix = ":ImageMode", kind = "config")]
    image_mode: EpicsSignal<Enum>,
    #[component(suffix = ":Waveform")]
    waveform: EpicsSignalRO<Vec<f64>>,
}

#[derive(Device)]
struct Detector {
    #[component(suffix = ":cam1")]
    cam: Cam,
    #[component(suffix = ":Label", kind = "config")]
    label: EpicsSignal<String>,
    #[component(suffix = ":Count", kind = "hinted")]
    count: EpicsSignalRO<i32>,
}

/// PVs for `Detector` at prefix `XF:det`; AcquireTime reaches its read-back
/// 20 ms after a write, as real hardware would.
fn detector_ioc() -> SimIoc {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("XF:det:cam1:AcquireTime", 0.1).units("s").precision(3).limits(0.0, 10.0))
        .add(PvSpec::double("XF:det:cam1:AcquireTime_RBV", 0.1).units("s").precision(3).limits(0.0, 10.0))
        .add(PvSpec::enumeration("XF:det:cam1:ImageMode", &["Single", "Multiple", "Continuous"], 0))
        .add(PvSpec::waveform("XF:det:cam1:Waveform", vec![1.0, 2.0, 3.0], 16).units("V").precision(2))
        .add(PvSpec::string("XF:det:Label", "sample A"))
        .add(PvSpec::long("XF:det:Count", 7).read_only());
    ioc.set_put_handler("XF:det:cam1:AcquireTime", |ioc, v| {
        let (rbv_ioc, rbv) = (ioc.clone(), v.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            rbv_ioc.write("XF:det:cam1:AcquireTime_RBV", rbv);
        });
        PutAction::accept(v)
    });
    ioc
}

async fn detector(ioc: &SimIoc) -> Detector {
    let det = Detector::new("XF:det", "det");
    det.connect(&ioc.transport()).await.unwrap();
    det
}

#[test]
fn pv_names_compose_prefix_and_suffix_down_the_tree() {
    let det = Detector::new("XF:det", "det");
    assert_eq!(det.cam.acquire_time.write_pv(), "XF:det:cam1:AcquireTime");
    assert_eq!(det.cam.acquire_time.read_pv(), "XF:det:cam1:AcquireTime_RBV");
    assert_eq!(det.label.read_pv(), "XF:det:Label");
    assert_eq!(det.cam.prefix(), "XF:det:cam1");
    assert_eq!(det.cam.acquire_time.name(), "det_cam_acquire_time");
}

#[tokio::test]
async fn describe_reports_units_precision_limits_enum_strings_and_array_shape() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    let cfg = serde_json::to_value(det.describe_configuration().await.unwrap()).unwrap();
    assert_eq!(
        cfg["det_cam_acquire_time"],
        serde_json::json!({"source": "PV:XF:det:cam1:AcquireTime_RBV", "dtype": "number", "shape": [],
            "units": "s", "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 10.0, "precision": 3})
    );
    assert_eq!(
        cfg["det_cam_image_mode"],
        serde_json::json!({"source": "PV:XF:det:cam1:ImageMode", "dtype": "integer", "shape": [],
            "units": null, "lower_ctrl_limit": null, "upper_ctrl_limit": null,
            "enum_strs": ["Single", "Multiple", "Continuous"]})
    );
    assert_eq!(cfg["det_label"]["dtype"], "string");
    let described = serde_json::to_value(det.describe().await.unwrap()).unwrap();
    assert_eq!(described["det_cam_waveform"]["dtype"], "array");
    assert_eq!(described["det_cam_waveform"]["shape"], serde_json::json!([3]), "current length, as ophyd");
    assert_eq!(described["det_count"]["lower_ctrl_limit"], 0, "integer PVs have integer limits");
    assert_eq!(det.hints().fields, ["det_count"]);
}

#[tokio::test]
async fn enum_signals_are_set_by_index_or_label_and_read_as_index() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    det.cam.image_mode.put("Continuous").await.unwrap();
    assert_eq!(det.cam.image_mode.get().await.unwrap(), Enum::Index(2));
    det.cam.image_mode.put(1).await.unwrap();
    assert_eq!(ioc.get("XF:det:cam1:ImageMode"), Some(Value::Int(1)));
    let err = det.cam.image_mode.put("Sometimes").await.unwrap_err().to_string();
    assert!(err.contains("det_cam_image_mode") && err.contains("Sometimes") && err.contains("Continuous"), "{err}");
    let read = det.read_configuration().await.unwrap();
    assert_eq!(read.get("det_cam_image_mode").unwrap().value, Value::Int(1));
}

#[tokio::test]
async fn set_and_wait_waits_for_the_read_back_pv() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    set_and_wait(&det.cam.acquire_time, 2.5).await.unwrap();
    assert_eq!(det.cam.acquire_time.get().await.unwrap(), 2.5);
    assert_eq!(ioc.get_f64("XF:det:cam1:AcquireTime_RBV"), Some(2.5));
}

#[tokio::test]
async fn puts_are_clamped_to_the_control_limits_like_an_ioc() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    let err = set_and_wait_with_short_timeout(&det.cam.acquire_time, 50.0).await.unwrap_err();
    assert!(err.to_string().contains("wanted 50") && err.to_string().contains("was 10"), "{err}");
}

async fn set_and_wait_with_short_timeout(s: &EpicsSignalWithRbv<f64>, v: f64) -> ophyd_core::Result<()> {
    ophyd_core::set_and_wait_with(s, v, ophyd_core::SetAndWait { timeout: Duration::from_millis(200), tolerance: None })
        .await
}

#[tokio::test]
async fn strings_and_arrays_round_trip() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    det.label.put("sample B".to_string()).await.unwrap();
    assert_eq!(det.label.get().await.unwrap(), "sample B");
    assert_eq!(det.cam.waveform.get().await.unwrap(), vec![1.0, 2.0, 3.0]);
}

#[tokio::test]
async fn a_put_to_a_read_only_pv_is_refused_before_it_is_sent() {
    let ioc = detector_ioc();
    let count = EpicsSignal::<i32>::new("XF:det:Count", "count");
    count.connect(&ioc.transport()).await.unwrap();
    let err = count.put(3).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotSent { pv, reason, .. } if pv == "XF:det:Count" && reason == "no write access"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_type_mismatch_fails_at_connect_naming_pv_expected_and_actual() {
    let ioc = detector_ioc();
    let wrong = EpicsSignal::<f64>::new("XF:det:Label", "label");
    let err = wrong.connect(&ioc.transport()).await.unwrap_err();
    assert!(
        matches!(&err, Error::TypeMismatch { pv, expected, actual, .. }
        if pv == "XF:det:Label" && expected == "f64" && actual.contains("STRING")),
        "{err:?}"
    );
}

#[tokio::test]
async fn connect_timeout_lists_every_pv_that_did_not_connect() {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("XF:det:cam1:AcquireTime", 0.1)).add(PvSpec::string("XF:det:Label", ""));
    let det = Detector::new("XF:det", "det");
    let err = det.connect_timeout(&ioc.transport(), Duration::from_millis(50)).await.unwrap_err();
    let Error::ConnectTimeout { device, pvs, .. } = &err else { panic!("{err:?}") };
    assert_eq!(device, "det");
    assert_eq!(pvs, &["XF:det:cam1:AcquireTime_RBV", "XF:det:cam1:ImageMode", "XF:det:cam1:Waveform", "XF:det:Count"]);
}

#[tokio::test]
async fn operations_on_an_unconnected_signal_say_to_connect_first() {
    let det = Detector::new("XF:det", "det");
    let err = det.label.get().await.unwrap_err();
    assert!(
        matches!(&err, Error::NotConnected { signal, pv } if signal == "det_label" && pv == "XF:det:Label"),
        "{err:?}"
    );
    let err = det.label.set("x".to_string()).await.unwrap_err();
    assert!(matches!(err, Error::NotConnected { .. }), "{err:?}");
}

#[tokio::test]
async fn a_lost_connection_fails_fast_and_recovers_without_rebuilding() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    ioc.set_connected("XF:det:Label", false);
    let err = det.read_configuration().await.unwrap_err();
    assert!(matches!(&err, Error::Disconnected { pv, .. } if pv == "XF:det:Label"), "{err:?}");
    assert!(!det.label.connected());
    ioc.set_connected("XF:det:Label", true);
    assert_eq!(det.label.get().await.unwrap(), "sample A");
}

#[tokio::test]
async fn subscriptions_deliver_changes_until_dropped() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let sub = det.count.subscribe(move |v, _| s.lock().unwrap().push(*v)).unwrap();
    ioc.write("XF:det:Count", 8);
    ioc.write("XF:det:Count", 9);
    drop(sub);
    ioc.write("XF:det:Count", 10);
    assert_eq!(*seen.lock().unwrap(), [7, 8, 9]);
}

#[tokio::test]
async fn a_status_can_wait_for_a_condition_on_a_signal() {
    let ioc = detector_ioc();
    let det = detector(&ioc).await;
    let reached = Status::when(&det.count, |c| *c >= 9);
    ioc.write("XF:det:Count", 8);
    assert!(!reached.done());
    ioc.write("XF:det:Count", 9);
    reached.wait(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn put_complete_waits_for_processing_and_plain_puts_do_not() {
    let ioc = SimIoc::trigger_with_pc("tpc:");
    ioc.write("tpc:exposure_time", 0.2);
    let transport: Transport = ioc.transport();
    let with = EpicsSignal::<Enum>::new("tpc:acquire", "acquire").with_put_complete(true);
    with.connect(&transport).await.unwrap();
    let start = std::time::Instant::now();
    with.put(1).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(190), "{:?}", start.elapsed());

    let without = EpicsSignal::<Enum>::new("tpc:acquire", "acquire");
    without.connect(&transport).await.unwrap();
    let start = std::time::Instant::now();
    without.put(1).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(100), "{:?}", start.elapsed());
    assert_eq!(ioc.get_f64("tpc:acquire"), Some(1.0), "still acquiring");
}

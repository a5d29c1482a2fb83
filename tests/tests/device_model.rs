//! The device model: kinds, names, read/describe/configuration/hints and
//! attribute lists recursively through nested devices (as ophyd), PV name
//! composition, and what EPICS signals say before they are connected. What
//! they do once connected, on either transport, is in `behaviour.rs`.

use ophyd_core::prelude::*;
use ophyd_core::Error;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv};

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
async fn summary_lists_data_keys_attributes_sources_and_values_as_ophyd_does() {
    let top = Top::new("", "top").with_labels(["detectors"]);
    top.c.put(3).await.unwrap();
    top.mid.cc.put("fast".to_owned()).await.unwrap();
    let text = top.summary().await.to_string();
    let expected = "\
labels: detectors

data keys (* hints)
-------------------
 top_mid_low_z
*top_mid_y
*top_x

read attrs
----------
x                    SoftSignal<f64>     ('top_x')  SIM:top_x = 0
mid                  Mid                 ('top_mid')
mid.y                SoftSignal<f64>     ('top_mid_y')  SIM:top_mid_y = 0
mid.low              Low                 ('top_mid_low')
mid.low.z            SoftSignal<f64>     ('top_mid_low_z')  SIM:top_mid_low_z = 0

config keys
-----------
top_c
top_mid_cc
top_mid_low_zc

configuration attrs
-------------------
c                    SoftSignal<i32>     ('top_c')  SIM:top_c = 3
mid                  Mid                 ('top_mid')
mid.cc               SoftSignal<String>  ('top_mid_cc')  SIM:top_mid_cc = \"fast\"
mid.low              Low                 ('top_mid_low')
mid.low.zc           SoftSignal<i32>     ('top_mid_low_zc')  SIM:top_mid_low_zc = 0

unused attrs
------------
o                    SoftSignal<f64>     ('top_o')  SIM:top_o = 0

";
    assert_eq!(text, expected);
}

#[test]
fn labels_are_kept_once_each_in_the_order_given() {
    let top = Top::new("", "top").with_labels(["motors", "sample"]).with_labels(["motors", "baseline"]);
    assert_eq!(top.labels(), ["motors", "sample", "baseline"]);
    assert!(top.mid.labels().is_empty());
}

#[tokio::test]
async fn configure_writes_configuration_attrs_and_returns_old_and_new_configuration() {
    let top = Top::new("", "top");
    let configured = top.configure(&[("c", 4.into()), ("mid.low.zc", 7.into())]).await.unwrap();
    assert_eq!(configured.old.get("top_c").unwrap().value, 0.into());
    assert_eq!(configured.new.get("top_c").unwrap().value, 4.into());
    assert_eq!(configured.old.get("top_mid_low_zc").unwrap().value, 0.into());
    assert_eq!(configured.new.get("top_mid_low_zc").unwrap().value, 7.into());
    assert_eq!(configured.new.keys().collect::<Vec<_>>(), configured.old.keys().collect::<Vec<_>>());
    assert_eq!(top.mid.low.zc.get().await.unwrap(), 7);
}

#[tokio::test]
async fn configure_checks_every_path_and_value_before_writing_anything() {
    let top = Top::new("", "top");
    let err = top
        .configure(&[("c", 4.into()), ("x", 1.0.into()), ("mid.nope", 1.into()), ("mid.low.zc", "seven".into())])
        .await
        .unwrap_err();
    let Error::Many(errors) = &err else { panic!("expected every mistake reported, got {err}") };
    let names: Vec<_> = errors.iter().map(Error::name).collect();
    assert_eq!(names, ["ValueError", "AttributeError", "TypeError"], "{err}");
    let text = err.to_string();
    assert!(text.contains("`x` of device `top` is not a configuration attribute"), "{text}");
    assert!(text.contains("its configuration attributes are: c, mid, mid.cc, mid.low, mid.low.zc"), "{text}");
    assert!(text.contains("device `top_mid` has no component `mid.nope`"), "{text}");
    assert_eq!(top.c.get().await.unwrap(), 0, "nothing written when a path or value is wrong");
}

#[tokio::test]
async fn configure_refuses_a_sub_device_naming_the_way_to_configure_it() {
    let top = Top::new("", "top");
    let err = top.configure(&[("mid", 1.into())]).await.unwrap_err();
    assert_eq!(err.name(), "ReadOnlyError");
    assert!(err.to_string().contains("configure its signals by their dotted paths"), "{err}");
}

//! areaDetector over Channel Access: `ophyd-areadetector`'s camera and
//! image plugin against caproto's `too_clever/areadetector_image`, next to
//! Python ophyd 1.11's `SimDetector` (with `SingleTrigger`) and
//! `ImagePlugin` on the same IOC (`tests/python/ophyd_reference.py
//! areadetector`).
//!
//! # Why caproto's IOC, and not a real areaDetector
//!
//! No package registry serves a ready-to-run ADCore IOC: on crates.io,
//! epics-rs publishes ADCore's port as libraries (`ad-core-rs`,
//! `ad-plugins-rs`) but its simulated detector driver and IOC binary
//! (`sim-detector`, `sim_ioc`) are `publish = false`; running them would
//! take a driver binary of our own over about 155 crates (epics-base-rs,
//! asyn-rs, epics-ca-rs, ...), a 10 to 20 minute build from cold on two
//! cores, beyond the test suite's budget. PyPI and Debian have no
//! areaDetector IOC. So the file-writing detector runs against the
//! simulated areaDetector (`area_detector.rs`), and this tests parity at
//! the PV level against caproto's `areadetector_image`: ophyd's `cam1:` and
//! `image1:` PVs, but no acquisition (its `ArrayData` changes every second
//! by itself), and choices and strings served as numbers and text (LONGs
//! where ADCore has enums; `EnableCallbacks`, `BlockingCallbacks` and
//! `DataType_RBV`, `Manufacturer_RBV`, `PluginType_RBV` and the other
//! `str` PVs CHAR arrays that claim one element, whatever they hold).
//!
//! ophyd-rs copes: an `EpicsSignal<Enum>` reads a LONG as the index it holds,
//! and an `EpicsSignal<String>` reads a STRING, a CHAR array or an enum's
//! label. Where the two differ on this IOC, the test states it.
#![cfg(feature = "ca")]

use std::time::Duration;

use ophyd_areadetector::{single_trigger, ImagePlugin, SimDetectorCam};
use ophyd_core::prelude::*;
use ophyd_epics::Transport;
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::venv;
use serde_json::{json, Value as Json};

/// ophyd's `class Det(SingleTrigger, SimDetector): image1 = Cpt(ImagePlugin, 'image1:')`,
/// at ophyd's instance-level kinds.
#[derive(Device)]
#[device(custom(trigger))]
struct ImageDetector {
    #[component(suffix = "cam1:", kind = "config")]
    cam: SimDetectorCam,
    #[component(suffix = "image1:", kind = "omitted")]
    image1: ImagePlugin,
}

impl Trigger for ImageDetector {
    fn trigger(&self) -> Status {
        single_trigger(&self.cam)
    }
}

fn transport() -> Transport {
    ioc::ca_transport()
}

/// What Python ophyd reports for the detector on the IOC with `prefix`.
fn python_ophyd(prefix: &str) -> Json {
    venv::python_json("ophyd_reference.py", ["areadetector", prefix])
}

/// What the IOC holds at each of `pvs`, read by caproto's client: numbers
/// as numbers, strings and CHAR arrays as text.
fn read_independently(pvs: &[String]) -> Json {
    let script = "import json, sys\n\
                  from caproto.sync.client import read\n\
                  def value(pv):\n\
                  \x20   r = read(pv, data_type='native', timeout=5, repeater=False)\n\
                  \x20   d = r.data\n\
                  \x20   if r.data_type.name in ('CHAR', 'STRING'):\n\
                  \x20       b = bytes(d) if r.data_type.name == 'CHAR' else d[0]\n\
                  \x20       return b.split(b'\\0')[0].decode()\n\
                  \x20   return d[0].item()\n\
                  print(json.dumps({pv: value(pv) for pv in sys.argv[1:]}))";
    let out = std::process::Command::new(venv::python()).arg("-c").arg(script).args(pvs).output().unwrap();
    assert!(out.status.success(), "caproto cannot read {pvs:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_and_image_plugin_describe_and_read_their_configuration_as_python_ophyds_on_caprotos_areadetector() {
    let ioc = Ioc::areadetector_image();
    let det = ImageDetector::new(ioc.prefix(), "det");
    det.connect_timeout(&transport(), Duration::from_secs(20)).await.expect("every declared PV is served");
    // The IOC writes its image size, then its first image, a moment after
    // it serves: both clients read after that, or they would compare a
    // 1-element array with a whole image.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while det.image1.array_data.get().await.unwrap().len() != 256 * 256 {
        assert!(std::time::Instant::now() < deadline, "the IOC wrote no image within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let python = python_ophyd(ioc.prefix());

    let read = det.read().await.unwrap();
    assert_eq!(json!(read.keys().collect::<Vec<_>>()), python["read_keys"]);
    assert_eq!(serde_json::to_value(det.describe().await.unwrap()).unwrap(), python["describe"]);
    assert_eq!(serde_json::to_value(det.hints()).unwrap(), python["hints"]);
    assert_eq!(json!(det.read_attrs()), python["read_attrs"]);
    assert_eq!(json!(det.configuration_attrs()), python["configuration_attrs"]);

    let configuration = det.read_configuration().await.unwrap();
    assert_eq!(json!(configuration.keys().collect::<Vec<_>>()), python["read_configuration_keys"]);
    let mut ours: Json = configuration.iter().map(|(key, r)| (key.to_owned(), json!(r.value))).collect();
    let mut described = serde_json::to_value(det.describe_configuration().await.unwrap()).unwrap();
    let mut python = python;
    // The one difference: caproto serves Manufacturer_RBV and Model_RBV as
    // CHAR arrays (ADCore as STRINGs), which ophyd, without `string=True`,
    // reads as arrays of bytes (here empty), and ophyd-rs as text.
    for key in ["det_cam_manufacturer", "det_cam_model"] {
        assert_eq!(python["read_configuration"][key], json!([]), "ophyd's bytes");
        assert_eq!(ours[key], json!(""), "ophyd-rs' text");
        assert_eq!(
            (&python["describe_configuration"][key]["dtype"], &python["describe_configuration"][key]["shape"]),
            (&json!("array"), &json!([0]))
        );
        assert_eq!((&described[key]["dtype"], &described[key]["shape"]), (&json!("string"), &json!([])));
        for doc in [&mut ours, &mut described] {
            doc.as_object_mut().unwrap().remove(key);
        }
        for field in ["read_configuration", "describe_configuration"] {
            python[field].as_object_mut().unwrap().remove(key);
        }
    }
    assert_eq!(ours, python["read_configuration"], "configuration values");
    assert_eq!(described, python["describe_configuration"], "configuration data keys");
    assert_eq!(
        json!(det.cam.stage_sigs().paths().iter().map(|p| format!("cam.{p}")).collect::<Vec<_>>()),
        json!(["cam.acquire", "cam.array_callbacks", "cam.image_mode"]),
        "ophyd's `cam.acquire`, `cam.image_mode` and its plugins' `parent.cam.array_callbacks`"
    );
    assert_eq!(python["stage_sigs"]["det"], json!(["cam.acquire", "cam.image_mode"]));

    // The image plugin's signals, one by one.
    let image = &python["image1"];
    assert_eq!(json!(det.image1.width.get().await.unwrap()), image["width"]);
    assert_eq!(json!(det.image1.height.get().await.unwrap()), image["height"]);
    assert_eq!(json!(det.image1.array_counter.get().await.unwrap()), image["array_counter"]);
    assert_eq!(json!(det.image1.enable.get().await.unwrap()), image["enable"], "a string PV here, an enum on ADCore");
    assert_eq!(json!(det.image1.blocking_callbacks.get().await.unwrap()), image["blocking_callbacks"]);
    assert_eq!(json!(det.image1.data_type.get().await.unwrap()), image["data_type"]);
    assert_eq!(det.image1.color_mode.get().await.unwrap(), Enum::Index(0), "a LONG read as the index it holds");
    assert_eq!(image["color_mode"], json!(0));
    // PluginType_RBV: a CHAR array that claims one element, and sends 17.
    // ophyd reads the bytes; ophyd-rs does not read past the element count
    // the channel reports, and says so.
    let bytes: Vec<u8> = serde_json::from_value(image["plugin_type"].clone()).unwrap();
    assert_eq!(bytes, b"NDPluginStdArrays");
    let err = det.image1.plugin_type.get().await.unwrap_err().to_string();
    assert!(err.contains("a reply of 17 elements from a channel that holds at most 1"), "{err}");
    let image = det.image1.image().await.unwrap();
    assert_eq!((image.shape.as_slice(), image.pixels.len()), (&[256, 256][..], 256 * 256));
    assert_eq!(json!(det.image1.array_data.get().await.unwrap().len()), python["image1_array_data_len"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_on_caprotos_areadetector_is_refused_before_a_label_goes_to_a_one_byte_string_and_the_camera_is_put_back(
) {
    let ioc = Ioc::areadetector_image();
    let det = ImageDetector::new(ioc.prefix(), "det");
    det.connect_timeout(&transport(), Duration::from_secs(20)).await.unwrap();
    let pvs: Vec<String> =
        ["cam1:Acquire", "cam1:ImageMode", "cam1:ArrayCallbacks", "image1:EnableCallbacks", "image1:BlockingCallbacks"]
            .iter()
            .map(|suffix| ioc.pv(suffix))
            .collect();
    // Originals that staging would change.
    det.cam.image_mode.put(2).await.unwrap();
    det.cam.array_callbacks.put(0).await.unwrap();
    let before = read_independently(&pvs);
    assert_eq!(before[ioc.pv("image1:BlockingCallbacks")], json!(""));

    // caproto's `str` PVs are CHAR arrays that claim one element: the
    // plugin's `blocking_callbacks: "Yes"` does not fit with its NUL, so it
    // is refused before anything is sent, and the camera, staged first, is
    // put back. (Python ophyd cannot stage this detector either: it writes
    // `enable: 1`, which the string PV reads back as "1", and waits for 1
    // forever.)
    let err = det.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&ioc.pv("image1:BlockingCallbacks")) && text.contains("a CHAR array of 1"), "{text}");
    assert_eq!(read_independently(&pvs), before, "every PV as it was");
    assert_eq!(ophyd_core::staging::state_of(&det), ophyd_core::staging::Staged::No);

    // Without the plugin's stage_sigs, it stages, triggers and puts back.
    det.image1.stage_sigs().clear();
    det.stage().await.unwrap();
    let staged = read_independently(&pvs);
    let at = |doc: &Json, suffix: &str| doc[ioc.pv(suffix)].clone();
    assert_eq!((at(&staged, "cam1:Acquire"), at(&staged, "cam1:ImageMode")), (json!(0), json!(1)), "Done, Multiple");
    assert_eq!(at(&staged, "cam1:ArrayCallbacks"), json!(1));
    // caproto's IOC does not acquire: Acquire is a plain number, so the
    // trigger's put completes at once, and no frame comes.
    det.trigger().await.unwrap();
    assert_eq!(det.cam.array_counter.get().await.unwrap(), 0);
    det.unstage().await.unwrap();
    assert_eq!(read_independently(&pvs), before, "every PV as it was");
}

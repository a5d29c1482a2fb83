//! areaDetector: the devices of `ophyd-areadetector` on its simulated
//! areaDetector — single-frame triggering, Stats read, staging of a
//! detector with more than twenty `stage_sigs` and its fault guarantees,
//! HDF5 files that h5py reads — and text that is not a STRING (long
//! strings, enums read by label, choices served as numbers), on both
//! transports: the simulated IOC and, with the `ca` feature, EPICS base's
//! soft IOC (`iocs/long_strings.db`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_areadetector::sim::{add_sim_detector, SimAreaDetector, SimDetectorOptions};
use ophyd_areadetector::{
    single_trigger, DataType, Hdf5Plugin, HdfWriter, ImagePlugin, RoiPlugin, SimDetectorCam, StatsPlugin,
};
use ophyd_core::prelude::*;
use ophyd_core::staging::{state_of, Staged};
use ophyd_core::{DataKey, Dtype, Error, Subscription, Value};
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::{EpicsSignal, PvChannel, Transport};
use ophyd_run::{count, RunEngine};
use serde_json::Value as Json;

/// Generous bound for what takes milliseconds.
const TIMEOUT: Duration = Duration::from_secs(10);

// --- Text that is not a STRING, on both transports ---------------------------

/// An IOC serving `iocs/long_strings.db`'s records: `path` (a CHAR
/// waveform of 256 holding "/data/run"), `upath` (UCHAR, empty), `mode`
/// (an mbbo at "Multiple") and `choice` (a longout at 2).
trait TextIoc {
    fn transport(&self) -> Transport;
    fn pv(&self, name: &str) -> String;
}

struct SimText(SimIoc);

impl TextIoc for SimText {
    fn transport(&self) -> Transport {
        self.0.transport()
    }
    fn pv(&self, name: &str) -> String {
        format!("T:{name}")
    }
}

fn sim_text() -> SimText {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::long_string("T:path", "/data/run", 256))
        .add(PvSpec::long_string("T:upath", "", 256))
        .add(PvSpec::enumeration("T:mode", &["Single", "Multiple", "Continuous"], 1))
        .add(PvSpec::long("T:choice", 2));
    SimText(ioc)
}

#[cfg(feature = "ca")]
struct CaText(ophyd_tests::ioc::Ioc);

#[cfg(feature = "ca")]
impl TextIoc for CaText {
    fn transport(&self) -> Transport {
        ophyd_tests::ioc::ca_transport()
    }
    fn pv(&self, name: &str) -> String {
        self.0.pv(name)
    }
}

#[cfg(feature = "ca")]
fn ca_text() -> CaText {
    use ophyd_tests::ioc::{Ioc, SoftDatabase};
    CaText(Ioc::soft_serving(SoftDatabase::new().load("long_strings.db", "")))
}

async fn text_signal<T: ophyd_epics::EpicsValue>(ioc: &impl TextIoc, name: &str) -> EpicsSignal<T> {
    let signal = EpicsSignal::<T>::new(&ioc.pv(name), name);
    tokio::time::timeout(TIMEOUT, signal.connect(&ioc.transport())).await.expect("connect in time").expect("connect");
    signal
}

/// What the PV holds, as its own type gives it.
async fn raw(ioc: &impl TextIoc, name: &str) -> Value {
    let channel = ioc.transport().connect(&ioc.pv(name)).await.expect("connect");
    channel.get().await.expect("get").value
}

fn bytes_and_nul(text: &str) -> Vec<i64> {
    text.bytes().map(i64::from).chain([0]).collect()
}

async fn a_long_string_reads_as_text_and_is_written_whole_with_its_nul(ioc: impl TextIoc) {
    let path = text_signal::<String>(&ioc, "path").await;
    assert_eq!(path.get().await.unwrap(), "/data/run");
    let long = "/data/2024/an-experiment/with-a-name-longer-than-a-string-holds/";
    assert!(long.len() > 39);
    set_and_wait(&path, long).await.unwrap();
    assert_eq!(path.get().await.unwrap(), long);
    match raw(&ioc, "path").await {
        Value::IntArray(bytes) => assert_eq!(bytes[..long.len() + 1], bytes_and_nul(long)),
        other => panic!("a CHAR array holds bytes, not {other:?}"),
    }
    // As Python ophyd 1.11 describes a `string=True` CHAR waveform.
    let key = described(&ioc, "paths_path").await;
    assert_eq!((key.dtype, key.shape.as_slice()), (Dtype::String, &[][..]));
    assert_eq!(key.units, Some(Some(String::new())));
    assert_eq!((key.lower_ctrl_limit, key.upper_ctrl_limit), (Some(Some(Value::Int(0))), Some(Some(Value::Int(0)))));
    // Unsigned bytes too, and text that is not ASCII.
    let upath = text_signal::<String>(&ioc, "upath").await;
    assert_eq!(upath.get().await.unwrap(), "");
    set_and_wait(&upath, "/µm/").await.unwrap();
    assert_eq!(upath.get().await.unwrap(), "/µm/");
}

async fn a_long_string_that_does_not_fit_is_refused_before_it_is_sent(ioc: impl TextIoc) {
    let path = text_signal::<String>(&ioc, "path").await;
    let err = path.put("x".repeat(256)).await.unwrap_err();
    match &err {
        Error::NotSent { pv, reason, .. } => {
            assert_eq!(pv, &ioc.pv("path"));
            assert!(reason.contains("at most 255"), "{reason}");
        }
        other => panic!("expected a put refused before it was sent, got {other}"),
    }
    path.put("x".repeat(255)).await.expect("255 bytes and the NUL fit");
    assert!(path.put("a\0b".to_owned()).await.is_err(), "a NUL would end the text early");
}

#[derive(Device)]
struct Paths {
    #[component(suffix = "path", kind = "config", stage = "/staged/run/")]
    path: EpicsSignal<String>,
    #[component(suffix = "mode", kind = "config", stage = "Single")]
    mode: EpicsSignal<String>,
    #[component(suffix = "choice", kind = "config", stage = 0)]
    choice: EpicsSignal<Enum>,
}

/// The data key `key` of a [`Paths`] on `ioc`.
async fn described(ioc: &impl TextIoc, key: &str) -> DataKey {
    let paths = Paths::new(&ioc.pv(""), "paths");
    paths.connect(&ioc.transport()).await.unwrap();
    paths.describe_configuration().await.unwrap().get(key).cloned().unwrap()
}

async fn staging_text_and_choices_puts_back_what_they_held(ioc: impl TextIoc) {
    let prefix = ioc.pv("");
    let paths = Paths::new(&prefix, "paths");
    paths.connect(&ioc.transport()).await.unwrap();
    paths.stage().await.unwrap();
    assert_eq!(paths.path.get().await.unwrap(), "/staged/run/");
    assert_eq!((raw(&ioc, "mode").await, raw(&ioc, "choice").await), (Value::Int(0), Value::Int(0)));
    paths.unstage().await.unwrap();
    assert_eq!(paths.path.get().await.unwrap(), "/data/run");
    assert_eq!((raw(&ioc, "mode").await, raw(&ioc, "choice").await), (Value::Int(1), Value::Int(2)));
    let configuration = paths.read_configuration().await.unwrap();
    let values: Vec<&Value> = configuration.iter().map(|(_, r)| &r.value).collect();
    assert_eq!(values, [&Value::from("/data/run"), &Value::from("Multiple"), &Value::Int(2)]);
}

async fn an_enum_read_as_text_gives_and_takes_its_labels(ioc: impl TextIoc) {
    let mode = text_signal::<String>(&ioc, "mode").await;
    assert_eq!(mode.get().await.unwrap(), "Multiple");
    set_and_wait(&mode, "Continuous").await.unwrap();
    assert_eq!(raw(&ioc, "mode").await, Value::Int(2));
    let key = described(&ioc, "paths_mode").await;
    assert_eq!(key.dtype, Dtype::String, "ophyd's string=True");
    assert_eq!(key.enum_strs, Some(vec!["Single".into(), "Multiple".into(), "Continuous".into()]));
    let err = mode.put("Sometimes").await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err}");
    assert_eq!(raw(&ioc, "mode").await, Value::Int(2));
}

async fn a_number_read_as_an_enum_gives_its_index(ioc: impl TextIoc) {
    let choice = text_signal::<Enum>(&ioc, "choice").await;
    assert_eq!(choice.get().await.unwrap(), Enum::Index(2));
    set_and_wait(&choice, 1).await.unwrap();
    assert_eq!(raw(&ioc, "choice").await, Value::Int(1));
    assert!(choice.put("Multiple").await.is_err(), "a number has no labels");
    assert_eq!(raw(&ioc, "choice").await, Value::Int(1));
}

/// Each text behaviour on the simulated IOC, and over Channel Access.
macro_rules! text_on_both_transports {
    ($($name:ident,)*) => {
        mod text_sim {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::sim_text()).await;
                }
            )*
        }

        #[cfg(feature = "ca")]
        mod text_ca {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::ca_text()).await;
                }
            )*
        }
    };
}

text_on_both_transports! {
    a_long_string_reads_as_text_and_is_written_whole_with_its_nul,
    a_long_string_that_does_not_fit_is_refused_before_it_is_sent,
    staging_text_and_choices_puts_back_what_they_held,
    an_enum_read_as_text_gives_and_takes_its_labels,
    a_number_read_as_an_enum_gives_its_index,
}

// --- The simulated areaDetector ----------------------------------------------

/// A detector of every plugin the simulated areaDetector has, triggered as
/// ophyd's `SingleTrigger`.
#[derive(Device)]
#[device(custom(trigger))]
struct Detector {
    #[component(suffix = "cam1:", kind = "config")]
    cam: SimDetectorCam,
    #[component(suffix = "image1:", kind = "omitted")]
    image1: ImagePlugin,
    #[component(suffix = "Stats1:")]
    stats1: StatsPlugin,
    #[component(suffix = "ROI1:", kind = "omitted")]
    roi1: RoiPlugin,
    #[component(suffix = "ROI2:", kind = "omitted")]
    roi2: RoiPlugin,
    #[component(suffix = "ROI3:", kind = "omitted")]
    roi3: RoiPlugin,
    #[component(suffix = "ROI4:", kind = "omitted")]
    roi4: RoiPlugin,
    #[component(suffix = "HDF1:", kind = "omitted")]
    hdf1: Hdf5Plugin,
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        single_trigger(&self.cam)
    }
}

/// An 8 × 4 `UInt16` simulated detector at `13SIM1:` and a connected
/// [`Detector`] on it, 0.1 s a frame, Stats' total hinted (ophyd's
/// `det.stats1.total.kind = 'hinted'`).
async fn detector() -> (SimIoc, SimAreaDetector, Detector) {
    let ioc = SimIoc::new();
    let sim = add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(8, 4).data_type(DataType::UInt16));
    let det = Detector::new("13SIM1:", "det");
    det.connect(&ioc.transport()).await.unwrap();
    det.cam.acquire_time.put(0.1).await.unwrap();
    det.stats1.total.set_kind(Kind::Hinted);
    (ioc, sim, det)
}

/// The total of the simulated frame with unique id `n`, 8 × 4 at gain 1:
/// Σ(x + y + n).
fn total(n: u32) -> f64 {
    4.0 * 28.0 + 8.0 * 6.0 + 32.0 * f64::from(n)
}

#[tokio::test(start_paused = true)]
async fn a_single_frame_trigger_reads_the_stats_total_the_pattern_predicts() {
    let (_ioc, _sim, det) = detector().await;
    det.stage().await.unwrap();
    for n in 1..=2 {
        let start = tokio::time::Instant::now();
        det.trigger().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(100), "one frame of AcquireTime");
        let reading = det.read().await.unwrap();
        assert_eq!(reading.keys().collect::<Vec<_>>(), ["det_stats1_total"]);
        assert_eq!(reading.get("det_stats1_total").unwrap().value, Value::Float(total(n)));
    }
    assert_eq!(det.hints().fields, ["det_stats1_total"]);
    assert_eq!(det.cam.array_counter.get().await.unwrap(), 2);
    assert_eq!(det.stats1.unique_id.get().await.unwrap(), 2);
    let image = det.image1.image().await.unwrap();
    assert_eq!((image.shape.as_slice(), image.at(7, 3)), (&[4, 8][..], Some(7.0 + 3.0 + 2.0)));
    let configuration = det.read_configuration().await.unwrap();
    assert_eq!(
        configuration.keys().collect::<Vec<_>>(),
        [
            "det_cam_acquire_period",
            "det_cam_acquire_time",
            "det_cam_image_mode",
            "det_cam_manufacturer",
            "det_cam_model",
            "det_cam_num_exposures",
            "det_cam_num_images",
            "det_cam_trigger_mode",
        ],
        "ophyd's CamBase configuration"
    );
    assert_eq!(configuration.get("det_cam_image_mode").unwrap().value, Value::Int(1), "Multiple while staged");
    det.unstage().await.unwrap();
    assert_eq!(det.cam.image_mode.get().await.unwrap(), Enum::Index(2), "Continuous again");
}

#[tokio::test(start_paused = true)]
async fn a_trigger_in_multiple_mode_takes_num_images_frames() {
    let (_ioc, _sim, det) = detector().await;
    det.cam.num_images.put(5).await.unwrap();
    det.stage().await.unwrap();
    let start = tokio::time::Instant::now();
    det.trigger().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    assert_eq!(det.cam.num_images_counter.get().await.unwrap(), 5);
    assert_eq!(det.stats1.unique_id.get().await.unwrap(), 5);
    assert_eq!(det.read().await.unwrap().get("det_stats1_total").unwrap().value, Value::Float(total(5)));
    assert_eq!(det.cam.detector_state.get_label().await.unwrap(), "Idle");
    det.unstage().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_stats_of_a_region_are_those_of_the_roi_it_takes_its_arrays_from() {
    let (_ioc, _sim, det) = detector().await;
    det.stats1.nd_array_port.put("ROI1".to_owned()).await.unwrap();
    det.roi1.min_xyz.min_x.put(2).await.unwrap();
    det.roi1.size.x.put(3).await.unwrap();
    det.roi1.min_xyz.min_y.put(1).await.unwrap();
    det.roi1.size.y.put(2).await.unwrap();
    det.stage().await.unwrap();
    det.trigger().await.unwrap();
    // Columns 2..5, rows 1..3 of frame 1: Σ(x + y + 1).
    let expected: f64 = (2..5).flat_map(|x| (1..3).map(move |y| f64::from(x + y + 1))).sum();
    assert_eq!(det.stats1.total.get().await.unwrap(), expected);
    assert_eq!((det.roi1.array_size.x.get().await.unwrap(), det.roi1.array_size.y.get().await.unwrap()), (3, 2));
    assert_eq!(det.stats1.max_value.get().await.unwrap(), 4.0 + 2.0 + 1.0);
    det.unstage().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_trigger_the_ioc_refuses_fails_with_the_iocs_reason() {
    let (_ioc, sim, det) = detector().await;
    det.stage().await.unwrap();
    sim.refuse_acquire(Some("the detector is in an error state"));
    let err = det.trigger().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the detector is in an error state") && text.contains("13SIM1:cam1:Acquire"), "{text}");
    det.unstage().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_trigger_that_does_not_end_times_out_naming_the_detector() {
    let (ioc, _sim, det) = detector().await;
    det.stage().await.unwrap();
    // A detector that starts and never finishes.
    ioc.set_put_handler("13SIM1:cam1:Acquire", |_, value| PutAction::Write {
        value: value.clone(),
        completion: Some(Box::pin(std::future::pending())),
    });
    det.cam.num_images.put(3).await.unwrap();
    let start = tokio::time::Instant::now();
    let err = det.trigger().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(300) + ophyd_areadetector::TRIGGER_TIMEOUT_MARGIN);
    match &err {
        Error::Timeout { what, .. } => assert!(what.contains("trigger of `det`") && what.contains("3 frame"), "{what}"),
        other => panic!("expected a timeout, got {other}"),
    }
}

#[tokio::test]
async fn a_trigger_of_a_detector_not_staged_fails_saying_to_stage_it() {
    let (_ioc, sim, det) = detector().await;
    let err = det.trigger().await.unwrap_err();
    assert!(err.to_string().contains("`det` is not staged"), "{err}");
    assert!(!sim.acquiring(), "nothing started");
}

// --- Staging more than twenty stage_sigs ---------------------------------------

/// Every write a client makes to the PVs of `pvs`, in order.
struct Writes {
    log: Arc<Mutex<Vec<(String, Value)>>>,
    _subscriptions: Vec<Subscription>,
}

impl Writes {
    async fn of(ioc: &SimIoc, pvs: &[String]) -> Writes {
        let log: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let mut subscriptions = Vec::new();
        for pv in pvs {
            let channel: Arc<dyn PvChannel> = ioc.transport().connect(pv).await.unwrap();
            let (log, name, initial) = (log.clone(), pv.clone(), AtomicBool::new(true));
            let subscription = channel
                .subscribe(Arc::new(move |reading| {
                    if !initial.swap(false, Ordering::SeqCst) {
                        log.lock().unwrap().push((name.clone(), reading.value.clone()));
                    }
                }))
                .unwrap();
            subscriptions.push(subscription);
        }
        Writes { log, _subscriptions: subscriptions }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap()).into_iter().map(|(pv, _)| pv).collect()
    }
}

/// The PV each `stage_sigs` entry of the detector's sub-devices writes, in
/// staging order.
fn staged_pvs(det: &Detector) -> Vec<String> {
    let entries = [
        (det.cam.stage_sigs().paths(), det.lookup("cam").unwrap()),
        (det.image1.stage_sigs().paths(), det.lookup("image1").unwrap()),
        (det.stats1.stage_sigs().paths(), det.lookup("stats1").unwrap()),
        (det.roi1.stage_sigs().paths(), det.lookup("roi1").unwrap()),
        (det.roi2.stage_sigs().paths(), det.lookup("roi2").unwrap()),
        (det.roi3.stage_sigs().paths(), det.lookup("roi3").unwrap()),
        (det.roi4.stage_sigs().paths(), det.lookup("roi4").unwrap()),
        (det.hdf1.stage_sigs().paths(), det.lookup("hdf1").unwrap()),
    ];
    let mut pvs = Vec::new();
    for (paths, sub) in entries {
        let sub = sub.as_device().unwrap();
        for path in paths {
            let signal = ophyd_core::DynDevice::component(sub, &path).and_then(|c| c.as_signal()).unwrap();
            // Every staged signal here writes `X` and reads back `X_RBV`.
            let source = signal.source().strip_prefix("PV:").unwrap();
            pvs.push(source.strip_suffix("_RBV").unwrap().to_owned());
        }
    }
    pvs
}

/// What the IOC holds of each of `pvs` and of its read-back.
fn snapshot(ioc: &SimIoc, pvs: &[String]) -> Vec<(String, Option<Value>)> {
    pvs.iter()
        .flat_map(|pv| [pv.clone(), format!("{pv}_RBV")])
        .map(|pv| {
            let value = ioc.get(&pv);
            (pv, value)
        })
        .collect()
}

/// A directory of its own under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ophyd-rs-ad-{name}-{}-{:08x}", std::process::id(), rand_u32()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    nanos ^ std::process::id().rotate_left(16)
}

/// Originals that differ from what staging writes, where the IOC's defaults
/// are the same: every write and every restore is then a change to see.
async fn differing_originals(det: &Detector) {
    det.cam.array_callbacks.put("Disable").await.unwrap();
    det.cam.acquire.put(0).await.unwrap();
    det.hdf1.create_directory.put(0).await.unwrap();
    det.hdf1.file_name.put("before".to_owned()).await.unwrap();
}

/// A detector staged to write files: 3 on the camera, 2 on each of seven
/// plugins, 10 more on the HDF5 plugin.
async fn file_writing_detector(dir: &Path) -> (SimIoc, SimAreaDetector, Detector) {
    let (ioc, sim, det) = detector().await;
    det.hdf1.write_files(HdfWriter::new(dir.join("run"))).unwrap();
    differing_originals(&det).await;
    (ioc, sim, det)
}

#[tokio::test(start_paused = true)]
async fn staging_29_stage_sigs_across_camera_and_plugins_restores_every_pv_in_reverse_order() {
    let dir = scratch("order");
    let (ioc, _sim, det) = file_writing_detector(&dir).await;
    let pvs = staged_pvs(&det);
    assert_eq!(pvs.len(), 29);
    assert_eq!(pvs[..3], ["13SIM1:cam1:Acquire", "13SIM1:cam1:ArrayCallbacks", "13SIM1:cam1:ImageMode"]);
    let before = snapshot(&ioc, &pvs);
    let writes = Writes::of(&ioc, &pvs).await;

    det.stage().await.unwrap();
    assert_eq!(writes.take(), pvs, "each staged once, in order");
    assert_eq!(det.cam.image_mode.get_label().await.unwrap(), "Multiple");
    assert_eq!(det.hdf1.enable.get().await.unwrap(), "Enable");
    assert_eq!(det.hdf1.file_write_mode.get_label().await.unwrap(), "Stream");
    assert_eq!(det.hdf1.capture.get_label().await.unwrap(), "Capturing");
    assert!(dir.join("run").is_dir(), "CreateDirectory made it");

    det.unstage().await.unwrap();
    let mut reversed = pvs.clone();
    reversed.reverse();
    assert_eq!(writes.take(), reversed, "each put back once, in reverse order");
    assert_eq!(snapshot(&ioc, &pvs), before, "every PV and read-back as it was");
    assert_eq!(det.hdf1.capture.get_label().await.unwrap(), "Done");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_put_the_ioc_refuses_half_way_through_staging_puts_back_everything_changed_before_it() {
    let dir = scratch("refused");
    let (ioc, _sim, det) = file_writing_detector(&dir).await;
    let pvs = staged_pvs(&det);
    let before = snapshot(&ioc, &pvs);
    ioc.set_put_handler("13SIM1:ROI2:EnableCallbacks", |_, _| {
        PutAction::Refuse("ROI2 is reserved by the beamline".into())
    });

    let err = det.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("13SIM1:ROI2:EnableCallbacks") && text.contains("reserved by the beamline"), "{text}");
    assert!(matches!(err, Error::Stage { ref restore_failures, .. } if restore_failures.is_empty()), "{err}");
    assert_eq!(snapshot(&ioc, &pvs), before, "what the first eleven changed is put back");
    assert_eq!(state_of(&det), Staged::No);
    assert_eq!(det.hdf1.capture.get_label().await.unwrap(), "Done", "the HDF5 plugin was never reached");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_trigger_fails_mid_way_ends_fail_and_puts_every_setting_back() {
    let dir = scratch("run");
    let (ioc, sim, det) = file_writing_detector(&dir).await;
    let pvs = staged_pvs(&det);
    let before = snapshot(&ioc, &pvs);
    // The detector fails after its first frame.
    let counter: Arc<dyn PvChannel> = ioc.transport().connect("13SIM1:cam1:ArrayCounter_RBV").await.unwrap();
    let failing = sim.clone();
    let _fault = counter
        .subscribe(Arc::new(move |reading| {
            if reading.value.as_f64() >= Some(1.0) {
                failing.refuse_acquire(Some("the detector overheated"));
            }
        }))
        .unwrap();

    let mut re = RunEngine::new();
    let err = re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap_err();
    assert!(err.to_string().contains("the detector overheated"), "{err}");
    assert_eq!(snapshot(&ioc, &pvs), before, "every setting put back");
    assert_eq!(det.hdf1.capture.get_label().await.unwrap(), "Done", "capture stopped");
    assert_eq!(det.hdf1.frames_written().await.unwrap(), 1, "the one frame before the fault");
    assert_eq!(state_of(&det), Staged::No);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_aborted_mid_way_stops_capture_and_puts_every_setting_back() {
    let dir = scratch("aborted");
    let (ioc, _sim, det) = file_writing_detector(&dir).await;
    let pvs = staged_pvs(&det);
    let before = snapshot(&ioc, &pvs);
    // Abort once the second frame is counted.
    let mut re = RunEngine::new();
    let control = re.control();
    let counter: Arc<dyn PvChannel> = ioc.transport().connect("13SIM1:cam1:ArrayCounter_RBV").await.unwrap();
    let _abort = counter
        .subscribe(Arc::new(move |reading| {
            if reading.value.as_f64() >= Some(2.0) {
                control.abort("the beam dumped");
            }
        }))
        .unwrap();

    let summary = re.run(count(&[&det], 10, Duration::ZERO)).await.unwrap();
    assert_eq!(summary.exit_status, ophyd_run::ExitStatus::Abort);
    assert!(summary.num_events < 10, "{} events", summary.num_events);
    assert_eq!(snapshot(&ioc, &pvs), before, "every setting put back");
    assert_eq!(det.hdf1.capture.get_label().await.unwrap(), "Done", "capture stopped");
    assert_eq!(state_of(&det), Staged::No);
    std::fs::remove_dir_all(dir).unwrap();
}

// --- HDF5 files ----------------------------------------------------------------

/// What h5py reads of `file` (`tests/python/hdf5_frames.py`).
fn h5py_reads(file: &str, swmr: bool) -> Json {
    let swmr = swmr.then_some("--swmr");
    ophyd_tests::venv::python_json("hdf5_frames.py", std::iter::once(file).chain(swmr))
}

#[tokio::test]
async fn the_file_writing_detector_streams_every_frame_of_a_run_to_a_new_file_that_h5py_reads() {
    let dir = scratch("files");
    let (ioc, _sim, det) = detector().await;
    det.cam.acquire_time.put(0.001).await.unwrap();
    det.hdf1.write_files(HdfWriter::new(dir.join("2024/06/run1"))).unwrap();
    det.stage().await.unwrap();
    let file = det.hdf1.file().expect("a file while staged");
    assert_eq!(file.directory, format!("{}/", dir.join("2024/06/run1").display()));
    assert_eq!(file.full_file_name, format!("{}{}_000000.h5", file.directory, file.name));
    assert_eq!(file.dataset, "/entry/data/data");
    assert_eq!(file.uri(), format!("file://localhost{}", file.full_file_name));

    det.trigger().await.unwrap();
    det.trigger().await.unwrap();
    assert_eq!(det.hdf1.frames_written().await.unwrap(), 2);
    assert_eq!(ioc.get_text("13SIM1:HDF1:FullFileName_RBV").as_deref(), Some(file.full_file_name.as_str()));
    // Readable while the run goes on.
    let mid_run = h5py_reads(&file.full_file_name, true);
    assert_eq!(mid_run["shape"], serde_json::json!([2, 4, 8]));
    assert_eq!(mid_run["sums"], serde_json::json!([total(1), total(2)]));

    det.trigger().await.unwrap();
    det.unstage().await.unwrap();
    assert_eq!(det.hdf1.file(), None);
    let written = h5py_reads(&file.full_file_name, false);
    assert_eq!(written["shape"], serde_json::json!([3, 4, 8]));
    assert_eq!(written["dtype"], "<u2");
    assert_eq!(written["chunks"], serde_json::json!([1, 4, 8]));
    assert_eq!(written["maxshape"], serde_json::json!([null, 4, 8]));
    assert_eq!(written["sums"], serde_json::json!([total(1), total(2), total(3)]));
    assert_eq!(written["first"][3][7], serde_json::json!(7 + 3 + 1));
    assert_eq!(written["nx_class"], serde_json::json!(["NXentry", "NXdata"]));

    // The next run, a new file.
    det.stage().await.unwrap();
    let next = det.hdf1.file().unwrap();
    assert_ne!(next.full_file_name, file.full_file_name);
    det.trigger().await.unwrap();
    det.unstage().await.unwrap();
    assert_eq!(h5py_reads(&next.full_file_name, false)["shape"], serde_json::json!([1, 4, 8]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_directory_the_ioc_may_not_make_fails_staging_naming_it_and_puts_everything_back() {
    let dir = scratch("missing");
    let (ioc, _sim, det) = detector().await;
    // Only the last level may be made, and the one above is missing too.
    let target = dir.join("missing/run");
    det.hdf1.write_files(HdfWriter::new(&target).create_directories(-1)).unwrap();
    differing_originals(&det).await;
    let pvs = staged_pvs(&det);
    let before = snapshot(&ioc, &pvs);

    let err = det.stage().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&format!("{}/", target.display())) && text.contains("FilePathExists_RBV is No"), "{text}");
    assert_eq!(snapshot(&ioc, &pvs), before, "everything put back");
    assert!(!target.exists() && !dir.join("missing").exists(), "nothing made");
    assert_eq!(det.hdf1.file(), None);
    assert_eq!(state_of(&det), Staged::No);
    // The IOC said why, as ADCore does.
    assert_eq!(ioc.get_f64("13SIM1:HDF1:WriteStatus"), Some(1.0));
    std::fs::remove_dir_all(dir).unwrap();
}

// --- The documents of a file-writing detector -----------------------------------

/// The tutorial-style file-writing detector of the examples, on its own
/// simulated areaDetector, writing to `dir`.
async fn streaming_detector(dir: &Path) -> (SimIoc, examples::area_detector::FileWritingDetector) {
    use examples::area_detector::{simulated_ioc, FileWritingDetector, SIM_PREFIX};
    let ioc = simulated_ioc();
    let det = FileWritingDetector::at(SIM_PREFIX, "det");
    det.connect(&ioc.transport()).await.unwrap();
    det.cam.acquire_time.put(0.001).await.unwrap();
    det.hdf1.write_files(HdfWriter::new(dir).file_names(|| "scan".to_owned())).unwrap();
    (ioc, det)
}

fn recorded(re: &mut RunEngine) -> Arc<Mutex<Vec<(String, Json)>>> {
    let docs = Arc::new(Mutex::new(Vec::new()));
    let sink = docs.clone();
    re.subscribe(move |name, doc| sink.lock().unwrap().push((name.to_owned(), serde_json::to_value(doc).unwrap())));
    docs
}

#[tokio::test]
async fn each_run_gets_a_resource_of_its_own_even_when_its_file_has_the_same_name() {
    let dir = scratch("same-name");
    let (_ioc, det) = streaming_detector(&dir).await;
    let mut re = RunEngine::new();
    let docs = recorded(&mut re);
    re.run(count(&[&det], 2, Duration::ZERO)).await.unwrap();
    re.run(count(&[&det], 3, Duration::ZERO)).await.unwrap();
    let docs = docs.lock().unwrap();
    ophyd_tests::venv::assert_valid_documents(docs.iter());
    let of = |name: &'static str| docs.iter().filter(move |(n, _)| n == name).map(|(_, d)| d).collect::<Vec<_>>();
    let resources = of("stream_resource");
    assert_eq!(resources.len(), 2, "one per run");
    assert_ne!(resources[0]["uid"], resources[1]["uid"]);
    assert_eq!(resources[0]["uri"], resources[1]["uri"], "the same file name, written again");
    let starts = of("start");
    assert_eq!((&resources[0]["run_start"], &resources[1]["run_start"]), (&starts[0]["uid"], &starts[1]["uid"]));
    let datums = of("stream_datum");
    let ranges: Vec<(Json, Json)> =
        datums.iter().map(|d| (d["stream_resource"].clone(), d["indices"].clone())).collect();
    let range =
        |resource: &Json, start: u64| (resource["uid"].clone(), serde_json::json!({"start": start, "stop": start + 1}));
    assert_eq!(
        ranges,
        [
            range(resources[0], 0),
            range(resources[0], 1),
            range(resources[1], 0),
            range(resources[1], 1),
            range(resources[1], 2)
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_file_directory_that_is_not_absolute_is_refused_before_anything_changes() {
    let (ioc, _sim, det) = detector().await;
    det.hdf1.write_files(HdfWriter::new("frames/run1")).unwrap();
    let pvs = staged_pvs(&det);
    let before = snapshot(&ioc, &pvs);
    let err = det.stage().await.unwrap_err();
    assert!(err.to_string().contains("frames/run1 is not an absolute path"), "{err}");
    assert_eq!(snapshot(&ioc, &pvs), before);
    assert_eq!(state_of(&det), Staged::No);
}

#[tokio::test]
async fn a_capture_left_running_is_stopped_before_a_run_opens_its_own_file() {
    let dir = scratch("left-running");
    let (_ioc, det) = streaming_detector(&dir).await;
    // Someone else's capture, still running into a file of theirs.
    let theirs = dir.join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    det.hdf1.file_path.put(format!("{}/", theirs.display())).await.unwrap();
    det.hdf1.file_name.put("theirs".to_owned()).await.unwrap();
    det.hdf1.file_write_mode.put(2).await.unwrap(); // Stream
    det.hdf1.lazy_open.put("Yes").await.unwrap();
    det.hdf1.capture.put(1).await.unwrap();
    let mut waited = Duration::ZERO;
    while det.hdf1.capture.get().await.unwrap().index() != Some(1) {
        assert!(waited < TIMEOUT, "their capture never started: {}", det.hdf1.write_message.get().await.unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }

    let mut re = RunEngine::new();
    let docs = recorded(&mut re);
    re.run(count(&[&det], 2, Duration::ZERO)).await.unwrap();
    let docs = docs.lock().unwrap();
    let resource = docs.iter().find(|(n, _)| n == "stream_resource").map(|(_, d)| d).unwrap();
    let uri = resource["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("file://localhost{}/scan", dir.display())), "{uri}");
    assert_eq!(
        h5py_reads(uri.trim_start_matches("file://localhost"), false)["shape"][0],
        2,
        "both frames in the run's file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

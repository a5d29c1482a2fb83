//! Collections of identical channels (`DeviceVector`), trigger-only signals
//! (`EpicsSignalX`), derived signals and formatted PVs, as a user declares
//! them: ophyd's `EpicsScaler` with its 32 channels, a detector with four
//! ROIs, a slit whose gap is derived from its blades, a scaler channel whose
//! PVs come from a template. On the simulated IOC; with the `ca` feature,
//! the scaler is also compared with Python ophyd's `EpicsScaler` on a
//! scaler record served by caproto, and a trigger-only signal writes over
//! Channel Access.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_core::{DerivedSignal, DerivedSignalRO, DeviceVector, Error, Value};
use ophyd_epics::sim::{Delay, PutAction, PvSpec, SimIoc};
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, EpicsSignalX};

/// Generous bound for things that take milliseconds.
const TIMEOUT: Duration = Duration::from_secs(10);

// --- ophyd's EpicsScaler -------------------------------------------------------

/// ophyd's `EpicsScaler` (`ophyd/scaler.py`), component for component: its
/// four `DynamicDeviceComponent`s of 32 channels each are four lines here.
#[derive(Device)]
#[device(custom(trigger))]
struct EpicsScaler {
    /// `Cpt(EpicsSignal, ".CNT", trigger_value=1, kind=Kind.omitted)`.
    #[component(suffix = ".CNT", put_complete)]
    count: EpicsSignalX<Enum>,
    /// `stage_sigs.update([("count_mode", 0)])`.
    #[component(suffix = ".CONT", kind = "config", stage = 0)]
    count_mode: EpicsSignal<Enum>,
    #[component(suffix = ".DLY", kind = "config")]
    delay: EpicsSignal<f64>,
    #[component(suffix = ".DLY1", kind = "config")]
    auto_count_delay: EpicsSignal<f64>,
    #[component(vector(count = 32, suffix = ".S{}", attr = "chan{}"), kind = "hinted")]
    channels: DeviceVector<EpicsSignalRO<i32>>,
    #[component(vector(count = 32, suffix = ".NM{}", attr = "name{}"), kind = "config")]
    names: DeviceVector<EpicsSignal<String>>,
    #[component(suffix = ".T", kind = "config")]
    time: EpicsSignalRO<f64>,
    #[component(suffix = ".FREQ", kind = "config")]
    freq: EpicsSignal<f64>,
    #[component(suffix = ".TP", kind = "config")]
    preset_time: EpicsSignal<f64>,
    #[component(suffix = ".TP1", kind = "config")]
    auto_count_time: EpicsSignal<f64>,
    #[component(vector(count = 32, suffix = ".PR{}", attr = "preset{}"), kind = "omitted")]
    presets: DeviceVector<EpicsSignal<i32>>,
    #[component(vector(count = 32, suffix = ".G{}", attr = "gate{}"), kind = "omitted")]
    gates: DeviceVector<EpicsSignal<Enum>>,
    #[component(suffix = ".RATE", kind = "omitted")]
    update_rate: EpicsSignal<f64>,
    #[component(suffix = ".RAT1", kind = "omitted")]
    auto_count_update_rate: EpicsSignal<f64>,
    #[component(suffix = ".EGU", kind = "config")]
    egu: EpicsSignal<String>,
}

impl Trigger for EpicsScaler {
    /// ophyd's `Device.trigger`: the component with a trigger value is put
    /// to it, and the status finishes when the record completes the put.
    fn trigger(&self) -> Status {
        self.count.trigger()
    }
}

/// The counts channel `n` holds after counting for `seconds` (channel 1,
/// the clock, counts `freq` a second), in both simulations of the record.
fn counts(n: usize, seconds: f64, freq: f64) -> i64 {
    let per_second = if n == 1 { freq } else { n as f64 * 100.0 };
    (per_second * seconds).round() as i64
}

/// The scaler record `record` on the simulated IOC, as `iocs/scaler_ioc.py`
/// serves it over Channel Access.
fn simulated_scaler(record: &str) -> SimIoc {
    let pv = |field: &str| format!("{record}.{field}");
    let ioc = SimIoc::new();
    ioc.add(PvSpec::enumeration(&pv("CONT"), &["OneShot", "AutoCount"], 1))
        .add(PvSpec::double(&pv("DLY"), 0.0).units("s").precision(3))
        .add(PvSpec::double(&pv("DLY1"), 0.0).units("s").precision(3))
        .add(PvSpec::double(&pv("T"), 0.0).units("s").precision(3).read_only())
        .add(PvSpec::double(&pv("FREQ"), 1e7).units("Hz").precision(3))
        .add(PvSpec::double(&pv("TP"), 1.0).units("s").precision(3))
        .add(PvSpec::double(&pv("TP1"), 1.0).units("s").precision(3))
        .add(PvSpec::double(&pv("RATE"), 10.0).units("Hz").precision(1))
        .add(PvSpec::double(&pv("RAT1"), 10.0).units("Hz").precision(1))
        .add(PvSpec::string(&pv("EGU"), "cts"));
    for n in 1..=32 {
        ioc.add(PvSpec::long(&pv(&format!("S{n}")), 0).units("cts").read_only())
            .add(PvSpec::string(&pv(&format!("NM{n}")), &format!("chan{n}")))
            .add(PvSpec::long(&pv(&format!("PR{n}")), 0))
            .add(PvSpec::enumeration(&pv(&format!("G{n}")), &["N", "Y"], 0));
    }
    let (preset_time, freq, time, record) = (pv("TP"), pv("FREQ"), pv("T"), record.to_owned());
    ioc.add(PvSpec::enumeration(&pv("CNT"), &["Done", "Count"], 0).busy(Delay::seconds_in(&preset_time), move |ioc| {
        let seconds = ioc.get_f64(&preset_time).unwrap_or(0.0);
        let freq = ioc.get_f64(&freq).unwrap_or(0.0);
        for n in 1..=32 {
            ioc.write(&format!("{record}.S{n}"), counts(n, seconds, freq));
        }
        ioc.write(&time, seconds);
    }));
    ioc
}

fn numbered(stem: &str) -> Vec<String> {
    (1..=32).map(|n| format!("{stem}{n}")).collect()
}

/// `read_attrs` and `configuration_attrs` as ophyd's `EpicsScaler` lists
/// them: a `DynamicDeviceComponent` is a sub-device of kind normal, so it
/// is listed in both, its children in the one their kind puts them.
fn ophyd_attr_lists() -> (Vec<String>, Vec<String>) {
    let mut read_attrs = vec!["channels".to_owned()];
    read_attrs.extend(numbered("channels.chan"));
    read_attrs.extend(["names", "presets", "gates"].map(String::from));
    let mut configuration_attrs =
        ["count_mode", "delay", "auto_count_delay", "channels", "names"].map(String::from).to_vec();
    configuration_attrs.extend(numbered("names.name"));
    configuration_attrs
        .extend(["time", "freq", "preset_time", "auto_count_time", "presets", "gates", "egu"].map(String::from));
    (read_attrs, configuration_attrs)
}

#[tokio::test(flavor = "current_thread")]
async fn a_32_channel_scaler_counts_and_reads_describes_and_hints_as_ophyds_epics_scaler() {
    let ioc = simulated_scaler("sc1");
    let scaler = EpicsScaler::new("sc1", "scaler");
    scaler.connect(&ioc.transport()).await.unwrap();
    scaler.preset_time.put(0.05).await.unwrap();

    scaler.stage().await.unwrap();
    assert_eq!(scaler.count_mode.get_label().await.unwrap(), "OneShot");
    scaler.trigger().wait(TIMEOUT).await.unwrap();
    let read = scaler.read().await.unwrap();
    scaler.unstage().await.unwrap();
    assert_eq!(scaler.count_mode.get_label().await.unwrap(), "AutoCount");

    let channel_keys = numbered("scaler_channels_chan");
    assert_eq!(read.keys().collect::<Vec<_>>(), channel_keys);
    for n in [1, 2, 17, 32] {
        let reading = read.get(&format!("scaler_channels_chan{n}")).unwrap();
        assert_eq!(reading.value, Value::Int(counts(n, 0.05, 1e7)), "channel {n}");
    }
    let describe = scaler.describe().await.unwrap();
    assert_eq!(describe.keys().collect::<Vec<_>>(), channel_keys);
    let chan7 = describe.get("scaler_channels_chan7").unwrap();
    assert_eq!((&*chan7.source, chan7.units.clone()), ("PV:sc1.S7", Some(Some("cts".to_owned()))));
    assert_eq!(scaler.hints().fields, channel_keys);

    let mut configuration_keys = ["count_mode", "delay", "auto_count_delay"].map(|k| format!("scaler_{k}")).to_vec();
    configuration_keys.extend(numbered("scaler_names_name"));
    configuration_keys.extend(["time", "freq", "preset_time", "auto_count_time", "egu"].map(|k| format!("scaler_{k}")));
    let configuration = scaler.read_configuration().await.unwrap();
    assert_eq!(configuration.keys().collect::<Vec<_>>(), configuration_keys);
    assert_eq!(configuration.get("scaler_names_name3").unwrap().value, Value::from("chan3"));
    assert_eq!(configuration.get("scaler_time").unwrap().value, Value::Float(0.05));
    assert_eq!(scaler.describe_configuration().await.unwrap().keys().collect::<Vec<_>>(), configuration_keys);

    let (read_attrs, configuration_attrs) = ophyd_attr_lists();
    assert_eq!(scaler.read_attrs(), read_attrs);
    assert_eq!(scaler.configuration_attrs(), configuration_attrs);
    assert_eq!(
        scaler.component_names(),
        [
            "count",
            "count_mode",
            "delay",
            "auto_count_delay",
            "channels",
            "names",
            "time",
            "freq",
            "preset_time",
            "auto_count_time",
            "presets",
            "gates",
            "update_rate",
            "auto_count_update_rate",
            "egu"
        ]
    );
    assert_eq!(scaler.channels.component_names(), numbered("chan"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_vectors_children_are_found_by_number_by_path_and_staged_by_handle() {
    let ioc = simulated_scaler("sc1");
    let scaler = EpicsScaler::new("sc1", "scaler");
    scaler.connect(&ioc.transport()).await.unwrap();

    assert_eq!(scaler.channels.len(), 32);
    assert_eq!(scaler.channels[12].read_pv(), "sc1.S12");
    assert_eq!(scaler.presets[32].name(), "scaler_presets_preset32");
    assert!(scaler.gates.get(33).is_none() && scaler.gates.get(0).is_none());
    assert_eq!(scaler.channels.iter().map(|(n, _)| n).collect::<Vec<_>>(), (1..=32).collect::<Vec<_>>());
    assert_eq!(scaler.lookup("channels.chan5").unwrap().name(), "scaler_channels_chan5");
    let err = scaler.lookup("channels.chan33").err().unwrap().to_string();
    assert!(err.contains("`scaler_channels` has no component `channels.chan33`") && err.contains("chan32"), "{err}");

    // A child of a vector is staged like any component at depth, by handle
    // or by dotted path, and put back.
    scaler.stage_sigs().set(&scaler.gates[3], "Y").unwrap();
    scaler.stage_sigs().set_path("presets.preset2", 1000).unwrap();
    assert_eq!(scaler.stage_sigs().paths(), ["count_mode", "gates.gate3", "presets.preset2"]);
    scaler.stage().await.unwrap();
    assert_eq!((ioc.get("sc1.G3"), ioc.get("sc1.PR2")), (Some(Value::Int(1)), Some(Value::Int(1000))));
    scaler.unstage().await.unwrap();
    assert_eq!((ioc.get("sc1.G3"), ioc.get("sc1.PR2")), (Some(Value::Int(0)), Some(Value::Int(0))));
}

#[tokio::test(flavor = "current_thread")]
async fn connecting_a_vector_names_each_child_pv_that_is_missing() {
    let ioc = simulated_scaler("sc1");
    let scaler = EpicsScaler::new("sc2", "scaler"); // no such record
    let err = scaler.connect_timeout(&ioc.transport(), Duration::from_secs(1)).await.unwrap_err().to_string();
    for pv in ["sc2.S1", "sc2.S32", "sc2.NM17", "sc2.G32"] {
        assert!(err.contains(pv), "{pv} not named in: {err}");
    }
}

// --- A detector with four ROIs -------------------------------------------------

/// One region of interest of an areaDetector ROI plugin.
#[derive(Device)]
struct Roi {
    #[component(suffix = "MinX", kind = "config")]
    min_x: EpicsSignalWithRbv<i32>,
    #[component(suffix = "SizeX", kind = "config")]
    size_x: EpicsSignalWithRbv<i32>,
    /// Enabled while staged.
    #[component(suffix = "EnableCallbacks", kind = "omitted", stage = "Enable")]
    enable: EpicsSignal<Enum>,
    #[component(suffix = "Total_RBV", kind = "hinted")]
    total: EpicsSignalRO<f64>,
}

/// A detector with four ROIs, `roi1`..`roi4` on `ROI1:`..`ROI4:`.
#[derive(Device)]
#[device(custom(trigger))]
struct RoiDetector {
    #[component(suffix = "cam1:Acquire", put_complete)]
    acquire: EpicsSignalX<Enum>,
    #[component(vector(count = 4, suffix = "ROI{}:", attr = "roi{}"))]
    rois: DeviceVector<Roi>,
}

impl Trigger for RoiDetector {
    fn trigger(&self) -> Status {
        self.acquire.trigger()
    }
}

/// Detector `prefix` whose acquisition gives ROI `n` a total of `n * 1.5`
/// for each enabled ROI, 0 for the others.
fn simulated_roi_detector(prefix: &str) -> SimIoc {
    let ioc = SimIoc::new();
    for n in 1..=4 {
        let pv = |field: &str| format!("{prefix}ROI{n}:{field}");
        ioc.add_with_rbv(PvSpec::long(&pv("MinX"), 0))
            .add_with_rbv(PvSpec::long(&pv("SizeX"), 1024))
            .add(PvSpec::enumeration(&pv("EnableCallbacks"), &["Disable", "Enable"], 0))
            .add(PvSpec::double(&pv("Total_RBV"), 0.0).read_only());
    }
    let prefix = prefix.to_owned();
    ioc.add(PvSpec::enumeration(&format!("{prefix}cam1:Acquire"), &["Done", "Acquire"], 0).busy(
        Duration::from_millis(20),
        move |ioc| {
            for n in 1..=4 {
                let enabled = ioc.get(&format!("{prefix}ROI{n}:EnableCallbacks")) == Some(Value::Int(1));
                ioc.write(&format!("{prefix}ROI{n}:Total_RBV"), if enabled { n as f64 * 1.5 } else { 0.0 });
            }
        },
    ));
    ioc
}

#[tokio::test(flavor = "current_thread")]
async fn a_detector_with_four_rois_names_prefixes_stages_and_reads_each() {
    let ioc = simulated_roi_detector("det1:");
    let det = RoiDetector::new("det1:", "det");
    det.connect(&ioc.transport()).await.unwrap();

    assert_eq!(det.rois.attrs(), ["roi1", "roi2", "roi3", "roi4"]);
    assert_eq!((det.rois[3].name(), det.rois[3].prefix()), ("det_rois_roi3", "det1:ROI3:"));
    assert_eq!(det.rois[4].min_x.read_pv(), "det1:ROI4:MinX_RBV");
    assert_eq!(det.lookup("rois.roi2.size_x").unwrap().name(), "det_rois_roi2_size_x");
    let totals: Vec<String> = (1..=4).map(|n| format!("det_rois_roi{n}_total")).collect();
    assert_eq!(det.hints().fields, totals);
    assert_eq!(det.describe().await.unwrap().keys().collect::<Vec<_>>(), totals);
    assert_eq!(
        det.describe_configuration().await.unwrap().keys().collect::<Vec<_>>(),
        (1..=4).flat_map(|n| ["min_x", "size_x"].map(|f| format!("det_rois_roi{n}_{f}"))).collect::<Vec<_>>()
    );

    // Staging the detector stages each ROI (its own stage_sigs); a ROI can
    // be taken out of the run by changing its stage_sigs alone.
    det.rois[2].stage_sigs().remove("enable");
    det.stage().await.unwrap();
    det.trigger().wait(TIMEOUT).await.unwrap();
    let read = det.read().await.unwrap();
    let values: Vec<Value> = totals.iter().map(|k| read.get(k).unwrap().value.clone()).collect();
    assert_eq!(values, [Value::Float(1.5), Value::Float(0.0), Value::Float(4.5), Value::Float(6.0)]);
    det.unstage().await.unwrap();
    for n in 1..=4 {
        assert_eq!(ioc.get(&format!("det1:ROI{n}:EnableCallbacks")), Some(Value::Int(0)), "ROI {n} put back");
    }
}

// --- Trigger-only signals -------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn a_trigger_only_signal_puts_to_the_ioc_and_a_refused_put_fails_the_status_with_the_reason() {
    let ioc = SimIoc::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    ioc.add(PvSpec::long("dev:Start", 0).on_put(move |_, value| {
        s.lock().unwrap().push(value.clone());
        PutAction::accept(value)
    }))
    .add(PvSpec::long("dev:Interlocked", 0).on_put(|_, _| PutAction::Refuse("the hutch is open".into())));
    let start = EpicsSignalX::<i32>::new("dev:Start", "start").with_put_complete(true);
    let interlocked = EpicsSignalX::<i32>::new("dev:Interlocked", "interlocked");
    start.connect(&ioc.transport()).await.unwrap();
    interlocked.connect(&ioc.transport()).await.unwrap();

    start.trigger().wait(TIMEOUT).await.unwrap();
    start.set_trigger_value(2);
    start.trigger().wait(TIMEOUT).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [Value::Int(1), Value::Int(2)]);

    let err = interlocked.trigger().wait(TIMEOUT).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`interlocked` (dev:Interlocked)") && message.contains("the hutch is open"), "{message}");
    assert_eq!(ioc.get("dev:Interlocked"), Some(Value::Int(0)));
}

#[tokio::test(flavor = "current_thread")]
async fn a_trigger_only_signal_that_is_not_connected_fails_naming_its_pv() {
    let start = EpicsSignalX::<Enum>::new("dev:Start", "start");
    let err = start.trigger().wait(TIMEOUT).await.unwrap_err();
    assert!(matches!(&err, Error::NotConnected { pv, .. } if pv == "dev:Start"), "{err}");
}

// --- Derived signals -------------------------------------------------------------

fn gap(top: f64, bottom: f64) -> f64 {
    top - bottom
}

fn centre(top: f64, bottom: f64) -> f64 {
    (top + bottom) / 2.0
}

/// Both blades move by half the change, about the current centre.
fn blades_for_gap(gap: f64, top: f64, bottom: f64) -> (f64, f64) {
    let centre = centre(top, bottom);
    (centre + gap / 2.0, centre - gap / 2.0)
}

/// A slit of two blades, its gap and centre derived from them.
#[derive(Device)]
struct Slit {
    #[component(suffix = ":top", kind = "config")]
    top: Arc<EpicsSignal<f64>>,
    #[component(suffix = ":bottom", kind = "config")]
    bottom: Arc<EpicsSignal<f64>>,
    #[component(
        kind = "hinted",
        derived(from(top, bottom), raw_to_derived = gap, derived_to_raw = blades_for_gap, units = "mm", precision = 3)
    )]
    gap: DerivedSignal<f64>,
    #[component(derived(from(top, bottom), raw_to_derived = centre))]
    centre: DerivedSignalRO<f64>,
}

fn simulated_slit(prefix: &str) -> SimIoc {
    let ioc = SimIoc::new();
    ioc.add(PvSpec::double(&format!("{prefix}:top"), 3.0).units("mm").precision(3))
        .add(PvSpec::double(&format!("{prefix}:bottom"), 1.0).units("mm").precision(3));
    ioc
}

#[tokio::test(flavor = "current_thread")]
async fn derived_signals_of_epics_sources_read_describe_subscribe_and_set_through_their_inverse() {
    let ioc = simulated_slit("sl1");
    let slit = Slit::new("sl1", "slit");
    slit.connect(&ioc.transport()).await.unwrap();

    let read = slit.read().await.unwrap();
    assert_eq!(read.keys().collect::<Vec<_>>(), ["slit_gap", "slit_centre"]);
    assert_eq!(
        (read.get("slit_gap").unwrap().value.clone(), read.get("slit_centre").unwrap().value.clone()),
        (Value::Float(2.0), Value::Float(2.0))
    );
    let describe = slit.describe().await.unwrap();
    let gap_key = describe.get("slit_gap").unwrap();
    assert_eq!(
        serde_json::to_value(gap_key).unwrap(),
        serde_json::json!({
            "source": "derived://slit_gap", "dtype": "number", "shape": [], "units": "mm", "precision": 3
        })
    );
    assert_eq!(&*describe.get("slit_centre").unwrap().source, "derived://slit_centre");
    assert_eq!(slit.hints().fields, ["slit_gap"]);
    assert_eq!(slit.gap.source_names().as_deref(), Some("slit_top, slit_bottom"));

    // A change of either blade is a change of the gap.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _subscription = slit.gap.subscribe(move |gap, _| tx.send(*gap).unwrap()).unwrap();
    for (pv, value, gap) in [(None, 0.0, 2.0), (Some("sl1:top"), 4.0, 3.0), (Some("sl1:bottom"), 2.0, 2.0)] {
        if let Some(pv) = pv {
            ioc.write(pv, value);
        }
        assert_eq!(tokio::time::timeout(TIMEOUT, rx.recv()).await.unwrap(), Some(gap));
    }

    // Setting the gap moves both blades about the centre (3.0), and waits
    // for the gap to read back within 10^-3.
    set_and_wait(&slit.gap, 1.0).await.unwrap();
    assert_eq!((ioc.get_f64("sl1:top"), ioc.get_f64("sl1:bottom")), (Some(3.5), Some(2.5)));
    assert_eq!(slit.centre.get().await.unwrap(), 3.0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_derived_read_fails_naming_each_source_that_failed() {
    let ioc = simulated_slit("sl1");
    let slit = Slit::new("sl1", "slit");
    slit.connect(&ioc.transport()).await.unwrap();
    ioc.set_connected("sl1:bottom", false);
    let err = slit.read().await.unwrap_err().to_string();
    assert!(err.contains("sl1:bottom") && !err.contains("sl1:top"), "{err}");
    let err = slit.gap.set(1.0).wait(TIMEOUT).await.unwrap_err().to_string();
    assert!(err.contains("sl1:bottom"), "a write reads the sources first: {err}");
    assert_eq!(ioc.get_f64("sl1:top"), Some(3.0), "nothing was written");
}

// --- Formatted components ------------------------------------------------------

/// ophyd's `ScalerChannel`: its PVs from the scaler's prefix and the
/// channel's number (`FCpt(EpicsSignal, "{self.prefix}.S{self._ch_num}")`).
#[derive(Device)]
struct ScalerChannel {
    #[component(pv = "{prefix}.NM{ch_num}", kind = "config")]
    chname: EpicsSignal<String>,
    #[component(pv = "{prefix}.S{ch_num}", kind = "hinted")]
    s: EpicsSignalRO<i32>,
    #[component(pv = "{prefix}.PR{ch_num}", kind = "config")]
    preset: EpicsSignal<i32>,
    ch_num: u32,
}

/// A motor's read-back on another IOC's PV, named at construction.
#[derive(Device)]
struct Table {
    #[component(suffix = ":height", kind = "hinted")]
    height: EpicsSignalRO<f64>,
    #[component(pv = "{encoder}:pos", kind = "normal")]
    encoder_position: EpicsSignalRO<f64>,
    encoder: String,
}

#[tokio::test(flavor = "current_thread")]
async fn formatted_components_make_their_pvs_from_the_prefix_and_plain_fields() {
    let ioc = simulated_scaler("sc1");
    let chan = ScalerChannel::new_with("sc1", "chan7", 7);
    assert_eq!((chan.s.read_pv(), chan.chname.write_pv(), chan.ch_num), ("sc1.S7", "sc1.NM7", 7));
    chan.connect(&ioc.transport()).await.unwrap();
    assert_eq!(chan.chname.get().await.unwrap(), "chan7");
    let describe = chan.describe().await.unwrap();
    assert_eq!(&*describe.get("chan7_s").unwrap().source, "PV:sc1.S7");

    let ioc = SimIoc::new();
    ioc.add(PvSpec::double("tbl:height", 10.0)).add(PvSpec::double("enc7:pos", 10.002));
    let table = Table::new_with("tbl", "table", "enc7".to_owned());
    assert_eq!(table.encoder, "enc7");
    table.connect(&ioc.transport()).await.unwrap();
    let read = table.read().await.unwrap();
    assert_eq!(read.keys().collect::<Vec<_>>(), ["table_height", "table_encoder_position"]);
    assert_eq!(read.get("table_encoder_position").unwrap().value, Value::Float(10.002));
    // `new` leaves the plain fields at their defaults: the PV says so.
    assert_eq!(Table::new("tbl", "table").encoder_position.read_pv(), ":pos");
}

// --- Python ophyd, over Channel Access -------------------------------------------

#[cfg(feature = "ca")]
mod ca {
    use ophyd_tests::ioc::{self, Ioc};
    use ophyd_tests::{parity, venv};
    use serde_json::{json, Value as Json};

    use super::*;

    /// What Python ophyd's `EpicsScaler` reports on the scaler record `pv`.
    fn python_epics_scaler(pv: &str) -> Json {
        venv::python_json("scaler_reference.py", [pv])
    }

    fn values(readings: &ophyd_core::DataMap<ophyd_core::Reading>) -> Json {
        readings.iter().map(|(k, r)| (k.to_owned(), serde_json::to_value(&r.value).unwrap())).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_epics_scaler_counts_reads_describes_and_stages_as_python_ophyds_on_a_scaler_record() {
        ioc::ca_client_environment();
        let ioc = Ioc::scaler();
        let pv = ioc.pv("scaler1");
        let mut python = python_epics_scaler(&pv);

        let scaler = EpicsScaler::new(&pv, "scaler");
        scaler.connect_timeout(&ioc::ca_transport(), Duration::from_secs(20)).await.unwrap();
        scaler.preset_time.put(0.05).await.unwrap();
        scaler.count_mode.put("AutoCount").await.unwrap();
        scaler.stage().await.unwrap();
        let count_mode_while_staged = scaler.count_mode.get_label().await.unwrap();
        scaler.trigger().wait(TIMEOUT).await.unwrap();
        let read = scaler.read().await.unwrap();
        let mut rust = parity::report(&scaler).await;
        rust["count_mode_while_staged"] = json!(count_mode_while_staged);
        rust["read_values"] = values(&read);
        rust["stage_sigs"] =
            json!(scaler.stage_sigs().entries().into_iter().collect::<std::collections::BTreeMap<_, _>>());
        scaler.unstage().await.unwrap();
        rust["count_mode_after_unstage"] = json!(scaler.count_mode.get_label().await.unwrap());

        // The one deliberate difference: ophyd declares `count_mode` with
        // `string=True`, so it describes the enum PV as a string; ophyd-rs
        // describes it as the enum it is, an integer with its strings.
        let python_count_mode = python["describe_configuration"]["scaler_count_mode"].take();
        let rust_count_mode = rust["describe_configuration"]["scaler_count_mode"].take();
        assert_eq!(python_count_mode["dtype"], "string");
        assert_eq!(
            (&rust_count_mode["dtype"], &rust_count_mode["enum_strs"]),
            (&json!("integer"), &json!(["OneShot", "AutoCount"]))
        );
        assert_eq!(rust_count_mode["source"], python_count_mode["source"]);

        parity::assert_same(&python, &rust, &parity::COMMON);
        parity::assert_same(
            &python,
            &rust,
            &["count_mode_while_staged", "count_mode_after_unstage", "read_values", "stage_sigs"],
        );
        assert_eq!(python["count_mode_while_staged"], "OneShot");
        assert_eq!(python["read_values"]["scaler_channels_chan9"], json!(counts(9, 0.05, 1e7)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trigger_only_signal_writes_over_channel_access_and_a_refused_write_fails_naming_the_pv() {
        let ioc = Ioc::soft();
        let transport = ioc::ca_transport();
        let long = EpicsSignalX::<i32>::new(&ioc.pv("long"), "long").with_trigger_value(7).with_put_complete(true);
        let readonly = EpicsSignalX::<f64>::new(&ioc.pv("readonly"), "readonly");
        long.connect(&transport).await.unwrap();
        readonly.connect(&transport).await.unwrap();

        long.trigger().wait(TIMEOUT).await.unwrap();
        assert_eq!(venv::read_independently(&ioc.pv("long")), "7");
        let err = readonly.trigger().wait(TIMEOUT).await.unwrap_err();
        assert!(
            matches!(&err, Error::NotSent { pv, reason, .. } if *pv == ioc.pv("readonly") && reason == "Write access denied"),
            "{err}"
        );
    }
}

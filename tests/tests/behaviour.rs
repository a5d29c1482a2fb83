//! What EPICS signals do on a PV transport, written once and run on both:
//! the simulated IOC, with soft.db's records rebuilt (`ophyd_tests::soft_sim`)
//! and the staging tutorial's IOC (`SimIoc::trigger_with_pc`), and Channel
//! Access, against EPICS base's soft IOC (`iocs/soft.db`) and caproto's
//! `trigger_with_pc` (the `ca` feature and the project's Python environment).
//!
//! Passing on both is what shows that the simulated IOC behaves like a real
//! one. Where the two differ on purpose, the test says so and asserts what
//! each side documents. Where the simulated IOC is wrong, the test is
//! ignored on the simulated side only, with the difference as the reason.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use examples::{session, TriggeredDetector, TUTORIAL_NAME};
use ophyd_core::prelude::*;
use ophyd_core::{Error, SetAndWait, Subscription, Value};
use ophyd_epics::sim::SimIoc;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, EpicsValue, PvChannel, PvError, Transport};
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

const REFERENCE: &str = include_str!("../reference/ophyd-1.11-trigger_with_pc.json");

/// Generous bound for things that take milliseconds.
const TIMEOUT: Duration = Duration::from_secs(10);

// --- The two sides -----------------------------------------------------------

/// Which transport a fixture runs on, for the differences that are on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Sim,
    // Without the `ca` feature no fixture is on this side.
    #[cfg_attr(not(feature = "ca"), allow(dead_code))]
    Ca,
}

/// An IOC serving soft.db's records or the tutorial's, and a transport
/// connected to it.
trait Fixture: Sized {
    const SIDE: Side;

    /// soft.db's records, each at its name after [`Fixture::prefix`].
    async fn soft() -> Self;

    /// The staging tutorial's IOC.
    async fn tutorial() -> Self;

    fn transport(&self) -> Transport;

    /// The PV prefix, with its trailing colon.
    fn prefix(&self) -> &str;

    /// Change record `name` as someone other than the client under test.
    async fn change(&self, name: &str, value: Value);

    /// Take every PV of the IOC off the network.
    fn lose_ioc(&mut self);

    /// Serve the PVs again (over Channel Access: an IOC restarted with its
    /// records' initial values).
    fn restore_ioc(&mut self);

    fn pv(&self, name: &str) -> String {
        format!("{}{name}", self.prefix())
    }

    /// The prefix to which components add `":name"`.
    fn device_prefix(&self) -> &str {
        self.prefix().trim_end_matches(':')
    }
}

struct Sim {
    ioc: SimIoc,
    prefix: String,
}

impl Fixture for Sim {
    const SIDE: Side = Side::Sim;

    async fn soft() -> Self {
        let prefix = "sim:".to_owned();
        Sim { ioc: ophyd_tests::soft_sim::soft_ioc(&prefix), prefix }
    }

    async fn tutorial() -> Self {
        let prefix = "tpc:".to_owned();
        Sim { ioc: SimIoc::trigger_with_pc(&prefix), prefix }
    }

    fn transport(&self) -> Transport {
        self.ioc.transport()
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn change(&self, name: &str, value: Value) {
        self.ioc.write(&self.pv(name), value);
    }

    fn lose_ioc(&mut self) {
        for pv in self.ioc.pv_names() {
            self.ioc.set_connected(&pv, false);
        }
    }

    fn restore_ioc(&mut self) {
        for pv in self.ioc.pv_names() {
            self.ioc.set_connected(&pv, true);
        }
    }
}

#[cfg(feature = "ca")]
struct Ca {
    ioc: ophyd_tests::ioc::Ioc,
}

#[cfg(feature = "ca")]
impl Fixture for Ca {
    const SIDE: Side = Side::Ca;

    async fn soft() -> Self {
        Ca { ioc: ophyd_tests::ioc::Ioc::soft() }
    }

    async fn tutorial() -> Self {
        Ca { ioc: ophyd_tests::ioc::Ioc::trigger_with_pc() }
    }

    fn transport(&self) -> Transport {
        ophyd_tests::ioc::ca_transport()
    }

    fn prefix(&self) -> &str {
        self.ioc.prefix()
    }

    /// Through a channel of its own: to the IOC, another client.
    async fn change(&self, name: &str, value: Value) {
        let channel = channel(self, name).await;
        channel.put(value, true).await.unwrap_or_else(|e| panic!("changing {name}: {e}"));
    }

    fn lose_ioc(&mut self) {
        self.ioc.stop();
    }

    fn restore_ioc(&mut self) {
        self.ioc.restart().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Each behaviour as a test on each transport: `sim::<name>` and
/// `ca::<name>`. A behaviour marked `#[sim_differs = "..."]` is one the
/// simulated IOC does not have yet (the reason says how it differs): it is
/// tested over Channel Access only, rather than kept as a simulated-side
/// test that never runs.
macro_rules! on_both_transports {
    ($($(#[sim_differs = $why:literal])? $name:ident,)*) => {
        mod sim {
            $(on_both_transports!(@sim [$($why)?] $name);)*
        }

        #[cfg(feature = "ca")]
        mod ca {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name::<super::Ca>().await;
                }
            )*
        }
    };
    (@sim [] $name:ident) => {
        #[tokio::test]
        async fn $name() {
            super::$name::<super::Sim>().await;
        }
    };
    (@sim [$why:literal] $name:ident) => {};
}

on_both_transports! {
    every_value_type_reads_in_its_native_type,
    describe_reports_units_precision_limits_enum_strings_and_shape_as_python_ophyd_does,
    every_value_type_is_written_and_read_back,
    #[sim_differs = "simulator differs: it cannot serve FLOAT, SHORT or CHAR scalars, nor arrays of anything but DOUBLE (PvSpec has no constructor for them)"]
    float_short_and_char_scalars_and_integer_and_string_arrays_read_write_and_describe_in_their_native_type,
    pv_info_gives_the_native_type_and_capacity,
    a_signal_of_the_wrong_type_fails_at_connect_naming_the_pv_and_both_types,
    a_value_type_that_cannot_hold_every_value_of_the_pv_exactly_is_refused_at_connect,
    a_type_mismatch_names_the_value_type_that_fits_the_pv,
    set_and_wait_waits_for_the_read_back_pv,
    puts_are_clamped_to_the_drive_limits,
    #[sim_differs = "simulator differs: it clamps waveform elements to the control limits; a waveform record's LOPR/HOPR only describe, the IOC stores 150"]
    a_waveform_takes_elements_beyond_its_control_limits,
    #[sim_differs = "simulator differs: it rounds a number written to an integer PV (2.7 becomes 3); the IOC truncates toward zero (2.7 becomes 2)"]
    a_number_written_to_an_integer_pv_is_truncated_toward_zero,
    a_put_complete_write_finishes_when_the_ioc_has_processed_it,
    a_pending_put_completion_does_not_hold_up_reads_of_the_same_pv,
    #[sim_differs = "simulator differs: a put-complete write whose signal is dropped completes successfully when the simulated processing ends; over Channel Access its outcome is lost with the channel and the status fails"]
    a_put_complete_write_in_flight_fails_when_its_signal_is_dropped,
    #[sim_differs = "simulator differs: a put-complete write whose signal connects again completes successfully when the simulated processing ends; over Channel Access its outcome is lost with the old channel and the status fails"]
    a_put_complete_write_in_flight_fails_when_its_signal_connects_again,
    a_put_without_write_access_is_refused_before_it_is_sent,
    #[sim_differs = "simulator differs: it gives the reason \"no write access\"; libca's is \"Write access denied\""]
    a_put_without_write_access_is_refused_with_libcas_reason,
    check_put_refuses_what_put_would_refuse_and_writes_nothing,
    enums_are_set_by_label_or_index_and_read_as_their_index,
    enums_read_as_their_labels,
    an_enum_label_written_to_the_channel_is_resolved_by_the_ioc,
    #[sim_differs = "simulator differs: an unknown enum label put on the channel is refused before it is sent (PvError::BadValue); a CA client sends the label and the IOC refuses it (PvError::Refused after sending)"]
    an_unknown_enum_label_written_to_the_channel_is_refused_by_the_ioc,
    #[sim_differs = "simulator differs: it refuses an enum index beyond the PV's strings before sending; the IOC takes it (an mbbo reads back index 3 with no string)"]
    an_enum_index_beyond_the_strings_is_taken_by_the_ioc,
    a_string_of_39_bytes_round_trips,
    #[sim_differs = "simulator differs: it stores strings of any length; a Channel Access string holds at most 39 bytes, and longer ones are refused before they are sent"]
    a_string_longer_than_39_bytes_is_refused_before_it_is_sent,
    an_array_longer_than_the_waveform_is_refused_before_it_is_sent_naming_both_sizes,
    #[sim_differs = "simulator differs: it takes an empty array; libca cannot write 0 elements, so it is refused before it is sent (and check_put says so)"]
    an_empty_array_is_refused_before_it_is_sent,
    readings_carry_the_iocs_timestamp_and_alarm_severity,
    #[sim_differs = "simulator differs: it has no alarm limits (soft.db's HIGH/HIHI on `double`); a value beyond them reads with severity 0, only SimIoc::set_severity raises one"]
    a_value_beyond_the_alarm_limits_is_read_with_their_severity,
    subscriptions_deliver_the_current_value_then_every_change_until_dropped,
    subscriptions_follow_a_record_that_changes_by_itself,
    #[sim_differs = "simulator differs: it posts a monitor event for every write; an analog output record (MDEL 0) posts none when the value did not change"]
    writing_the_same_value_again_posts_no_monitor_event,
    a_status_waits_for_a_condition_on_a_signal,
    #[sim_differs = "simulator differs: it knows at once that it serves no such PV, so connecting fails at once, naming the nearest PVs it serves, instead of timing out (ophyd-epics `sim::unknown` tests it)"]
    connect_timeout_lists_every_pv_that_did_not_connect,
    losing_the_ioc_fails_operations_at_once_and_its_return_restores_them,
    #[sim_differs = "simulator differs: a put-complete write in flight when its PV goes off the network still completes successfully; over Channel Access it fails at once as disconnected"]
    a_put_complete_write_in_flight_fails_as_disconnected_when_the_ioc_is_lost,
    a_subscription_delivers_the_current_value_again_when_the_ioc_returns,
    monitored_reads_serve_the_latest_value_with_the_iocs_timestamp_without_a_round_trip,
    a_monitored_read_fails_while_the_ioc_is_away_and_never_serves_a_value_from_before,
    #[sim_differs = "simulator differs: a PV's metadata (units, limits) is fixed when it is declared; an IOC's fields can be written"]
    describe_keeps_the_metadata_for_the_connection_and_reads_it_again_after_a_reconnection,
    trigger_finishes_when_the_ioc_completes_the_acquisition,
    trigger_while_disabled_is_refused_with_the_iocs_answer,
    the_tutorial_session_matches_python_ophyd_field_for_field,
}

// --- Helpers -----------------------------------------------------------------

async fn connected<F: Fixture, D: Device>(f: &F, device: D) -> D {
    device.connect_timeout(&f.transport(), TIMEOUT).await.expect("connect");
    device
}

async fn signal<F: Fixture, T: EpicsValue>(f: &F, name: &str) -> EpicsSignal<T> {
    connected_signal(f, EpicsSignal::<T>::new(&f.pv(name), name)).await
}

async fn put_complete_signal<F: Fixture>(f: &F, name: &str) -> EpicsSignal<f64> {
    connected_signal(f, EpicsSignal::<f64>::new(&f.pv(name), name).with_put_complete(true)).await
}

async fn connected_signal<F: Fixture, T: EpicsValue>(f: &F, signal: EpicsSignal<T>) -> EpicsSignal<T> {
    tokio::time::timeout(TIMEOUT, signal.connect(&f.transport())).await.expect("connect in time").expect("connect");
    signal
}

async fn channel<F: Fixture>(f: &F, name: &str) -> Arc<dyn PvChannel> {
    tokio::time::timeout(TIMEOUT, f.transport().connect(&f.pv(name))).await.expect("connect in time").expect("connect")
}

/// The native type and element count of record `name`, as text.
async fn info<F: Fixture>(f: &F, name: &str) -> String {
    channel(f, name).await.info().to_string()
}

/// What connecting a signal of `T` to record `name` fails with.
async fn connect_error<F: Fixture, T: EpicsValue>(f: &F, name: &str) -> Error {
    EpicsSignal::<T>::new(&f.pv(name), name).connect(&f.transport()).await.expect_err("a type mismatch")
}

/// Assert that each `(error, record, declared type, served type)` is the
/// type mismatch it says.
fn assert_type_mismatches<F: Fixture>(f: &F, cases: Vec<(Error, &str, &str, &str)>) {
    for (err, name, declared, served) in cases {
        match err {
            Error::TypeMismatch { pv, expected, actual, .. } => {
                assert_eq!((pv, expected.as_str(), actual.as_str()), (f.pv(name), declared, served));
            }
            other => panic!("expected a type mismatch for {declared} on {name}, got {other}"),
        }
    }
}

/// Assert that `err` is a put refused before it was sent to record `name`,
/// and return its reason.
fn not_sent<F: Fixture>(f: &F, name: &str, err: Error) -> String {
    match err {
        Error::NotSent { pv, reason, .. } => {
            assert_eq!(pv, f.pv(name));
            reason
        }
        other => panic!("expected a put to {name} refused before sending, got {other}"),
    }
}

/// The values a subscription delivers, in order.
struct Events<T>(mpsc::UnboundedReceiver<T>);

impl<T> Events<T> {
    async fn next(&mut self, what: &str) -> T {
        match tokio::time::timeout(TIMEOUT, self.0.recv()).await {
            Ok(Some(value)) => value,
            _ => panic!("no {what} within {TIMEOUT:?}"),
        }
    }

    async fn assert_none_within(&mut self, within: Duration, why: &str)
    where
        T: std::fmt::Debug,
    {
        if let Ok(Some(value)) = tokio::time::timeout(within, self.0.recv()).await {
            panic!("{why}, but {value:?} came");
        }
    }
}

fn subscribe<S: Signal>(signal: &S) -> (Subscription, Events<S::Value>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let subscription = signal
        .subscribe(move |value, _| {
            let _ = sender.send(value.clone());
        })
        .expect("subscribe");
    (subscription, Events(receiver))
}

/// Poll `condition` until it holds, for at most `within`.
async fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < within, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs_f64()
}

// --- Value types -------------------------------------------------------------

/// A signal on each record of soft.db that both IOCs serve.
#[derive(Device)]
struct Served {
    #[component(suffix = ":double")]
    double: EpicsSignal<f64>,
    #[component(suffix = ":long")]
    long: EpicsSignal<i32>,
    #[component(suffix = ":string")]
    string: EpicsSignal<String>,
    #[component(suffix = ":mbbo")]
    mbbo: EpicsSignal<Enum>,
    #[component(suffix = ":bo")]
    bo: EpicsSignal<Enum>,
    #[component(suffix = ":doubles")]
    doubles: EpicsSignal<Vec<f64>>,
    #[component(suffix = ":setpoint")]
    setpoint: EpicsSignalWithRbv<f64>,
    #[component(suffix = ":readonly")]
    readonly: EpicsSignalRO<f64>,
}

/// A signal on each value type of soft.db that the simulated IOC cannot serve.
#[derive(Device)]
struct NotSimulated {
    #[component(suffix = ":float")]
    float: EpicsSignal<f32>,
    #[component(suffix = ":short")]
    short: EpicsSignal<i16>,
    #[component(suffix = ":char")]
    char: EpicsSignal<u8>,
    #[component(suffix = ":longs")]
    longs: EpicsSignal<Vec<i32>>,
    #[component(suffix = ":chars")]
    chars: EpicsSignal<Vec<u8>>,
    #[component(suffix = ":strings")]
    strings: EpicsSignal<Vec<String>>,
}

async fn every_value_type_reads_in_its_native_type<F: Fixture>() {
    let f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    assert_eq!(dev.double.get().await.unwrap(), 1.5);
    assert_eq!(dev.long.get().await.unwrap(), 42);
    assert_eq!(dev.string.get().await.unwrap(), "hello");
    assert_eq!(dev.mbbo.get().await.unwrap(), Enum::Index(1));
    assert_eq!(dev.bo.get().await.unwrap(), Enum::Index(0));
    assert_eq!(dev.doubles.get().await.unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(dev.readonly.get().await.unwrap(), 3.25);
    let read = dev.read().await.unwrap();
    assert_eq!(read.get("dev_mbbo").unwrap().value, Value::Int(1), "an enum reads as its index");
    assert_eq!(read.get("dev_doubles").unwrap().value, Value::FloatArray(vec![1.0, 2.0, 3.0, 4.0, 5.0]));
}

async fn describe_reports_units_precision_limits_enum_strings_and_shape_as_python_ophyd_does<F: Fixture>() {
    let f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    let described = serde_json::to_value(dev.describe().await.unwrap()).unwrap();
    let source = |name: &str| format!("PV:{}", f.pv(name));
    // As ophyd 1.11 describes these record types (tests/reference and the
    // dumps it was made from): limits are the control limits, integers for
    // integer PVs; enums and strings have no units and no limits; an
    // array's shape is its current length; a set-point with a read-back is
    // described by its read-back.
    let expected = json!({
        "dev_double": {"source": source("double"), "dtype": "number", "shape": [], "units": "mm",
                       "lower_ctrl_limit": -10.0, "upper_ctrl_limit": 10.0, "precision": 3},
        "dev_long": {"source": source("long"), "dtype": "integer", "shape": [], "units": "counts",
                     "lower_ctrl_limit": 0, "upper_ctrl_limit": 1000},
        "dev_string": {"source": source("string"), "dtype": "string", "shape": [], "units": null,
                       "lower_ctrl_limit": null, "upper_ctrl_limit": null},
        "dev_mbbo": {"source": source("mbbo"), "dtype": "integer", "shape": [], "units": null,
                     "lower_ctrl_limit": null, "upper_ctrl_limit": null, "enum_strs": ["Off", "On", "Fault"]},
        "dev_bo": {"source": source("bo"), "dtype": "integer", "shape": [], "units": null,
                   "lower_ctrl_limit": null, "upper_ctrl_limit": null, "enum_strs": ["Disabled", "Enabled"]},
        "dev_doubles": {"source": source("doubles"), "dtype": "array", "shape": [5], "units": "V",
                        "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 100.0, "precision": 2},
        "dev_setpoint": {"source": source("setpoint_RBV"), "dtype": "number", "shape": [], "units": "mm",
                         "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 0.0, "precision": 3},
        "dev_readonly": {"source": source("readonly"), "dtype": "number", "shape": [], "units": "mm",
                         "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 0.0, "precision": 2},
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&described[key], want, "describe()[{key:?}]");
    }
    assert_eq!(described.as_object().unwrap().len(), expected.as_object().unwrap().len());
}

async fn every_value_type_is_written_and_read_back<F: Fixture>() {
    let f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    dev.double.put(-2.5).await.unwrap();
    dev.long.put(7).await.unwrap();
    dev.string.put("world".to_owned()).await.unwrap();
    dev.mbbo.put(2).await.unwrap();
    dev.bo.put(1).await.unwrap();
    dev.doubles.put(vec![9.0, 8.0, 7.0]).await.unwrap();

    assert_eq!(dev.double.get().await.unwrap(), -2.5);
    assert_eq!(dev.long.get().await.unwrap(), 7);
    assert_eq!(dev.string.get().await.unwrap(), "world");
    assert_eq!(dev.mbbo.get().await.unwrap(), Enum::Index(2));
    assert_eq!(dev.bo.get().await.unwrap(), Enum::Index(1));
    assert_eq!(dev.doubles.get().await.unwrap(), [9.0, 8.0, 7.0]);
    let described = dev.describe().await.unwrap();
    assert_eq!(described.get("dev_doubles").unwrap().shape, [3], "the shape follows the array's length");
}

async fn float_short_and_char_scalars_and_integer_and_string_arrays_read_write_and_describe_in_their_native_type<
    F: Fixture,
>() {
    let f = F::soft().await;
    let dev = connected(&f, NotSimulated::new(f.device_prefix(), "dev")).await;
    assert_eq!(dev.float.get().await.unwrap(), 0.25);
    assert_eq!(dev.short.get().await.unwrap(), -7);
    assert_eq!(dev.char.get().await.unwrap(), 200);
    assert_eq!(dev.longs.get().await.unwrap(), [10, 20, 30]);
    assert_eq!(dev.chars.get().await.unwrap(), b"hi");
    assert_eq!(dev.strings.get().await.unwrap(), ["alpha", "beta"]);

    let described = serde_json::to_value(dev.describe().await.unwrap()).unwrap();
    let source = |name: &str| format!("PV:{}", f.pv(name));
    let expected = json!({
        "dev_float": {"source": source("float"), "dtype": "number", "shape": [], "units": "V",
                      "lower_ctrl_limit": -5.0, "upper_ctrl_limit": 5.0, "precision": 2},
        "dev_short": {"source": source("short"), "dtype": "integer", "shape": [], "units": "steps",
                      "lower_ctrl_limit": -100, "upper_ctrl_limit": 100},
        "dev_char": {"source": source("char"), "dtype": "integer", "shape": [], "units": "",
                     "lower_ctrl_limit": 0, "upper_ctrl_limit": 255},
        "dev_longs": {"source": source("longs"), "dtype": "array", "shape": [3], "units": "",
                      "lower_ctrl_limit": 0, "upper_ctrl_limit": 0},
        "dev_chars": {"source": source("chars"), "dtype": "array", "shape": [2], "units": "",
                      "lower_ctrl_limit": 0, "upper_ctrl_limit": 0},
        "dev_strings": {"source": source("strings"), "dtype": "array", "shape": [2], "units": null,
                        "lower_ctrl_limit": null, "upper_ctrl_limit": null},
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&described[key], want, "describe()[{key:?}]");
    }

    dev.float.put(-1.5f32).await.unwrap();
    dev.short.put(-3i16).await.unwrap();
    dev.char.put(17u8).await.unwrap();
    dev.longs.put(vec![-1, 0, 1, 2]).await.unwrap();
    dev.chars.put(b"bytes".to_vec()).await.unwrap();
    dev.strings.put(vec!["x".to_owned(), "y".to_owned(), "z".to_owned()]).await.unwrap();
    assert_eq!(dev.float.get().await.unwrap(), -1.5);
    assert_eq!(dev.short.get().await.unwrap(), -3);
    assert_eq!(dev.char.get().await.unwrap(), 17);
    assert_eq!(dev.longs.get().await.unwrap(), [-1, 0, 1, 2]);
    assert_eq!(dev.chars.get().await.unwrap(), b"bytes");
    assert_eq!(dev.strings.get().await.unwrap(), ["x", "y", "z"]);

    assert_eq!(info(&f, "float").await, "a FLOAT scalar");
    assert_eq!(info(&f, "short").await, "a SHORT scalar");
    assert_eq!(info(&f, "char").await, "a CHAR scalar");
    assert_eq!(info(&f, "strings").await, "a STRING array of 4");

    assert_type_mismatches(
        &f,
        vec![
            (connect_error::<F, i32>(&f, "float").await, "float", "i32", "a FLOAT scalar"),
            (connect_error::<F, u8>(&f, "short").await, "short", "u8", "a SHORT scalar"),
            (connect_error::<F, Vec<f64>>(&f, "strings").await, "strings", "Vec<f64>", "a STRING array of 4"),
        ],
    );
    assert_eq!(signal::<F, f64>(&f, "float").await.get().await.unwrap(), -1.5);
    assert_eq!(signal::<F, f32>(&f, "short").await.get().await.unwrap(), -3.0);
    assert_eq!(signal::<F, i16>(&f, "char").await.get().await.unwrap(), 17);
    assert_eq!(signal::<F, Vec<f64>>(&f, "longs").await.get().await.unwrap(), [-1.0, 0.0, 1.0, 2.0]);
}

async fn pv_info_gives_the_native_type_and_capacity<F: Fixture>() {
    let f = F::soft().await;
    assert_eq!(info(&f, "double").await, "a DOUBLE scalar");
    assert_eq!(info(&f, "long").await, "a LONG scalar");
    assert_eq!(info(&f, "string").await, "a STRING scalar");
    assert_eq!(info(&f, "mbbo").await, "an ENUM scalar");
    assert_eq!(info(&f, "bo").await, "an ENUM scalar");
    assert_eq!(info(&f, "doubles").await, "a DOUBLE array of 16");
}

async fn a_signal_of_the_wrong_type_fails_at_connect_naming_the_pv_and_both_types<F: Fixture>() {
    let f = F::soft().await;
    let cases = vec![
        (connect_error::<F, String>(&f, "double").await, "double", "String", "a DOUBLE scalar"),
        (connect_error::<F, f64>(&f, "string").await, "string", "f64", "a STRING scalar"),
        (connect_error::<F, f64>(&f, "doubles").await, "doubles", "f64", "a DOUBLE array of 16"),
        (connect_error::<F, Enum>(&f, "double").await, "double", "Enum", "a DOUBLE scalar"),
        (connect_error::<F, Vec<String>>(&f, "doubles").await, "doubles", "Vec<String>", "a DOUBLE array of 16"),
    ];
    assert_type_mismatches(&f, cases);
}

async fn a_value_type_that_cannot_hold_every_value_of_the_pv_exactly_is_refused_at_connect<F: Fixture>() {
    let f = F::soft().await;
    // f32 would read 0.1 as 0.10000000149011612 and write that back.
    let err = connect_error::<F, f32>(&f, "double").await;
    let text = err.to_string();
    assert!(text.contains(&f.pv("double")) && text.contains("DOUBLE") && text.contains("f32"), "{text}");
    let cases = vec![
        (err, "double", "f32", "a DOUBLE scalar"),
        (connect_error::<F, f32>(&f, "long").await, "long", "f32", "a LONG scalar"),
        (connect_error::<F, i16>(&f, "long").await, "long", "i16", "a LONG scalar"),
        (connect_error::<F, Vec<f32>>(&f, "doubles").await, "doubles", "Vec<f32>", "a DOUBLE array of 16"),
    ];
    assert_type_mismatches(&f, cases);
    // Types that hold every value do connect.
    assert_eq!(signal::<F, f64>(&f, "long").await.get().await.unwrap(), 42.0);
    assert_eq!(signal::<F, i64>(&f, "long").await.get().await.unwrap(), 42);
}

async fn a_type_mismatch_names_the_value_type_that_fits_the_pv<F: Fixture>() {
    let f = F::soft().await;
    let cases = [
        (connect_error::<F, f64>(&f, "mbbo").await, "Enum"),
        (connect_error::<F, f64>(&f, "string").await, "String"),
        (connect_error::<F, f32>(&f, "double").await, "f64"),
        (connect_error::<F, String>(&f, "doubles").await, "Vec<f64>"),
    ];
    for (err, fitting) in cases {
        let text = err.to_string();
        match err {
            Error::TypeMismatch { fits, .. } => assert_eq!(fits.as_deref(), Some(fitting), "{text}"),
            other => panic!("expected a type mismatch, got {other}"),
        }
        assert!(text.contains(&format!("`EpicsSignal<{fitting}>`")), "the message says what to declare: {text}");
    }
}

// --- Writes ------------------------------------------------------------------

async fn set_and_wait_waits_for_the_read_back_pv<F: Fixture>() {
    let f = F::soft().await;
    let setpoint = EpicsSignalWithRbv::<f64>::new(&f.pv("setpoint"), "setpoint");
    assert_eq!(setpoint.read_pv(), f.pv("setpoint_RBV"));
    setpoint.connect(&f.transport()).await.unwrap();
    let start = Instant::now();
    set_and_wait(&setpoint, 4.25).await.unwrap();
    // The read-back follows 0.3 s after the write.
    assert!(start.elapsed() >= Duration::from_millis(250), "returned after {:?}", start.elapsed());
    assert_eq!(setpoint.get().await.unwrap(), 4.25);
    assert_eq!(channel(&f, "setpoint_RBV").await.get().await.unwrap().value, Value::Float(4.25));
}

async fn puts_are_clamped_to_the_drive_limits<F: Fixture>() {
    let f = F::soft().await;
    let double = signal::<F, f64>(&f, "double").await;
    let short = SetAndWait { timeout: Duration::from_millis(300), tolerance: None };
    let err = ophyd_core::set_and_wait_with(&double, 50.0, short).await.unwrap_err().to_string();
    assert!(err.contains("wanted 50") && err.contains("was 10"), "{err}");
    let long = signal::<F, i32>(&f, "long").await;
    long.put(5000).await.unwrap();
    assert_eq!(long.get().await.unwrap(), 1000);
}

async fn a_waveform_takes_elements_beyond_its_control_limits<F: Fixture>() {
    let f = F::soft().await;
    let doubles = signal::<F, Vec<f64>>(&f, "doubles").await;
    doubles.put(vec![150.0, -3.0]).await.unwrap();
    assert_eq!(doubles.get().await.unwrap(), [150.0, -3.0]);
}

async fn a_number_written_to_an_integer_pv_is_truncated_toward_zero<F: Fixture>() {
    let f = F::soft().await;
    let long = signal::<F, f64>(&f, "long").await;
    long.put(2.7).await.unwrap();
    assert_eq!(long.get().await.unwrap(), 2.0);
    long.put(999.9).await.unwrap();
    assert_eq!(long.get().await.unwrap(), 999.0);
}

async fn a_put_complete_write_finishes_when_the_ioc_has_processed_it<F: Fixture>() {
    let f = F::soft().await;
    let slow = put_complete_signal(&f, "slow").await;
    let start = Instant::now();
    let status = slow.set(2.0);
    assert!(!status.done());
    status.wait(TIMEOUT).await.unwrap();
    let took = start.elapsed();
    // Processing waits 0.5 s (the calcout's ODLY) before it completes.
    assert!(took >= Duration::from_millis(450), "completed after {took:?}");

    let plain = signal::<F, f64>(&f, "slow").await;
    let start = Instant::now();
    plain.put(3.0).await.unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(400), "a plain put does not wait for processing: {took:?}");
    assert_eq!(plain.get().await.unwrap(), 3.0);
}

async fn a_pending_put_completion_does_not_hold_up_reads_of_the_same_pv<F: Fixture>() {
    let f = F::soft().await;
    let slow = put_complete_signal(&f, "slow").await;
    let status = slow.set(5.0);
    assert_eq!(slow.get().await.unwrap(), 5.0);
    assert!(!status.done(), "the read came back while the IOC was still processing the put");
    status.wait(TIMEOUT).await.unwrap();
}

/// Assert that `status` fails within a second, saying that the write to
/// `pv` was cut off by its channel closing.
async fn fails_as_closed(status: Status, pv: &str) {
    let start = Instant::now();
    let err = status.wait(Duration::from_secs(1)).await.expect_err("the write cannot complete");
    assert!(start.elapsed() < Duration::from_secs(1), "failed after {:?}", start.elapsed());
    match &err {
        Error::Put { pv: failed, reason, .. } => {
            assert_eq!(failed, pv);
            assert!(reason.contains("channel was closed"), "{err}");
        }
        other => panic!("expected a put cut off by its channel closing, got {other}"),
    }
    assert!(err.to_string().contains(pv), "the error names the PV: {err}");
}

async fn a_put_complete_write_in_flight_fails_when_its_signal_is_dropped<F: Fixture>() {
    let f = F::soft().await;
    let slow = put_complete_signal(&f, "slow").await;
    let status = slow.set(2.0);
    assert!(!status.done(), "the IOC takes 0.5 s to complete it");
    drop(slow);
    fails_as_closed(status, &f.pv("slow")).await;
}

async fn a_put_complete_write_in_flight_fails_when_its_signal_connects_again<F: Fixture>() {
    let f = F::soft().await;
    let slow = put_complete_signal(&f, "slow").await;
    let status = slow.set(2.0);
    assert!(!status.done(), "the IOC takes 0.5 s to complete it");
    slow.connect(&f.transport()).await.unwrap();
    fails_as_closed(status, &f.pv("slow")).await;
    slow.set(3.0).wait(TIMEOUT).await.unwrap();
    assert_eq!(slow.get().await.unwrap(), 3.0, "the new channel works");
}

async fn a_put_without_write_access_is_refused_before_it_is_sent<F: Fixture>() {
    let f = F::soft().await;
    for put_complete in [false, true] {
        let readonly = EpicsSignal::<f64>::new(&f.pv("readonly"), "readonly").with_put_complete(put_complete);
        let readonly = connected_signal(&f, readonly).await;
        assert!(readonly.check_put(&5.0).is_err(), "a dry run knows too");
        let start = Instant::now();
        // The client knows the access rights: nothing is sent, so staging
        // knows the PV kept its value.
        not_sent(&f, "readonly", readonly.put(5.0).await.unwrap_err());
        assert!(start.elapsed() < Duration::from_millis(200), "refused at once");
        assert_eq!(readonly.get().await.unwrap(), 3.25);
    }
}

async fn a_put_without_write_access_is_refused_with_libcas_reason<F: Fixture>() {
    let f = F::soft().await;
    let readonly = signal::<F, f64>(&f, "readonly").await;
    assert_eq!(not_sent(&f, "readonly", readonly.put(5.0).await.unwrap_err()), "Write access denied");
    let channel = channel(&f, "readonly").await;
    assert_eq!(channel.check_put(&Value::Float(1.0)), Err(PvError::Refused("Write access denied".into())));
}

async fn check_put_refuses_what_put_would_refuse_and_writes_nothing<F: Fixture>() {
    let f = F::soft().await;
    let readonly = channel(&f, "readonly").await;
    assert!(matches!(readonly.check_put(&Value::Float(1.0)), Err(PvError::Refused(_))));
    let double = channel(&f, "double").await;
    assert!(matches!(double.check_put(&Value::from("fast")), Err(PvError::BadValue(_))));
    assert_eq!(double.check_put(&Value::Float(1.0)), Ok(()));
    assert_eq!(double.check_put(&Value::from("2.5")), Ok(()), "text that is a number");
    assert_eq!(double.get().await.unwrap().value, Value::Float(1.5), "a dry run writes nothing");
}

// --- Enums -------------------------------------------------------------------

async fn enums_are_set_by_label_or_index_and_read_as_their_index<F: Fixture>() {
    let f = F::soft().await;
    let mbbo = signal::<F, Enum>(&f, "mbbo").await;
    set_and_wait(&mbbo, "Fault").await.unwrap();
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(2));
    assert_eq!(channel(&f, "mbbo").await.get().await.unwrap().value, Value::Int(2));
    set_and_wait(&mbbo, 0).await.unwrap();
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(0));

    // Checked against the enum strings here: a plain put the IOC refused
    // could not be reported.
    let err = mbbo.put("Broken").await.unwrap_err();
    let text = err.to_string();
    let reason = not_sent(&f, "mbbo", err);
    assert!(text.contains("Broken") && reason.contains("Fault"), "the error lists the enum strings: {text}");
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(0), "an unknown label changes nothing");
}

async fn enums_read_as_their_labels<F: Fixture>() {
    let f = F::soft().await;
    let mbbo = signal::<F, Enum>(&f, "mbbo").await;
    set_and_wait(&mbbo, "Fault").await.unwrap();
    assert_eq!(mbbo.get_label().await.unwrap(), "Fault");
    let value = mbbo.get_labelled().await.unwrap();
    assert_eq!((value.index(), value.to_string()), (Some(2), "Fault".to_owned()), "prints as its label");
    let read_only = EpicsSignalRO::<Enum>::new(&f.pv("bo"), "bo");
    read_only.connect(&f.transport()).await.unwrap();
    assert_eq!(read_only.get_label().await.unwrap(), "Disabled");
}

async fn an_enum_label_written_to_the_channel_is_resolved_by_the_ioc<F: Fixture>() {
    let f = F::soft().await;
    let channel = channel(&f, "mbbo").await;
    channel.put(Value::from("Fault"), true).await.unwrap();
    assert_eq!(channel.get().await.unwrap().value, Value::Int(2));
    channel.put(Value::from("Off"), false).await.unwrap();
    assert_eq!(channel.get().await.unwrap().value, Value::Int(0));
}

async fn an_unknown_enum_label_written_to_the_channel_is_refused_by_the_ioc<F: Fixture>() {
    let f = F::soft().await;
    let channel = channel(&f, "mbbo").await;
    assert_eq!(channel.check_put(&Value::from("Broken")), Ok(()), "only the IOC knows its strings");
    let refused = channel.put(Value::from("Broken"), true).await.unwrap_err();
    assert_eq!(refused, PvError::Refused("Channel write request failed".into()));
    assert_eq!(channel.get().await.unwrap().value, Value::Int(1), "a refused label changes nothing");
}

async fn an_enum_index_beyond_the_strings_is_taken_by_the_ioc<F: Fixture>() {
    let f = F::soft().await;
    let mbbo = signal::<F, Enum>(&f, "mbbo").await;
    mbbo.put(3).await.unwrap();
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(3));
}

// --- Strings and arrays ------------------------------------------------------

async fn a_string_of_39_bytes_round_trips<F: Fixture>() {
    let f = F::soft().await;
    let string = signal::<F, String>(&f, "string").await;
    let longest = "x".repeat(39);
    string.put(longest.clone()).await.unwrap();
    assert_eq!(string.get().await.unwrap(), longest);
}

async fn a_string_longer_than_39_bytes_is_refused_before_it_is_sent<F: Fixture>() {
    let f = F::soft().await;
    let string = signal::<F, String>(&f, "string").await;
    let too_long = "x".repeat(40);
    assert!(string.check_put(&too_long).is_err(), "a dry run knows too");
    let reason = not_sent(&f, "string", string.put(too_long).await.unwrap_err());
    assert!(reason.contains("at most 39 bytes"), "{reason}");
    assert_eq!(string.get().await.unwrap(), "hello");
}

async fn an_array_longer_than_the_waveform_is_refused_before_it_is_sent_naming_both_sizes<F: Fixture>() {
    let f = F::soft().await;
    let doubles = signal::<F, Vec<f64>>(&f, "doubles").await;
    let err = doubles.put(vec![0.0; 17]).await.unwrap_err();
    let text = err.to_string();
    let reason = not_sent(&f, "doubles", err);
    assert!(reason.contains("17 elements") && reason.contains("16"), "{reason}");
    assert!(text.contains(&f.pv("doubles")), "the error names the PV: {text}");
    assert_eq!(doubles.get().await.unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);
}

async fn an_empty_array_is_refused_before_it_is_sent<F: Fixture>() {
    let f = F::soft().await;
    let doubles = signal::<F, Vec<f64>>(&f, "doubles").await;
    assert!(doubles.check_put(&Vec::new()).is_err(), "staging could not put an empty original back");
    let reason = not_sent(&f, "doubles", doubles.put(Vec::new()).await.unwrap_err());
    assert!(reason.contains("empty array"), "{reason}");
    assert_eq!(doubles.get().await.unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);
}

// --- Readings ----------------------------------------------------------------

async fn readings_carry_the_iocs_timestamp_and_alarm_severity<F: Fixture>() {
    let f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    let mut last = 0.0;
    for value in [1.0, 2.0, -3.0] {
        dev.double.put(value).await.unwrap();
        let reading = dev.read().await.unwrap();
        let double = reading.get("dev_double").unwrap();
        assert_eq!(double.value, Value::Float(value));
        assert_eq!(double.alarm_severity, Some(0), "no alarm within the alarm limits");
        assert!((double.timestamp - unix_now()).abs() < 5.0, "the IOC's time, in Unix seconds: {}", double.timestamp);
        assert!(double.timestamp > last, "each write is stamped anew");
        last = double.timestamp;
    }
}

async fn a_value_beyond_the_alarm_limits_is_read_with_their_severity<F: Fixture>() {
    let f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    for (value, severity) in [(8.5, 1), (9.5, 2), (1.0, 0)] {
        dev.double.put(value).await.unwrap();
        let reading = dev.read().await.unwrap();
        assert_eq!(reading.get("dev_double").unwrap().alarm_severity, Some(severity), "severity at {value}");
    }
}

// --- Subscriptions -----------------------------------------------------------

async fn subscriptions_deliver_the_current_value_then_every_change_until_dropped<F: Fixture>() {
    let f = F::soft().await;
    let double = signal::<F, f64>(&f, "double").await;
    let (subscription, mut values) = subscribe(&double);
    assert_eq!(values.next("current value").await, 1.5);
    for value in [2.0, 3.0] {
        double.put(value).await.unwrap();
        assert_eq!(values.next("monitor event of our own put").await, value);
    }
    f.change("double", Value::Float(4.0)).await;
    assert_eq!(values.next("monitor event of someone else's change").await, 4.0);
    drop(subscription);
    double.put(5.0).await.unwrap();
    double.get().await.unwrap();
    values.assert_none_within(Duration::from_millis(300), "the subscription has ended").await;
}

async fn subscriptions_follow_a_record_that_changes_by_itself<F: Fixture>() {
    let f = F::soft().await;
    let counter = EpicsSignalRO::<f64>::new(&f.pv("counter"), "counter");
    counter.connect(&f.transport()).await.unwrap();
    let (sender, mut changes) = mpsc::unbounded_channel();
    let _subscription = counter
        .subscribe(move |value, timestamp| {
            let _ = sender.send((*value, timestamp));
        })
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        match tokio::time::timeout(TIMEOUT, changes.recv()).await {
            Ok(Some(change)) => seen.push(change),
            _ => panic!("no monitor event after {seen:?}"),
        }
    }
    for pair in seen.windows(2) {
        assert!(pair[1].0 > pair[0].0 && pair[1].1 > pair[0].1, "counting up: {seen:?}");
    }
}

async fn writing_the_same_value_again_posts_no_monitor_event<F: Fixture>() {
    let f = F::soft().await;
    let double = signal::<F, f64>(&f, "double").await;
    let (_subscription, mut values) = subscribe(&double);
    assert_eq!(values.next("current value").await, 1.5);
    double.put(2.0).await.unwrap();
    assert_eq!(values.next("the change").await, 2.0);
    double.put(2.0).await.unwrap();
    double.put(3.0).await.unwrap();
    assert_eq!(values.next("the next change").await, 3.0, "nothing in between");
}

async fn a_status_waits_for_a_condition_on_a_signal<F: Fixture>() {
    let f = F::soft().await;
    let long = signal::<F, i32>(&f, "long").await;
    let reached = Status::when(&long, |count| *count >= 50);
    f.change("long", Value::Int(45)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!reached.done(), "45 is not yet 50");
    f.change("long", Value::Int(50)).await;
    reached.wait(TIMEOUT).await.unwrap();
}

// --- Connection --------------------------------------------------------------

/// A device some of whose PVs nobody serves.
#[derive(Device)]
struct PartlyServed {
    #[component(suffix = ":double")]
    present: EpicsSignal<f64>,
    #[component(suffix = ":no_such_pv")]
    missing: EpicsSignal<f64>,
    #[component(suffix = ":nor_this_one")]
    also_missing: EpicsSignalRO<f64>,
}

async fn connect_timeout_lists_every_pv_that_did_not_connect<F: Fixture>() {
    let f = F::soft().await;
    let dev = PartlyServed::new(f.device_prefix(), "partly");
    let start = Instant::now();
    let err = dev.connect_timeout(&f.transport(), Duration::from_millis(500)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    match err {
        Error::ConnectTimeout { device, mut pvs, .. } => {
            assert_eq!(device, "partly");
            pvs.sort();
            assert_eq!(pvs, [f.pv("no_such_pv"), f.pv("nor_this_one")]);
        }
        other => panic!("expected a connect timeout, got {other}"),
    }
    assert!(dev.present.connected());
}

async fn losing_the_ioc_fails_operations_at_once_and_its_return_restores_them<F: Fixture>() {
    let mut f = F::soft().await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    let (_subscription, mut values) = subscribe(&dev.double);
    assert_eq!(values.next("current value").await, 1.5);

    f.lose_ioc();
    eventually(TIMEOUT, "noticing the lost IOC", || !dev.double.connected()).await;
    let start = Instant::now();
    match dev.double.get().await.unwrap_err() {
        Error::Disconnected { pv, .. } => assert_eq!(pv, f.pv("double")),
        other => panic!("expected a disconnection, got {other}"),
    }
    assert!(matches!(dev.double.put(2.0).await.unwrap_err(), Error::Disconnected { .. }));
    let err = dev.read().await.unwrap_err();
    assert!(err.is_disconnection(), "read() of the device: {err}");
    for pv in ["double", "long", "readonly"] {
        assert!(err.to_string().contains(&f.pv(pv)), "the error names every PV read, {pv} too: {err}");
    }
    assert!(start.elapsed() < Duration::from_millis(500), "operations fail at once: {:?}", start.elapsed());

    f.restore_ioc();
    eventually(Duration::from_secs(30), "reconnecting to the IOC", || dev.double.connected()).await;
    assert_eq!(dev.double.get().await.unwrap(), 1.5);
    assert_eq!(dev.string.get().await.unwrap(), "hello", "the same signals, not rebuilt");
    dev.double.put(6.5).await.unwrap();
    assert_eq!(dev.double.get().await.unwrap(), 6.5);
    let mut resumed = Vec::new();
    while resumed.last() != Some(&6.5) {
        resumed.push(values.next("the subscription, living on through the loss").await);
    }
}

async fn a_put_complete_write_in_flight_fails_as_disconnected_when_the_ioc_is_lost<F: Fixture>() {
    let mut f = F::soft().await;
    let slow = put_complete_signal(&f, "slow").await;
    let in_flight = slow.set(1.0);
    f.lose_ioc();
    let start = Instant::now();
    match in_flight.wait(TIMEOUT).await.unwrap_err() {
        Error::Disconnected { pv, .. } => assert_eq!(pv, f.pv("slow")),
        other => panic!("a put in flight fails as disconnected, not with {other}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2), "in-flight put failed after {:?}", start.elapsed());
}

async fn a_subscription_delivers_the_current_value_again_when_the_ioc_returns<F: Fixture>() {
    let mut f = F::soft().await;
    let double = signal::<F, f64>(&f, "double").await;
    let (_subscription, mut values) = subscribe(&double);
    assert_eq!(values.next("current value").await, 1.5);
    f.lose_ioc();
    eventually(TIMEOUT, "noticing the lost IOC", || !double.connected()).await;
    f.restore_ioc();
    let value = tokio::time::timeout(Duration::from_secs(30), values.0.recv()).await;
    assert_eq!(value, Ok(Some(1.5)), "the current value once the IOC is back");
}

// --- Monitored reads and metadata kept per connection ----------------------

/// Whether `future` is answered without waiting: nothing had to travel to
/// the IOC and back.
fn at_once<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
    futures::FutureExt::now_or_never(future)
}

async fn monitored_reads_serve_the_latest_value_with_the_iocs_timestamp_without_a_round_trip<F: Fixture>() {
    let f = F::soft().await;
    let dev = Served::new(f.device_prefix(), "dev");
    dev.meta().set_auto_monitor(Some(true));
    let dev = connected(&f, dev).await;
    assert!(dev.double.auto_monitor(), "as its device says");
    eventually(TIMEOUT, "the monitors' first values", || at_once(dev.read()).is_some_and(|r| r.is_ok())).await;

    f.change("double", Value::Float(4.25)).await;
    let key = "dev_double";
    eventually(TIMEOUT, "the monitor bringing 4.25", || {
        at_once(dev.read()).and_then(Result::ok).is_some_and(|r| r.get(key).unwrap().value == Value::Float(4.25))
    })
    .await;
    let monitored = at_once(dev.read()).expect("answered at once").unwrap().get(key).unwrap().clone();
    let from_the_ioc = channel(&f, "double").await.get().await.unwrap();
    assert_eq!(monitored.timestamp, from_the_ioc.timestamp, "the IOC's timestamp of the value");
    assert_eq!(monitored.alarm_severity, Some(from_the_ioc.severity));
    assert_eq!(at_once(dev.double.get()).expect("get() too is answered at once").unwrap(), 4.25);

    // The signal's own word goes before its device's: read from the IOC,
    // it has a value written a moment ago, whenever its monitor event comes.
    dev.double.set_auto_monitor(Some(false));
    assert!(!dev.double.auto_monitor() && dev.long.auto_monitor());
    for value in [5.5, 6.75, 7.125] {
        f.change("double", Value::Float(value)).await;
        assert_eq!(dev.read().await.unwrap().get(key).unwrap().value, Value::Float(value));
    }
}

async fn a_monitored_read_fails_while_the_ioc_is_away_and_never_serves_a_value_from_before<F: Fixture>() {
    let mut f = F::soft().await;
    let transport = f.transport().with_auto_monitor(true);
    let dev = Served::new(f.device_prefix(), "dev");
    dev.connect_timeout(&transport, TIMEOUT).await.expect("connect");
    assert!(dev.double.auto_monitor(), "as its transport says");
    dev.double.put(6.5).await.unwrap();
    eventually(TIMEOUT, "the monitor bringing 6.5", || at_once(dev.double.get()).is_some_and(|v| v.ok() == Some(6.5)))
        .await;

    f.lose_ioc();
    eventually(TIMEOUT, "noticing the lost IOC", || !dev.double.connected()).await;
    let err = dev.read().await.unwrap_err();
    assert!(err.is_disconnection() && err.to_string().contains(&f.pv("double")), "read() names the PV: {err}");
    assert!(matches!(dev.double.get().await.unwrap_err(), Error::Disconnected { .. }));
    if F::SIDE == Side::Sim {
        // What a reboot does to the value over Channel Access.
        f.change("double", Value::Float(1.5)).await;
    }

    f.restore_ioc();
    let start = Instant::now();
    loop {
        match dev.double.get().await {
            Ok(value) => {
                assert_eq!(value, 1.5, "the IOC's value since it came back, never the 6.5 from before");
                if at_once(dev.double.get()).is_some() {
                    break;
                }
            }
            Err(e) => assert!(e.is_disconnection(), "{e}"),
        }
        assert!(start.elapsed() < Duration::from_secs(30), "reads were not served from the monitor again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    dev.double.put(2.25).await.unwrap();
    eventually(TIMEOUT, "the monitor bringing 2.25", || {
        at_once(dev.double.get()).is_some_and(|v| v.ok() == Some(2.25))
    })
    .await;
}

async fn describe_keeps_the_metadata_for_the_connection_and_reads_it_again_after_a_reconnection<F: Fixture>() {
    let mut f = F::soft().await;
    f.change("double.EGU", Value::String("cm".into())).await;
    let dev = connected(&f, Served::new(f.device_prefix(), "dev")).await;
    let units = |d: &ophyd_core::DataMap<ophyd_core::DataKey>| d.get("dev_double").unwrap().units.clone().flatten();
    assert_eq!(units(&dev.describe().await.unwrap()).as_deref(), Some("cm"));
    let scalars = connected(&f, Served::new(f.device_prefix(), "again")).await;
    scalars.describe().await.unwrap();
    // Kept: a second describe of scalars asks the IOC nothing.
    let kept = at_once(scalars.double.metadata()).expect("the metadata is kept").unwrap();
    assert_eq!(kept.units.as_deref(), Some("cm"));

    f.lose_ioc();
    eventually(TIMEOUT, "noticing the lost IOC", || !dev.double.connected()).await;
    let err = dev.describe().await.unwrap_err();
    assert!(err.is_disconnection(), "describe() while the IOC is away: {err}");
    // The IOC comes back with soft.db's units: what was kept is not served.
    f.restore_ioc();
    eventually(Duration::from_secs(30), "reconnecting to the IOC", || dev.double.connected()).await;
    assert_eq!(units(&dev.describe().await.unwrap()).as_deref(), Some("mm"));
}

// --- The staging tutorial's IOC ---------------------------------------------

async fn tutorial_detector<F: Fixture>(f: &F, exposure: f64) -> TriggeredDetector {
    let det = connected(f, TriggeredDetector::new(f.device_prefix(), TUTORIAL_NAME)).await;
    set_and_wait(&det.exposure_time, exposure).await.unwrap();
    det
}

async fn trigger_finishes_when_the_ioc_completes_the_acquisition<F: Fixture>() {
    let f = F::tutorial().await;
    let det = tutorial_detector(&f, 0.3).await;
    let before = det.read().await.unwrap().get("triggered_detector_reading").unwrap().clone();
    let start = Instant::now();
    let status = det.trigger();
    assert!(!status.done(), "an acquisition of 0.3 s is not done at once");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(det.acquire.get().await.unwrap(), Enum::Index(1), "acquiring");
    status.wait(TIMEOUT).await.unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(290), "completed after {took:?}");
    assert_eq!(det.acquire.get().await.unwrap(), Enum::Index(0), "idle again");
    let after = det.read().await.unwrap().get("triggered_detector_reading").unwrap().clone();
    assert!(after.timestamp > before.timestamp, "a new reading: {before:?} then {after:?}");
}

async fn trigger_while_disabled_is_refused_with_the_iocs_answer<F: Fixture>() {
    let f = F::tutorial().await;
    let det = tutorial_detector(&f, 0.05).await;
    set_and_wait(&det.enabled, "off").await.unwrap();
    let start = Instant::now();
    let err = det.trigger().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1), "refused at once");
    match &err {
        Error::Put { pv, reason, .. } => {
            assert_eq!(pv, &f.pv("acquire"));
            // On purpose: Channel Access carries only a status code for a
            // failed put-callback, so a CA client sees libca's text for the
            // IOC's ECA_PUTFAIL; the simulated IOC hands over its own reason.
            let expected = match F::SIDE {
                Side::Sim => "Device must be enabled",
                Side::Ca => "Channel write request failed",
            };
            assert_eq!(reason, expected);
        }
        other => panic!("expected a refused put, got {other}"),
    }
}

async fn the_tutorial_session_matches_python_ophyd_field_for_field<F: Fixture>() {
    let f = F::tutorial().await;
    let det = tutorial_detector(&f, 0.05).await;
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();
    let ours = serde_json::to_value(&report).unwrap();
    // The reference ran on the IOC's default prefix.
    let reference = REFERENCE.replace("PV:trigger_with_pc:", &format!("PV:{}", f.prefix()));
    let reference: Json = serde_json::from_str(&reference).unwrap();
    for (field, expected) in reference.as_object().unwrap() {
        assert_eq!(&ours[field], expected, "field `{field}` differs from Python ophyd's");
    }
}

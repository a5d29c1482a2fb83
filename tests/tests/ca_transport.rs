//! The Channel Access transport against real IOCs on loopback: EPICS base's
//! soft IOC (`iocs/soft.db`) and the staging tutorial's own IOC (caproto's
//! `trigger_with_pc`), driven through the public ophyd API.
//!
//! Needs the `ca` feature and the project's Python environment
//! (`scripts/setup-venv.sh`); see `ophyd_tests::ioc` for how the IOCs and
//! the one CA client of this process share the loopback network.
#![cfg(feature = "ca")]

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use examples::{session, TriggeredDetector, TUTORIAL_NAME, TUTORIAL_PREFIX};
use ophyd_core::prelude::*;
use ophyd_core::{Error, Value};
use ophyd_epics::ca::CaTransport;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, PvError, Transport};
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::venv;
use serde_json::{json, Value as Json};

const REFERENCE: &str = include_str!("../reference/ophyd-1.11-trigger_with_pc.json");

/// Generous bound for things that take milliseconds on loopback.
const TIMEOUT: Duration = Duration::from_secs(10);

fn transport() -> Transport {
    ioc::ca_transport()
}

async fn connected<S: Device>(device: S) -> S {
    device.connect_timeout(&transport(), TIMEOUT).await.expect("connect");
    device
}

async fn signal<T: ophyd_epics::EpicsValue>(ioc: &Ioc, name: &str) -> EpicsSignal<T> {
    let signal = EpicsSignal::<T>::new(&ioc.pv(name), name);
    tokio::time::timeout(TIMEOUT, signal.connect(&transport())).await.expect("connect in time").expect("connect");
    signal
}

/// Poll `condition` until it holds, for at most `within`.
async fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < within, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One signal of every value type the soft IOC serves.
#[derive(Device)]
struct EveryType {
    #[component(suffix = ":double")]
    double: EpicsSignal<f64>,
    #[component(suffix = ":float")]
    float: EpicsSignal<f32>,
    #[component(suffix = ":long")]
    long: EpicsSignal<i32>,
    #[component(suffix = ":short")]
    short: EpicsSignal<i16>,
    #[component(suffix = ":char")]
    char: EpicsSignal<u8>,
    #[component(suffix = ":string")]
    string: EpicsSignal<String>,
    #[component(suffix = ":mbbo")]
    mbbo: EpicsSignal<Enum>,
    #[component(suffix = ":bo")]
    bo: EpicsSignal<Enum>,
    #[component(suffix = ":doubles")]
    doubles: EpicsSignal<Vec<f64>>,
    #[component(suffix = ":longs")]
    longs: EpicsSignal<Vec<i32>>,
    #[component(suffix = ":chars")]
    chars: EpicsSignal<Vec<u8>>,
    #[component(suffix = ":strings")]
    strings: EpicsSignal<Vec<String>>,
    #[component(suffix = ":readonly")]
    readonly: EpicsSignalRO<f64>,
}

#[tokio::test]
async fn every_value_type_reads_in_its_native_type() {
    let ioc = Ioc::soft();
    let dev = connected(EveryType::new(ioc.device_prefix(), "dev")).await;
    assert_eq!(dev.double.get().await.unwrap(), 1.5);
    assert_eq!(dev.float.get().await.unwrap(), 0.25);
    assert_eq!(dev.long.get().await.unwrap(), 42);
    assert_eq!(dev.short.get().await.unwrap(), -7);
    assert_eq!(dev.char.get().await.unwrap(), 200);
    assert_eq!(dev.string.get().await.unwrap(), "hello");
    assert_eq!(dev.mbbo.get().await.unwrap(), Enum::Index(1));
    assert_eq!(dev.bo.get().await.unwrap(), Enum::Index(0));
    assert_eq!(dev.doubles.get().await.unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(dev.longs.get().await.unwrap(), [10, 20, 30]);
    assert_eq!(dev.chars.get().await.unwrap(), b"hi");
    assert_eq!(dev.strings.get().await.unwrap(), ["alpha", "beta"]);
    assert_eq!(dev.readonly.get().await.unwrap(), 3.25);
}

#[tokio::test]
async fn describe_reports_units_precision_limits_and_enum_strings_as_python_ophyd_does() {
    let ioc = Ioc::soft();
    let dev = connected(EveryType::new(ioc.device_prefix(), "dev")).await;
    let described = serde_json::to_value(dev.describe().await.unwrap()).unwrap();
    let source = |name: &str| format!("PV:{}", ioc.pv(name));
    // As ophyd 1.11 describes these record types (tests/reference and the
    // dumps it was made from): limits are the control limits, integers for
    // integer PVs; enums and strings have no units and no limits; an
    // array's shape is its current length.
    let expected = json!({
        "dev_double": {"source": source("double"), "dtype": "number", "shape": [], "units": "mm",
                       "lower_ctrl_limit": -10.0, "upper_ctrl_limit": 10.0, "precision": 3},
        "dev_float": {"source": source("float"), "dtype": "number", "shape": [], "units": "V",
                      "lower_ctrl_limit": -5.0, "upper_ctrl_limit": 5.0, "precision": 2},
        "dev_long": {"source": source("long"), "dtype": "integer", "shape": [], "units": "counts",
                     "lower_ctrl_limit": 0, "upper_ctrl_limit": 1000},
        "dev_short": {"source": source("short"), "dtype": "integer", "shape": [], "units": "steps",
                      "lower_ctrl_limit": -100, "upper_ctrl_limit": 100},
        "dev_char": {"source": source("char"), "dtype": "integer", "shape": [], "units": "",
                     "lower_ctrl_limit": 0, "upper_ctrl_limit": 255},
        "dev_string": {"source": source("string"), "dtype": "string", "shape": [], "units": null,
                       "lower_ctrl_limit": null, "upper_ctrl_limit": null},
        "dev_mbbo": {"source": source("mbbo"), "dtype": "integer", "shape": [], "units": null,
                     "lower_ctrl_limit": null, "upper_ctrl_limit": null, "enum_strs": ["Off", "On", "Fault"]},
        "dev_bo": {"source": source("bo"), "dtype": "integer", "shape": [], "units": null,
                   "lower_ctrl_limit": null, "upper_ctrl_limit": null, "enum_strs": ["Disabled", "Enabled"]},
        "dev_doubles": {"source": source("doubles"), "dtype": "array", "shape": [5], "units": "V",
                        "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 100.0, "precision": 2},
        "dev_longs": {"source": source("longs"), "dtype": "array", "shape": [3], "units": "",
                      "lower_ctrl_limit": 0, "upper_ctrl_limit": 0},
        "dev_chars": {"source": source("chars"), "dtype": "array", "shape": [2], "units": "",
                      "lower_ctrl_limit": 0, "upper_ctrl_limit": 0},
        "dev_strings": {"source": source("strings"), "dtype": "array", "shape": [2], "units": null,
                        "lower_ctrl_limit": null, "upper_ctrl_limit": null},
        "dev_readonly": {"source": source("readonly"), "dtype": "number", "shape": [], "units": "mm",
                         "lower_ctrl_limit": 0.0, "upper_ctrl_limit": 0.0, "precision": 2},
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&described[key], want, "describe()[{key:?}]");
    }
    assert_eq!(described.as_object().unwrap().len(), expected.as_object().unwrap().len());
}

#[tokio::test]
async fn every_value_type_is_written_and_read_back() {
    let ioc = Ioc::soft();
    let dev = connected(EveryType::new(ioc.device_prefix(), "dev")).await;
    dev.double.put(-2.5).await.unwrap();
    dev.float.put(-1.5f32).await.unwrap();
    dev.long.put(7).await.unwrap();
    dev.short.put(-3i16).await.unwrap();
    dev.char.put(17u8).await.unwrap();
    dev.string.put("world".to_owned()).await.unwrap();
    dev.doubles.put(vec![9.0, 8.0, 7.0]).await.unwrap();
    dev.longs.put(vec![-1, 0, 1, 2]).await.unwrap();
    dev.chars.put(b"bytes".to_vec()).await.unwrap();
    dev.strings.put(vec!["x".to_owned(), "y".to_owned(), "z".to_owned()]).await.unwrap();

    assert_eq!(dev.double.get().await.unwrap(), -2.5);
    assert_eq!(dev.float.get().await.unwrap(), -1.5);
    assert_eq!(dev.long.get().await.unwrap(), 7);
    assert_eq!(dev.short.get().await.unwrap(), -3);
    assert_eq!(dev.char.get().await.unwrap(), 17);
    assert_eq!(dev.string.get().await.unwrap(), "world");
    assert_eq!(dev.doubles.get().await.unwrap(), [9.0, 8.0, 7.0]);
    assert_eq!(dev.longs.get().await.unwrap(), [-1, 0, 1, 2]);
    assert_eq!(dev.chars.get().await.unwrap(), b"bytes");
    assert_eq!(dev.strings.get().await.unwrap(), ["x", "y", "z"]);
    let described = dev.describe().await.unwrap();
    assert_eq!(described.get("dev_doubles").unwrap().shape, [3], "the shape follows the array's length");
}

/// The bytes the IOC holds in the string PV `pv`, as an independent client
/// (caproto's) reads them.
#[tokio::test]
async fn a_string_that_is_not_utf8_is_written_back_byte_for_byte() {
    let ioc = Ioc::soft();
    let pv = ioc.pv("latin1");
    assert_eq!(venv::read_bytes_independently(&pv), b"25\xb0C", "Latin-1, as the database gives it");
    let latin1 = signal::<String>(&ioc, "latin1").await;
    let original = latin1.get().await.unwrap();
    assert_eq!(original, "25\u{EFB0}C", "the byte that is not UTF-8 as its raw-byte character");
    latin1.put("changed".to_owned()).await.unwrap();
    assert_eq!(venv::read_bytes_independently(&pv), b"changed");
    latin1.put(original).await.unwrap();
    assert_eq!(venv::read_bytes_independently(&pv), b"25\xb0C", "the value read, written back, is the IOC's bytes");
}

#[tokio::test]
async fn an_array_longer_than_the_waveform_is_refused_naming_both_sizes() {
    let ioc = Ioc::soft();
    let longs = signal::<Vec<i32>>(&ioc, "longs").await;
    let err = longs.put(vec![0; 9]).await.unwrap_err().to_string();
    assert!(err.contains("9 elements") && err.contains("at most 8"), "{err}");
    assert!(err.contains(&ioc.pv("longs")), "the error names the PV: {err}");
}

#[tokio::test]
async fn an_empty_waveform_value_is_refused_before_it_is_sent_and_check_put_says_so() {
    let ioc = Ioc::soft();
    let channel = transport().connect(&ioc.pv("empty")).await.unwrap();
    let current = channel.get().await.unwrap().value;
    assert_eq!(current, Value::IntArray(vec![]), "the waveform holds nothing");
    // What staging asks before it changes anything: could the original be put back?
    let refused = channel.check_put(&current).expect_err("libca cannot write 0 elements");
    assert!(refused.to_string().contains("Channel Access cannot write an empty array"), "{refused}");
    assert_eq!(channel.put(current.clone(), false).await.unwrap_err(), refused, "put refuses it the same way");
    assert_eq!(channel.check_put(&Value::IntArray(vec![1, 2])), Ok(()));
    let too_long = channel.check_put(&Value::IntArray(vec![0; 9])).unwrap_err().to_string();
    assert!(too_long.contains("at most 8"), "{too_long}");

    let empty = signal::<Vec<i32>>(&ioc, "empty").await;
    match empty.put(Vec::new()).await.unwrap_err() {
        Error::NotSent { pv, reason, .. } => {
            assert_eq!(pv, ioc.pv("empty"));
            assert!(reason.contains("empty array"), "{reason}");
        }
        other => panic!("expected a put refused before sending, got {other}"),
    }
}

#[tokio::test]
async fn check_put_refuses_what_put_would_refuse_before_sending() {
    let ioc = Ioc::soft();
    let t = transport();
    let readonly = t.connect(&ioc.pv("readonly")).await.unwrap();
    assert_eq!(readonly.check_put(&Value::Float(1.0)), Err(PvError::Refused("Write access denied".into())));
    let double = t.connect(&ioc.pv("double")).await.unwrap();
    assert!(matches!(double.check_put(&Value::from("fast")), Err(PvError::BadValue(_))));
    assert_eq!(double.check_put(&Value::Float(1.0)), Ok(()));
    assert_eq!(double.get().await.unwrap().value, Value::Float(1.5), "a dry run writes nothing");
}

#[tokio::test]
async fn enums_are_set_by_index_or_by_string_and_read_as_their_index() {
    let ioc = Ioc::soft();
    let mbbo = signal::<Enum>(&ioc, "mbbo").await;
    set_and_wait(&mbbo, "Fault").await.unwrap();
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(2));
    set_and_wait(&mbbo, 0).await.unwrap();
    assert_eq!(mbbo.get().await.unwrap(), Enum::Index(0));
    let err = mbbo.put("Broken").await.unwrap_err().to_string();
    assert!(err.contains("Broken") && err.contains("Fault"), "the error lists the enum strings: {err}");
}

#[tokio::test]
async fn enum_strings_written_as_text_are_resolved_by_the_ioc() {
    let ioc = Ioc::soft();
    let channel = transport().connect(&ioc.pv("mbbo")).await.unwrap();
    channel.put(Value::from("Fault"), true).await.unwrap();
    assert_eq!(channel.get().await.unwrap().value, Value::Int(2));
    let refused = channel.put(Value::from("Broken"), true).await.unwrap_err();
    assert_eq!(refused, PvError::Refused("Channel write request failed".into()));
    assert_eq!(channel.get().await.unwrap().value, Value::Int(2), "a refused label changes nothing");
}

#[tokio::test]
async fn pv_info_gives_the_native_type_and_capacity() {
    let ioc = Ioc::soft();
    let t = transport();
    let info = |pv: &str| {
        let t = t.clone();
        let pv = ioc.pv(pv);
        async move { t.connect(&pv).await.unwrap().info().to_string() }
    };
    assert_eq!(info("double").await, "a DOUBLE scalar");
    assert_eq!(info("float").await, "a FLOAT scalar");
    assert_eq!(info("long").await, "a LONG scalar");
    assert_eq!(info("short").await, "a SHORT scalar");
    assert_eq!(info("char").await, "a CHAR scalar");
    assert_eq!(info("string").await, "a STRING scalar");
    assert_eq!(info("mbbo").await, "a ENUM scalar");
    assert_eq!(info("doubles").await, "a DOUBLE array of 16");
    assert_eq!(info("strings").await, "a STRING array of 4");
}

/// What connecting a signal of `T` to the soft IOC's `name` fails with.
async fn connect_error<T: ophyd_epics::EpicsValue>(ioc: &Ioc, name: &str) -> Error {
    EpicsSignal::<T>::new(&ioc.pv(name), name).connect(&transport()).await.expect_err("a type mismatch")
}

#[tokio::test]
async fn a_signal_of_the_wrong_type_fails_at_connect_naming_the_pv_and_both_types() {
    let ioc = Ioc::soft();
    let cases = [
        (connect_error::<String>(&ioc, "double").await, "double", "String", "a DOUBLE scalar"),
        (connect_error::<f64>(&ioc, "doubles").await, "doubles", "f64", "a DOUBLE array of 16"),
        (connect_error::<Enum>(&ioc, "long").await, "long", "Enum", "a LONG scalar"),
        (connect_error::<Vec<f64>>(&ioc, "strings").await, "strings", "Vec<f64>", "a STRING array of 4"),
    ];
    for (err, name, declared, served) in cases {
        match err {
            Error::TypeMismatch { pv, expected, actual, .. } => {
                assert_eq!((pv, expected.as_str(), actual.as_str()), (ioc.pv(name), declared, served));
            }
            other => panic!("expected a type mismatch for {name}, got {other}"),
        }
    }
}

#[tokio::test]
async fn a_value_type_that_cannot_hold_every_value_of_the_pv_exactly_is_refused_at_connect() {
    let ioc = Ioc::soft();
    // f32 would read 0.1 as 0.10000000149011612 and write that back.
    let err = connect_error::<f32>(&ioc, "double").await;
    let text = err.to_string();
    assert!(text.contains(&ioc.pv("double")) && text.contains("DOUBLE") && text.contains("f32"), "{text}");
    let cases = [
        (err, "double", "f32", "a DOUBLE scalar"),
        (connect_error::<f32>(&ioc, "long").await, "long", "f32", "a LONG scalar"),
        (connect_error::<i16>(&ioc, "long").await, "long", "i16", "a LONG scalar"),
        (connect_error::<i32>(&ioc, "float").await, "float", "i32", "a FLOAT scalar"),
        (connect_error::<u8>(&ioc, "short").await, "short", "u8", "a SHORT scalar"),
        (connect_error::<Vec<f32>>(&ioc, "doubles").await, "doubles", "Vec<f32>", "a DOUBLE array of 16"),
    ];
    for (err, name, declared, served) in cases {
        match err {
            Error::TypeMismatch { pv, expected, actual, .. } => {
                assert_eq!((pv, expected.as_str(), actual.as_str()), (ioc.pv(name), declared, served));
            }
            other => panic!("expected a type mismatch for {declared} on {name}, got {other}"),
        }
    }
    // Types that hold every value do connect.
    assert_eq!(signal::<f64>(&ioc, "float").await.get().await.unwrap(), 0.25);
    assert_eq!(signal::<f64>(&ioc, "long").await.get().await.unwrap(), 42.0);
    assert_eq!(signal::<f32>(&ioc, "short").await.get().await.unwrap(), -7.0);
    assert_eq!(signal::<i16>(&ioc, "char").await.get().await.unwrap(), 200);
    assert_eq!(signal::<Vec<f64>>(&ioc, "longs").await.get().await.unwrap(), [10.0, 20.0, 30.0]);
}

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

#[tokio::test]
async fn connect_timeout_lists_every_pv_that_did_not_connect() {
    let ioc = Ioc::soft();
    let dev = PartlyServed::new(ioc.device_prefix(), "partly");
    let start = Instant::now();
    let err = dev.connect_timeout(&transport(), Duration::from_millis(500)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    match err {
        Error::ConnectTimeout { device, mut pvs, .. } => {
            assert_eq!(device, "partly");
            pvs.sort();
            assert_eq!(pvs, [ioc.pv("no_such_pv"), ioc.pv("nor_this_one")]);
        }
        other => panic!("expected a connect timeout, got {other}"),
    }
    assert!(dev.present.connected());
}

#[tokio::test]
async fn set_and_wait_waits_for_the_read_back_pv() {
    let ioc = Ioc::soft();
    let setpoint = EpicsSignalWithRbv::<f64>::new(&ioc.pv("setpoint"), "setpoint");
    assert_eq!(setpoint.read_pv(), ioc.pv("setpoint_RBV"));
    setpoint.connect(&transport()).await.unwrap();
    let start = Instant::now();
    set_and_wait(&setpoint, 4.25).await.unwrap();
    // The read-back follows 0.3 s after the write.
    assert!(start.elapsed() >= Duration::from_millis(250), "returned after {:?}", start.elapsed());
    assert_eq!(setpoint.get().await.unwrap(), 4.25);
}

#[tokio::test]
async fn a_put_complete_write_finishes_when_the_ioc_has_processed_it() {
    let ioc = Ioc::soft();
    let slow = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow").with_put_complete(true);
    slow.connect(&transport()).await.unwrap();
    let start = Instant::now();
    let status = slow.set(2.0);
    assert!(!status.done());
    status.wait(TIMEOUT).await.unwrap();
    let took = start.elapsed();
    // Processing waits 0.5 s (the calcout's ODLY) before it completes.
    assert!(took >= Duration::from_millis(450), "completed after {took:?}");

    let plain = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow");
    plain.connect(&transport()).await.unwrap();
    let start = Instant::now();
    plain.put(3.0).await.unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(400), "a plain put does not wait for processing: {took:?}");
}

#[tokio::test]
async fn a_pending_put_completion_does_not_hold_up_reads_of_the_same_pv() {
    let ioc = Ioc::soft();
    let slow = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow").with_put_complete(true);
    slow.connect(&transport()).await.unwrap();
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

#[tokio::test]
async fn a_put_complete_write_in_flight_fails_when_its_signal_is_dropped() {
    let ioc = Ioc::soft();
    let slow = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow").with_put_complete(true);
    slow.connect(&transport()).await.unwrap();
    let status = slow.set(2.0);
    assert!(!status.done(), "the IOC takes 0.5 s to complete it");
    drop(slow);
    fails_as_closed(status, &ioc.pv("slow")).await;
}

#[tokio::test]
async fn a_put_complete_write_in_flight_fails_when_its_signal_connects_again() {
    let ioc = Ioc::soft();
    let slow = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow").with_put_complete(true);
    slow.connect(&transport()).await.unwrap();
    let status = slow.set(2.0);
    assert!(!status.done(), "the IOC takes 0.5 s to complete it");
    slow.connect(&transport()).await.unwrap();
    fails_as_closed(status, &ioc.pv("slow")).await;
    // The new channel works.
    slow.set(3.0).wait(TIMEOUT).await.unwrap();
    assert_eq!(slow.get().await.unwrap(), 3.0);
}

#[tokio::test]
async fn a_put_without_write_access_is_refused_before_it_is_sent() {
    let ioc = Ioc::soft();
    for put_complete in [false, true] {
        let readonly = EpicsSignal::<f64>::new(&ioc.pv("readonly"), "readonly").with_put_complete(put_complete);
        readonly.connect(&transport()).await.unwrap();
        let start = Instant::now();
        match readonly.put(5.0).await.unwrap_err() {
            // libca knows the access rights: nothing is sent, so staging
            // knows the PV kept its value.
            Error::NotSent { pv, reason, .. } => {
                assert_eq!(pv, ioc.pv("readonly"));
                assert_eq!(reason, "Write access denied");
            }
            other => panic!("expected a put refused before sending, got {other}"),
        }
        assert!(start.elapsed() < Duration::from_millis(200), "refused at once");
        assert_eq!(readonly.get().await.unwrap(), 3.25);
    }
}

#[tokio::test]
async fn readings_carry_the_iocs_timestamp_and_alarm_severity() {
    let ioc = Ioc::soft();
    let dev = connected(EveryType::new(ioc.device_prefix(), "dev")).await;
    for (value, severity) in [(8.5, 1), (9.5, 2), (1.0, 0)] {
        dev.double.put(value).await.unwrap();
        let reading = dev.read().await.unwrap();
        let double = reading.get("dev_double").unwrap();
        assert_eq!(double.value, Value::Float(value));
        assert_eq!(double.alarm_severity, Some(severity), "severity at {value}");
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!((double.timestamp - now).abs() < 5.0, "the IOC's time, in Unix seconds: {}", double.timestamp);
    }
}

#[tokio::test]
async fn subscriptions_deliver_the_current_value_then_every_change() {
    let ioc = Ioc::soft();
    let double = signal::<f64>(&ioc, "double").await;
    let (sender, changes) = mpsc::channel();
    let subscription = double.subscribe(move |value, _| sender.send(*value).unwrap()).unwrap();
    assert_eq!(changes.recv_timeout(TIMEOUT).expect("the current value"), 1.5);
    for value in [2.0, 3.0, 4.0] {
        double.put(value).await.unwrap();
        assert_eq!(changes.recv_timeout(TIMEOUT).expect("a monitor event"), value);
    }
    drop(subscription);
    double.put(5.0).await.unwrap();
    double.get().await.unwrap();
    assert!(changes.recv_timeout(Duration::from_millis(300)).is_err(), "no events after the subscription ends");
}

#[tokio::test]
async fn subscriptions_follow_a_record_that_changes_by_itself() {
    let ioc = Ioc::soft();
    let counter = EpicsSignalRO::<f64>::new(&ioc.pv("counter"), "counter");
    counter.connect(&transport()).await.unwrap();
    let (sender, changes) = mpsc::channel();
    let _subscription = counter.subscribe(move |value, timestamp| sender.send((*value, timestamp)).unwrap()).unwrap();
    let seen: Vec<(f64, f64)> = (0..4).map(|_| changes.recv_timeout(TIMEOUT).expect("a monitor event")).collect();
    for pair in seen.windows(2) {
        assert!(pair[1].0 > pair[0].0 && pair[1].1 > pair[0].1, "counting up: {seen:?}");
    }
}

#[tokio::test]
async fn losing_the_ioc_fails_operations_at_once_and_its_return_restores_them() {
    let mut ioc = Ioc::soft();
    let dev = connected(EveryType::new(ioc.device_prefix(), "dev")).await;
    let slow = EpicsSignal::<f64>::new(&ioc.pv("slow"), "slow").with_put_complete(true);
    slow.connect(&transport()).await.unwrap();
    let (sender, changes) = mpsc::channel();
    let _subscription = dev.double.subscribe(move |value, _| sender.send(*value).unwrap()).unwrap();
    assert_eq!(changes.recv_timeout(TIMEOUT).unwrap(), 1.5);

    let in_flight = slow.set(1.0);
    ioc.stop();
    let start = Instant::now();
    match in_flight.wait(TIMEOUT).await.unwrap_err() {
        Error::Disconnected { pv, .. } => assert_eq!(pv, ioc.pv("slow")),
        other => panic!("a put in flight fails as disconnected, not with {other}"),
    }
    assert!(start.elapsed() < Duration::from_secs(2), "in-flight put failed after {:?}", start.elapsed());
    eventually(TIMEOUT, "noticing the lost IOC", || !dev.double.connected()).await;

    let start = Instant::now();
    match dev.double.get().await.unwrap_err() {
        Error::Disconnected { pv, .. } => assert_eq!(pv, ioc.pv("double")),
        other => panic!("expected a disconnection, got {other}"),
    }
    assert!(matches!(dev.double.put(2.0).await.unwrap_err(), Error::Disconnected { .. }));
    let err = dev.read().await.unwrap_err();
    assert!(matches!(err, Error::Disconnected { .. }), "read() of the device: {err}");
    assert!(err.to_string().contains(&ioc.pv("double")), "the error names the PV: {err}");
    assert!(start.elapsed() < Duration::from_millis(500), "operations fail at once: {:?}", start.elapsed());

    ioc.restart().unwrap();
    eventually(Duration::from_secs(30), "reconnecting to the restarted IOC", || dev.double.connected()).await;
    assert_eq!(dev.double.get().await.unwrap(), 1.5, "the restarted IOC's value");
    dev.double.put(6.5).await.unwrap();
    assert_eq!(dev.double.get().await.unwrap(), 6.5);
    let mut resumed = Vec::new();
    while resumed.last() != Some(&6.5) {
        match changes.recv_timeout(TIMEOUT) {
            Ok(value) => resumed.push(value),
            Err(_) => panic!("the subscription lives on through the restart, but saw only {resumed:?}"),
        }
    }
}

/// How many libca client contexts of this process have searched for a PV:
/// each runs one thread named `CAC-UDP` until it is destroyed.
fn libca_contexts() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "CAC-UDP")
        .count()
}

#[test]
fn a_status_that_outlives_its_signal_and_transport_finishes_and_the_context_goes_away() {
    let ioc = Ioc::soft();
    let pv = ioc.pv("counter");
    // The process's shared context searches once, so that it is counted
    // before the baseline is taken (no other test creates a context).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(signal::<f64>(&ioc, "double"));
    let contexts = libca_contexts();

    // On a thread of its own: a libca thread waiting for itself would hang
    // this test instead of failing it.
    let (finished, outcome) = mpsc::channel();
    let (torn_down, after_teardown) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = runtime.block_on(async {
            let transport = CaTransport::new().expect("a CA client context").into_transport();
            let counter = EpicsSignalRO::<f64>::new(&pv, "counter");
            tokio::time::timeout(TIMEOUT, counter.connect(&transport)).await.expect("connect in time")?;
            let start = counter.get().await?;
            // The counter counts up by itself; the status's subscription
            // holds the last handles to the channel and the context, and
            // lets them go inside libca's monitor callback.
            let status = Status::when(&counter, move |value| *value >= start + 3.0);
            // Runs after the status's own callback, which drops the subscription.
            status.add_callback(move |_| {
                let _ = torn_down.send(());
            });
            drop(counter);
            drop(transport);
            status.wait(TIMEOUT).await
        });
        finished.send(result).ok();
    });
    let result = outcome.recv_timeout(2 * TIMEOUT).expect("the status finished");
    result.expect("the status succeeded");
    after_teardown
        .recv_timeout(TIMEOUT)
        .expect("the libca thread that let go of the context came back (and ran the status's next callback)");
    let start = Instant::now();
    while libca_contexts() > contexts {
        assert!(start.elapsed() < TIMEOUT, "the dropped transport's libca context was never destroyed");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(libca_contexts(), contexts);
}

// --- The staging tutorial on its own IOC ------------------------------------

async fn tutorial_detector(ioc: &Ioc, exposure: f64) -> TriggeredDetector {
    let det = connected(TriggeredDetector::new(ioc.device_prefix(), TUTORIAL_NAME)).await;
    set_and_wait(&det.exposure_time, exposure).await.unwrap();
    det
}

#[tokio::test]
async fn the_tutorial_session_on_its_own_ioc_matches_python_ophyd_field_for_field() {
    let ioc = Ioc::trigger_with_pc();
    let det = tutorial_detector(&ioc, 0.05).await;
    let report = session::run(&det, &det.enabled, |_| {}).await.unwrap();
    let ours = serde_json::to_value(&report).unwrap();
    // The reference ran on the IOC's default prefix.
    let reference = REFERENCE.replace(&format!("PV:{TUTORIAL_PREFIX}:"), &format!("PV:{}", ioc.prefix()));
    let reference: Json = serde_json::from_str(&reference).unwrap();
    for (field, expected) in reference.as_object().unwrap() {
        assert_eq!(&ours[field], expected, "field `{field}` differs from Python ophyd's");
    }
}

#[tokio::test]
async fn trigger_finishes_when_the_ioc_completes_the_acquisition() {
    let ioc = Ioc::trigger_with_pc();
    let det = tutorial_detector(&ioc, 0.3).await;
    let before = det.read().await.unwrap().get("triggered_detector_reading").unwrap().clone();
    let start = Instant::now();
    let status = det.trigger();
    assert!(!status.done(), "an acquisition of 0.3 s is not done at once");
    status.wait(TIMEOUT).await.unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(290), "completed after {took:?}");
    assert_eq!(det.acquire.get().await.unwrap(), Enum::Index(0), "idle again");
    let after = det.read().await.unwrap().get("triggered_detector_reading").unwrap().clone();
    assert!(after.timestamp > before.timestamp, "a new reading: {before:?} then {after:?}");
}

#[tokio::test]
async fn trigger_while_disabled_is_refused_with_the_iocs_answer() {
    let ioc = Ioc::trigger_with_pc();
    let det = tutorial_detector(&ioc, 0.05).await;
    set_and_wait(&det.enabled, "off").await.unwrap();
    let start = Instant::now();
    let err = det.trigger().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1), "refused at once");
    match &err {
        Error::Put { pv, reason, .. } => {
            assert_eq!(pv, &ioc.pv("acquire"));
            assert_eq!(reason, "Channel write request failed", "libca's text for the IOC's ECA_PUTFAIL");
        }
        other => panic!("expected a refused put, got {other}"),
    }
}

#[tokio::test]
async fn the_transport_describes_itself_as_channel_access() {
    assert_eq!(transport().describe(), "Channel Access");
}

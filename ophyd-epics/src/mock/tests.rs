use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ophyd_core::prelude::*;
use ophyd_core::{Error, Value};

use super::*;
use crate::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, PvInfo};

/// One signal of every kind of value, read-only or not.
#[derive(Device)]
struct Everything {
    #[component(suffix = ":double")]
    double: EpicsSignal<f64>,
    #[component(suffix = ":single")]
    single: EpicsSignal<f32>,
    #[component(suffix = ":long")]
    long: EpicsSignalRO<i32>,
    #[component(suffix = ":short")]
    short: EpicsSignal<i16>,
    #[component(suffix = ":text")]
    text: EpicsSignal<String>,
    #[component(suffix = ":choice")]
    choice: EpicsSignal<Enum>,
    #[component(suffix = ":trace")]
    trace: EpicsSignalRO<Vec<f64>>,
    #[component(suffix = ":counts")]
    counts: EpicsSignal<Vec<i32>>,
    #[component(suffix = ":time", kind = "config")]
    time: EpicsSignalWithRbv<f64>,
}

async fn connected() -> (MockIoc, Everything) {
    let mock = MockIoc::new();
    let device = Everything::new("X", "x");
    device.connect(&mock.transport()).await.unwrap();
    (mock, device)
}

async fn channel(mock: &MockIoc, pv: &str) -> Arc<dyn PvChannel> {
    mock.ioc().transport().connect(pv).await.unwrap()
}

#[tokio::test]
async fn every_pv_is_made_from_its_signals_declaration_at_zero() {
    let (mock, x) = connected().await;
    let info = |native, count| PvInfo { native, count };
    for (pv, expected) in [
        ("X:double", info(NativeType::Double, 1)),
        ("X:single", info(NativeType::Float, 1)),
        ("X:long", info(NativeType::Long, 1)),
        ("X:short", info(NativeType::Short, 1)),
        ("X:text", info(NativeType::String, 1)),
        ("X:choice", info(NativeType::Enum, 1)),
        ("X:trace", info(NativeType::Double, MOCK_ARRAY_CAPACITY)),
        ("X:counts", info(NativeType::Long, MOCK_ARRAY_CAPACITY)),
        ("X:time", info(NativeType::Double, 1)),
        ("X:time_RBV", info(NativeType::Double, 1)),
    ] {
        assert_eq!(channel(&mock, pv).await.info(), expected, "{pv}");
    }
    assert_eq!(mock.ioc().pv_names().len(), 10, "no other PV: {:?}", mock.ioc().pv_names());
    assert_eq!(
        (x.double.get().await.unwrap(), x.long.get().await.unwrap(), x.text.get().await.unwrap()),
        (0.0, 0, String::new())
    );
    assert_eq!((x.choice.get().await.unwrap(), x.trace.get().await.unwrap()), (Enum::Index(0), vec![]));
    let described = x.describe().await.unwrap();
    let choice = described.get("x_choice").unwrap();
    assert_eq!((choice.enum_strs.as_deref(), &choice.units), (Some(&[][..]), &Some(None)));
    assert_eq!(described.get("x_trace").unwrap().shape, [0], "an array's shape is its length");
}

#[tokio::test]
async fn a_read_only_signals_pv_refuses_client_writes_unless_a_signal_writes_it() {
    let (mock, _x) = connected().await;
    let refused = channel(&mock, "X:long").await.put(Value::Int(3), false).await;
    assert_eq!(refused, Err(PvError::Refused("no write access".into())));
    let long = EpicsSignal::<i32>::new("X:long", "long");
    long.connect(&mock.transport()).await.unwrap();
    long.put(3).await.unwrap();
    assert_eq!(mock.value(&long), 3);
}

#[tokio::test]
async fn a_read_back_follows_its_setpoint_and_a_set_value_reaches_both() {
    let (mock, x) = connected().await;
    set_and_wait(&x.time, 0.25).await.unwrap();
    assert_eq!(mock.ioc().get("X:time_RBV"), Some(Value::Float(0.25)));
    mock.set(&x.time, 2.0);
    assert_eq!((mock.ioc().get("X:time"), x.time.get().await.unwrap()), (Some(Value::Float(2.0)), 2.0));
    assert!(mock.puts(&x.time) == [0.25], "only the client's put is recorded");
}

#[tokio::test]
async fn puts_are_recorded_in_order_as_the_ioc_received_them_and_can_be_cleared() {
    let (mock, x) = connected().await;
    x.double.put(1.5).await.unwrap();
    x.double.put(-2.0).await.unwrap();
    x.counts.put(vec![1, 2, 3]).await.unwrap();
    mock.set_enum_strings(&x.choice, &["off", "on"]);
    x.choice.put("on").await.unwrap();
    assert_eq!(mock.puts(&x.double), [1.5, -2.0]);
    assert_eq!(mock.puts(&x.counts), [vec![1, 2, 3]]);
    assert_eq!(mock.puts(&x.choice), [Enum::Index(1)], "a label arrives as its index");
    mock.clear_puts(&x.double);
    x.double.put(7.0).await.unwrap();
    assert_eq!(mock.puts(&x.double), [7.0]);
}

#[tokio::test]
async fn a_value_set_before_connecting_is_the_starting_value() {
    let mock = MockIoc::new();
    let x = Everything::new("X", "x");
    mock.set(&x.double, 4.5);
    mock.set(&x.trace, vec![1.0, 2.0]);
    x.connect(&mock.transport()).await.unwrap();
    assert_eq!((x.double.get().await.unwrap(), x.trace.get().await.unwrap()), (4.5, vec![1.0, 2.0]));
}

#[tokio::test]
async fn subscribers_see_a_value_the_test_sets() {
    let (mock, x) = connected().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let _subscription = x.long.subscribe(move |value, _| kept.lock().unwrap().push(*value)).unwrap();
    mock.set(&x.long, 5);
    mock.set(&x.long, 6);
    assert_eq!(*seen.lock().unwrap(), [0, 5, 6]);
}

#[tokio::test]
async fn a_put_callback_runs_before_the_put_completes_and_sees_the_typed_value() {
    let (mock, x) = connected().await;
    let (long, calls) = (mock.pv(&x.long), Arc::new(AtomicUsize::new(0)));
    let counted = calls.clone();
    mock.on_put(&x.double, move |value| {
        counted.fetch_add(1, Ordering::SeqCst);
        long.set(*value as i32 * 10);
    });
    x.double.put(4.0).await.unwrap();
    assert_eq!((x.long.get().await.unwrap(), calls.load(Ordering::SeqCst)), (40, 1));
    mock.set(&x.double, 5.0);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a value the IOC sets is not a put");
    mock.on_put(&x.double, |_| {});
    x.double.put(6.0).await.unwrap();
    assert_eq!(x.long.get().await.unwrap(), 40, "the new callback replaced the old");
}

#[tokio::test]
async fn a_callback_may_make_a_read_back_differ_from_its_setpoint() {
    let (mock, x) = connected().await;
    let time = mock.pv(&x.time);
    mock.on_put(&x.time, move |t| time.set(t.min(1.0)));
    x.time.put(3.0).await.unwrap();
    assert_eq!((mock.ioc().get("X:time"), x.time.get().await.unwrap()), (Some(Value::Float(3.0)), 1.0));
}

#[tokio::test(start_paused = true)]
async fn a_held_put_completes_when_released_dropped_or_failed() {
    let (mock, _x) = connected().await;
    let acquire = EpicsSignal::<f64>::new("X:double", "acquire").with_put_complete(true);
    acquire.connect(&mock.transport()).await.unwrap();

    let hold = mock.hold_puts(&acquire);
    let status = acquire.set(1.0);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(!status.done());
    assert_eq!(mock.value(&acquire), 1.0, "the value is stored at once; only the completion waits");
    hold.release();
    status.await.unwrap();

    let hold = mock.hold_puts(&acquire);
    let status = acquire.set(2.0);
    drop(hold);
    status.await.unwrap();

    let hold = mock.hold_puts(&acquire);
    let (first, second) = (acquire.set(3.0), acquire.set(4.0));
    hold.fail("aborted");
    for status in [first, second] {
        let err = status.await.unwrap_err();
        assert!(matches!(&err, Error::Put { pv, reason, .. } if pv == "X:double" && reason == "aborted"), "{err}");
    }
    acquire.set(5.0).await.expect("puts after the hold are not held");
}

#[tokio::test(start_paused = true)]
async fn a_held_put_times_out_on_the_paused_clock_at_once() {
    let (mock, x) = connected().await;
    let acquire = EpicsSignal::<f64>::new("X:double", "acquire").with_put_complete(true);
    acquire.connect(&mock.transport()).await.unwrap();
    let _hold = mock.hold_puts(&acquire);
    let started = std::time::Instant::now();
    let err = acquire.set(1.0).await.unwrap_err();
    assert_eq!(err, Error::Timeout { what: "put of 1 to `acquire` (X:double)".into(), after: Duration::from_secs(60) });
    assert!(started.elapsed() < Duration::from_secs(30), "the paused clock, not real time, ran the 60 s");
    x.double.put(2.0).await.expect("a write without put-complete does not wait for the hold");
}

#[tokio::test]
async fn an_enum_without_strings_takes_indexes_0_to_15_and_a_label_the_test_sets_becomes_a_string() {
    let (mock, x) = connected().await;
    x.choice.put(15).await.unwrap();
    let err = x.choice.put(16).await.unwrap_err();
    assert!(err.to_string().contains("takes 0 to 15"), "{err}");
    mock.set(&x.choice, "idle");
    mock.set(&x.choice, "busy");
    assert_eq!((x.choice.get().await.unwrap(), x.choice.get_label().await.unwrap()), (Enum::Index(1), "busy".into()));
    x.choice.put("idle").await.unwrap();
    assert_eq!(mock.value(&x.choice), Enum::Index(0));
    let err = x.choice.put("bsy").await.unwrap_err();
    assert!(err.to_string().contains(r#"not one of the PV's enum strings ["idle", "busy"]"#), "{err}");
}

#[tokio::test]
async fn a_disconnected_signal_fails_naming_its_pv_until_reconnected() {
    let (mock, x) = connected().await;
    mock.disconnect(&x.time);
    let err = x.time.get().await.unwrap_err();
    assert_eq!(err, Error::Disconnected { signal: "x_time".into(), pv: "X:time_RBV".into() });
    assert!(matches!(x.time.put(1.0).await, Err(Error::Disconnected { pv, .. }) if pv == "X:time"));
    mock.reconnect(&x.time);
    x.time.put(1.0).await.unwrap();
    assert_eq!(x.time.get().await.unwrap(), 1.0);
}

#[tokio::test]
async fn units_and_precision_set_by_the_test_are_described() {
    let (mock, x) = connected().await;
    let time = mock.pv(&x.time);
    time.set_units("s");
    time.set_precision(3);
    let key = x.describe_configuration().await.unwrap().get("x_time").cloned().unwrap();
    assert_eq!((key.units, key.precision), (Some(Some("s".into())), Some(3)));
}

#[tokio::test]
async fn signals_of_two_types_on_one_pv_fail_to_connect_as_on_a_real_ioc() {
    let mock = MockIoc::new();
    EpicsSignal::<f64>::new("X:gain", "gain").connect(&mock.transport()).await.unwrap();
    let err = EpicsSignal::<String>::new("X:gain", "name").connect(&mock.transport()).await.unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
}

#[tokio::test]
async fn a_pv_asked_for_without_a_declaration_is_refused_saying_why() {
    let mock = MockIoc::new();
    let err = mock.transport().connect("X:nothing").await.err().unwrap();
    assert!(err.to_string().contains("X:nothing was asked for without a declaration"), "{err}");
}

#[tokio::test]
#[should_panic(expected = "`gain`'s PV X:gain was added to the simulated IOC by hand")]
async fn the_helpers_refuse_a_pv_added_by_hand() {
    let mock = MockIoc::new();
    mock.ioc().add(crate::sim::PvSpec::double("X:gain", 1.0));
    let gain = EpicsSignal::<f64>::new("X:gain", "gain");
    gain.connect(&mock.transport()).await.unwrap();
    assert_eq!(gain.get().await.unwrap(), 1.0, "served as added");
    mock.puts(&gain);
}

#[test]
#[should_panic(expected = "the mock cannot set `x_choice` (X:choice) to 20")]
fn setting_a_value_the_pv_cannot_take_panics_naming_signal_and_pv() {
    let mock = MockIoc::new();
    let x = Everything::new("X", "x");
    mock.set(&x.choice, 20u16);
}

#[test]
#[should_panic(expected = "the mock IOC of `x_double` is gone")]
fn a_handle_outliving_its_mock_says_so() {
    let x = Everything::new("X", "x");
    let double = MockIoc::new().pv(&x.double);
    double.set(1.0);
}

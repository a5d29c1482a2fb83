//! Parity with Python ophyd 1.11: the same devices, declared in both, on the
//! same running IOCs, report the same data keys, sources, dtypes, shapes,
//! units, precisions, limits, enum strings, hints and attribute lists, and
//! stage the same way; `EpicsMotor` (the `motor` example) moves, reads and
//! describes as ophyd's does on caproto's motor record simulation. Python
//! ophyd runs from the project's venv (`tests/python/ophyd_reference.py`).
#![cfg(feature = "ca")]

use std::time::Duration;

use examples::{session, TriggeredDetector, TUTORIAL_NAME};
use ophyd_core::prelude::*;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, Transport};
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::parity::{assert_same, report, COMMON};
use ophyd_tests::venv;
use serde_json::{json, Value as Json};

/// One component per value type of `tests/iocs/soft.db`, as in the Python script.
#[derive(Device)]
struct EveryType {
    #[component(suffix = ":double", kind = "hinted")]
    double: EpicsSignal<f64>,
    #[component(suffix = ":float")]
    float: EpicsSignal<f32>,
    #[component(suffix = ":long", kind = "config")]
    long: EpicsSignal<i32>,
    #[component(suffix = ":short")]
    short: EpicsSignal<i16>,
    #[component(suffix = ":char")]
    char: EpicsSignal<u8>,
    #[component(suffix = ":string", kind = "config")]
    string: EpicsSignal<String>,
    #[component(suffix = ":mbbo", kind = "config")]
    mbbo: EpicsSignal<Enum>,
    #[component(suffix = ":bo")]
    bo: EpicsSignal<Enum>,
    #[component(suffix = ":doubles")]
    doubles: EpicsSignalRO<Vec<f64>>,
    #[component(suffix = ":longs")]
    longs: EpicsSignalRO<Vec<i32>>,
    #[component(suffix = ":strings", kind = "omitted")]
    strings: EpicsSignalRO<Vec<String>>,
    #[component(suffix = ":setpoint", kind = "hinted")]
    setpoint: EpicsSignalWithRbv<f64>,
    #[component(suffix = ":readonly", kind = "config")]
    readonly: EpicsSignalRO<f64>,
}

/// The innermost level of [`Nested`].
#[derive(Device)]
struct Carriage {
    #[component(suffix = ":readonly", kind = "hinted")]
    readback: EpicsSignalRO<f64>,
    #[component(suffix = ":mbbo", kind = "config")]
    mode: EpicsSignal<Enum>,
}

/// The middle level of [`Nested`]: a signal, a sub-device, a signal.
#[derive(Device)]
struct Axis {
    #[component(suffix = ":setpoint")]
    setpoint: EpicsSignalWithRbv<f64>,
    #[component]
    carriage: Carriage,
    #[component(suffix = ":string", kind = "config")]
    label: EpicsSignal<String>,
}

/// Signals around and between sub-devices, every kind at every level: the
/// order of the keys is the order a tree is walked in, though its reads
/// all go out together and come back in any order.
#[derive(Device)]
struct Nested {
    #[component(suffix = ":double", kind = "hinted")]
    first: EpicsSignal<f64>,
    #[component]
    x: Axis,
    #[component(suffix = ":long", kind = "config")]
    gain: EpicsSignal<i32>,
    #[component(kind = "config")]
    y: Axis,
    #[component(suffix = ":short")]
    last: EpicsSignal<i16>,
}

fn transport() -> Transport {
    ioc::ca_transport()
}

/// What Python ophyd reports for `kind` on the IOC with `prefix`.
fn python_ophyd(kind: &str, prefix: &str) -> Json {
    venv::python_json("ophyd_reference.py", [kind, prefix])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_detector_on_its_own_ioc_matches_python_ophyd() {
    let ioc = Ioc::trigger_with_pc();
    let python = python_ophyd("tutorial", ioc.device_prefix());

    let det = TriggeredDetector::new(ioc.device_prefix(), TUTORIAL_NAME);
    det.connect_timeout(&transport(), Duration::from_secs(10)).await.unwrap();
    det.exposure_time.put(0.05).await.unwrap();
    let report = serde_json::to_value(session::run(&det, &det.enabled, |_| {}).await.unwrap()).unwrap();
    assert_same(&python, &report, &COMMON);
    assert_same(
        &python,
        &report,
        &[
            "enabled_before_stage",
            "enabled_after_stage",
            "stage_twice",
            "enabled_after_unstage",
            "enabled_after_second_unstage",
        ],
    );
    assert_eq!(
        (&report["enabled_before_stage"], &report["enabled_after_stage"], &report["enabled_after_unstage"]),
        (&json!(0), &json!(1), &json!(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_type_on_the_soft_ioc_describes_as_python_ophyd_does() {
    let ioc = Ioc::soft();
    let python = python_ophyd("soft", ioc.device_prefix());
    let dev = EveryType::new(ioc.device_prefix(), "every");
    dev.connect_timeout(&transport(), Duration::from_secs(10)).await.unwrap();
    let rust = report(&dev).await;
    let mut python = python;
    // The one deliberate difference: the CHAR PV's HOPR is 255, and DBR_CHAR
    // is unsigned (`epicsUInt8`), but pyepics reads its control limits as a
    // signed byte and reports -1. ophyd-rs reports 255.
    assert_eq!(python["describe"]["every_char"]["upper_ctrl_limit"], json!(-1), "pyepics' signed-char limit");
    assert_eq!(rust["describe"]["every_char"]["upper_ctrl_limit"], json!(255));
    python["describe"]["every_char"]["upper_ctrl_limit"] = json!(255);
    assert_same(&python, &rust, &COMMON);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_tree_reads_and_describes_in_python_ophyds_order() {
    let ioc = Ioc::soft();
    let python = python_ophyd("nested", ioc.device_prefix());
    let dev = Nested::new(ioc.device_prefix(), "nested");
    dev.connect_timeout(&transport(), Duration::from_secs(10)).await.unwrap();
    let rust = report(&dev).await;
    assert_same(&python, &rust, &COMMON);
    let keys = |doc: &Json| doc.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for field in ["describe", "describe_configuration"] {
        assert_eq!(keys(&rust[field]), keys(&python[field]), "the order of `{field}`'s keys");
    }

    // configure(): the same old and new configuration as Python's (which
    // put everything back before this ran).
    let configured = dev.configure(&[("gain", 5.into()), ("y.label", "configured".into())]).await.unwrap();
    let rust = json!({
        "old": values(&serde_json::to_value(&configured.old).unwrap()),
        "new": values(&serde_json::to_value(&configured.new).unwrap()),
    });
    assert_eq!(rust, python["configure"], "configure()'s (old, new) differs from Python ophyd's");
}

/// Each reading's value, without the timestamps (which the two runs cannot share).
fn values(readings: &Json) -> Json {
    readings.as_object().unwrap().iter().map(|(key, reading)| (key.clone(), reading["value"].clone())).collect()
}

/// The `motor` example, as a user runs it (cargo builds it next to the tests).
fn motor_example(pv: &str) -> Json {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let program = deps.parent().unwrap().join("examples").join("motor");
    assert!(program.exists(), "build the examples first: cargo build -p examples --features ca --examples");
    let out = std::process::Command::new(program).args(["--ca", pv, "--json"]).output().unwrap();
    assert!(out.status.success(), "the motor example failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn the_motor_example_moves_reads_and_describes_as_python_ophyds_epics_motor_and_refuses_what_it_would_not() {
    ioc::ca_client_environment();
    let ioc = Ioc::fake_motor_record();
    let pv = ioc.pv("mtr1");
    let python = python_ophyd("motor", &pv);
    // Python moved the motor to 2.5 already: the example moves it again, to
    // where it is, and must still report the same.
    let rust = motor_example(&pv);
    for field in ["describe", "describe_configuration", "hints", "position"] {
        assert_eq!(rust[field], python[field], "`{field}` differs from Python ophyd's (left: ophyd-rs, right: Python)");
    }
    for field in ["read", "read_configuration"] {
        let keys = |doc: &Json| doc[field].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&rust), keys(&python), "the keys of `{field}`");
        assert_eq!(values(&rust[field]), values(&python[field]), "the values of `{field}`");
    }
    assert_eq!(python["position"], json!(2.5));
    // The one deliberate difference: ophyd checks the setpoint's control
    // limits, which this IOC leaves at 0..0 (none), and would drive to 20;
    // ophyd-rs checks the record's user limits, 0..10, and refuses.
    assert_eq!(python["limit_error"], Json::Null);
    assert_eq!(rust["limit_error"]["name"], "LimitError");
    let message = rust["limit_error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot move to 20: outside its user limits [0, 10]"), "{message}");
}

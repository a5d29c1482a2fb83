//! What only the Channel Access transport has, against EPICS base's soft IOC
//! (`iocs/soft.db`) on loopback: bytes that are not UTF-8, libca's refusal of
//! empty arrays, and the lifetime of libca's client contexts. What EPICS
//! signals do on either transport is in `behaviour.rs`.
//!
//! Needs the `ca` feature and the project's Python environment
//! (`scripts/setup-venv.sh`); see `ophyd_tests::ioc` for how the IOCs and
//! the one CA client of this process share the loopback network.
#![cfg(feature = "ca")]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use ophyd_core::prelude::*;
use ophyd_core::{Error, Value};
use ophyd_epics::ca::CaTransport;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, Transport};
use ophyd_tests::ioc::{self, Ioc};
use ophyd_tests::venv;

/// Generous bound for things that take milliseconds on loopback.
const TIMEOUT: Duration = Duration::from_secs(10);

fn transport() -> Transport {
    ioc::ca_transport()
}

async fn signal<T: ophyd_epics::EpicsValue>(ioc: &Ioc, name: &str) -> EpicsSignal<T> {
    let signal = EpicsSignal::<T>::new(&ioc.pv(name), name);
    tokio::time::timeout(TIMEOUT, signal.connect(&transport())).await.expect("connect in time").expect("connect");
    signal
}

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

#[tokio::test]
async fn the_transport_describes_itself_as_channel_access() {
    assert_eq!(transport().describe(), "Channel Access");
}

#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Foundation benchmarks (DESIGN.md, "Speed"):
//!
//! - `read()` of a 10-signal device on soft signals (target: under 0.5 µs;
//!   Python ophyd 1.11: 42 µs), and its `describe()` (target: under 1 µs);
//! - `stage()` + `unstage()` of a device with one `stage_sigs` entry on the
//!   simulated IOC (target: under 250 µs; Python ophyd 1.11 on a real IOC:
//!   1657 µs).
//!
//! Run: `cargo bench -p ophyd-tests --bench device`.

use criterion::{criterion_group, criterion_main, Criterion};
use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_epics::sim::SimIoc;
use ophyd_epics::EpicsSignal;

#[derive(Device)]
struct TenSignals {
    #[component]
    s0: SoftSignal<f64>,
    #[component]
    s1: SoftSignal<f64>,
    #[component]
    s2: SoftSignal<f64>,
    #[component]
    s3: SoftSignal<f64>,
    #[component]
    s4: SoftSignal<f64>,
    #[component]
    s5: SoftSignal<f64>,
    #[component]
    s6: SoftSignal<f64>,
    #[component]
    s7: SoftSignal<f64>,
    #[component]
    s8: SoftSignal<f64>,
    #[component]
    s9: SoftSignal<f64>,
}

#[derive(Device)]
struct OneStageSig {
    #[component(suffix = ":enabled", kind = "omitted", stage = 1)]
    enabled: EpicsSignal<Enum>,
}

fn read_ten_soft_signals(c: &mut Criterion) {
    let det = TenSignals::new("", "det");
    c.bench_function("read() of a 10-signal device, soft signals", |b| {
        // Soft reads never wait: one poll finishes the future.
        b.iter(|| det.read().now_or_never().expect("soft reads are ready at once").expect("read"))
    });
}

fn describe_ten_soft_signals(c: &mut Criterion) {
    let det = TenSignals::new("", "det");
    c.bench_function("describe() of a 10-signal device, soft signals", |b| {
        b.iter(|| det.describe().now_or_never().expect("soft data keys are ready at once").expect("describe"))
    });
}

fn stage_unstage_one_stage_sig(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let ioc = SimIoc::trigger_with_pc("trigger_with_pc:");
    ioc.write("trigger_with_pc:enabled", 0);
    let det = OneStageSig::new("trigger_with_pc", "det");
    rt.block_on(det.connect(&ioc.transport())).expect("connect");
    c.bench_function("stage()+unstage(), one stage_sig, simulated IOC", |b| {
        b.to_async(&rt).iter(|| async {
            det.stage().await.expect("stage");
            det.unstage().await.expect("unstage");
        })
    });
}

criterion_group!(benches, read_ten_soft_signals, describe_ten_soft_signals, stage_unstage_one_stage_sig);
criterion_main!(benches);

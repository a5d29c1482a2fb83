//! Channel Access benchmarks against EPICS base's soft IOC on loopback, each
//! with the bare epics-ca (libca) loop doing the same work in the same run,
//! interleaved, so the ratio is measured under the same conditions
//! (DESIGN.md, "Speed"):
//!
//! - trigger (put-complete) + read, one cycle: within 10% of bare libca;
//! - connecting 100 devices × 10 PVs: within 20% of bare libca;
//! - stage + unstage of one `stage_sigs` entry: under 250 µs.
//!
//! Run: `cargo bench -p ophyd-tests --features ca --bench ca` (after
//! `scripts/setup-venv.sh`, which provides the soft IOC). Medians are
//! reported; this machine is shared, so read the ratios.

use std::ffi::CString;
use std::time::{Duration, Instant};

use epics_ca::request::Time;
use epics_ca::{Channel, Context};
use ophyd_core::prelude::*;
use ophyd_core::Result;
use ophyd_epics::ca::CaTransport;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, Transport};
use ophyd_tests::ioc::{self, Ioc};

/// A detector whose trigger is a put-complete write and whose reading is
/// another PV.
#[derive(Device)]
#[device(custom(trigger))]
struct Detector {
    #[component(suffix = ":double", kind = "omitted", put_complete)]
    acquire: EpicsSignal<f64>,
    #[component(suffix = ":readonly", kind = "hinted")]
    reading: EpicsSignalRO<f64>,
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        self.acquire.set(1.0)
    }
}

/// Ten PVs of every kind the soft IOC serves.
#[derive(Device)]
struct Ten {
    #[component(suffix = ":double")]
    a: EpicsSignal<f64>,
    #[component(suffix = ":long")]
    b: EpicsSignal<i32>,
    #[component(suffix = ":slow")]
    c: EpicsSignal<f64>,
    #[component(suffix = ":setpoint")]
    d: EpicsSignal<f64>,
    #[component(suffix = ":setpoint_RBV")]
    e: EpicsSignalRO<f64>,
    #[component(suffix = ":readonly")]
    f: EpicsSignalRO<f64>,
    #[component(suffix = ":float")]
    g: EpicsSignal<f32>,
    #[component(suffix = ":short")]
    h: EpicsSignal<i16>,
    #[component(suffix = ":mbbo")]
    i: EpicsSignal<Enum>,
    #[component(suffix = ":string")]
    j: EpicsSignal<String>,
}
const TEN: [&str; 10] =
    ["double", "long", "slow", "setpoint", "setpoint_RBV", "readonly", "float", "short", "mbbo", "string"];

/// A device with one `stage_sigs` entry.
#[derive(Device)]
struct Staged {
    #[component(suffix = ":long", kind = "omitted", stage = 7)]
    value: EpicsSignal<i32>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(work: &str, bare: Vec<Duration>, ours: Vec<Duration>, target: &str) {
    let min = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (bmin, omin) = (min(&bare), min(&ours));
    let (b, o) = (median(bare), median(ours));
    println!(
        "{work:42} bare libca {:>9.1} µs   ophyd-rs {:>9.1} µs   ratio {:.3}   ({target})",
        b.as_secs_f64() * 1e6,
        o.as_secs_f64() * 1e6,
        o.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "{:42} fastest:  {:>9.1} µs             {:>9.1} µs   ratio {:.3}",
        "",
        bmin.as_secs_f64() * 1e6,
        omin.as_secs_f64() * 1e6,
        omin.as_secs_f64() / bmin.as_secs_f64()
    );
}

async fn typed<T: epics_ca::types::Value + ?Sized>(ctx: &Context, pv: &str) -> epics_ca::channel::TypedChannel<T> {
    let mut ch = Channel::new(ctx, &CString::new(pv).unwrap()).unwrap();
    ch.connected().await;
    ch.into_typed::<T>().map_err(|(e, _)| e).unwrap()
}

async fn cycle(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<()> {
    let mut acquire = typed::<f64>(ctx, &format!("{prefix}:double")).await;
    let mut reading = typed::<f64>(ctx, &format!("{prefix}:readonly")).await;
    let det = Detector::new(prefix, "det");
    det.connect(transport).await?;
    let (mut bare, mut ours) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        acquire.put(1.0).unwrap().await.unwrap();
        let r = reading.get::<Time<f64>>().await.unwrap();
        std::hint::black_box(r.value);
        bare.push(t.elapsed());

        let t = Instant::now();
        det.trigger().await?;
        std::hint::black_box(det.read().await?);
        ours.push(t.elapsed());
    }
    report("trigger (put-complete) + read, one cycle", bare, ours, "target: within 10%");
    Ok(())
}

async fn connect(ctx: &Context, transport: &Transport, prefix: &str, rounds: usize) -> Result<()> {
    let pvs: Vec<CString> =
        (0..100).flat_map(|_| TEN.iter().map(|n| CString::new(format!("{prefix}:{n}")).unwrap())).collect();
    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let t = Instant::now();
            if which == 0 {
                let mut channels: Vec<Channel> = pvs.iter().map(|pv| Channel::new(ctx, pv).unwrap()).collect();
                futures::future::join_all(channels.iter_mut().map(|c| c.connected())).await;
                bare.push(t.elapsed());
            } else {
                let devices: Vec<Ten> = (0..100).map(|i| Ten::new(prefix, &format!("d{i}"))).collect();
                let connects = devices.iter().map(|d| d.connect_timeout(transport, Duration::from_secs(10)));
                for outcome in futures::future::join_all(connects).await {
                    outcome?;
                }
                ours.push(t.elapsed());
            }
        }
    }
    report("connect 100 devices x 10 PVs", bare, ours, "target: within 20%");
    Ok(())
}

async fn stage(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<()> {
    let mut value = typed::<i32>(ctx, &format!("{prefix}:long")).await;
    let det = Staged::new(prefix, "det");
    det.connect(transport).await?;
    let (mut bare, mut ours) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        // Bare: read the original, write 7 and read it back, put the original back and read it back.
        let t = Instant::now();
        let original = value.get::<Time<i32>>().await.unwrap().value;
        value.put(7).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, 7);
        value.put(original).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, original);
        bare.push(t.elapsed());

        let t = Instant::now();
        det.stage().await?;
        det.unstage().await?;
        ours.push(t.elapsed());
    }
    report("stage + unstage, one stage_sig", bare, ours, "target: under 250 µs");
    Ok(())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    ioc::ca_client_environment();
    let soft = Ioc::soft();
    let prefix = soft.device_prefix().to_owned();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx = Context::new().unwrap();
        let transport = CaTransport::new().unwrap().into_transport();
        cycle(&ctx, &transport, &prefix, 3000).await.unwrap();
        connect(&ctx, &transport, &prefix, 41).await.unwrap();
        stage(&ctx, &transport, &prefix, 2000).await.unwrap();
    });
}

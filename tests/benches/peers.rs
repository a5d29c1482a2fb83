//! ophyd-rs and its peers in one table, against one EPICS base soft IOC on
//! loopback (`iocs/soft.db`, and `iocs/block.db` loaded as `b0` … `b99`):
//! Python ophyd 1.11 (pyepics) and ophyd-async (aioca), each run as a child
//! process (`python/peers.py`, on the project's venv), the bare epics-ca
//! (libca) loop, and ophyd-rs, interleaved with the bare loop as
//! `benches/ca.rs` does. The work:
//!
//! - trigger (put-complete) + read, one cycle;
//! - stage + unstage of one `stage_sigs` entry;
//! - `read()` of a device of ten PVs (bare: ten gets issued together, then
//!   awaited: one round trip);
//! - connecting 100 devices × 10 distinct PVs.
//!
//! Run: `cargo bench -p ophyd-tests --features ca --bench peers` (after
//! `scripts/setup-venv.sh`). Prints one Markdown table of medians.

use std::ffi::CString;
use std::process::Command;
use std::time::{Duration, Instant};

use epics_ca::channel::TypedChannel;
use epics_ca::request::Time;
use epics_ca::types::{EpicsEnum, EpicsString};
use epics_ca::{Channel, Context};
use ophyd_core::prelude::*;
use ophyd_core::Result;
use ophyd_epics::ca::CaTransport;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, Transport};
use ophyd_tests::block;
use ophyd_tests::ioc::{self, Ioc, SoftDatabase};
use ophyd_tests::venv;

/// Devices of ten PVs for the connect row, as Python's peers name them.
const BLOCKS: usize = 100;

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

/// Ten PVs of every kind the soft IOC serves (as `benches/ca.rs`'s `Ten`).
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

/// The same ten PVs as bare libca channels.
struct BareTen {
    a: TypedChannel<f64>,
    b: TypedChannel<i32>,
    c: TypedChannel<f64>,
    d: TypedChannel<f64>,
    e: TypedChannel<f64>,
    f: TypedChannel<f64>,
    g: TypedChannel<f32>,
    h: TypedChannel<i16>,
    i: TypedChannel<EpicsEnum>,
    j: TypedChannel<EpicsString>,
}

impl BareTen {
    async fn connect(ctx: &Context, prefix: &str) -> BareTen {
        let pv = |suffix: &str| format!("{prefix}:{suffix}");
        BareTen {
            a: typed(ctx, &pv("double")).await,
            b: typed(ctx, &pv("long")).await,
            c: typed(ctx, &pv("slow")).await,
            d: typed(ctx, &pv("setpoint")).await,
            e: typed(ctx, &pv("setpoint_RBV")).await,
            f: typed(ctx, &pv("readonly")).await,
            g: typed(ctx, &pv("float")).await,
            h: typed(ctx, &pv("short")).await,
            i: typed(ctx, &pv("mbbo")).await,
            j: typed(ctx, &pv("string")).await,
        }
    }

    /// Every value with its time stamp, as `read()` gives: the ten gets go
    /// out together, then all are awaited.
    async fn read(&mut self) {
        let (a, b, c, d, e, f, g, h, i, j) = futures::join!(
            self.a.get::<Time<f64>>(),
            self.b.get::<Time<i32>>(),
            self.c.get::<Time<f64>>(),
            self.d.get::<Time<f64>>(),
            self.e.get::<Time<f64>>(),
            self.f.get::<Time<f64>>(),
            self.g.get::<Time<f32>>(),
            self.h.get::<Time<i16>>(),
            self.i.get::<Time<EpicsEnum>>(),
            self.j.get::<Time<EpicsString>>(),
        );
        let all = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap(), e.unwrap());
        std::hint::black_box((all, f.unwrap(), g.unwrap(), h.unwrap(), i.unwrap(), j.unwrap()));
    }
}

/// A device with one `stage_sigs` entry.
#[derive(Device)]
struct Staged {
    #[component(suffix = ":long", kind = "omitted", stage = 7)]
    value: EpicsSignal<i32>,
}

async fn typed<T: epics_ca::types::Value + ?Sized>(ctx: &Context, pv: &str) -> TypedChannel<T> {
    let mut ch = Channel::new(ctx, &CString::new(pv).unwrap()).unwrap();
    ch.connected().await;
    ch.into_typed::<T>().map_err(|(e, _)| e).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Medians of bare libca and ophyd-rs doing one work, measured interleaved.
struct Pair {
    bare: Duration,
    ours: Duration,
}

impl Pair {
    fn of(bare: Vec<Duration>, ours: Vec<Duration>) -> Pair {
        Pair { bare: median(bare), ours: median(ours) }
    }
}

/// Samples of bare libca and ophyd-rs, taken alternately.
#[derive(Default)]
struct Samples {
    bare: Vec<Duration>,
    ours: Vec<Duration>,
}

impl Samples {
    fn medians(self) -> Pair {
        Pair::of(self.bare, self.ours)
    }
}

async fn cycle(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut acquire = typed::<f64>(ctx, &format!("{prefix}:double")).await;
    let mut reading = typed::<f64>(ctx, &format!("{prefix}:readonly")).await;
    let det = Detector::new(prefix, "det");
    det.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        acquire.put(1.0).unwrap().await.unwrap();
        std::hint::black_box(reading.get::<Time<f64>>().await.unwrap().value);
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        det.trigger().await?;
        std::hint::black_box(det.read().await?);
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

async fn read_ten(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut bare_ten = BareTen::connect(ctx, prefix).await;
    let ten = Ten::new(prefix, "ten");
    ten.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        let t = Instant::now();
        bare_ten.read().await;
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        std::hint::black_box(ten.read().await?);
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

async fn stage(ctx: &Context, transport: &Transport, prefix: &str, n: usize) -> Result<Pair> {
    let mut value = typed::<i32>(ctx, &format!("{prefix}:long")).await;
    let staged = Staged::new(prefix, "staged");
    staged.connect(transport).await?;
    let mut samples = Samples::default();
    for _ in 0..n {
        // Bare: read the original, write 7 and read it back, put the
        // original back and read it back.
        let t = Instant::now();
        let original = value.get::<Time<i32>>().await.unwrap().value;
        value.put(7).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, 7);
        value.put(original).unwrap().await.unwrap();
        assert_eq!(value.get::<Time<i32>>().await.unwrap().value, original);
        samples.bare.push(t.elapsed());

        let t = Instant::now();
        staged.stage().await?;
        staged.unstage().await?;
        samples.ours.push(t.elapsed());
    }
    Ok(samples.medians())
}

async fn connect(ctx: &Context, transport: &Transport, ioc: &Ioc) -> Pair {
    let prefixes: Vec<String> = (0..BLOCKS).map(|i| ioc.pv(&format!("b{i}"))).collect();
    let (bare, ours) = block::time_connects(ctx, transport, &prefixes, 11).await;
    Pair::of(bare, ours)
}

/// What one Python peer measured: its version and, per work, the median
/// seconds of one iteration (`None` where it has no such thing).
struct PythonPeer {
    version: String,
    medians: serde_json::Value,
}

impl PythonPeer {
    /// Run `python/peers.py PEER PREFIX` on the project's venv.
    fn run(peer: &str, ioc: &Ioc) -> PythonPeer {
        let script = venv::repo_root().join("tests/python/peers.py");
        let out = Command::new(venv::python()).arg(script).arg(peer).arg(ioc.device_prefix()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "the {peer} peer failed:\n{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("the {peer} peer printed no JSON ({e}):\n{stderr}"));
        PythonPeer { version: json["version"].as_str().unwrap_or("?").to_owned(), medians: json }
    }

    fn median(&self, work: &str) -> Option<Duration> {
        self.medians[work]["median_s"].as_f64().map(Duration::from_secs_f64)
    }
}

/// A duration as the table shows it: µs below 10 ms, ms above.
fn shown(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

/// How many times faster ophyd-rs is than a peer.
fn speed_up(peer: Option<Duration>, ours: Duration) -> String {
    peer.map_or("—".to_owned(), |p| format!("{:.1}×", p.as_secs_f64() / ours.as_secs_f64()))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("?", |m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {model}")
}

fn print_table(rows: &[(&str, &str, Pair)], ophyd: &PythonPeer, ophyd_async: &PythonPeer) {
    println!("\nmedians; machine: {}\n", machine());
    println!(
        "| work | Python ophyd {} | ophyd-async {} (aioca) | bare libca (epics-ca) | ophyd-rs | ophyd-rs / bare | ophyd-rs vs ophyd {} | ophyd-rs vs ophyd-async |",
        ophyd.version, ophyd_async.version, ophyd.version
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (work, key, pair) in rows {
        let (py, py_async) = (ophyd.median(key), ophyd_async.median(key));
        let absent = |peer: Option<Duration>, why: &str| peer.map_or(why.to_owned(), shown);
        println!(
            "| {work} | {} | {} | {} | {} | {:.2} | {} | {} |",
            absent(py, "—"),
            absent(py_async, if *key == "stage" { "no stage_sigs" } else { "—" }),
            shown(pair.bare),
            shown(pair.ours),
            pair.ours.as_secs_f64() / pair.bare.as_secs_f64(),
            speed_up(py, pair.ours),
            speed_up(py_async, pair.ours),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    ioc::ca_client_environment();
    let ioc = Ioc::soft_serving(SoftDatabase::standard().and(block::database((0..BLOCKS).map(|i| format!("b{i}")))));
    let prefix = ioc.device_prefix().to_owned();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let rows = rt.block_on(async {
        let ctx = Context::new().unwrap();
        let transport = CaTransport::new().unwrap().into_transport();
        vec![
            (
                "trigger (put-complete) + read, one cycle",
                "cycle",
                cycle(&ctx, &transport, &prefix, 3000).await.unwrap(),
            ),
            ("stage + unstage, one stage_sig", "stage", stage(&ctx, &transport, &prefix, 2000).await.unwrap()),
            ("`read()` of a 10-PV device", "read10", read_ten(&ctx, &transport, &prefix, 2000).await.unwrap()),
            ("connect 100 devices × 10 distinct PVs", "connect1000", connect(&ctx, &transport, &ioc).await),
        ]
    });
    eprintln!("running the Python peers...");
    let ophyd = PythonPeer::run("ophyd", &ioc);
    let ophyd_async = PythonPeer::run("ophyd-async", &ioc);
    print_table(&rows, &ophyd, &ophyd_async);
}

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

use std::process::Command;
use std::time::Duration;

use epics_ca::Context;
use ophyd_epics::ca::CaTransport;
use ophyd_epics::Transport;
use ophyd_tests::bench::{self, Pair, Samples};
use ophyd_tests::block;
use ophyd_tests::ioc::{self, Ioc, SoftDatabase};
use ophyd_tests::venv;

/// Devices of ten PVs for the connect row, as Python's peers name them.
const BLOCKS: usize = 100;

async fn connect(ctx: &Context, transport: &Transport, ioc: &Ioc) -> Pair {
    let prefixes: Vec<String> = (0..BLOCKS).map(|i| ioc.pv(&format!("b{i}"))).collect();
    let (bare, ours) = block::time_connects(ctx, transport, &prefixes, 41).await;
    Samples { bare, ours }.medians()
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
            pair.ratio(),
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
                bench::cycle(&ctx, &transport, &prefix, 3000).await.unwrap(),
            ),
            ("stage + unstage, one stage_sig", "stage", bench::stage(&ctx, &transport, &prefix, 2000).await.unwrap()),
            ("`read()` of a 10-PV device", "read10", bench::read_ten(&ctx, &transport, &prefix, 2000).await.unwrap()),
            ("connect 100 devices × 10 distinct PVs", "connect1000", connect(&ctx, &transport, &ioc).await),
        ]
    });
    eprintln!("running the Python peers...");
    let ophyd = PythonPeer::run("ophyd", &ioc);
    let ophyd_async = PythonPeer::run("ophyd-async", &ioc);
    print_table(&rows, &ophyd, &ophyd_async);
}

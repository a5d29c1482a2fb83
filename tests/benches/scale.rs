//! Channel Access at beamline scale, against EPICS base's soft IOC on
//! loopback, each with the bare epics-ca (libca) loop doing the same work in
//! the same run, interleaved, so the ratio is measured under the same
//! conditions (DESIGN.md, "Speed"):
//!
//! - connecting 10, 100 and 1000 devices of ten distinct PVs each
//!   (`iocs/block.db`): 10,000 PVs within 1.2× bare libca, at a cost that
//!   grows linearly; and the memory a connected PV takes (resident set);
//! - monitors of 1000 PVs counting up ten times a second (`iocs/counter.db`):
//!   every subscriber sees every update, in order, and the process's CPU
//!   time (all threads) per update is within 1.5× bare libca subscriptions.
//!
//! Run: `cargo bench -p ophyd-tests --features ca --bench scale` (after
//! `scripts/setup-venv.sh`, which provides the soft IOC). Medians are
//! reported; this machine is shared, so read the ratios.

use std::ffi::CString;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use epics_ca::channel::subscribe::Queue;
use epics_ca::channel::{Subscription, TypedChannel};
use epics_ca::request::Time;
use epics_ca::{Channel, Context};
use futures::future::join_all;
use ophyd_core::prelude::*;
use ophyd_epics::ca::CaTransport;
use ophyd_epics::{EpicsSignal, Transport};
use ophyd_tests::block;
use ophyd_tests::ioc::{self, Ioc, SoftDatabase};

/// The most devices connected at once; the IOC serves this many blocks.
const MAX_DEVICES: usize = 1000;
/// `(devices, rounds)`: fewer rounds where one takes seconds.
const CONNECT_SIZES: [(usize, usize); 3] = [(10, 41), (100, 21), (MAX_DEVICES, 7)];
/// Generous: connecting must never time out in a benchmark.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The counters the IOC serves, each updating ten times a second.
const COUNTERS: usize = 1000;
/// How long each monitor window lasts.
const WINDOW: Duration = Duration::from_secs(5);
/// Windows for each of bare libca and ophyd-rs, alternated.
const WINDOWS: usize = 3;

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    ioc::ca_client_environment();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx = Context::new().unwrap();
        let transport = CaTransport::new().unwrap().into_transport();
        connect_at_scale(&ctx, &transport).await;
        monitors(&ctx, &transport).await;
    });
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

// --- Connecting ---------------------------------------------------------------

async fn connect_at_scale(ctx: &Context, transport: &Transport) {
    let ioc = Ioc::soft_serving(block::database((0..MAX_DEVICES).map(|i| format!("d{i}"))));
    let prefixes: Vec<String> = (0..MAX_DEVICES).map(|i| ioc.pv(&format!("d{i}"))).collect();
    // First, while nothing has been allocated and freed yet.
    memory_per_pv(ctx, transport, &prefixes).await;
    println!("\nconnect N devices x 10 distinct PVs (medians; ratio target at 1000 devices: within 1.2x)");
    println!(
        "{:>8} {:>7} {:>7} | {:>12} {:>12} | {:>10} {:>10} | {:>6}",
        "devices", "PVs", "rounds", "bare ms", "ophyd-rs ms", "bare µs/PV", "ours µs/PV", "ratio"
    );
    for (devices, rounds) in CONNECT_SIZES {
        connect_timing(ctx, transport, &prefixes[..devices], rounds).await;
    }
}

async fn connect_timing(ctx: &Context, transport: &Transport, prefixes: &[String], rounds: usize) {
    let (bare, ours) = block::time_connects(ctx, transport, prefixes, rounds).await;
    let pvs = prefixes.len() * block::SUFFIXES.len();
    let (b, o) = (median(bare), median(ours));
    let per_pv = |d: Duration| micros(d) / pvs as f64;
    println!(
        "{:>8} {:>7} {:>7} | {:>12.1} {:>12.1} | {:>10.1} {:>10.1} | {:>6.3}",
        prefixes.len(),
        pvs,
        rounds,
        millis(b),
        millis(o),
        per_pv(b),
        per_pv(o),
        o.as_secs_f64() / b.as_secs_f64()
    );
}

/// The process's resident set, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB");
    kib * 1024
}

/// How much the resident set grows per connected PV: bare libca's channels
/// first, in a process that has connected nothing yet, then ophyd-rs's
/// while bare's are still held, so neither reuses memory the other freed.
async fn memory_per_pv(ctx: &Context, transport: &Transport, prefixes: &[String]) {
    let pvs = block::bare_pvs(prefixes);
    let before = resident_bytes();
    let channels = block::connect_bare(ctx, &pvs).await;
    let with_bare = resident_bytes();
    let devices = block::connect(transport, prefixes, CONNECT_TIMEOUT).await;
    let with_both = resident_bytes();
    let per_pv = |grown: u64| grown as f64 / pvs.len() as f64;
    println!("memory per connected PV ({} PVs, growth of the resident set):", pvs.len());
    println!("  bare libca {:>7.0} bytes/PV (measured first)", per_pv(with_bare - before));
    println!("  ophyd-rs   {:>7.0} bytes/PV (while bare's channels are held)", per_pv(with_both - with_bare));
    drop((channels, devices));
}

// --- Monitors -----------------------------------------------------------------

/// What one subscriber saw of a counter, which steps by exactly 1.
#[derive(Default)]
struct Tally(Mutex<Seen>);

#[derive(Clone, Copy, Default)]
struct Seen {
    last: Option<f64>,
    updates: u64,
    /// Steps of more than 1: updates lost in between.
    gaps: u64,
    /// How many values those gaps skipped.
    missed: u64,
    /// Steps of less than 1: an update repeated or out of order.
    backwards: u64,
}

impl Tally {
    fn observe(&self, value: f64) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = seen.last {
            let step = value - last;
            if step < 1.0 {
                seen.backwards += 1;
            } else if step > 1.0 {
                seen.gaps += 1;
                seen.missed += (step - 1.0) as u64;
            }
        }
        seen.last = Some(value);
        seen.updates += 1;
    }

    fn seen(&self) -> Seen {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sum over every counter.
fn total(tallies: &[Arc<Tally>]) -> Seen {
    tallies.iter().map(|t| t.seen()).fold(Seen::default(), |sum, s| Seen {
        last: None,
        updates: sum.updates + s.updates,
        gaps: sum.gaps + s.gaps,
        missed: sum.missed + s.missed,
        backwards: sum.backwards + s.backwards,
    })
}

/// The CPU time of this process so far, every thread's, user and system.
fn cpu_time() -> Duration {
    // SAFETY: `rusage` is plain integers, for which all zeroes is a value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live `rusage` for getrusage to fill in.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let of = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    of(usage.ru_utime) + of(usage.ru_stime)
}

/// One window of monitoring: the CPU the process spent, and what the
/// subscribers saw (gaps from their start to the window's end).
struct Window {
    cpu: Duration,
    seen: Seen,
}

/// Subscribe with `subscribe`, wait until every counter has sent its current
/// value, then measure [`WINDOW`]; the subscriptions end after it.
async fn window<S>(subscribe: impl FnOnce(&[Arc<Tally>]) -> S) -> Window {
    let tallies: Vec<Arc<Tally>> = (0..COUNTERS).map(|_| Arc::default()).collect();
    let subscriptions = subscribe(&tallies);
    let started = Instant::now();
    while tallies.iter().any(|t| t.seen().updates == 0) && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (cpu, updates) = (cpu_time(), total(&tallies).updates);
    tokio::time::sleep(WINDOW).await;
    let (cpu, mut seen) = (cpu_time() - cpu, total(&tallies));
    drop(subscriptions);
    seen.updates -= updates;
    Window { cpu, seen }
}

/// Bare libca's subscriber: checks each value in libca's callback, as
/// ophyd-rs's callback does.
struct Observe(Arc<Tally>);

impl Queue for Observe {
    type Request = Time<f64>;
    type Output = ();

    fn push(&mut self, input: Result<&Time<f64>, epics_ca::Error>) {
        if let Ok(reading) = input {
            self.0.observe(reading.value);
        }
    }

    fn pop(&mut self) -> Option<Result<(), epics_ca::Error>> {
        None
    }
}

fn subscribe_bare<'a>(
    channels: &'a mut [TypedChannel<f64>],
    tallies: &[Arc<Tally>],
) -> Vec<Pin<Box<Subscription<'a, Observe>>>> {
    let subscribe = |(channel, tally): (&'a mut TypedChannel<f64>, &Arc<Tally>)| {
        let mut subscription = Box::pin(channel.subscribe_with(Observe(tally.clone())));
        subscription.as_mut().start().unwrap();
        subscription
    };
    channels.iter_mut().zip(tallies).map(subscribe).collect()
}

fn subscribe_ours(signals: &[EpicsSignal<f64>], tallies: &[Arc<Tally>]) -> Vec<ophyd_core::Subscription> {
    let subscribe = |(signal, tally): (&EpicsSignal<f64>, &Arc<Tally>)| {
        let tally = tally.clone();
        signal.subscribe(move |value, _timestamp| tally.observe(*value)).unwrap()
    };
    signals.iter().zip(tallies).map(subscribe).collect()
}

async fn typed(ctx: &Context, pv: &str) -> TypedChannel<f64> {
    let mut channel = Channel::new(ctx, &CString::new(pv).unwrap()).unwrap();
    channel.connected().await;
    channel.into_typed::<f64>().map_err(|(e, _)| e).unwrap()
}

async fn monitors(ctx: &Context, transport: &Transport) {
    let ioc = Ioc::soft_serving(SoftDatabase::new().load_each("counter.db", (0..COUNTERS).map(|i| format!("N=c{i}"))));
    let names: Vec<String> = (0..COUNTERS).map(|i| ioc.pv(&format!("c{i}"))).collect();
    let mut channels: Vec<TypedChannel<f64>> = join_all(names.iter().map(|pv| typed(ctx, pv))).await;
    let signals: Vec<EpicsSignal<f64>> = names.iter().map(|pv| EpicsSignal::new(pv, pv)).collect();
    for outcome in join_all(signals.iter().map(|s| s.connect(transport))).await {
        outcome.unwrap();
    }

    let idle = window(|_| ()).await;
    let (mut bare, mut ours) = (Vec::new(), Vec::new());
    for round in 0..WINDOWS {
        for which in [round % 2, 1 - round % 2] {
            if which == 0 {
                bare.push(window(|tallies| subscribe_bare(&mut channels, tallies)).await);
            } else {
                ours.push(window(|tallies| subscribe_ours(&signals, tallies)).await);
            }
        }
    }
    report_monitors(&idle, &bare, &ours);
}

fn report_monitors(idle: &Window, bare: &[Window], ours: &[Window]) {
    let per_second = |w: &Window| millis(w.cpu) / WINDOW.as_secs_f64();
    println!(
        "\nmonitors: {COUNTERS} PVs x 10 updates/s; {WINDOWS} windows of {WINDOW:?} each, alternated; process CPU time, all threads"
    );
    println!("idle baseline (both sets of channels connected, nothing subscribed): {:.1} ms CPU/s", per_second(idle));
    println!(
        "{:10} {:>9} {:>9} {:>10} | {:>6} {:>7} {:>9}",
        "", "updates", "CPU ms/s", "µs/update", "gaps", "missed", "backwards"
    );
    let mut per_update = [Duration::ZERO; 2];
    for (k, (name, windows)) in [("bare libca", bare), ("ophyd-rs", ours)].into_iter().enumerate() {
        for w in windows {
            println!(
                "{name:10} {:>9} {:>9.1} {:>10.2} | {:>6} {:>7} {:>9}",
                w.seen.updates,
                per_second(w),
                micros(w.cpu) / w.seen.updates as f64,
                w.seen.gaps,
                w.seen.missed,
                w.seen.backwards
            );
        }
        per_update[k] = median(windows.iter().map(|w| w.cpu / w.seen.updates.max(1) as u32).collect());
    }
    println!(
        "median CPU per update: bare libca {:.2} µs, ophyd-rs {:.2} µs, ratio {:.3} (target: within 1.5x)",
        micros(per_update[0]),
        micros(per_update[1]),
        per_update[1].as_secs_f64() / per_update[0].as_secs_f64()
    );
}

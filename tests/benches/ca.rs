//! Channel Access benchmarks against EPICS base's soft IOC on loopback, each
//! with the bare epics-ca (libca) loop doing the same work in the same run,
//! interleaved, so the ratio is measured under the same conditions
//! (DESIGN.md, "Speed"):
//!
//! - trigger (put-complete) + read, one cycle: within 10% of bare libca;
//! - `read()` of a 10-PV device: within 30% of its floor, the same ten gets
//!   issued with libca itself and flushed once; of a 100-PV device tree:
//!   within 50% (and, for reference, against epics-ca's gets, which flush
//!   one by one);
//! - `read()` of a 10-PV device whose reads are monitored: under 2 µs;
//! - connecting 100 devices × 10 PVs: within 20% of bare libca;
//! - stage + unstage of one `stage_sigs` entry: under 250 µs.
//!
//! Run: `cargo bench -p ophyd-tests --features ca --bench ca` (after
//! `scripts/setup-venv.sh`, which provides the soft IOC). Medians are
//! reported; this machine is shared, so read the ratios.

use std::ffi::CString;
use std::time::Duration;

use epics_ca::{Channel, Context};
use ophyd_core::{Device, Result};
use ophyd_epics::ca::CaTransport;
use ophyd_epics::Transport;
use ophyd_tests::bench::{self, Hundred, Pair, Samples, Ten, TEN};
use ophyd_tests::ioc::{self, Ioc};

fn report(work: &str, pair: Pair, target: &str) {
    println!(
        "{work:44} bare libca {:>9.1} µs   ophyd-rs {:>9.1} µs   ratio {:.3}   ({target})",
        pair.bare.as_secs_f64() * 1e6,
        pair.ours.as_secs_f64() * 1e6,
        pair.ratio()
    );
}

async fn connect(ctx: &Context, transport: &Transport, prefix: &str, rounds: usize) -> Result<Pair> {
    let pvs: Vec<CString> =
        (0..100).flat_map(|_| TEN.iter().map(|n| CString::new(format!("{prefix}:{n}")).unwrap())).collect();
    let mut samples = Samples::default();
    for round in 0..rounds {
        for which in [round % 2, 1 - round % 2] {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let t = std::time::Instant::now();
            if which == 0 {
                let mut channels: Vec<Channel> = pvs.iter().map(|pv| Channel::new(ctx, pv).unwrap()).collect();
                futures::future::join_all(channels.iter_mut().map(|c| c.connected())).await;
                samples.bare.push(t.elapsed());
            } else {
                let devices: Vec<Ten> = (0..100).map(|i| Ten::new(prefix, &format!("d{i}"))).collect();
                let connects = devices.iter().map(|d| d.connect_timeout(transport, Duration::from_secs(10)));
                for outcome in futures::future::join_all(connects).await {
                    outcome?;
                }
                samples.ours.push(t.elapsed());
            }
        }
    }
    Ok(samples.medians())
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
        let cycle = bench::cycle(&ctx, &transport, &prefix, 3000).await.unwrap();
        report("trigger (put-complete) + read, one cycle", cycle, "target: within 10%");
        let ten = Ten::new(&prefix, "ten");
        let ten = bench::read_against_the_floor(&ctx, &transport, ten, &prefix, 1, 3000).await.unwrap();
        report("read() of a 10-PV device", ten, "target: within 30%");
        let ten = bench::read_ten(&ctx, &transport, &prefix, 3000).await.unwrap();
        report("  the same, against epics-ca's gets", ten, "each get flushed on its own");
        let hundred = Hundred::new(&prefix, "hundred");
        let hundred = bench::read_against_the_floor(&ctx, &transport, hundred, &prefix, 10, 1000).await.unwrap();
        report("read() of a 100-PV device tree", hundred, "target: within 50%");
        let monitored = bench::read_ten_monitored(&transport, &prefix, 1000).await.unwrap();
        println!(
            "{:44} ophyd-rs {:>9.3} µs   (target: under 2 µs; no request leaves)",
            "read() of a 10-PV device, monitored",
            monitored.as_secs_f64() * 1e6
        );
        let connect = connect(&ctx, &transport, &prefix, 41).await.unwrap();
        report("connect 100 devices x 10 PVs", connect, "target: within 20%");
        let stage = bench::stage(&ctx, &transport, &prefix, 2000).await.unwrap();
        report("stage + unstage, one stage_sig", stage, "target: under 250 µs");
    });
}

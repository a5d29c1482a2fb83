//! Connecting at beamline scale over Channel Access: one device tree of
//! 10,000 distinct PVs served by EPICS base's soft IOC (`iocs/block.db`,
//! loaded once per block of ten), 100 of which nobody serves. How fast it
//! connects is measured in `benches/scale.rs`; this checks what a user is
//! told when PVs are missing.
#![cfg(feature = "ca")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ophyd_core::prelude::*;
use ophyd_core::Error;
use ophyd_epics::EpicsSignal;
use ophyd_tests::block::{self, Block};
use ophyd_tests::ioc::{self, Ioc};

/// Long enough for 9,900 PVs to connect on a loaded machine: a debug build
/// takes about 3.5 s on a 2-core one (a release build about 0.3 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Nine PVs of a block and one that no IOC serves.
#[derive(Device)]
struct GappedBlock {
    #[component(suffix = ":v0")]
    v0: EpicsSignal<f64>,
    #[component(suffix = ":v1")]
    v1: EpicsSignal<f64>,
    #[component(suffix = ":v2")]
    v2: EpicsSignal<f64>,
    #[component(suffix = ":v3")]
    v3: EpicsSignal<f64>,
    #[component(suffix = ":v4")]
    v4: EpicsSignal<f64>,
    #[component(suffix = ":v5")]
    v5: EpicsSignal<f64>,
    #[component(suffix = ":v6")]
    v6: EpicsSignal<f64>,
    #[component(suffix = ":v7")]
    v7: EpicsSignal<f64>,
    #[component(suffix = ":v8")]
    v8: EpicsSignal<f64>,
    #[component(suffix = ":ghost")]
    ghost: EpicsSignal<f64>,
}

/// 100 PVs, one of them missing.
#[derive(Device)]
struct Rack {
    #[component(suffix = ":b0")]
    b0: Block,
    #[component(suffix = ":b1")]
    b1: Block,
    #[component(suffix = ":b2")]
    b2: Block,
    #[component(suffix = ":b3")]
    b3: Block,
    #[component(suffix = ":b4")]
    b4: Block,
    #[component(suffix = ":b5")]
    b5: Block,
    #[component(suffix = ":b6")]
    b6: Block,
    #[component(suffix = ":b7")]
    b7: Block,
    #[component(suffix = ":b8")]
    b8: Block,
    #[component(suffix = ":b9")]
    b9: GappedBlock,
}

/// 1,000 PVs, ten of them missing.
#[derive(Device)]
struct Hall {
    #[component(suffix = ":r0")]
    r0: Rack,
    #[component(suffix = ":r1")]
    r1: Rack,
    #[component(suffix = ":r2")]
    r2: Rack,
    #[component(suffix = ":r3")]
    r3: Rack,
    #[component(suffix = ":r4")]
    r4: Rack,
    #[component(suffix = ":r5")]
    r5: Rack,
    #[component(suffix = ":r6")]
    r6: Rack,
    #[component(suffix = ":r7")]
    r7: Rack,
    #[component(suffix = ":r8")]
    r8: Rack,
    #[component(suffix = ":r9")]
    r9: Rack,
}

/// 10,000 PVs, 100 of them (1%) missing.
#[derive(Device)]
struct Beamline {
    #[component(suffix = ":h0")]
    h0: Hall,
    #[component(suffix = ":h1")]
    h1: Hall,
    #[component(suffix = ":h2")]
    h2: Hall,
    #[component(suffix = ":h3")]
    h3: Hall,
    #[component(suffix = ":h4")]
    h4: Hall,
    #[component(suffix = ":h5")]
    h5: Hall,
    #[component(suffix = ":h6")]
    h6: Hall,
    #[component(suffix = ":h7")]
    h7: Hall,
    #[component(suffix = ":h8")]
    h8: Hall,
    #[component(suffix = ":h9")]
    h9: Hall,
}

/// Every `(hall, rack, block)` of the beamline.
fn blocks() -> impl Iterator<Item = (usize, usize, usize)> {
    (0..10).flat_map(|h| (0..10).flat_map(move |r| (0..10).map(move |b| (h, r, b))))
}

/// A soft IOC serving ten PVs for every block of the beamline, the gapped
/// ones included (all but their ghost).
fn beamline_ioc() -> Ioc {
    Ioc::soft_serving(block::database(blocks().map(|(h, r, b)| format!("h{h}:r{r}:b{b}"))))
}

// On a test thread's default 2 MiB stack: a derived device is built by
// value, so this checks too that a 10,000-PV tree stays small by value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_10000_pvs_with_100_missing_names_exactly_the_missing_ones_after_one_timeout() {
    let ioc = beamline_ioc();
    let beamline = Beamline::new(ioc.device_prefix(), "beamline");
    let missing: BTreeSet<String> =
        blocks().filter(|&(_, _, b)| b == 9).map(|(h, r, _)| ioc.pv(&format!("h{h}:r{r}:b9:ghost"))).collect();
    assert_eq!(missing.len(), 100);

    let start = Instant::now();
    let err = beamline.connect_timeout(&ioc::ca_transport(), CONNECT_TIMEOUT).await.unwrap_err();
    let elapsed = start.elapsed();

    match err {
        Error::ConnectTimeout { device, pvs, after } => {
            assert_eq!(device, "beamline");
            assert_eq!(after, CONNECT_TIMEOUT);
            assert_eq!(pvs.len(), missing.len(), "each missing PV is listed once");
            assert_eq!(pvs.into_iter().collect::<BTreeSet<_>>(), missing);
        }
        other => panic!("expected one connect timeout listing the missing PVs, got {other}"),
    }
    // One timer for the whole tree, not one per missing PV (100 timeouts).
    assert!(elapsed < 2 * CONNECT_TIMEOUT, "the error came after {elapsed:?}");
    assert!(beamline.h0.r0.b0.v0.connected() && beamline.h9.r9.b9.v8.connected());
}

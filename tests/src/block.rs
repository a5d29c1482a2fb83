//! The unit of Channel Access at scale: a device of ten PVs, served by
//! `iocs/block.db`, which a soft IOC loads once per device, so a test or a
//! benchmark can ask for any number of distinct PVs.

use std::ffi::CString;
use std::time::{Duration, Instant};

use futures::future::join_all;
use ophyd_core::prelude::*;
use ophyd_epics::{EpicsSignal, Transport};

use crate::ioc::SoftDatabase;

/// The suffixes of a block's PVs, in field order.
pub const SUFFIXES: [&str; 10] = [":v0", ":v1", ":v2", ":v3", ":v4", ":v5", ":v6", ":v7", ":v8", ":v9"];

/// Ten PVs of one load of `iocs/block.db`: `<prefix>:v0` … `<prefix>:v9`.
#[derive(Device)]
pub struct Block {
    /// `<prefix>:v0`.
    #[component(suffix = ":v0")]
    pub v0: EpicsSignal<f64>,
    /// `<prefix>:v1`.
    #[component(suffix = ":v1")]
    pub v1: EpicsSignal<f64>,
    /// `<prefix>:v2`.
    #[component(suffix = ":v2")]
    pub v2: EpicsSignal<f64>,
    /// `<prefix>:v3`.
    #[component(suffix = ":v3")]
    pub v3: EpicsSignal<f64>,
    /// `<prefix>:v4`.
    #[component(suffix = ":v4")]
    pub v4: EpicsSignal<f64>,
    /// `<prefix>:v5`.
    #[component(suffix = ":v5")]
    pub v5: EpicsSignal<f64>,
    /// `<prefix>:v6`.
    #[component(suffix = ":v6")]
    pub v6: EpicsSignal<f64>,
    /// `<prefix>:v7`.
    #[component(suffix = ":v7")]
    pub v7: EpicsSignal<f64>,
    /// `<prefix>:v8`.
    #[component(suffix = ":v8")]
    pub v8: EpicsSignal<f64>,
    /// `<prefix>:v9`.
    #[component(suffix = ":v9")]
    pub v9: EpicsSignal<f64>,
}

/// The PV names of the block at `device_prefix` (an IOC's
/// [`device_prefix`](crate::ioc::Ioc::device_prefix) and a device name
/// from [`database`], `"<prefix>d7"`).
pub fn pvs(device_prefix: &str) -> impl Iterator<Item = String> + '_ {
    SUFFIXES.iter().map(move |suffix| format!("{device_prefix}{suffix}"))
}

/// A soft IOC database with one block per name of `devices` (`"d7"`,
/// `"h1:r2:b3"`): the block named `d7` has the PVs `<IOC prefix>d7:v0` …
pub fn database(devices: impl IntoIterator<Item = String>) -> SoftDatabase {
    SoftDatabase::new().load_each("block.db", devices.into_iter().map(|name| format!("D={name}")))
}

/// Connect a [`Block`] at each of `prefixes` (named `d0`, `d1`, …), all at
/// once, each within `timeout`.
///
/// # Panics
/// When one does not connect: in benchmarks, which need them all.
pub async fn connect(transport: &Transport, prefixes: &[String], timeout: Duration) -> Vec<Block> {
    let devices: Vec<Block> = prefixes.iter().enumerate().map(|(i, p)| Block::new(p, &format!("d{i}"))).collect();
    for outcome in join_all(devices.iter().map(|d| d.connect_timeout(transport, timeout))).await {
        outcome.unwrap_or_else(|e| panic!("{e}"));
    }
    devices
}

/// The PV names of the blocks at `prefixes`, for bare libca.
pub fn bare_pvs(prefixes: &[String]) -> Vec<CString> {
    prefixes.iter().flat_map(|p| pvs(p)).map(|pv| CString::new(pv).expect("no NUL in a PV name")).collect()
}

/// Bare libca's way to connect the same: a channel per PV, all created,
/// then all awaited (the floor [`connect`] is measured against).
pub async fn connect_bare(ctx: &epics_ca::Context, pvs: &[CString]) -> Vec<epics_ca::Channel> {
    let mut channels: Vec<epics_ca::Channel> =
        pvs.iter().map(|pv| epics_ca::Channel::new(ctx, pv).expect("a CA channel")).collect();
    join_all(channels.iter_mut().map(|c| c.connected())).await;
    channels
}

/// How long the IOC gets to clear the channels of a connect before the
/// next one.
const SETTLE: Duration = Duration::from_millis(300);

/// libca searches for a new channel at the next tick of its context's
/// search timer, which ticks every 32 ms or more (its least round-trip
/// estimate), so a connect waits up to that long before anything is sent.
/// Each context's timer keeps its own phase: at a fixed cadence, one side
/// would start at about the same point of its period every time, early or
/// late by luck. Each wait is lengthened by a random part of a period, so
/// both sides start at every point of theirs alike.
const SEARCH_PERIOD: Duration = Duration::from_millis(32);

/// A random duration shorter than `period`.
fn random_part_of(period: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    period.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

/// Connect the blocks at `prefixes` `rounds` times with bare libca and as
/// many with ophyd-rs, alternating which goes first, each from scratch
/// (everything connected is dropped before the next); returns the times,
/// `(bare, ophyd-rs)`.
pub async fn time_connects(
    ctx: &epics_ca::Context,
    transport: &Transport,
    prefixes: &[String],
    rounds: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    const TIMEOUT: Duration = Duration::from_secs(60);
    let pvs = bare_pvs(prefixes);
    let (mut bare, mut ours) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        for bare_turn in [round % 2 == 0, round % 2 == 1] {
            tokio::time::sleep(SETTLE + random_part_of(SEARCH_PERIOD)).await;
            let start = Instant::now();
            if bare_turn {
                let channels = connect_bare(ctx, &pvs).await;
                bare.push(start.elapsed());
                drop(channels);
            } else {
                let devices = connect(transport, prefixes, TIMEOUT).await;
                ours.push(start.elapsed());
                drop(devices);
            }
        }
    }
    (bare, ours)
}

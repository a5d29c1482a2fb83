//! The unit of Channel Access at scale: a device of ten PVs, served by
//! `iocs/block.db`, which a soft IOC loads once per device, so a test or a
//! benchmark can ask for any number of distinct PVs.

use ophyd_core::prelude::*;
use ophyd_epics::EpicsSignal;

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

//! ophyd's default staging, triggering and stopping, for every device that
//! does not write its own.
//!
//! `#[derive(Device)]` marks a device with [`UnlessDeviceCustomStage`],
//! [`UnlessDeviceCustomTrigger`] and [`UnlessDeviceCustomStop`], leaving out
//! those named in `#[device(custom(...))]`; the blanket impls below give the
//! marked devices the defaults. They are blanket impls, not impls the derive
//! writes, so that a hand-written `impl Trigger for MyDevice` without
//! `#[device(custom(trigger))]` is a conflict whose message names the way
//! out: rustc lists the conflicting impl, `impl<T> Trigger for T where T:
//! Device, T: UnlessDeviceCustomTrigger`.

use crate::{Device, Stage, Stop, Trigger, WritesStreamAssets};

// Each marker carries the message of its behaviour's trait: where a device
// declared custom has no impl, rustc reports the missing marker or the
// missing trait depending on the call, and both must say the same.

/// A device that stages with ophyd's defaults (its `stage_sigs`, then its
/// sub-devices). `#[derive(Device)]` implements it unless the struct says
/// `#[device(custom(stage))]`; to write `impl Stage` yourself, say that.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Stage`",
    label = "staging is declared custom here",
    note = "`#[device(custom(stage))]` says you write `impl ophyd_core::Stage for {Self} {{ .. }}`; \
            write it, or remove `stage` from `custom(..)` to get ophyd's default staging"
)]
pub trait UnlessDeviceCustomStage {}

/// A device whose trigger is done at once (ophyd's default).
/// `#[derive(Device)]` implements it unless the struct says
/// `#[device(custom(trigger))]`; to write `impl Trigger` yourself, say that.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Trigger`",
    label = "triggering is declared custom here",
    note = "`#[device(custom(trigger))]` says you write `impl ophyd_core::Trigger for {Self} {{ .. }}`; \
            write it, or remove `trigger` from `custom(..)` to get ophyd's default (done at once)"
)]
pub trait UnlessDeviceCustomTrigger {}

/// A device that stops its sub-devices and does nothing on pause and
/// resume (ophyd's defaults). `#[derive(Device)]` implements it unless the
/// struct says `#[device(custom(stop))]`; to write `impl Stop` yourself, say
/// that.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Stop`",
    label = "stop/pause/resume are declared custom here",
    note = "`#[device(custom(stop))]` says you write `impl ophyd_core::Stop for {Self} {{ .. }}`; \
            write it, or remove `stop` from `custom(..)` to get ophyd's defaults"
)]
pub trait UnlessDeviceCustomStop {}

/// A device that writes no data outside the events (the default).
/// `#[derive(Device)]` implements it unless the struct says
/// `#[device(custom(stream_assets))]`; to write `impl WritesStreamAssets`
/// yourself, say that.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl WritesStreamAssets`",
    label = "stream assets are declared custom here",
    note = "`#[device(custom(stream_assets))]` says you write `impl ophyd_core::WritesStreamAssets for {Self} {{ .. }}`; \
            write it, or remove `stream_assets` from `custom(..)` for a device with no external data"
)]
pub trait UnlessDeviceCustomStreamAssets {}

impl<T: Device + UnlessDeviceCustomStage> Stage for T {}

impl<T: Device + UnlessDeviceCustomTrigger> Trigger for T {}

impl<T: Device + UnlessDeviceCustomStop> Stop for T {}

impl<T: Device + UnlessDeviceCustomStreamAssets> WritesStreamAssets for T {}

//! The device model of ophyd-rs: [`Kind`]s, typed [`Signal`]s, [`Status`],
//! [`Device`]s with ophyd's read/describe/configuration semantics, staging
//! with guaranteed cleanup.
//!
//! `ophyd-core` knows nothing about EPICS; `ophyd-epics` provides EPICS
//! signals and PV transports. Declare devices with `#[derive(Device)]`:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
//! use ophyd_core::prelude::*;
//!
//! #[derive(Device)]
//! struct Detector {
//!     #[component(kind = "config")]
//!     gain: SoftSignal<f64>,
//!     #[component(kind = "hinted")]
//!     reading: SoftSignal<f64>,
//!     #[component(kind = "omitted", stage = 1)]
//!     enabled: SoftSignal<i32>,
//! }
//!
//! let det = Detector::new("", "det");
//! det.stage().await?;
//! assert_eq!(det.enabled.get().await?, 1);
//! let reading = det.read().await?;
//! assert_eq!(reading.keys().collect::<Vec<_>>(), ["det_reading"]);
//! assert_eq!(det.hints().fields, ["det_reading"]);
//! assert_eq!(det.configuration_attrs(), ["gain"]);
//! det.unstage().await?;
//! assert_eq!(det.enabled.get().await?, 0);
//! # Ok(()) }
//! ```

mod component;
mod configure;
mod connect;
mod data;
mod deadline;
mod defaults;
mod derive_support;
mod derived;
mod device;
mod error;
mod gather;
mod kind;
mod meta;
mod policy;
mod positioner;
mod pseudo;
mod scope;
mod signal;
mod soft;
pub mod staging;
mod state;
mod status;
mod stream;
mod summary;
mod sync;
pub mod testing;
mod value;
mod vector;

pub use component::{Component, DynComponent, DynDevice, DynSignal};
pub use configure::{configure_dyn, Configured};
pub use connect::Backend;
pub use data::{now, DataKey, DataMap, Hints, Reading};
pub use derived::{DerivedSignal, DerivedSignalRO, DerivedToRaw, RawToDerived, Source, Sources, WritableSources};
pub use device::{
    configuration_attrs_of, hints_of, read_attrs_of, stop_sub_devices, Device, Movable, Stage, Stop, Trigger,
    DEFAULT_CONNECT_TIMEOUT,
};
pub use error::{Error, Result, Unrestored};
pub use kind::{AtomicKind, Kind, UnknownKind};
pub use meta::DeviceMeta;
pub use policy::{CleanupPolicy, StepTimeouts};
pub use positioner::{within_limits, Positioner, SoftPositioner};
pub use pseudo::{PseudoAxis, PseudoPositioner, PseudoSignal, PseudoSingle, PseudoTransform};
pub use scope::{staged, top_level_devices, Interrupt, StageGuard};
pub use signal::{set_and_wait, set_and_wait_with, SetAndWait, Signal, Subscription, Writable};
pub use soft::{SoftCell, SoftSignal, SoftSignalRO};
pub use staging::{StageSigs, StageValue};
pub use status::Status;
pub use stream::{StreamAsset, StreamDatum, StreamResource, WritesStreamAssets};
pub use summary::{summary_dyn, Summary, SummaryLine};
pub use value::{Dtype, Enum, SignalValue, Tolerance, Value};
pub use vector::DeviceVector;

/// What implementing a new kind of component needs (a signal type of its
/// own, the signals of a new transport): users who declare devices need
/// none of it.
pub mod implement {
    pub use crate::component::SuffixOptional;
    pub use crate::connect::{ConnectCtx, PendingConnect};
    pub use crate::defaults::{
        UnlessDeviceCustomStage, UnlessDeviceCustomStop, UnlessDeviceCustomStreamAssets, UnlessDeviceCustomTrigger,
    };
    pub use crate::derive_support::PutComplete;
    pub use crate::gather::{flush_soon, issue_together, Flush, Gather};
    #[doc(inline)]
    pub use crate::impl_signal_component;
    pub use crate::meta::{ComponentSpec, SignalMeta};
    pub use crate::sync::AtomicChoice;
    pub use crate::vector::VectorTemplate;
}

/// `#[derive(Device)]`: see the crate documentation.
pub use ophyd_derive::Device;

/// What a device-writing module needs: `use ophyd_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        set_and_wait, staged, Device, DynComponent, DynDevice, Enum, Kind, Movable, Signal, SoftSignal, SoftSignalRO,
        Stage, Status, Stop, Trigger, Writable,
    };
}

/// Items the derive's generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::derive_support::*;
    pub use crate::derived::{BindReadOnly, BindReadWrite};
    pub use crate::device::{device_hints_into, meta_via};
    pub use crate::staging::declared;
    pub use crate::vector::FromTemplate;

    /// Compile-time check that a `put_complete` component can be written.
    pub fn assert_put_complete<S: crate::implement::PutComplete>() {}

    /// Compile-time check that a `#[component]` field is a component.
    pub fn assert_component<C: crate::Component>() {}

    /// A component as its object-safe view. Generated code reaches every
    /// field through `Component`-bounded calls spanned at the field's type,
    /// so a field that is not a component is reported there, with
    /// `Component`'s message.
    pub fn as_dyn<C: crate::Component>(component: &C) -> &dyn crate::DynComponent {
        component
    }

    /// A `#[device(positioner)]` device as a positioner (the derive's
    /// `as_positioner`); a device that is not one is reported at
    /// `positioner`, with `Positioner`'s message.
    pub fn as_positioner<P: crate::Positioner>(device: &P) -> &dyn crate::Positioner {
        device
    }

    /// Compile-time check that a component declared without `suffix` can do without.
    pub fn assert_suffix_optional<C: crate::component::SuffixOptional>() {}
    pub use crate::signal::{
        dyn_check_put, dyn_check_value, dyn_describe_signal, dyn_get_value, dyn_read_only, dyn_read_signal,
        dyn_set_and_wait, dyn_subscribe_value,
    };
    pub use crate::sync::lock;
    pub use futures::future::BoxFuture;
}

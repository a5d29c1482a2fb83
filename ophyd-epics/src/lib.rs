//! EPICS signals for ophyd-rs, and the PV transports they run over.
//!
//! An [`EpicsSignal`] is a PV name plus a [`Transport`] chosen at connect
//! time, so a device is declared once and runs against the
//! [simulated IOC](sim::SimIoc) or Channel Access, or, in tests, a
//! [mock IOC](mock::MockIoc) that makes every PV itself.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
//! use ophyd_core::prelude::*;
//! use ophyd_epics::{sim::SimIoc, EpicsSignal, EpicsSignalRO};
//!
//! #[derive(Device)]
//! struct Det {
//!     #[component(suffix = ":gain", kind = "config")]
//!     gain: EpicsSignal<f64>,
//!     #[component(suffix = ":reading", kind = "hinted")]
//!     reading: EpicsSignalRO<f64>,
//! }
//!
//! let ioc = SimIoc::trigger_with_pc("trigger_with_pc:");
//! let det = Det::new("trigger_with_pc", "det");
//! det.connect(&ioc.transport()).await?;
//! let description = det.describe().await?;
//! assert_eq!(&*description.get("det_reading").unwrap().source, "PV:trigger_with_pc:reading");
//! # Ok(()) }
//! ```

#[cfg(feature = "ca")]
pub mod ca;
mod enum_label;
pub mod mock;
mod motor;
mod pv_positioner;
mod signal;
mod signal_x;
pub mod sim;
mod transport;
mod value;

pub use motor::{EpicsMotor, HomeDirection, CONNECTION_CHECK, MOVE_TIMEOUT_MARGIN};
pub use ophyd_core::Enum;
pub use pv_positioner::{PositionerSignals, PvPositioner, PvPositionerSignals, DEFAULT_MOVE_TIMEOUT, LIVENESS_PROBE};
pub use signal::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, PvLayout, Rbv, SamePv, DEFAULT_COMPLETION_TIMEOUT};
pub use signal::{PvSignal, SignalPvs};
pub use signal_x::EpicsSignalX;
pub use transport::PvDeclaration;
pub use transport::{
    NativeType, PutDone, PvCallback, PvChannel, PvError, PvInfo, PvMetadata, PvReading, PvTransport, Transport,
};
pub use value::EpicsValue;

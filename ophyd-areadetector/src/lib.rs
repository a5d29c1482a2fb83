//! areaDetector for ophyd-rs: the cameras and plugins of Python ophyd's
//! `ophyd.areadetector`, declared with `#[derive(Device)]` as a user would
//! (same component names, PV suffixes and kinds), single-frame triggering,
//! HDF5 file writing, and a simulated areaDetector that acquires frames and
//! writes real HDF5 files, with nothing installed.
//!
//! A detector is a struct of a camera and the plugins it uses:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
//! use ophyd_core::prelude::*;
//! use ophyd_areadetector::sim::{add_sim_detector, SimDetectorOptions};
//! use ophyd_areadetector::{single_trigger, ImagePlugin, SimDetectorCam, StatsPlugin};
//! use ophyd_epics::sim::SimIoc;
//!
//! #[derive(Device)]
//! #[device(custom(trigger))]
//! struct MyDetector {
//!     #[component(suffix = "cam1:", kind = "config")]
//!     cam: SimDetectorCam,
//!     #[component(suffix = "image1:", kind = "omitted")]
//!     image1: ImagePlugin,
//!     #[component(suffix = "Stats1:")]
//!     stats1: StatsPlugin,
//! }
//!
//! impl Trigger for MyDetector {
//!     fn trigger(&self) -> Status {
//!         single_trigger(&self.cam) // ophyd's SingleTrigger
//!     }
//! }
//!
//! let ioc = SimIoc::new();
//! add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(8, 4));
//! let det = MyDetector::new("13SIM1:", "det");
//! det.connect(&ioc.transport()).await?;
//! det.stats1.total.set_kind(Kind::Hinted); // ophyd: det.stats1.total.kind = 'hinted'
//! det.cam.acquire_time.put(0.01).await?;
//!
//! det.stage().await?; // acquire Done, Multiple images, callbacks and plugins on
//! det.trigger().await?; // one frame: done when Acquire is back to Done
//! let reading = det.read().await?;
//! assert_eq!(reading.keys().collect::<Vec<_>>(), ["det_stats1_total"]);
//! assert_eq!(det.image1.image().await?.shape, [4, 8]);
//! det.unstage().await?; // everything as it was
//! # Ok(()) }
//! ```
//!
//! - Cameras, in [`cam`]: [`CamBase`] and [`SimDetectorCam`]; [`cam_base!`]
//!   declares a camera of your own.
//! - Plugins, in [`plugins`]: [`ImagePlugin`], [`StatsPlugin`],
//!   [`RoiPlugin`], [`Hdf5Plugin`] (with [`HdfWriter`]: each run to a new
//!   file); [`plugin_base!`] declares a plugin of your own.
//! - Triggering, in [`trigger`]: [`single_trigger`].
//! - Where the frames are, for the run's `stream_resource` and
//!   `stream_datum` documents: [`HdfStream`].
//! - The simulated areaDetector on the simulated IOC, in [`sim`].
//!
//! The simulated IOC writes HDF5 with `rust-hdf5`, HDF5 in pure Rust: no C
//! library, no build script, no cmake, so `cargo run` needs nothing
//! installed; its SWMR writer makes files that h5py reads while they are
//! written.

pub mod cam;
mod datatype;
pub mod plugins;
pub mod sim;
mod stream;
mod template;
pub mod trigger;

pub use cam::{CamBase, Camera, FrameInfo, SimDetectorCam};
pub use datatype::{DataType, UnknownDataType};
pub use plugins::{
    FileWriteMode, Hdf5Plugin, HdfFile, HdfWriter, Image, ImagePlugin, Plugin, PluginBase, RoiPlugin, StatsPlugin,
    DATASET,
};
pub use stream::{HdfStream, FRAMES_WRITTEN_TIMEOUT, HDF5_MIMETYPE};
pub use template::{format_file_template, TemplateError};
pub use trigger::{single_trigger, TRIGGER_TIMEOUT_MARGIN};

/// What the declaring macros ([`cam_base!`], [`plugin_base!`]) name in the
/// code they write; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use ophyd_epics::{Enum, EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv};
}

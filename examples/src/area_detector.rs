//! A file-writing areaDetector, as a beamline declares one: the simulated
//! detector's camera, a Stats plugin whose total is plotted, and an HDF5
//! plugin writing every frame of a run to a new file, which the run's
//! `stream_resource` and `stream_datum` documents point at.

use ophyd_areadetector::sim::{add_sim_detector, SimDetectorOptions};
use ophyd_areadetector::{single_trigger, Hdf5Plugin, HdfStream, SimDetectorCam, StatsPlugin};
use ophyd_core::prelude::*;
use ophyd_core::{DataKey, DataMap, StreamAsset, WritesStreamAssets};
use ophyd_epics::sim::SimIoc;

/// The PV prefix of the simulated areaDetector (ADSimDetector's usual).
pub const SIM_PREFIX: &str = "13SIM1:";

/// A single-frame detector writing its frames to HDF5 files (ophyd's
/// `SingleTrigger` + `SimDetector` + `HDF5Plugin`, the frames reported as
/// ophyd-async reports them).
#[derive(Device)]
#[device(custom(trigger, stream_assets))]
pub struct FileWritingDetector {
    /// The camera (`cam1:`).
    #[component(suffix = "cam1:", kind = "config")]
    pub cam: SimDetectorCam,
    /// Statistics of each frame (`Stats1:`); its total is hinted.
    #[component(suffix = "Stats1:")]
    pub stats1: StatsPlugin,
    /// The HDF5 file writer (`HDF1:`).
    #[component(suffix = "HDF1:", kind = "omitted")]
    pub hdf1: Hdf5Plugin,
    /// Where the frames are, for the run's documents.
    frames: HdfStream,
}

impl FileWritingDetector {
    /// The detector at `prefix`, named `name`, its Stats total read and
    /// hinted (Python: `det.stats1.total.kind = 'hinted'`).
    pub fn at(prefix: &str, name: &str) -> FileWritingDetector {
        let det = FileWritingDetector::new(prefix, name);
        det.stats1.total.set_kind(Kind::Hinted);
        det
    }
}

impl Trigger for FileWritingDetector {
    fn trigger(&self) -> Status {
        single_trigger(&self.cam)
    }
}

impl WritesStreamAssets for FileWritingDetector {
    async fn describe_streams(&self) -> ophyd_core::Result<DataMap<DataKey>> {
        self.frames.describe(self.name(), &self.cam, &self.hdf1).await
    }

    async fn collect_asset_docs(&self) -> ophyd_core::Result<Vec<StreamAsset>> {
        self.frames.collect(self.name(), &self.cam, &self.hdf1).await
    }
}

/// A simulated IOC serving an areaDetector at [`SIM_PREFIX`]: a 64 × 48
/// sensor of 16-bit pixels.
pub fn simulated_ioc() -> SimIoc {
    let ioc = SimIoc::new();
    add_sim_detector(&ioc, SIM_PREFIX, SimDetectorOptions::default().size(64, 48));
    ioc
}

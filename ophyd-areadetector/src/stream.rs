//! Where a file-writing detector's frames are: the stream assets of an
//! [`Hdf5Plugin`] writing each run to a file (see [`HdfWriter`]), as
//! ophyd-async's HDF writer reports them to bluesky — one `StreamResource`
//! per file, a `StreamDatum` per event for the frames written since.
//!
//! [`HdfWriter`]: crate::HdfWriter

use std::sync::Mutex;

use ophyd_core::{DataKey, DataMap, Dtype, Result, Signal, StreamAsset, StreamDatum, StreamResource, Value};

use crate::cam::Camera;
use crate::plugins::Hdf5Plugin;

/// The stream assets of a file-writing detector: hold one as a plain field
/// of the detector and forward its `WritesStreamAssets` to it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_core::{DataKey, DataMap, StreamAsset, WritesStreamAssets};
/// use ophyd_areadetector::sim::{add_sim_detector, SimDetectorOptions};
/// use ophyd_areadetector::{single_trigger, Hdf5Plugin, HdfStream, HdfWriter, SimDetectorCam};
///
/// #[derive(Device)]
/// #[device(custom(trigger, stream_assets))]
/// struct FileDetector {
///     #[component(suffix = "cam1:", kind = "config")]
///     cam: SimDetectorCam,
///     #[component(suffix = "HDF1:", kind = "omitted")]
///     hdf1: Hdf5Plugin,
///     frames: HdfStream,
/// }
///
/// impl Trigger for FileDetector {
///     fn trigger(&self) -> Status {
///         single_trigger(&self.cam)
///     }
/// }
///
/// impl WritesStreamAssets for FileDetector {
///     async fn describe_streams(&self) -> ophyd_core::Result<DataMap<DataKey>> {
///         self.frames.describe(self.name(), &self.cam, &self.hdf1).await
///     }
///     async fn collect_asset_docs(&self) -> ophyd_core::Result<Vec<StreamAsset>> {
///         self.frames.collect(self.name(), &self.hdf1).await
///     }
/// }
///
/// let ioc = ophyd_epics::sim::SimIoc::new();
/// add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(8, 4));
/// let det = FileDetector::new("13SIM1:", "det");
/// det.connect(&ioc.transport()).await?;
/// let dir = std::env::temp_dir().join(format!("hdf-stream-doc-{}", std::process::id()));
/// det.hdf1.write_files(HdfWriter::new(&dir))?;
/// det.stage().await?;
/// let keys = det.describe_streams().await?;
/// assert_eq!(keys.get("det").unwrap().shape, [1, 4, 8]);
/// det.trigger().await?;
/// let assets = det.collect_asset_docs().await?; // the file, then its first frame
/// assert!(matches!(&assets[..], [StreamAsset::Resource(_), StreamAsset::Datum(d)] if d.indices == (0..1)));
/// det.unstage().await?;
/// # std::fs::remove_dir_all(dir).ok();
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct HdfStream {
    state: Mutex<Reported>,
}

/// What has been reported of the current file.
#[derive(Debug, Default)]
struct Reported {
    /// The file the resource was made for, and the resource's uid.
    resource: Option<(String, String)>,
    /// Events whose frames were reported in a datum.
    events: u64,
    /// Frames one event takes (`NumImages` when described).
    frames_per_event: u64,
    /// A chunk of the dataset: `[frames per event, *frame]`.
    chunk_shape: Vec<i64>,
}

/// The HDF5 mimetype of a `StreamResource` (ophyd-async's).
pub const HDF5_MIMETYPE: &str = "application/x-hdf5";

impl HdfStream {
    /// A stream with nothing reported yet.
    pub fn new() -> HdfStream {
        HdfStream::default()
    }

    /// The data key of the frames, named `name` (the detector's name, as
    /// ophyd-async names it): `external: "STREAM:"`, shape
    /// `[frames per event, *frame]`, the camera's numpy dtype, the file's
    /// URI as source. Empty while `hdf` writes no file (not staged to).
    pub async fn describe<C: Camera>(&self, name: &str, cam: &C, hdf: &Hdf5Plugin) -> Result<DataMap<DataKey>> {
        let mut keys = DataMap::new();
        let Some(file) = hdf.file() else {
            return Ok(keys);
        };
        let (frames, per_event) = futures::try_join!(cam.frame_info(), cam.num_images().get())?;
        let per_event = u64::try_from(per_event).unwrap_or(1).max(1);
        let shape: Vec<usize> = std::iter::once(per_event as usize).chain(frames.shape.iter().copied()).collect();
        {
            let mut reported = self.lock();
            reported.frames_per_event = per_event;
            reported.chunk_shape = shape.iter().map(|&d| d as i64).collect();
        }
        let mut key = DataKey::new(file.uri(), Dtype::Array, shape);
        key.dtype_numpy = Some(frames.dtype_numpy().to_owned());
        key.external = Some("STREAM:".to_owned());
        keys.insert(name.into(), key);
        Ok(keys)
    }

    /// The resource of the current file (once per file, first) and a
    /// datum for the events whose frames were written since the last call.
    pub async fn collect(&self, name: &str, hdf: &Hdf5Plugin) -> Result<Vec<StreamAsset>> {
        let Some(file) = hdf.file() else {
            return Ok(Vec::new());
        };
        let written = hdf.frames_written().await?;
        let mut reported = self.lock();
        let mut assets = Vec::new();
        let fresh = reported.resource.as_ref().is_none_or(|(full_name, _)| *full_name != file.full_file_name);
        if fresh {
            let uid = uuid::Uuid::new_v4().to_string();
            assets.push(StreamAsset::Resource(StreamResource {
                uid: uid.clone(),
                data_key: name.to_owned(),
                mimetype: HDF5_MIMETYPE.to_owned(),
                uri: file.uri(),
                parameters: vec![
                    ("dataset".to_owned(), Value::String(file.dataset.to_owned())),
                    ("chunk_shape".to_owned(), Value::IntArray(reported.chunk_shape.clone())),
                ],
            }));
            reported.resource = Some((file.full_file_name.clone(), uid));
            reported.events = 0;
        }
        let events = written / reported.frames_per_event.max(1);
        if events > reported.events {
            let uid = &reported.resource.as_ref().expect("made above").1;
            assets.push(StreamAsset::Datum(StreamDatum {
                stream_resource: uid.clone(),
                uid: format!("{uid}/{}", reported.events),
                indices: reported.events..events,
            }));
            reported.events = events;
        }
        Ok(assets)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Reported> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

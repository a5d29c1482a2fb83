//! Where a file-writing detector's frames are: the stream assets of an
//! [`Hdf5Plugin`] writing each run to a file (see [`HdfWriter`]), as
//! ophyd-async's HDF writer reports them to bluesky — one `StreamResource`
//! per file, a `StreamDatum` per event for the frames written since.
//!
//! [`HdfWriter`]: crate::HdfWriter

use std::sync::Mutex;
use std::time::Duration;

use ophyd_core::{
    DataKey, DataMap, Dtype, DynComponent, Error, Result, Signal, StreamAsset, StreamDatum, StreamResource, Value,
};

use crate::cam::Camera;
use crate::plugins::{Hdf5Plugin, HdfFile};

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
///         self.frames.collect(self.name(), &self.cam, &self.hdf1).await
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
    /// The file described (its [`HdfFile::uid`]) and how.
    described: Option<(String, Layout)>,
    /// The file whose resource was made (its uid), and the resource's uid.
    resource: Option<(String, String)>,
    /// Events whose frames were reported in a datum.
    events: u64,
}

/// How a run's frames lie in its file.
#[derive(Clone, Debug)]
struct Layout {
    /// Frames one event takes: 1 in Single image mode, else `NumImages`.
    frames_per_event: u64,
    /// The data key's shape: `[frames per event, *frame]`.
    shape: Vec<usize>,
    /// The numpy dtype of the elements.
    dtype_numpy: &'static str,
    /// A chunk of the dataset: `[NumFramesChunks (at least 1), *frame]`.
    chunk_shape: Vec<i64>,
}

/// The HDF5 mimetype of a `StreamResource` (ophyd-async's).
pub const HDF5_MIMETYPE: &str = "application/x-hdf5";

/// How long [`HdfStream::collect`] waits for an event's frames to be
/// written (ophyd-async waits too: a plugin may lag the camera).
pub const FRAMES_WRITTEN_TIMEOUT: Duration = Duration::from_secs(10);

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
        let layout = self.layout(&file, cam, hdf).await?;
        let mut key = DataKey::new(file.uri(), Dtype::Array, layout.shape.clone());
        key.dtype_numpy = Some(layout.dtype_numpy.to_owned());
        key.external = Some("STREAM:".to_owned());
        keys.insert(name.into(), key);
        Ok(keys)
    }

    /// The resource of the current file (once per file, first) and a
    /// datum for this event: its frames are waited for (at most
    /// [`FRAMES_WRITTEN_TIMEOUT`]); a capture that stopped, or a frame
    /// count that went backwards, is an error naming the plugin's PVs.
    pub async fn collect<C: Camera>(&self, name: &str, cam: &C, hdf: &Hdf5Plugin) -> Result<Vec<StreamAsset>> {
        let Some(file) = hdf.file() else {
            return Ok(Vec::new());
        };
        let layout = self.layout(&file, cam, hdf).await?;
        let mut assets = Vec::new();
        let reported_events = {
            let mut reported = self.lock();
            if reported.resource.as_ref().is_none_or(|(file_uid, _)| *file_uid != file.uid) {
                let uid = uuid::Uuid::new_v4().to_string();
                assets.push(StreamAsset::Resource(StreamResource {
                    uid: uid.clone(),
                    data_key: name.to_owned(),
                    mimetype: HDF5_MIMETYPE.to_owned(),
                    uri: file.uri(),
                    parameters: vec![
                        ("dataset".to_owned(), Value::String(file.dataset.to_owned())),
                        ("chunk_shape".to_owned(), Value::IntArray(layout.chunk_shape.clone())),
                    ],
                }));
                reported.resource = Some((file.uid.clone(), uid));
                reported.events = 0;
            }
            reported.events
        };
        let written = frames_written(hdf, (reported_events + 1) * layout.frames_per_event).await?;
        if written < reported_events * layout.frames_per_event {
            return Err(Error::Get {
                signal: hdf.num_captured.name().to_owned(),
                pv: hdf.num_captured.read_pv().to_owned(),
                reason: format!(
                    "{written} frames captured, fewer than the {} already reported: the file was restarted",
                    reported_events * layout.frames_per_event
                ),
            });
        }
        let events = written / layout.frames_per_event;
        let mut reported = self.lock();
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

    /// How `file`'s frames lie, read from the camera and plugin once per file.
    async fn layout<C: Camera>(&self, file: &HdfFile, cam: &C, hdf: &Hdf5Plugin) -> Result<Layout> {
        if let Some((uid, layout)) = &self.lock().described {
            if *uid == file.uid {
                return Ok(layout.clone());
            }
        }
        let (frames, mode, images, chunk_frames) = futures::try_join!(
            cam.frame_info(),
            cam.image_mode().get(),
            cam.num_images().get(),
            hdf.num_frames_chunks.get()
        )?;
        let frames_per_event = match mode.index() {
            Some(0) => 1, // Single
            _ => u64::try_from(images).unwrap_or(1).max(1),
        };
        let shape: Vec<usize> =
            std::iter::once(frames_per_event as usize).chain(frames.shape.iter().copied()).collect();
        let chunk_shape =
            std::iter::once(i64::from(chunk_frames.max(1))).chain(frames.shape.iter().map(|&d| d as i64)).collect();
        let layout = Layout { frames_per_event, shape, dtype_numpy: frames.dtype_numpy(), chunk_shape };
        self.lock().described = Some((file.uid.clone(), layout.clone()));
        Ok(layout)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Reported> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `NumCaptured_RBV` once it reaches `expected`; sooner if capture stopped
/// (then an error with the plugin's `WriteMessage`).
async fn frames_written(hdf: &Hdf5Plugin, expected: u64) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + FRAMES_WRITTEN_TIMEOUT;
    loop {
        let written = hdf.frames_written().await?;
        if written >= expected {
            return Ok(written);
        }
        if hdf.capture.get().await?.index() != Some(1) {
            let message = hdf.write_message.get().await.unwrap_or_default();
            return Err(Error::Failed {
                what: format!("writing the frames of `{}` to its file", hdf.name()),
                reason: format!("capture stopped after {written} of {expected} frames: {message}"),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("frame {expected} in the file of `{}` ({})", hdf.name(), hdf.num_captured.read_pv()),
                after: FRAMES_WRITTEN_TIMEOUT,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

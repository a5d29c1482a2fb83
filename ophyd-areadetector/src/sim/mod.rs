//! The simulated areaDetector: a camera and its plugins on the
//! [simulated IOC](ophyd_epics::sim::SimIoc), under ADCore's PV names,
//! acquiring frames and writing real HDF5 files, with nothing installed.
//!
//! [`add_sim_detector`] adds, under a prefix (`13SIM1:`, as ADSimDetector's
//! example IOC has it):
//!
//! - `cam1:`, the camera (asyn port `SIM1`): ADBase's records and
//!   simDetector's. `Acquire` is a busy record: a put of 1 starts an
//!   acquisition (`DetectorState_RBV` `Acquire`, `Acquire_RBV` 1) and
//!   completes when it ends (back to `Idle`, 0). It makes one frame in
//!   `Single` image mode, `NumImages` in `Multiple`, frames until `Acquire`
//!   is set to 0 in `Continuous`; each takes the longer of `AcquireTime` and
//!   `AcquirePeriod`, on tokio's clock (a test with a paused clock runs at
//!   once). Each frame adds 1 to `ArrayCounter` (its unique id) and
//!   `NumImagesCounter_RBV`, sets `ArraySize{X,Y,Z}_RBV`, and, while
//!   `ArrayCallbacks` is `Enable`, goes to every enabled plugin whose
//!   `NDArrayPort` is `SIM1`. A put of 0 stops the acquisition.
//! - The frame is [`Frame::pattern`]: the element at column `x`, row `y`
//!   is `Gain × (MinX + x + MinY + y + unique id)` as `DataType` holds it,
//!   over the region `SizeX` × `SizeY` from `MinX`, `MinY` (clamped to the
//!   sensor, divided by `BinX`, `BinY`), so a test can predict its
//!   statistics. Only `Mono` frames are made; `SimMode`, the peaks, noise
//!   and reversal PVs are served but do not change the image.
//! - `image1:` (port `IMAGE1`, NDStdArrays): each frame it gets into
//!   `ArrayData`.
//! - `Stats1:` (port `STATS1`, NDStats): with `ComputeStatistics` `Yes`,
//!   `Total`, `MinValue`, `MaxValue`, `MeanValue`, `Sigma`, `Net` (less the
//!   mean of the `BgdWidth` edges) and where the extremes are; with
//!   `ComputeCentroid` `Yes`, `Centroid{X,Y}`, `Sigma{X,Y}`, `SigmaXY` of the
//!   elements at or above `CentroidThreshold` (all `_RBV`). The histogram
//!   and profiles are not computed.
//! - `ROI1:` to `ROI4:` (ports `ROI1`..): the region `Min`, `Size`, `Bin`
//!   of each dimension (all of it where `Enable` is `Disable`), divided by
//!   `Scale` when `EnableScale`, passed on to the plugins whose
//!   `NDArrayPort` is the ROI's (set `Stats1:NDArrayPort` to `ROI1` for the
//!   statistics of a region).
//! - `HDF1:` (port `FileHDF1`, NDFileHDF5): see [`sim::file`](self#the-hdf5-plugin).
//!
//! Every plugin keeps the `NDPluginBase` read-backs of the last array
//! (`ArrayCounter`, `UniqueId_RBV`, `ArraySize{0,1,2}_RBV`,
//! `NDimensions_RBV`, `DataType_RBV`, ...) and processes it in the camera's
//! acquisition, before the frame is done: callbacks always block here.
//!
//! # The HDF5 plugin
//!
//! - `FilePath`: read back with a trailing `/`. When the directory does not
//!   exist, `CreateDirectory` says how much of it the IOC makes, as ADCore
//!   does: a negative `-n` up to its last `n` directories, a positive `n`
//!   every directory past the first `n`, 0 none. `FilePathExists_RBV` says
//!   whether it exists then; if not, `WriteStatus` is `Write error` and
//!   `WriteMessage` says so.
//! - `FileTemplate` is applied to `FilePath`, `FileName` and `FileNumber`
//!   as C's `printf` would ([`format_file_template`](crate::format_file_template))
//!   when a file is opened, into `FullFileName_RBV`; then `FileNumber`
//!   goes up by 1 if `AutoIncrement` is `Yes`.
//! - `FileWriteMode` `Stream`: `Capture` 1 opens the file (on the first
//!   frame if `LazyOpen` is `Yes`), each frame is appended to
//!   `/entry/data/data`, `[frames, height, width]`, chunked one frame a
//!   chunk, and flushed, so the file is readable while it is written
//!   (SWMR: h5py's `swmr=True`); `NumCaptured_RBV` counts them. Capture
//!   ends, closing the file, at `NumCapture` frames (0: no limit) or when
//!   `Capture` is set to 0; the put of `Capture` 1 completes then.
//!   `Capture` mode keeps the frames until `NumCapture` are captured, then
//!   writes them to one file; `Single` mode writes each frame to its own
//!   file when `AutoSave` is `Yes`, or the last one on `WriteFile` 1.
//! - A file that cannot be opened or written: `WriteStatus` `Write error`,
//!   `WriteMessage` why, capture ends.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use ophyd_areadetector::sim::{add_sim_detector, SimDetectorOptions};
//! use ophyd_areadetector::DataType;
//! use ophyd_epics::sim::SimIoc;
//! let ioc = SimIoc::new();
//! add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(64, 48).data_type(DataType::UInt8));
//! assert_eq!(ioc.get_f64("13SIM1:cam1:MaxSizeX_RBV"), Some(64.0));
//! assert_eq!(ioc.get_text("13SIM1:Stats1:NDArrayPort").as_deref(), Some("SIM1"));
//! assert!(ioc.pv_names().contains(&"13SIM1:HDF1:FullFileName_RBV".to_owned()));
//! # }
//! ```

pub(crate) mod file;
mod frame;
mod records;

pub use frame::{Frame, Region, Span, Statistics};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use ophyd_core::Value;
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::NativeType;
use tokio::sync::watch;

use crate::DataType;

/// How a plugin passes arrays on to plugins of plugins, at most this deep
/// (a plugin whose source is itself must not loop forever).
const MAX_PIPELINE_DEPTH: usize = 8;

/// What the simulated detector is made with.
///
/// ```
/// use ophyd_areadetector::sim::SimDetectorOptions;
/// use ophyd_areadetector::DataType;
/// let options = SimDetectorOptions::default().size(640, 480).data_type(DataType::UInt8).rois(2);
/// assert_eq!(options.sensor_size(), (640, 480));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SimDetectorOptions {
    size: (usize, usize),
    data_type: DataType,
    rois: usize,
}

impl Default for SimDetectorOptions {
    /// A 1024 × 1024 sensor of `UInt16` elements (ADSimDetector's size),
    /// and four ROI plugins.
    fn default() -> Self {
        SimDetectorOptions { size: (1024, 1024), data_type: DataType::UInt16, rois: 4 }
    }
}

impl SimDetectorOptions {
    /// The sensor's size: `MaxSizeX_RBV` × `MaxSizeY_RBV`, and the region
    /// (`SizeX` × `SizeY`) it starts with.
    pub fn size(mut self, width: usize, height: usize) -> SimDetectorOptions {
        self.size = (width.max(1), height.max(1));
        self
    }

    /// The `DataType` it starts with.
    pub fn data_type(mut self, data_type: DataType) -> SimDetectorOptions {
        self.data_type = data_type;
        self
    }

    /// How many ROI plugins (`ROI1:` ...), 0 to 4.
    pub fn rois(mut self, rois: usize) -> SimDetectorOptions {
        self.rois = rois.min(4);
        self
    }

    /// The sensor's size.
    pub fn sensor_size(&self) -> (usize, usize) {
        self.size
    }
}

/// A handle on a simulated areaDetector, for what a test does to the
/// hardware itself (see [`add_sim_detector`]).
#[derive(Clone)]
pub struct SimAreaDetector {
    detector: Arc<Detector>,
    prefix: String,
}

impl SimAreaDetector {
    /// The detector's PV prefix (`13SIM1:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Refuse every `Acquire` put of 1 with `reason` (as a detector in an
    /// error state refuses), or, with `None`, take them again.
    pub fn refuse_acquire(&self, reason: Option<&str>) {
        *crate::sim::lock(&self.detector.refusal) = reason.map(str::to_owned);
    }

    /// Whether an acquisition is running.
    pub fn acquiring(&self) -> bool {
        *self.detector.acquiring.borrow()
    }
}

/// Add a simulated areaDetector to `ioc` under `prefix` (see the [module
/// documentation](self) for its PVs and what they do).
pub fn add_sim_detector(ioc: &SimIoc, prefix: &str, options: SimDetectorOptions) -> SimAreaDetector {
    let cam = format!("{prefix}cam1:");
    let mut plugins = vec![
        Plugin {
            prefix: format!("{prefix}image1:"),
            port: "IMAGE1".into(),
            kind: PluginKind::Image { capacity: options.size.0 * options.size.1 },
        },
        Plugin { prefix: format!("{prefix}Stats1:"), port: "STATS1".into(), kind: PluginKind::Stats },
    ];
    for n in 1..=options.rois {
        plugins.push(Plugin { prefix: format!("{prefix}ROI{n}:"), port: format!("ROI{n}"), kind: PluginKind::Roi });
    }
    let hdf = Arc::new(file::FileWriter::new(format!("{prefix}HDF1:")));
    plugins.push(Plugin {
        prefix: format!("{prefix}HDF1:"),
        port: "FileHDF1".into(),
        kind: PluginKind::Hdf5(hdf.clone()),
    });
    let detector = Arc::new(Detector {
        cam: cam.clone(),
        port: "SIM1".into(),
        plugins,
        refusal: Mutex::new(None),
        generation: watch::Sender::new(0),
        acquiring: watch::Sender::new(false),
    });

    records::add_camera(ioc, &cam, &detector.port, options.size, options.data_type.index());
    let on_acquire = detector.clone();
    records::add_busy(ioc, &format!("{cam}Acquire"), "Acquire", "Acquiring");
    ioc.set_put_handler(&format!("{cam}Acquire"), move |ioc, value| on_acquire.on_acquire(ioc, value));

    for plugin in &detector.plugins {
        let (own, plugin_type) = match plugin.kind {
            PluginKind::Image { .. } => (&[][..], "NDPluginStdArrays"),
            PluginKind::Stats => (records::STATS, "NDPluginStats"),
            PluginKind::Roi => (records::ROI, "NDPluginROI"),
            PluginKind::Hdf5(_) => (records::HDF5, "NDFileHDF5"),
        };
        records::add_plugin(ioc, &plugin.prefix, &plugin.port, &detector.port, plugin_type, own);
    }
    let (width, height) = options.size;
    let native = if options.data_type.is_float() { NativeType::Double } else { NativeType::Long };
    let array_data = format!("{prefix}image1:ArrayData");
    match native {
        NativeType::Double => ioc.add(PvSpec::waveform(&array_data, Vec::new(), width * height)),
        _ => ioc.add(PvSpec::int_waveform(&array_data, native, Vec::new(), width * height)),
    };
    hdf.add_records(ioc);
    SimAreaDetector { detector, prefix: prefix.to_owned() }
}

/// A lock that a panic elsewhere does not poison.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A simulated detector: its camera's state and its plugins. It holds no
/// [`SimIoc`] (the IOC holds it, in its put handlers): each call is given
/// the IOC.
struct Detector {
    /// The camera's prefix.
    cam: String,
    /// The camera's asyn port.
    port: String,
    plugins: Vec<Plugin>,
    refusal: Mutex<Option<String>>,
    /// Goes up when an acquisition starts or is stopped: an acquisition
    /// whose generation is no longer the current one ends.
    generation: watch::Sender<u64>,
    acquiring: watch::Sender<bool>,
}

struct Plugin {
    prefix: String,
    port: String,
    kind: PluginKind,
}

enum PluginKind {
    /// NDStdArrays, whose `ArrayData` holds this many elements.
    Image {
        capacity: usize,
    },
    Stats,
    Roi,
    Hdf5(Arc<file::FileWriter>),
}

/// `pv` as a non-negative count (0 if missing or negative).
fn count(ioc: &SimIoc, pv: &str) -> usize {
    ioc.get_f64(pv).map_or(0, |x| if x > 0.0 { x as usize } else { 0 })
}

impl Detector {
    fn cam_pv(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.cam)
    }

    /// What a client's put to `Acquire` does.
    fn on_acquire(self: &Arc<Self>, ioc: &SimIoc, value: &Value) -> PutAction {
        if value.as_f64() == Some(0.0) {
            if *self.acquiring.borrow() {
                self.stop(ioc);
            }
            return PutAction::accept(value);
        }
        if let Some(reason) = lock(&self.refusal).clone() {
            return PutAction::Refuse(reason);
        }
        if *self.acquiring.borrow() {
            // As a busy record: this put completes when the acquisition does.
            let mut acquiring = self.acquiring.subscribe();
            let done = async move {
                let _ = acquiring.wait_for(|running| !running).await;
                Ok(())
            };
            return PutAction::Write { value: Value::Int(1), completion: Some(done.boxed()) };
        }
        let generation = {
            let mut current = 0;
            self.generation.send_modify(|g| {
                *g += 1;
                current = *g;
            });
            current
        };
        self.acquiring.send_replace(true);
        ioc.write(&self.cam_pv("Acquire_RBV"), 1);
        ioc.write(&self.cam_pv("DetectorState_RBV"), 1);
        ioc.write(&self.cam_pv("NumImagesCounter_RBV"), 0);
        let (detector, ioc) = (self.clone(), ioc.clone());
        let acquisition = async move {
            detector.acquire(&ioc, generation).await;
            Ok(())
        };
        PutAction::Write { value: Value::Int(1), completion: Some(acquisition.boxed()) }
    }

    /// Stop the running acquisition (a put of `Acquire` 0).
    fn stop(&self, ioc: &SimIoc) {
        self.generation.send_modify(|g| *g += 1);
        self.idle(ioc);
    }

    fn idle(&self, ioc: &SimIoc) {
        ioc.write(&self.cam_pv("DetectorState_RBV"), 0);
        ioc.write(&self.cam_pv("Acquire"), 0);
        ioc.write(&self.cam_pv("Acquire_RBV"), 0);
        self.acquiring.send_replace(false);
    }

    /// Make the frames of one acquisition, until it is done or stopped.
    async fn acquire(&self, ioc: &SimIoc, generation: u64) {
        let mut stopped = self.generation.subscribe();
        let frames = match ioc.get_f64(&self.cam_pv("ImageMode")) {
            Some(0.0) => 1,
            Some(1.0) => count(ioc, &self.cam_pv("NumImages")).max(1),
            _ => usize::MAX,
        };
        for n in 1..=frames {
            let time = ioc.get_f64(&self.cam_pv("AcquireTime")).unwrap_or(0.0);
            let period = ioc.get_f64(&self.cam_pv("AcquirePeriod")).unwrap_or(0.0);
            let each = Duration::try_from_secs_f64(time.max(period)).unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(each) => {}
                _ = stopped.wait_for(|g| *g != generation) => return,
            }
            if *self.generation.borrow() != generation {
                return;
            }
            let frame = self.frame(ioc);
            ioc.write(&self.cam_pv("ArrayCounter"), frame.unique_id);
            ioc.write(&self.cam_pv("ArrayCounter_RBV"), frame.unique_id);
            ioc.write(&self.cam_pv("NumImagesCounter_RBV"), n as i64);
            ioc.write(&self.cam_pv("ArraySizeX_RBV"), frame.width as i64);
            ioc.write(&self.cam_pv("ArraySizeY_RBV"), frame.height as i64);
            ioc.write(&self.cam_pv("ArraySizeZ_RBV"), 0);
            ioc.write(&self.cam_pv("ArraySize_RBV"), (frame.pixels.len() * frame.data_type.size()) as i64);
            if ioc.get_f64(&self.cam_pv("ArrayCallbacks")) == Some(1.0) {
                self.deliver(ioc, &frame, &self.port, 0);
            }
        }
        if *self.generation.borrow() == generation {
            self.idle(ioc);
        }
    }

    /// The next frame, of the region and settings the camera has now.
    fn frame(&self, ioc: &SimIoc) -> Frame {
        let pv = |suffix: &str| self.cam_pv(suffix);
        let (max_x, max_y) = (count(ioc, &pv("MaxSizeX_RBV")), count(ioc, &pv("MaxSizeY_RBV")));
        let x = Span::clamped(
            max_x,
            count(ioc, &pv("MinX")) as i64,
            count(ioc, &pv("SizeX")) as i64,
            count(ioc, &pv("BinX")) as i64,
        );
        let y = Span::clamped(
            max_y,
            count(ioc, &pv("MinY")) as i64,
            count(ioc, &pv("SizeY")) as i64,
            count(ioc, &pv("BinY")) as i64,
        );
        let data_type =
            ioc.get_f64(&pv("DataType")).and_then(|i| DataType::from_index(i as u16)).unwrap_or(DataType::UInt16);
        let gain = ioc.get_f64(&pv("Gain")).unwrap_or(1.0);
        let unique_id = ioc.get_f64(&pv("ArrayCounter")).unwrap_or(0.0) as i32 + 1;
        Frame::pattern(x.out(), y.out(), (x.min, y.min), gain, data_type, unique_id)
    }

    /// Give `frame`, from asyn port `port`, to every enabled plugin that
    /// takes its arrays from there.
    fn deliver(&self, ioc: &SimIoc, frame: &Frame, port: &str, depth: usize) {
        if depth >= MAX_PIPELINE_DEPTH {
            return;
        }
        for plugin in &self.plugins {
            let pv = |suffix: &str| format!("{}{suffix}", plugin.prefix);
            let from_here = ioc.get_text(&pv("NDArrayPort")).is_some_and(|source| source == port);
            if from_here && ioc.get_f64(&pv("EnableCallbacks")) == Some(1.0) {
                if let Some(out) = plugin.process(ioc, frame) {
                    self.deliver(ioc, &out, &plugin.port, depth + 1);
                }
            }
        }
    }
}

impl Plugin {
    fn pv(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// Take `frame`: the read-backs every plugin keeps, then the plugin's
    /// own work; the array it passes on, for an ROI.
    fn process(&self, ioc: &SimIoc, frame: &Frame) -> Option<Frame> {
        let counter = ioc.get_f64(&self.pv("ArrayCounter")).unwrap_or(0.0) as i64 + 1;
        ioc.write(&self.pv("ArrayCounter"), counter);
        ioc.write(&self.pv("ArrayCounter_RBV"), counter);
        ioc.write(&self.pv("UniqueId_RBV"), frame.unique_id);
        ioc.write(&self.pv("TimeStamp_RBV"), frame.timestamp);
        ioc.write(&self.pv("ArraySize0_RBV"), frame.width as i64);
        ioc.write(&self.pv("ArraySize1_RBV"), frame.height as i64);
        ioc.write(&self.pv("ArraySize2_RBV"), 0);
        ioc.write(&self.pv("NDimensions_RBV"), 2);
        ioc.write(&self.pv("Dimensions_RBV"), Value::IntArray(vec![frame.width as i64, frame.height as i64, 0]));
        ioc.write(&self.pv("DataType_RBV"), Value::Int(frame.data_type.index().into()));
        ioc.write(&self.pv("ColorMode_RBV"), 0);
        match &self.kind {
            PluginKind::Image { capacity } => {
                let kept = frame.pixels.len().min(*capacity);
                ioc.write(&self.pv("ArrayData"), Value::FloatArray(frame.pixels[..kept].to_vec()));
                None
            }
            PluginKind::Stats => {
                self.statistics(ioc, frame);
                None
            }
            PluginKind::Roi => Some(self.region(ioc, frame)),
            PluginKind::Hdf5(writer) => {
                writer.take(ioc, frame);
                None
            }
        }
    }

    fn statistics(&self, ioc: &SimIoc, frame: &Frame) {
        let yes = |suffix: &str| ioc.get_f64(&self.pv(suffix)) == Some(1.0);
        ioc.write(&self.pv("MaxSizeX"), frame.width as i64);
        ioc.write(&self.pv("MaxSizeY"), frame.height as i64);
        if !yes("ComputeStatistics") && !yes("ComputeCentroid") {
            return;
        }
        let bgd_width = count(ioc, &self.pv("BgdWidth"));
        let threshold = ioc.get_f64(&self.pv("CentroidThreshold")).unwrap_or(0.0);
        let s = Statistics::of(frame, bgd_width, threshold);
        if yes("ComputeStatistics") {
            for (suffix, value) in [
                ("Total_RBV", s.total),
                ("MinValue_RBV", s.min),
                ("MaxValue_RBV", s.max),
                ("MeanValue_RBV", s.mean),
                ("Sigma_RBV", s.sigma),
                ("Net_RBV", s.net),
                ("MinX_RBV", s.min_xy.0),
                ("MinY_RBV", s.min_xy.1),
                ("MaxX_RBV", s.max_xy.0),
                ("MaxY_RBV", s.max_xy.1),
            ] {
                ioc.write(&self.pv(suffix), value);
            }
        }
        if yes("ComputeCentroid") {
            for (suffix, value) in [
                ("CentroidX_RBV", s.centroid.0),
                ("CentroidY_RBV", s.centroid.1),
                ("SigmaX_RBV", s.sigma_xy_axes.0),
                ("SigmaY_RBV", s.sigma_xy_axes.1),
                ("SigmaXY_RBV", s.sigma_xy),
            ] {
                ioc.write(&self.pv(suffix), value);
            }
        }
    }

    /// The region of `frame` the ROI's settings say, with its read-backs.
    fn region(&self, ioc: &SimIoc, frame: &Frame) -> Frame {
        let get = |suffix: &str| ioc.get_f64(&self.pv(suffix)).unwrap_or(0.0) as i64;
        let span = |axis: &str, length: usize| {
            if get(&format!("Enable{axis}")) == 0 {
                return Span { min: 0, size: length, bin: 1 };
            }
            let min = get(&format!("Min{axis}"));
            let size =
                if get(&format!("AutoSize{axis}")) == 1 { length as i64 - min } else { get(&format!("Size{axis}")) };
            Span::clamped(length, min, size, get(&format!("Bin{axis}")))
        };
        let region = Region { x: span("X", frame.width), y: span("Y", frame.height) };
        let scale = if get("EnableScale") == 1 {
            ioc.get_f64(&self.pv("Scale")).filter(|s| *s != 0.0).unwrap_or(1.0)
        } else {
            1.0
        };
        let data_type = DataType::from_index(get("DataTypeOut") as u16).unwrap_or(frame.data_type);
        let out = region.cut(frame, scale, data_type);
        for (suffix, value) in [
            ("MaxSizeX_RBV", frame.width),
            ("MaxSizeY_RBV", frame.height),
            ("MaxSizeZ_RBV", 0),
            ("ArraySizeX_RBV", out.width),
            ("ArraySizeY_RBV", out.height),
            ("ArraySizeZ_RBV", 0),
            ("MaxX", frame.width),
            ("MaxY", frame.height),
        ] {
            ioc.write(&self.pv(suffix), value as i64);
        }
        out
    }
}

#[cfg(test)]
mod tests;

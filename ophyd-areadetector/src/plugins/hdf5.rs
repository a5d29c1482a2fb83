//! [`Hdf5Plugin`]: NDFileHDF5, and [`HdfWriter`], the file writing of a
//! detector that writes each run to a new HDF5 file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_core::{Device, Enum, Error, Result, Signal, Stage, Writable};

use crate::plugin_base;
use crate::template::format_file_template;

/// Where NDFileHDF5 writes the frames, in the layout of ADCore's default
/// (and ophyd-async's `StreamResource` `dataset` parameter).
pub const DATASET: &str = "/entry/data/data";

/// How long starting or stopping capture may take before staging gives up.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(10);

plugin_base! {
    #![device(custom(stage))]
    /// ophyd's `HDF5Plugin_V34` (NDFileHDF5): ophyd's `FilePlugin`
    /// components (`file_path`, `file_name`, `capture`, ...) and HDF5's own,
    /// `create_directory` and the SWMR ones included.
    ///
    /// Declared as is, it stages as any plugin (enabled, blocking). Told to
    /// [write files](Hdf5Plugin::write_files), each stage sets it up to
    /// stream every frame of the run to a new file (see [`HdfWriter`]), and
    /// each unstage stops capture and puts every setting back.
    ///
    /// ophyd's extra-dimension, position-mode, Blosc, sorting and threading
    /// components are left out (see [`plugin_base!`](crate::plugin_base));
    /// its file components come after the plugin's here, where ophyd lists
    /// them first.
    pub struct Hdf5Plugin {
        /// `AutoIncrement` (`No`/`Yes`): add 1 to `file_number` after each file.
        #[component(suffix = "AutoIncrement", kind = "omitted")]
        pub auto_increment: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `AutoSave` (`No`/`Yes`): in `Single` mode, write each array.
        #[component(suffix = "AutoSave", kind = "omitted")]
        pub auto_save: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `Capture` (`Done`/`Capture`): a busy record; in `Capture` and
        /// `Stream` mode, capturing until `num_capture` arrays or until set to 0.
        #[component(suffix = "Capture", kind = "omitted")]
        pub capture: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `DeleteDriverFile` (`No`/`Yes`).
        #[component(suffix = "DeleteDriverFile", kind = "omitted")]
        pub delete_driver_file: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `FileFormat`.
        #[component(suffix = "FileFormat", kind = "omitted")]
        pub file_format: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `FileName` (a long string).
        #[component(suffix = "FileName", kind = "omitted")]
        pub file_name: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `FileNumber`.
        #[component(suffix = "FileNumber", kind = "omitted")]
        pub file_number: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `FilePath` (a long string; ophyd's `EpicsPathSignal`). The IOC
        /// reads it back with a trailing `/`: write directories with one.
        #[component(suffix = "FilePath", kind = "omitted")]
        pub file_path: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `FilePathExists_RBV` (`No`/`Yes`).
        #[component(suffix = "FilePathExists_RBV", kind = "omitted")]
        pub file_path_exists: ophyd_epics::EpicsSignalRO<Enum>,
        /// `FileTemplate` (a long string): the C format of the full file
        /// name, of `file_path`, `file_name` and `file_number` (see
        /// [`format_file_template`](crate::format_file_template)).
        #[component(suffix = "FileTemplate", kind = "omitted")]
        pub file_template: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `FileWriteMode` (`Single`, `Capture`, `Stream`): see [`FileWriteMode`].
        #[component(suffix = "FileWriteMode", kind = "omitted")]
        pub file_write_mode: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `FullFileName_RBV` (a long string): the file last opened.
        #[component(suffix = "FullFileName_RBV", kind = "omitted")]
        pub full_file_name: ophyd_epics::EpicsSignalRO<String>,
        /// `NumCapture`: arrays to capture (`Stream`: 0 is no limit).
        #[component(suffix = "NumCapture", kind = "omitted")]
        pub num_capture: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `NumCaptured_RBV`: arrays captured (`Stream`: written) since capture started.
        #[component(suffix = "NumCaptured_RBV", kind = "omitted")]
        pub num_captured: ophyd_epics::EpicsSignalRO<i32>,
        /// `ReadFile` (busy).
        #[component(suffix = "ReadFile", kind = "omitted")]
        pub read_file: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `WriteFile` (busy): write the arrays captured, or in `Single` mode the last.
        #[component(suffix = "WriteFile", kind = "omitted")]
        pub write_file: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `WriteMessage` (a long string): why the last write failed.
        #[component(suffix = "WriteMessage", kind = "omitted")]
        pub write_message: ophyd_epics::EpicsSignal<String>,
        /// `WriteStatus` (`Write OK`/`Write error`).
        #[component(suffix = "WriteStatus", kind = "omitted")]
        pub write_status: ophyd_epics::EpicsSignal<Enum>,
        /// `Compression` (`None`, `N-bit`, `szip`, `zlib`, ...).
        #[component(suffix = "Compression", kind = "omitted")]
        pub compression: ophyd_epics::EpicsSignalWithRbv<Enum>,
        /// `NumColChunks`.
        #[component(suffix = "NumColChunks", kind = "omitted")]
        pub num_col_chunks: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `NumExtraDims`.
        #[component(suffix = "NumExtraDims", kind = "omitted")]
        pub num_extra_dims: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `NumFramesChunks`: frames per chunk.
        #[component(suffix = "NumFramesChunks", kind = "omitted")]
        pub num_frames_chunks: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `NumFramesFlush`.
        #[component(suffix = "NumFramesFlush", kind = "omitted")]
        pub num_frames_flush: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `NumRowChunks`.
        #[component(suffix = "NumRowChunks", kind = "omitted")]
        pub num_row_chunks: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `StoreAttr` (`No`/`Yes`), as its label.
        #[component(suffix = "StoreAttr", kind = "omitted")]
        pub store_attr: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `StorePerform` (`No`/`Yes`), as its label.
        #[component(suffix = "StorePerform", kind = "omitted")]
        pub store_perform: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `ZLevel`.
        #[component(suffix = "ZLevel", kind = "omitted")]
        pub zlevel: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `LazyOpen` (`No`/`Yes`), as its label: open the file on the first
        /// array rather than when capture starts.
        #[component(suffix = "LazyOpen", kind = "omitted")]
        pub lazy_open: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `CreateDirectory`: when a `file_path` is written that does not
        /// exist, a negative `-n` makes up to its last `n` directories, a
        /// positive `n` every directory past the first `n`, 0 none.
        #[component(suffix = "CreateDirectory", kind = "omitted")]
        pub create_directory: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `TempSuffix`.
        #[component(suffix = "TempSuffix", kind = "omitted")]
        pub temp_suffix: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `SWMRActive_RBV` (`Off`/`Active`), as its label.
        #[component(suffix = "SWMRActive_RBV", kind = "omitted")]
        pub swmr_active: ophyd_epics::EpicsSignalRO<String>,
        /// `SWMRCbCounter_RBV`.
        #[component(suffix = "SWMRCbCounter_RBV", kind = "omitted")]
        pub swmr_cb_counter: ophyd_epics::EpicsSignalRO<i32>,
        /// `SWMRMode` (`Off`/`On`), as its label: a file readable while it
        /// is written.
        #[component(suffix = "SWMRMode", kind = "omitted")]
        pub swmr_mode: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `SWMRSupported_RBV`, as its label.
        #[component(suffix = "SWMRSupported_RBV", kind = "omitted")]
        pub swmr_supported: ophyd_epics::EpicsSignalRO<String>,
        /// `XMLFileName` (a long string): the layout file, empty for the default.
        #[component(suffix = "XMLFileName", kind = "omitted")]
        pub xml_file_name: ophyd_epics::EpicsSignalWithRbv<String>,
        /// The file writing, once told to.
        writing: Writing,
    }
}

/// The `FileWriteMode` of a file plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileWriteMode {
    /// Each array to its own file (with `AutoSave`, or on `WriteFile`).
    Single,
    /// Arrays kept in memory while capturing, then written to one file.
    Capture,
    /// Arrays appended to one file as they arrive, while capturing.
    Stream,
}

impl FileWriteMode {
    /// The index in the enum.
    pub fn index(self) -> u16 {
        self as u16
    }

    /// The mode at `index` of the enum.
    pub fn from_index(index: u16) -> Option<FileWriteMode> {
        [FileWriteMode::Single, FileWriteMode::Capture, FileWriteMode::Stream].get(usize::from(index)).copied()
    }
}

/// How a file-writing detector writes each run: to a new HDF5 file in a
/// directory, every frame appended as it comes (`Stream` mode, as
/// ophyd-async's HDF writer does), the file readable while it is written
/// (SWMR).
///
/// Given to [`Hdf5Plugin::write_files`], it makes each stage of the plugin
/// (its detector's, in a run) set, and each unstage put back, in this
/// order: `CreateDirectory` (so that the directory is made when the path is
/// written), `FilePath` (the directory, with a trailing `/`), `FileName`
/// (a new one each run), `FileTemplate`, `AutoIncrement` `Yes`,
/// `FileNumber` 0, `FileWriteMode` `Stream`, `NumCapture` 0 (no limit),
/// `LazyOpen` `Yes` (the file is opened on the first frame) and `SWMRMode`
/// `On`; then it checks `FilePathExists_RBV` (an error naming the
/// directory, with everything put back, when the IOC could not make it)
/// and starts `Capture`. Unstaging stops capture (the IOC closes the file)
/// before putting the settings back.
///
/// ```
/// use ophyd_areadetector::HdfWriter;
/// let writer = HdfWriter::new("/data/2024-06-01").file_template("%s%s.h5").create_directories(-2);
/// assert_eq!(writer.directory(), std::path::Path::new("/data/2024-06-01"));
/// ```
#[derive(Clone)]
pub struct HdfWriter {
    directory: PathBuf,
    create_directories: i32,
    file_template: String,
    file_names: Arc<dyn Fn() -> String + Send + Sync>,
}

impl fmt::Debug for HdfWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HdfWriter")
            .field("directory", &self.directory)
            .field("create_directories", &self.create_directories)
            .field("file_template", &self.file_template)
            .finish_non_exhaustive()
    }
}

impl HdfWriter {
    /// Files in `directory` (on the IOC's file system), made if missing up
    /// to three levels deep (ophyd's `create_directory: -3`), named
    /// `<random name>_000000.h5` (ophyd's template `"%s%s_%6.6d.h5"`).
    pub fn new(directory: impl Into<PathBuf>) -> HdfWriter {
        HdfWriter {
            directory: directory.into(),
            create_directories: -3,
            file_template: "%s%s_%6.6d.h5".to_owned(),
            file_names: Arc::new(random_file_name),
        }
    }

    /// How many missing directories the IOC may make (`CreateDirectory`;
    /// see [`Hdf5Plugin::create_directory`]).
    pub fn create_directories(mut self, depth: i32) -> HdfWriter {
        self.create_directories = depth;
        self
    }

    /// The `FileTemplate` (ophyd-async's is `"%s%s.h5"`).
    pub fn file_template(mut self, template: &str) -> HdfWriter {
        self.file_template = template.to_owned();
        self
    }

    /// Name each run's file with `names()` (called once a stage) instead of
    /// a random name.
    pub fn file_names(mut self, names: impl Fn() -> String + Send + Sync + 'static) -> HdfWriter {
        self.file_names = Arc::new(names);
        self
    }

    /// The directory files are written to.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The directory as `FilePath` takes it, with a trailing `/`.
    fn file_path(&self) -> String {
        let mut path = self.directory.to_string_lossy().into_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        path
    }
}

/// A new file name: 16 random hexadecimal digits (ophyd names files with a
/// short random uid).
fn random_file_name() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The file of a run, while a file-writing [`Hdf5Plugin`] is staged: what
/// a `StreamResource` document points at.
///
/// With the camera's [`frame_info`](crate::Camera::frame_info) and
/// [`Hdf5Plugin::frames_written`], it is all an event-model
/// `StreamResource` and its `StreamDatum`s say, as ophyd-async fills them:
/// `uri` [`HdfFile::uri`], `mimetype` `"application/x-hdf5"`,
/// `parameters` `{"dataset": dataset, "chunk_shape": [NumFramesChunks, *frame]}`,
/// a data key of shape `[frames per event, *frame_info.shape]` and
/// `dtype_numpy` `frame_info.dtype_numpy()`, and after each trigger the
/// events whose frames were written since the last datum (see
/// [`HdfStream`](crate::HdfStream)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HdfFile {
    /// A new unique id at each stage: the run's file, even when two runs
    /// give their files the same name.
    pub uid: String,
    /// The directory, as written to `FilePath` (with a trailing `/`).
    pub directory: String,
    /// The run's `FileName`.
    pub name: String,
    /// The full file name: the template applied to the directory, the name
    /// and file number 0 (`FullFileName_RBV` once the file is opened).
    pub full_file_name: String,
    /// The dataset the frames are appended to, `[frames, height, width]`.
    pub dataset: &'static str,
}

impl HdfFile {
    /// The file as a URI: `file://localhost/data/...h5` (ophyd-async's form).
    pub fn uri(&self) -> String {
        format!("file://localhost{}", self.full_file_name)
    }
}

/// The file writing of an [`Hdf5Plugin`]: how (once told to), and the
/// current run's file and capture.
#[derive(Default)]
struct Writing(Mutex<WritingState>);

#[derive(Default)]
struct WritingState {
    writer: Option<HdfWriter>,
    file: Option<HdfFile>,
    /// Whether a capture this plugin started may still run: set before the
    /// write that starts it, cleared once it is stopped.
    capturing: bool,
}

impl Writing {
    fn state(&self) -> std::sync::MutexGuard<'_, WritingState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `stage_sigs` entries file writing adds, in order; the path and
/// name are each run's.
const WRITER_SIGS: [&str; 12] = [
    "create_directory",
    "file_path",
    "file_name",
    "file_template",
    "auto_increment",
    "file_number",
    "file_write_mode",
    "num_capture",
    "lazy_open",
    "swmr_mode",
    "num_extra_dims",
    "xml_file_name",
];

impl Hdf5Plugin {
    /// From the next stage on, write each run to a new file as `writer`
    /// says (see [`HdfWriter`]). Its settings join the plugin's
    /// `stage_sigs`, after its own.
    ///
    /// ```
    /// use ophyd_core::prelude::*;
    /// use ophyd_areadetector::{Hdf5Plugin, HdfWriter};
    /// let hdf1 = Hdf5Plugin::new("13SIM1:HDF1:", "hdf1");
    /// hdf1.write_files(HdfWriter::new("/data"))?;
    /// assert_eq!(hdf1.stage_sigs().paths()[..4], ["blocking_callbacks", "enable", "create_directory", "file_path"]);
    /// hdf1.stop_writing_files();
    /// assert_eq!(hdf1.stage_sigs().paths(), ["blocking_callbacks", "enable"]);
    /// # Ok::<(), ophyd_core::Error>(())
    /// ```
    pub fn write_files(&self, writer: HdfWriter) -> Result<()> {
        let sigs = self.stage_sigs();
        sigs.set(&self.create_directory, writer.create_directories)?;
        sigs.set(&self.file_path, writer.file_path())?;
        sigs.set(&self.file_name, String::new())?;
        sigs.set(&self.file_template, writer.file_template.clone())?;
        sigs.set(&self.auto_increment, 1)?; // Yes
        sigs.set(&self.file_number, 0)?;
        sigs.set(&self.file_write_mode, FileWriteMode::Stream.index())?;
        sigs.set(&self.num_capture, 0)?;
        sigs.set(&self.lazy_open, "Yes")?;
        sigs.set(&self.swmr_mode, "On")?;
        // The default layout, frames at `/entry/data/data` as
        // `[frames, height, width]`: what the run's documents say.
        sigs.set(&self.num_extra_dims, 0)?;
        sigs.set(&self.xml_file_name, String::new())?;
        self.writing.state().writer = Some(writer);
        Ok(())
    }

    /// Stop writing files from the next stage on (the settings leave the
    /// `stage_sigs`).
    pub fn stop_writing_files(&self) {
        for path in WRITER_SIGS {
            self.stage_sigs().remove(path);
        }
        self.writing.state().writer = None;
    }

    /// How each run is written, if it is.
    pub fn writer(&self) -> Option<HdfWriter> {
        self.writing.state().writer.clone()
    }

    /// The current run's file, while the plugin is staged to write one.
    pub fn file(&self) -> Option<HdfFile> {
        self.writing.state().file.clone()
    }

    /// Frames written to the current run's file so far (`NumCaptured_RBV`).
    pub async fn frames_written(&self) -> Result<u64> {
        Ok(u64::try_from(self.num_captured.get().await?).unwrap_or(0))
    }

    /// Start capture and wait until the IOC says it is capturing; an error
    /// with the IOC's `WriteMessage` if it stops instead.
    async fn start_capture(&self) -> Result<()> {
        let what = || format!("starting capture of `{}`", self.name());
        self.writing.state().capturing = true;
        self.capture.put(1).await?; // not put-complete: in Stream mode that is the end of capture
        let deadline = tokio::time::Instant::now() + CAPTURE_TIMEOUT;
        loop {
            let (capturing, status) = futures::try_join!(self.capture.get(), self.write_status.get())?;
            if capturing.index() == Some(1) {
                return Ok(());
            }
            if status.index() == Some(1) {
                let message = self.write_message.get().await.unwrap_or_default();
                return Err(Error::Failed { what: what(), reason: format!("the IOC's write failed: {message}") });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout { what: what(), after: CAPTURE_TIMEOUT });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stop the capture this plugin started, if it may still run.
    async fn stop_capture(&self) -> Result<()> {
        if !self.writing.state().capturing {
            return Ok(());
        }
        let options = ophyd_core::SetAndWait { timeout: CAPTURE_TIMEOUT, ..ophyd_core::SetAndWait::default() };
        ophyd_core::set_and_wait_with(&self.capture, 0, options).await?;
        self.writing.state().capturing = false;
        Ok(())
    }

    /// The file writing part of a stage, once the settings are staged.
    async fn begin_file(&self, file: HdfFile) -> Result<()> {
        if self.file_path_exists.get().await?.index() != Some(1) {
            let depth = self.create_directory.get().await.map_or_else(|e| e.to_string(), |d| d.to_string());
            return Err(Error::Failed {
                what: format!("writing the files of `{}` to {}", self.name(), file.directory),
                reason: format!(
                    "the directory does not exist and the IOC did not make it \
                     (CreateDirectory {depth}; FilePathExists_RBV is No)"
                ),
            });
        }
        self.writing.state().file = Some(file);
        self.start_capture().await
    }
}

impl Stage for Hdf5Plugin {
    /// ophyd's plugin staging; when [writing files](Hdf5Plugin::write_files),
    /// a new file name, the checks of [`HdfWriter`] and capture started. A
    /// failure puts back everything already changed.
    async fn stage(&self) -> Result<()> {
        let Some(writer) = self.writer() else { return self.stage_default().await };
        if !writer.directory.is_absolute() {
            // A relative FilePath is resolved by the IOC, wherever it runs,
            // and makes no file:// URI for the run's documents.
            return Err(Error::Failed {
                what: format!("staging `{}` to write files", self.name()),
                reason: format!("the directory {} is not an absolute path", writer.directory.display()),
            });
        }
        // A capture left running (a crash, another client) would put this
        // run's frames in its file: stop it first, as ophyd does.
        if self.capture.get().await?.index() == Some(1) {
            let options = ophyd_core::SetAndWait { timeout: CAPTURE_TIMEOUT, ..ophyd_core::SetAndWait::default() };
            ophyd_core::set_and_wait_with(&self.capture, 0, options).await?;
        }
        let file = HdfFile {
            uid: uuid::Uuid::new_v4().to_string(),
            directory: writer.file_path(),
            name: (writer.file_names)(),
            full_file_name: String::new(),
            dataset: DATASET,
        };
        let full_file_name =
            format_file_template(&writer.file_template, &file.directory, &file.name, 0).map_err(|e| Error::Failed {
                what: format!("naming the files of `{}`", self.name()),
                reason: e.to_string(),
            })?;
        let file = HdfFile { full_file_name, ..file };
        self.stage_sigs().set(&self.file_path, file.directory.clone())?;
        self.stage_sigs().set(&self.file_name, file.name.clone())?;
        self.stage_default().await?;
        if let Err(cause) = self.begin_file(file).await {
            let restore_failures = self.unstage().await.err().into_iter().collect();
            return Err(Error::Stage { device: self.name().to_owned(), cause: Box::new(cause), restore_failures });
        }
        Ok(())
    }

    /// Stop capture (the IOC closes the file), then put everything back;
    /// both are attempted, and every failure reported.
    async fn unstage(&self) -> Result<()> {
        let stopped = self.stop_capture().await;
        let restored = self.unstage_default().await;
        if stopped.is_ok() {
            self.writing.state().file = None;
        }
        Error::bundle(stopped.err().into_iter().chain(restored.err()).collect())
    }
}

//! The simulated NDFileHDF5: directories made as `CreateDirectory` says,
//! file names from `FileTemplate`, and frames written to real HDF5 files
//! (see the [module documentation](super#the-hdf5-plugin)).

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use ophyd_core::Value;
use ophyd_epics::sim::{PutAction, SimIoc};
use rust_hdf5::swmr::SwmrFileWriter;
use tokio::sync::watch;

use super::records::{self, Access, Rec};
use super::{lock, Frame};
use crate::template::format_file_template;
use crate::{DataType, FileWriteMode};

/// The simulated HDF5 plugin's writer: the file being written and the
/// frames kept for it.
pub(crate) struct FileWriter {
    prefix: String,
    state: Mutex<FileState>,
    /// Whether capturing: a put of `Capture` 1 completes when this goes false.
    capturing: watch::Sender<bool>,
}

#[derive(Default)]
struct FileState {
    /// The file of a `Stream` capture, once opened.
    open: Option<OpenFile>,
    /// The last array received (what `WriteFile` writes in `Single` mode,
    /// and what a file opened without `LazyOpen` takes its size from).
    last: Option<Frame>,
    /// The arrays of a `Capture`-mode capture.
    captured: Vec<Frame>,
}

/// An HDF5 file with its `/entry/data/data` dataset, open for appending.
struct OpenFile {
    writer: SwmrFileWriter,
    dataset: usize,
    shape: (usize, usize, DataType),
    frames: u64,
    name: String,
}

impl OpenFile {
    /// Create `name`: groups `/entry` (`NXentry`) and `/entry/data`
    /// (`NXdata`), and the dataset `data` of frames of `width` × `height`
    /// elements of `data_type`, one frame a chunk, readable while written.
    fn create(name: &str, width: usize, height: usize, data_type: DataType) -> rust_hdf5::Result<OpenFile> {
        let mut writer = SwmrFileWriter::create(name)?;
        writer.create_group("/", "entry")?;
        writer.set_group_attr_string("/entry", "NX_class", "NXentry")?;
        writer.create_group("/entry", "data")?;
        writer.set_group_attr_string("/entry/data", "NX_class", "NXdata")?;
        let dims = [height as u64, width as u64];
        let dataset = match data_type {
            DataType::Int8 => writer.create_streaming_dataset::<i8>("data", &dims)?,
            DataType::UInt8 => writer.create_streaming_dataset::<u8>("data", &dims)?,
            DataType::Int16 => writer.create_streaming_dataset::<i16>("data", &dims)?,
            DataType::UInt16 => writer.create_streaming_dataset::<u16>("data", &dims)?,
            DataType::Int32 => writer.create_streaming_dataset::<i32>("data", &dims)?,
            DataType::UInt32 => writer.create_streaming_dataset::<u32>("data", &dims)?,
            DataType::Int64 => writer.create_streaming_dataset::<i64>("data", &dims)?,
            DataType::UInt64 => writer.create_streaming_dataset::<u64>("data", &dims)?,
            DataType::Float32 => writer.create_streaming_dataset::<f32>("data", &dims)?,
            DataType::Float64 => writer.create_streaming_dataset::<f64>("data", &dims)?,
        };
        writer.assign_dataset_to_group("/entry/data", dataset)?;
        writer.start_swmr()?;
        Ok(OpenFile { writer, dataset, shape: (width, height, data_type), frames: 0, name: name.to_owned() })
    }

    /// Append `frame` and flush it, so that readers see it at once.
    fn append(&mut self, frame: &Frame) -> Result<(), String> {
        if (frame.width, frame.height, frame.data_type) != self.shape {
            let (width, height, data_type) = self.shape;
            return Err(format!(
                "a {} x {} {} array does not fit {}, of {width} x {height} {data_type} frames",
                frame.width, frame.height, frame.data_type, self.name
            ));
        }
        let bytes = frame.data_type.to_le_bytes(&frame.pixels);
        self.writer.append_frame(self.dataset, &bytes).map_err(|e| format!("error writing {}: {e}", self.name))?;
        self.writer.flush().map_err(|e| format!("error writing {}: {e}", self.name))?;
        self.frames += 1;
        Ok(())
    }

    fn close(self) -> Result<(), String> {
        let name = self.name;
        self.writer.close().map_err(|e| format!("error closing {name}: {e}"))
    }
}

/// Make the missing directories of `path` as ADCore's `CreateDirectory`
/// `depth` allows: none for 0; for a negative `-n`, up to the last `n`
/// directories of the path; for a positive `n`, every directory past the
/// first `n`, which must exist.
pub(crate) fn create_directories(path: &Path, depth: i32) -> io::Result<()> {
    if depth == 0 || path.is_dir() {
        return Ok(());
    }
    let levels: Vec<Component<'_>> = path.components().collect();
    let named = levels.iter().filter(|c| matches!(c, Component::Normal(_))).count();
    let must_exist =
        if depth > 0 { (depth as usize).min(named) } else { named.saturating_sub(depth.unsigned_abs() as usize) };
    let mut current = PathBuf::new();
    let mut seen = 0;
    for level in levels {
        current.push(level);
        if !matches!(level, Component::Normal(_)) {
            continue;
        }
        seen += 1;
        if current.is_dir() {
            continue;
        }
        if seen <= must_exist {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} does not exist, and CreateDirectory {depth} makes no directory before level {}",
                    current.display(),
                    must_exist + 1
                ),
            ));
        }
        std::fs::create_dir(&current)?;
    }
    Ok(())
}

/// `value`, the bytes of a long string, up to its NUL.
fn bytes_of(value: &Value) -> Vec<u8> {
    match value {
        Value::IntArray(bytes) => bytes.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect(),
        Value::String(text) => text.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

impl FileWriter {
    pub(super) fn new(prefix: String) -> FileWriter {
        FileWriter { prefix, state: Mutex::new(FileState::default()), capturing: watch::Sender::new(false) }
    }

    fn pv(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// Add the records with behaviour of their own: `FilePath`,
    /// `CreateDirectory`, and the busy `Capture`, `WriteFile`, `ReadFile`.
    pub(super) fn add_records(self: &Arc<Self>, ioc: &SimIoc) {
        records::add(ioc, &self.prefix, &[("CreateDirectory", Access::Setting, Rec::Long(0))]);
        let writer = self.clone();
        let path = records::spec(&self.pv("FilePath"), Rec::LongText("", 256))
            .on_put(move |ioc, value| writer.on_file_path(ioc, value));
        records::add_one(ioc, Access::Setting, path);
        records::add_busy(ioc, &self.pv("Capture"), "Capture", "Capturing");
        records::add_busy(ioc, &self.pv("WriteFile"), "Write", "Writing");
        records::add_busy(ioc, &self.pv("ReadFile"), "Read", "Reading");
        let writer = self.clone();
        ioc.set_put_handler(&self.pv("Capture"), move |ioc, value| writer.on_capture(ioc, value));
        let writer = self.clone();
        ioc.set_put_handler(&self.pv("WriteFile"), move |ioc, value| writer.on_write_file(ioc, value));
        ioc.set_put_handler(&self.pv("ReadFile"), |_, value| match value.as_f64() {
            Some(0.0) => PutAction::accept(value),
            _ => PutAction::Refuse("reading files back is not simulated".into()),
        });
    }

    fn set(&self, ioc: &SimIoc, suffix: &str, value: impl Into<Value>) {
        ioc.write(&self.pv(suffix), value);
    }

    fn yes(&self, ioc: &SimIoc, suffix: &str) -> bool {
        ioc.get_f64(&self.pv(suffix)) == Some(1.0)
    }

    fn write_error(&self, ioc: &SimIoc, message: &str) {
        tracing::debug!(plugin = %self.prefix, message, "simulated HDF5 plugin: write error");
        self.set(ioc, "WriteStatus", 1);
        self.set(ioc, "WriteMessage", message);
    }

    fn write_ok(&self, ioc: &SimIoc) {
        self.set(ioc, "WriteStatus", 0);
        self.set(ioc, "WriteMessage", "");
    }

    fn mode(&self, ioc: &SimIoc) -> FileWriteMode {
        ioc.get_f64(&self.pv("FileWriteMode"))
            .and_then(|i| FileWriteMode::from_index(i as u16))
            .unwrap_or(FileWriteMode::Single)
    }

    /// A put of `FilePath`: kept with a trailing `/`, its directories made
    /// as `CreateDirectory` allows, `FilePathExists_RBV` set.
    fn on_file_path(&self, ioc: &SimIoc, value: &Value) -> PutAction {
        let mut bytes = bytes_of(value);
        if !bytes.is_empty() && bytes.last() != Some(&b'/') {
            bytes.push(b'/');
        }
        bytes.truncate(255);
        let path = String::from_utf8_lossy(&bytes).into_owned();
        let depth = ioc.get_f64(&self.pv("CreateDirectory")).unwrap_or(0.0) as i32;
        let made = if path.is_empty() { Ok(()) } else { create_directories(Path::new(&path), depth) };
        let exists = !path.is_empty() && Path::new(&path).is_dir();
        self.set(ioc, "FilePathExists_RBV", i64::from(exists));
        match (exists, made) {
            (true, _) => self.write_ok(ioc),
            // No path is no error yet: there is nothing to write to.
            (false, _) if path.is_empty() => {}
            (false, Err(e)) => self.write_error(ioc, &format!("path {path} does not exist: {e}")),
            (false, Ok(())) => self.write_error(ioc, &format!("path {path} does not exist")),
        }
        bytes.push(0);
        PutAction::Write { value: Value::IntArray(bytes.into_iter().map(i64::from).collect()), completion: None }
    }

    /// The full name of the next file, written to `FullFileName_RBV`; the
    /// file number goes up if `AutoIncrement` says so.
    fn next_file_name(&self, ioc: &SimIoc) -> Result<String, String> {
        let text = |suffix: &str| ioc.get_text(&self.pv(suffix)).unwrap_or_default();
        let number = ioc.get_f64(&self.pv("FileNumber")).unwrap_or(0.0) as i32;
        let name = format_file_template(&text("FileTemplate"), &text("FilePath"), &text("FileName"), number)
            .map_err(|e| e.to_string())?;
        self.set(ioc, "FullFileName_RBV", name.as_str());
        if self.yes(ioc, "AutoIncrement") {
            self.set(ioc, "FileNumber", number + 1);
            self.set(ioc, "FileNumber_RBV", number + 1);
        }
        Ok(name)
    }

    /// Open the next file for frames of `shape`.
    fn open(&self, ioc: &SimIoc, shape: (usize, usize, DataType)) -> Result<OpenFile, String> {
        let name = self.next_file_name(ioc)?;
        let file = OpenFile::create(&name, shape.0, shape.1, shape.2)
            .map_err(|e| format!("error opening file {name}: {e}"))?;
        if self.yes(ioc, "SWMRMode") {
            self.set(ioc, "SWMRActive_RBV", 1);
        }
        Ok(file)
    }

    /// Write `frames` to a file of their own.
    fn write_whole(&self, ioc: &SimIoc, frames: &[Frame]) -> Result<(), String> {
        let Some(first) = frames.first() else { return Err("there is no array to write".into()) };
        let mut file = self.open(ioc, (first.width, first.height, first.data_type))?;
        let written = frames.iter().try_for_each(|frame| file.append(frame));
        let closed = file.close();
        self.set(ioc, "SWMRActive_RBV", 0);
        written.and(closed)
    }

    /// A put of `Capture`.
    fn on_capture(self: &Arc<Self>, ioc: &SimIoc, value: &Value) -> PutAction {
        if value.as_f64() == Some(0.0) {
            if *self.capturing.borrow() {
                let mut state = lock(&self.state);
                self.end_capture(ioc, &mut state);
            }
            return PutAction::accept(value);
        }
        if *self.capturing.borrow() {
            return PutAction::Write { value: Value::Int(1), completion: Some(self.until_captured()) };
        }
        let mode = self.mode(ioc);
        if mode == FileWriteMode::Single {
            return PutAction::Refuse("capture is for the Capture and Stream modes; FileWriteMode is Single".into());
        }
        let mut state = lock(&self.state);
        state.captured.clear();
        self.set(ioc, "NumCaptured_RBV", 0);
        self.write_ok(ioc);
        if mode == FileWriteMode::Stream && !self.yes(ioc, "LazyOpen") {
            let shape = state.last.as_ref().map(|f| (f.width, f.height, f.data_type));
            let opened = match shape {
                Some(shape) => self.open(ioc, shape),
                None => Err("the plugin has received no array to take the file's dimensions from: \
                             acquire one first, or set LazyOpen"
                    .into()),
            };
            match opened {
                Ok(file) => state.open = Some(file),
                Err(message) => {
                    self.write_error(ioc, &message);
                    return PutAction::Write { value: Value::Int(0), completion: None };
                }
            }
        }
        self.capturing.send_replace(true);
        self.set(ioc, "Capture_RBV", 1);
        PutAction::Write { value: Value::Int(1), completion: Some(self.until_captured()) }
    }

    /// Done when capture ends.
    fn until_captured(&self) -> futures::future::BoxFuture<'static, Result<(), String>> {
        let mut capturing = self.capturing.subscribe();
        async move {
            let _ = capturing.wait_for(|on| !on).await;
            Ok(())
        }
        .boxed()
    }

    /// End capture: close the stream's file, or write what `Capture` mode
    /// kept (with `AutoSave`).
    fn end_capture(&self, ioc: &SimIoc, state: &mut FileState) {
        let outcome = match self.mode(ioc) {
            FileWriteMode::Capture if self.yes(ioc, "AutoSave") && !state.captured.is_empty() => {
                let frames = std::mem::take(&mut state.captured);
                self.write_whole(ioc, &frames)
            }
            _ => state.open.take().map_or(Ok(()), OpenFile::close),
        };
        if let Err(message) = outcome {
            self.write_error(ioc, &message);
        }
        self.set(ioc, "SWMRActive_RBV", 0);
        self.set(ioc, "Capture", 0);
        self.set(ioc, "Capture_RBV", 0);
        self.capturing.send_replace(false);
    }

    /// A put of `WriteFile`: the last array (`Single` mode) or the arrays
    /// captured (`Capture` mode) to a file.
    fn on_write_file(&self, ioc: &SimIoc, value: &Value) -> PutAction {
        if value.as_f64() == Some(0.0) {
            return PutAction::accept(value);
        }
        let mut state = lock(&self.state);
        let frames = match self.mode(ioc) {
            FileWriteMode::Single => state.last.iter().cloned().collect(),
            FileWriteMode::Capture => std::mem::take(&mut state.captured),
            FileWriteMode::Stream => {
                return PutAction::Refuse("in Stream mode frames are written as they arrive".into());
            }
        };
        match self.write_whole(ioc, &frames) {
            Ok(()) => self.write_ok(ioc),
            Err(message) => self.write_error(ioc, &message),
        }
        PutAction::Write { value: Value::Int(0), completion: None }
    }

    /// An array arriving from the plugin's source.
    pub(super) fn take(&self, ioc: &SimIoc, frame: &Frame) {
        let mut state = lock(&self.state);
        state.last = Some(frame.clone());
        let capturing = *self.capturing.borrow();
        let limit = ioc.get_f64(&self.pv("NumCapture")).unwrap_or(0.0).max(0.0) as u64;
        match self.mode(ioc) {
            FileWriteMode::Single => {
                if self.yes(ioc, "AutoSave") {
                    match self.write_whole(ioc, std::slice::from_ref(frame)) {
                        Ok(()) => self.write_ok(ioc),
                        Err(message) => self.write_error(ioc, &message),
                    }
                }
            }
            FileWriteMode::Capture if capturing => {
                state.captured.push(frame.clone());
                let captured = state.captured.len() as u64;
                self.set(ioc, "NumCaptured_RBV", captured as i64);
                if limit > 0 && captured >= limit {
                    self.end_capture(ioc, &mut state);
                }
            }
            FileWriteMode::Stream if capturing => {
                if state.open.is_none() {
                    match self.open(ioc, (frame.width, frame.height, frame.data_type)) {
                        Ok(file) => state.open = Some(file),
                        Err(message) => {
                            self.write_error(ioc, &message);
                            return self.end_capture(ioc, &mut state);
                        }
                    }
                }
                let file = state.open.as_mut().expect("opened above");
                if let Err(message) = file.append(frame) {
                    self.write_error(ioc, &message);
                    return self.end_capture(ioc, &mut state);
                }
                let written = file.frames;
                self.set(ioc, "NumCaptured_RBV", written as i64);
                if limit > 0 && written >= limit {
                    self.end_capture(ioc, &mut state);
                }
            }
            FileWriteMode::Capture | FileWriteMode::Stream => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ophyd-ad-{name}-{}-{:x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn create_directory_makes_as_many_levels_as_its_depth_allows() {
        let root = scratch("mkdir");
        let deep = root.join("a/b/c");
        assert!(create_directories(&deep, 0).is_ok() && !deep.exists(), "0: none made");
        assert!(create_directories(&deep, -2).is_err(), "-2: a is missing too");
        assert!(!root.join("a").exists(), "nothing made when refused");
        create_directories(&deep, -3).unwrap();
        assert!(deep.is_dir(), "-3: the last three");
        let other = root.join("x/y");
        let levels = root.components().filter(|c| matches!(c, Component::Normal(_))).count() as i32;
        assert!(create_directories(&other, levels + 1).is_err(), "the first levels+1 must exist, x does not");
        create_directories(&other, levels).unwrap();
        assert!(other.is_dir(), "past the first `levels`, all made");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_long_string_is_read_up_to_its_nul() {
        assert_eq!(bytes_of(&Value::IntArray(vec![47, 100, 0, 120])), b"/d");
        assert_eq!(bytes_of(&Value::String("/e".into())), b"/e");
    }
}

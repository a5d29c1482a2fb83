//! event-model documents: what a run emits, with the field names and shapes
//! bluesky emits, so Python tools (databroker, tiled, bluesky's callbacks)
//! read them as their own.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitStatus {
    /// Every point was taken.
    Success,
    /// Stopped on request (abort, Ctrl-C, the run dropped).
    Abort,
    /// An error ended it.
    Fail,
}

/// The first document of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunStart {
    /// Unique id of the run.
    pub uid: String,
    /// When the run opened (Unix seconds).
    pub time: f64,
    /// The run engine's count of runs.
    pub scan_id: u64,
    /// `"count"`, `"scan"`.
    pub plan_name: String,
    /// Always `"generator"`, as bluesky's plans.
    pub plan_type: String,
    /// The detectors' names.
    pub detectors: Vec<String>,
    /// The motors' names (scans only).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub motors: Vec<String>,
    /// The number of points planned.
    pub num_points: usize,
    /// `num_points - 1`.
    pub num_intervals: usize,
    /// The plan's arguments.
    pub plan_args: Map<String, Json>,
    /// `{"dimensions": [[[fields], "primary"]]}`: what a plot's x axis is.
    pub hints: Map<String, Json>,
    /// Any further metadata the user gave.
    #[serde(flatten)]
    pub metadata: Map<String, Json>,
}

/// Describes the events of one stream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventDescriptor {
    /// Unique id.
    pub uid: String,
    /// When it was made.
    pub time: f64,
    /// The run it belongs to.
    pub run_start: String,
    /// The stream's name: `"primary"`.
    pub name: String,
    /// Every data key of the events, from the devices' `describe()`, each
    /// with its `object_name`.
    pub data_keys: Map<String, Json>,
    /// Per device: `{"data", "timestamps", "data_keys"}` from
    /// `read_configuration()` and `describe_configuration()`.
    pub configuration: Map<String, Json>,
    /// Per device: the data keys it produces.
    pub object_keys: Map<String, Json>,
    /// Per device: its `hints`.
    pub hints: Map<String, Json>,
}

/// One point of data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    /// Unique id.
    pub uid: String,
    /// When the point was taken.
    pub time: f64,
    /// The descriptor it follows.
    pub descriptor: String,
    /// 1, 2, 3, ...
    pub seq_num: u64,
    /// Values by data key.
    pub data: Map<String, Json>,
    /// Timestamps by data key.
    pub timestamps: Map<String, Json>,
    /// Externally stored data: none, as bluesky leaves external keys out of events.
    pub filled: Map<String, Json>,
}

/// The last document of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunStop {
    /// Unique id.
    pub uid: String,
    /// When the run closed.
    pub time: f64,
    /// The run it closes.
    pub run_start: String,
    /// How it ended.
    pub exit_status: ExitStatus,
    /// Why, when it did not succeed (empty otherwise).
    pub reason: String,
    /// Events per stream: `{"primary": n}`.
    pub num_events: Map<String, Json>,
}

/// A resource of external data (a file, a dataset in it), from a device
/// that writes data outside the events (see
/// [`WritesStreamAssets`](ophyd_core::WritesStreamAssets)).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamResource {
    /// Unique id.
    pub uid: String,
    /// The descriptor's data key whose data it holds.
    pub data_key: String,
    /// Its format: `"application/x-hdf5"`.
    pub mimetype: String,
    /// Where it is: `"file://localhost/data/scan_000000.h5"`.
    pub uri: String,
    /// How to find the data in it (HDF5: `dataset`, `chunk_shape`).
    pub parameters: Map<String, Json>,
    /// The run it belongs to.
    pub run_start: String,
}

/// A half-open range `start..stop`, as event-model writes ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    /// The first index.
    pub start: u64,
    /// One past the last index.
    pub stop: u64,
}

/// Which part of a resource which events' data is in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamDatum {
    /// The resource's uid.
    pub stream_resource: String,
    /// Unique id.
    pub uid: String,
    /// The `seq_num`s of the events whose data this is.
    pub seq_nums: StreamRange,
    /// The indices in the resource.
    pub indices: StreamRange,
    /// The descriptor of those events.
    pub descriptor: String,
}

/// Any document, as subscribers receive it with its name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Document {
    /// `"start"`.
    Start(RunStart),
    /// `"descriptor"`.
    Descriptor(EventDescriptor),
    /// `"event"`.
    Event(Event),
    /// `"stream_resource"`.
    StreamResource(StreamResource),
    /// `"stream_datum"`.
    StreamDatum(StreamDatum),
    /// `"stop"`.
    Stop(RunStop),
}

impl Document {
    /// The document's name, as bluesky passes it to callbacks.
    pub fn name(&self) -> &'static str {
        match self {
            Document::Start(_) => "start",
            Document::Descriptor(_) => "descriptor",
            Document::Event(_) => "event",
            Document::StreamResource(_) => "stream_resource",
            Document::StreamDatum(_) => "stream_datum",
            Document::Stop(_) => "stop",
        }
    }
}

/// A new unique id.
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

//! The simulated areaDetector's records: for each PV ophyd-rs declares, the
//! type, enum strings and initial value of ADCore's templates
//! (`ADBase.template`, `NDPluginBase.template`, `NDStats.template`, ...),
//! and whether it is a setting (`X` and its read-back `X_RBV`), a read-back
//! alone, or a record of its own.

use ophyd_core::Value;
use ophyd_epics::sim::{PvSpec, SimIoc};
use ophyd_epics::NativeType;

/// A record's type and initial value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rec {
    /// A double (`ao`, `ai`, `calc`), precision 3.
    Double(f64),
    /// A 32-bit integer (`longout`, `longin`).
    Long(i32),
    /// An enum (`bo`, `bi`, `mbbo`, `mbbi`) at an index.
    Choice(&'static [&'static str], u16),
    /// A string (`stringout`, `stringin`).
    Text(&'static str),
    /// A long string: a CHAR waveform of that many bytes.
    LongText(&'static str, usize),
    /// A LONG waveform of that many elements.
    Longs(usize),
    /// A DOUBLE waveform of that many elements.
    Doubles(usize),
}

/// How a parameter is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// A setting: `X`, written by clients, and `X_RBV`, which follows it.
    Setting,
    /// A read-back alone, which clients cannot write.
    ReadOnly,
    /// A record of its own that clients write.
    Plain,
}

pub(super) const NO_YES: &[&str] = &["No", "Yes"];
pub(super) const DISABLE_ENABLE: &[&str] = &["Disable", "Enable"];
pub(super) const DATA_TYPES: &[&str] =
    &["Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float32", "Float64"];
const DATA_TYPES_OUT: &[&str] =
    &["Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float32", "Float64", "Automatic"];
const COLOR_MODES: &[&str] = &["Mono", "Bayer", "RGB1", "RGB2", "RGB3", "YUV444", "YUV422", "YUV421"];
const DETECTOR_STATES: &[&str] = &[
    "Idle",
    "Acquire",
    "Readout",
    "Correct",
    "Saving",
    "Aborting",
    "Error",
    "Waiting",
    "Initializing",
    "Disconnected",
    "Aborted",
];
const CLOSED_OPEN: &[&str] = &["Closed", "Open"];

/// The spec of record `name`.
pub(super) fn spec(name: &str, rec: Rec) -> PvSpec {
    match rec {
        Rec::Double(x) => PvSpec::double(name, x).precision(3),
        Rec::Long(i) => PvSpec::long(name, i),
        Rec::Choice(strings, index) => PvSpec::enumeration(name, strings, index),
        Rec::Text(text) => PvSpec::string(name, text),
        Rec::LongText(text, capacity) => PvSpec::long_string(name, text, capacity),
        Rec::Longs(capacity) => PvSpec::int_waveform(name, NativeType::Long, Vec::new(), capacity),
        Rec::Doubles(capacity) => PvSpec::waveform(name, Vec::new(), capacity).precision(3),
    }
}

/// Add `prefix` + each suffix of `table`.
pub(super) fn add(ioc: &SimIoc, prefix: &str, table: &[(&str, Access, Rec)]) {
    for &(suffix, access, rec) in table {
        add_one(ioc, access, spec(&format!("{prefix}{suffix}"), rec));
    }
}

/// Add `spec` as `access` says.
pub(super) fn add_one(ioc: &SimIoc, access: Access, spec: PvSpec) {
    match access {
        Access::Setting => ioc.add_with_rbv(spec),
        Access::ReadOnly => ioc.add(spec.read_only()),
        Access::Plain => ioc.add(spec),
    };
}

/// A busy record `name` (`Done`/`busy_label`, whose put completes when
/// the work it starts does) and its read-back (`Done`/`rbv_label`), which
/// the simulation drives.
pub(super) fn add_busy(ioc: &SimIoc, name: &str, busy_label: &'static str, rbv_label: &'static str) {
    ioc.add(PvSpec::enumeration(&format!("{name}_RBV"), &["Done", rbv_label], 0).read_only()).add(PvSpec::enumeration(
        name,
        &["Done", busy_label],
        0,
    ));
}

/// What every array source and sink has (`NDArrayBase.template`).
const ND_ARRAY_BASE: &[(&str, Access, Rec)] = &[
    ("ArrayCounter", Access::Setting, Rec::Long(0)),
    ("ArrayRate_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("NDAttributesFile", Access::Plain, Rec::LongText("", 256)),
    ("PoolAllocBuffers", Access::ReadOnly, Rec::Long(0)),
    ("PoolFreeBuffers", Access::ReadOnly, Rec::Long(0)),
    ("PoolMaxMem", Access::ReadOnly, Rec::Double(0.0)),
    ("PoolUsedBuffers", Access::ReadOnly, Rec::Double(0.0)),
    ("PoolUsedMem", Access::ReadOnly, Rec::Double(0.0)),
    ("PortName_RBV", Access::ReadOnly, Rec::Text("")),
];

/// The camera's records but `Acquire` (`ADBase.template`) and the
/// simulated detector's (`simDetector.template`).
const CAMERA: &[(&str, Access, Rec)] = &[
    ("AcquirePeriod", Access::Setting, Rec::Double(0.0)),
    ("AcquireTime", Access::Setting, Rec::Double(1.0)),
    ("ArrayCallbacks", Access::Setting, Rec::Choice(DISABLE_ENABLE, 1)),
    ("ArraySizeX_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySizeY_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySizeZ_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySize_RBV", Access::ReadOnly, Rec::Long(0)),
    ("BinX", Access::Setting, Rec::Long(1)),
    ("BinY", Access::Setting, Rec::Long(1)),
    ("ColorMode", Access::Setting, Rec::Choice(COLOR_MODES, 0)),
    ("DataType", Access::Setting, Rec::Choice(DATA_TYPES, 1)),
    ("DetectorState_RBV", Access::ReadOnly, Rec::Choice(DETECTOR_STATES, 0)),
    ("FrameType", Access::Setting, Rec::Choice(&["Normal", "Background", "FlatField", "DblCorrelation"], 0)),
    ("Gain", Access::Setting, Rec::Double(1.0)),
    ("ImageMode", Access::Setting, Rec::Choice(&["Single", "Multiple", "Continuous"], 2)),
    ("Manufacturer_RBV", Access::ReadOnly, Rec::Text("Simulated detector")),
    ("MaxSizeX_RBV", Access::ReadOnly, Rec::Long(0)),
    ("MaxSizeY_RBV", Access::ReadOnly, Rec::Long(0)),
    ("MinX", Access::Setting, Rec::Long(0)),
    ("MinY", Access::Setting, Rec::Long(0)),
    ("Model_RBV", Access::ReadOnly, Rec::Text("Basic simulator")),
    ("NumExposures", Access::Setting, Rec::Long(1)),
    ("NumExposuresCounter_RBV", Access::ReadOnly, Rec::Long(0)),
    ("NumImages", Access::Setting, Rec::Long(1)),
    ("NumImagesCounter_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ReadStatus", Access::Plain, Rec::Choice(&["", ""], 1)),
    ("ReverseX", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ReverseY", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ShutterCloseDelay", Access::Setting, Rec::Double(0.0)),
    ("ShutterCloseEPICS", Access::Plain, Rec::Double(0.0)),
    ("ShutterControl", Access::Setting, Rec::Choice(&["Close", "Open"], 0)),
    ("ShutterControlEPICS", Access::Plain, Rec::Choice(CLOSED_OPEN, 0)),
    ("ShutterFanout", Access::Plain, Rec::Long(0)),
    ("ShutterMode", Access::Setting, Rec::Choice(&["None", "EPICS PV", "Detector output"], 0)),
    ("ShutterOpenDelay", Access::Setting, Rec::Double(0.0)),
    ("ShutterOpenEPICS", Access::Plain, Rec::Double(0.0)),
    ("ShutterStatusEPICS_RBV", Access::ReadOnly, Rec::Choice(CLOSED_OPEN, 0)),
    ("ShutterStatus_RBV", Access::ReadOnly, Rec::Choice(CLOSED_OPEN, 0)),
    ("SizeX", Access::Setting, Rec::Long(0)),
    ("SizeY", Access::Setting, Rec::Long(0)),
    ("StatusMessage_RBV", Access::ReadOnly, Rec::LongText("", 256)),
    ("StringFromServer_RBV", Access::ReadOnly, Rec::LongText("", 256)),
    ("StringToServer_RBV", Access::ReadOnly, Rec::LongText("", 256)),
    ("Temperature", Access::Setting, Rec::Double(25.0)),
    ("TemperatureActual", Access::Plain, Rec::Double(25.0)),
    ("TimeRemaining_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("TriggerMode", Access::Setting, Rec::Choice(&["Internal", "External"], 0)),
    // simDetector.template
    ("GainRed", Access::Setting, Rec::Double(1.0)),
    ("GainGreen", Access::Setting, Rec::Double(1.0)),
    ("GainBlue", Access::Setting, Rec::Double(1.0)),
    ("GainX", Access::Setting, Rec::Double(1.0)),
    ("GainY", Access::Setting, Rec::Double(1.0)),
    ("Noise", Access::Setting, Rec::Double(0.0)),
    ("PeakNumX", Access::Setting, Rec::Long(1)),
    ("PeakNumY", Access::Setting, Rec::Long(1)),
    ("PeakStartX", Access::Setting, Rec::Long(1)),
    ("PeakStartY", Access::Setting, Rec::Long(1)),
    ("PeakStepX", Access::Setting, Rec::Long(1)),
    ("PeakStepY", Access::Setting, Rec::Long(1)),
    ("PeakVariation", Access::Setting, Rec::Double(0.0)),
    ("PeakWidthX", Access::Setting, Rec::Long(1)),
    ("PeakWidthY", Access::Setting, Rec::Long(1)),
    ("Reset", Access::Setting, Rec::Long(0)),
    ("SimMode", Access::Setting, Rec::Choice(&["LinearRamp", "Peaks", "Sine", "Offset&Noise"], 0)),
];

/// What every plugin has (`NDPluginBase.template`).
const PLUGIN: &[(&str, Access, Rec)] = &[
    ("ArraySize0_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySize1_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySize2_RBV", Access::ReadOnly, Rec::Long(0)),
    ("BayerPattern_RBV", Access::ReadOnly, Rec::Choice(&["RGGB", "GBRG", "GRBG", "BGGR"], 0)),
    ("BlockingCallbacks", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ColorMode_RBV", Access::ReadOnly, Rec::Choice(COLOR_MODES, 0)),
    ("DataType_RBV", Access::ReadOnly, Rec::Choice(DATA_TYPES, 0)),
    ("Dim0SA", Access::Plain, Rec::Longs(10)),
    ("Dim1SA", Access::Plain, Rec::Longs(10)),
    ("Dim2SA", Access::Plain, Rec::Longs(10)),
    ("Dimensions_RBV", Access::ReadOnly, Rec::Longs(10)),
    ("DroppedArrays", Access::Setting, Rec::Long(0)),
    ("EnableCallbacks", Access::Setting, Rec::Choice(DISABLE_ENABLE, 0)),
    ("MinCallbackTime", Access::Setting, Rec::Double(0.0)),
    ("NDArrayAddress", Access::Setting, Rec::Long(0)),
    ("NDArrayPort", Access::Setting, Rec::Text("")),
    ("NDimensions_RBV", Access::ReadOnly, Rec::Long(0)),
    ("PluginType_RBV", Access::ReadOnly, Rec::Text("")),
    ("QueueFree", Access::Plain, Rec::Long(20)),
    ("QueueFreeLow", Access::Plain, Rec::Double(5.0)),
    ("QueueSize", Access::Plain, Rec::Long(20)),
    ("QueueUse", Access::Plain, Rec::Double(0.0)),
    ("QueueUseHIGH", Access::Plain, Rec::Double(15.0)),
    ("QueueUseHIHI", Access::Plain, Rec::Double(19.0)),
    ("TimeStamp_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("UniqueId_RBV", Access::ReadOnly, Rec::Long(0)),
];

/// NDStats' own records (`NDStats.template`).
pub(super) const STATS: &[(&str, Access, Rec)] = &[
    ("BgdWidth", Access::Setting, Rec::Long(1)),
    ("CentroidThreshold", Access::Setting, Rec::Double(1.0)),
    ("CentroidX_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("CentroidY_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("ComputeCentroid", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ComputeHistogram", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ComputeProfiles", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ComputeStatistics", Access::Setting, Rec::Choice(NO_YES, 1)),
    ("CursorX", Access::Setting, Rec::Long(256)),
    ("CursorY", Access::Setting, Rec::Long(256)),
    ("HistEntropy_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("HistMax", Access::Setting, Rec::Double(255.0)),
    ("HistMin", Access::Setting, Rec::Double(0.0)),
    ("HistSize", Access::Setting, Rec::Long(256)),
    ("Histogram_RBV", Access::ReadOnly, Rec::Doubles(256)),
    ("MaxSizeX", Access::Plain, Rec::Long(0)),
    ("MaxSizeY", Access::Plain, Rec::Long(0)),
    ("MaxValue_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MaxX_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MaxY_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MeanValue_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MinValue_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MinX_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("MinY_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("Net_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("SigmaXY_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("SigmaX_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("SigmaY_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("Sigma_RBV", Access::ReadOnly, Rec::Double(0.0)),
    ("Total_RBV", Access::ReadOnly, Rec::Double(0.0)),
];

/// NDROI's own records (`NDROI.template`).
pub(super) const ROI: &[(&str, Access, Rec)] = &[
    ("ArraySizeX_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySizeY_RBV", Access::ReadOnly, Rec::Long(0)),
    ("ArraySizeZ_RBV", Access::ReadOnly, Rec::Long(0)),
    ("AutoSizeX", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("AutoSizeY", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("AutoSizeZ", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("BinX", Access::Setting, Rec::Long(1)),
    ("BinY", Access::Setting, Rec::Long(1)),
    ("BinZ", Access::Setting, Rec::Long(1)),
    ("DataTypeOut", Access::Setting, Rec::Choice(DATA_TYPES_OUT, 10)),
    ("EnableScale", Access::Setting, Rec::Choice(DISABLE_ENABLE, 0)),
    ("EnableX", Access::Setting, Rec::Choice(DISABLE_ENABLE, 1)),
    ("EnableY", Access::Setting, Rec::Choice(DISABLE_ENABLE, 1)),
    ("EnableZ", Access::Setting, Rec::Choice(DISABLE_ENABLE, 1)),
    ("MaxX", Access::Plain, Rec::Long(0)),
    ("MaxY", Access::Plain, Rec::Long(0)),
    ("MaxSizeX_RBV", Access::ReadOnly, Rec::Long(0)),
    ("MaxSizeY_RBV", Access::ReadOnly, Rec::Long(0)),
    ("MaxSizeZ_RBV", Access::ReadOnly, Rec::Long(0)),
    ("MinX", Access::Setting, Rec::Long(0)),
    ("MinY", Access::Setting, Rec::Long(0)),
    ("MinZ", Access::Setting, Rec::Long(0)),
    ("Name", Access::Setting, Rec::Text("")),
    ("ReverseX", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ReverseY", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ReverseZ", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("Scale", Access::Setting, Rec::Double(1.0)),
    ("SizeX", Access::Setting, Rec::Long(1_000_000)),
    ("SizeY", Access::Setting, Rec::Long(1_000_000)),
    ("SizeZ", Access::Setting, Rec::Long(1_000_000)),
];

/// NDFileHDF5's records (`NDFile.template`, `NDFileHDF5.template`) but
/// the busy ones, `FilePath` and `CreateDirectory`, which the file
/// writer's simulation adds with their behaviour.
pub(super) const HDF5: &[(&str, Access, Rec)] = &[
    ("AutoIncrement", Access::Setting, Rec::Choice(NO_YES, 1)),
    ("AutoSave", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("DeleteDriverFile", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("FileFormat", Access::Setting, Rec::Choice(&["HDF5", "Invalid"], 0)),
    ("FileName", Access::Setting, Rec::LongText("", 256)),
    ("FileNumber", Access::Setting, Rec::Long(1)),
    ("FilePathExists_RBV", Access::ReadOnly, Rec::Choice(NO_YES, 0)),
    ("FileTemplate", Access::Setting, Rec::LongText("%s%s_%3.3d.h5", 256)),
    ("FileWriteMode", Access::Setting, Rec::Choice(&["Single", "Capture", "Stream"], 0)),
    ("FullFileName_RBV", Access::ReadOnly, Rec::LongText("", 512)),
    ("NumCapture", Access::Setting, Rec::Long(1)),
    ("NumCaptured_RBV", Access::ReadOnly, Rec::Long(0)),
    ("WriteMessage", Access::Plain, Rec::LongText("", 256)),
    ("WriteStatus", Access::Plain, Rec::Choice(&["Write OK", "Write error"], 0)),
    (
        "Compression",
        Access::Setting,
        Rec::Choice(&["None", "N-bit", "szip", "zlib", "Blosc", "BSLZ4", "LZ4", "JPEG"], 0),
    ),
    ("NumColChunks", Access::Setting, Rec::Long(0)),
    ("NumExtraDims", Access::Setting, Rec::Long(0)),
    ("NumFramesChunks", Access::Setting, Rec::Long(1)),
    ("NumFramesFlush", Access::Setting, Rec::Long(0)),
    ("NumRowChunks", Access::Setting, Rec::Long(0)),
    ("StoreAttr", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("StorePerform", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("ZLevel", Access::Setting, Rec::Long(6)),
    ("LazyOpen", Access::Setting, Rec::Choice(NO_YES, 0)),
    ("TempSuffix", Access::Setting, Rec::Text("")),
    ("SWMRActive_RBV", Access::ReadOnly, Rec::Choice(&["Off", "Active"], 0)),
    ("SWMRCbCounter_RBV", Access::ReadOnly, Rec::Long(0)),
    ("SWMRMode", Access::Setting, Rec::Choice(&["Off", "On"], 0)),
    ("SWMRSupported_RBV", Access::ReadOnly, Rec::Choice(&["Not Supported", "Supported"], 1)),
    ("XMLFileName", Access::Setting, Rec::LongText("", 2048)),
];

/// Add the camera's records under `prefix` but `Acquire`: ADBase's, with
/// the port name, sensor size and data type given.
pub(super) fn add_camera(ioc: &SimIoc, prefix: &str, port: &str, size: (usize, usize), data_type: u16) {
    add(ioc, prefix, ND_ARRAY_BASE);
    add(ioc, prefix, CAMERA);
    let pv = |suffix: &str| format!("{prefix}{suffix}");
    ioc.write(&pv("PortName_RBV"), port);
    for (suffix, value) in [("MaxSizeX_RBV", size.0), ("MaxSizeY_RBV", size.1), ("SizeX", size.0), ("SizeY", size.1)] {
        ioc.write(&pv(suffix), value as i64);
    }
    ioc.write(&pv("SizeX_RBV"), size.0 as i64);
    ioc.write(&pv("SizeY_RBV"), size.1 as i64);
    // As ADSimDetector, the size of the arrays it will make, before it makes one.
    ioc.write(&pv("ArraySizeX_RBV"), size.0 as i64);
    ioc.write(&pv("ArraySizeY_RBV"), size.1 as i64);
    ioc.write(&pv("DataType"), Value::Int(data_type.into()));
    ioc.write(&pv("DataType_RBV"), Value::Int(data_type.into()));
}

/// Add a plugin's records under `prefix` (`NDArrayBase` and
/// `NDPluginBase`, then `own`): its asyn port `port`, taking arrays from
/// `source`, of type `plugin_type`.
pub(super) fn add_plugin(
    ioc: &SimIoc,
    prefix: &str,
    port: &str,
    source: &str,
    plugin_type: &str,
    own: &[(&str, Access, Rec)],
) {
    add(ioc, prefix, ND_ARRAY_BASE);
    add(ioc, prefix, PLUGIN);
    add(ioc, prefix, own);
    let pv = |suffix: &str| format!("{prefix}{suffix}");
    ioc.write(&pv("PortName_RBV"), port);
    ioc.write(&pv("PluginType_RBV"), plugin_type);
    ioc.write(&pv("NDArrayPort"), source);
    ioc.write(&pv("NDArrayPort_RBV"), source);
}

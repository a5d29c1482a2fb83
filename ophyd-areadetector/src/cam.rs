//! Cameras: ophyd's `CamBase` (the ADBase driver PVs every areaDetector
//! camera has) and `SimDetectorCam` (the simulated detector's).
//!
//! Names, suffixes and kinds are ophyd 1.11's, at instance level: the
//! camera's eight configuration signals (`acquire_time`, `acquire_period`,
//! `model`, `num_exposures`, `image_mode`, `num_images`, `manufacturer`,
//! `trigger_mode`) are `config`, everything else `omitted`.
//!
//! Staging a camera does what ophyd's `SingleTrigger` detector does (its
//! `stage_sigs` `cam.acquire: 0`, `cam.image_mode: 1` and the plugins'
//! `parent.cam.array_callbacks: 1`): it stops any acquisition, sets
//! `Multiple` images (of `num_images`, one unless set) and turns array
//! callbacks on, so that plugins see the frames; unstaging puts back what
//! it found. A detector that triggers another way changes them:
//! `det.cam.stage_sigs().set_path("image_mode", 2)` (`Continuous`), or
//! `.clear()`.

use ophyd_epics::Enum;

use crate::DataType;

/// Declare a camera: a struct with ophyd's `CamBase` components (under
/// their ophyd names, areaDetector suffixes and kinds) followed by the
/// fields given, with `#[derive(Device)]`. The fields of a driver of your
/// own go in the braces, as ophyd's subclasses add theirs:
///
/// ```
/// use ophyd_areadetector::cam_base;
/// use ophyd_epics::EpicsSignalWithRbv;
///
/// cam_base! {
///     /// A camera with a cooler.
///     pub struct CooledCam {
///         /// `CoolerOn`, read back from `CoolerOn_RBV`.
///         #[component(suffix = "CoolerOn", kind = "omitted")]
///         pub cooler_on: EpicsSignalWithRbv<i32>,
///     }
/// }
/// let cam = CooledCam::new("13SIM1:cam1:", "cam");
/// assert_eq!(cam.acquire_time.write_pv(), "13SIM1:cam1:AcquireTime");
/// assert_eq!(cam.component_names().last(), Some(&"cooler_on"));
/// # use ophyd_core::Device;
/// ```
///
/// ophyd's `asyn_io` (`AsynIO`, an asyn record), `pool_max_buffers`
/// (`PoolMaxBuffers`, gone from ADCore 3) and `data_type_disabled`
/// (`DataType_RBV.DISA`) are left out: ophyd-rs connects every signal it
/// declares, and these are absent from many IOCs. Add them in the braces
/// where yours has them.
#[macro_export]
macro_rules! cam_base {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fattr:meta])* $fvis:vis $field:ident: $fty:ty),* $(,)? }) => {
        $crate::__ad_base_fields! {
            __cam_base { [$(#[$meta])* $vis struct $name] [$($(#[$fattr])* $fvis $field: $fty,)*] }
        }
    };
}

/// [`cam_base!`] once ADBase's fields are given, last.
#[doc(hidden)]
#[macro_export]
macro_rules! __cam_base {
    ([$($head:tt)*] [$($user:tt)*] [$($ad_base:tt)*]) => {
        #[derive(::ophyd_core::Device)]
        $($head)* {
            $($ad_base)*
            /// `Acquire` (`Done`/`Acquire`): a busy record whose put completes
            /// when the acquisition does. Staged to `Done` (ophyd's
            /// `SingleTrigger`: no acquisition is left running).
            #[component(suffix = "Acquire", kind = "omitted", stage = 0, put_complete)]
            pub acquire: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `AcquirePeriod`, seconds between frames.
            #[component(suffix = "AcquirePeriod", kind = "config")]
            pub acquire_period: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `AcquireTime`, seconds of exposure per frame.
            #[component(suffix = "AcquireTime", kind = "config")]
            pub acquire_time: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `ArrayCallbacks` (`Disable`/`Enable`): whether plugins get the
            /// frames. Staged to `Enable` (ophyd's plugins stage
            /// `parent.cam.array_callbacks: 1`).
            #[component(suffix = "ArrayCallbacks", kind = "omitted", stage = 1)]
            pub array_callbacks: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `ArraySize{Z,Y,X}_RBV`: the size of the arrays made.
            #[component(kind = "omitted")]
            pub array_size: $crate::cam::ArraySize,
            /// `ArraySize_RBV`: bytes per array.
            #[component(suffix = "ArraySize_RBV", kind = "omitted")]
            pub array_size_bytes: $crate::__private::EpicsSignalRO<i32>,
            /// `BinX`.
            #[component(suffix = "BinX", kind = "omitted")]
            pub bin_x: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `BinY`.
            #[component(suffix = "BinY", kind = "omitted")]
            pub bin_y: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `ColorMode` (`Mono`, `Bayer`, `RGB1`, ...).
            #[component(suffix = "ColorMode", kind = "omitted")]
            pub color_mode: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `DataType` (`Int8`, `UInt8`, ..., `Float64`): see [`DataType`]($crate::DataType).
            #[component(suffix = "DataType", kind = "omitted")]
            pub data_type: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `DetectorState_RBV` (`Idle`, `Acquire`, `Readout`, ...).
            #[component(suffix = "DetectorState_RBV", kind = "omitted")]
            pub detector_state: $crate::__private::EpicsSignalRO<$crate::__private::Enum>,
            /// `FrameType` (`Normal`, `Background`, `FlatField`, ...).
            #[component(suffix = "FrameType", kind = "omitted")]
            pub frame_type: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `Gain`.
            #[component(suffix = "Gain", kind = "omitted")]
            pub gain: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `ImageMode` (`Single`, `Multiple`, `Continuous`). Staged to
            /// `Multiple` (ophyd's `SingleTrigger`; 1 rather than the label,
            /// which an IOC serving it as a number would not know).
            #[component(suffix = "ImageMode", kind = "config", stage = 1)]
            pub image_mode: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `Manufacturer_RBV`.
            #[component(suffix = "Manufacturer_RBV", kind = "config")]
            pub manufacturer: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `MaxSize{X,Y}_RBV`: the sensor's size.
            #[component(kind = "omitted")]
            pub max_size: $crate::cam::MaxSize,
            /// `MinX`: the region's first column.
            #[component(suffix = "MinX", kind = "omitted")]
            pub min_x: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `MinY`: the region's first row.
            #[component(suffix = "MinY", kind = "omitted")]
            pub min_y: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `Model_RBV`.
            #[component(suffix = "Model_RBV", kind = "config")]
            pub model: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `NumExposures` per image.
            #[component(suffix = "NumExposures", kind = "config")]
            pub num_exposures: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `NumExposuresCounter_RBV`.
            #[component(suffix = "NumExposuresCounter_RBV", kind = "omitted")]
            pub num_exposures_counter: $crate::__private::EpicsSignalRO<i32>,
            /// `NumImages` an acquisition makes in `Multiple` mode.
            #[component(suffix = "NumImages", kind = "config")]
            pub num_images: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `NumImagesCounter_RBV`: images of the acquisition so far.
            #[component(suffix = "NumImagesCounter_RBV", kind = "omitted")]
            pub num_images_counter: $crate::__private::EpicsSignalRO<i32>,
            /// `ReadStatus`: a write makes the driver read its status.
            #[component(suffix = "ReadStatus", kind = "omitted")]
            pub read_status: $crate::__private::EpicsSignal<$crate::__private::Enum>,
            /// `Reverse{X,Y}`.
            #[component(kind = "omitted")]
            pub reverse: $crate::cam::Reverse,
            /// `ShutterCloseDelay`, seconds.
            #[component(suffix = "ShutterCloseDelay", kind = "omitted")]
            pub shutter_close_delay: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `ShutterCloseEPICS`.
            #[component(suffix = "ShutterCloseEPICS", kind = "omitted")]
            pub shutter_close_epics: $crate::__private::EpicsSignal<f64>,
            /// `ShutterControl` (`Close`/`Open`).
            #[component(suffix = "ShutterControl", kind = "omitted")]
            pub shutter_control: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `ShutterControlEPICS`.
            #[component(suffix = "ShutterControlEPICS", kind = "omitted")]
            pub shutter_control_epics: $crate::__private::EpicsSignal<$crate::__private::Enum>,
            /// `ShutterFanout`.
            #[component(suffix = "ShutterFanout", kind = "omitted")]
            pub shutter_fanout: $crate::__private::EpicsSignal<i32>,
            /// `ShutterMode` (`None`, `EPICS PV`, `Detector output`).
            #[component(suffix = "ShutterMode", kind = "omitted")]
            pub shutter_mode: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            /// `ShutterOpenDelay`, seconds.
            #[component(suffix = "ShutterOpenDelay", kind = "omitted")]
            pub shutter_open_delay: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `ShutterOpenEPICS`.
            #[component(suffix = "ShutterOpenEPICS", kind = "omitted")]
            pub shutter_open_epics: $crate::__private::EpicsSignal<f64>,
            /// `ShutterStatusEPICS_RBV` (`Closed`/`Open`).
            #[component(suffix = "ShutterStatusEPICS_RBV", kind = "omitted")]
            pub shutter_status_epics: $crate::__private::EpicsSignalRO<$crate::__private::Enum>,
            /// `ShutterStatus_RBV` (`Closed`/`Open`).
            #[component(suffix = "ShutterStatus_RBV", kind = "omitted")]
            pub shutter_status: $crate::__private::EpicsSignalRO<$crate::__private::Enum>,
            /// `Size{X,Y}`: the region's size.
            #[component(kind = "omitted")]
            pub size: $crate::cam::Size,
            /// `StatusMessage_RBV` (a long string).
            #[component(suffix = "StatusMessage_RBV", kind = "omitted")]
            pub status_message: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `StringFromServer_RBV` (a long string).
            #[component(suffix = "StringFromServer_RBV", kind = "omitted")]
            pub string_from_server: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `StringToServer_RBV` (a long string).
            #[component(suffix = "StringToServer_RBV", kind = "omitted")]
            pub string_to_server: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `Temperature` set point.
            #[component(suffix = "Temperature", kind = "omitted")]
            pub temperature: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `TemperatureActual`.
            #[component(suffix = "TemperatureActual", kind = "omitted")]
            pub temperature_actual: $crate::__private::EpicsSignal<f64>,
            /// `TimeRemaining_RBV`, seconds.
            #[component(suffix = "TimeRemaining_RBV", kind = "omitted")]
            pub time_remaining: $crate::__private::EpicsSignalRO<f64>,
            /// `TriggerMode` (`Internal`, `External`, ...).
            #[component(suffix = "TriggerMode", kind = "config")]
            pub trigger_mode: $crate::__private::EpicsSignalWithRbv<$crate::__private::Enum>,
            $($user)*
        }
    };
}

/// A group of two or three signals sharing a type and a kind, as ophyd's
/// `DynamicDeviceComponent`s of areaDetector are: their own PV suffixes,
/// under the group's (empty) one.
macro_rules! group {
    ($(#[$meta:meta])* $name:ident($signal:ident, $t:ty), $kind:tt { $($field:ident: $suffix:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(ophyd_core::Device)]
        pub struct $name {
            $(
                #[doc = concat!("`", $suffix, "`.")]
                #[component(suffix = $suffix, kind = $kind)]
                pub $field: ophyd_epics::$signal<$t>,
            )+
        }
    };
}
pub(crate) use group;

group!(
    /// ophyd's `cam.array_size`.
    ArraySize(EpicsSignalRO, i32), "normal" {
        array_size_z: "ArraySizeZ_RBV", array_size_y: "ArraySizeY_RBV", array_size_x: "ArraySizeX_RBV"
    }
);
group!(
    /// ophyd's `cam.max_size`.
    MaxSize(EpicsSignalRO, i32), "normal" { max_size_x: "MaxSizeX_RBV", max_size_y: "MaxSizeY_RBV" }
);
group!(
    /// ophyd's `cam.reverse`.
    Reverse(EpicsSignalWithRbv, Enum), "normal" { reverse_x: "ReverseX", reverse_y: "ReverseY" }
);
group!(
    /// ophyd's `cam.size`.
    Size(EpicsSignalWithRbv, i32), "normal" { size_x: "SizeX", size_y: "SizeY" }
);
group!(
    /// ophyd's `cam.gain_rgb` (simulated detector).
    GainRgb(EpicsSignalWithRbv, f64), "normal" { gain_red: "GainRed", gain_green: "GainGreen", gain_blue: "GainBlue" }
);
group!(
    /// ophyd's `cam.gain_xy` (simulated detector).
    GainXy(EpicsSignalWithRbv, f64), "normal" { gain_x: "GainX", gain_y: "GainY" }
);
group!(
    /// ophyd's `cam.peak_num` (simulated detector).
    PeakNum(EpicsSignalWithRbv, i32), "normal" { peak_num_x: "PeakNumX", peak_num_y: "PeakNumY" }
);
group!(
    /// ophyd's `cam.peak_start` (simulated detector).
    PeakStart(EpicsSignalWithRbv, i32), "normal" { peak_start_x: "PeakStartX", peak_start_y: "PeakStartY" }
);
group!(
    /// ophyd's `cam.peak_step` (simulated detector).
    PeakStep(EpicsSignalWithRbv, i32), "normal" { peak_step_x: "PeakStepX", peak_step_y: "PeakStepY" }
);
group!(
    /// ophyd's `cam.peak_width` (simulated detector).
    PeakWidth(EpicsSignalWithRbv, i32), "normal" { peak_width_x: "PeakWidthX", peak_width_y: "PeakWidthY" }
);

cam_base! {
    /// ophyd's `CamBase` (`AreaDetectorCam`): the driver PVs of any
    /// areaDetector camera (ADCore's `ADBase.template`).
    ///
    /// ```
    /// use ophyd_core::prelude::*;
    /// use ophyd_areadetector::CamBase;
    /// let cam = CamBase::new("13SIM1:cam1:", "cam");
    /// assert_eq!(cam.configuration_attrs(), [
    ///     "acquire_period", "acquire_time", "image_mode", "manufacturer",
    ///     "model", "num_exposures", "num_images", "trigger_mode",
    /// ]);
    /// assert_eq!(cam.stage_sigs().paths(), ["acquire", "array_callbacks", "image_mode"]);
    /// ```
    pub struct CamBase {}
}

cam_base! {
    /// ophyd's `SimDetectorCam`: [`CamBase`] and the simulated detector's
    /// own PVs (ADSimDetector's `simDetector.template`).
    pub struct SimDetectorCam {
        /// `Gain{Red,Green,Blue}`.
        #[component(kind = "omitted")]
        pub gain_rgb: GainRgb,
        /// `Gain{X,Y}`.
        #[component(kind = "omitted")]
        pub gain_xy: GainXy,
        /// `Noise`.
        #[component(suffix = "Noise", kind = "omitted")]
        pub noise: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `PeakNum{X,Y}`.
        #[component(kind = "omitted")]
        pub peak_num: PeakNum,
        /// `PeakStart{X,Y}`.
        #[component(kind = "omitted")]
        pub peak_start: PeakStart,
        /// `PeakStep{X,Y}`.
        #[component(kind = "omitted")]
        pub peak_step: PeakStep,
        /// `PeakVariation`.
        #[component(suffix = "PeakVariation", kind = "omitted")]
        pub peak_variation: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `PeakWidth{X,Y}`.
        #[component(kind = "omitted")]
        pub peak_width: PeakWidth,
        /// `Reset`.
        #[component(suffix = "Reset", kind = "omitted")]
        pub reset: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `SimMode` (`LinearRamp`, `Peaks`, `Sine`, `Offset&Noise`).
        #[component(suffix = "SimMode", kind = "omitted")]
        pub sim_mode: ophyd_epics::EpicsSignalWithRbv<Enum>,
    }
}

/// The frames a camera makes, as a data key of the file they are written
/// to describes them (ophyd-async's `StreamResource` and its data key):
/// the shape of one frame and its element type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The shape of one frame, slowest dimension first: `[height, width]`,
    /// `[3, height, width]` for `RGB1` colour.
    pub shape: Vec<usize>,
    /// The element type.
    pub data_type: DataType,
}

impl FrameInfo {
    /// The numpy dtype of the elements (`"<u2"`): a data key's `dtype_numpy`.
    pub fn dtype_numpy(&self) -> &'static str {
        self.data_type.dtype_numpy()
    }

    /// The shape of a chunk of the HDF5 dataset: one frame,
    /// `[1, height, width]` (a `StreamResource`'s `chunk_shape`).
    pub fn chunk_shape(&self) -> Vec<usize> {
        std::iter::once(1).chain(self.shape.iter().copied()).collect()
    }
}

/// What the trigger and the file writer need of a camera, whichever
/// [`cam_base!`] struct it is.
pub trait Camera: ophyd_core::Device {
    /// `Acquire`.
    fn acquire(&self) -> &ophyd_epics::EpicsSignalWithRbv<Enum>;
    /// `AcquireTime`.
    fn acquire_time(&self) -> &ophyd_epics::EpicsSignalWithRbv<f64>;
    /// `AcquirePeriod`.
    fn acquire_period(&self) -> &ophyd_epics::EpicsSignalWithRbv<f64>;
    /// `ImageMode`.
    fn image_mode(&self) -> &ophyd_epics::EpicsSignalWithRbv<Enum>;
    /// `NumImages`.
    fn num_images(&self) -> &ophyd_epics::EpicsSignalWithRbv<i32>;
    /// `ArraySize{Z,Y,X}_RBV`.
    fn array_size(&self) -> &ArraySize;
    /// `DataType`.
    fn data_type(&self) -> &ophyd_epics::EpicsSignalWithRbv<Enum>;
    /// `ColorMode`.
    fn color_mode(&self) -> &ophyd_epics::EpicsSignalWithRbv<Enum>;

    /// The frames the camera makes now, as ophyd-async reads them: the
    /// non-zero array sizes (`ArraySize{Y,X}_RBV`, `3` first for `RGB1`
    /// colour) and `DataType`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// use ophyd_areadetector::sim::{add_sim_detector, SimDetectorOptions};
    /// use ophyd_areadetector::{Camera, DataType, SimDetectorCam};
    /// let ioc = ophyd_epics::sim::SimIoc::new();
    /// add_sim_detector(&ioc, "13SIM1:", SimDetectorOptions::default().size(640, 480).data_type(DataType::UInt8));
    /// let cam = SimDetectorCam::new("13SIM1:cam1:", "cam");
    /// cam.connect(&ioc.transport()).await?;
    /// let frames = cam.frame_info().await?;
    /// assert_eq!((frames.shape.as_slice(), frames.dtype_numpy()), (&[480, 640][..], "|u1"));
    /// assert_eq!(frames.chunk_shape(), [1, 480, 640]);
    /// # Ok(()) }
    /// ```
    fn frame_info(&self) -> impl std::future::Future<Output = ophyd_core::Result<FrameInfo>> + Send
    where
        Self: Sized,
    {
        async move {
            use ophyd_core::Signal;
            let sizes = self.array_size();
            let (y, x, data_type, color_mode) = futures::try_join!(
                sizes.array_size_y.get(),
                sizes.array_size_x.get(),
                self.data_type().get(),
                self.color_mode().get()
            )?;
            let data_type = DataType::from_enum(&data_type).ok_or_else(|| ophyd_core::Error::Get {
                signal: ophyd_core::DynComponent::name(self.data_type()).to_owned(),
                pv: self.data_type().read_pv().to_owned(),
                reason: format!("{data_type} is not an areaDetector data type"),
            })?;
            let rgb1 = color_mode.index() == Some(2);
            let shape = rgb1.then_some(3).into_iter().chain([y, x].into_iter().filter(|&d| d > 0).map(|d| d as usize));
            Ok(FrameInfo { shape: shape.collect(), data_type })
        }
    }
}

/// Implement [`Camera`] for a struct declared with [`cam_base!`].
///
/// ```
/// use ophyd_areadetector::{cam_base, impl_camera};
/// cam_base! {
///     /// A camera of my own.
///     pub struct MyCam {}
/// }
/// impl_camera!(MyCam);
/// ```
#[macro_export]
macro_rules! impl_camera {
    ($name:ty) => {
        impl $crate::Camera for $name {
            fn acquire(&self) -> &$crate::__private::EpicsSignalWithRbv<$crate::__private::Enum> {
                &self.acquire
            }
            fn acquire_time(&self) -> &$crate::__private::EpicsSignalWithRbv<f64> {
                &self.acquire_time
            }
            fn acquire_period(&self) -> &$crate::__private::EpicsSignalWithRbv<f64> {
                &self.acquire_period
            }
            fn image_mode(&self) -> &$crate::__private::EpicsSignalWithRbv<$crate::__private::Enum> {
                &self.image_mode
            }
            fn num_images(&self) -> &$crate::__private::EpicsSignalWithRbv<i32> {
                &self.num_images
            }
            fn array_size(&self) -> &$crate::cam::ArraySize {
                &self.array_size
            }
            fn data_type(&self) -> &$crate::__private::EpicsSignalWithRbv<$crate::__private::Enum> {
                &self.data_type
            }
            fn color_mode(&self) -> &$crate::__private::EpicsSignalWithRbv<$crate::__private::Enum> {
                &self.color_mode
            }
        }
    };
}

impl_camera!(CamBase);
impl_camera!(SimDetectorCam);

/// ADBase's fields, the ones ophyd's `ADBase` gives cameras and plugins
/// alike: `$callback! { $args [fields] }` (macros cannot expand in a
/// struct's field list, so the struct's macro takes them as its last input).
#[doc(hidden)]
#[macro_export]
macro_rules! __ad_base_fields {
    ($callback:ident { $($args:tt)* }) => {
        $crate::$callback! { $($args)* [
            /// `ArrayCounter`: arrays counted since it was last reset.
            #[component(suffix = "ArrayCounter", kind = "omitted")]
            pub array_counter: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `ArrayRate_RBV`: arrays a second.
            #[component(suffix = "ArrayRate_RBV", kind = "omitted")]
            pub array_rate: $crate::__private::EpicsSignalRO<f64>,
            /// `NDAttributesFile`: the XML file of NDAttributes (a long string).
            #[component(suffix = "NDAttributesFile", kind = "omitted")]
            pub nd_attributes_file: $crate::__private::EpicsSignal<::std::string::String>,
            /// `PoolAllocBuffers`.
            #[component(suffix = "PoolAllocBuffers", kind = "omitted")]
            pub pool_alloc_buffers: $crate::__private::EpicsSignalRO<i32>,
            /// `PoolFreeBuffers`.
            #[component(suffix = "PoolFreeBuffers", kind = "omitted")]
            pub pool_free_buffers: $crate::__private::EpicsSignalRO<i32>,
            /// `PoolMaxMem`, MB.
            #[component(suffix = "PoolMaxMem", kind = "omitted")]
            pub pool_max_mem: $crate::__private::EpicsSignalRO<f64>,
            /// `PoolUsedBuffers`.
            #[component(suffix = "PoolUsedBuffers", kind = "omitted")]
            pub pool_used_buffers: $crate::__private::EpicsSignalRO<f64>,
            /// `PoolUsedMem`, MB.
            #[component(suffix = "PoolUsedMem", kind = "omitted")]
            pub pool_used_mem: $crate::__private::EpicsSignalRO<f64>,
            /// `PortName_RBV`: the driver's or plugin's asyn port, which plugins name as their source.
            #[component(suffix = "PortName_RBV", kind = "omitted")]
            pub port_name: $crate::__private::EpicsSignalRO<::std::string::String>,
        ] }
    };
}

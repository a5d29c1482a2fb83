//! Plugins: ophyd's `PluginBase` (the NDPluginBase PVs every plugin has)
//! and the plugins users stage every day: [`ImagePlugin`] (NDStdArrays),
//! [`StatsPlugin`] (NDStats), [`RoiPlugin`] (NDROI) and [`Hdf5Plugin`]
//! (NDFileHDF5, in its ADCore 3.4 form).
//!
//! Names, suffixes and kinds are ophyd 1.11's, at instance level: every
//! plugin and every plugin signal is `omitted` (ophyd's `ADBase` has no
//! default read or configuration attributes). A user makes what they want
//! read visible, as in ophyd (`det.stats1.kind = 'normal'`,
//! `det.stats1.total.kind = 'hinted'`): declare the plugin with
//! `kind = "normal"` and `det.stats1.total.set_kind(Kind::Hinted)`.
//!
//! Where ophyd reads an enum as its label (`string=True`: `enable`,
//! `blocking_callbacks`, `data_type`, Stats' `compute_*`, ...), the signal
//! holds a `String`: it reads and writes the label on an enum PV, and
//! copes with IOCs that serve it as a string (caproto's areaDetector
//! simulation does).
//!
//! Staging a plugin does what ophyd's does: `enable` to `"Enable"` and
//! `blocking_callbacks` to `"Yes"` (so that a frame is through the plugin
//! when the acquisition completes). ophyd's third, `parent.cam.array_callbacks: 1`,
//! is the camera's own (see [`cam`](crate::cam)): a plugin does not know its
//! camera.

mod hdf5;
mod image;
mod roi;
mod stats;

pub use hdf5::{FileWriteMode, Hdf5Plugin, HdfFile, HdfWriter, DATASET};
pub use image::{Image, ImagePlugin};
pub use roi::RoiPlugin;
pub use stats::StatsPlugin;

use crate::cam::group;

/// Declare a plugin: a struct with ophyd's `PluginBase` components (under
/// their ophyd names, areaDetector suffixes and kinds) followed by the
/// fields given, with `#[derive(Device)]`, as ophyd's plugin classes add
/// theirs:
///
/// ```
/// use ophyd_areadetector::plugin_base;
/// use ophyd_epics::EpicsSignalWithRbv;
///
/// plugin_base! {
///     /// NDPluginProcess, in part.
///     pub struct ProcessPlugin {
///         /// `EnableOffsetScale`.
///         #[component(suffix = "EnableOffsetScale", kind = "omitted")]
///         pub enable_offset_scale: EpicsSignalWithRbv<String>,
///     }
/// }
/// let proc1 = ProcessPlugin::new("13SIM1:Proc1:", "proc1");
/// assert_eq!(proc1.stage_sigs().paths(), ["blocking_callbacks", "enable"]);
/// # use ophyd_core::Device;
/// ```
///
/// A plugin whose `array_size` is its own (NDROI's `ArraySize{Z,Y,X}_RBV`)
/// names its type first, `plugin_base! { #![array_size(MyArraySize)] pub struct ... }`;
/// one that writes its own `Stage` says `#![device(custom(stage))]` first.
///
/// ophyd's `asyn_io`, `pool_max_buffers` and the two non-PV signals
/// (`configuration_names`, `asyn_pipeline_config`) are left out: ophyd-rs
/// connects every signal it declares (see [`cam_base!`](crate::cam_base)).
#[macro_export]
macro_rules! plugin_base {
    (
        $(#![device(custom($custom:ident))])?
        $(#![array_size($array_size:ty)])?
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($(#[$fattr:meta])* $fvis:vis $field:ident: $fty:ty),* $(,)? }
    ) => {
        $crate::__ad_base_fields! {
            __plugin_base {
                [$($custom)?] [$($array_size)?] [$(#[$meta])* $vis struct $name]
                [$($(#[$fattr])* $fvis $field: $fty,)*]
            }
        }
    };
}

/// [`plugin_base!`] once ADBase's fields are given, last.
#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_base {
    (
        [$($custom:ident)?] [$($array_size:ty)?] [$($head:tt)*] [$($user:tt)*] [$($ad_base:tt)*]
    ) => {
        #[derive(::ophyd_core::Device)]
        // Written here, where the derive is: its hygiene must be the derive's.
        $(#[device(custom(stage))] #[cfg_attr(any(), doc = stringify!($custom))])?
        $($head)* {
            $($ad_base)*
            /// `ArraySize0_RBV`: the width of the last array.
            #[component(suffix = "ArraySize0_RBV", kind = "omitted")]
            pub width: $crate::__private::EpicsSignalRO<i32>,
            /// `ArraySize1_RBV`: the height of the last array.
            #[component(suffix = "ArraySize1_RBV", kind = "omitted")]
            pub height: $crate::__private::EpicsSignalRO<i32>,
            /// `ArraySize2_RBV`: the depth of the last array.
            #[component(suffix = "ArraySize2_RBV", kind = "omitted")]
            pub depth: $crate::__private::EpicsSignalRO<i32>,
            /// The size of the last array.
            #[component(kind = "omitted")]
            pub array_size: $crate::__plugin_array_size!($($array_size)?),
            /// `BayerPattern_RBV`.
            #[component(suffix = "BayerPattern_RBV", kind = "omitted")]
            pub bayer_pattern: $crate::__private::EpicsSignalRO<$crate::__private::Enum>,
            /// `BlockingCallbacks` (`No`/`Yes`), as its label: whether the
            /// plugin runs in the thread of its source. Staged to `"Yes"`.
            #[component(suffix = "BlockingCallbacks", kind = "omitted", stage = "Yes")]
            pub blocking_callbacks: $crate::__private::EpicsSignalWithRbv<::std::string::String>,
            /// `ColorMode_RBV` of the last array.
            #[component(suffix = "ColorMode_RBV", kind = "omitted")]
            pub color_mode: $crate::__private::EpicsSignalRO<$crate::__private::Enum>,
            /// `DataType_RBV` of the last array, as its label (`"UInt16"`).
            #[component(suffix = "DataType_RBV", kind = "omitted")]
            pub data_type: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `Dim0SA`.
            #[component(suffix = "Dim0SA", kind = "omitted")]
            pub dim0_sa: $crate::__private::EpicsSignal<::std::vec::Vec<i32>>,
            /// `Dim1SA`.
            #[component(suffix = "Dim1SA", kind = "omitted")]
            pub dim1_sa: $crate::__private::EpicsSignal<::std::vec::Vec<i32>>,
            /// `Dim2SA`.
            #[component(suffix = "Dim2SA", kind = "omitted")]
            pub dim2_sa: $crate::__private::EpicsSignal<::std::vec::Vec<i32>>,
            /// `Dim{0,1,2}SA`.
            #[component(kind = "omitted")]
            pub dim_sa: $crate::plugins::DimSa,
            /// `Dimensions_RBV` of the last array.
            #[component(suffix = "Dimensions_RBV", kind = "omitted")]
            pub dimensions: $crate::__private::EpicsSignalRO<::std::vec::Vec<i32>>,
            /// `DroppedArrays`.
            #[component(suffix = "DroppedArrays", kind = "omitted")]
            pub dropped_arrays: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `EnableCallbacks` (`Disable`/`Enable`), as its label: whether
            /// the plugin takes arrays. Staged to `"Enable"`.
            #[component(suffix = "EnableCallbacks", kind = "omitted", stage = "Enable")]
            pub enable: $crate::__private::EpicsSignalWithRbv<::std::string::String>,
            /// `MinCallbackTime`, seconds.
            #[component(suffix = "MinCallbackTime", kind = "omitted")]
            pub min_callback_time: $crate::__private::EpicsSignalWithRbv<f64>,
            /// `NDArrayAddress`.
            #[component(suffix = "NDArrayAddress", kind = "omitted")]
            pub nd_array_address: $crate::__private::EpicsSignalWithRbv<i32>,
            /// `NDArrayPort`: the asyn port the plugin takes its arrays from.
            #[component(suffix = "NDArrayPort", kind = "omitted")]
            pub nd_array_port: $crate::__private::EpicsSignalWithRbv<::std::string::String>,
            /// `NDimensions_RBV` of the last array.
            #[component(suffix = "NDimensions_RBV", kind = "omitted")]
            pub ndimensions: $crate::__private::EpicsSignalRO<i32>,
            /// `PluginType_RBV` (`"NDPluginStats"`, ...).
            #[component(suffix = "PluginType_RBV", kind = "omitted")]
            pub plugin_type: $crate::__private::EpicsSignalRO<::std::string::String>,
            /// `QueueFree`.
            #[component(suffix = "QueueFree", kind = "omitted")]
            pub queue_free: $crate::__private::EpicsSignal<i32>,
            /// `QueueFreeLow`.
            #[component(suffix = "QueueFreeLow", kind = "omitted")]
            pub queue_free_low: $crate::__private::EpicsSignal<f64>,
            /// `QueueSize`.
            #[component(suffix = "QueueSize", kind = "omitted")]
            pub queue_size: $crate::__private::EpicsSignal<i32>,
            /// `QueueUse`.
            #[component(suffix = "QueueUse", kind = "omitted")]
            pub queue_use: $crate::__private::EpicsSignal<f64>,
            /// `QueueUseHIGH`.
            #[component(suffix = "QueueUseHIGH", kind = "omitted")]
            pub queue_use_high: $crate::__private::EpicsSignal<f64>,
            /// `QueueUseHIHI`.
            #[component(suffix = "QueueUseHIHI", kind = "omitted")]
            pub queue_use_hihi: $crate::__private::EpicsSignal<f64>,
            /// `TimeStamp_RBV` of the last array.
            #[component(suffix = "TimeStamp_RBV", kind = "omitted")]
            pub time_stamp: $crate::__private::EpicsSignalRO<f64>,
            /// `UniqueId_RBV` of the last array.
            #[component(suffix = "UniqueId_RBV", kind = "omitted")]
            pub unique_id: $crate::__private::EpicsSignalRO<i32>,
            $($user)*
        }
        $($crate::__plugin_custom!($custom);)?
    };
}

/// What a plugin may write itself: staging.
#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_custom {
    (stage) => {};
    ($other:ident) => {
        compile_error!(concat!(
            "plugin_base! takes `#![device(custom(stage))]` only, not `",
            stringify!($other),
            "`: declare the plugin with #[derive(Device)] for other behaviours"
        ));
    };
}

/// The type of a plugin's `array_size`: NDPluginBase's unless given.
#[doc(hidden)]
#[macro_export]
macro_rules! __plugin_array_size {
    () => {
        $crate::plugins::ArraySize
    };
    ($array_size:ty) => {
        $array_size
    };
}

group!(
    /// ophyd's `PluginBase.array_size`: `ArraySize{2,1,0}_RBV`.
    ArraySize(EpicsSignalRO, i32), "config" { depth: "ArraySize2_RBV", height: "ArraySize1_RBV", width: "ArraySize0_RBV" }
);
group!(
    /// ophyd's `PluginBase.dim_sa`: `Dim{0,1,2}SA`.
    DimSa(EpicsSignal, Vec<i32>), "config" { dim0: "Dim0SA", dim1: "Dim1SA", dim2: "Dim2SA" }
);

plugin_base! {
    /// ophyd's `PluginBase`: the PVs of any plugin (ADCore's
    /// `NDPluginBase.template`), for a plugin ophyd-rs does not declare.
    ///
    /// ```
    /// use ophyd_core::prelude::*;
    /// use ophyd_areadetector::PluginBase;
    /// let plugin = PluginBase::new("13SIM1:Over1:", "over1");
    /// assert_eq!(plugin.enable.write_pv(), "13SIM1:Over1:EnableCallbacks");
    /// assert!(plugin.configuration_attrs().is_empty()); // every signal omitted
    /// assert_eq!(plugin.stage_sigs().paths(), ["blocking_callbacks", "enable"]);
    /// ```
    pub struct PluginBase {}
}

/// What a detector needs of any plugin: whether it takes arrays, and from
/// which port.
pub trait Plugin: ophyd_core::Device {
    /// `EnableCallbacks`.
    fn enable(&self) -> &ophyd_epics::EpicsSignalWithRbv<String>;
    /// `NDArrayPort`.
    fn nd_array_port(&self) -> &ophyd_epics::EpicsSignalWithRbv<String>;
    /// `PortName_RBV`.
    fn port_name(&self) -> &ophyd_epics::EpicsSignalRO<String>;
}

/// Implement [`Plugin`] for a struct declared with [`plugin_base!`].
#[macro_export]
macro_rules! impl_plugin {
    ($name:ty) => {
        impl $crate::Plugin for $name {
            fn enable(&self) -> &$crate::__private::EpicsSignalWithRbv<::std::string::String> {
                &self.enable
            }
            fn nd_array_port(&self) -> &$crate::__private::EpicsSignalWithRbv<::std::string::String> {
                &self.nd_array_port
            }
            fn port_name(&self) -> &$crate::__private::EpicsSignalRO<::std::string::String> {
                &self.port_name
            }
        }
    };
}

impl_plugin!(PluginBase);
impl_plugin!(ImagePlugin);
impl_plugin!(StatsPlugin);
impl_plugin!(RoiPlugin);
impl_plugin!(Hdf5Plugin);

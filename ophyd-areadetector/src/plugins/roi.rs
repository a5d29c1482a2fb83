//! [`RoiPlugin`]: NDROI, a region of each array.

use ophyd_epics::Enum;

use crate::cam::group;
use crate::plugin_base;

group!(
    /// ophyd's `ROIPlugin.array_size`: `ArraySize{Z,Y,X}_RBV`, the size of the region out.
    RoiArraySize(EpicsSignalRO, i32), "config" { z: "ArraySizeZ_RBV", y: "ArraySizeY_RBV", x: "ArraySizeX_RBV" }
);
group!(
    /// ophyd's `ROIPlugin.auto_size`: `AutoSize{X,Y,Z}`.
    AutoSize(EpicsSignalWithRbv, Enum), "config" { x: "AutoSizeX", y: "AutoSizeY", z: "AutoSizeZ" }
);
group!(
    /// ophyd's `ROIPlugin.bin_`: `Bin{X,Y,Z}`.
    Bin(EpicsSignalWithRbv, i32), "config" { x: "BinX", y: "BinY", z: "BinZ" }
);
group!(
    /// ophyd's `ROIPlugin.roi_enable`: `Enable{X,Y,Z}`, as their labels.
    RoiEnable(EpicsSignalWithRbv, String), "config" { x: "EnableX", y: "EnableY", z: "EnableZ" }
);
group!(
    /// ophyd's `ROIPlugin.max_xy`: `Max{X,Y}`.
    RoiMaxXy(EpicsSignal, i32), "config" { x: "MaxX", y: "MaxY" }
);
group!(
    /// ophyd's `ROIPlugin.max_size`: `MaxSize{X,Y,Z}_RBV`, the size of the array in.
    RoiMaxSize(EpicsSignalRO, i32), "config" { x: "MaxSizeX_RBV", y: "MaxSizeY_RBV", z: "MaxSizeZ_RBV" }
);
group!(
    /// ophyd's `ROIPlugin.min_xyz`: `Min{X,Y,Z}`, where the region starts.
    MinXyz(EpicsSignalWithRbv, i32), "normal" { min_x: "MinX", min_y: "MinY", min_z: "MinZ" }
);
group!(
    /// ophyd's `ROIPlugin.reverse`: `Reverse{X,Y,Z}`.
    RoiReverse(EpicsSignalWithRbv, Enum), "config" { x: "ReverseX", y: "ReverseY", z: "ReverseZ" }
);
group!(
    /// ophyd's `ROIPlugin.size`: `Size{X,Y,Z}`, the region's size.
    RoiSize(EpicsSignalWithRbv, i32), "normal" { x: "SizeX", y: "SizeY", z: "SizeZ" }
);

plugin_base! {
    #![array_size(RoiArraySize)]
    /// ophyd's `ROIPlugin` (NDROI): a region of each array, passed on to
    /// the plugins that take their arrays from its port (a
    /// [`StatsPlugin`](crate::StatsPlugin) for statistics of the region).
    ///
    /// ophyd's `set_xhopr` and `set_yhopr` are left out.
    pub struct RoiPlugin {
        /// `AutoSize{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub auto_size: AutoSize,
        /// `Bin{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub bin_: Bin,
        /// `DataTypeOut`, as its label (`"Automatic"`: as the array in).
        #[component(suffix = "DataTypeOut", kind = "omitted")]
        pub data_type_out: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `EnableScale` (`Disable`/`Enable`), as its label.
        #[component(suffix = "EnableScale", kind = "omitted")]
        pub enable_scale: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `Enable{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub roi_enable: RoiEnable,
        /// `Max{X,Y}`.
        #[component(kind = "omitted")]
        pub max_xy: RoiMaxXy,
        /// `MaxSize{X,Y,Z}_RBV`.
        #[component(kind = "omitted")]
        pub max_size: RoiMaxSize,
        /// `Min{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub min_xyz: MinXyz,
        /// `Name`: the region's name.
        #[component(suffix = "Name", kind = "omitted")]
        pub name_: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `Reverse{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub reverse: RoiReverse,
        /// `Scale`.
        #[component(suffix = "Scale", kind = "omitted")]
        pub scale: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `Size{X,Y,Z}`.
        #[component(kind = "omitted")]
        pub size: RoiSize,
    }
}

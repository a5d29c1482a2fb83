//! [`StatsPlugin`]: NDStats, statistics of each array.

use crate::cam::group;
use crate::plugin_base;

group!(
    /// ophyd's `StatsPlugin.centroid`: `Centroid{X,Y}_RBV`.
    Centroid(EpicsSignalRO, f64), "config" { x: "CentroidX_RBV", y: "CentroidY_RBV" }
);
group!(
    /// ophyd's `StatsPlugin.cursor`: `Cursor{X,Y}`.
    Cursor(EpicsSignalWithRbv, i32), "config" { x: "CursorX", y: "CursorY" }
);
group!(
    /// ophyd's `StatsPlugin.max_size`: `MaxSize{X,Y}`.
    StatsMaxSize(EpicsSignal, i32), "config" { x: "MaxSizeX", y: "MaxSizeY" }
);
group!(
    /// ophyd's `StatsPlugin.max_xy`: `Max{X,Y}_RBV`, where the maximum is.
    MaxXy(EpicsSignalRO, f64), "config" { x: "MaxX_RBV", y: "MaxY_RBV" }
);
group!(
    /// ophyd's `StatsPlugin.min_xy`: `Min{X,Y}_RBV`, where the minimum is.
    MinXy(EpicsSignalRO, f64), "config" { x: "MinX_RBV", y: "MinY_RBV" }
);

plugin_base! {
    /// ophyd's `StatsPlugin` (NDStats): the total, extremes, mean, sigma
    /// and centroid of each array (or of the region a [`RoiPlugin`](crate::RoiPlugin)
    /// it takes its arrays from cuts out).
    ///
    /// ophyd's profile, time-series and `set_[xy]hopr` components are left
    /// out (time series moved to NDPluginTimeSeries in ADCore 3).
    pub struct StatsPlugin {
        /// `BgdWidth`: pixels of each edge averaged as the background of `net`.
        #[component(suffix = "BgdWidth", kind = "omitted")]
        pub bgd_width: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `CentroidThreshold`: pixels below it are left out of the centroid.
        #[component(suffix = "CentroidThreshold", kind = "omitted")]
        pub centroid_threshold: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `Centroid{X,Y}_RBV`.
        #[component(kind = "omitted")]
        pub centroid: Centroid,
        /// `ComputeCentroid` (`No`/`Yes`), as its label.
        #[component(suffix = "ComputeCentroid", kind = "omitted")]
        pub compute_centroid: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `ComputeHistogram` (`No`/`Yes`), as its label.
        #[component(suffix = "ComputeHistogram", kind = "omitted")]
        pub compute_histogram: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `ComputeProfiles` (`No`/`Yes`), as its label.
        #[component(suffix = "ComputeProfiles", kind = "omitted")]
        pub compute_profiles: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `ComputeStatistics` (`No`/`Yes`), as its label.
        #[component(suffix = "ComputeStatistics", kind = "omitted")]
        pub compute_statistics: ophyd_epics::EpicsSignalWithRbv<String>,
        /// `Cursor{X,Y}`.
        #[component(kind = "omitted")]
        pub cursor: Cursor,
        /// `HistEntropy_RBV`.
        #[component(suffix = "HistEntropy_RBV", kind = "omitted")]
        pub hist_entropy: ophyd_epics::EpicsSignalRO<f64>,
        /// `HistMax`.
        #[component(suffix = "HistMax", kind = "omitted")]
        pub hist_max: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `HistMin`.
        #[component(suffix = "HistMin", kind = "omitted")]
        pub hist_min: ophyd_epics::EpicsSignalWithRbv<f64>,
        /// `HistSize`.
        #[component(suffix = "HistSize", kind = "omitted")]
        pub hist_size: ophyd_epics::EpicsSignalWithRbv<i32>,
        /// `Histogram_RBV`.
        #[component(suffix = "Histogram_RBV", kind = "omitted")]
        pub histogram: ophyd_epics::EpicsSignalRO<Vec<f64>>,
        /// `MaxSize{X,Y}`.
        #[component(kind = "omitted")]
        pub max_size: StatsMaxSize,
        /// `MaxValue_RBV`.
        #[component(suffix = "MaxValue_RBV", kind = "omitted")]
        pub max_value: ophyd_epics::EpicsSignalRO<f64>,
        /// `Max{X,Y}_RBV`.
        #[component(kind = "omitted")]
        pub max_xy: MaxXy,
        /// `MeanValue_RBV`.
        #[component(suffix = "MeanValue_RBV", kind = "omitted")]
        pub mean_value: ophyd_epics::EpicsSignalRO<f64>,
        /// `MinValue_RBV`.
        #[component(suffix = "MinValue_RBV", kind = "omitted")]
        pub min_value: ophyd_epics::EpicsSignalRO<f64>,
        /// `Min{X,Y}_RBV`.
        #[component(kind = "omitted")]
        pub min_xy: MinXy,
        /// `Net_RBV`: the total less the background.
        #[component(suffix = "Net_RBV", kind = "omitted")]
        pub net: ophyd_epics::EpicsSignalRO<f64>,
        /// `SigmaXY_RBV`.
        #[component(suffix = "SigmaXY_RBV", kind = "omitted")]
        pub sigma_xy: ophyd_epics::EpicsSignalRO<f64>,
        /// `SigmaX_RBV`.
        #[component(suffix = "SigmaX_RBV", kind = "omitted")]
        pub sigma_x: ophyd_epics::EpicsSignalRO<f64>,
        /// `SigmaY_RBV`.
        #[component(suffix = "SigmaY_RBV", kind = "omitted")]
        pub sigma_y: ophyd_epics::EpicsSignalRO<f64>,
        /// `Sigma_RBV`: the standard deviation of the elements.
        #[component(suffix = "Sigma_RBV", kind = "omitted")]
        pub sigma: ophyd_epics::EpicsSignalRO<f64>,
        /// `Total_RBV`: the sum of the elements.
        #[component(suffix = "Total_RBV", kind = "omitted")]
        pub total: ophyd_epics::EpicsSignalRO<f64>,
    }
}

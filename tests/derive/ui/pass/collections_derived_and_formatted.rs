//! Vectors of signals and of sub-devices, formatted PVs with `new_with`,
//! derived signals of one and of several sources (functions and closures),
//! trigger-only signals with and without put-complete, in a generic device
//! too.

use std::sync::Arc;

use ophyd_core::prelude::*;
use ophyd_core::{DerivedSignal, DerivedSignalRO, DeviceVector};
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv, EpicsSignalX};

#[derive(Device)]
pub struct Roi {
    #[component(suffix = "MinX", kind = "config")]
    pub min_x: EpicsSignalWithRbv<i32>,
    #[component(suffix = "Total_RBV", kind = "hinted")]
    pub total: EpicsSignalRO<f64>,
}

fn gap(top: f64, bottom: f64) -> f64 {
    top - bottom
}

fn blades(gap: f64, top: f64, bottom: f64) -> (f64, f64) {
    let centre = (top + bottom) / 2.0;
    (centre + gap / 2.0, centre - gap / 2.0)
}

#[derive(Device)]
#[device(custom(trigger))]
pub struct Detector {
    #[component(suffix = "cam1:Acquire", put_complete)]
    pub acquire: EpicsSignalX<Enum>,
    #[component(suffix = "cam1:Reset")]
    pub reset: EpicsSignalX<i32>,
    #[component(vector(count = 4, suffix = "ROI{}:", attr = "roi{}"))]
    pub rois: DeviceVector<Roi>,
    #[component(vector(count = 16, start = 0, suffix = "S{:02}", attr = "chan{:02}"), kind = "hinted")]
    pub channels: DeviceVector<EpicsSignalRO<i32>>,
    #[component(vector(count = 2, suffix = "Bits{}"), kind = "config", put_complete)]
    pub bits: DeviceVector<EpicsSignal<i32>>,
    #[component(suffix = "top", kind = "config")]
    pub top: Arc<EpicsSignal<f64>>,
    #[component(suffix = "bottom", kind = "config")]
    pub bottom: Arc<EpicsSignal<f64>>,
    #[component(kind = "hinted", derived(from(top, bottom), raw_to_derived = gap, derived_to_raw = blades), stage = 1.0)]
    pub gap: DerivedSignal<f64>,
    #[component(derived(from(top), raw_to_derived = |top: f64| top * 1000.0, units = "um", precision = 1))]
    pub top_um: DerivedSignalRO<f64>,
    #[component(pv = "{prefix}{{literal}}{ch:02}:Temp", kind = "config")]
    pub temperature: EpicsSignalRO<f64>,
    pub ch: u32,
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        self.acquire.trigger()
    }
}

#[derive(Device)]
pub struct Generic<S: Send> {
    #[component(vector(count = 2, suffix = ":{}"))]
    pub items: DeviceVector<SoftSignal<f64>>,
    #[component(suffix = ":inner", kind = "hinted")]
    pub inner: S,
}

fn main() {
    let det = Detector::new_with("XF:det:", "det", 3);
    assert_eq!(det.rois[2].min_x.read_pv(), "XF:det:ROI2:MinX_RBV");
    assert_eq!(det.channels[0].name(), "det_channels_chan00");
    assert_eq!(det.channels[15].read_pv(), "XF:det:S15");
    assert_eq!(det.bits.attrs(), ["1", "2"]);
    assert!(det.bits[1].put_complete());
    assert!(det.acquire.put_complete() && !det.reset.put_complete());
    assert_eq!(det.temperature.read_pv(), "XF:det:{literal}03:Temp");
    assert_eq!(det.gap.name(), "det_gap");
    assert_eq!(det.stage_sigs().paths(), ["gap"]);
    let generic = Generic::<SoftSignal<i32>>::new("g", "generic");
    assert_eq!(generic.items[2].name(), "generic_items_2");
}

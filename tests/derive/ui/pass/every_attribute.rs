//! Every attribute and combination, nested devices three levels deep,
//! private and public fields, doc comments and other attributes on fields,
//! plain state fields, and hand-written behaviours.

use std::sync::Mutex;

use ophyd_core::prelude::*;
use ophyd_epics::{EpicsSignal, EpicsSignalRO, EpicsSignalWithRbv};

#[derive(Device)]
pub struct Roi {
    /// Minimum X.
    #[component(suffix = ":MinX", kind = "config", stage = 0)]
    pub min_x: EpicsSignal<i32>,
    #[component(suffix = ":Total", kind = "hinted", named_after_parent)]
    total: EpicsSignalRO<f64>,
}

#[derive(Device)]
pub struct Cam {
    #[component(suffix = ":AcquireTime", kind = "config", stage = 0.5)]
    pub acquire_time: EpicsSignalWithRbv<f64>,
    #[component(suffix = ":ImageMode", kind = "config", stage = "Multiple")]
    pub image_mode: EpicsSignal<Enum>,
    #[component(suffix = ":Acquire", kind = "omitted", put_complete = true)]
    pub acquire: EpicsSignal<Enum>,
    #[component(suffix = ":Label", kind = "normal", put_complete = false, stage = "scan")]
    pub label: EpicsSignal<String>,
    #[component(suffix = ":ROI1")]
    pub roi: Roi,
}

/// A detector.
#[derive(Device)]
#[device(custom(stage, trigger, stop))]
pub struct Detector {
    #[component(suffix = ":cam1")]
    pub cam: Cam,
    #[allow(dead_code)]
    #[component(kind = "omitted")]
    note: SoftSignal<String>,
    #[component]
    pub count: SoftSignal<u32>,
    #[component(suffix = ":Array", kind = "normal")]
    pub array: EpicsSignalRO<Vec<f64>>,
    /// Plain state: not a component.
    pub triggers: Mutex<u32>,
    started: Mutex<Option<f64>>,
}

impl Stage for Detector {
    async fn stage(&self) -> ophyd_core::Result<()> {
        *self.started.lock().unwrap() = Some(ophyd_core::now());
        self.stage_default().await
    }
}

impl Trigger for Detector {
    fn trigger(&self) -> Status {
        *self.triggers.lock().unwrap() += 1;
        self.cam.acquire.set(1)
    }
}

impl Stop for Detector {
    async fn stop(&self, success: bool) -> ophyd_core::Result<()> {
        let _ = success;
        self.cam.acquire.put(0).await
    }
}

fn main() {
    let det = Detector::new("XF:31ID", "det");
    assert_eq!(det.component_names(), ["cam", "note", "count", "array"]);
    assert_eq!(det.cam.roi.min_x.read_pv(), "XF:31ID:cam1:ROI1:MinX");
    assert_eq!(det.cam.roi.total.name(), "det_cam_roi"); // named_after_parent
    assert_eq!(det.cam.stage_sigs().paths(), ["acquire_time", "image_mode", "label"]);
    assert_eq!(det.hints().fields, ["det_cam_roi"]);
    assert_eq!(*det.triggers.lock().unwrap(), 0);
}

//! Single-frame triggering: ophyd's `SingleTrigger`, the trigger of a
//! detector that takes `num_images` frames (one unless set) each time.

use std::time::Duration;

use ophyd_core::staging::{state_of, Staged};
use ophyd_core::{Error, Status};

use crate::cam::Camera;

/// What a trigger allows beyond the acquisition's own time (frames ×
/// the longer of the exposure and the period) before it fails: ophyd-async's
/// `DEFAULT_TIMEOUT`.
pub const TRIGGER_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// Trigger the detector `cam` belongs to, as ophyd's `SingleTrigger` does:
/// start an acquisition (`Acquire` 1) and finish when it ends, when the
/// IOC completes the put (`Acquire` is a busy record: back to `Done`), as
/// ophyd-async waits for it.
///
/// The camera's staging (see [`cam`](crate::cam)) has put it in
/// `Multiple` mode of `num_images`: the detector must be staged (as
/// ophyd's `SingleTrigger` demands), or the Status fails at once, saying
/// so. A put the IOC refuses fails the Status with the IOC's reason; an
/// acquisition that has not ended after frames × the longer of
/// `acquire_time` and `acquire_period`, plus [`TRIGGER_TIMEOUT_MARGIN`],
/// fails it with a timeout naming the detector (measured on tokio's clock,
/// so a test with a paused clock sees it at once).
///
/// ```
/// use ophyd_core::prelude::*;
/// use ophyd_areadetector::{single_trigger, SimDetectorCam, StatsPlugin};
///
/// #[derive(Device)]
/// #[device(custom(trigger))]
/// struct MyDetector {
///     #[component(suffix = "cam1:", kind = "config")]
///     cam: SimDetectorCam,
///     #[component(suffix = "Stats1:")]
///     stats1: StatsPlugin,
/// }
///
/// impl Trigger for MyDetector {
///     fn trigger(&self) -> Status {
///         single_trigger(&self.cam)
///     }
/// }
/// # let _ = MyDetector::new("13SIM1:", "det");
/// ```
pub fn single_trigger<C: Camera>(cam: &C) -> Status {
    let detector = cam.parent().map_or_else(|| cam.name().to_owned(), |p| p.name().to_owned());
    let what = format!("trigger of `{detector}`");
    if state_of(cam) != Staged::Yes {
        let reason = format!(
            "`{detector}` is not staged: stage it first (staging puts its camera in Multiple mode of num_images, \
             and ophyd's SingleTrigger demands it too)"
        );
        return Status::failed(what.clone(), Error::Failed { what, reason });
    }
    // Asked for before the acquisition starts, answered while it runs.
    let (time, period, images, mode) = (
        cam.acquire_time().get_detached(),
        cam.acquire_period().get_detached(),
        cam.num_images().get_detached(),
        cam.image_mode().get_detached(),
    );
    let acquiring = cam.acquire().set_with_timeout(1, None);
    Status::from_future(what.clone(), async move {
        let (time, period, images, mode) = futures::try_join!(time, period, images, mode)?;
        let frames = match mode.index() {
            Some(0) => 1, // Single
            Some(2) => {
                return Err(Error::Failed {
                    what,
                    reason: "the camera is in Continuous mode, where an acquisition does not end by itself \
                             (staging sets Multiple: was it changed since?)"
                        .into(),
                })
            }
            _ => u32::try_from(images).unwrap_or(0).max(1),
        };
        let each = time.max(period).max(0.0);
        let allowed = Duration::try_from_secs_f64(each * f64::from(frames))
            .unwrap_or(Duration::MAX)
            .saturating_add(TRIGGER_TIMEOUT_MARGIN);
        match tokio::time::timeout(allowed, acquiring).await {
            Ok(outcome) => outcome,
            Err(_) => {
                Err(Error::Timeout { what: format!("{what}: {frames} frame(s) of {each} s each"), after: allowed })
            }
        }
    })
}

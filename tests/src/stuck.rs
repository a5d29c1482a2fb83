//! A device whose cleanup gets stuck, as hardware does: its hand-written
//! `unstage` first waits on a put-callback that the IOC never completes
//! (an asyn driver that never calls back), then puts back its
//! `stage_sigs`. On the simulated IOC, PVs `<prefix>:busy` and
//! `<prefix>:level` (original 0.5, staged 2.0).

use futures::FutureExt;
use ophyd_core::prelude::*;
use ophyd_epics::sim::{PutAction, PvSpec, SimIoc};
use ophyd_epics::EpicsSignal;

/// See the module documentation.
#[derive(Device)]
#[device(custom(stage))]
pub struct Stuck {
    /// Writes to it never complete.
    #[component(suffix = ":busy", kind = "omitted", put_complete)]
    pub busy: EpicsSignal<f64>,
    /// A stage_sig, put back after `busy` (so never, unless skipped past).
    #[component(suffix = ":level", kind = "config", stage = 2.0)]
    pub level: EpicsSignal<f64>,
}

impl Stage for Stuck {
    async fn stage(&self) -> ophyd_core::Result<()> {
        self.stage_default().await
    }

    async fn unstage(&self) -> ophyd_core::Result<()> {
        self.busy.set_with_timeout(1.0, None).await?;
        self.unstage_default().await
    }
}

/// Add the PVs of a [`Stuck`] at `prefix` to `ioc`.
pub fn add_stuck_pvs(ioc: &SimIoc, prefix: &str) {
    ioc.add(
        PvSpec::double(&format!("{prefix}:busy"), 0.0)
            .on_put(|_, v| PutAction::Write { value: v.clone(), completion: Some(std::future::pending().boxed()) }),
    )
    .add(PvSpec::double(&format!("{prefix}:level"), 0.5));
}

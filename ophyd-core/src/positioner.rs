//! [`Positioner`]: a [`Movable`] that also says where it is and where it may
//! go (ophyd's `PositionerBase`), and [`SoftPositioner`], one with no
//! hardware behind it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};

use crate::component::{Component, DynComponent, DynDevice, SuffixOptional};
use crate::connect::{ConnectCtx, PendingConnect};
use crate::data::{now, DataKey, Reading};
use crate::device::{Device, Movable, Stop};
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::meta::{ComponentSpec, DeviceMeta};
use crate::status::Status;
use crate::sync::lock;
use crate::value::{Dtype, Value};

/// A [`Movable`] that says where it is and where it may go: what a pseudo
/// positioner needs of its real axes (ophyd's `PositionerBase`: `position`,
/// `limits`, `check_value`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::{Positioner, SoftPositioner};
/// let x = SoftPositioner::new("x").with_limits(0.0, 5.0).with_init_pos(1.0);
/// let x: &dyn Positioner = &x;
/// assert_eq!(x.position().await?, 1.0);
/// assert_eq!(x.limits().await?, (0.0, 5.0));
/// assert_eq!(x.check_value(6.0).await.unwrap_err().name(), "LimitError");
/// # Ok(()) }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Positioner`",
    label = "`{Self}` does not implement `Positioner`",
    note = "a positioner implements `Movable` (`move_to`) and `Positioner` (`position`, `limits`, `check_value`); \
            `#[device(positioner)]` is for a derived device that does"
)]
pub trait Positioner: Movable {
    /// Where it is now (ophyd's `position`): the read-back.
    fn position(&self) -> BoxFuture<'_, Result<f64>>;

    /// Its limits, `(low, high)`; limits whose low is not below their high
    /// are none (ophyd's `limits`, `(0, 0)` when there are none).
    fn limits(&self) -> BoxFuture<'_, Result<(f64, f64)>>;

    /// Check, without moving, that it would accept a move to `target`
    /// (ophyd's `check_value`): [`Error::Limit`] naming it when `target` is
    /// outside its limits.
    fn check_value(&self, target: f64) -> BoxFuture<'_, Result<()>>;
}

/// Whether `limits` allow `position`, by ophyd's rule: limits whose low is
/// not below their high are none, and allow everything.
///
/// ```
/// use ophyd_core::within_limits;
/// assert!(within_limits((0.0, 10.0), 10.0));
/// assert!(!within_limits((0.0, 10.0), 10.5));
/// assert!(within_limits((0.0, 0.0), 1e9)); // (0, 0): no limits
/// ```
pub fn within_limits(limits: (f64, f64), position: f64) -> bool {
    let (low, high) = limits;
    low >= high || (low..=high).contains(&position)
}

/// The refusal of a move to a target that is not a number a positioner
/// could ever reach.
pub(crate) fn not_a_position(device: &str, target: f64) -> Error {
    Error::Failed {
        what: format!("move of `{device}` to {target}"),
        reason: "a target must be a finite number; nothing was moved".into(),
    }
}

/// What [`SoftPositioner`] keeps.
#[derive(Debug)]
struct SoftState {
    position: Option<f64>,
    limits: (f64, f64),
    egu: String,
    settle_time: Duration,
    /// The last move, which [`Stop::stop`] ends if it is still settling.
    current: Option<Status>,
}

/// A positioner with no hardware behind it (ophyd's `SoftPositioner`): a
/// move puts it at its target at once, and its Status finishes after the
/// settle time (tokio's clock). A target outside its limits is refused
/// with a [`LimitError`](Error::Limit) before anything changes.
///
/// It reads, as ophyd's does, as one entry under its own name (`{"x":
/// {"value": .., "timestamp": ..}}`), described with source `"computed"`,
/// its units and limits; it has no configuration, and is in `hints` only
/// when its kind is hinted. Before its first move (or an initial
/// position) it has no position, and reading it is an error.
///
/// As a `#[component]` of a device it is built without limits or a
/// position: give them at run time ([`SoftPositioner::set_limits`],
/// [`SoftPositioner::set_current_position`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_core::SoftPositioner;
///
/// let x = SoftPositioner::new("x").with_limits(0.0, 5.0).with_init_pos(1.0).with_egu("mm");
/// x.move_to(2.5).await?.await?;                          // accepted, then arrived
/// assert_eq!(x.position(), Some(2.5));
/// let reading = x.read().await?;
/// assert_eq!(reading.get("x").unwrap().value, 2.5.into()); // {"x": {"value": 2.5, ..}}
/// assert_eq!(&*x.describe().await?.get("x").unwrap().source, "computed");
///
/// let refused = x.move_to(6.0).await.unwrap_err();        // nothing moved
/// assert_eq!(refused.name(), "LimitError");
/// assert_eq!(x.position(), Some(2.5));
/// # Ok(()) }
/// ```
pub struct SoftPositioner {
    meta: Arc<DeviceMeta>,
    state: Mutex<SoftState>,
}

/// Where a soft positioner's position comes from (ophyd's `source`).
const SOURCE: &str = "computed";

impl SoftPositioner {
    /// A positioner named `name` (its data key), with no limits, no
    /// position and no settle time.
    pub fn new(name: &str) -> SoftPositioner {
        SoftPositioner::with_meta(DeviceMeta::root("", name))
    }

    fn with_meta(meta: Arc<DeviceMeta>) -> SoftPositioner {
        let state = SoftState {
            position: None,
            limits: (0.0, 0.0),
            egu: String::new(),
            settle_time: Duration::ZERO,
            current: None,
        };
        SoftPositioner { meta, state: Mutex::new(state) }
    }

    /// With limits `low..=high` (ophyd's `limits=(low, high)`).
    pub fn with_limits(self, low: f64, high: f64) -> SoftPositioner {
        self.set_limits(Some((low, high)));
        self
    }

    /// Starting at `position` (ophyd's `init_pos`), whatever the limits.
    pub fn with_init_pos(self, position: f64) -> SoftPositioner {
        self.set_current_position(position);
        self
    }

    /// With engineering units `egu` (ophyd's `egu`).
    pub fn with_egu(self, egu: &str) -> SoftPositioner {
        self.set_egu(egu);
        self
    }

    /// With a settle time: each move's Status finishes this long after the
    /// move (ophyd's `settle_time`).
    pub fn with_settle_time(self, settle_time: Duration) -> SoftPositioner {
        self.set_settle_time(settle_time);
        self
    }

    /// The positioner's name, its data key.
    pub fn name(&self) -> &str {
        self.meta.name()
    }

    /// Where it is, once it has been moved or given a position.
    pub fn position(&self) -> Option<f64> {
        lock(&self.state).position
    }

    /// Put it at `position` without a move: no limits are checked and no
    /// Status is made (a position known from elsewhere).
    pub fn set_current_position(&self, position: f64) {
        lock(&self.state).position = Some(position);
    }

    /// Its limits, `(0, 0)` when it has none (ophyd's `limits`).
    pub fn limits(&self) -> (f64, f64) {
        lock(&self.state).limits
    }

    /// Set its limits, or (`None`) remove them.
    pub fn set_limits(&self, limits: Option<(f64, f64)>) {
        lock(&self.state).limits = limits.unwrap_or((0.0, 0.0));
    }

    /// Its engineering units (`""` when none were given).
    pub fn egu(&self) -> String {
        lock(&self.state).egu.clone()
    }

    /// Set its engineering units.
    pub fn set_egu(&self, egu: &str) {
        lock(&self.state).egu = egu.to_owned();
    }

    /// How long after a move its Status finishes.
    pub fn settle_time(&self) -> Duration {
        lock(&self.state).settle_time
    }

    /// Set how long after a move its Status finishes.
    pub fn set_settle_time(&self, settle_time: Duration) {
        lock(&self.state).settle_time = settle_time;
    }

    /// ophyd's `check_value`: the limit error, naming the positioner, for
    /// a target outside its limits.
    fn check(&self, target: f64) -> Result<()> {
        if !target.is_finite() {
            return Err(not_a_position(self.name(), target));
        }
        let (low, high) = self.limits();
        if within_limits((low, high), target) {
            return Ok(());
        }
        Err(Error::Limit {
            device: self.name().to_owned(),
            target,
            which: "soft".into(),
            at: target,
            low,
            high,
            pvs: "no PV: set with SoftPositioner::set_limits".into(),
        })
    }

    /// Move at once; the Status finishes after the settle time.
    fn start_move(&self, target: f64) -> Result<Status> {
        self.check(target)?;
        let what = format!("move of `{}` to {target}", self.name());
        let mut state = lock(&self.state);
        state.position = Some(target);
        let arrived = Status::finished(what);
        let status = if state.settle_time.is_zero() { arrived } else { arrived.with_settle_time(state.settle_time) };
        state.current = Some(status.clone());
        Ok(status)
    }

    fn known_position(&self) -> Result<f64> {
        self.position().ok_or_else(|| Error::Get {
            signal: self.name().to_owned(),
            pv: SOURCE.into(),
            reason: "it has no position yet: move it, or give it one with set_current_position".into(),
        })
    }

    fn reading(&self) -> Result<Reading> {
        // ophyd's SoftPositioner stamps its reading with the time of the read.
        self.known_position().map(|position| Reading::new(Value::Float(position), now()))
    }

    fn data_key(&self) -> DataKey {
        let (low, high) = self.limits();
        DataKey {
            units: Some(Some(self.egu())),
            lower_ctrl_limit: Some(Some(Value::Float(low))),
            upper_ctrl_limit: Some(Some(Value::Float(high))),
            ..DataKey::new(SOURCE, Dtype::Number, Vec::new())
        }
    }
}

impl Component for SoftPositioner {
    fn build(spec: &ComponentSpec<'_>) -> Self {
        SoftPositioner::with_meta(DeviceMeta::child(spec))
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        match self.reading() {
            Ok(reading) => out.ready(self.name().into(), reading),
            Err(e) => out.failed(e),
        }
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        out.ready(self.name().into(), self.data_key())
    }

    /// None: ophyd's `SoftPositioner` has no configuration.
    fn read_configuration_into<'a>(&'a self, _: &mut Gather<'a, Reading>) {}

    fn describe_configuration_into<'a>(&'a self, _: &mut Gather<'a, DataKey>) {}

    fn collect_connects<'a>(&'a self, _: &ConnectCtx<'a>, _: &mut Vec<PendingConnect<'a>>) {}
}

impl SuffixOptional for SoftPositioner {}

impl DynComponent for SoftPositioner {
    crate::meta_accessors!(meta);

    /// Its name when its kind is hinted (ophyd's `PositionerBase.hints`).
    fn hints_into(&self, out: &mut Vec<String>) {
        if self.kind().is_hinted() {
            out.push(self.name().to_owned());
        }
    }

    fn as_device(&self) -> Option<&dyn DynDevice> {
        Some(self)
    }
}

impl DynDevice for SoftPositioner {
    fn meta(&self) -> &Arc<DeviceMeta> {
        &self.meta
    }

    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)> {
        Vec::new()
    }

    fn component(&self, _: &str) -> Option<&dyn DynComponent> {
        None
    }

    fn as_positioner(&self) -> Option<&dyn Positioner> {
        Some(self)
    }

    crate::device_behaviours!();
}

impl Device for SoftPositioner {
    fn component_names(&self) -> &'static [&'static str] {
        &[]
    }
}

impl crate::implement::UnlessDeviceCustomStage for SoftPositioner {}

impl crate::implement::UnlessDeviceCustomTrigger for SoftPositioner {}

impl Stop for SoftPositioner {
    /// End the last move if it is still settling: it fails (or, with
    /// `success`, finishes) where it is, as ophyd's `stop(success=...)`
    /// ends a move.
    async fn stop(&self, success: bool) -> Result<()> {
        let current = lock(&self.state).current.take();
        if let Some(motion) = current {
            motion.finish(if success {
                Ok(())
            } else {
                let at = self.position().map_or_else(|| "no position".to_owned(), |p| p.to_string());
                Err(Error::Failed { what: motion.what().to_owned(), reason: format!("stopped at {at} by stop()") })
            });
        }
        Ok(())
    }
}

impl Movable for SoftPositioner {
    /// Check `target` against the limits and go there at once; the Status
    /// finishes after the settle time.
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>> {
        std::future::ready(self.start_move(target)).boxed()
    }
}

impl Positioner for SoftPositioner {
    fn position(&self) -> BoxFuture<'_, Result<f64>> {
        std::future::ready(self.known_position()).boxed()
    }

    fn limits(&self) -> BoxFuture<'_, Result<(f64, f64)>> {
        std::future::ready(Ok(SoftPositioner::limits(self))).boxed()
    }

    fn check_value(&self, target: f64) -> BoxFuture<'_, Result<()>> {
        std::future::ready(self.check(target)).boxed()
    }
}

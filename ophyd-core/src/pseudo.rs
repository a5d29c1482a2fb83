//! [`PseudoPositioner`]: pseudo axes computed from real positioners through
//! a transform the user writes (ophyd's `PseudoPositioner` and
//! `PseudoSingle`), the classic slit's gap and centre from its two blades.
//!
//! # Shape
//!
//! A pseudo axis must reach its parent's real positioners and transform
//! when it is moved on its own (a scan of the gap), yet devices are built
//! by value and a child knows only its parent's [`DeviceMeta`]. So the
//! user's device of real positioners (the `T` of
//! `PseudoPositioner<T, P, R>`) and the pseudo targets live in one shared
//! place that the positioner and each of its [`PseudoSingle`] axes hold;
//! nothing else is shared. The user writes the real device with
//! `#[derive(Device)]` and implements [`PseudoTransform`] for it: the pseudo
//! axes' names (and limits and units), which fields are the real
//! positioners, and `forward`/`inverse` over fixed-size arrays, so that a
//! transform of the wrong arity does not compile.
//!
//! The device tree is ophyd's but for one level: the pseudo axes are
//! components of the positioner, and the real device is its component
//! `real`, named after the positioner, so that its positioners' data keys
//! are ophyd's (`slit_top`, not `slit_real_top`); their dotted paths are
//! `real.top`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::{join_all, BoxFuture, FutureExt, Shared as SharedFuture};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::component::{Component, DynComponent, DynDevice, DynSignal, SuffixOptional};
use crate::connect::{ConnectCtx, PendingConnect};
use crate::data::{now, DataKey, DataMap, Reading};
use crate::device::{device_hints_into, Device, Movable, Stop};
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::kind::Kind;
use crate::meta::{ComponentSpec, DeviceMeta, SignalMeta};
use crate::positioner::{not_a_position, within_limits, Positioner};
use crate::status::Status;
use crate::sync::lock;
use crate::value::{Dtype, Value};

/// One pseudo axis, as a [`PseudoTransform`] declares it: its name (its
/// field name in the positioner, the stem of its data keys), its limits
/// and its units (ophyd's `Cpt(PseudoSingle, limits=(0, 10), egu='mm')`).
///
/// ```
/// use ophyd_core::PseudoAxis;
/// const GAP: PseudoAxis = PseudoAxis::new("gap").limits(0.0, 10.0).egu("mm");
/// assert_eq!((GAP.name, GAP.limits, GAP.egu), ("gap", (0.0, 10.0), "mm"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PseudoAxis {
    /// The axis's name.
    pub name: &'static str,
    /// Its limits, `(low, high)`; `(0, 0)` (any low not below its high)
    /// for none.
    pub limits: (f64, f64),
    /// Its engineering units.
    pub egu: &'static str,
}

impl PseudoAxis {
    /// An axis named `name`, without limits or units.
    pub const fn new(name: &'static str) -> PseudoAxis {
        PseudoAxis { name, limits: (0.0, 0.0), egu: "" }
    }

    /// With limits `low..=high`.
    pub const fn limits(self, low: f64, high: f64) -> PseudoAxis {
        PseudoAxis { limits: (low, high), ..self }
    }

    /// With engineering units `egu`.
    pub const fn egu(self, egu: &'static str) -> PseudoAxis {
        PseudoAxis { egu, ..self }
    }
}

/// What makes a device of real positioners (a `#[derive(Device)]` struct)
/// the inside of a [`PseudoPositioner`] with `P` pseudo axes and `R` real
/// ones: ophyd's `PseudoPositioner` subclass with its `forward` and
/// `inverse`.
///
/// `forward` and `inverse` should be each other's inverse; a target whose
/// `forward` is not finite is refused.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_core::{Positioner, PseudoAxis, PseudoPositioner, PseudoTransform, SoftPositioner};
///
/// /// A slit's two blades.
/// #[derive(Device)]
/// struct Blades {
///     #[component]
///     top: SoftPositioner,
///     #[component]
///     bottom: SoftPositioner,
/// }
///
/// impl PseudoTransform<2, 2> for Blades {
///     const PSEUDO_AXES: [PseudoAxis; 2] = [PseudoAxis::new("gap").limits(0.0, 10.0), PseudoAxis::new("center")];
///     fn real_axes(&self) -> [&dyn Positioner; 2] {
///         [&self.top, &self.bottom]
///     }
///     fn forward(&self, [gap, center]: [f64; 2]) -> [f64; 2] {
///         [center + gap / 2.0, center - gap / 2.0]
///     }
///     fn inverse(&self, [top, bottom]: [f64; 2]) -> [f64; 2] {
///         [top - bottom, (top + bottom) / 2.0]
///     }
/// }
///
/// type Slit = PseudoPositioner<Blades, 2, 2>;
///
/// let slit = Slit::new("XF:slit", "slit");
/// slit.real().top.set_current_position(1.0);
/// slit.real().bottom.set_current_position(-1.0);
/// let [gap, _center] = slit.axes();
/// gap.move_to(4.0).await?.await?;                  // both blades, together
/// assert_eq!(slit.real_position().await?, [2.0, -2.0]);
/// slit.move_to([3.0, 0.5]).await?.await?;          // ophyd's slit.move(3, 0.5)
/// assert_eq!(slit.position().await?, [3.0, 0.5]);
/// let keys = slit.read().await?.keys().map(str::to_owned).collect::<Vec<_>>();
/// assert_eq!(keys, ["slit_gap", "slit_gap_setpoint", "slit_center", "slit_center_setpoint", "slit_top", "slit_bottom"]);
/// # Ok(()) }
/// ```
pub trait PseudoTransform<const P: usize, const R: usize>: Device {
    /// The pseudo axes, in the order `forward` takes their positions and
    /// `inverse` gives them.
    const PSEUDO_AXES: [PseudoAxis; P];

    /// The real positioners, in the order `forward` gives their positions
    /// and `inverse` takes them.
    fn real_axes(&self) -> [&dyn Positioner; R];

    /// The real positions for a pseudo position (ophyd's `forward`).
    fn forward(&self, pseudo: [f64; P]) -> [f64; R];

    /// The pseudo position for real positions (ophyd's `inverse`).
    fn inverse(&self, real: [f64; R]) -> [f64; P];
}

/// A device whose `P` pseudo axes are computed from `R` real positioners
/// (ophyd's `PseudoPositioner`): `T`, a device of real positioners that
/// implements [`PseudoTransform`], says how (see there for an example).
///
/// - Reading it reads each pseudo axis (`<name>_<axis>` from the real
///   positions through `inverse`, `<name>_<axis>_setpoint` its target: the
///   last position commanded, or where it is before any move), then the real
///   device (`<name>_<field>`), as ophyd's does.
/// - A move ([`PseudoPositioner::move_to`], or a move of one axis,
///   [`PseudoSingle`]'s [`Movable`]) checks every pseudo limit and, through
///   `forward`, every real positioner's own check before anything moves
///   (the refusal, a [`LimitError`](Error::Limit), names the axis that
///   refused); then it moves the real positioners together, and its Status
///   finishes when all of them have arrived. If one of them fails, the
///   others are stopped and the Status fails with its error.
/// - Moving one pseudo axis keeps the others at their targets (ophyd's
///   `move_single`); every move makes its position the new targets (ophyd's
///   `auto_target`).
/// - Its pseudo limits are those declared in
///   [`PseudoTransform::PSEUDO_AXES`] (or set with
///   [`PseudoSingle::set_limits`]); the real positioners' limits are
///   checked through `forward` rather than turned into pseudo limits.
/// - `stop` stops the real device (and so its positioners), as does a stop
///   of any of its pseudo axes.
///
/// A declaration it cannot work with does not compile: no pseudo axis or
/// no real positioner, two pseudo axes with one name, or one named `real`.
///
/// ```compile_fail
/// use ophyd_core::prelude::*;
/// use ophyd_core::{Positioner, PseudoAxis, PseudoPositioner, PseudoTransform, SoftPositioner};
/// #[derive(Device)]
/// struct One {
///     #[component]
///     x: SoftPositioner,
/// }
/// impl PseudoTransform<2, 1> for One {
///     const PSEUDO_AXES: [PseudoAxis; 2] = [PseudoAxis::new("u"), PseudoAxis::new("u")];
///     fn real_axes(&self) -> [&dyn Positioner; 1] { [&self.x] }
///     fn forward(&self, [u, _]: [f64; 2]) -> [f64; 1] { [u] }
///     fn inverse(&self, [x]: [f64; 1]) -> [f64; 2] { [x, x] }
/// }
/// let _ = PseudoPositioner::<One, 2, 1>::new("", "p"); // error: two pseudo axes have one name
/// ```
pub struct PseudoPositioner<T, const P: usize, const R: usize> {
    meta: Arc<DeviceMeta>,
    shared: Arc<Shared<T, P, R>>,
    axes: [PseudoSingle; P],
    names: &'static [&'static str],
}

/// What the positioner and its axes share.
struct Shared<T, const P: usize, const R: usize> {
    /// The positioner's own meta, for names in messages.
    meta: Arc<DeviceMeta>,
    real: T,
    axes: Mutex<[AxisState; P]>,
}

#[derive(Clone, Copy, Debug)]
struct AxisState {
    /// The last position commanded (ophyd's `_target`).
    target: Option<f64>,
    limits: (f64, f64),
}

/// The name of the real device among the positioner's components.
const REAL: &str = "real";

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> PseudoPositioner<T, P, R> {
    /// Checked when a positioner of `T` is first compiled: there is an axis
    /// of each sort, and the pseudo axes' names are distinct components.
    const DECLARATION: () = {
        assert!(P > 0 && R > 0, "a PseudoPositioner needs at least one pseudo axis and one real positioner");
        let mut i = 0;
        while i < P {
            assert!(
                !str_eq(T::PSEUDO_AXES[i].name, REAL),
                "a pseudo axis cannot be named `real`: that is the real device's component"
            );
            let mut j = i + 1;
            while j < P {
                assert!(!str_eq(T::PSEUDO_AXES[i].name, T::PSEUDO_AXES[j].name), "two pseudo axes have one name");
                j += 1;
            }
            i += 1;
        }
    };

    /// A positioner named `name` whose real device's PVs are `prefix` +
    /// suffix.
    pub fn new(prefix: &str, name: &str) -> Self {
        Self::with_meta(DeviceMeta::root(prefix, name))
    }

    fn with_meta(meta: Arc<DeviceMeta>) -> Self {
        // Evaluating the constant is the check.
        let () = Self::DECLARATION;
        let real = T::build(&ComponentSpec {
            parent: &meta,
            attr: REAL,
            suffix: "",
            pv: None,
            kind: Kind::Normal,
            put_complete: false,
            named_after_parent: true,
        });
        let axes = T::PSEUDO_AXES.map(|axis| AxisState { target: None, limits: axis.limits });
        let shared = Arc::new(Shared { meta: meta.clone(), real, axes: Mutex::new(axes) });
        let parent: Arc<dyn PseudoParent> = shared.clone();
        let axes = std::array::from_fn(|i| PseudoSingle::new(&meta, i, &T::PSEUDO_AXES[i], &parent));
        let names = static_names::<Self>(|| T::PSEUDO_AXES.iter().map(|a| a.name).chain([REAL]).collect());
        PseudoPositioner { meta, shared, axes, names }
    }

    /// The positioner's name.
    pub fn name(&self) -> &str {
        self.meta.name()
    }

    /// The device of real positioners (ophyd's `slit.top` is
    /// `slit.real().top`).
    pub fn real(&self) -> &T {
        &self.shared.real
    }

    /// The pseudo axes, in [`PseudoTransform::PSEUDO_AXES`] order; each is
    /// [`Movable`] (`let [gap, center] = slit.axes();`).
    pub fn axes(&self) -> &[PseudoSingle; P] {
        &self.axes
    }

    /// The pseudo axis named `name`, if there is one.
    pub fn axis(&self, name: &str) -> Option<&PseudoSingle> {
        self.axes.iter().find(|axis| axis.attr() == name)
    }

    /// Where the real positioners are (ophyd's `real_position`).
    pub async fn real_position(&self) -> Result<[f64; R]> {
        self.shared.real_position().await
    }

    /// The pseudo position, from the real positions through `inverse`
    /// (ophyd's `position`).
    pub async fn position(&self) -> Result<[f64; P]> {
        self.shared.position().await
    }

    /// The last position commanded, each axis that was never moved where
    /// it is (ophyd's `target`).
    pub async fn target(&self) -> Result<[f64; P]> {
        self.shared.target().await
    }

    /// The pseudo axes' limits (ophyd's `limits`).
    pub fn limits(&self) -> [(f64, f64); P] {
        lock(&self.shared.axes).map(|axis| axis.limits)
    }

    /// Check, without moving, that a move to `target` would be accepted
    /// (ophyd's `check_value`): the pseudo limits, then through `forward`
    /// every real positioner's own check.
    pub async fn check_value(&self, target: [f64; P]) -> Result<()> {
        self.shared.check(target).await.map(drop)
    }

    /// Move every pseudo axis at once (ophyd's `slit.move(gap, center)` or
    /// `set((gap, center))`): accepted once every check passed and every
    /// real positioner started; the Status finishes when all have arrived.
    pub async fn move_to(&self, target: [f64; P]) -> Result<Status> {
        self.shared.clone().start(target).await
    }
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> Shared<T, P, R> {
    fn name(&self) -> &str {
        self.meta.name()
    }

    async fn real_position(&self) -> Result<[f64; R]> {
        let read = join_all(self.real.real_axes().map(|axis| axis.position())).await;
        let mut positions = [0.0; R];
        let mut errors = Vec::new();
        for (slot, outcome) in positions.iter_mut().zip(read) {
            match outcome {
                Ok(position) => *slot = position,
                Err(e) => errors.push(e),
            }
        }
        Error::bundle(errors).map(|()| positions)
    }

    async fn position(&self) -> Result<[f64; P]> {
        Ok(self.real.inverse(self.real_position().await?))
    }

    async fn target(&self) -> Result<[f64; P]> {
        let targets = lock(&self.axes).map(|axis| axis.target);
        if let Some(targets) = all_known(targets) {
            return Ok(targets);
        }
        let position = self.position().await?;
        Ok(std::array::from_fn(|i| targets[i].unwrap_or(position[i])))
    }

    /// The refusal of `target` for the pseudo limits, for `forward`, or for
    /// a real positioner's own check (the first in order); otherwise the
    /// real positions it maps to.
    async fn check(&self, target: [f64; P]) -> Result<[f64; R]> {
        let limits = lock(&self.axes).map(|axis| axis.limits);
        for (i, (&at, (low, high))) in target.iter().zip(limits).enumerate() {
            let device = format!("{}_{}", self.name(), T::PSEUDO_AXES[i].name);
            if !at.is_finite() {
                return Err(not_a_position(&device, at));
            }
            if !within_limits((low, high), at) {
                return Err(Error::Limit {
                    device,
                    target: at,
                    which: "pseudo".into(),
                    at,
                    low,
                    high,
                    pvs: "no PV: PseudoAxis::limits or PseudoSingle::set_limits".into(),
                });
            }
        }
        let real = self.real.forward(target);
        let axes = self.real.real_axes();
        if let Some(i) = real.iter().position(|r| !r.is_finite()) {
            return Err(Error::Failed {
                what: format!("move of `{}` to {}", self.name(), self.describe(target)),
                reason: format!("forward gives `{}` the position {}; nothing was moved", axes[i].name(), real[i]),
            });
        }
        let checks = join_all(axes.iter().zip(real).map(|(axis, at)| axis.check_value(at))).await;
        checks.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(real)
    }

    /// Check `target`, start every real positioner, and follow them.
    async fn start(self: Arc<Self>, target: [f64; P]) -> Result<Status> {
        let real = self.check(target).await?;
        let what = format!("move of `{}` to {}", self.name(), self.describe(target));
        let statuses = {
            let axes = self.real.real_axes();
            let started = join_all(axes.iter().zip(real).map(|(axis, at)| axis.move_to(at))).await;
            if started.iter().any(|s| s.is_err()) {
                // A positioner that refused after its check passed (its limits
                // changed meanwhile): those that started must not go on alone.
                let mut refusal = None;
                let mut stop_failures = Vec::new();
                for (axis, outcome) in axes.iter().zip(started) {
                    match outcome {
                        Err(e) => {
                            refusal.get_or_insert(e);
                        }
                        Ok(_) => stop_failures.extend(axis.stop_dyn(false).await.err()),
                    }
                }
                return Err(refusal.expect("one refused").with(stop_failures));
            }
            started.into_iter().collect::<Result<Vec<Status>>>()?
        };
        for (axis, at) in lock(&self.axes).iter_mut().zip(target) {
            axis.target = Some(at);
        }
        Ok(Status::from_future(what, follow(self, statuses)))
    }

    /// `(gap 4, center 0)`.
    fn describe(&self, target: [f64; P]) -> String {
        let axes: Vec<String> = T::PSEUDO_AXES.iter().zip(target).map(|(a, at)| format!("{} {at}", a.name)).collect();
        format!("({})", axes.join(", "))
    }
}

/// Wait for every real positioner's move; at the first failure, stop the
/// others still moving and fail with it.
async fn follow<T: PseudoTransform<P, R>, const P: usize, const R: usize>(
    shared: Arc<Shared<T, P, R>>,
    statuses: Vec<Status>,
) -> Result<()> {
    let mut arriving: FuturesUnordered<_> =
        statuses.iter().cloned().enumerate().map(|(i, status)| async move { (i, status.await) }).collect();
    while let Some((failed, outcome)) = arriving.next().await {
        let Err(e) = outcome else { continue };
        let mut stop_failures = Vec::new();
        for (i, (axis, status)) in shared.real.real_axes().iter().zip(&statuses).enumerate() {
            if i != failed && !status.done() {
                stop_failures.extend(axis.stop_dyn(false).await.err());
            }
        }
        return Err(e.with(stop_failures));
    }
    Ok(())
}

fn all_known<const N: usize>(values: [Option<f64>; N]) -> Option<[f64; N]> {
    values.iter().all(Option::is_some).then(|| values.map(|v| v.unwrap_or_default()))
}

/// The component names of the positioner type `K`, made once per type:
/// `Device::component_names` gives them for as long as the program runs.
fn static_names<K: 'static>(make: impl FnOnce() -> Vec<&'static str>) -> &'static [&'static str] {
    static NAMES: OnceLock<Mutex<HashMap<TypeId, &'static [&'static str]>>> = OnceLock::new();
    let mut names = lock(NAMES.get_or_init(Default::default));
    names.entry(TypeId::of::<K>()).or_insert_with(|| Box::leak(make().into_boxed_slice()))
}

/// `a == b`, in a constant.
const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The pseudo positions of one read, computed once for every axis read.
type Positions<'a> = SharedFuture<BoxFuture<'a, Result<Vec<f64>>>>;

/// What a pseudo axis asks of its positioner, whatever its transform.
trait PseudoParent: Send + Sync + 'static {
    fn axis_limits(&self, index: usize) -> (f64, f64);
    fn set_axis_limits(&self, index: usize, limits: (f64, f64));
    fn egu(&self, index: usize) -> &'static str;
    fn stored_target(&self, index: usize) -> Option<f64>;
    fn forget_target(&self, index: usize);
    fn positions(&self) -> BoxFuture<'_, Result<Vec<f64>>>;
    fn target_of(&self, index: usize) -> BoxFuture<'_, Result<f64>>;
    fn check_single(&self, index: usize, position: f64) -> BoxFuture<'_, Result<()>>;
    fn move_single(self: Arc<Self>, index: usize, position: f64) -> BoxFuture<'static, Result<Status>>;
    fn stop(&self, success: bool) -> BoxFuture<'_, Result<()>>;
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> PseudoParent for Shared<T, P, R> {
    fn axis_limits(&self, index: usize) -> (f64, f64) {
        lock(&self.axes)[index].limits
    }

    fn set_axis_limits(&self, index: usize, limits: (f64, f64)) {
        lock(&self.axes)[index].limits = limits;
    }

    fn egu(&self, index: usize) -> &'static str {
        T::PSEUDO_AXES[index].egu
    }

    fn stored_target(&self, index: usize) -> Option<f64> {
        lock(&self.axes)[index].target
    }

    fn forget_target(&self, index: usize) {
        lock(&self.axes)[index].target = None;
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<f64>>> {
        async move { self.position().await.map(Vec::from) }.boxed()
    }

    fn target_of(&self, index: usize) -> BoxFuture<'_, Result<f64>> {
        async move { self.target().await.map(|target| target[index]) }.boxed()
    }

    fn check_single(&self, index: usize, position: f64) -> BoxFuture<'_, Result<()>> {
        async move {
            let mut target = self.target().await?;
            target[index] = position;
            self.check(target).await.map(drop)
        }
        .boxed()
    }

    fn move_single(self: Arc<Self>, index: usize, position: f64) -> BoxFuture<'static, Result<Status>> {
        async move {
            let mut target = self.target().await?;
            target[index] = position;
            self.start(target).await
        }
        .boxed()
    }

    fn stop(&self, success: bool) -> BoxFuture<'_, Result<()>> {
        self.real.stop_dyn(success)
    }
}

/// One axis of a [`PseudoPositioner`] (ophyd's `PseudoSingle`): a device
/// with a read-back (its position, hinted, named after the axis:
/// `slit_gap`) and a setpoint (its target: `slit_gap_setpoint`), that
/// [moves](Movable::move_to) its positioner with the other axes kept at
/// their targets. A scan steps through it as through a motor.
pub struct PseudoSingle {
    meta: Arc<DeviceMeta>,
    index: usize,
    parent: Arc<dyn PseudoParent>,
    /// The position (ophyd's `readback`, on `position`).
    pub readback: PseudoSignal,
    /// The target (ophyd's `setpoint`, on `target`).
    pub setpoint: PseudoSignal,
}

impl PseudoSingle {
    fn new(parent_meta: &Arc<DeviceMeta>, index: usize, axis: &PseudoAxis, parent: &Arc<dyn PseudoParent>) -> Self {
        let spec = |parent, attr, kind, named_after_parent| ComponentSpec {
            parent,
            attr,
            suffix: "",
            pv: None,
            kind,
            put_complete: false,
            named_after_parent,
        };
        let meta = DeviceMeta::child(&spec(parent_meta, axis.name, Kind::Normal, false));
        let signal = |attr, kind, named_after_parent, which| PseudoSignal {
            meta: SignalMeta::from_spec(&spec(&meta, attr, kind, named_after_parent)),
            source: format!("PY:{}.{}", meta.name(), which_attr(which)).into(),
            parent: parent.clone(),
            index,
            which,
        };
        let readback = signal("readback", Kind::Hinted, true, Which::Position);
        let setpoint = signal("setpoint", Kind::Normal, false, Which::Target);
        PseudoSingle { meta, index, parent: parent.clone(), readback, setpoint }
    }

    /// The axis's name, the stem of its data keys (`slit_gap`).
    pub fn name(&self) -> &str {
        self.meta.name()
    }

    fn attr(&self) -> &'static str {
        self.meta.attr_name().expect("a pseudo axis is a component of its positioner")
    }

    /// Its place in the positioner's pseudo position.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Where it is (ophyd's `position`).
    pub async fn position(&self) -> Result<f64> {
        self.readback.get().await
    }

    /// The last position commanded, or where it is if it was never moved
    /// (ophyd's `target`).
    pub async fn target(&self) -> Result<f64> {
        self.setpoint.get().await
    }

    /// Forget the last position commanded: its target is where it is again
    /// (ophyd's `sync`).
    pub fn sync(&self) {
        self.parent.forget_target(self.index)
    }

    /// Its limits, `(0, 0)` when it has none.
    pub fn limits(&self) -> (f64, f64) {
        self.parent.axis_limits(self.index)
    }

    /// Set its limits, or (`None`) remove them.
    pub fn set_limits(&self, limits: Option<(f64, f64)>) {
        self.parent.set_axis_limits(self.index, limits.unwrap_or((0.0, 0.0)))
    }

    /// Its engineering units.
    pub fn egu(&self) -> &'static str {
        self.parent.egu(self.index)
    }

    fn signals(&self) -> [&PseudoSignal; 2] {
        [&self.readback, &self.setpoint]
    }

    /// Add the readings of its signals of `kind`, from `positions`.
    fn readings_into<'a>(&'a self, kind: Kind, positions: &Positions<'a>, out: &mut Gather<'a, Reading>) {
        for signal in self.signals() {
            if signal.kind().intersects(kind) {
                signal.reading_into(positions, out);
            }
        }
    }

    /// Add the data keys of its signals of `kind`.
    fn data_keys_into(&self, kind: Kind, out: &mut Gather<'_, DataKey>) {
        for signal in self.signals() {
            if signal.kind().intersects(kind) {
                out.ready(signal.meta.key().clone(), signal.data_key());
            }
        }
    }

    fn positions(&self) -> Positions<'_> {
        self.parent.positions().shared()
    }
}

impl DynComponent for PseudoSingle {
    crate::meta_accessors!(meta);

    fn hints_into(&self, out: &mut Vec<String>) {
        device_hints_into(self, out)
    }

    fn as_device(&self) -> Option<&dyn DynDevice> {
        Some(self)
    }
}

impl DynDevice for PseudoSingle {
    fn meta(&self) -> &Arc<DeviceMeta> {
        &self.meta
    }

    fn as_positioner(&self) -> Option<&dyn Positioner> {
        Some(self)
    }

    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)> {
        vec![("readback", &self.readback), ("setpoint", &self.setpoint)]
    }

    fn component(&self, attr: &str) -> Option<&dyn DynComponent> {
        match attr {
            "readback" => Some(&self.readback),
            "setpoint" => Some(&self.setpoint),
            _ => None,
        }
    }

    fn read_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>> {
        Gather::collect(2, |out| self.readings_into(Kind::Normal, &self.positions(), out)).boxed()
    }

    fn describe_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        Gather::collect(2, |out| self.data_keys_into(Kind::Normal, out)).boxed()
    }

    fn read_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>> {
        Gather::collect(2, |out| self.readings_into(Kind::Config, &self.positions(), out)).boxed()
    }

    fn describe_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        Gather::collect(2, |out| self.data_keys_into(Kind::Config, out)).boxed()
    }

    fn stage_dyn(&self) -> BoxFuture<'_, Result<()>> {
        crate::staging::stage_default(self).boxed()
    }

    fn unstage_dyn(&self) -> BoxFuture<'_, Result<()>> {
        crate::staging::unstage_default(self).boxed()
    }

    fn trigger_dyn(&self) -> Status {
        Status::finished(format!("trigger of {}", self.name()))
    }

    /// Stop the positioner (ophyd's `PseudoSingle.stop`).
    fn stop_dyn(&self, success: bool) -> BoxFuture<'_, Result<()>> {
        self.parent.stop(success)
    }

    fn pause_dyn(&self) -> BoxFuture<'_, Result<()>> {
        std::future::ready(Ok(())).boxed()
    }

    fn resume_dyn(&self) -> BoxFuture<'_, Result<()>> {
        std::future::ready(Ok(())).boxed()
    }
}

impl Movable for PseudoSingle {
    /// Move the positioner to its target with this axis at `target` (ophyd's
    /// `move_single`).
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>> {
        self.parent.clone().move_single(self.index, target)
    }
}

impl Positioner for PseudoSingle {
    fn position(&self) -> BoxFuture<'_, Result<f64>> {
        self.readback.get().boxed()
    }

    fn limits(&self) -> BoxFuture<'_, Result<(f64, f64)>> {
        std::future::ready(Ok(PseudoSingle::limits(self))).boxed()
    }

    fn check_value(&self, target: f64) -> BoxFuture<'_, Result<()>> {
        self.parent.check_single(self.index, target)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Position,
    Target,
}

/// The attribute ophyd's `AttributeSignal` reads, which names its source.
fn which_attr(which: Which) -> &'static str {
    match which {
        Which::Position => "position",
        Which::Target => "target",
    }
}

/// A read-only signal of a [`PseudoSingle`]: its position or its target,
/// computed when read (ophyd's `AttributeSignal` on `position` or
/// `target`; sources `PY:<axis>.position`, `PY:<axis>.target`).
pub struct PseudoSignal {
    meta: SignalMeta,
    source: Arc<str>,
    parent: Arc<dyn PseudoParent>,
    index: usize,
    which: Which,
}

impl PseudoSignal {
    /// The current value.
    pub async fn get(&self) -> Result<f64> {
        match self.which {
            Which::Position => Ok(self.parent.positions().await?[self.index]),
            Which::Target => self.parent.target_of(self.index).await,
        }
    }

    fn reading_into<'a>(&'a self, positions: &Positions<'a>, out: &mut Gather<'a, Reading>) {
        let key = self.meta.key().clone();
        let stored = match self.which {
            Which::Position => None,
            Which::Target => self.parent.stored_target(self.index),
        };
        match stored {
            Some(target) => out.ready(key, Reading::new(Value::Float(target), now())),
            None => {
                let index = self.index;
                let value = positions.clone().map(move |p| p.map(|p| Reading::new(Value::Float(p[index]), now())));
                out.waiting(key, value)
            }
        }
    }

    fn data_key(&self) -> DataKey {
        let (low, high) = self.parent.axis_limits(self.index);
        DataKey {
            units: Some(Some(self.parent.egu(self.index).to_owned())),
            lower_ctrl_limit: Some(Some(Value::Float(low))),
            upper_ctrl_limit: Some(Some(Value::Float(high))),
            ..DataKey::new(self.source.clone(), Dtype::Number, Vec::new())
        }
    }
}

impl DynComponent for PseudoSignal {
    crate::meta_accessors!(meta);

    fn hints_into(&self, out: &mut Vec<String>) {
        if self.kind().is_hinted() {
            out.push(self.name().to_owned());
        }
    }

    fn as_signal(&self) -> Option<&dyn DynSignal> {
        Some(self)
    }
}

impl DynSignal for PseudoSignal {
    fn source(&self) -> &str {
        &self.source
    }

    fn value_type(&self) -> &'static str {
        "f64"
    }

    fn writable(&self) -> bool {
        false
    }

    fn get_value(&self) -> BoxFuture<'_, Result<Value>> {
        self.get().map(|value| value.map(Value::Float)).boxed()
    }

    fn check_value(&self, value: &Value) -> Result<()> {
        match value.as_f64() {
            Some(_) => Ok(()),
            None => Err(Error::ValueType {
                signal: self.name().to_owned(),
                expected: "f64".into(),
                given: format!("{} {value}", value.type_name()),
            }),
        }
    }

    fn set_and_wait_value(&self, _: Value, _: std::time::Duration) -> BoxFuture<'_, Result<()>> {
        crate::signal::dyn_read_only(self.name())
    }

    fn read_signal(&self) -> BoxFuture<'_, Result<DataMap<Reading>>> {
        async move {
            let value = self.get().await?;
            let mut reading = DataMap::with_capacity(1);
            reading.push(self.meta.key().clone(), Reading::new(Value::Float(value), now()));
            Ok(reading)
        }
        .boxed()
    }

    fn describe_signal(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        let mut description = DataMap::with_capacity(1);
        description.push(self.meta.key().clone(), self.data_key());
        std::future::ready(Ok(description)).boxed()
    }

    /// Refused: the value is computed from the real axes when read, so there
    /// is no change to hear of; subscribe to the real axes instead.
    fn subscribe_value(&self, _: Box<dyn Fn(Value, f64) + Send + Sync>) -> Result<crate::Subscription> {
        Err(Error::Failed {
            what: format!("subscribe to `{}`", self.name()),
            reason: "a pseudo axis's position is computed when read; subscribe to its real axes".into(),
        })
    }
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> PseudoPositioner<T, P, R> {
    /// Add the entries of the pseudo axes of `kind` (their readings from
    /// one read of the real positions) and of the real device.
    fn readings_into<'a>(
        &'a self,
        kind: Kind,
        out: &mut Gather<'a, Reading>,
        real: impl FnOnce(&'a T, &mut Gather<'a, Reading>),
    ) {
        let positions = self.shared.positions().shared();
        for axis in &self.axes {
            if axis.kind().intersects(kind) {
                axis.readings_into(kind, &positions, out);
            }
        }
        if self.real().kind().intersects(kind) {
            real(self.real(), out)
        }
    }

    fn data_keys_into<'a>(
        &'a self,
        kind: Kind,
        out: &mut Gather<'a, DataKey>,
        real: impl FnOnce(&'a T, &mut Gather<'a, DataKey>),
    ) {
        for axis in &self.axes {
            if axis.kind().intersects(kind) {
                axis.data_keys_into(kind, out);
            }
        }
        if self.real().kind().intersects(kind) {
            real(self.real(), out)
        }
    }
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> Component for PseudoPositioner<T, P, R> {
    fn build(spec: &ComponentSpec<'_>) -> Self {
        Self::with_meta(DeviceMeta::child(spec))
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.readings_into(Kind::Normal, out, |real, out| real.read_into(out))
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.data_keys_into(Kind::Normal, out, |real, out| real.describe_into(out))
    }

    fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        self.readings_into(Kind::Config, out, |real, out| real.read_configuration_into(out))
    }

    fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        self.data_keys_into(Kind::Config, out, |real, out| real.describe_configuration_into(out))
    }

    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        self.real().collect_connects(ctx, out)
    }
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> DynComponent for PseudoPositioner<T, P, R> {
    crate::meta_accessors!(meta);

    fn hints_into(&self, out: &mut Vec<String>) {
        device_hints_into(self, out)
    }

    fn as_device(&self) -> Option<&dyn DynDevice> {
        Some(self)
    }
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> DynDevice for PseudoPositioner<T, P, R> {
    fn meta(&self) -> &Arc<DeviceMeta> {
        &self.meta
    }

    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)> {
        let axes = self.axes.iter().map(|axis| (axis.attr(), axis as &dyn DynComponent));
        axes.chain([(REAL, self.real() as &dyn DynComponent)]).collect()
    }

    fn component(&self, attr: &str) -> Option<&dyn DynComponent> {
        if attr == REAL {
            return Some(self.real());
        }
        self.axis(attr).map(|axis| axis as &dyn DynComponent)
    }

    crate::device_behaviours!();
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> Device for PseudoPositioner<T, P, R> {
    fn component_names(&self) -> &'static [&'static str] {
        self.names
    }
}

impl<T, const P: usize, const R: usize> SuffixOptional for PseudoPositioner<T, P, R> {}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> crate::implement::UnlessDeviceCustomStage
    for PseudoPositioner<T, P, R>
{
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> crate::implement::UnlessDeviceCustomTrigger
    for PseudoPositioner<T, P, R>
{
}

impl<T: PseudoTransform<P, R>, const P: usize, const R: usize> Stop for PseudoPositioner<T, P, R> {
    /// Stop the real device: its positioners, and any other device it has
    /// (ophyd stops every sub-device but the pseudo axes).
    fn stop(&self, success: bool) -> impl std::future::Future<Output = Result<()>> + Send {
        self.real().stop_dyn(success)
    }

    fn pause(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.real().pause_dyn()
    }

    fn resume(&self) -> impl std::future::Future<Output = Result<()>> + Send {
        self.real().resume_dyn()
    }
}

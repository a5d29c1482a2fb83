//! Staging: `stage_sigs`, and the default `stage`/`unstage` that apply and
//! restore them.
//!
//! `stage()` reads every original value first, then applies the
//! `stage_sigs` in order with [`set_and_wait`](crate::set_and_wait), then
//! stages sub-devices. `unstage()` unstages sub-devices in reverse, then
//! restores the originals in reverse. Unlike Python ophyd, a failure in
//! `unstage()` does not stop it: every other restore is still attempted,
//! every failure is reported, and the device can be unstaged again to retry
//! what failed.

use std::time::Duration;

use crate::component::{lookup, DynDevice, DynSignal};
use crate::error::{Error, Result, Unrestored};
use crate::meta::dotted_path;
use crate::signal::{SetAndWait, Writable};
use crate::state::{Original, StagingState};
use crate::sync::lock;
use crate::value::{SignalValue, Value};

pub use crate::state::Staged;

/// A device's staging lock, held by one stage or unstage. Dropped before
/// [`Held::finish`] (the stage or unstage was cut off), it marks the state
/// abandoned.
struct Held<'m> {
    state: tokio::sync::MutexGuard<'m, StagingState>,
    finished: bool,
}

impl Held<'_> {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.state.abandoned = true;
        }
    }
}

/// Whether two values are the same, NaN matching NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::FloatArray(x), Value::FloatArray(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
        }
        _ => a == b,
    }
}

/// How long each `stage_sigs` write waits for its read-back.
pub const STAGE_TIMEOUT: Duration = SetAndWait::DEFAULT_TIMEOUT;

/// A device's `stage_sigs`: an ordered map from component path to the value
/// `stage()` sets. Declared with `#[component(..., stage = value)]` and
/// changeable at run time, by typed handle or by dotted path.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ophyd_core::prelude::*;
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "config", stage = 0.5)]
///     exposure: SoftSignal<f64>,
///     #[component(kind = "omitted")]
///     enabled: SoftSignal<i32>,
/// }
/// let det = Det::new("", "det");
/// det.stage_sigs().set(&det.enabled, 1).unwrap();
/// det.stage_sigs().set_path("exposure", 0.25).unwrap();
/// assert!(det.stage_sigs().set_path("nope", 1).is_err());
/// assert_eq!(det.stage_sigs().paths(), ["exposure", "enabled"]);
/// # }
/// ```
pub struct StageSigs<'a> {
    device: &'a dyn DynDevice,
}

impl<'a> StageSigs<'a> {
    pub(crate) fn new(device: &'a dyn DynDevice) -> Self {
        StageSigs { device }
    }

    /// Stage `signal` (a component of this device, at any depth) to `value`.
    /// An existing entry keeps its place; a new one goes last.
    pub fn set<S: Writable>(&self, signal: &S, value: impl Into<S::Value>) -> Result<()> {
        let meta = signal.signal_meta();
        let path = dotted_path(self.device.meta(), meta.attr_name(), meta.parent()).ok_or_else(|| {
            Error::UnknownComponent {
                device: self.device.name().to_owned(),
                path: meta.name().to_owned(),
                known: self.device.components().iter().map(|(a, _)| a.to_string()).collect(),
            }
        })?;
        self.insert(path, value.into().to_value());
        Ok(())
    }

    /// Stage the component at dotted `path` (`"cam.acquire_time"`) to
    /// `value`; an error if there is no such writable signal or the value
    /// does not fit it.
    pub fn set_path(&self, path: &str, value: impl Into<Value>) -> Result<()> {
        let value = value.into();
        let signal = writable_signal(self.device, path, "staged")?;
        signal.check_value(&value)?;
        self.insert(path.to_owned(), value);
        Ok(())
    }

    /// Stop staging the component at `path`; returns the value it had.
    pub fn remove(&self, path: &str) -> Option<Value> {
        let mut sigs = lock(&self.device.meta().stage_sigs);
        let i = sigs.iter().position(|(p, _)| p == path)?;
        Some(sigs.remove(i).1)
    }

    /// Remove every entry.
    pub fn clear(&self) {
        lock(&self.device.meta().stage_sigs).clear()
    }

    /// The entries, in order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        lock(&self.device.meta().stage_sigs).clone()
    }

    /// The paths, in order.
    pub fn paths(&self) -> Vec<String> {
        lock(&self.device.meta().stage_sigs).iter().map(|(p, _)| p.clone()).collect()
    }

    /// The value staged for `path`.
    pub fn get(&self, path: &str) -> Option<Value> {
        lock(&self.device.meta().stage_sigs).iter().find(|(p, _)| p == path).map(|(_, v)| v.clone())
    }

    fn insert(&self, path: String, value: Value) {
        let mut sigs = lock(&self.device.meta().stage_sigs);
        match sigs.iter_mut().find(|(p, _)| *p == path) {
            Some(slot) => slot.1 = value,
            None => sigs.push((path, value)),
        }
    }
}

fn writable_signal<'d>(device: &'d dyn DynDevice, path: &str, action: &str) -> Result<&'d dyn DynSignal> {
    let c = lookup(device, path)?;
    let signal = c.as_signal().ok_or_else(|| Error::NotWritable {
        signal: c.name().to_owned(),
        why: "a device, not a signal".into(),
        action: action.into(),
    })?;
    if !signal.writable() {
        return Err(Error::NotWritable { signal: c.name().to_owned(), why: "read-only".into(), action: action.into() });
    }
    Ok(signal)
}

/// A value that can be declared as `#[component(stage = value)]` on a
/// signal of type `S`: anything that converts into the signal's value type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `stage` value of a `{S}`",
    label = "not convertible to the value type of `{S}`",
    note = "a `stage` value must convert (`Into`) to the signal's value type: \
            a number for `EpicsSignal<f64>`, an index or a label for `EpicsSignal<Enum>`, \
            a string for `EpicsSignal<String>`"
)]
pub trait StageValue<S> {
    /// The value, type-checked and made dynamic.
    fn into_stage_value(self) -> Value;
}

#[diagnostic::do_not_recommend]
impl<S: Writable, T: Into<S::Value>> StageValue<S> for T {
    fn into_stage_value(self) -> Value {
        self.into().to_value()
    }
}

/// The value of a `#[component(stage = value)]` declaration, type-checked
/// against the field's signal type.
#[doc(hidden)]
pub fn declared<S>(value: impl StageValue<S>) -> Value {
    value.into_stage_value()
}

thread_local! {
    /// Set on the threads that clean up for a `Drop` (which block the
    /// thread that dropped): there, waiting for a staging lock that a task
    /// of the blocked runtime holds would never end.
    static DONT_WAIT_FOR_STAGING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Make staging on this thread fail at once, instead of waiting, when
/// another task is staging or unstaging the same device.
pub(crate) fn never_wait_for_staging_locks() {
    DONT_WAIT_FOR_STAGING.with(|flag| flag.set(true));
}

/// How long a cleanup that must not wait tries for a staging lock held by
/// someone who needs no runtime to let go (a look at the state).
const BRIEF_HOLD: Duration = Duration::from_millis(100);

async fn lock_state<'m>(meta: &'m crate::meta::DeviceMeta, action: &str) -> Result<Held<'m>> {
    let state = if DONT_WAIT_FOR_STAGING.with(|flag| flag.get()) {
        let deadline = tokio::time::Instant::now() + BRIEF_HOLD;
        loop {
            if let Ok(state) = meta.staging.try_lock() {
                break state;
            }
            if tokio::time::Instant::now() >= deadline {
                // The holder is a stage or unstage of a task that cannot run
                // while this cleanup blocks its thread. It is not lost: what
                // that task cut off is marked abandoned and finished by the
                // next stage or unstage, and what it completes needs nothing.
                return Err(Error::Failed {
                    what: format!("{action} of `{}`", meta.name()),
                    reason: "another task is staging or unstaging it right now; it is left to that task".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    } else {
        meta.staging.lock().await
    };
    Ok(Held { state, finished: false })
}

/// Whether a write that failed with `error` may have changed the value:
/// only an error raised before anything left the client proves it did not.
pub(crate) fn may_have_written(error: &Error) -> bool {
    !matches!(
        error,
        Error::NotSent { .. }
            | Error::NotConnected { .. }
            | Error::ValueType { .. }
            | Error::NotWritable { .. }
            | Error::UnknownComponent { .. }
    )
}

/// The default `stage()`.
pub async fn stage_default(device: &dyn DynDevice) -> Result<()> {
    let mut held = lock_state(device.meta(), "stage").await?;
    let outcome = stage_locked(device, &mut held.state).await;
    held.finish();
    outcome
}

async fn stage_locked(device: &dyn DynDevice, state: &mut StagingState) -> Result<()> {
    let meta = device.meta();
    let name = || meta.name().to_owned();
    if std::mem::take(&mut state.abandoned) && state.staged != Staged::No {
        tracing::info!(device = meta.name(), "finishing the unstage of a cut-off stage or unstage first");
        let restore_failures = restore(device, state).await;
        if !restore_failures.is_empty() {
            let cause = Box::new(Error::PartiallyStaged { device: name() });
            return Err(Error::Stage { device: name(), cause, restore_failures });
        }
    }
    match state.staged {
        Staged::No => {}
        Staged::Yes => return Err(Error::RedundantStaging { device: name() }),
        Staged::Partially => return Err(Error::PartiallyStaged { device: name() }),
    }
    meta.stages_started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let sigs = lock(&meta.stage_sigs).clone();
    tracing::debug!(device = meta.name(), stage_sigs = sigs.len(), "staging");

    // Resolve and read everything before changing anything.
    let mut plan = Vec::with_capacity(sigs.len());
    for (path, value) in sigs {
        let signal = writable_signal(device, &path, "staged").map_err(|e| Error::Stage {
            device: name(),
            cause: Box::new(e),
            restore_failures: vec![],
        })?;
        plan.push((path, signal, value));
    }
    let mut originals = Vec::with_capacity(plan.len());
    for (_, signal, _) in &plan {
        let original = signal.get_value().await.map_err(|e| Error::Stage {
            device: name(),
            cause: Box::new(e),
            restore_failures: vec![],
        })?;
        originals.push(original);
    }
    // Everything it will write, the originals it must put back included,
    // must get through: a value that cannot be put back is never changed.
    for ((path, signal, value), original) in plan.iter().zip(&originals) {
        let checked = signal.check_value(value).and_then(|()| {
            signal.check_value(original).map_err(|e| Error::Failed {
                what: format!("staging `{}` ({path})", signal.name()),
                reason: format!("its current value {original} could not be put back on unstage: {e}"),
            })
        });
        checked.map_err(|e| Error::Stage { device: name(), cause: Box::new(e), restore_failures: vec![] })?;
    }

    // From here on the device is changed; a dropped future leaves it
    // partially staged with everything needed to put it back.
    state.staged = Staged::Partially;
    let mut failure = None;
    for ((path, signal, value), original) in plan.into_iter().zip(originals) {
        // Recorded before the write, so that a stage dropped while the write
        // is in flight still leaves what unstage needs to put it back.
        state.originals.push(Original { path, value: original, check_first: false });
        if let Err(e) = signal.set_and_wait_value(value, STAGE_TIMEOUT).await {
            // An error after the request left the client (a lost
            // connection, a cut-off put-callback, a failed read-back) does
            // not prove the IOC did not take the value: keep the original.
            if !may_have_written(&e) {
                state.originals.pop();
            } else if let (Some(last), Error::Put { .. } | Error::Disconnected { .. }) =
                (state.originals.last_mut(), &e)
            {
                last.check_first = true;
            }
            failure = Some(e);
            break;
        }
    }
    if failure.is_none() {
        for (attr, c) in device.components() {
            if let Some(sub) = c.as_device() {
                // Recorded first: a sub-device whose stage failed or was
                // dropped half-way is unstaged too (a no-op if it is not staged).
                let started = sub.meta().stages_started.load(std::sync::atomic::Ordering::SeqCst);
                state.children.push((attr, started));
                if let Err(e) = sub.stage_dyn().await {
                    if matches!(e, Error::RedundantStaging { .. } | Error::PartiallyStaged { .. }) {
                        state.children.pop(); // staged by someone else: theirs to unstage
                    }
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    match failure {
        None => {
            state.staged = Staged::Yes;
            Ok(())
        }
        Some(cause) => {
            tracing::debug!(device = meta.name(), error = %cause, "staging failed; putting back");
            let restore_failures = restore(device, state).await;
            Err(Error::Stage { device: name(), cause: Box::new(cause), restore_failures })
        }
    }
}

/// The default `unstage()`.
pub async fn unstage_default(device: &dyn DynDevice) -> Result<()> {
    let mut held = lock_state(device.meta(), "unstage").await?;
    let outcome = unstage_locked(device, &mut held.state).await;
    held.finish();
    outcome
}

async fn unstage_locked(device: &dyn DynDevice, state: &mut StagingState) -> Result<()> {
    let meta = device.meta();
    state.abandoned = false;
    if state.staged == Staged::No {
        return Ok(());
    }
    tracing::debug!(device = meta.name(), "unstaging");
    state.staged = Staged::Partially;
    let failures = restore(device, state).await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Unstage { device: meta.name().to_owned(), failures })
    }
}

/// Unstage staged sub-devices in reverse, then restore originals in reverse,
/// attempting every one. An entry leaves the state only once it has been
/// put back, so what fails (or what a dropped future never reached) stays
/// recorded for the next unstage.
///
/// A sub-device that has started another default stage since this device
/// staged it (after a cut-off stage of this device, someone staged it on
/// its own, finishing what was cut off first) is theirs now: it is left
/// staged.
async fn restore(device: &dyn DynDevice, state: &mut StagingState) -> Vec<Error> {
    let mut failures = Vec::new();
    for i in (0..state.children.len()).rev() {
        let (attr, started) = state.children[i];
        let Some(sub) = device.component(attr).and_then(|c| c.as_device()) else { continue };
        if sub.meta().stages_started.load(std::sync::atomic::Ordering::SeqCst) > started + 1 {
            state.children.remove(i);
            continue;
        }
        match sub.unstage_dyn().await {
            Ok(()) => {
                state.children.remove(i);
            }
            Err(e) => failures.push(e),
        }
    }
    for i in (0..state.originals.len()).rev() {
        let original = state.originals[i].clone();
        let outcome = match writable_signal(device, &original.path, "restored") {
            Ok(signal) => put_back(signal, original).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                state.originals.remove(i);
            }
            Err(e) => failures.push(e),
        }
    }
    state.staged = if failures.is_empty() { Staged::No } else { Staged::Partially };
    failures
}

pub(crate) async fn put_back(signal: &dyn DynSignal, original: Original) -> Result<()> {
    if original.check_first && same(&signal.get_value().await?, &original.value) {
        return Ok(());
    }
    signal.set_and_wait_value(original.value, STAGE_TIMEOUT).await
}

/// What `device` and its sub-devices changed and have not put back (as
/// far as their staging state knows: a hand-written unstage that does not
/// use the default's may change more). Empty while a stage or unstage of
/// theirs is running.
pub fn unrestored(device: &dyn DynDevice) -> Vec<Unrestored> {
    let mut out = Vec::new();
    unrestored_into(device, &mut out);
    out
}

fn unrestored_into(device: &dyn DynDevice, out: &mut Vec<Unrestored>) {
    let Ok(state) = device.meta().staging.try_lock() else { return };
    for original in state.originals.iter().rev() {
        let (signal, source) = match lookup(device, &original.path).ok().and_then(|c| c.as_signal()) {
            Some(s) => (s.name().to_owned(), s.source().to_owned()),
            None => (original.path.clone(), String::from("?")),
        };
        out.push(Unrestored { device: device.name().to_owned(), signal, source, original: original.value.clone() });
    }
    let children = state.children.clone();
    drop(state);
    for (attr, _) in children.iter().rev() {
        if let Some(sub) = device.component(attr).and_then(|c| c.as_device()) {
            unrestored_into(sub, out);
        }
    }
}

/// Where `device` is in its staging life (`Partially` while a stage or
/// unstage of it is running).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use ophyd_core::prelude::*;
/// use ophyd_core::staging::{state_of, Staged};
/// #[derive(Device)]
/// struct Det {
///     #[component(kind = "omitted", stage = 1)]
///     enabled: SoftSignal<i32>,
/// }
/// let det = Det::new("", "det");
/// det.stage().await?;
/// assert_eq!(state_of(&det), Staged::Yes);
/// det.unstage().await?;
/// assert_eq!(state_of(&det), Staged::No);
/// # Ok(()) }
/// ```
pub fn state_of(device: &dyn DynDevice) -> Staged {
    match device.meta().staging.try_lock() {
        Ok(state) => state.staged,
        Err(_) => Staged::Partially,
    }
}

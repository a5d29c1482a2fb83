//! Typed signals: [`Signal`] (readable) and [`Writable`], with
//! [`set_and_wait`] and value-change [`Subscription`]s.

use std::future::Future;
use std::time::Duration;

// tokio's clock, so that a paused clock (in tests) governs the deadlines
// as it does the sleeps.
use tokio::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::component::Component;
use crate::error::{Error, Result};
use crate::meta::SignalMeta;
use crate::status::Status;
use crate::value::{SignalValue, Tolerance, Value};

/// A readable signal holding values of type [`Signal::Value`].
pub trait Signal: Component {
    /// The type of value the signal holds.
    type Value: SignalValue;

    /// The signal's name, kind and parent.
    fn signal_meta(&self) -> &SignalMeta;

    /// Where the value lives: `"PV:<name>"`, `"SIM:<name>"`.
    fn source_name(&self) -> &str;

    /// Read the current value (for a read-back pair, the read-back).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let gain = SoftSignal::new("gain", 1.0_f64);
    /// assert_eq!(gain.get().await?, 1.0);
    /// # Ok(()) }
    /// ```
    fn get(&self) -> impl Future<Output = Result<Self::Value>> + Send;

    /// Call `callback(value, timestamp)` on every change of value, starting
    /// with the current one. Dropping the [`Subscription`] ends it.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let gain = SoftSignal::new("gain", 1.0_f64);
    /// let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let subscription = gain.subscribe(move |value, _timestamp| s.lock().unwrap().push(*value))?;
    /// gain.put(2.0).await?;
    /// drop(subscription); // no more calls
    /// gain.put(3.0).await?;
    /// assert_eq!(*seen.lock().unwrap(), [1.0, 2.0]);
    /// # Ok(()) }
    /// ```
    fn subscribe(&self, callback: impl Fn(&Self::Value, f64) + Send + Sync + 'static) -> Result<Subscription>;

    /// Bring a target value into the form the signal reads back (an enum
    /// label becomes its index), for comparisons.
    fn normalize(&self, value: Self::Value) -> impl Future<Output = Result<Self::Value>> + Send {
        std::future::ready(Ok(value))
    }
}

/// A signal that can be written. Read-only signals do not implement it, so
/// writing one is a compile error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is read-only",
    label = "cannot be written, staged or put with completion",
    note = "use a writable signal type (e.g. `EpicsSignal<T>` instead of `EpicsSignalRO<T>`) \
            or remove the `stage`/`put_complete` setting"
)]
pub trait Writable: Signal {
    /// Write `value` and wait until the write is done (for a `put_complete`
    /// signal: until the server reports completion).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let gain = SoftSignal::new("gain", 1.0_f64);
    /// gain.put(2.5).await?;
    /// assert_eq!(gain.get().await?, 2.5);
    /// # Ok(()) }
    /// ```
    fn put(&self, value: impl Into<Self::Value> + Send) -> impl Future<Output = Result<()>> + Send {
        let status = self.set(value);
        async move { status.await }
    }

    /// Start writing `value`; the [`Status`] finishes when the write is done.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let gain = SoftSignal::new("gain", 1.0_f64);
    /// let status = gain.set(2.5); // started; poll, wait or await it
    /// status.wait(std::time::Duration::from_secs(5)).await?;
    /// assert!(status.done() && status.success());
    /// # Ok(()) }
    /// ```
    fn set(&self, value: impl Into<Self::Value>) -> Status;

    /// Start writing `value` and call `callback` when done: ophyd's
    /// `put(value, callback=...)` (e.g. with [`Status::finisher`]).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let gain = SoftSignal::new("gain", 1.0_f64);
    /// let status = ophyd_core::Status::new("acquisition");
    /// gain.put_with_callback(2.5, status.finisher()); // ophyd's callback=status._finished
    /// status.await?;
    /// # Ok(()) }
    /// ```
    fn put_with_callback(&self, value: impl Into<Self::Value>, callback: impl FnOnce(Result<()>) + Send + 'static) {
        self.set(value).add_callback(move |outcome| callback(outcome.clone()));
    }

    /// How close a floating-point read-back must be to count as arrived.
    fn tolerance(&self) -> impl Future<Output = Tolerance> + Send {
        std::future::ready(Tolerance::EXACT)
    }

    /// Check, without writing, that `value` would get through to where
    /// the value lives (an EPICS signal asks its transport: the value
    /// encodes for the PV, the client may write it). Staging checks every
    /// value it will write, originals included, before changing anything.
    /// A signal that is not connected has nothing to check against: `Ok`.
    fn check_put(&self, value: &Self::Value) -> Result<()> {
        let _ = value;
        Ok(())
    }
}

impl Status {
    /// A status that finishes when `signal`'s value satisfies `predicate`
    /// (ophyd's `SubscriptionStatus`); at once if it already does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use ophyd_core::{SoftSignal, Status, Writable};
    /// let position = SoftSignal::new("position", 0.0_f64);
    /// let arrived = Status::when(&position, |p| *p >= 5.0);
    /// assert!(!arrived.done());
    /// position.set(5.0).await.unwrap();
    /// assert!(arrived.success());
    /// # }
    /// ```
    pub fn when<S: Signal>(signal: &S, predicate: impl Fn(&S::Value) -> bool + Send + Sync + 'static) -> Status {
        let what = format!("wait for a condition on {}", signal.signal_meta().name());
        let status = Status::new(what.clone());
        let finisher = status.clone();
        match signal.subscribe(move |value, _| {
            if predicate(value) {
                finisher.set_finished();
            }
        }) {
            // The subscription lives until the status is done.
            Ok(subscription) => status.add_callback(move |_| drop(subscription)),
            Err(e) => {
                status.set_exception(e);
            }
        }
        status
    }
}

/// A live subscription; dropping it unsubscribes.
#[must_use = "dropping a Subscription ends it"]
pub struct Subscription {
    _guard: Box<dyn Send + Sync>,
}

impl Subscription {
    /// A subscription that ends by running `unsubscribe`.
    pub fn new(unsubscribe: impl FnOnce() + Send + Sync + 'static) -> Subscription {
        struct OnDrop<F: FnOnce()>(Option<F>);
        impl<F: FnOnce()> Drop for OnDrop<F> {
            fn drop(&mut self) {
                if let Some(f) = self.0.take() {
                    f()
                }
            }
        }
        Subscription { _guard: Box::new(OnDrop(Some(unsubscribe))) }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

/// How [`set_and_wait_with`] waits.
#[derive(Clone, Copy, Debug)]
pub struct SetAndWait {
    /// Give up after this long.
    pub timeout: Duration,
    /// Tolerance for floating-point values; `None` takes the signal's own.
    pub tolerance: Option<Tolerance>,
}

impl Default for SetAndWait {
    fn default() -> Self {
        SetAndWait { timeout: SetAndWait::DEFAULT_TIMEOUT, tolerance: None }
    }
}

impl SetAndWait {
    /// The default timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Write `value` to `signal`, then wait until the signal reads it back
/// (within the signal's tolerance), for at most
/// [`SetAndWait::DEFAULT_TIMEOUT`]: ophyd's `set_and_wait`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ophyd_core::{set_and_wait, Signal, SoftSignal};
/// let gain = SoftSignal::new("gain", 1.0_f64);
/// set_and_wait(&gain, 2.5).await.unwrap();
/// assert_eq!(gain.get().await.unwrap(), 2.5);
/// # }
/// ```
pub async fn set_and_wait<S: Writable>(signal: &S, value: impl Into<S::Value> + Send) -> Result<()> {
    set_and_wait_with(signal, value, SetAndWait::default()).await
}

/// [`set_and_wait`] with an explicit timeout and tolerance. The error names
/// the signal, its PV, the target and the last value read back.
pub async fn set_and_wait_with<S: Writable>(
    signal: &S,
    value: impl Into<S::Value> + Send,
    options: SetAndWait,
) -> Result<()> {
    let value = value.into();
    if !value.is_finite() {
        return Err(Error::NotSent {
            signal: signal.signal_meta().name().to_owned(),
            pv: signal.source_name().to_owned(),
            value: value.to_value().to_string(),
            reason: "set_and_wait needs a finite target: a NaN or infinite value is never arrived at".into(),
        });
    }
    put_and_wait(signal, value, options).await
}

/// [`set_and_wait_with`] without the finite-target check: staging puts
/// back whatever the signal held, NaN included (a NaN read-back matches a
/// NaN target).
async fn put_and_wait<S: Writable>(signal: &S, value: S::Value, options: SetAndWait) -> Result<()> {
    let target = signal.normalize(value).await?;
    let tolerance = match options.tolerance {
        Some(t) => t,
        None => signal.tolerance().await,
    };
    let start = Instant::now();
    let put = signal.put(target.clone());
    match tokio::time::timeout(options.timeout, put).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(Error::Timeout {
                what: format!("put of {target:?} to `{}` ({})", signal.signal_meta().name(), signal.source_name()),
                after: options.timeout,
            })
        }
    }
    let mut poll = Duration::from_millis(1);
    loop {
        let last = signal.get().await?;
        if last.matches(&target, tolerance) {
            return Ok(());
        }
        let waited = start.elapsed();
        if waited >= options.timeout {
            return Err(Error::SetAndWait {
                signal: signal.signal_meta().name().to_owned(),
                pv: signal.source_name().to_owned(),
                target: target.to_value().to_string(),
                last: last.to_value().to_string(),
                after: waited,
            });
        }
        tokio::time::sleep(poll.min(options.timeout - waited)).await;
        poll = (poll * 2).min(Duration::from_millis(50));
    }
}

/// [`crate::DynSignal::get_value`] for any signal.
#[doc(hidden)]
pub fn dyn_get_value<S: Signal>(signal: &S) -> BoxFuture<'_, Result<Value>> {
    signal.get().map(|r| r.map(|v| v.to_value())).boxed()
}

/// [`crate::DynSignal::read_signal`] for any signal.
#[doc(hidden)]
pub fn dyn_read_signal<S: Signal>(signal: &S) -> BoxFuture<'_, Result<crate::DataMap<crate::Reading>>> {
    crate::gather::Gather::collect(1, |out| signal.read_into(out)).boxed()
}

/// [`crate::DynSignal::describe_signal`] for any signal.
#[doc(hidden)]
pub fn dyn_describe_signal<S: Signal>(signal: &S) -> BoxFuture<'_, Result<crate::DataMap<crate::DataKey>>> {
    crate::gather::Gather::collect(1, |out| signal.describe_into(out)).boxed()
}

/// [`crate::DynSignal::subscribe_value`] for any signal.
#[doc(hidden)]
pub fn dyn_subscribe_value<S: Signal>(
    signal: &S,
    callback: Box<dyn Fn(Value, f64) + Send + Sync>,
) -> Result<Subscription> {
    signal.subscribe(move |value, timestamp| callback(value.to_value(), timestamp))
}

/// [`crate::DynSignal::check_value`] for any signal.
#[doc(hidden)]
pub fn dyn_check_value<S: Signal>(signal: &S, value: &Value) -> Result<()> {
    S::Value::from_value(value).map(|_| ()).ok_or_else(|| value_type_error::<S>(signal, value))
}

fn value_type_error<S: Signal>(signal: &S, value: &Value) -> Error {
    Error::ValueType {
        signal: signal.signal_meta().name().to_owned(),
        expected: S::Value::TYPE_NAME.to_owned(),
        given: format!("{} {value}", value.type_name()),
    }
}

/// [`crate::DynSignal::check_value`] for a writable signal: the type, then
/// the signal's own [`Writable::check_put`].
#[doc(hidden)]
pub fn dyn_check_put<S: Writable>(signal: &S, value: &Value) -> Result<()> {
    let typed = S::Value::from_value(value).ok_or_else(|| value_type_error(signal, value))?;
    signal.check_put(&typed)
}

/// [`crate::DynSignal::set_and_wait_value`] for a writable signal.
#[doc(hidden)]
pub fn dyn_set_and_wait<S: Writable>(signal: &S, value: Value, timeout: Duration) -> BoxFuture<'_, Result<()>> {
    async move {
        let typed = S::Value::from_value(&value).ok_or_else(|| value_type_error(signal, &value))?;
        put_and_wait(signal, typed, SetAndWait { timeout, tolerance: None }).await
    }
    .boxed()
}

/// [`crate::DynSignal::set_and_wait_value`] for a read-only signal: an error.
#[doc(hidden)]
pub fn dyn_read_only(name: &str) -> BoxFuture<'static, Result<()>> {
    let err = Error::NotWritable { signal: name.to_owned(), why: "read-only".into(), action: "written".into() };
    async move { Err(err) }.boxed()
}

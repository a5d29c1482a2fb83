//! Derived signals: a value computed from other signals through a function
//! (ophyd-async's `derived_signal_r` / `derived_signal_rw`, ophyd's
//! `DerivedSignal`). [`DerivedSignalRO`] is read-only; [`DerivedSignal`]
//! also writes, through an inverse function that turns the value written
//! into values for its sources. Their sources are shared (`Arc`s), so that
//! the device that declares them holds them too.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;

use crate::component::{Component, DynComponent, SuffixOptional};
use crate::connect::{ConnectCtx, PendingConnect};
use crate::data::{DataKey, Reading};
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::meta::{ComponentSpec, DeviceMeta, SignalMeta};
use crate::signal::{Signal, Subscription, Writable};
use crate::status::Status;
use crate::sync::lock;
use crate::value::{Dtype, SignalValue, Tolerance};

// An `Arc` of a component is that component, shared: what lets a derived
// signal hold its sources while the device holds them too.

impl<C: Component> Component for Arc<C> {
    fn build(spec: &ComponentSpec<'_>) -> Self {
        Arc::new(C::build(spec))
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        (**self).read_into(out)
    }

    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        (**self).describe_into(out)
    }

    fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        (**self).read_configuration_into(out)
    }

    fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        (**self).describe_configuration_into(out)
    }

    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        (**self).collect_connects(ctx, out)
    }
}

impl<C: DynComponent> DynComponent for Arc<C> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn kind(&self) -> crate::Kind {
        (**self).kind()
    }

    fn set_kind(&self, kind: crate::Kind) {
        (**self).set_kind(kind)
    }

    fn parent(&self) -> Option<&Arc<DeviceMeta>> {
        (**self).parent()
    }

    fn attr_name(&self) -> Option<&'static str> {
        (**self).attr_name()
    }

    fn hints_into(&self, out: &mut Vec<String>) {
        (**self).hints_into(out)
    }

    fn as_signal(&self) -> Option<&dyn crate::DynSignal> {
        (**self).as_signal()
    }

    fn as_device(&self) -> Option<&dyn crate::DynDevice> {
        (**self).as_device()
    }
}

impl<S: Signal> Signal for Arc<S> {
    type Value = S::Value;

    fn signal_meta(&self) -> &SignalMeta {
        (**self).signal_meta()
    }

    fn source_name(&self) -> &str {
        (**self).source_name()
    }

    fn get(&self) -> impl Future<Output = Result<S::Value>> + Send {
        (**self).get()
    }

    fn subscribe(&self, callback: impl Fn(&S::Value, f64) + Send + Sync + 'static) -> Result<Subscription> {
        (**self).subscribe(callback)
    }

    fn normalize(&self, value: S::Value) -> impl Future<Output = Result<S::Value>> + Send {
        (**self).normalize(value)
    }
}

impl<S: Writable> Writable for Arc<S> {
    fn set(&self, value: impl Into<S::Value>) -> Status {
        (**self).set(value)
    }

    fn put_with_callback(&self, value: impl Into<S::Value>, callback: impl FnOnce(Result<()>) + Send + 'static) {
        (**self).put_with_callback(value, callback)
    }

    fn tolerance(&self) -> impl Future<Output = Tolerance> + Send {
        (**self).tolerance()
    }

    fn check_put(&self, value: &S::Value) -> Result<()> {
        (**self).check_put(value)
    }
}

#[diagnostic::do_not_recommend]
impl<C: SuffixOptional> SuffixOptional for Arc<C> {}

/// A field a derived signal can take its value from: an `Arc` of a signal,
/// which the derived signal shares with the device that declares it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a source of a derived signal",
    label = "a derived signal's source, but not shared",
    note = "a derived signal shares its sources with the device: declare this field `Arc<{Self}>` \
            (e.g. `top: Arc<EpicsSignal<f64>>`); it reads, writes and connects as before"
)]
pub trait Source: Send + Sync + 'static {
    /// The signal shared.
    type Signal: Signal;

    /// Another handle on the signal.
    fn share(&self) -> Arc<Self::Signal>;
}

impl<S: Signal> Source for Arc<S> {
    type Signal = S;

    fn share(&self) -> Arc<S> {
        Arc::clone(self)
    }
}

/// What the sources of a derived signal read: their values, the latest of
/// their timestamps and the worst of their alarm severities.
#[doc(hidden)]
pub struct Raw<V> {
    values: V,
    timestamp: f64,
    severity: Option<i32>,
}

/// The sources of a derived signal: one shared signal (`Arc<S>`, whose
/// values are `S::Value`) or a tuple of two to four (`(Arc<A>, Arc<B>)`,
/// whose values are `(A::Value, B::Value)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the sources of a derived signal",
    note = "the sources are one `Arc` of a signal, or a tuple of two to four of them"
)]
pub trait Sources: Send + Sync + 'static {
    /// The sources' values, one per source.
    type Values: Send + 'static;

    /// The sources' names, for messages.
    fn names(&self) -> Vec<String>;

    /// Read every source: the requests are issued now, so that they travel
    /// with the rest of a device's.
    #[doc(hidden)]
    fn read(&self) -> BoxFuture<'_, Result<Raw<Self::Values>>>;

    /// Subscribe to every source; `on_change` gets all their values each
    /// time one of them changes, once each has reported.
    #[doc(hidden)]
    fn subscribe(&self, on_change: Arc<dyn Fn(Self::Values, f64) + Send + Sync>) -> Result<Vec<Subscription>>;
}

/// Sources that can all be written: those of a read-write [`DerivedSignal`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written through a derived signal",
    note = "a `DerivedSignal` writes every one of its sources: each must be writable \
            (`Arc<EpicsSignal<T>>`, not `Arc<EpicsSignalRO<T>>`), or declare a `DerivedSignalRO<T>`"
)]
pub trait WritableSources: Sources {
    /// Write `values`, one per source, all at once; the [`Status`]
    /// finishes when every write has.
    #[doc(hidden)]
    fn write(&self, values: Self::Values) -> Status;
}

/// The function that makes a derived signal's value from its sources'
/// values: `Fn(A::Value) -> T` for one source, `Fn(A::Value, B::Value) -> T`
/// for two, and so on (ophyd-async's `raw_to_derived`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot make a derived value of type `{T}` from the values of `{S}`",
    label = "takes the wrong arguments or returns the wrong type",
    note = "`raw_to_derived` takes one argument per source, each of the source's value type, in the \
            order of `from(..)`, and returns the derived signal's value: \
            `fn gap(top: f64, bottom: f64) -> f64`"
)]
pub trait RawToDerived<S: Sources, T>: Send + Sync + 'static {
    /// The derived value of `raw`.
    fn raw_to_derived(&self, raw: S::Values) -> T;
}

/// The function that turns a value written to a derived signal into values
/// for its sources, given their current values: `Fn(T, A::Value) ->
/// A::Value` for one source, `Fn(T, A::Value, B::Value) -> (A::Value,
/// B::Value)` for two, and so on (ophyd-async's `derived_to_raw`, which is
/// given the current values here so that, say, a slit's gap can change
/// about its current centre).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot turn a `{T}` written into values for `{S}`",
    label = "takes the wrong arguments or returns the wrong type",
    note = "`derived_to_raw` takes the value written, then the current value of each source in the \
            order of `from(..)`, and returns the new value of each: \
            `fn blades(gap: f64, top: f64, bottom: f64) -> (f64, f64)`"
)]
pub trait DerivedToRaw<S: Sources, T>: Send + Sync + 'static {
    /// The sources' values for the derived value `value`, given their
    /// current values `current`.
    fn derived_to_raw(&self, value: T, current: S::Values) -> S::Values;
}

/// Issue a read of `signal` and give its value, timestamp and severity.
fn read_one<S: Signal>(signal: &S) -> impl Future<Output = Result<(S::Value, f64, Option<i32>)>> + Send + '_ {
    let gathered = Gather::collect(1, |out| signal.read_into(out));
    async move {
        let reading = gathered.await?.into_iter().next().map(|(_, r)| r);
        let meta = signal.signal_meta();
        let reading = reading.ok_or_else(|| Error::Get {
            signal: meta.name().to_owned(),
            pv: signal.source_name().to_owned(),
            reason: "it gave no reading".into(),
        })?;
        let value = S::Value::from_value(&reading.value).ok_or_else(|| Error::ValueType {
            signal: meta.name().to_owned(),
            expected: <S::Value as SignalValue>::TYPE_NAME.to_owned(),
            given: format!("{} {}", reading.value.type_name(), reading.value),
        })?;
        Ok((value, reading.timestamp, reading.alarm_severity))
    }
}

fn latest(timestamps: &[f64]) -> f64 {
    timestamps.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn worst(severities: &[Option<i32>]) -> Option<i32> {
    severities.iter().flatten().copied().max()
}

impl<A: Signal> Sources for Arc<A> {
    type Values = A::Value;

    fn names(&self) -> Vec<String> {
        vec![self.signal_meta().name().to_owned()]
    }

    fn read(&self) -> BoxFuture<'_, Result<Raw<A::Value>>> {
        let a = read_one(&**self);
        Box::pin(async move {
            let (values, timestamp, severity) = a.await?;
            Ok(Raw { values, timestamp, severity })
        })
    }

    fn subscribe(&self, on_change: Arc<dyn Fn(A::Value, f64) + Send + Sync>) -> Result<Vec<Subscription>> {
        Ok(vec![(**self).subscribe(move |value, timestamp| on_change(value.clone(), timestamp))?])
    }
}

impl<A: Writable> WritableSources for Arc<A> {
    fn write(&self, values: A::Value) -> Status {
        (**self).set(values)
    }
}

impl<A: Signal, T, F> RawToDerived<Arc<A>, T> for F
where
    F: Fn(A::Value) -> T + Send + Sync + 'static,
{
    fn raw_to_derived(&self, raw: A::Value) -> T {
        self(raw)
    }
}

impl<A: Writable, T, F> DerivedToRaw<Arc<A>, T> for F
where
    F: Fn(T, A::Value) -> A::Value + Send + Sync + 'static,
{
    fn derived_to_raw(&self, value: T, current: A::Value) -> A::Value {
        self(value, current)
    }
}

macro_rules! tuple_sources {
    ($(($($S:ident $v:ident $i:tt),+);)*) => {$(
        impl<$($S: Signal),+> Sources for ($(Arc<$S>,)+) {
            type Values = ($($S::Value,)+);

            fn names(&self) -> Vec<String> {
                vec![$(self.$i.signal_meta().name().to_owned()),+]
            }

            fn read(&self) -> BoxFuture<'_, Result<Raw<Self::Values>>> {
                $(let $v = read_one(&*self.$i);)+
                Box::pin(async move {
                    let ($($v,)+) = futures::join!($($v),+);
                    // Every source that failed is reported, in order.
                    let mut errors = Vec::new();
                    $(let $v = $v.map_err(|e| errors.push(e)).ok();)+
                    Error::bundle(errors)?;
                    $(let $v = $v.expect("no source failed");)+
                    Ok(Raw {
                        timestamp: latest(&[$($v.1),+]),
                        severity: worst(&[$($v.2),+]),
                        values: ($($v.0,)+),
                    })
                })
            }

            fn subscribe(
                &self,
                on_change: Arc<dyn Fn(Self::Values, f64) + Send + Sync>,
            ) -> Result<Vec<Subscription>> {
                type Latest<$($S),+> = ($(Option<($S, f64)>,)+);
                /// Every value and the latest timestamp, once each source has reported.
                fn complete<$($S: Clone),+>(last: &Latest<$($S),+>) -> Option<(($($S,)+), f64)> {
                    match last {
                        ($(Some($v),)+) => Some((($($v.0.clone(),)+), latest(&[$($v.1),+]))),
                        _ => None,
                    }
                }
                let last: Arc<Mutex<Latest<$($S::Value),+>>> = Arc::new(Mutex::new(Default::default()));
                let mut subscriptions = Vec::new();
                $(
                    let (kept, on_change_of_this) = (Arc::clone(&last), Arc::clone(&on_change));
                    subscriptions.push(Signal::subscribe(&*self.$i, move |value, timestamp| {
                        // The values are taken under the lock, the callback
                        // called outside it.
                        let complete = {
                            let mut last = lock(&kept);
                            last.$i = Some((value.clone(), timestamp));
                            complete(&last)
                        };
                        if let Some((values, timestamp)) = complete {
                            on_change_of_this(values, timestamp);
                        }
                    })?);
                )+
                Ok(subscriptions)
            }
        }

        impl<$($S: Writable),+> WritableSources for ($(Arc<$S>,)+) {
            fn write(&self, values: Self::Values) -> Status {
                let names = self.names().join(", ");
                Status::all(format!("writes of {names}"), [$(self.$i.set(values.$i)),+])
            }
        }

        impl<$($S: Signal,)+ T, F> RawToDerived<($(Arc<$S>,)+), T> for F
        where
            F: Fn($($S::Value),+) -> T + Send + Sync + 'static,
        {
            fn raw_to_derived(&self, raw: ($($S::Value,)+)) -> T {
                self($(raw.$i),+)
            }
        }

        impl<$($S: Writable,)+ T, F> DerivedToRaw<($(Arc<$S>,)+), T> for F
        where
            F: Fn(T, $($S::Value),+) -> ($($S::Value,)+) + Send + Sync + 'static,
        {
            fn derived_to_raw(&self, value: T, current: ($($S::Value,)+)) -> ($($S::Value,)+) {
                self(value, $(current.$i),+)
            }
        }
    )*};
}

tuple_sources! {
    (A a 0, B b 1);
    (A a 0, B b 1, C c 2);
    (A a 0, B b 1, C c 2, D d 3);
}

type Callback<T> = Arc<dyn Fn(&T, f64) + Send + Sync>;

/// A derived signal's sources and functions, with the types erased.
trait Through<T>: Send + Sync + 'static {
    /// The sources' names, for messages.
    fn names(&self) -> String;

    /// Read the sources (issued now) and derive the value.
    fn read(&self) -> BoxFuture<'_, Result<(T, f64, Option<i32>)>>;

    /// Call `callback` with the derived value whenever a source changes.
    fn subscribe(&self, callback: Callback<T>) -> Result<Subscription>;
}

/// [`Through`] for a derived signal that can be written.
trait ThroughRw<T>: Through<T> {
    /// Write `value` through the inverse: read the sources, then write
    /// their new values.
    fn write(self: Arc<Self>, value: T) -> BoxFuture<'static, Result<()>>;
}

/// The sources `S`, with `raw_to_derived` `F` and `derived_to_raw` `G`
/// (`()` for a read-only derived signal).
struct Functions<S, F, G> {
    sources: S,
    raw_to_derived: Arc<F>,
    derived_to_raw: G,
}

impl<T, S, F, G> Through<T> for Functions<S, F, G>
where
    T: SignalValue,
    S: Sources,
    F: RawToDerived<S, T>,
    G: Send + Sync + 'static,
{
    fn names(&self) -> String {
        self.sources.names().join(", ")
    }

    fn read(&self) -> BoxFuture<'_, Result<(T, f64, Option<i32>)>> {
        let raw = self.sources.read();
        Box::pin(async move {
            let Raw { values, timestamp, severity } = raw.await?;
            Ok((self.raw_to_derived.raw_to_derived(values), timestamp, severity))
        })
    }

    fn subscribe(&self, callback: Callback<T>) -> Result<Subscription> {
        let f = Arc::clone(&self.raw_to_derived);
        let subscriptions = self.sources.subscribe(Arc::new(move |values, timestamp| {
            callback(&f.raw_to_derived(values), timestamp);
        }))?;
        Ok(Subscription::new(move || drop(subscriptions)))
    }
}

impl<T, S, F, G> ThroughRw<T> for Functions<S, F, G>
where
    T: SignalValue,
    S: WritableSources,
    F: RawToDerived<S, T>,
    G: DerivedToRaw<S, T>,
{
    fn write(self: Arc<Self>, value: T) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            let current = self.sources.read().await?.values;
            let new = self.derived_to_raw.derived_to_raw(value, current);
            self.sources.write(new).await
        })
    }
}

/// What a derived signal is bound to, and how it describes its value.
struct Binding<B: ?Sized> {
    through: Arc<B>,
    units: Option<String>,
    precision: Option<i16>,
}

/// What both kinds of derived signal have: a name, and once bound, sources.
struct Core<T, B: ?Sized> {
    meta: SignalMeta,
    source: Arc<str>,
    binding: OnceLock<Binding<B>>,
    tolerance: Option<Tolerance>,
    _value: std::marker::PhantomData<fn() -> T>,
}

impl<T: SignalValue, B: ?Sized + Through<T>> Core<T, B> {
    fn new(meta: SignalMeta) -> Self {
        Core {
            source: format!("derived://{}", meta.name()).into(),
            meta,
            binding: OnceLock::new(),
            tolerance: None,
            _value: std::marker::PhantomData,
        }
    }

    fn bound(meta: SignalMeta, through: Arc<B>) -> Self {
        let core = Core::new(meta);
        core.bind(through, None, None);
        core
    }

    /// Bind to `through` (once; a derived signal built by the derive is
    /// bound as it is built).
    fn bind(&self, through: Arc<B>, units: Option<&str>, precision: Option<i16>) {
        let fresh = self.binding.set(Binding { through, units: units.map(str::to_owned), precision }).is_ok();
        debug_assert!(fresh, "derived signal `{}` bound twice", self.meta.name());
    }

    fn binding(&self) -> Result<&Binding<B>> {
        self.binding.get().ok_or_else(|| Error::Get {
            signal: self.meta.name().to_owned(),
            pv: self.source.to_string(),
            reason: "it has no sources: declare it with `#[component(derived(from(..), raw_to_derived = ..))]` \
                     or build it with `new`"
                .into(),
        })
    }

    fn binding_mut(&mut self) -> Option<&mut Binding<B>> {
        self.binding.get_mut()
    }

    async fn get(&self) -> Result<T> {
        Ok(self.binding()?.through.read().await?.0)
    }

    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
        let key = self.meta.key().clone();
        match self.binding() {
            Err(e) => out.failed(e),
            Ok(binding) => {
                let derived = binding.through.read();
                out.waiting(key, async move {
                    let (value, timestamp, severity) = derived.await?;
                    Ok(Reading { value: value.to_value(), timestamp, alarm_severity: severity })
                })
            }
        }
    }

    /// ophyd-async's data key of a derived signal: its source is
    /// `derived://<name>`, its dtype and shape those of the derived value,
    /// with the units and precision it was declared with. An array's
    /// shape is its current length, so describing one reads the sources.
    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
        let key = self.meta.key().clone();
        let binding = match self.binding() {
            Err(e) => return out.failed(e),
            Ok(binding) => binding,
        };
        let data_key = move |shape| DataKey {
            units: binding.units.clone().map(Some),
            precision: binding.precision,
            ..DataKey::new(self.source.clone(), T::DTYPE, shape)
        };
        match T::DTYPE {
            Dtype::Array => {
                let derived = binding.through.read();
                out.waiting(key, async move { Ok(data_key(derived.await?.0.shape())) })
            }
            _ => out.ready(key, data_key(Vec::new())),
        }
    }

    fn subscribe(&self, callback: impl Fn(&T, f64) + Send + Sync + 'static) -> Result<Subscription> {
        self.binding()?.through.subscribe(Arc::new(callback))
    }

    /// The declared tolerance; else 10^-precision, as ophyd; else, for
    /// numbers, a relative 1e-9: a value computed back from the sources
    /// written for it may differ from it in the last bits.
    fn tolerance(&self) -> Tolerance {
        if let Some(t) = self.tolerance {
            return t;
        }
        match (T::DTYPE, self.binding.get().and_then(|b| b.precision)) {
            (Dtype::Number, Some(p)) => Tolerance { atol: 10f64.powi(-i32::from(p)), rtol: 0.0 },
            (Dtype::Number, None) => Tolerance { atol: 1e-12, rtol: 1e-9 },
            _ => Tolerance::EXACT,
        }
    }
}

macro_rules! derived_signal {
    ($(#[$doc:meta])* $name:ident, $through:ident, writable = $writable:tt) => {
        $(#[$doc])*
        pub struct $name<T> {
            core: Core<T, dyn $through<T>>,
        }

        impl<T: SignalValue> $name<T> {
            /// The sources' names, once bound.
            pub fn source_names(&self) -> Option<String> {
                self.core.binding.get().map(|b| b.through.names())
            }

            /// Describe the value in these units (ophyd-async's `derived_units`).
            pub fn with_units(mut self, units: &str) -> Self {
                if let Some(binding) = self.core.binding_mut() {
                    binding.units = Some(units.to_owned());
                }
                self
            }

            /// Describe the value with this precision (ophyd-async's
            /// `derived_precision`); writes through a read-write derived
            /// signal then arrive within 10^-precision.
            pub fn with_precision(mut self, precision: i16) -> Self {
                if let Some(binding) = self.core.binding_mut() {
                    binding.precision = Some(precision);
                }
                self
            }
        }

        impl<T: SignalValue> Component for $name<T> {
            fn build(spec: &ComponentSpec<'_>) -> Self {
                $name { core: Core::new(SignalMeta::from_spec(spec)) }
            }

            fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
                self.core.read_into(out)
            }

            fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
                self.core.describe_into(out)
            }

            fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>) {
                self.core.read_into(out)
            }

            fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>) {
                self.core.describe_into(out)
            }

            /// Nothing of its own to connect: its sources connect as
            /// components of their device, or on their own.
            fn collect_connects<'a>(&'a self, _: &ConnectCtx<'a>, _: &mut Vec<PendingConnect<'a>>) {}
        }

        impl<T: SignalValue> Signal for $name<T> {
            type Value = T;

            fn signal_meta(&self) -> &SignalMeta {
                &self.core.meta
            }

            fn source_name(&self) -> &str {
                &self.core.source
            }

            fn get(&self) -> impl Future<Output = Result<T>> + Send {
                self.core.get()
            }

            fn subscribe(&self, callback: impl Fn(&T, f64) + Send + Sync + 'static) -> Result<Subscription> {
                self.core.subscribe(callback)
            }
        }

        crate::impl_signal_component!([T: SignalValue] $name<T>, writable = $writable);

        #[diagnostic::do_not_recommend]
        impl<T> SuffixOptional for $name<T> {}
    };
}

derived_signal!(
    /// A read-only signal whose value a function makes from other signals'
    /// (ophyd-async's `derived_signal_r`). In a device, declare it with
    /// `#[component(derived(from(a, b), raw_to_derived = f))]`, the sources
    /// being sibling `Arc` fields; on its own, build it with
    /// [`DerivedSignalRO::new`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use std::sync::Arc;
    /// use ophyd_core::{DerivedSignalRO, Signal, SoftSignal, Writable};
    ///
    /// let counts = Arc::new(SoftSignal::new("counts", 500_i32));
    /// let time = Arc::new(SoftSignal::new("time", 0.25_f64));
    /// let rate = DerivedSignalRO::new("rate", (counts.clone(), time.clone()), |counts: i32, time: f64| {
    ///     f64::from(counts) / time
    /// })
    /// .with_units("counts/s");
    /// assert_eq!(rate.get().await?, 2000.0);
    /// counts.put(1000).await?;
    /// assert_eq!(rate.get().await?, 4000.0);
    /// # Ok(()) }
    /// ```
    DerivedSignalRO,
    Through,
    writable = false
);

derived_signal!(
    /// A signal whose value a function makes from other signals', and
    /// which writes them through an inverse function (ophyd-async's
    /// `derived_signal_rw`, ophyd's `DerivedSignal`). In a device, declare
    /// it with `#[component(derived(from(a, b), raw_to_derived = f,
    /// derived_to_raw = g))]`; on its own, build it with
    /// [`DerivedSignal::new`].
    ///
    /// A derived signal shares its sources, so they are `Arc`s: a device
    /// declares them `Arc<EpicsSignal<f64>>` (an `Arc` of a signal is a signal
    /// and a component like the one it holds) and names them in
    /// `#[component(derived(from(..), ..))]`:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use std::sync::Arc;
    /// use ophyd_core::prelude::*;
    /// use ophyd_core::DerivedSignal;
    ///
    /// fn gap(top: f64, bottom: f64) -> f64 {
    ///     top - bottom
    /// }
    ///
    /// /// Both blades move, the centre stays where it is.
    /// fn blades_for_gap(gap: f64, top: f64, bottom: f64) -> (f64, f64) {
    ///     let centre = (top + bottom) / 2.0;
    ///     (centre + gap / 2.0, centre - gap / 2.0)
    /// }
    ///
    /// #[derive(Device)]
    /// struct Slit {
    ///     #[component(kind = "config")]
    ///     top: Arc<SoftSignal<f64>>,
    ///     #[component(kind = "config")]
    ///     bottom: Arc<SoftSignal<f64>>,
    ///     #[component(kind = "hinted", derived(from(top, bottom), raw_to_derived = gap, derived_to_raw = blades_for_gap))]
    ///     gap: DerivedSignal<f64>,
    /// }
    ///
    /// let slit = Slit::new("", "slit");
    /// slit.top.put(3.0).await?;
    /// slit.bottom.put(1.0).await?;
    /// assert_eq!(slit.gap.get().await?, 2.0);
    /// assert_eq!(slit.read().await?.keys().collect::<Vec<_>>(), ["slit_gap"]);
    /// let description = slit.describe().await?;
    /// assert_eq!(&*description.get("slit_gap").unwrap().source, "derived://slit_gap");
    ///
    /// set_and_wait(&slit.gap, 1.0).await?; // through blades_for_gap
    /// assert_eq!((slit.top.get().await?, slit.bottom.get().await?), (2.5, 1.5));
    /// # Ok(()) }
    /// ```
    ///
    /// Reading a derived signal reads its sources (their requests travel
    /// with the rest of the device's); its timestamp is the latest of
    /// theirs and its alarm severity the worst. A subscription to it
    /// subscribes to every source and calls back with a new value whenever
    /// any of them changes, once each has reported. Writing reads the
    /// sources' current values, asks `derived_to_raw` for new ones and
    /// writes them all; the write's [`Status`] finishes when every
    /// source's does.
    DerivedSignal,
    ThroughRw,
    writable = true
);

impl<T: SignalValue> DerivedSignalRO<T> {
    /// A read-only derived signal named `name` (its data key): the value
    /// `raw_to_derived` makes from the values of `sources` (one `Arc` of a
    /// signal, or a tuple of two to four).
    pub fn new<S: Sources>(name: &str, sources: S, raw_to_derived: impl RawToDerived<S, T>) -> Self {
        let through = Functions { sources, raw_to_derived: Arc::new(raw_to_derived), derived_to_raw: () };
        DerivedSignalRO { core: Core::bound(SignalMeta::standalone(name), Arc::new(through)) }
    }
}

impl<T: SignalValue> DerivedSignal<T> {
    /// A read-write derived signal named `name` (its data key): the value
    /// `raw_to_derived` makes from the values of `sources`, written by
    /// writing to each source the value `derived_to_raw` gives for it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use std::sync::Arc;
    /// use ophyd_core::{DerivedSignal, Signal, SoftSignal, Writable};
    ///
    /// let metres = Arc::new(SoftSignal::new("position", 0.5_f64));
    /// let millimetres = DerivedSignal::new(
    ///     "position_mm",
    ///     metres.clone(),
    ///     |m: f64| m * 1000.0,
    ///     |mm: f64, _current: f64| mm / 1000.0,
    /// );
    /// assert_eq!(millimetres.get().await?, 500.0);
    /// millimetres.put(250.0).await?;
    /// assert_eq!(metres.get().await?, 0.25);
    /// # Ok(()) }
    /// ```
    pub fn new<S: WritableSources>(
        name: &str,
        sources: S,
        raw_to_derived: impl RawToDerived<S, T>,
        derived_to_raw: impl DerivedToRaw<S, T>,
    ) -> Self {
        let through = Functions { sources, raw_to_derived: Arc::new(raw_to_derived), derived_to_raw };
        DerivedSignal { core: Core::bound(SignalMeta::standalone(name), Arc::new(through)) }
    }

    /// Set the tolerance `set_and_wait` uses (default: 10^-precision if
    /// declared, else a relative 1e-9 for numbers).
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Self {
        self.core.tolerance = Some(tolerance);
        self
    }
}

impl<T: SignalValue> Writable for DerivedSignal<T> {
    /// Read the sources, compute their new values with `derived_to_raw`,
    /// and write them; the [`Status`] finishes when every write has.
    ///
    /// # Panics
    /// Outside a tokio runtime (the reads and writes run on it).
    fn set(&self, value: impl Into<T>) -> Status {
        let value = value.into();
        let what = format!("set of {:?} to `{}`", value, self.core.meta.name());
        match self.core.binding() {
            Err(e) => Status::failed(what, e),
            Ok(binding) => {
                let what = format!("{what} (through {})", binding.through.names());
                Status::from_future(what, Arc::clone(&binding.through).write(value))
            }
        }
    }

    fn tolerance(&self) -> impl Future<Output = Tolerance> + Send {
        std::future::ready(self.core.tolerance())
    }
}

/// How the derive binds a `#[component(derived(..))]` field without
/// `derived_to_raw` to its sibling sources.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a read-only derived signal",
    label = "declared `derived(..)` without `derived_to_raw`",
    note = "`derived(from(..), raw_to_derived = ..)` makes a `DerivedSignalRO<T>`: declare the field so, \
            or add `derived_to_raw = ..` for a read-write `DerivedSignal<T>`"
)]
pub trait BindReadOnly {
    /// The derived value type.
    type Value;

    /// Bind to `sources` through `raw_to_derived`, described in `units`
    /// with `precision`.
    fn bind_read_only<S: Sources>(
        &self,
        sources: S,
        raw_to_derived: impl RawToDerived<S, Self::Value>,
        units: Option<&str>,
        precision: Option<i16>,
    );
}

impl<T: SignalValue> BindReadOnly for DerivedSignalRO<T> {
    type Value = T;

    fn bind_read_only<S: Sources>(
        &self,
        sources: S,
        raw_to_derived: impl RawToDerived<S, T>,
        units: Option<&str>,
        precision: Option<i16>,
    ) {
        let through = Functions { sources, raw_to_derived: Arc::new(raw_to_derived), derived_to_raw: () };
        self.core.bind(Arc::new(through), units, precision)
    }
}

/// How the derive binds a `#[component(derived(..))]` field with
/// `derived_to_raw` to its sibling sources.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a read-write derived signal",
    label = "declared `derived(..)` with `derived_to_raw`",
    note = "`derived(from(..), raw_to_derived = .., derived_to_raw = ..)` makes a `DerivedSignal<T>`: \
            declare the field so, or leave out `derived_to_raw` for a read-only `DerivedSignalRO<T>`"
)]
pub trait BindReadWrite {
    /// The derived value type.
    type Value;

    /// Bind to `sources` through `raw_to_derived` and `derived_to_raw`,
    /// described in `units` with `precision`.
    fn bind_read_write<S: WritableSources>(
        &self,
        sources: S,
        raw_to_derived: impl RawToDerived<S, Self::Value>,
        derived_to_raw: impl DerivedToRaw<S, Self::Value>,
        units: Option<&str>,
        precision: Option<i16>,
    );
}

impl<T: SignalValue> BindReadWrite for DerivedSignal<T> {
    type Value = T;

    fn bind_read_write<S: WritableSources>(
        &self,
        sources: S,
        raw_to_derived: impl RawToDerived<S, T>,
        derived_to_raw: impl DerivedToRaw<S, T>,
        units: Option<&str>,
        precision: Option<i16>,
    ) {
        let through = Functions { sources, raw_to_derived: Arc::new(raw_to_derived), derived_to_raw };
        self.core.bind(Arc::new(through), units, precision)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::soft::SoftSignal;

    fn pair() -> (Arc<SoftSignal<f64>>, Arc<SoftSignal<f64>>) {
        (Arc::new(SoftSignal::new("top", 3.0)), Arc::new(SoftSignal::new("bottom", 1.0)))
    }

    fn gap(top: f64, bottom: f64) -> f64 {
        top - bottom
    }

    fn blades(gap: f64, top: f64, bottom: f64) -> (f64, f64) {
        let centre = (top + bottom) / 2.0;
        (centre + gap / 2.0, centre - gap / 2.0)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_derived_reading_has_the_latest_timestamp_of_its_sources() {
        let (top, bottom) = pair();
        let derived = DerivedSignalRO::new("gap", (top.clone(), bottom.clone()), gap);
        tokio::time::sleep(Duration::from_millis(5)).await;
        bottom.put(0.5).await.unwrap();
        let reading = Gather::collect(1, |out| derived.read_into(out)).await.unwrap();
        let reading = reading.get("gap").unwrap();
        assert_eq!(reading.value, 2.5.into());
        assert_eq!(reading.timestamp, bottom.cell().snapshot().1);
        assert!(reading.timestamp > top.cell().snapshot().1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_subscription_calls_back_once_every_source_has_reported_and_on_each_change() {
        let (top, bottom) = pair();
        let derived = DerivedSignalRO::new("gap", (top.clone(), bottom.clone()), gap);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let subscription = derived.subscribe(move |v, _| s.lock().unwrap().push(*v)).unwrap();
        top.put(4.0).await.unwrap();
        bottom.put(2.0).await.unwrap();
        drop(subscription);
        top.put(10.0).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), [2.0, 3.0, 2.0]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_goes_through_the_inverse_with_the_current_values() {
        let (top, bottom) = pair();
        let derived = DerivedSignal::new("gap", (top.clone(), bottom.clone()), gap, blades);
        derived.set(4.0).await.unwrap();
        assert_eq!((top.get().await.unwrap(), bottom.get().await.unwrap()), (4.0, 0.0));
        crate::set_and_wait(&derived, 0.3).await.unwrap();
        assert!((derived.get().await.unwrap() - 0.3).abs() < 1e-12);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unbound_derived_signal_says_it_has_no_sources() {
        let parent = DeviceMeta::root("", "slit");
        let spec = ComponentSpec {
            parent: &parent,
            attr: "gap",
            suffix: "",
            pv: None,
            kind: crate::Kind::Normal,
            put_complete: false,
            named_after_parent: false,
        };
        let derived = <DerivedSignal<f64> as Component>::build(&spec);
        let err = derived.get().await.unwrap_err().to_string();
        assert!(err.contains("`slit_gap` (derived://slit_gap)") && err.contains("no sources"), "{err}");
        let err = derived.set(1.0).await.unwrap_err().to_string();
        assert!(err.contains("no sources"), "{err}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_array_derived_signal_is_described_with_its_current_length() {
        let samples = Arc::new(SoftSignal::new("samples", vec![1.0_f64, 2.0, 3.0]));
        let doubled = DerivedSignalRO::new("doubled", samples.clone(), |v: Vec<f64>| {
            v.iter().chain(&v).copied().collect::<Vec<f64>>()
        })
        .with_units("V");
        let keys = Gather::collect(1, |out| doubled.describe_into(out)).await.unwrap();
        let key = keys.get("doubled").unwrap();
        assert_eq!((key.dtype, key.shape.clone(), key.units.clone()), (Dtype::Array, vec![6], Some(Some("V".into()))));
    }
}

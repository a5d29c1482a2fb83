//! Soft signals: values held in memory, with no hardware behind them
//! (ophyd's `Signal`).

use std::sync::{Arc, Mutex};

use crate::data::now;
use crate::meta::{ComponentSpec, SignalMeta};
use crate::signal::Subscription;
use crate::sync::lock;
use crate::value::SignalValue;

type Callback<T> = Arc<dyn Fn(&T, f64) + Send + Sync>;

/// The shared value of a soft signal and its subscribers.
pub struct SoftCell<T> {
    state: Mutex<(T, f64)>,
    subscribers: Mutex<Vec<(u64, Callback<T>)>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl<T: SignalValue> SoftCell<T> {
    fn new(value: T) -> Arc<Self> {
        Arc::new(SoftCell {
            state: Mutex::new((value, now())),
            subscribers: Mutex::new(Vec::new()),
            next_id: Default::default(),
        })
    }

    /// The value and its timestamp.
    pub fn snapshot(&self) -> (T, f64) {
        lock(&self.state).clone()
    }

    /// Replace the value, timestamp it now and tell the subscribers.
    pub fn put(&self, value: T) {
        let ts = now();
        *lock(&self.state) = (value.clone(), ts);
        let subscribers: Vec<Callback<T>> = lock(&self.subscribers).iter().map(|(_, c)| c.clone()).collect();
        for cb in subscribers {
            cb(&value, ts);
        }
    }

    fn subscribe(self: &Arc<Self>, callback: Callback<T>) -> Subscription {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Snapshot and registration under one lock: a put in between is
        // either in the snapshot or delivered to the new callback.
        let (value, ts) = {
            let mut subscribers = lock(&self.subscribers);
            subscribers.push((id, callback.clone()));
            self.snapshot()
        };
        callback(&value, ts);
        let cell = Arc::downgrade(self);
        Subscription::new(move || {
            if let Some(cell) = cell.upgrade() {
                lock(&cell.subscribers).retain(|(i, _)| *i != id);
            }
        })
    }
}

macro_rules! soft_signal {
    ($(#[$doc:meta])* $name:ident, writable = $writable:tt) => {
        $(#[$doc])*
        pub struct $name<T> {
            meta: SignalMeta,
            source: Arc<str>,
            cell: Arc<SoftCell<T>>,
        }

        impl<T: SignalValue> $name<T> {
            /// A signal named `name` (its data key) holding `value`.
            pub fn new(name: &str, value: T) -> Self {
                Self::with_meta(SignalMeta::standalone(name), value)
            }

            fn with_meta(meta: SignalMeta, value: T) -> Self {
                $name { source: format!("SIM:{}", meta.name()).into(), meta, cell: SoftCell::new(value) }
            }

            /// The shared cell behind the signal (simulation code writes
            /// read-only soft signals through it).
            pub fn cell(&self) -> &Arc<SoftCell<T>> {
                &self.cell
            }
        }

        impl<T: SignalValue + Default> $crate::Component for $name<T> {
            fn build(spec: &ComponentSpec<'_>) -> Self {
                Self::with_meta(SignalMeta::from_spec(spec), T::default())
            }

            fn read_into<'a>(&'a self, out: &mut $crate::implement::Gather<'a, $crate::Reading>) {
                let (value, ts) = self.cell.snapshot();
                out.ready(self.meta.key().clone(), $crate::Reading::new(value.to_value(), ts));
            }

            fn describe_into<'a>(&'a self, out: &mut $crate::implement::Gather<'a, $crate::DataKey>) {
                let shape = self.cell.snapshot().0.shape();
                out.ready(self.meta.key().clone(), $crate::DataKey::new(self.source.clone(), T::DTYPE, shape));
            }

            fn read_configuration_into<'a>(&'a self, out: &mut $crate::implement::Gather<'a, $crate::Reading>) {
                self.read_into(out)
            }

            fn describe_configuration_into<'a>(&'a self, out: &mut $crate::implement::Gather<'a, $crate::DataKey>) {
                self.describe_into(out)
            }

            fn collect_connects<'a>(
                &'a self,
                _: &$crate::implement::ConnectCtx<'a>,
                _: &mut Vec<$crate::implement::PendingConnect<'a>>,
            ) {
            }
        }

        impl<T: SignalValue + Default> $crate::Signal for $name<T> {
            type Value = T;

            fn signal_meta(&self) -> &SignalMeta {
                &self.meta
            }

            fn source_name(&self) -> &str {
                &self.source
            }

            fn get(&self) -> impl std::future::Future<Output = $crate::Result<T>> + Send {
                std::future::ready(Ok(self.cell.snapshot().0))
            }

            fn subscribe(
                &self,
                callback: impl Fn(&T, f64) + Send + Sync + 'static,
            ) -> $crate::Result<Subscription> {
                Ok(self.cell.subscribe(Arc::new(callback)))
            }
        }

        $crate::impl_signal_component!([T: SignalValue + Default] $name<T>, writable = $writable);

        #[diagnostic::do_not_recommend]
        impl<T> $crate::implement::SuffixOptional for $name<T> {}
    };
}

soft_signal!(
    /// A readable and writable in-memory signal.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use ophyd_core::{Signal, SoftSignal, Writable};
    /// let exposure = SoftSignal::new("exposure_time", 0.1_f64);
    /// exposure.set(0.5).await.unwrap();
    /// assert_eq!(exposure.get().await.unwrap(), 0.5);
    /// # }
    /// ```
    SoftSignal,
    writable = true
);

soft_signal!(
    /// A read-only in-memory signal: it has no write methods; simulation
    /// code changes it through [`SoftSignalRO::cell`].
    SoftSignalRO,
    writable = false
);

impl<T: SignalValue + Default> crate::Writable for SoftSignal<T> {
    fn set(&self, value: impl Into<T>) -> crate::Status {
        self.cell.put(value.into());
        crate::Status::finished(format!("set of {}", self.meta.name()))
    }
}

/// Implements [`DynComponent`](crate::DynComponent) and
/// [`DynSignal`](crate::DynSignal) for a signal type from its [`Signal`](crate::Signal)
/// (and, with `writable = true`, [`Writable`](crate::Writable)) impls.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_signal_component {
    ([$($generics:tt)*] $ty:ty, writable = $writable:tt) => {
        impl<$($generics)*> $crate::DynComponent for $ty {
            $crate::meta_accessors!(fn $crate::Signal::signal_meta);
            fn hints_into(&self, out: &mut Vec<String>) {
                let meta = $crate::Signal::signal_meta(self);
                if meta.kind().is_hinted() {
                    out.push(meta.name().to_owned());
                }
            }
            fn as_signal(&self) -> Option<&dyn $crate::DynSignal> {
                Some(self)
            }
        }

        impl<$($generics)*> $crate::DynSignal for $ty {
            fn source(&self) -> &str {
                $crate::Signal::source_name(self)
            }
            fn value_type(&self) -> &'static str {
                <<Self as $crate::Signal>::Value as $crate::SignalValue>::TYPE_NAME
            }
            fn writable(&self) -> bool {
                $writable
            }
            fn get_value(&self) -> $crate::__private::BoxFuture<'_, $crate::Result<$crate::Value>> {
                $crate::__private::dyn_get_value(self)
            }
            fn check_value(&self, value: &$crate::Value) -> $crate::Result<()> {
                $crate::impl_signal_component!(@check $writable, self, value)
            }
            fn set_and_wait_value(
                &self,
                value: $crate::Value,
                timeout: std::time::Duration,
            ) -> $crate::__private::BoxFuture<'_, $crate::Result<()>> {
                $crate::impl_signal_component!(@set $writable, self, value, timeout)
            }
            fn read_signal(
                &self,
            ) -> $crate::__private::BoxFuture<'_, $crate::Result<$crate::DataMap<$crate::Reading>>> {
                $crate::__private::dyn_read_signal(self)
            }
            fn describe_signal(
                &self,
            ) -> $crate::__private::BoxFuture<'_, $crate::Result<$crate::DataMap<$crate::DataKey>>> {
                $crate::__private::dyn_describe_signal(self)
            }
            fn subscribe_value(
                &self,
                callback: Box<dyn Fn($crate::Value, f64) + Send + Sync>,
            ) -> $crate::Result<$crate::Subscription> {
                $crate::__private::dyn_subscribe_value(self, callback)
            }
        }
    };
    (@check true, $self:ident, $value:ident) => {
        $crate::__private::dyn_check_put($self, $value)
    };
    (@check false, $self:ident, $value:ident) => {
        $crate::__private::dyn_check_value($self, $value)
    };
    (@set true, $self:ident, $value:ident, $timeout:ident) => {
        $crate::__private::dyn_set_and_wait($self, $value, $timeout)
    };
    (@set false, $self:ident, $value:ident, $timeout:ident) => {{
        let _ = ($value, $timeout);
        $crate::__private::dyn_read_only($crate::Signal::signal_meta($self).name())
    }};
}

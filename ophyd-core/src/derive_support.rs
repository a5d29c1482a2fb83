//! What the code `#[derive(Device)]` writes calls: the logic every device
//! shares, written once here, so that a device's expansion only says what
//! is particular to it (its fields). Reached through `__private`; not part
//! of the public API.

use std::future::Future;
use std::marker::PhantomData;

use futures::future::{BoxFuture, Either};

use crate::component::Component;
use crate::data::{DataKey, DataMap, Reading};
use crate::device::Device;
use crate::error::Result;
use crate::kind::Kind;

/// What [`DynDevice::read_dyn`](crate::DynDevice::read_dyn) and
/// `read_configuration_dyn` return.
pub type BoxedReadings<'a> = BoxFuture<'a, Result<DataMap<Reading>>>;

/// What [`DynDevice::describe_dyn`](crate::DynDevice::describe_dyn) and
/// `describe_configuration_dyn` return.
pub type BoxedDataKeys<'a> = BoxFuture<'a, Result<DataMap<DataKey>>>;

/// What the boxed steps of [`DynDevice`](crate::DynDevice) (stage,
/// unstage, stop, pause, resume) return.
pub type BoxedStep<'a> = BoxFuture<'a, Result<()>>;

/// [`Device::read`], boxed.
pub fn read_dyn<D: Device>(device: &D) -> BoxedReadings<'_> {
    Box::pin(device.read())
}

/// [`Device::describe`], boxed.
pub fn describe_dyn<D: Device>(device: &D) -> BoxedDataKeys<'_> {
    Box::pin(device.describe())
}

/// [`Device::read_configuration`], boxed.
pub fn read_configuration_dyn<D: Device>(device: &D) -> BoxedReadings<'_> {
    Box::pin(device.read_configuration())
}

/// [`Device::describe_configuration`], boxed.
pub fn describe_configuration_dyn<D: Device>(device: &D) -> BoxedDataKeys<'_> {
    Box::pin(device.describe_configuration())
}

/// A step of a behaviour the user may write themselves
/// ([`Stage`](crate::Stage), [`Stop`](crate::Stop)), boxed.
///
/// The derive passes it `<Self as Stage>::stage(self)`, naming the trait
/// at the call rather than calling a helper bounded on it: a behaviour
/// declared `custom(...)` without an impl then fails at that call, with the
/// trait's own message, and each of its forwarders fails with the same
/// error, which the compiler reports once.
pub fn boxed<'a>(step: impl Future<Output = Result<()>> + Send + 'a) -> BoxedStep<'a> {
    Box::pin(step)
}

/// Which of [`Component`]'s four `*_into` methods a [`Gather`] calls, and
/// on the children of which kind.
pub trait Gathering: Send {
    /// What the method appends: readings or data keys.
    type Entry: Send;

    /// The kind a child must have to be asked.
    const KIND: Kind;

    /// Ask `child` for its entries.
    fn gather_from<'a, C: Component>(
        child: &'a C,
        out: &'a mut DataMap<Self::Entry>,
    ) -> impl Future<Output = Result<()>> + Send + 'a;
}

/// One of a device's `*_into` methods in progress: the derive's
/// `__ophyd_gather` hands it each child in turn. Each child is awaited in
/// place, with its concrete type: nothing is boxed.
pub struct Gather<'o, G: Gathering> {
    out: &'o mut DataMap<G::Entry>,
    gathering: PhantomData<G>,
}

macro_rules! gatherings {
    ($($(#[$doc:meta])* $name:ident: $entry:ty, $kind:ident, $method:ident, $start:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Gathering for $name {
            type Entry = $entry;
            const KIND: Kind = Kind::$kind;

            fn gather_from<'a, C: Component>(
                child: &'a C,
                out: &'a mut DataMap<$entry>,
            ) -> impl Future<Output = Result<()>> + Send + 'a {
                child.$method(out)
            }
        }

        impl<'o> Gather<'o, $name> {
            #[doc = concat!("Start [`Component::", stringify!($method), "`].")]
            pub fn $start(out: &'o mut DataMap<$entry>) -> Self {
                Gather { out, gathering: PhantomData }
            }
        }
    )*};
}

gatherings! {
    /// [`Component::read_into`] of the children of kind normal.
    Readings: Reading, Normal, read_into, read;
    /// [`Component::describe_into`] of the children of kind normal.
    DataKeys: DataKey, Normal, describe_into, describe;
    /// [`Component::read_configuration_into`] of the children of kind config.
    ConfigReadings: Reading, Config, read_configuration_into, read_configuration;
    /// [`Component::describe_configuration_into`] of the children of kind config.
    ConfigDataKeys: DataKey, Config, describe_configuration_into, describe_configuration;
}

impl<G: Gathering> Gather<'_, G> {
    /// Append `child`'s entries, if its kind is one this gathering covers.
    /// The future is the child's own (or a ready one), not a new state
    /// machine around it: that layer, once per component, made `read()` of
    /// a device of 10 soft signals 40% slower.
    pub fn child<'a, C: Component>(&'a mut self, child: &'a C) -> impl Future<Output = Result<()>> + Send + 'a {
        if child.kind().intersects(G::KIND) {
            Either::Left(G::gather_from(child, self.out))
        } else {
            Either::Right(std::future::ready(Ok(())))
        }
    }
}

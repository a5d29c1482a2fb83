//! What the code `#[derive(Device)]` writes calls: the logic every device
//! shares, written once here, so that a device's expansion only says what
//! is particular to it (its fields). Reached through `__private`; not part
//! of the public API.

use std::future::Future;

use futures::future::BoxFuture;

use crate::component::Component;
use crate::data::{DataKey, DataMap, Reading};
use crate::device::Device;
use crate::error::Result;
use crate::gather::Gather;
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

/// What [`DynDevice::collect_asset_docs_dyn`](crate::DynDevice::collect_asset_docs_dyn) returns.
pub type BoxedAssets<'a> = BoxFuture<'a, Result<Vec<crate::StreamAsset>>>;

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
pub fn boxed<'a, T>(step: impl Future<Output = Result<T>> + Send + 'a) -> BoxFuture<'a, Result<T>> {
    Box::pin(step)
}

/// Which of [`Component`]'s four `*_into` methods a device's own asks of
/// its children, and of the children of which kind.
pub trait Gathering {
    /// What the method adds: readings or data keys.
    type Entry: Send;

    /// The kind a child must have to be asked.
    const KIND: Kind;

    /// Ask `child` for its entries.
    fn gather_from<'a, C: Component>(child: &'a C, out: &mut Gather<'a, Self::Entry>);
}

macro_rules! gatherings {
    ($($(#[$doc:meta])* $name:ident: $entry:ty, $kind:ident, $method:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl Gathering for $name {
            type Entry = $entry;
            const KIND: Kind = Kind::$kind;

            fn gather_from<'a, C: Component>(child: &'a C, out: &mut Gather<'a, $entry>) {
                child.$method(out)
            }
        }
    )*};
}

gatherings! {
    /// [`Component::read_into`] of the children of kind normal.
    Readings: Reading, Normal, read_into;
    /// [`Component::describe_into`] of the children of kind normal.
    DataKeys: DataKey, Normal, describe_into;
    /// [`Component::read_configuration_into`] of the children of kind config.
    ConfigReadings: Reading, Config, read_configuration_into;
    /// [`Component::describe_configuration_into`] of the children of kind config.
    ConfigDataKeys: DataKey, Config, describe_configuration_into;
}

/// Add `child`'s entries to `out`, if its kind is one `G` covers: one
/// line of a device's `__ophyd_gather` per component.
#[inline]
pub fn gather_child<'a, G: Gathering, C: Component>(child: &'a C, out: &mut Gather<'a, G::Entry>) {
    if child.kind().intersects(G::KIND) {
        G::gather_from(child, out)
    }
}

/// A component that writes to where its value lives, and so can be
/// declared `put_complete` (wait for the server to complete each write):
/// every [`Writable`](crate::Writable) signal, and signals that only write
/// (`ophyd_epics::EpicsSignalX`), which implement it themselves.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is read-only",
    label = "cannot be written, staged or put with completion",
    note = "use a writable signal type (e.g. `EpicsSignal<T>` instead of `EpicsSignalRO<T>`) \
            or remove the `stage`/`put_complete` setting"
)]
pub trait PutComplete {}

#[diagnostic::do_not_recommend]
impl<S: crate::Writable> PutComplete for S {}

/// Inside a hand-written `impl DynDevice`: the boxed forms of the device's
/// own [`Device`] reads and its `Stage`, `Trigger` and `Stop` (what
/// `#[derive(Device)]` writes for a device without `custom(..)`
/// behaviours).
#[doc(hidden)]
#[macro_export]
macro_rules! device_behaviours {
    () => {
        fn read_dyn(&self) -> $crate::__private::BoxedReadings<'_> {
            $crate::__private::read_dyn(self)
        }

        fn describe_dyn(&self) -> $crate::__private::BoxedDataKeys<'_> {
            $crate::__private::describe_dyn(self)
        }

        fn read_configuration_dyn(&self) -> $crate::__private::BoxedReadings<'_> {
            $crate::__private::read_configuration_dyn(self)
        }

        fn describe_configuration_dyn(&self) -> $crate::__private::BoxedDataKeys<'_> {
            $crate::__private::describe_configuration_dyn(self)
        }

        fn stage_dyn(&self) -> $crate::__private::BoxedStep<'_> {
            $crate::__private::boxed(<Self as $crate::Stage>::stage(self))
        }

        fn unstage_dyn(&self) -> $crate::__private::BoxedStep<'_> {
            $crate::__private::boxed(<Self as $crate::Stage>::unstage(self))
        }

        fn trigger_dyn(&self) -> $crate::Status {
            <Self as $crate::Trigger>::trigger(self)
        }

        fn stop_dyn(&self, success: bool) -> $crate::__private::BoxedStep<'_> {
            $crate::__private::boxed(<Self as $crate::Stop>::stop(self, success))
        }

        fn pause_dyn(&self) -> $crate::__private::BoxedStep<'_> {
            $crate::__private::boxed(<Self as $crate::Stop>::pause(self))
        }

        fn resume_dyn(&self) -> $crate::__private::BoxedStep<'_> {
            $crate::__private::boxed(<Self as $crate::Stop>::resume(self))
        }
    };
}

//! [`Component`]: anything a device can hold as a `#[component]` field — a
//! signal or another device — and the object-safe views of components used
//! for lookups by name ([`DynComponent`], [`DynSignal`], [`DynDevice`]).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::connect::{ConnectCtx, PendingConnect};
use crate::data::{DataKey, DataMap, Reading};
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::kind::Kind;
use crate::meta::{ComponentSpec, DeviceMeta};
use crate::signal::Subscription;
use crate::status::Status;
use crate::stream::StreamAsset;
use crate::value::Value;

/// A field of a device: built from its parent's [`ComponentSpec`], and able to
/// contribute to its parent's `read()`, `describe()` and configuration.
///
/// Signals contribute their own entry; devices contribute their children's.
/// `#[derive(Device)]` implements this for every device, so devices nest.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[component]` field",
    label = "not a signal or a device",
    note = "a component is a signal (`EpicsSignal<T>`, `EpicsSignalRO<T>`, `SoftSignal<T>`, ...) \
            or a struct with `#[derive(Device)]`; plain state fields take no `#[component]` attribute"
)]
pub trait Component: DynComponent + Sized {
    /// Build the component from what its parent says about it.
    fn build(spec: &ComponentSpec<'_>) -> Self;

    /// Issue this component's reads, adding its entries to `out` (a
    /// signal: its own reading; a device: those of its children of kind
    /// normal). Requests are sent here, not when `out` is awaited: that is
    /// how a device tree's reads travel together (see [`Gather`]).
    fn read_into<'a>(&'a self, out: &mut Gather<'a, Reading>);

    /// Add the data keys matching [`Component::read_into`].
    fn describe_into<'a>(&'a self, out: &mut Gather<'a, DataKey>);

    /// Issue this component's configuration reads (a signal: its own
    /// reading; a device: those of its children of kind config).
    fn read_configuration_into<'a>(&'a self, out: &mut Gather<'a, Reading>);

    /// Add the data keys matching [`Component::read_configuration_into`].
    fn describe_configuration_into<'a>(&'a self, out: &mut Gather<'a, DataKey>);

    /// Queue the connections this component needs (none for soft signals).
    /// Request each connection here rather than when its future is first
    /// polled: `Device::connect` calls this for the whole tree at once, so
    /// that the tree's requests leave together (see
    /// [`issue_together`](crate::implement::issue_together)).
    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>);
}

/// A component that may be declared without a `suffix`: soft signals and
/// devices (a sub-device without a suffix shares its parent's prefix).
/// Signals that read a PV do not implement it, so forgetting their suffix
/// is a compile error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` needs a `suffix`: it reads a PV named after it",
    label = "this component has no `suffix`",
    note = "add the PV suffix, e.g. `#[component(suffix = \":gain\")]`; its PV is the device's prefix followed by the suffix"
)]
pub trait SuffixOptional {}

/// The object-safe part of every component.
pub trait DynComponent: Send + Sync + 'static {
    /// The component's name (a signal's data key).
    fn name(&self) -> &str;

    /// The component's kind.
    fn kind(&self) -> Kind;

    /// Change the component's kind at run time.
    fn set_kind(&self, kind: Kind);

    /// The device this component belongs to.
    fn parent(&self) -> Option<&Arc<DeviceMeta>>;

    /// The field name in its parent.
    fn attr_name(&self) -> Option<&'static str>;

    /// Append the data keys this component puts in its parent's `hints`.
    fn hints_into(&self, out: &mut Vec<String>);

    /// The component's Rust type (`"ophyd_epics::EpicsSignal<f64>"`), for
    /// overviews such as [`Device::summary`](crate::Device::summary).
    fn type_name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

    /// This component as a signal, if it is one.
    fn as_signal(&self) -> Option<&dyn DynSignal> {
        None
    }

    /// This component as a device, if it is one.
    fn as_device(&self) -> Option<&dyn DynDevice> {
        None
    }
}

/// The object-safe view of a signal, used for `stage_sigs` and lookups by
/// dotted path, where the value type is only known at run time.
pub trait DynSignal: DynComponent {
    /// Where the value lives (`"PV:det:gain"`, `"SIM:det_gain"`).
    fn source(&self) -> &str;

    /// The Rust type the signal holds (`"f64"`), for error messages.
    fn value_type(&self) -> &'static str;

    /// Whether the signal can be written.
    fn writable(&self) -> bool;

    /// Read the current value.
    fn get_value(&self) -> BoxFuture<'_, Result<Value>>;

    /// Check that `value` fits this signal, without writing it: its type,
    /// and, for a connected writable signal, that its transport would send
    /// it ([`Writable::check_put`](crate::Writable::check_put)).
    fn check_value(&self, value: &Value) -> Result<()>;

    /// Write `value` and wait until it reads back (see [`crate::set_and_wait`]).
    fn set_and_wait_value(&self, value: Value, timeout: Duration) -> BoxFuture<'_, Result<()>>;

    /// The signal's own reading, whatever its kind (ophyd's `Signal.read()`):
    /// `{"<name>": {"value": .., "timestamp": ..}}`.
    fn read_signal(&self) -> BoxFuture<'_, Result<DataMap<Reading>>>;

    /// The data key of [`DynSignal::read_signal`] (ophyd's `Signal.describe()`).
    fn describe_signal(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>>;

    /// Call `callback(value, timestamp)` on every change of value, starting
    /// with the current one, until the [`Subscription`] is dropped.
    fn subscribe_value(&self, callback: Box<dyn Fn(Value, f64) + Send + Sync>) -> Result<Subscription>;
}

/// The object-safe view of a device: its children by name, and its
/// behaviour (stage, trigger, stop...) for code that handles many kinds of
/// device at once. `#[derive(Device)]` implements it.
pub trait DynDevice: DynComponent {
    /// The device's meta: name, prefix, staging state.
    fn meta(&self) -> &Arc<DeviceMeta>;

    /// The components, in declaration order.
    fn components(&self) -> Vec<(&'static str, &dyn DynComponent)>;

    /// The component with field name `attr`.
    fn component(&self, attr: &str) -> Option<&dyn DynComponent>;

    /// [`Device::read`](crate::Device::read), boxed.
    fn read_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>>;

    /// [`Device::describe`](crate::Device::describe), boxed.
    fn describe_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>>;

    /// [`Device::read_configuration`](crate::Device::read_configuration), boxed.
    fn read_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<Reading>>>;

    /// [`Device::describe_configuration`](crate::Device::describe_configuration), boxed.
    fn describe_configuration_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>>;

    /// [`Stage::stage`](crate::Stage::stage), boxed.
    fn stage_dyn(&self) -> BoxFuture<'_, Result<()>>;

    /// [`Stage::unstage`](crate::Stage::unstage), boxed.
    fn unstage_dyn(&self) -> BoxFuture<'_, Result<()>>;

    /// [`Trigger::trigger`](crate::Trigger::trigger).
    fn trigger_dyn(&self) -> Status;

    /// [`Stop::stop`](crate::Stop::stop), boxed.
    fn stop_dyn(&self, success: bool) -> BoxFuture<'_, Result<()>>;

    /// [`WritesStreamAssets::describe_streams`](crate::WritesStreamAssets::describe_streams),
    /// boxed: no external data unless the device writes some.
    fn describe_streams_dyn(&self) -> BoxFuture<'_, Result<DataMap<DataKey>>> {
        Box::pin(std::future::ready(Ok(DataMap::new())))
    }

    /// [`WritesStreamAssets::collect_asset_docs`](crate::WritesStreamAssets::collect_asset_docs),
    /// boxed.
    fn collect_asset_docs_dyn(&self) -> BoxFuture<'_, Result<Vec<StreamAsset>>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// This device as a [`Positioner`](crate::Positioner), if it is one,
    /// for code that finds it among a parent's components (bluesky scans
    /// `stage.x`, a motor inside a stage). `#[derive(Device)]` says so
    /// with `#[device(positioner)]`.
    fn as_positioner(&self) -> Option<&dyn crate::Positioner> {
        None
    }

    /// [`Stop::pause`](crate::Stop::pause), boxed.
    fn pause_dyn(&self) -> BoxFuture<'_, Result<()>>;

    /// [`Stop::resume`](crate::Stop::resume), boxed.
    fn resume_dyn(&self) -> BoxFuture<'_, Result<()>>;
}

/// The component at dotted `path` (`"cam.acquire_time"`) below `device`;
/// the error names the device where the path stopped and its components.
pub(crate) fn lookup<'a>(device: &'a dyn DynDevice, path: &str) -> Result<&'a dyn DynComponent> {
    let mut current = device;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let unknown = || Error::UnknownComponent {
            device: current.name().to_owned(),
            path: path.to_owned(),
            known: current.components().iter().map(|(a, _)| a.to_string()).collect(),
        };
        let c = current.component(part).ok_or_else(unknown)?;
        if parts.peek().is_none() {
            return Ok(c);
        }
        current = c.as_device().ok_or_else(unknown)?;
    }
    unreachable!("split always yields at least one part")
}

//! [`Device`]: a tree of components with ophyd's read/describe/configuration
//! semantics, and the behaviour traits [`Stage`], [`Trigger`] and [`Stop`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::component::{lookup, Component, DynComponent, DynDevice};
use crate::configure::Configured;
use crate::connect::{connect_all, Backend, ConnectCtx};
use crate::data::{DataKey, DataMap, Hints, Reading};
use crate::error::{Error, Result};
use crate::gather::Gather;
use crate::kind::Kind;
use crate::meta::DeviceMeta;
use crate::staging::{self, StageSigs};
use crate::status::Status;
use crate::summary::Summary;
use crate::value::Value;

/// How long [`Device::connect`] waits by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A device: what `#[derive(Device)]` gives a struct.
///
/// Everything here is provided from the few methods the derive writes;
/// users call these, not the `*_into` methods of [`Component`].
pub trait Device: Component + DynDevice {
    /// The field names of the components, in declaration order (ophyd's
    /// `component_names`).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.component_names(), ["reading", "gain"]);
    /// # Ok(()) }
    /// ```
    fn component_names(&self) -> &'static [&'static str];

    /// The device's prefix.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.prefix(), "XF:det");
    /// # Ok(()) }
    /// ```
    fn prefix(&self) -> &str {
        self.meta().prefix()
    }

    /// Readings of every component of kind normal (or hinted), recursively:
    /// `{"<device>_<field>": {"value": .., "timestamp": ..}}`.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// det.reading.put(1.5).await?;
    /// let reading = det.read().await?;
    /// assert_eq!(reading.keys().collect::<Vec<_>>(), ["det_reading"]);
    /// assert_eq!(reading.get("det_reading").unwrap().value, 1.5.into());
    /// # Ok(()) }
    /// ```
    fn read(&self) -> impl Future<Output = Result<DataMap<Reading>>> + Send {
        async move { Gather::collect(self.component_names().len(), |out| self.read_into(out)).await }
    }

    /// Data keys for [`Device::read`].
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// let description = det.describe().await?;
    /// assert_eq!(&*description.get("det_reading").unwrap().source, "SIM:det_reading");
    /// # Ok(()) }
    /// ```
    fn describe(&self) -> impl Future<Output = Result<DataMap<DataKey>>> + Send {
        async move { Gather::collect(self.component_names().len(), |out| self.describe_into(out)).await }
    }

    /// Readings of every component of kind config, recursively.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// let configuration = det.read_configuration().await?;
    /// assert_eq!(configuration.keys().collect::<Vec<_>>(), ["det_gain"]);
    /// # Ok(()) }
    /// ```
    fn read_configuration(&self) -> impl Future<Output = Result<DataMap<Reading>>> + Send {
        async move { Gather::collect(self.component_names().len(), |out| self.read_configuration_into(out)).await }
    }

    /// Data keys for [`Device::read_configuration`].
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// let keys = det.describe_configuration().await?;
    /// assert!(keys.contains_key("det_gain"));
    /// # Ok(()) }
    /// ```
    fn describe_configuration(&self) -> impl Future<Output = Result<DataMap<DataKey>>> + Send {
        async move { Gather::collect(self.component_names().len(), |out| self.describe_configuration_into(out)).await }
    }

    /// `{"fields": [...]}`: the data keys of hinted components, recursively.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.hints().fields, ["det_reading"]);
    /// # Ok(()) }
    /// ```
    fn hints(&self) -> Hints {
        hints_of(self)
    }

    /// Dotted names of the components `read()` covers (ophyd's `read_attrs`).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.read_attrs(), ["reading"]);
    /// # Ok(()) }
    /// ```
    fn read_attrs(&self) -> Vec<String> {
        read_attrs_of(self)
    }

    /// Dotted names of the components `read_configuration()` covers.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.configuration_attrs(), ["gain"]);
    /// # Ok(()) }
    /// ```
    fn configuration_attrs(&self) -> Vec<String> {
        configuration_attrs_of(self)
    }

    /// The component at a dotted path (`"cam.acquire_time"`).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// assert_eq!(det.lookup("gain")?.name(), "det_gain");
    /// assert!(det.lookup("gian").is_err()); // the error lists the components
    /// # Ok(()) }
    /// ```
    fn lookup(&self, path: &str) -> Result<&dyn DynComponent> {
        lookup(self, path)
    }

    /// The device's `stage_sigs`: what `stage()` sets, in order.
    fn stage_sigs(&self) -> StageSigs<'_> {
        StageSigs::new(self)
    }

    /// Connect every signal in the tree, concurrently, through `backend` (a
    /// PV transport; soft signals need none), waiting at most
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// // Over EPICS: `det.connect(&ioc.transport()).await?` (see ophyd-epics).
    /// // Soft signals need no backend; any `Backend` will do:
    /// struct Nothing;
    /// impl ophyd_core::Backend for Nothing {}
    /// det.connect(&Nothing).await?;
    /// # Ok(()) }
    /// ```
    fn connect<'a, B: Backend>(&'a self, backend: &'a B) -> impl Future<Output = Result<()>> + Send + 'a {
        self.connect_timeout(backend, DEFAULT_CONNECT_TIMEOUT)
    }

    /// [`Device::connect`] with a timeout. On timeout the error lists every
    /// PV that did not connect.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// # struct Nothing;
    /// # impl ophyd_core::Backend for Nothing {}
    /// det.connect_timeout(&Nothing, std::time::Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    fn connect_timeout<'a, B: Backend>(
        &'a self,
        backend: &'a B,
        timeout: Duration,
    ) -> impl Future<Output = Result<()>> + Send + 'a {
        let ctx = ConnectCtx::new(backend);
        let mut pending = Vec::new();
        // The tree's connection requests go out together, as its reads do.
        crate::gather::issue_together(|| self.collect_connects(&ctx, &mut pending));
        connect_all(self.meta().name().to_owned(), pending, timeout)
    }

    /// The device's labels (ophyd's `labels`): names to find it by.
    /// ```
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Motor {
    /// #     #[component(kind = "hinted")]
    /// #     position: SoftSignal<f64>,
    /// # }
    /// let m1 = Motor::new("XF:m1", "m1").with_labels(["motors"]);
    /// assert_eq!(m1.labels(), ["motors"]);
    /// ```
    fn labels(&self) -> Vec<String> {
        self.meta().labels()
    }

    /// This device, labelled (ophyd's `labels={"motors"}` argument).
    fn with_labels<L: Into<String>>(self, labels: impl IntoIterator<Item = L>) -> Self {
        self.meta().add_labels(labels);
        self
    }

    /// Write configuration values, each to the component at its dotted
    /// path, and return the configuration before and after: ophyd's
    /// `configure(d)` → `(old, new)`. Each write waits until the value
    /// reads back ([`set_and_wait`](crate::set_and_wait)).
    ///
    /// Better than ophyd in two ways: every path and value is checked
    /// before anything is written (a path that is not a configuration
    /// attribute is [`Error::NotConfiguration`], a value of the wrong type
    /// [`Error::ValueType`]), and a write that fails puts back what was
    /// already written ([`Error::Configure`]).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// let det = Det::new("XF:det", "det");
    /// let configured = det.configure(&[("gain", 2.0.into())]).await?;
    /// assert_eq!(configured.old.get("det_gain").unwrap().value, 0.0.into());
    /// assert_eq!(configured.new.get("det_gain").unwrap().value, 2.0.into());
    /// assert_eq!(det.configure(&[("reading", 1.0.into())]).await.unwrap_err().name(), "ValueError");
    /// # Ok(()) }
    /// ```
    fn configure(&self, values: &[(&str, Value)]) -> impl Future<Output = Result<Configured>> + Send {
        crate::configure::configure_dyn(self, values)
    }

    /// A text overview of the device (ophyd's `summary()`): data keys with
    /// the hinted ones marked, read and configuration attributes, unused
    /// attributes, each with its type, name, source and current value.
    /// Print it.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// let det = Det::new("XF:det", "det");
    /// let summary = det.summary().await;
    /// println!("{summary}");
    /// assert!(summary.to_string().contains("*det_reading"));
    /// # Ok(()) }
    /// ```
    fn summary(&self) -> impl Future<Output = Summary> + Send {
        crate::summary::summary_dyn(self)
    }

    /// The default `stage()`, for a hand-written [`Stage::stage`] to call
    /// (ophyd's `super().stage()`).
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// // In a hand-written `impl Stage` (`#[device(custom(stage))]`):
    /// // async fn stage(&self) -> Result<()> { /* before */ self.stage_default().await }
    /// det.stage_default().await?;
    /// det.unstage_default().await?;
    /// # Ok(()) }
    /// ```
    fn stage_default(&self) -> impl Future<Output = Result<()>> + Send {
        staging::stage_default(self)
    }

    /// The default `unstage()`, for a hand-written [`Stage::unstage`] to call.
    fn unstage_default(&self) -> impl Future<Output = Result<()>> + Send {
        staging::unstage_default(self)
    }
}

enum AttrList {
    Read,
    Configuration,
}

/// [`Device::hints`] of a component known only as [`DynComponent`] (a
/// device's: its hinted components'; a signal's: its own data key if it is
/// hinted), as bindings to other languages hold them.
pub fn hints_of(component: &dyn DynComponent) -> Hints {
    let mut fields = Vec::new();
    component.hints_into(&mut fields);
    Hints { fields }
}

/// [`Device::read_attrs`] of a device known only as [`DynDevice`].
pub fn read_attrs_of(device: &dyn DynDevice) -> Vec<String> {
    attrs_of_kind(device, Kind::Normal, AttrList::Read)
}

/// [`Device::configuration_attrs`] of a device known only as [`DynDevice`].
pub fn configuration_attrs_of(device: &dyn DynDevice) -> Vec<String> {
    attrs_of_kind(device, Kind::Config, AttrList::Configuration)
}

fn attrs_of_kind(device: &dyn DynDevice, kind: Kind, list: AttrList) -> Vec<String> {
    let mut out = Vec::new();
    for (attr, c) in device.components() {
        if !c.kind().intersects(kind) {
            continue;
        }
        out.push(attr.to_owned());
        if let Some(sub) = c.as_device() {
            let nested = match list {
                AttrList::Read => attrs_of_kind(sub, Kind::Normal, AttrList::Read),
                AttrList::Configuration => attrs_of_kind(sub, Kind::Config, AttrList::Configuration),
            };
            out.extend(nested.into_iter().map(|n| format!("{attr}.{n}")));
        }
    }
    out
}

/// The hints of a device: for every child of kind normal, the child's hints.
#[doc(hidden)]
pub fn device_hints_into(device: &dyn DynDevice, out: &mut Vec<String>) {
    for (_, c) in device.components() {
        if c.kind().intersects(Kind::Normal) {
            c.hints_into(out);
        }
    }
}

/// Staging: what a device does before and after a run.
///
/// The defaults apply and restore the device's `stage_sigs` and stage its
/// sub-devices. `#[derive(Device)]` implements this with the defaults unless
/// the struct says `#[device(custom(stage))]`; a hand-written `stage` calls
/// [`Device::stage_default`] where Python would call `super().stage()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Stage`",
    label = "staging is declared custom here",
    note = "`#[device(custom(stage))]` says you write `impl ophyd_core::Stage for {Self} {{ .. }}`; \
            write it, or remove `stage` from `custom(..)` to get ophyd's default staging"
)]
pub trait Stage: Device {
    /// Prepare for a run: remember and apply `stage_sigs`, then stage
    /// sub-devices. Staging twice is [`Error::RedundantStaging`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// #[derive(Device)]
    /// struct Det {
    ///     #[component(kind = "omitted", stage = 1)] // stage_sigs['enabled'] = 1
    ///     enabled: SoftSignal<i32>,
    /// }
    /// let det = Det::new("", "det");
    /// det.stage().await?;
    /// assert_eq!(det.enabled.get().await?, 1);
    /// assert_eq!(det.stage().await.unwrap_err().name(), "RedundantStaging");
    /// det.unstage().await?;
    /// assert_eq!(det.enabled.get().await?, 0);
    /// # Ok(()) }
    /// ```
    fn stage(&self) -> impl Future<Output = Result<()>> + Send {
        self.stage_default()
    }

    /// Put back everything `stage` changed, sub-devices first. Does nothing
    /// if the device is not staged.
    fn unstage(&self) -> impl Future<Output = Result<()>> + Send {
        self.unstage_default()
    }
}

/// Triggering: start an acquisition and say when it is done.
///
/// The default is done at once (ophyd's default for devices with nothing to
/// trigger). `#[device(custom(trigger))]` hands it to you.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Trigger`",
    label = "triggering is declared custom here",
    note = "`#[device(custom(trigger))]` says you write `impl ophyd_core::Trigger for {Self} {{ .. }}`; \
            write it, or remove `trigger` from `custom(..)` to get ophyd's default (done at once)"
)]
pub trait Trigger: Device {
    /// Start an acquisition; the [`Status`] finishes when it is done.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// use ophyd_core::prelude::*;
    /// #[derive(Device)]
    /// #[device(custom(trigger))]
    /// struct Det {
    ///     #[component(kind = "omitted")]
    ///     acquire: SoftSignal<i32>,
    /// }
    /// impl Trigger for Det {
    ///     fn trigger(&self) -> Status {
    ///         self.acquire.set(1) // done when the write is
    ///     }
    /// }
    /// let det = Det::new("", "det");
    /// let status = det.trigger();
    /// status.wait(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(det.acquire.get().await?, 1);
    /// # Ok(()) }
    /// ```
    fn trigger(&self) -> Status {
        Status::finished(format!("trigger of {}", self.meta().name()))
    }
}

/// What the run machinery calls when a run stops, pauses or resumes.
///
/// The default `stop` stops the sub-devices; `pause` and `resume` do
/// nothing. `#[device(custom(stop))]` hands them to you.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `impl Stop`",
    label = "stop/pause/resume are declared custom here",
    note = "`#[device(custom(stop))]` says you write `impl ophyd_core::Stop for {Self} {{ .. }}`; \
            write it, or remove `stop` from `custom(..)` to get ophyd's defaults"
)]
pub trait Stop: Device {
    /// Stop whatever the device is doing; `success` says whether the run
    /// ended well.
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
    /// # use ophyd_core::prelude::*;
    /// # #[derive(Device)]
    /// # struct Det {
    /// #     #[component(kind = "hinted")]
    /// #     reading: SoftSignal<f64>,
    /// #     #[component(kind = "config")]
    /// #     gain: SoftSignal<f64>,
    /// # }
    /// # let det = Det::new("XF:det", "det");
    /// det.stop(true).await?; // stops the sub-devices (none here)
    /// # Ok(()) }
    /// ```
    fn stop(&self, success: bool) -> impl Future<Output = Result<()>> + Send {
        stop_sub_devices(self, success)
    }

    /// The run was paused.
    fn pause(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// The run resumed after a pause.
    fn resume(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// A device that can be moved to a position: a motor, a temperature
/// controller, any positioner a scan steps through (ophyd's `set` protocol).
///
/// A move has two moments, so two awaits: `move_to(target).await?` is the
/// move accepted (what the positioner checks first, a motor its limits,
/// passed, and the motion started; a refusal is an `Err` and nothing
/// moved, as ophyd's `LimitError` is raised before a Status exists); the
/// [`Status`] it gives finishes on arrival.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use futures::future::{BoxFuture, FutureExt};
/// use ophyd_core::prelude::*;
///
/// #[derive(Device)]
/// struct Stage {
///     #[component(kind = "hinted")]
///     position: SoftSignal<f64>,
/// }
///
/// impl Movable for Stage {
///     fn move_to(&self, target: f64) -> BoxFuture<'_, ophyd_core::Result<Status>> {
///         async move { Ok(self.position.set(target)) }.boxed()
///     }
/// }
///
/// let stage = Stage::new("", "stage");
/// stage.move_to(2.5).await?.await?; // accepted, then arrived
/// assert_eq!(stage.position.get().await?, 2.5);
/// # Ok(()) }
/// ```
pub trait Movable: DynDevice {
    /// Check that the device can move to `target` and start the motion:
    /// `Err` when refused before anything moved, otherwise the motion's
    /// [`Status`], which finishes on arrival.
    fn move_to(&self, target: f64) -> BoxFuture<'_, Result<Status>>;
}

/// Stop every sub-device, attempting all and reporting every failure.
pub async fn stop_sub_devices(device: &dyn DynDevice, success: bool) -> Result<()> {
    let mut errors = Vec::new();
    for (_, c) in device.components() {
        if let Some(sub) = c.as_device() {
            if let Err(e) = sub.stop_dyn(success).await {
                errors.push(e);
            }
        }
    }
    Error::bundle(errors)
}

/// Get the meta of the device that owns `first` (the derive's way for a
/// device to reach its own meta, which its children share).
#[doc(hidden)]
pub fn meta_via(first: &dyn DynComponent) -> &Arc<DeviceMeta> {
    first.parent().expect("components built by #[derive(Device)] always have a parent")
}

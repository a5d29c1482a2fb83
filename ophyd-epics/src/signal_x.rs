//! [`EpicsSignalX`]: a PV that is only ever written, to make something
//! happen (a Start button, a scaler's `.CNT`, a record's `.PROC`):
//! ophyd-async's `SignalX`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ophyd_core::__private::lock;
use ophyd_core::implement::{ComponentSpec, ConnectCtx, Gather, PendingConnect, PutComplete};
use ophyd_core::{Component, DataKey, DeviceMeta, DynComponent, Error, Kind, Reading, Result, Status, Value};

use crate::signal::{EpicsSignal, PvSignal, SignalPvs};
use crate::transport::Transport;
use crate::value::EpicsValue;

/// A trigger-only EPICS signal: [`trigger`](EpicsSignalX::trigger) writes
/// its trigger value (1 unless set otherwise) and gives the write's
/// [`Status`]. It is never read: it adds nothing to its device's `read()`,
/// `describe()`, configuration or hints, as ophyd-async's `SignalX`. It
/// connects, and writes with or without put-complete, as an
/// [`EpicsSignal<T>`] on the same PV does; `T` is the PV's value type
/// (`Enum` for a busy or bo record, `i32` for a long, `u8` for `.PROC`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
/// use std::time::Duration;
/// use ophyd_core::prelude::*;
/// use ophyd_epics::sim::{Delay, PvSpec, SimIoc};
/// use ophyd_epics::{EpicsSignalRO, EpicsSignalX};
///
/// #[derive(Device)]
/// #[device(custom(trigger))]
/// struct Counter {
///     /// Done when the IOC has counted (put-complete).
///     #[component(suffix = ":Start", put_complete)]
///     start: EpicsSignalX<Enum>,
///     #[component(suffix = ":Counts", kind = "hinted")]
///     counts: EpicsSignalRO<i32>,
/// }
///
/// impl Trigger for Counter {
///     fn trigger(&self) -> Status {
///         self.start.trigger()
///     }
/// }
///
/// let ioc = SimIoc::new();
/// ioc.add(PvSpec::long("ctr:Counts", 0).read_only())
///     .add(PvSpec::enumeration("ctr:Start", &["Done", "Start"], 0).busy(Duration::from_millis(10), |ioc| {
///         ioc.write("ctr:Counts", 42)
///     }));
/// let counter = Counter::new("ctr", "counter");
/// counter.connect(&ioc.transport()).await?;
/// counter.trigger().await?;
/// let reading = counter.read().await?; // `start` is not read
/// assert_eq!(reading.keys().collect::<Vec<_>>(), ["counter_counts"]);
/// assert_eq!(reading.get("counter_counts").unwrap().value, 42.into());
/// # Ok(()) }
/// ```
pub struct EpicsSignalX<T> {
    /// The PV, written through: connecting, put-complete, completion
    /// timeouts and the errors that name the PV are its.
    inner: EpicsSignal<T>,
    /// What `trigger` writes; `None` when 1 is not a value of `T` and none
    /// was set.
    trigger_value: Mutex<Option<T>>,
}

impl<T: EpicsValue> EpicsSignalX<T> {
    fn around(inner: EpicsSignal<T>) -> Self {
        // ophyd's `trigger_value=1`, the usual Start.
        EpicsSignalX { inner, trigger_value: Mutex::new(T::from_value(&Value::Int(1))) }
    }

    /// A standalone trigger-only signal on `pv`, named `name`.
    pub fn new(pv: &str, name: &str) -> Self {
        Self::around(EpicsSignal::new(pv, name))
    }

    /// Make triggers wait for the IOC's completion (EPICS put-callback).
    pub fn with_put_complete(self, put_complete: bool) -> Self {
        let trigger_value = self.trigger_value;
        EpicsSignalX { inner: self.inner.with_put_complete(put_complete), trigger_value }
    }

    /// Write `value` on each trigger instead of 1.
    pub fn with_trigger_value(self, value: impl Into<T>) -> Self {
        self.set_trigger_value(value);
        self
    }

    /// Write `value` on each trigger from now on.
    ///
    /// ```
    /// use ophyd_epics::EpicsSignalX;
    /// let start = EpicsSignalX::<String>::new("det:Command", "command");
    /// assert_eq!(start.trigger_value(), None); // 1 is not a string
    /// start.set_trigger_value("START");
    /// assert_eq!(start.trigger_value().as_deref(), Some("START"));
    /// ```
    pub fn set_trigger_value(&self, value: impl Into<T>) {
        *lock(&self.trigger_value) = Some(value.into());
    }

    /// What a trigger writes.
    pub fn trigger_value(&self) -> Option<T> {
        lock(&self.trigger_value).clone()
    }

    /// Write the trigger value. The [`Status`] finishes when the write
    /// does: for a `put_complete` signal, when the IOC completes it (or
    /// its completion timeout passes); it fails with the IOC's reason when
    /// the IOC refuses the write.
    pub fn trigger(&self) -> Status {
        match self.trigger_value() {
            Some(value) => ophyd_core::Writable::set(&self.inner, value),
            None => self.no_trigger_value(),
        }
    }

    /// [`trigger`](Self::trigger) with a completion timeout for this
    /// trigger alone (`None`: wait forever).
    pub fn trigger_with_timeout(&self, timeout: Option<Duration>) -> Status {
        match self.trigger_value() {
            Some(value) => self.inner.set_with_timeout(value, timeout),
            None => self.no_trigger_value(),
        }
    }

    fn no_trigger_value(&self) -> Status {
        let name = self.inner.name();
        Status::failed(
            format!("trigger of `{name}`"),
            Error::NotSent {
                signal: name.to_owned(),
                pv: self.inner.write_pv().to_owned(),
                value: "nothing".into(),
                reason: format!(
                    "1 is not a {} value, and no trigger value was set: call set_trigger_value",
                    <T as ophyd_core::SignalValue>::TYPE_NAME
                ),
            },
        )
    }

    /// The PV written.
    pub fn write_pv(&self) -> &str {
        self.inner.write_pv()
    }

    /// Whether triggers wait for the IOC's completion.
    pub fn put_complete(&self) -> bool {
        self.inner.put_complete()
    }

    /// How long a put-complete trigger may take before its Status fails
    /// (see [`EpicsSignal::completion_timeout`]).
    pub fn completion_timeout(&self) -> Option<Duration> {
        self.inner.completion_timeout()
    }

    /// Change how long put-complete triggers may take (`None`: forever).
    pub fn set_completion_timeout(&self, timeout: Option<Duration>) {
        self.inner.set_completion_timeout(timeout)
    }

    /// Whether the PV is connected.
    pub fn connected(&self) -> bool {
        self.inner.connected()
    }

    /// Connect this signal alone (devices connect all their signals at
    /// once with `Device::connect`).
    pub async fn connect(&self, transport: &Transport) -> Result<()> {
        self.inner.connect(transport).await
    }
}

impl<T: EpicsValue> Component for EpicsSignalX<T> {
    fn build(spec: &ComponentSpec<'_>) -> Self {
        // Never read, so never of a kind that is.
        Self::around(EpicsSignal::build(&ComponentSpec { kind: Kind::Omitted, ..*spec }))
    }

    fn read_into<'a>(&'a self, _: &mut Gather<'a, Reading>) {}

    fn describe_into<'a>(&'a self, _: &mut Gather<'a, DataKey>) {}

    fn read_configuration_into<'a>(&'a self, _: &mut Gather<'a, Reading>) {}

    fn describe_configuration_into<'a>(&'a self, _: &mut Gather<'a, DataKey>) {}

    fn collect_connects<'a>(&'a self, ctx: &ConnectCtx<'a>, out: &mut Vec<PendingConnect<'a>>) {
        self.inner.collect_connects(ctx, out)
    }
}

impl<T: EpicsValue> DynComponent for EpicsSignalX<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// Always [`Kind::Omitted`]: it is never read.
    fn kind(&self) -> Kind {
        Kind::Omitted
    }

    /// Does nothing: a trigger-only signal is never read, so its kind
    /// stays omitted.
    fn set_kind(&self, _: Kind) {}

    fn parent(&self) -> Option<&Arc<DeviceMeta>> {
        self.inner.parent()
    }

    fn attr_name(&self) -> Option<&'static str> {
        self.inner.attr_name()
    }

    fn hints_into(&self, _: &mut Vec<String>) {}
}

impl<T: EpicsValue> PutComplete for EpicsSignalX<T> {}

/// The mock IOC's helpers take a trigger-only signal too: the puts it
/// received, a callback on each, puts held until released.
impl<T: EpicsValue> PvSignal for EpicsSignalX<T> {
    type Value = T;

    fn pvs(&self) -> SignalPvs<'_> {
        self.inner.pvs()
    }
}

#[cfg(test)]
mod tests {
    use ophyd_core::Device;

    use super::*;
    use crate::sim::{PutAction, PvSpec, SimIoc};

    #[derive(ophyd_core::Device)]
    struct Shutter {
        #[component(suffix = ":Open", kind = "hinted", put_complete)]
        open: EpicsSignalX<i32>,
        #[component(suffix = ":State", kind = "hinted")]
        state: crate::EpicsSignalRO<i32>,
    }

    fn ioc() -> SimIoc {
        let ioc = SimIoc::new();
        ioc.add(PvSpec::long("sh:Open", 0).on_put(|ioc, value| {
            ioc.write("sh:State", value.clone());
            PutAction::accept(value)
        }))
        .add(PvSpec::long("sh:State", 0).read_only());
        ioc
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_trigger_only_signal_is_never_read_whatever_kind_it_was_declared() {
        let ioc = ioc();
        let shutter = Shutter::new("sh", "shutter");
        shutter.connect(&ioc.transport()).await.unwrap();
        assert_eq!(shutter.open.kind(), Kind::Omitted);
        assert_eq!(shutter.read().await.unwrap().keys().collect::<Vec<_>>(), ["shutter_state"]);
        assert_eq!(shutter.describe().await.unwrap().keys().collect::<Vec<_>>(), ["shutter_state"]);
        assert!(shutter.read_configuration().await.unwrap().is_empty());
        assert_eq!(shutter.hints().fields, ["shutter_state"]);
        assert_eq!(shutter.read_attrs(), ["state"]);
        assert_eq!(shutter.lookup("open").unwrap().name(), "shutter_open");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_trigger_writes_its_trigger_value_with_the_declared_put_complete() {
        let ioc = ioc();
        let shutter = Shutter::new("sh", "shutter");
        shutter.connect(&ioc.transport()).await.unwrap();
        assert!(shutter.open.put_complete());
        shutter.open.trigger().await.unwrap();
        assert_eq!(ioc.get("sh:State"), Some(Value::Int(1)));
        shutter.open.set_trigger_value(7);
        shutter.open.trigger().await.unwrap();
        assert_eq!(ioc.get("sh:State"), Some(Value::Int(7)));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_trigger_without_a_value_fails_saying_how_to_give_one() {
        let start = EpicsSignalX::<String>::new("det:Command", "command");
        let err = start.trigger().await.unwrap_err().to_string();
        assert!(err.contains("`command` (det:Command)") && err.contains("set_trigger_value"), "{err}");
    }
}

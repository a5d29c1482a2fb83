//! Names and places in the device tree: [`DeviceMeta`] for devices,
//! [`SignalMeta`] for signals, and the [`ComponentSpec`] a parent hands to
//! each child it builds.

use std::sync::{Arc, Mutex};

use crate::kind::{AtomicKind, Kind};
use crate::policy::StepTimeouts;
use crate::state::StagingState;
use crate::sync::AtomicChoice;
use crate::value::Value;

/// What a device knows about itself: name, prefix, kind, parent, and its
/// staging state. Shared (`Arc`) with its direct children, which is how a
/// child knows its parent (ophyd's `signal.parent`).
#[derive(Debug)]
pub struct DeviceMeta {
    name: Arc<str>,
    prefix: String,
    attr: Option<&'static str>,
    kind: AtomicKind,
    parent: Option<Arc<DeviceMeta>>,
    pub(crate) stage_sigs: Mutex<Vec<(String, Value)>>,
    pub(crate) staging: tokio::sync::Mutex<StagingState>,
    /// How many default stages of this device have started: how a parent
    /// tells that someone else staged its sub-device since it did.
    pub(crate) stages_started: std::sync::atomic::AtomicU64,
    step_timeouts: Mutex<Option<StepTimeouts>>,
    /// Whether its signals' reads come from monitors (see
    /// [`DeviceMeta::set_auto_monitor`]); open: as the parent says.
    auto_monitor: AtomicChoice,
    /// ophyd's `labels`: names to find the device by (`"motors"`).
    labels: Mutex<Vec<String>>,
}

impl DeviceMeta {
    /// The meta of a top-level device.
    pub fn root(prefix: &str, name: &str) -> Arc<DeviceMeta> {
        Arc::new(DeviceMeta {
            name: name.into(),
            prefix: prefix.to_owned(),
            attr: None,
            kind: AtomicKind::new(Kind::Normal.for_device()),
            parent: None,
            stage_sigs: Mutex::new(Vec::new()),
            staging: Default::default(),
            stages_started: Default::default(),
            step_timeouts: Mutex::new(None),
            auto_monitor: AtomicChoice::default(),
            labels: Mutex::new(Vec::new()),
        })
    }

    /// The meta of a device built as a component of another.
    pub fn child(spec: &ComponentSpec<'_>) -> Arc<DeviceMeta> {
        Arc::new(DeviceMeta {
            name: spec.name().into(),
            prefix: spec.pv_name(),
            attr: Some(spec.attr),
            kind: AtomicKind::new(spec.kind.for_device()),
            parent: Some(spec.parent.clone()),
            stage_sigs: Mutex::new(Vec::new()),
            staging: Default::default(),
            stages_started: Default::default(),
            step_timeouts: Mutex::new(None),
            auto_monitor: AtomicChoice::default(),
            labels: Mutex::new(Vec::new()),
        })
    }

    /// The device's name, the stem of its children's data keys.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PV prefix its components' suffixes are appended to.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The field name in its parent, if it has one.
    pub fn attr_name(&self) -> Option<&'static str> {
        self.attr
    }

    /// The device's kind in its parent.
    pub fn kind(&self) -> Kind {
        self.kind.get()
    }

    /// Change the device's kind (`Normal` implies `Config`, as in ophyd).
    pub fn set_kind(&self, kind: Kind) {
        self.kind.set(kind.for_device())
    }

    /// The parent device, if any.
    pub fn parent(&self) -> Option<&Arc<DeviceMeta>> {
        self.parent.as_ref()
    }

    /// How long this device's stage, unstage and stop may take in a run or
    /// a staged scope, when set; otherwise the run's or scope's own
    /// [`CleanupPolicy`](crate::CleanupPolicy) decides.
    pub fn step_timeouts(&self) -> Option<StepTimeouts> {
        *crate::sync::lock(&self.step_timeouts)
    }

    /// Set (or, with `None`, clear) this device's own step timeouts: for
    /// hardware whose stage or stop is known to take long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ophyd_core::{DeviceMeta, StepTimeouts};
    /// let meta = DeviceMeta::root("XF:det", "det");
    /// meta.set_step_timeouts(Some(StepTimeouts { stage: Duration::from_secs(300), ..StepTimeouts::default() }));
    /// assert_eq!(meta.step_timeouts().unwrap().stage, Duration::from_secs(300));
    /// ```
    pub fn set_step_timeouts(&self, timeouts: Option<StepTimeouts>) {
        *crate::sync::lock(&self.step_timeouts) = timeouts;
    }

    /// Whether the signals of this device (and of its sub-devices, unless
    /// they say otherwise) read from monitors of their PVs instead of
    /// asking the server each time — ophyd's `auto_monitor` — as this device
    /// or its nearest ancestor that says; `None` if none does (then each
    /// signal's transport decides). Signals that say for themselves are not
    /// bound by it; signals that always have their value at hand (soft
    /// signals) ignore it.
    pub fn auto_monitor(&self) -> Option<bool> {
        self.auto_monitor.get().or_else(|| self.parent.as_ref().and_then(|parent| parent.auto_monitor()))
    }

    /// Choose monitored reads for this device's signals and sub-devices
    /// (`None`: as the parent says).
    ///
    /// ```
    /// use ophyd_core::DeviceMeta;
    /// let meta = DeviceMeta::root("XF:det", "det");
    /// assert_eq!(meta.auto_monitor(), None);
    /// meta.set_auto_monitor(Some(true));
    /// assert_eq!(meta.auto_monitor(), Some(true));
    /// ```
    pub fn set_auto_monitor(&self, auto_monitor: Option<bool>) {
        self.auto_monitor.set(auto_monitor)
    }

    /// The device's labels (ophyd's `labels`), in the order first given.
    pub fn labels(&self) -> Vec<String> {
        crate::sync::lock(&self.labels).clone()
    }

    /// Add labels to the device; a label it already has is not repeated.
    ///
    /// ```
    /// use ophyd_core::DeviceMeta;
    /// let meta = DeviceMeta::root("XF:m1", "m1");
    /// meta.add_labels(["motors", "sample"]);
    /// meta.add_labels(["motors"]);
    /// assert_eq!(meta.labels(), ["motors", "sample"]);
    /// ```
    pub fn add_labels<L: Into<String>>(&self, labels: impl IntoIterator<Item = L>) {
        let mut current = crate::sync::lock(&self.labels);
        for label in labels {
            let label = label.into();
            if !current.contains(&label) {
                current.push(label);
            }
        }
    }

    /// Replace the declared `stage_sigs` (done once, by the derive's constructor).
    #[doc(hidden)]
    pub fn init_stage_sigs(&self, sigs: Vec<(String, Value)>) {
        *crate::sync::lock(&self.stage_sigs) = sigs;
    }
}

/// Everything a parent tells a component it builds.
#[derive(Debug, Clone, Copy)]
pub struct ComponentSpec<'a> {
    /// The parent device.
    pub parent: &'a Arc<DeviceMeta>,
    /// The field name.
    pub attr: &'static str,
    /// The PV suffix (appended to the parent's prefix).
    pub suffix: &'a str,
    /// The whole PV name (for a sub-device: its whole prefix), used instead
    /// of the parent's prefix + [`suffix`](Self::suffix): ophyd's
    /// `FormattedComponent`, whose PV a template makes from the parent's
    /// prefix and state (`#[component(pv = "{prefix}:chan{ch}")]`).
    pub pv: Option<&'a str>,
    /// The declared kind.
    pub kind: Kind,
    /// Whether writes wait for the server's completion (EPICS put-callback).
    pub put_complete: bool,
    /// Whether the component takes its parent's own name (and so data key)
    /// instead of `<parent>_<field>`: the one signal that *is* the device's
    /// value, as a motor's read-back is the motor (ophyd's
    /// `self.user_readback.name = self.name`).
    pub named_after_parent: bool,
}

impl ComponentSpec<'_> {
    /// The component's name: `<parent name>_<field>` (just `<field>` under an
    /// unnamed parent), as ophyd names children; the parent's own name when
    /// [`named_after_parent`](Self::named_after_parent).
    pub fn name(&self) -> String {
        if self.named_after_parent {
            return self.parent.name().to_owned();
        }
        child_name(self.parent.name(), self.attr)
    }

    /// The component's PV name: parent prefix + suffix, or the whole
    /// [`pv`](Self::pv) when it is given.
    ///
    /// ```
    /// use ophyd_core::{implement::ComponentSpec, DeviceMeta, Kind};
    /// let parent = DeviceMeta::root("XF:sc1", "scaler");
    /// let spec = ComponentSpec {
    ///     parent: &parent,
    ///     attr: "chan1",
    ///     suffix: ".S1",
    ///     pv: None,
    ///     kind: Kind::Hinted,
    ///     put_complete: false,
    ///     named_after_parent: false,
    /// };
    /// assert_eq!(spec.pv_name(), "XF:sc1.S1");
    /// assert_eq!(ComponentSpec { pv: Some("XF:other:S1"), ..spec }.pv_name(), "XF:other:S1");
    /// ```
    pub fn pv_name(&self) -> String {
        if let Some(pv) = self.pv {
            return pv.to_owned();
        }
        let mut pv = String::with_capacity(self.parent.prefix().len() + self.suffix.len());
        pv.push_str(self.parent.prefix());
        pv.push_str(self.suffix);
        pv
    }
}

fn child_name(parent: &str, attr: &str) -> String {
    if parent.is_empty() {
        attr.to_owned()
    } else {
        format!("{parent}_{attr}")
    }
}

/// What a signal knows about itself: name, kind and parent.
#[derive(Debug)]
pub struct SignalMeta {
    name: Arc<str>,
    attr: Option<&'static str>,
    kind: AtomicKind,
    parent: Option<Arc<DeviceMeta>>,
}

impl SignalMeta {
    /// The meta of a signal that belongs to no device.
    pub fn standalone(name: &str) -> SignalMeta {
        SignalMeta { name: name.into(), attr: None, kind: AtomicKind::new(Kind::Normal), parent: None }
    }

    /// The meta of a signal built as a component.
    pub fn from_spec(spec: &ComponentSpec<'_>) -> SignalMeta {
        SignalMeta {
            name: spec.name().into(),
            attr: Some(spec.attr),
            kind: AtomicKind::new(spec.kind),
            parent: Some(spec.parent.clone()),
        }
    }

    /// The signal's name, which is its data key.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as a shared string, for map keys without copying.
    pub fn key(&self) -> &Arc<str> {
        &self.name
    }

    /// The field name in its parent, if any.
    pub fn attr_name(&self) -> Option<&'static str> {
        self.attr
    }

    /// The current kind.
    pub fn kind(&self) -> Kind {
        self.kind.get()
    }

    /// Change the kind.
    pub fn set_kind(&self, kind: Kind) {
        self.kind.set(kind)
    }

    /// The parent device, if any.
    pub fn parent(&self) -> Option<&Arc<DeviceMeta>> {
        self.parent.as_ref()
    }
}

/// The dotted path (`"cam.acquire_time"`) from `ancestor` down to a
/// component whose own field name is `attr` and whose parent is `parent`.
pub(crate) fn dotted_path(
    ancestor: &Arc<DeviceMeta>,
    attr: Option<&'static str>,
    mut parent: Option<&Arc<DeviceMeta>>,
) -> Option<String> {
    let mut parts = vec![attr?];
    loop {
        let p = parent?;
        if Arc::ptr_eq(p, ancestor) {
            break;
        }
        parts.push(p.attr_name()?);
        parent = p.parent();
    }
    parts.reverse();
    Some(parts.join("."))
}

/// The five [`DynComponent`](crate::DynComponent) methods every component
/// answers from its meta (a [`DeviceMeta`] or [`SignalMeta`]): `name`,
/// `kind`, `set_kind`, `parent`, `attr_name`. Inside an
/// `impl DynComponent`, `meta_accessors!(meta)` reads them from
/// `self.meta`, `meta_accessors!(device.meta())` from
/// `self.device.meta()`, and `meta_accessors!(fn path::to::meta_of)` from
/// `meta_of(self)`.
#[doc(hidden)]
#[macro_export]
macro_rules! meta_accessors {
    (@methods $this:ident => $meta:expr) => {
        fn name(&self) -> &str {
            let $this = self;
            $meta.name()
        }

        fn kind(&self) -> $crate::Kind {
            let $this = self;
            $meta.kind()
        }

        fn set_kind(&self, kind: $crate::Kind) {
            let $this = self;
            $meta.set_kind(kind)
        }

        fn parent(&self) -> ::core::option::Option<&::std::sync::Arc<$crate::DeviceMeta>> {
            let $this = self;
            $meta.parent()
        }

        fn attr_name(&self) -> ::core::option::Option<&'static str> {
            let $this = self;
            $meta.attr_name()
        }
    };
    (fn $meta_of:path) => {
        $crate::meta_accessors!(@methods meta => $meta_of(meta));
    };
    ($($meta:tt)+) => {
        $crate::meta_accessors!(@methods meta => meta.$($meta)+);
    };
}

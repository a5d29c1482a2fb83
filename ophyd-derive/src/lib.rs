//! `#[derive(Device)]` for ophyd-rs. Use it through `ophyd_core`, which
//! re-exports it: `use ophyd_core::Device;`.
//!
//! The derive reads the struct into a small model (`ast`, `attr`), checks it
//! (`valid`), and writes the impls (`expand`). Every mistake is reported at
//! the token the user wrote, all in one compile; input it rejects still gets
//! every impl, with bodies never run (`fallback`), so that one mistake gives
//! one error however the rest of the crate uses the type.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
#[cfg(test)]
mod snapshot_tests;
mod template;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derive an ophyd device from a struct of components: `new(prefix, name)`
/// and `name()` on the struct, and the traits of a device (`Device`,
/// `Component`, `DynDevice`, `DynComponent`, `Stage`, `Trigger`, `Stop`).
///
/// ```text
/// #[derive(Device)]
/// #[device(custom(trigger))]           // trigger written by hand
/// pub struct TriggeredDetector {
///     #[component(suffix = ":gain", kind = "config")]
///     pub gain: EpicsSignal<f64>,
///     #[component(suffix = ":acquire", kind = "omitted", put_complete)]
///     pub acquire: EpicsSignal<Enum>,
///     #[component(suffix = ":enabled", kind = "omitted", stage = 1)]
///     pub enabled: EpicsSignal<Enum>,
///     started: std::sync::Mutex<u32>,   // plain state: Default::default()
/// }
/// ```
///
/// Field attribute `#[component(...)]` keys, Python ophyd's
/// `Component(cls, suffix, kind=..., put_complete=...)`:
///
/// - `suffix = "..."`: appended to the device's prefix to make the PV name.
///   EPICS signals need one; soft signals and sub-devices may leave it out.
/// - `kind = "normal" | "config" | "hinted" | "omitted"`: where the value
///   shows up. Without `kind` a component is `"normal"`, as in ophyd: in
///   `read()` and `describe()`, but not in `hints()` (that is `"hinted"`).
/// - `put_complete`: writes wait for the IOC to finish processing (EPICS
///   put-callback), so the write's `Status`, and a `trigger()` that returns
///   it, finishes when the acquisition does. Without it a write finishes as
///   soon as the IOC has taken the value: a trigger would be done at once
///   and a `read()` right after it would return the value from before the
///   acquisition. Give it to every acquire, count or move PV you wait on.
/// - `stage = <value>`: an entry of `stage_sigs` (Python's
///   `stage_sigs['enabled'] = 1`), type-checked against the signal; entries
///   are applied in field order.
/// - `named_after_parent`: the component's name, and so its data key, is
///   the device's own (`motor`, not `motor_user_readback`): for the one
///   signal that is the device's value, as ophyd's `EpicsMotor` renames its
///   read-back (`self.user_readback.name = self.name`). One per device.
///
/// - `pv = "{prefix}:chan{ch}"`: the whole PV name (a sub-device's whole
///   prefix) from a template, instead of prefix + `suffix` (Python's
///   `FormattedComponent(cls, '{self.prefix}:chan{self._ch}')`). The
///   template names `{prefix}`, the device's prefix, and plain fields of
///   the struct, which `new_with(prefix, name, ch)` takes (`new` leaves
///   them at their defaults); any `format!` spec goes (`{ch:02}`). A name
///   that is neither is a compile error at the template.
/// - `vector(count = N, suffix = "..{}", attr = "..{}", start = 1)`: the
///   field is a `DeviceVector<C>` of N children numbered from `start` (1
///   unless given), child `n` with attribute name `attr` and PV suffix
///   `suffix` with `n` in place of `{}` (`{:02}` pads it to two digits;
///   `attr` is `"{}"` unless given): Python's `DynamicDeviceComponent`,
///   ophyd-async's `DeviceVector`. `kind` and `put_complete` are each
///   child's; the vector itself is a sub-device of kind normal.
/// - `derived(from(a, b), raw_to_derived = f, derived_to_raw = g, units =
///   "mm", precision = 3)`: the field is a derived signal of its sibling
///   components `a` and `b` (declared `Arc<..>`, so that it can share
///   them), its value `f(a, b)`; with `derived_to_raw`, a
///   `DerivedSignal<T>` that writes `g(value, a, b)` (a tuple, one value
///   per source) to them; without, a `DerivedSignalRO<T>`. `f` and `g` are
///   paths to functions or closures; `units` and `precision` describe the
///   value (ophyd-async's `derived_signal_r` / `derived_signal_rw`).
///
/// Fields without `#[component]` are plain state, built with `Default`
/// (or given to `new_with`, when a `pv` template names them).
///
/// Struct attribute `#[device(custom(stage, trigger, stop))]`: the
/// behaviours you implement yourself (`impl Stage`, `impl Trigger`,
/// `impl Stop`, where Python would override `stage`, `trigger`, `stop`);
/// the others get ophyd's defaults. Writing an impl without listing it here
/// is a conflict with the default, which rustc reports as a conflicting
/// impl for `T: UnlessDeviceCustomTrigger` (or `...Stage`, `...Stop`): add
/// the behaviour to `custom(...)`. A hand-written `stage` calls
/// `self.stage_default()` where Python calls `super().stage()`.
///
/// `#[device(positioner)]`: the device implements `Positioner` (you write
/// `impl Movable` and `impl Positioner`), and says so to code that finds it
/// among its parent's components (`DynDevice::as_positioner`: in Python,
/// bluesky scans `stage.x`). A device that does not implement it is
/// reported at `positioner`.
#[proc_macro_derive(Device, attributes(component, device))]
pub fn derive_device(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

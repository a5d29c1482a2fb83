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
/// Fields without `#[component]` are plain state, built with `Default`.
///
/// Struct attribute `#[device(custom(stage, trigger, stop))]`: the
/// behaviours you implement yourself (`impl Stage`, `impl Trigger`,
/// `impl Stop`, where Python would override `stage`, `trigger`, `stop`);
/// the others get ophyd's defaults. Writing an impl without listing it here
/// is a conflict with the default, which rustc reports as a conflicting
/// impl for `T: UnlessDeviceCustomTrigger` (or `...Stage`, `...Stop`): add
/// the behaviour to `custom(...)`. A hand-written `stage` calls
/// `self.stage_default()` where Python calls `super().stage()`.
#[proc_macro_derive(Device, attributes(component, device))]
pub fn derive_device(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

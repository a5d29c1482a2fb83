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
/// Field attribute `#[component(...)]` keys: `suffix = "..."` (appended to
/// the device's prefix), `kind = "normal" | "config" | "hinted" |
/// "omitted"`, `put_complete` (writes wait for the server's completion),
/// `stage = <value>` (an entry of `stage_sigs`, type-checked against the
/// signal). Struct attribute `#[device(custom(stage, trigger, stop))]`:
/// the behaviours you implement yourself (`Stage`, `Trigger`, `Stop`);
/// the others get ophyd's defaults.
#[proc_macro_derive(Device, attributes(component, device))]
pub fn derive_device(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

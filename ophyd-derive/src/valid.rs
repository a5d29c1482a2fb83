//! Rejecting misuse the attribute parser cannot see on its own.

use crate::ast::Device;
use crate::ctxt::Ctxt;

/// Whether the struct can still be expanded (its mistakes are all in
/// attributes) or must fall back to a minimal impl.
pub enum Verdict {
    Expand,
    Fallback,
}

pub fn check(cx: &Ctxt, device: &Device<'_>) -> Verdict {
    // A malformed input has been reported already, and has no fields to check.
    let mut verdict = if device.malformed { Verdict::Fallback } else { Verdict::Expand };
    if !device.malformed && device.components().next().is_none() {
        cx.error_spanned_by(
            device.ident,
            "a device needs at least one `#[component(...)]` field, e.g. \
             `#[component(suffix = \":x\")] x: EpicsSignal<f64>`",
        );
        verdict = Verdict::Fallback;
    }
    let mut named_after_parent = device.components().filter_map(|(_, c)| c.named_after_parent);
    if let (Some(_), Some(second)) = (named_after_parent.next(), named_after_parent.next()) {
        cx.syn_error(syn::Error::new(
            second,
            "only one component can be `named_after_parent`: two would share the device's name \
             as their data key",
        ));
    }
    for lt in device.generics.lifetimes() {
        cx.error_spanned_by(
            lt,
            "a device cannot borrow: its components are shared with background tasks, so it \
             must own its data; remove the lifetime parameter",
        );
        verdict = Verdict::Fallback;
    }
    verdict
}

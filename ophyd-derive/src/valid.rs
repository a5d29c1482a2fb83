//! Rejecting misuse the attribute parser cannot see on its own.

use crate::ast::{Device, Field};
use crate::attr::{closest, quoted, suggestion, ComponentAttr, DerivedAttr, PvTemplate};
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
    for (field, attr) in device.components().filter(|(_, c)| !c.broken) {
        check_combinations(cx, attr);
        if let Some(pv) = &attr.pv {
            check_pv_names(cx, device, pv);
        }
        if let Some(derived) = &attr.derived {
            check_sources(cx, device, field, derived);
        }
        if attr.vector.is_none() && names_device_vector(field.ty) {
            cx.error_spanned_by(
                field.ty,
                "a `DeviceVector` field is built from a template: declare it with \
                 `#[component(vector(count = 32, suffix = \".S{}\", attr = \"chan{}\"))]`",
            );
        }
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

/// Keys that cannot go together: each pair is reported at the key that
/// would be ignored, saying what to keep.
fn check_combinations(cx: &Ctxt, attr: &ComponentAttr) {
    if let (Some(_), Some(pv)) = (&attr.suffix, &attr.pv) {
        cx.error_spanned_by(
            &pv.lit,
            "give `suffix` (appended to the device's prefix) or `pv` (the whole PV name, from a template), not both",
        );
    }
    if attr.vector.is_some() {
        if let Some(suffix) = &attr.suffix {
            cx.error_spanned_by(
                suffix,
                "a vector's children take their suffixes from `vector(suffix = \"..{}\")`, appended to the \
                 device's prefix: remove this `suffix`",
            );
        }
        if let Some(pv) = &attr.pv {
            cx.error_spanned_by(
                &pv.lit,
                "a vector's children take their PVs from `vector(suffix = \"..{}\")`: remove `pv`",
            );
        }
        if let Some(stage) = &attr.stage {
            cx.error_spanned_by(
                stage,
                "a vector is a device, not a signal: stage one of its children at run time, \
                 `dev.stage_sigs().set(&dev.channels[1], value)`",
            );
        }
        if let Some(span) = attr.named_after_parent {
            cx.syn_error(syn::Error::new(
                span,
                "a vector's children are named after the vector: remove `named_after_parent`",
            ));
        }
        if let Some(derived) = &attr.derived {
            cx.syn_error(syn::Error::new(derived.span, "a field is a vector or a derived signal, not both"));
        }
    }
    if attr.derived.is_some() {
        let no_pv = "a derived signal has no PV of its own: its value comes from its sources, `from(..)`";
        if let Some(suffix) = &attr.suffix {
            cx.error_spanned_by(suffix, format!("{no_pv}; remove `suffix`"));
        }
        if let Some(pv) = &attr.pv {
            cx.error_spanned_by(&pv.lit, format!("{no_pv}; remove `pv`"));
        }
        if let Some(span) = attr.put_complete {
            cx.syn_error(syn::Error::new(
                span,
                "a derived signal writes its sources as they are declared (give them `put_complete`), \
                 and is done when they all are: remove `put_complete` here",
            ));
        }
    }
}

/// Every placeholder of a `pv` template names the prefix or a plain field.
fn check_pv_names(cx: &Ctxt, device: &Device<'_>, pv: &PvTemplate) {
    let state: Vec<String> = device.fields.iter().filter(|f| f.component.is_none()).map(Field::name).collect();
    let components: Vec<String> = device.components().map(|(f, _)| f.name()).collect();
    for name in &pv.names {
        if name == "prefix" || (state.contains(name) && name != "name") {
            continue;
        }
        let message = if name == "name" && state.contains(name) {
            "a plain field named `name` cannot be a `pv` value: `new_with(prefix, name, ..)` takes the \
             device's name under that name; rename the field"
                .to_owned()
        } else if components.contains(name) {
            format!(
                "`{{{name}}}` names a component, whose value is not known when its device is built: \
                 a `pv` template takes `{{prefix}}` (the device's prefix) or a plain field of the struct"
            )
        } else {
            let mut known = vec!["prefix"];
            known.extend(state.iter().map(String::as_str));
            let did_you_mean = match closest(name, &known) {
                Some(close) => format!("did you mean `{{{close}}}`? "),
                None => String::new(),
            };
            let fields = state.iter().map(|f| format!("`{{{f}}}`")).collect::<Vec<_>>().join(", ");
            let fields = if fields.is_empty() { "none yet".to_owned() } else { fields };
            format!(
                "unknown `{{{name}}}` in `pv`: {did_you_mean}A template takes `{{prefix}}` (the device's prefix) \
                 or a plain field of the struct ({fields}); to give `{{{name}}}` a value, add a plain field \
                 `{name}: T` (not a `#[component]`) and build the device with `new_with(prefix, name, {name})`"
            )
        };
        cx.error_spanned_by(&pv.lit, message);
    }
}

/// Whether every source of `field`'s derived signal is another component
/// of the struct, named once: otherwise [`check_sources`] reports it, and
/// the signal is left unbound.
pub fn sources_are_siblings(device: &Device<'_>, field: &Field<'_>, derived: &DerivedAttr) -> bool {
    let mut seen = Vec::new();
    derived.from.iter().all(|source| {
        let name = source.to_string();
        let fresh = !seen.contains(&name);
        seen.push(name);
        fresh && *source != *field.ident && device.components().any(|(f, _)| *f.ident == *source)
    })
}

/// Every source of a derived signal is another component of the struct,
/// named once.
fn check_sources(cx: &Ctxt, device: &Device<'_>, field: &Field<'_>, derived: &DerivedAttr) {
    let components: Vec<String> = device.components().map(|(f, _)| f.name()).collect();
    let others: Vec<&str> = components.iter().map(String::as_str).filter(|c| *c != field.name()).collect();
    let mut seen: Vec<String> = Vec::new();
    for source in &derived.from {
        let name = source.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        if name == field.name() {
            cx.error_spanned_by(source, "a derived signal cannot be its own source");
        } else if !components.contains(&name) {
            cx.error_spanned_by(
                source,
                format!(
                    "`{name}` is not a component of this device: a derived signal's sources are its sibling \
                     `#[component]` fields ({}){}",
                    quoted(&others),
                    suggestion(&name, &others)
                ),
            );
        } else if seen.contains(&name) {
            cx.error_spanned_by(source, format!("`{name}` is listed twice in `from(..)`"));
        }
        seen.push(name);
    }
}

/// Whether `ty` is written as a `DeviceVector<..>` (under any path).
fn names_device_vector(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "DeviceVector"),
        _ => false,
    }
}

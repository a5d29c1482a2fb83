//! The derive's own model of the input: a struct of component and plain
//! fields, with their parsed attributes.

use syn::punctuated::Punctuated;
use syn::{DeriveInput, Generics, Ident, Token, Type};

use crate::attr::{self, ComponentAttr, DeviceAttr};
use crate::ctxt::Ctxt;

pub struct Device<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attr: DeviceAttr,
    pub fields: Vec<Field<'a>>,
    /// Not a struct with named fields (an enum, a tuple or unit struct): the
    /// error is reported, and only the fallback is written.
    pub malformed: bool,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// `Some` for `#[component]` fields, `None` for plain state fields.
    pub component: Option<ComponentAttr>,
}

impl<'a> Device<'a> {
    /// The model of `input`. Input that is not a struct with named fields
    /// is reported in `cx` and gets a model without fields, `malformed`.
    pub fn from_input(cx: &Ctxt, input: &'a DeriveInput) -> Device<'a> {
        let attr = attr::device_attr(cx, &input.attrs);
        let (fields, malformed) = match named_fields(cx, input) {
            Some(named) => (named.iter().map(|f| Field::from_syn(cx, f)).collect(), false),
            None => (Vec::new(), true),
        };
        Device { ident: &input.ident, generics: &input.generics, attr, fields, malformed }
    }

    pub fn components(&self) -> impl Iterator<Item = (&Field<'a>, &ComponentAttr)> {
        self.fields.iter().filter_map(|f| f.component.as_ref().map(|c| (f, c)))
    }
}

impl<'a> Field<'a> {
    fn from_syn(cx: &Ctxt, f: &'a syn::Field) -> Field<'a> {
        let mut component = None;
        for a in f.attrs.iter().filter(|a| a.path().is_ident("component")) {
            if component.is_some() {
                cx.error_spanned_by(a, "a field takes one `#[component(...)]`; merge the two");
                continue;
            }
            component = Some(attr::component_attr(cx, a));
        }
        Field { ident: f.ident.as_ref().expect("named field"), ty: &f.ty, component }
    }

    pub fn name(&self) -> String {
        let s = self.ident.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

/// The fields of a struct with named fields; anything else is reported.
fn named_fields<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<&'a Punctuated<syn::Field, Token![,]>> {
    match &input.data {
        syn::Data::Struct(s) => match &s.fields {
            syn::Fields::Named(named) => Some(&named.named),
            syn::Fields::Unnamed(f) => {
                cx.error_spanned_by(
                    f,
                    "#[derive(Device)] needs named fields: each component's field name is its \
                     attribute name and part of its data key; write `struct Name { field: Type, .. }`",
                );
                None
            }
            syn::Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Device)] needs a struct with named `#[component]` fields, e.g. \
                     `struct Name { #[component(suffix = \":x\")] x: EpicsSignal<f64> }`",
                );
                None
            }
        },
        syn::Data::Enum(e) => {
            cx.error_spanned_by(
                e.enum_token,
                "#[derive(Device)] works on structs, not enums: a device is a struct whose \
                 fields are its components",
            );
            None
        }
        syn::Data::Union(u) => {
            cx.error_spanned_by(u.union_token, "#[derive(Device)] works on structs, not unions");
            None
        }
    }
}

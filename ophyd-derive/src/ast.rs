//! The derive's own model of the input: a struct of component and plain
//! fields, with their parsed attributes.

use syn::{DeriveInput, Generics, Ident, Type};

use crate::attr::{self, ComponentAttr, DeviceAttr};
use crate::ctxt::Ctxt;

pub struct Device<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attr: DeviceAttr,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// `Some` for `#[component]` fields, `None` for plain state fields.
    pub component: Option<ComponentAttr>,
}

impl Field<'_> {
    pub fn name(&self) -> String {
        let s = self.ident.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

impl<'a> Device<'a> {
    /// The model of `input`, or `None` if it is not a struct with named
    /// fields (the error is in `cx`).
    pub fn from_input(cx: &Ctxt, input: &'a DeriveInput) -> Option<Device<'a>> {
        let named = match &input.data {
            syn::Data::Struct(s) => match &s.fields {
                syn::Fields::Named(named) => named,
                syn::Fields::Unnamed(f) => {
                    cx.error_spanned_by(
                        f,
                        "#[derive(Device)] needs named fields: each component's field name is its \
                         attribute name and part of its data key; write `struct Name { field: Type, .. }`",
                    );
                    return None;
                }
                syn::Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "#[derive(Device)] needs a struct with named `#[component]` fields, e.g. \
                         `struct Name { #[component(suffix = \":x\")] x: EpicsSignal<f64> }`",
                    );
                    return None;
                }
            },
            syn::Data::Enum(e) => {
                cx.error_spanned_by(
                    e.enum_token,
                    "#[derive(Device)] works on structs, not enums: a device is a struct whose \
                     fields are its components",
                );
                return None;
            }
            syn::Data::Union(u) => {
                cx.error_spanned_by(u.union_token, "#[derive(Device)] works on structs, not unions");
                return None;
            }
        };
        let fields = named
            .named
            .iter()
            .map(|f| {
                let mut component = None;
                for a in f.attrs.iter().filter(|a| a.path().is_ident("component")) {
                    if component.is_some() {
                        cx.error_spanned_by(a, "a field takes one `#[component(...)]`; merge the two");
                        continue;
                    }
                    component = Some(attr::component_attr(cx, a));
                }
                Field { ident: f.ident.as_ref().expect("named field"), ty: &f.ty, component }
            })
            .collect();
        Some(Device {
            ident: &input.ident,
            generics: &input.generics,
            attr: attr::device_attr(cx, &input.attrs),
            fields,
        })
    }

    pub fn components(&self) -> impl Iterator<Item = (&Field<'a>, &ComponentAttr)> {
        self.fields.iter().filter_map(|f| f.component.as_ref().map(|c| (f, c)))
    }
}

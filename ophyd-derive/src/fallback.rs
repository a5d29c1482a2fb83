//! What an invalid struct (or enum) still gets: every impl a valid device
//! has, with bodies that are never run (the crate does not compile). The
//! compile errors are the output; the impls keep each use of the type as a
//! device (`Detector::new`, `det.read()`, `&det as &dyn DynDevice`, a field
//! of another device) from adding an error of its own.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Generics, Lifetime};

use crate::ast::Device;
use crate::expand::{self, Target};

pub fn expand(device: &Device<'_>, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    let target = Target::new(device.ident, bounded_generics(device));
    let a = fresh_lifetime(device.generics);
    let unreachable = quote!(::core::unreachable!("#[derive(Device)] failed to compile"));
    let name = expand::name_method();
    let into_methods = expand::component_into_methods(&a, |_| quote!(#unreachable));
    let behaviours = expand::behaviour_methods(&device.attr);
    let state = expand::state_params(device);
    let new_with = expand::new_with(device, &state, |args| quote!({ let _ = (#(#args),*); #unreachable }));

    let mut tokens = errors;
    tokens.extend(target.inherent(quote! {
        #[doc(hidden)]
        pub fn new(prefix: &str, name: &str) -> Self {
            #unreachable
        }

        #new_with

        #name
    }));
    tokens.extend(target.implement(
        quote!(::ophyd_core::Component),
        quote! {
            fn build(spec: &::ophyd_core::implement::ComponentSpec<'_>) -> Self {
                #unreachable
            }

            #into_methods

            fn collect_connects<#a>(
                &#a self,
                ctx: &::ophyd_core::implement::ConnectCtx<#a>,
                out: &mut ::std::vec::Vec<::ophyd_core::implement::PendingConnect<#a>>,
            ) {
                #unreachable
            }
        },
    ));
    tokens.extend(expand::dyn_component_impl(&target));
    tokens.extend(target.implement(
        quote!(::ophyd_core::DynDevice),
        quote! {
            fn meta(&self) -> &::std::sync::Arc<::ophyd_core::DeviceMeta> {
                #unreachable
            }

            fn components(&self) -> ::std::vec::Vec<(&'static str, &dyn ::ophyd_core::DynComponent)> {
                #unreachable
            }

            fn component(&self, attr: &str) -> ::core::option::Option<&dyn ::ophyd_core::DynComponent> {
                #unreachable
            }

            #behaviours
        },
    ));
    tokens.extend(expand::device_impls(&target, unreachable));
    tokens.extend(expand::default_behaviours(&target, &device.attr));
    tokens
}

/// The type's own generics, bounded so that the impls hold whatever its
/// parameters (a component is `Send + Sync + 'static`). The bound names
/// the parameters, so it is never a trivial bound of a concrete type.
fn bounded_generics(device: &Device<'_>) -> Generics {
    let mut generics = device.generics.clone();
    if !generics.params.is_empty() {
        let ident = device.ident;
        let (_, ty_generics, _) = device.generics.split_for_impl();
        generics.make_where_clause().predicates.push(syn::parse_quote!(
            #ident #ty_generics: ::core::marker::Send + ::core::marker::Sync + 'static
        ));
    }
    generics
}

/// A lifetime name the type's own generics do not use, for the methods
/// that take one.
fn fresh_lifetime(generics: &Generics) -> Lifetime {
    let taken: Vec<String> = generics.lifetimes().map(|l| l.lifetime.ident.to_string()).collect();
    let name = ('a'..='z').map(String::from).find(|n| !taken.contains(n)).unwrap_or_else(|| "ophyd".to_owned());
    Lifetime::new(&format!("'{name}"), Span::call_site())
}

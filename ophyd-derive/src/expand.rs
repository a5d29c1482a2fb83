//! Writing the impls. Generated code names everything by absolute path
//! (`::ophyd_core::...`, `::core::...`), so it compiles whatever the user's
//! crate has in scope.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{Device, Field};
use crate::attr::ComponentAttr;
use crate::ctxt::Ctxt;
use crate::{fallback, valid};

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let mut model = Device::from_input(&cx, input);
    if let Some(m) = &model {
        if let valid::Verdict::Fallback = valid::check(&cx, m) {
            model = None;
        }
    }
    match (model, cx.into_error()) {
        (Some(model), None) => expand(&model),
        // Mistakes in attributes: the impls are still written (with the
        // broken settings left at their defaults), so the user's own code
        // around the device compiles and the only errors are the mistakes.
        (Some(model), Some(errors)) => {
            let mut tokens = errors.into_compile_error();
            tokens.extend(expand(&model));
            tokens
        }
        (None, errors) => fallback::expand(input, errors.expect("no model without an error")),
    }
}

fn kind_tokens(attr: &ComponentAttr) -> TokenStream {
    let name = attr.kind.as_ref().map_or("normal", |(k, _)| k.as_str());
    let variant = format_ident!("{}", capitalize(name));
    quote!(::ophyd_core::Kind::#variant)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn expand(device: &Device<'_>) -> TokenStream {
    let ident = device.ident;
    let mut generics = device.generics.clone();
    if !generics.params.is_empty() {
        let where_clause = generics.make_where_clause();
        for (field, _) in device.components() {
            let ty = field.ty;
            where_clause.predicates.push(syn::parse_quote!(#ty: ::ophyd_core::Component));
        }
        for field in device.fields.iter().filter(|f| f.component.is_none()) {
            let ty = field.ty;
            where_clause
                .predicates
                .push(syn::parse_quote!(#ty: ::core::default::Default + ::core::marker::Send + ::core::marker::Sync + 'static));
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let build_fields = device.fields.iter().map(build_field);
    let stage_sigs = device.components().filter_map(|(f, c)| c.stage.as_ref().map(|e| (f, e))).map(|(f, expr)| {
        let (name, ty) = (f.name(), f.ty);
        quote_spanned! {expr.span()=>
            (<::std::string::String as ::core::convert::From<&str>>::from(#name), ::ophyd_core::__private::declared::<#ty>(#expr))
        }
    });
    let checks = device.components().map(|(f, c)| component_checks(f, c));
    let names: Vec<String> = device.components().map(|(f, _)| f.name()).collect();
    // A device reaches its own meta through its first component (which
    // shares it as parent); `valid` has reported a device without any.
    let as_dyn: Vec<TokenStream> = device
        .components()
        .map(|(f, _)| {
            let (ident, ty) = (f.ident, f.ty);
            quote_spanned!(ty.span()=> ::ophyd_core::__private::as_dyn::<#ty>(&self.#ident))
        })
        .collect();
    let connects = device.components().map(|(f, _)| {
        let (ident, ty) = (f.ident, f.ty);
        quote_spanned!(ty.span()=> <#ty as ::ophyd_core::Component>::collect_connects(&self.#ident, ctx, out);)
    });
    let meta = match as_dyn.first() {
        Some(first) => quote!(::ophyd_core::__private::meta_via(#first)),
        None => quote!(::core::unreachable!("a device needs at least one component")),
    };
    let read = gather(device, quote!(Normal), quote!(read_into));
    let describe = gather(device, quote!(Normal), quote!(describe_into));
    let read_cfg = gather(device, quote!(Config), quote!(read_configuration_into));
    let describe_cfg = gather(device, quote!(Config), quote!(describe_configuration_into));
    let defaults = default_behaviours(device, &impl_generics, &ty_generics, where_clause);
    let doc = format!(" Build a `{ident}` whose components' PVs are `prefix` + suffix, named `name`.");

    quote! {
        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc = #doc]
            pub fn new(prefix: &str, name: &str) -> Self {
                Self::__ophyd_build(::ophyd_core::DeviceMeta::root(prefix, name))
            }

            fn __ophyd_build(meta: ::std::sync::Arc<::ophyd_core::DeviceMeta>) -> Self {
                #(#checks)*
                let device = Self { #(#build_fields,)* };
                meta.init_stage_sigs(::std::vec![#(#stage_sigs),*]);
                device
            }
        }

        #[automatically_derived]
        impl #impl_generics ::ophyd_core::Component for #ident #ty_generics #where_clause {
            fn build(spec: &::ophyd_core::implement::ComponentSpec<'_>) -> Self {
                Self::__ophyd_build(::ophyd_core::DeviceMeta::child(spec))
            }

            fn read_into<'a>(
                &'a self,
                out: &'a mut ::ophyd_core::DataMap<::ophyd_core::Reading>,
            ) -> impl ::core::future::Future<Output = ::ophyd_core::Result<()>> + ::core::marker::Send + 'a {
                async move { #read ::core::result::Result::Ok(()) }
            }

            fn describe_into<'a>(
                &'a self,
                out: &'a mut ::ophyd_core::DataMap<::ophyd_core::DataKey>,
            ) -> impl ::core::future::Future<Output = ::ophyd_core::Result<()>> + ::core::marker::Send + 'a {
                async move { #describe ::core::result::Result::Ok(()) }
            }

            fn read_configuration_into<'a>(
                &'a self,
                out: &'a mut ::ophyd_core::DataMap<::ophyd_core::Reading>,
            ) -> impl ::core::future::Future<Output = ::ophyd_core::Result<()>> + ::core::marker::Send + 'a {
                async move { #read_cfg ::core::result::Result::Ok(()) }
            }

            fn describe_configuration_into<'a>(
                &'a self,
                out: &'a mut ::ophyd_core::DataMap<::ophyd_core::DataKey>,
            ) -> impl ::core::future::Future<Output = ::ophyd_core::Result<()>> + ::core::marker::Send + 'a {
                async move { #describe_cfg ::core::result::Result::Ok(()) }
            }

            fn collect_connects<'a>(
                &'a self,
                ctx: &::ophyd_core::implement::ConnectCtx<'a>,
                out: &mut ::std::vec::Vec<::ophyd_core::implement::PendingConnect<'a>>,
            ) {
                #(#connects)*
            }
        }

        #[automatically_derived]
        impl #impl_generics ::ophyd_core::DynComponent for #ident #ty_generics #where_clause {
            fn name(&self) -> &str {
                ::ophyd_core::DynDevice::meta(self).name()
            }
            fn kind(&self) -> ::ophyd_core::Kind {
                ::ophyd_core::DynDevice::meta(self).kind()
            }
            fn set_kind(&self, kind: ::ophyd_core::Kind) {
                ::ophyd_core::DynDevice::meta(self).set_kind(kind)
            }
            fn parent(&self) -> ::core::option::Option<&::std::sync::Arc<::ophyd_core::DeviceMeta>> {
                ::ophyd_core::DynDevice::meta(self).parent()
            }
            fn attr_name(&self) -> ::core::option::Option<&'static str> {
                ::ophyd_core::DynDevice::meta(self).attr_name()
            }
            fn hints_into(&self, out: &mut ::std::vec::Vec<::std::string::String>) {
                ::ophyd_core::__private::device_hints_into(self, out)
            }
            fn as_device(&self) -> ::core::option::Option<&dyn ::ophyd_core::DynDevice> {
                ::core::option::Option::Some(self)
            }
        }

        #[automatically_derived]
        impl #impl_generics ::ophyd_core::DynDevice for #ident #ty_generics #where_clause {
            fn meta(&self) -> &::std::sync::Arc<::ophyd_core::DeviceMeta> {
                #meta
            }
            fn components(&self) -> ::std::vec::Vec<(&'static str, &dyn ::ophyd_core::DynComponent)> {
                ::std::vec![#((#names, #as_dyn)),*]
            }
            fn component(&self, attr: &str) -> ::core::option::Option<&dyn ::ophyd_core::DynComponent> {
                match attr {
                    #(#names => ::core::option::Option::Some(#as_dyn),)*
                    _ => ::core::option::Option::None,
                }
            }
            fn read_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<::ophyd_core::DataMap<::ophyd_core::Reading>>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Device>::read(self))
            }
            fn describe_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<::ophyd_core::DataMap<::ophyd_core::DataKey>>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Device>::describe(self))
            }
            fn read_configuration_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<::ophyd_core::DataMap<::ophyd_core::Reading>>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Device>::read_configuration(self))
            }
            fn describe_configuration_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<::ophyd_core::DataMap<::ophyd_core::DataKey>>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Device>::describe_configuration(self))
            }
            fn stage_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<()>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Stage>::stage(self))
            }
            fn unstage_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<()>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Stage>::unstage(self))
            }
            fn trigger_dyn(&self) -> ::ophyd_core::Status {
                <Self as ::ophyd_core::Trigger>::trigger(self)
            }
            fn stop_dyn(&self, success: bool) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<()>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Stop>::stop(self, success))
            }
            fn pause_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<()>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Stop>::pause(self))
            }
            fn resume_dyn(&self) -> ::ophyd_core::__private::BoxFuture<'_, ::ophyd_core::Result<()>> {
                ::ophyd_core::__private::FutureExt::boxed(<Self as ::ophyd_core::Stop>::resume(self))
            }
        }

        #[automatically_derived]
        impl #impl_generics ::ophyd_core::implement::SuffixOptional for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics ::ophyd_core::Device for #ident #ty_generics #where_clause {
            fn component_names(&self) -> &'static [&'static str] {
                &[#(#names),*]
            }
        }

        #defaults
    }
}

/// Compile-time checks of one component, each spanned at the token it is
/// about, so a mistake is reported once, where the user wrote it.
fn component_checks(field: &Field<'_>, attr: &ComponentAttr) -> TokenStream {
    let ty = field.ty;
    let mut checks = quote_spanned!(ty.span()=> ::ophyd_core::__private::assert_component::<#ty>(););
    if attr.broken {
        return checks;
    }
    if attr.suffix.is_none() {
        checks.extend(quote_spanned!(ty.span()=> ::ophyd_core::__private::assert_suffix_optional::<#ty>();));
    }
    if let Some(span) = attr.put_complete {
        checks.extend(quote_spanned!(span=> ::ophyd_core::__private::assert_writable::<#ty>();));
    }
    checks
}

fn build_field(field: &Field<'_>) -> TokenStream {
    let (ident, ty) = (field.ident, field.ty);
    match &field.component {
        None => quote_spanned!(ty.span()=> #ident: ::core::default::Default::default()),
        Some(c) => {
            let attr = field.name();
            let suffix = c.suffix.as_ref().map(|s| s.value()).unwrap_or_default();
            let kind = kind_tokens(c);
            let put_complete = c.put_complete.is_some();
            quote_spanned! {ty.span()=>
                #ident: <#ty as ::ophyd_core::Component>::build(&::ophyd_core::implement::ComponentSpec {
                    parent: &meta,
                    attr: #attr,
                    suffix: #suffix,
                    kind: #kind,
                    put_complete: #put_complete,
                })
            }
        }
    }
}

/// `if component.kind() & kind { component.method(out).await?; }` for each
/// component, in order.
fn gather(device: &Device<'_>, kind: TokenStream, method: TokenStream) -> TokenStream {
    let steps = device.components().map(|(f, _)| {
        let (ident, ty) = (f.ident, f.ty);
        quote_spanned! {ty.span()=>
            if ::ophyd_core::__private::kind_of::<#ty>(&self.#ident).intersects(::ophyd_core::Kind::#kind) {
                <#ty as ::ophyd_core::Component>::#method(&self.#ident, out).await?;
            }
        }
    });
    quote!(#(#steps)*)
}

fn default_behaviours(
    device: &Device<'_>,
    impl_generics: &syn::ImplGenerics<'_>,
    ty_generics: &syn::TypeGenerics<'_>,
    where_clause: Option<&syn::WhereClause>,
) -> TokenStream {
    let ident = device.ident;
    let mut out = TokenStream::new();
    for (custom, tr) in [
        (device.attr.custom_stage, quote!(Stage)),
        (device.attr.custom_trigger, quote!(Trigger)),
        (device.attr.custom_stop, quote!(Stop)),
    ] {
        if !custom {
            out.extend(quote!(#[automatically_derived] impl #impl_generics ::ophyd_core::#tr for #ident #ty_generics #where_clause {}));
        }
    }
    out
}

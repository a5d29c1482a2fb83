//! Writing the impls. Generated code names everything by absolute path
//! (`::ophyd_core::...`, `::core::...`), so it compiles whatever the user's
//! crate has in scope. What every device shares is a generic helper in
//! `ophyd_core::__private` that the impls call; what is written here is only
//! what is particular to the device: its fields.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Generics, Ident, Lifetime};

use crate::ast::{Device, Field};
use crate::attr::{ComponentAttr, DeviceAttr};
use crate::ctxt::Ctxt;
use crate::{fallback, valid};

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let model = Device::from_input(&cx, input);
    let verdict = valid::check(&cx, &model);
    match (verdict, cx.into_error()) {
        (valid::Verdict::Expand, None) => expand(&model),
        // Mistakes in attributes: the impls are still written (with the
        // broken settings left at their defaults), so the user's own code
        // around the device compiles and the only errors are the mistakes.
        (valid::Verdict::Expand, Some(errors)) => {
            let mut tokens = errors.into_compile_error();
            tokens.extend(expand(&model));
            tokens
        }
        (valid::Verdict::Fallback, errors) => {
            fallback::expand(&model, errors.expect("a fallback always follows an error"))
        }
    }
}

/// The type the impls are for. Writes each impl's header, the same way for
/// all of them.
pub struct Target<'a> {
    ident: &'a Ident,
    generics: Generics,
}

impl<'a> Target<'a> {
    pub fn new(ident: &'a Ident, generics: Generics) -> Self {
        Target { ident, generics }
    }

    /// `impl Type { items }`.
    pub fn inherent(&self, items: TokenStream) -> TokenStream {
        let ident = self.ident;
        let (impl_generics, ty_generics, where_clause) = self.generics.split_for_impl();
        quote! {
            #[automatically_derived]
            impl #impl_generics #ident #ty_generics #where_clause {
                #items
            }
        }
    }

    /// `impl Trait for Type { items }`.
    pub fn implement(&self, tr: TokenStream, items: TokenStream) -> TokenStream {
        let ident = self.ident;
        let (impl_generics, ty_generics, where_clause) = self.generics.split_for_impl();
        quote! {
            #[automatically_derived]
            impl #impl_generics #tr for #ident #ty_generics #where_clause {
                #items
            }
        }
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

/// The device's generics, with the bounds a generic device needs on its
/// fields' types.
fn bounded_generics(device: &Device<'_>) -> Generics {
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
    generics
}

fn expand(device: &Device<'_>) -> TokenStream {
    let target = Target::new(device.ident, bounded_generics(device));
    let a = Lifetime::new("'a", Span::call_site());

    let checks = device.components().map(|(f, c)| component_checks(f, c));
    let state = state_params(device);
    let pvs = device.components().filter_map(|(f, c)| c.pv.as_ref().map(|pv| pv_template(f, pv)));
    let build_fields = device.fields.iter().map(|f| build_field(f, &state));
    // A derived signal whose sources are wrong is reported (`valid`) and
    // left unbound, so that the mistake is the only error.
    let bindings = device
        .components()
        .filter_map(|(f, c)| c.derived.as_ref().map(|d| (f, d)))
        .filter(|(f, d)| valid::sources_are_siblings(device, f, d))
        .map(|(f, d)| bind_derived(device, f, d));
    // A vector's `stage` is reported (`valid`), not expanded: one error.
    let stage_sigs = device.components().filter(|(_, c)| c.vector.is_none()).filter_map(|(f, c)| c.stage.as_ref().map(|e| (f, e))).map(|(f, expr)| {
        let (name, ty) = (f.name(), f.ty);
        quote_spanned! {expr.span()=>
            (<::std::string::String as ::core::convert::From<&str>>::from(#name), ::ophyd_core::__private::declared::<#ty>(#expr))
        }
    });
    let gather = device.components().map(|(f, _)| {
        let (ident, ty) = (f.ident, f.ty);
        quote_spanned!(at(ty.span())=> ::ophyd_core::__private::gather_child::<G, #ty>(&self.#ident, out);)
    });
    let connects = device.components().map(|(f, _)| {
        let (ident, ty) = (f.ident, f.ty);
        quote_spanned!(at(ty.span())=> <#ty as ::ophyd_core::Component>::collect_connects(&self.#ident, ctx, out);)
    });
    let names: Vec<String> = device.components().map(|(f, _)| f.name()).collect();
    let as_dyn: Vec<TokenStream> = device
        .components()
        .map(|(f, _)| {
            let (ident, ty) = (f.ident, f.ty);
            quote_spanned!(at(ty.span())=> ::ophyd_core::__private::as_dyn::<#ty>(&self.#ident))
        })
        .collect();
    // A device reaches its own meta through its first component (which
    // shares it as parent); `valid` sends a device without any to the
    // fallback.
    let meta = &as_dyn[0];
    let doc = format!(" Build a `{}` whose components' PVs are `prefix` + suffix, named `name`.", device.ident);
    let name = name_method();
    let into_methods =
        component_into_methods(&a, |gathering| quote!(self.__ophyd_gather::<::ophyd_core::__private::#gathering>(out)));
    let behaviours = behaviour_methods(&device.attr);

    let defaults = state_defaults(&state);
    let params = state.iter().map(|f| {
        let (param, ty) = (state_param(f), f.ty);
        quote!(#param: #ty)
    });
    let new_with = new_with(
        device,
        &state,
        |args| quote!(Self::__ophyd_build(::ophyd_core::DeviceMeta::root(prefix, name), #(#args),*)),
    );
    let mut tokens = target.inherent(quote! {
        #[doc = #doc]
        pub fn new(prefix: &str, name: &str) -> Self {
            Self::__ophyd_build(::ophyd_core::DeviceMeta::root(prefix, name) #(, #defaults)*)
        }

        #new_with

        #name

        fn __ophyd_build(meta: ::std::sync::Arc<::ophyd_core::DeviceMeta> #(, #params)*) -> Self {
            #(#checks)*
            #(#pvs)*
            let device = Self { #(#build_fields,)* };
            #(#bindings)*
            meta.init_stage_sigs(::std::vec![#(#stage_sigs),*]);
            device
        }

        /// The body of `Component`'s four `*_into` methods: each component,
        /// in order, issues its part and adds its entries to `out`.
        fn __ophyd_gather<#a, G: ::ophyd_core::__private::Gathering>(
            &#a self,
            out: &mut ::ophyd_core::implement::Gather<#a, G::Entry>,
        ) {
            #(#gather)*
        }
    });
    tokens.extend(target.implement(
        quote!(::ophyd_core::Component),
        quote! {
            fn build(spec: &::ophyd_core::implement::ComponentSpec<'_>) -> Self {
                Self::__ophyd_build(::ophyd_core::DeviceMeta::child(spec) #(, #defaults)*)
            }

            #into_methods

            fn collect_connects<#a>(
                &#a self,
                ctx: &::ophyd_core::implement::ConnectCtx<#a>,
                out: &mut ::std::vec::Vec<::ophyd_core::implement::PendingConnect<#a>>,
            ) {
                #(#connects)*
            }
        },
    ));
    tokens.extend(dyn_component_impl(&target));
    tokens.extend(target.implement(
        quote!(::ophyd_core::DynDevice),
        quote! {
            fn meta(&self) -> &::std::sync::Arc<::ophyd_core::DeviceMeta> {
                ::ophyd_core::__private::meta_via(#meta)
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

            #behaviours
        },
    ));
    tokens.extend(device_impls(&target, quote!(&[#(#names),*])));
    tokens.extend(default_behaviours(&target, &device.attr));
    tokens
}

/// `SuffixOptional` (a sub-device may share its parent's prefix) and
/// `Device`, whose one method returns `component_names`.
pub fn device_impls(target: &Target<'_>, component_names: TokenStream) -> TokenStream {
    let mut tokens = target.implement(quote!(::ophyd_core::implement::SuffixOptional), quote!());
    tokens.extend(target.implement(
        quote!(::ophyd_core::Device),
        quote! {
            fn component_names(&self) -> &'static [&'static str] {
                #component_names
            }
        },
    ));
    tokens
}

/// The inherent `name()`, so that users need not import `DynComponent` to
/// ask a device its name.
pub fn name_method() -> TokenStream {
    quote! {
        /// The device's name: the stem of its components' data keys.
        pub fn name(&self) -> &str {
            ::ophyd_core::DynDevice::meta(self).name()
        }
    }
}

/// `Component`'s four `*_into` methods, each with the body `body` gives for
/// the name of its `Gathering`.
pub fn component_into_methods(a: &Lifetime, body: impl Fn(&Ident) -> TokenStream) -> TokenStream {
    let methods = [
        ("read_into", "Reading", "Readings"),
        ("describe_into", "DataKey", "DataKeys"),
        ("read_configuration_into", "Reading", "ConfigReadings"),
        ("describe_configuration_into", "DataKey", "ConfigDataKeys"),
    ];
    methods
        .into_iter()
        .map(|(method, entry, gather)| {
            let (method, entry) = (format_ident!("{method}"), format_ident!("{entry}"));
            let body = body(&format_ident!("{gather}"));
            quote! {
                fn #method<#a>(&#a self, out: &mut ::ophyd_core::implement::Gather<#a, ::ophyd_core::#entry>) {
                    #body
                }
            }
        })
        .collect()
}

/// `DynComponent`: everything a device knows of itself is in its meta.
pub fn dyn_component_impl(target: &Target<'_>) -> TokenStream {
    target.implement(
        quote!(::ophyd_core::DynComponent),
        quote! {
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
        },
    )
}

/// `DynDevice`'s forwarders to the device's behaviours. Those the user
/// may write (`custom(...)`) name the trait's method, spanned at the name
/// they wrote in `custom(...)`: a missing impl is reported there, once.
pub fn behaviour_methods(attr: &DeviceAttr) -> TokenStream {
    let forward = |custom: Option<Span>, tr: &str, call: TokenStream, boxed: bool| {
        let span = custom.unwrap_or_else(Span::call_site);
        let tr = Ident::new(tr, span);
        // All of the call, its method name and arguments too: a call spanned
        // partly at the derive is reported at the derive.
        let call = respan(call, span);
        let call = quote_spanned!(span=> <Self as ::ophyd_core::#tr>::#call);
        if boxed {
            quote_spanned!(span=> ::ophyd_core::__private::boxed(#call))
        } else {
            call
        }
    };
    let stage = forward(attr.custom_stage, "Stage", quote!(stage(self)), true);
    let unstage = forward(attr.custom_stage, "Stage", quote!(unstage(self)), true);
    let trigger = forward(attr.custom_trigger, "Trigger", quote!(trigger(self)), false);
    let stop = forward(attr.custom_stop, "Stop", quote!(stop(self, success)), true);
    let pause = forward(attr.custom_stop, "Stop", quote!(pause(self)), true);
    let resume = forward(attr.custom_stop, "Stop", quote!(resume(self)), true);
    let streams = attr.custom_stream_assets;
    let describe_streams = forward(streams, "WritesStreamAssets", quote!(describe_streams(self)), true);
    let collect_asset_docs = forward(streams, "WritesStreamAssets", quote!(collect_asset_docs(self)), true);
    // Spanned at `positioner`: a type that does not implement `Positioner`
    // is reported there.
    let as_positioner = attr.positioner.map(|span| {
        quote_spanned! {span=>
            fn as_positioner(&self) -> ::core::option::Option<&dyn ::ophyd_core::Positioner> {
                ::core::option::Option::Some(::ophyd_core::__private::as_positioner(self))
            }
        }
    });
    quote! {
        #as_positioner

        fn read_dyn(&self) -> ::ophyd_core::__private::BoxedReadings<'_> {
            ::ophyd_core::__private::read_dyn(self)
        }

        fn describe_dyn(&self) -> ::ophyd_core::__private::BoxedDataKeys<'_> {
            ::ophyd_core::__private::describe_dyn(self)
        }

        fn read_configuration_dyn(&self) -> ::ophyd_core::__private::BoxedReadings<'_> {
            ::ophyd_core::__private::read_configuration_dyn(self)
        }

        fn describe_configuration_dyn(&self) -> ::ophyd_core::__private::BoxedDataKeys<'_> {
            ::ophyd_core::__private::describe_configuration_dyn(self)
        }

        fn stage_dyn(&self) -> ::ophyd_core::__private::BoxedStep<'_> {
            #stage
        }

        fn unstage_dyn(&self) -> ::ophyd_core::__private::BoxedStep<'_> {
            #unstage
        }

        fn trigger_dyn(&self) -> ::ophyd_core::Status {
            #trigger
        }

        fn stop_dyn(&self, success: bool) -> ::ophyd_core::__private::BoxedStep<'_> {
            #stop
        }

        fn pause_dyn(&self) -> ::ophyd_core::__private::BoxedStep<'_> {
            #pause
        }

        fn resume_dyn(&self) -> ::ophyd_core::__private::BoxedStep<'_> {
            #resume
        }

        fn describe_streams_dyn(&self) -> ::ophyd_core::__private::BoxedDataKeys<'_> {
            #describe_streams
        }

        fn collect_asset_docs_dyn(&self) -> ::ophyd_core::__private::BoxedAssets<'_> {
            #collect_asset_docs
        }
    }
}

/// `tokens`, every one of them spanned at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                TokenTree::Group(group)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// ophyd's default `Stage`, `Trigger` and `Stop` (and no stream assets), for the behaviours not
/// listed in `custom(...)`: the markers that `ophyd_core`'s blanket impls
/// give the defaults to. A hand-written impl then conflicts with a blanket
/// impl whose bound, in rustc's message, names `custom(...)`.
pub fn default_behaviours(target: &Target<'_>, attr: &DeviceAttr) -> TokenStream {
    [
        (attr.custom_stage, quote!(::ophyd_core::implement::UnlessDeviceCustomStage)),
        (attr.custom_trigger, quote!(::ophyd_core::implement::UnlessDeviceCustomTrigger)),
        (attr.custom_stop, quote!(::ophyd_core::implement::UnlessDeviceCustomStop)),
        (attr.custom_stream_assets, quote!(::ophyd_core::implement::UnlessDeviceCustomStreamAssets)),
    ]
    .into_iter()
    .filter(|(custom, _)| custom.is_none())
    .map(|(_, tr)| target.implement(tr, quote!()))
    .collect()
}

/// Compile-time checks of one component, each spanned at the token it is
/// about, so a mistake is reported once, where the user wrote it.
fn component_checks(field: &Field<'_>, attr: &ComponentAttr) -> TokenStream {
    let ty = field.ty;
    let mut checks = quote_spanned!(ty.span()=> ::ophyd_core::__private::assert_component::<#ty>(););
    if attr.broken {
        return checks;
    }
    // A vector's children, and a `pv` component, get their PVs otherwise.
    if attr.suffix.is_none() && attr.pv.is_none() && attr.vector.is_none() {
        checks.extend(quote_spanned!(ty.span()=> ::ophyd_core::__private::assert_suffix_optional::<#ty>();));
    }
    // On a derived signal, `put_complete` is reported (`valid`) instead.
    if let (Some(span), None) = (attr.put_complete, &attr.derived) {
        checks.extend(quote_spanned!(span=> ::ophyd_core::__private::assert_put_complete::<#ty>();));
    }
    checks
}

/// The plain fields a `pv` template names: the values a device is built
/// with (`new_with`'s arguments), in field order.
pub fn state_params<'d>(device: &'d Device<'_>) -> Vec<&'d Field<'d>> {
    let named: Vec<&str> = device
        .components()
        .filter(|(_, c)| !c.broken)
        .filter_map(|(_, c)| c.pv.as_ref())
        .flat_map(|pv| pv.names.iter().map(String::as_str))
        .collect();
    device.fields.iter().filter(|f| f.component.is_none() && named.contains(&f.name().as_str())).collect()
}

/// The parameter a state field is passed to `__ophyd_build` as: a name of
/// the derive's own, so it cannot shadow `meta` or `device`.
fn state_param(field: &Field<'_>) -> Ident {
    format_ident!("__ophyd_state_{}", field.name())
}

/// `Default::default()` for each state parameter, spanned at its type.
pub fn state_defaults(state: &[&Field<'_>]) -> Vec<TokenStream> {
    state.iter().map(|f| quote_spanned!(f.ty.span()=> ::core::default::Default::default())).collect()
}

/// `new_with(prefix, name, <state>..)`, when `pv` templates name plain
/// fields, with the body `body` gives for the arguments.
pub fn new_with(device: &Device<'_>, state: &[&Field<'_>], body: impl FnOnce(&[&Ident]) -> TokenStream) -> TokenStream {
    if state.is_empty() {
        return TokenStream::new();
    }
    let idents: Vec<&Ident> = state.iter().map(|f| f.ident).collect();
    let params = state.iter().map(|f| {
        let (ident, ty) = (f.ident, f.ty);
        quote!(#ident: #ty)
    });
    let names = state.iter().map(|f| format!("`{}`", f.name())).collect::<Vec<_>>().join(", ");
    let doc = format!(
        " Build a `{}` named `name` whose PVs are made from `prefix` and {names} (`new` takes their defaults).",
        device.ident
    );
    let body = body(&idents);
    quote! {
        #[doc = #doc]
        pub fn new_with(prefix: &str, name: &str, #(#params),*) -> Self {
            #body
        }
    }
}

/// `let __ophyd_pv_<field> = format!("<template>", prefix = .., <state> = ..);`:
/// the PV of a `pv` component, formatted from the user's own literal so
/// that `format!` reports a bad format spec there.
fn pv_template(field: &Field<'_>, pv: &crate::attr::PvTemplate) -> TokenStream {
    let local = format_ident!("__ophyd_pv_{}", field.name());
    let lit = &pv.lit;
    let args = pv.names.iter().map(|name| {
        let ident = format_ident!("{}", name, span = lit.span());
        if name == "prefix" {
            quote!(#ident = meta.prefix())
        } else {
            let param = format_ident!("__ophyd_state_{}", name);
            quote!(#ident = #param)
        }
    });
    quote!(let #local = ::std::format!(#lit, #(#args),*);)
}

/// Bind a derived field to its sibling sources, after the struct is built.
/// Each source is shared through `Source`, spanned at its name in
/// `from(..)`: a field that is not an `Arc` is reported there.
fn bind_derived(device: &Device<'_>, field: &Field<'_>, derived: &crate::attr::DerivedAttr) -> TokenStream {
    let (ident, ty) = (field.ident, field.ty);
    let sources: Vec<TokenStream> = derived
        .from
        .iter()
        .map(|source| {
            let source_ty = device.fields.iter().find(|f| f.ident == source).map(|f| f.ty);
            // All of it at the source's type, where an `Arc` is missing: one
            // error, where the fix goes.
            let span = source_ty.map_or_else(|| source.span(), |ty| ty.span());
            respan(quote!(<#source_ty as ::ophyd_core::Source>::share(&device.#source)), span)
        })
        .collect();
    let sources = match sources.as_slice() {
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    };
    let raw_to_derived = &derived.raw_to_derived;
    let units = match &derived.units {
        Some(units) => quote!(::core::option::Option::Some(#units)),
        None => quote!(::core::option::Option::None),
    };
    let precision = match &derived.precision {
        Some(precision) => quote!(::core::option::Option::Some(#precision)),
        None => quote!(::core::option::Option::None),
    };
    match &derived.derived_to_raw {
        None => quote_spanned! {ty.span()=>
            <#ty as ::ophyd_core::__private::BindReadOnly>::bind_read_only(&device.#ident, #sources, #raw_to_derived, #units, #precision);
        },
        Some(derived_to_raw) => quote_spanned! {ty.span()=>
            <#ty as ::ophyd_core::__private::BindReadWrite>::bind_read_write(
                &device.#ident, #sources, #raw_to_derived, #derived_to_raw, #units, #precision,
            );
        },
    }
}

fn build_field(field: &Field<'_>, state: &[&Field<'_>]) -> TokenStream {
    let (ident, ty) = (field.ident, field.ty);
    let Some(c) = &field.component else {
        if state.iter().any(|f| f.ident == ident) {
            let param = state_param(field);
            return quote!(#ident: #param);
        }
        return quote_spanned!(ty.span()=> #ident: ::core::default::Default::default());
    };
    let attr = field.name();
    let suffix = c.suffix.as_ref().map(|s| s.value()).unwrap_or_default();
    let pv = match &c.pv {
        Some(_) => {
            let local = format_ident!("__ophyd_pv_{}", field.name());
            quote!(::core::option::Option::Some(&#local))
        }
        None => quote!(::core::option::Option::None),
    };
    let kind = kind_tokens(c);
    let put_complete = c.put_complete.is_some();
    let named_after_parent = c.named_after_parent.is_some();
    let spec = quote! {
        &::ophyd_core::implement::ComponentSpec {
            parent: &meta,
            attr: #attr,
            suffix: #suffix,
            pv: #pv,
            kind: #kind,
            put_complete: #put_complete,
            named_after_parent: #named_after_parent,
        }
    };
    match &c.vector {
        None => quote_spanned!(ty.span()=> #ident: <#ty as ::ophyd_core::Component>::build(#spec)),
        Some(vector) => {
            let first = proc_macro2::Literal::usize_unsuffixed(vector.first);
            let (attrs, suffixes) = (&vector.attrs, &vector.suffixes);
            quote_spanned! {ty.span()=>
                #ident: <#ty as ::ophyd_core::__private::FromTemplate>::from_template(
                    #spec,
                    &::ophyd_core::implement::VectorTemplate {
                        first: #first,
                        attrs: &[#(#attrs),*],
                        suffixes: &[#(#suffixes),*],
                    },
                )
            }
        }
    }
}

/// For generated code that uses the derive's own names (`self`, `out`,
/// `ctx`): reported at the user's token `span`, with those names
/// resolved where the derive expands. A field written by another macro than
/// the one that wrote the derive (a list of fields two struct macros share)
/// then still sees them.
fn at(span: proc_macro2::Span) -> proc_macro2::Span {
    proc_macro2::Span::call_site().located_at(span)
}

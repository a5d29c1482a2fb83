//! What an invalid struct still gets: nothing that could produce further
//! errors. The compile errors are the output; a constructor that cannot be
//! called keeps the user's own code from failing with "no function `new`".

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn expand(input: &DeriveInput, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let new = match &input.data {
        syn::Data::Struct(_) => quote! {
            #[automatically_derived]
            impl #impl_generics #ident #ty_generics #where_clause {
                #[allow(dead_code, unused_variables)]
                #[doc(hidden)]
                pub fn new(prefix: &str, name: &str) -> Self {
                    ::core::unreachable!("#[derive(Device)] failed to compile")
                }
            }
        },
        _ => quote! {},
    };
    quote! {
        #errors
        #new
    }
}

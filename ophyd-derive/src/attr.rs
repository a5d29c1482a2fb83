//! Parsing `#[component(...)]` and `#[device(...)]`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Ident, LitBool, LitStr, Token};

use crate::ctxt::Ctxt;

const COMPONENT_KEYS: [&str; 5] = ["suffix", "kind", "put_complete", "stage", "named_after_parent"];
pub const KINDS: [&str; 4] = ["normal", "config", "hinted", "omitted"];
const BEHAVIOURS: [&str; 3] = ["stage", "trigger", "stop"];

/// The parsed `#[component(...)]` of a field.
#[derive(Default)]
pub struct ComponentAttr {
    pub suffix: Option<LitStr>,
    /// The kind's name, lower case, with the literal for spans.
    pub kind: Option<(String, LitStr)>,
    pub put_complete: Option<Span>,
    pub stage: Option<Expr>,
    /// Where `named_after_parent` was written, if it was.
    pub named_after_parent: Option<Span>,
    /// Whether parsing it found a mistake: its checks are skipped, so the
    /// mistake is the only error (no "missing suffix" after a misspelt one).
    pub broken: bool,
}

/// The parsed `#[device(...)]` of the struct: for each behaviour listed in
/// `custom(...)`, the span of its name there, where a missing impl is
/// reported.
#[derive(Default)]
pub struct DeviceAttr {
    pub custom_stage: Option<Span>,
    pub custom_trigger: Option<Span>,
    pub custom_stop: Option<Span>,
}

fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn suggestion(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// Skip `= <expr>` after a key we could not use, so parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

fn string_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<Option<LitStr>> {
    let expr: Expr = meta.value()?.parse()?;
    match expr {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Ok(Some(s)),
        other => {
            cx.error_spanned_by(&other, format!("`{key}` takes a string literal, e.g. `{key} = {example}`"));
            Ok(None)
        }
    }
}

pub fn component_attr(cx: &Ctxt, attr: &Attribute) -> ComponentAttr {
    let errors_before = cx.error_count();
    let mut out = component_attr_inner(cx, attr);
    out.broken = cx.error_count() > errors_before;
    out
}

fn component_attr_inner(cx: &Ctxt, attr: &Attribute) -> ComponentAttr {
    let mut out = ComponentAttr::default();
    let mut seen: Vec<String> = Vec::new();
    if let syn::Meta::Path(_) = attr.meta {
        return out; // bare `#[component]`: all defaults
    }
    let result = attr.parse_nested_meta(|meta| {
        let Some(ident) = meta.path.get_ident().map(Ident::to_string) else {
            cx.error_spanned_by(&meta.path, format!("expected one of {}", quoted(&COMPONENT_KEYS)));
            return skip_value(&meta);
        };
        if seen.contains(&ident) {
            cx.error_spanned_by(&meta.path, format!("duplicate `{ident}`: give each key once"));
            return skip_value(&meta);
        }
        seen.push(ident.clone());
        match ident.as_str() {
            "suffix" => out.suffix = string_value(cx, &meta, "suffix", "\":gain\"")?,
            "kind" => {
                if let Some(lit) = string_value(cx, &meta, "kind", "\"config\"")? {
                    let value = lit.value();
                    if KINDS.contains(&value.as_str()) {
                        out.kind = Some((value, lit));
                    } else {
                        cx.error_spanned_by(
                            &lit,
                            format!(
                                "unknown kind `{value}`: expected one of {}{}",
                                quoted_strings(&KINDS),
                                suggestion(&value, &KINDS)
                            ),
                        );
                    }
                }
            }
            "put_complete" => {
                if meta.input.peek(Token![=]) {
                    let lit: LitBool = meta.value()?.parse()?;
                    if lit.value {
                        out.put_complete = Some(lit.span);
                    }
                } else {
                    out.put_complete = Some(meta.path.span());
                }
            }
            "stage" => out.stage = Some(meta.value()?.parse()?),
            "named_after_parent" => {
                if meta.input.peek(Token![=]) {
                    let lit: LitBool = meta.value()?.parse()?;
                    if lit.value {
                        out.named_after_parent = Some(lit.span);
                    }
                } else {
                    out.named_after_parent = Some(meta.path.span());
                }
            }
            other => {
                cx.error_spanned_by(
                    &meta.path,
                    format!(
                        "unknown `#[component]` key `{other}`: expected one of {}{}",
                        quoted(&COMPONENT_KEYS),
                        suggestion(other, &COMPONENT_KEYS)
                    ),
                );
                return skip_value(&meta);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        cx.syn_error(e);
    }
    out
}

pub fn device_attr(cx: &Ctxt, attrs: &[Attribute]) -> DeviceAttr {
    let mut out = DeviceAttr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("device")) {
        let result = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("custom") {
                cx.error_spanned_by(
                    &meta.path,
                    "unknown `#[device]` key: expected `custom(...)`, e.g. `#[device(custom(trigger))]`",
                );
                return skip_value(&meta);
            }
            meta.parse_nested_meta(|b| {
                let name = b.path.get_ident().map(Ident::to_string).unwrap_or_default();
                let flag = match name.as_str() {
                    "stage" => &mut out.custom_stage,
                    "trigger" => &mut out.custom_trigger,
                    "stop" => &mut out.custom_stop,
                    _ => {
                        cx.error_spanned_by(
                            &b.path,
                            format!(
                                "`custom` lists behaviours you implement yourself: {}{}",
                                quoted(&BEHAVIOURS),
                                suggestion(&name, &BEHAVIOURS)
                            ),
                        );
                        return skip_value(&b);
                    }
                };
                if flag.is_some() {
                    cx.error_spanned_by(&b.path, format!("duplicate `{name}`"));
                }
                *flag = Some(b.path.span());
                Ok(())
            })
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    out
}

fn quoted(words: &[&str]) -> String {
    words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
}

fn quoted_strings(words: &[&str]) -> String {
    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
}

trait PathSpan {
    fn span(&self) -> Span;
}

impl PathSpan for syn::Path {
    fn span(&self) -> Span {
        self.segments.first().map(|s| s.ident.span()).unwrap_or_else(Span::call_site)
    }
}

//! Parsing `#[component(...)]` and `#[device(...)]`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Ident, LitBool, LitInt, LitStr, Token};

use crate::ctxt::Ctxt;
use crate::template::Template;

const COMPONENT_KEYS: [&str; 8] =
    ["suffix", "pv", "kind", "put_complete", "stage", "named_after_parent", "vector", "derived"];
const VECTOR_KEYS: [&str; 4] = ["count", "start", "suffix", "attr"];
const DERIVED_KEYS: [&str; 5] = ["from", "raw_to_derived", "derived_to_raw", "units", "precision"];
/// How many sources a derived signal may have (the tuples `Sources` is
/// implemented for).
const MAX_SOURCES: usize = 4;
pub const KINDS: [&str; 4] = ["normal", "config", "hinted", "omitted"];
const BEHAVIOURS: [&str; 4] = ["stage", "trigger", "stop", "stream_assets"];

/// The parsed `#[component(...)]` of a field.
#[derive(Default)]
pub struct ComponentAttr {
    pub suffix: Option<LitStr>,
    /// `pv = "..."`: the whole PV, from a template (ophyd's FormattedComponent).
    pub pv: Option<PvTemplate>,
    /// `vector(...)`: the field is a `DeviceVector` of children made from templates.
    pub vector: Option<VectorAttr>,
    /// `derived(...)`: the field is a derived signal of sibling sources.
    pub derived: Option<DerivedAttr>,
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

/// A parsed `pv = "..."`: the literal, and the names of its placeholders.
pub struct PvTemplate {
    pub lit: LitStr,
    pub names: Vec<String>,
}

/// A parsed `vector(count = N, start = S, suffix = "..{}", attr = "..{}")`.
pub struct VectorAttr {
    /// The first child's number (`start`, 1 by default, as ophyd's scaler
    /// channels `range(1, 33)`).
    pub first: usize,
    /// Each child's attribute name, in order.
    pub attrs: Vec<String>,
    /// Each child's PV suffix, in order.
    pub suffixes: Vec<String>,
}

/// A parsed `derived(from(a, b), raw_to_derived = f, derived_to_raw = g,
/// units = "..", precision = N)`.
pub struct DerivedAttr {
    /// Where `derived` was written.
    pub span: Span,
    /// The sibling fields it derives from, in order.
    pub from: Vec<Ident>,
    pub raw_to_derived: Expr,
    pub derived_to_raw: Option<Expr>,
    pub units: Option<LitStr>,
    pub precision: Option<LitInt>,
}

/// The parsed `#[device(...)]` of the struct: for each behaviour listed in
/// `custom(...)`, the span of its name there, where a missing impl is
/// reported.
#[derive(Default)]
pub struct DeviceAttr {
    pub custom_stage: Option<Span>,
    pub custom_trigger: Option<Span>,
    pub custom_stop: Option<Span>,
    pub custom_stream_assets: Option<Span>,
    /// `positioner`: the device implements `Positioner`, and says so to
    /// code that finds it as a parent's component.
    pub positioner: Option<Span>,
}

pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

pub fn suggestion(word: &str, candidates: &[&str]) -> String {
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
            "pv" => {
                if let Some(lit) = string_value(cx, &meta, "pv", "\"{prefix}:chan{ch}\"")? {
                    match Template::parse(&lit.value()).and_then(|t| t.names()) {
                        Ok(names) => out.pv = Some(PvTemplate { lit, names }),
                        Err(message) => cx.error_spanned_by(&lit, message),
                    }
                }
            }
            "vector" => out.vector = vector_attr(cx, &meta)?,
            "derived" => out.derived = derived_attr(cx, &meta)?,
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

/// The nested keys of `vector(...)` or `derived(...)`, each given once: a
/// misspelt or repeated key is reported, with the closest valid one.
fn nested_keys(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    what: &str,
    keys: &[&str],
    mut key: impl FnMut(&str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    let mut seen: Vec<String> = Vec::new();
    meta.parse_nested_meta(|inner| {
        let name = inner.path.get_ident().map(Ident::to_string).unwrap_or_default();
        if !keys.contains(&name.as_str()) {
            cx.error_spanned_by(
                &inner.path,
                format!("unknown `{what}` key `{name}`: expected one of {}{}", quoted(keys), suggestion(&name, keys)),
            );
            return skip_value(&inner);
        }
        if seen.contains(&name) {
            cx.error_spanned_by(&inner.path, format!("duplicate `{name}`: give each key once"));
            return skip_value(&inner);
        }
        seen.push(name.clone());
        key(&name, &inner)
    })
}

fn usize_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, key: &str, example: &str) -> syn::Result<Option<(usize, Span)>> {
    let expr: Expr = meta.value()?.parse()?;
    if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) = &expr {
        if let Ok(n) = int.base10_parse::<usize>() {
            return Ok(Some((n, int.span())));
        }
    }
    cx.error_spanned_by(&expr, format!("`{key}` takes a whole number, e.g. `{key} = {example}`"));
    Ok(None)
}

/// A vector template's literal, checked, with its pieces.
fn numbered_template(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    example: &str,
) -> syn::Result<Option<(Template, LitStr)>> {
    let Some(lit) = string_value(cx, meta, key, example)? else { return Ok(None) };
    let what = if key == "suffix" { "PV suffix" } else { "name" };
    match Template::parse(&lit.value()).and_then(|t| t.check_numbered(what).map(|()| t)) {
        Ok(t) => Ok(Some((t, lit))),
        Err(message) => {
            cx.error_spanned_by(&lit, format!("`{key}`: {message}"));
            Ok(None)
        }
    }
}

fn vector_attr(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<VectorAttr>> {
    let span = meta.path.span();
    let errors_before = cx.error_count();
    let (mut count, mut first, mut suffix, mut attr) = (None, None, None, None);
    nested_keys(cx, meta, "vector", &VECTOR_KEYS, |key, inner| {
        match key {
            "count" => count = usize_value(cx, inner, "count", "32")?,
            "start" => first = usize_value(cx, inner, "start", "1")?.map(|(n, _)| n),
            "suffix" => suffix = numbered_template(cx, inner, "suffix", "\".S{}\"")?.map(|(t, _)| t),
            _ => attr = numbered_template(cx, inner, "attr", "\"chan{}\"")?,
        }
        Ok(())
    })?;
    if cx.error_count() > errors_before {
        return Ok(None);
    }
    let missing = |key: &str, example: &str| {
        cx.syn_error(syn::Error::new(span, format!("`vector(..)` needs `{key}`, e.g. `vector({example})`")));
    };
    let Some((count, count_span)) = count else {
        missing("count", "count = 32, suffix = \".S{}\"");
        return Ok(None);
    };
    let Some(suffix) = suffix else {
        missing("suffix", "count = 32, suffix = \".S{}\"");
        return Ok(None);
    };
    if count == 0 {
        cx.syn_error(syn::Error::new(count_span, "a vector needs at least one child: `count = 1` or more"));
        return Ok(None);
    }
    let first = first.unwrap_or(1);
    // ophyd-async names a DeviceVector's children by their numbers alone.
    let (attr, attr_lit) = match attr {
        Some((t, lit)) => (t, Some(lit)),
        None => (Template::parse("{}").expect("a valid template"), None),
    };
    let attrs: Vec<String> = (first..first + count).map(|n| attr.number(n)).collect();
    if let Some(bad) = attrs.iter().find(|a| a.contains('.') || a.is_empty()) {
        let message = format!(
            "`attr` makes the name {bad:?}, which a dotted path (`lookup(\"field.{bad}\")`) cannot name: \
             leave out `.`"
        );
        match &attr_lit {
            Some(lit) => cx.error_spanned_by(lit, message),
            None => cx.syn_error(syn::Error::new(span, message)),
        }
        return Ok(None);
    }
    let suffixes = (first..first + count).map(|n| suffix.number(n)).collect();
    Ok(Some(VectorAttr { first, attrs, suffixes }))
}

fn derived_attr(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<DerivedAttr>> {
    let span = meta.path.span();
    let errors_before = cx.error_count();
    let (mut from, mut raw_to_derived, mut derived_to_raw, mut units, mut precision) = (None, None, None, None, None);
    nested_keys(cx, meta, "derived", &DERIVED_KEYS, |key, inner| {
        match key {
            "from" => {
                let mut sources = Vec::new();
                inner.parse_nested_meta(|source| {
                    match source.path.get_ident() {
                        Some(ident) => sources.push(ident.clone()),
                        None => cx.error_spanned_by(
                            &source.path,
                            "`from(..)` lists fields of the struct: `from(top, bottom)`",
                        ),
                    }
                    Ok(())
                })?;
                if sources.len() > MAX_SOURCES {
                    cx.error_spanned_by(
                        &sources[MAX_SOURCES],
                        format!("a derived signal takes at most {MAX_SOURCES} sources; derive from a derived signal for more"),
                    );
                }
                from = Some(sources);
            }
            "raw_to_derived" => raw_to_derived = Some(inner.value()?.parse::<Expr>()?),
            "derived_to_raw" => derived_to_raw = Some(inner.value()?.parse::<Expr>()?),
            "units" => units = string_value(cx, inner, "units", "\"mm\"")?,
            _ => {
                let expr: Expr = inner.value()?.parse()?;
                match expr {
                    Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) => precision = Some(int),
                    other => cx.error_spanned_by(&other, "`precision` takes a whole number, e.g. `precision = 3`"),
                }
            }
        }
        Ok(())
    })?;
    if cx.error_count() > errors_before {
        return Ok(None);
    }
    let from = match from {
        Some(from) if !from.is_empty() => from,
        _ => {
            cx.syn_error(syn::Error::new(
                span,
                "`derived(..)` needs its sources: `from(..)` lists the fields it is derived from, e.g. \
                 `derived(from(top, bottom), raw_to_derived = gap)`",
            ));
            return Ok(None);
        }
    };
    let Some(raw_to_derived) = raw_to_derived else {
        cx.syn_error(syn::Error::new(
            span,
            "`derived(..)` needs `raw_to_derived`: the function that makes the value from the sources' values, \
             e.g. `raw_to_derived = gap` with `fn gap(top: f64, bottom: f64) -> f64`",
        ));
        return Ok(None);
    };
    Ok(Some(DerivedAttr { span, from, raw_to_derived, derived_to_raw, units, precision }))
}

pub fn device_attr(cx: &Ctxt, attrs: &[Attribute]) -> DeviceAttr {
    let mut out = DeviceAttr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("device")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("positioner") {
                if out.positioner.is_some() {
                    cx.error_spanned_by(&meta.path, "duplicate `positioner`");
                }
                out.positioner = Some(meta.path.span());
                return Ok(());
            }
            if !meta.path.is_ident("custom") {
                cx.error_spanned_by(
                    &meta.path,
                    "unknown `#[device]` key: expected `custom(...)` or `positioner`, \
                     e.g. `#[device(custom(trigger))]`",
                );
                return skip_value(&meta);
            }
            meta.parse_nested_meta(|b| {
                let name = b.path.get_ident().map(Ident::to_string).unwrap_or_default();
                let flag = match name.as_str() {
                    "stage" => &mut out.custom_stage,
                    "trigger" => &mut out.custom_trigger,
                    "stop" => &mut out.custom_stop,
                    "stream_assets" => &mut out.custom_stream_assets,
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

pub fn quoted(words: &[&str]) -> String {
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

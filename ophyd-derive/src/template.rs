//! The templates the derive reads: a `pv` template (`"{prefix}:chan{ch}"`,
//! named values formatted at run time) and a vector's templates
//! (`".S{}"`, `"chan{:02}"`, the child's number, expanded here).

/// A template, split at its placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    /// `{name:spec}`; `name` empty for `{}`.
    Value {
        name: String,
        spec: String,
    },
}

impl Template {
    /// Split `text` as `format!` would: `{{` and `}}` are braces, `{...}`
    /// a placeholder; anything else with a brace is an error saying so.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut inside = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(format!(
                                    "`{{` opens a placeholder that is not closed in {text:?}; write `{{{{` for a brace"
                                ))
                            }
                            Some(c) => inside.push(c),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    let (name, spec) = inside.split_once(':').unwrap_or((&inside, ""));
                    pieces.push(Piece::Value { name: name.trim().to_owned(), spec: spec.to_owned() });
                }
                '}' => return Err(format!("`}}` closes no placeholder in {text:?}; write `}}}}` for a brace")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The names of a `pv` template's placeholders, each once, in order;
    /// an error for a placeholder without a name.
    pub fn names(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Value { name, .. } = piece {
                if name.is_empty() {
                    return Err("a placeholder of `pv` names its value: `{prefix}` (the device's prefix) or a \
                                plain field of the struct, e.g. `{ch}`"
                        .into());
                }
                if !is_identifier(name) {
                    return Err(format!(
                        "`{{{name}}}` is not a value a `pv` template can use: write `{{prefix}}` (the device's \
                         prefix) or the name of a plain field of the struct, e.g. `{{ch}}`"
                    ));
                }
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        Ok(names)
    }

    /// Check a vector's template of children's `what` (`"PV suffix"`):
    /// its placeholders are `{}` or `{:0N}`, and there is at least one.
    pub fn check_numbered(&self, what: &str) -> Result<(), String> {
        let mut any = false;
        for piece in &self.pieces {
            if let Piece::Value { name, spec } = piece {
                if !name.is_empty() || zero_padding(spec).is_none() {
                    let written = if spec.is_empty() { format!("{{{name}}}") } else { format!("{{{name}:{spec}}}") };
                    return Err(format!(
                        "`{written}` is not a child's number: a vector's template takes `{{}}` (the number) \
                         or `{{:02}}` (the number zero-padded to 2 digits)"
                    ));
                }
                any = true;
            }
        }
        if any {
            Ok(())
        } else {
            Err(format!("every child would get the same {what}: put `{{}}` where each child's number goes"))
        }
    }

    /// A vector's template with the child's number `n` in place.
    pub fn number(&self, n: usize) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Value { spec, .. } => format!("{n:0width$}", width = zero_padding(spec).unwrap_or(0)),
            })
            .collect()
    }
}

/// The width of a `0N` format spec (`""` is no padding).
fn zero_padding(spec: &str) -> Option<usize> {
    if spec.is_empty() {
        return Some(0);
    }
    let digits = spec.strip_prefix('0')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pv_template_lists_its_names_once_and_keeps_escaped_braces_as_text() {
        let t = Template::parse("{prefix}:chan{ch:02}{{x}}{ch}").unwrap();
        assert_eq!(t.names().unwrap(), ["prefix", "ch"]);
        assert!(Template::parse("{prefix}:{}").unwrap().names().unwrap_err().contains("names its value"));
        assert!(Template::parse("{a b}").unwrap().names().unwrap_err().contains("`{a b}`"));
        assert!(Template::parse("{prefix").unwrap_err().contains("not closed"));
        assert!(Template::parse("prefix}").unwrap_err().contains("closes no placeholder"));
    }

    #[test]
    fn a_vector_template_numbers_each_child_with_its_padding() {
        let t = Template::parse("chan{:02}").unwrap();
        t.check_numbered("name").unwrap();
        assert_eq!((t.number(1), t.number(32), t.number(123)), ("chan01".into(), "chan32".into(), "chan123".into()));
        assert_eq!(Template::parse("ROI{}:{{}}").unwrap().number(4), "ROI4:{}");
        assert!(Template::parse(".S").unwrap().check_numbered("PV suffix").unwrap_err().contains("same PV suffix"));
        assert!(Template::parse(".S{n}").unwrap().check_numbered("name").unwrap_err().contains("`{n}`"));
        assert!(Template::parse(".S{:x}").unwrap().check_numbered("name").unwrap_err().contains("`{:x}`"));
    }
}

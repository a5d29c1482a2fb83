//! areaDetector's file name template: the C `printf` format that
//! `FileTemplate` holds, applied to `FilePath`, `FileName` and
//! `FileNumber`, in that order (`"%s%s_%6.6d.h5"` → `/data/scan_000007.h5`).

/// An argument of the template, in the order the plugin passes them.
enum Arg<'a> {
    Text(&'a str),
    Number(i64),
}

/// A template areaDetector could not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("file template {template:?}: {reason}")]
pub struct TemplateError {
    /// The template.
    pub template: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The longest file name ADCore holds (`MAX_FILENAME_LEN`).
const MAX_FILENAME_LEN: usize = 256;

/// The full file name `template` makes of `path`, `name` and `number`, as
/// NDPluginFile's `epicsSnprintf(template, path, name, number)` does: each
/// conversion takes the next argument; `%s` takes text, `%d`, `%i` and `%u`
/// the number; flags (`-`, `0`, `+`, space), a width and a precision are
/// honoured; `%%` is a `%`.
///
/// ```
/// use ophyd_areadetector::format_file_template;
/// assert_eq!(format_file_template("%s%s_%6.6d.h5", "/data/", "scan", 7).unwrap(), "/data/scan_000007.h5");
/// assert_eq!(format_file_template("%s%s.h5", "/data/", "scan", 7).unwrap(), "/data/scan.h5");
/// assert!(format_file_template("%s%s%f", "/data/", "scan", 7).is_err());
/// assert!(format_file_template("%s%s_%999999999999d.h5", "/data/", "scan", 7).is_err());
/// ```
pub fn format_file_template(template: &str, path: &str, name: &str, number: i32) -> Result<String, TemplateError> {
    let error = |reason: String| TemplateError { template: template.to_owned(), reason };
    let mut args = [Arg::Text(path), Arg::Text(name), Arg::Number(number.into())].into_iter();
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if !"-0+ #".contains(f) {
                break;
            }
            flags.push(f);
            chars.next();
        }
        let digits = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let mut n = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            n.parse::<usize>().ok()
        };
        let width = digits(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(digits(&mut chars).unwrap_or(0))
        } else {
            None
        };
        // ADCore's file names hold at most MAX_FILENAME_LEN characters: a
        // wider field is a mistake, not a name to allocate.
        if width.max(precision).is_some_and(|w| w > MAX_FILENAME_LEN) {
            return Err(error(format!("a field wider than {MAX_FILENAME_LEN} characters makes no file name")));
        }
        let conversion = chars.next().ok_or_else(|| error("it ends in the middle of a conversion".into()))?;
        if conversion == '%' {
            out.push('%');
            continue;
        }
        let body = match (conversion, args.next()) {
            ('s', Some(Arg::Text(text))) => match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text.to_owned(),
            },
            ('d' | 'i' | 'u', Some(Arg::Number(n))) => {
                let digits = n.unsigned_abs().to_string();
                let digits = match precision {
                    Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                    _ => digits,
                };
                let sign = if n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                let zero_pad = flags.contains('0') && !flags.contains('-') && precision.is_none();
                match width {
                    Some(w) if zero_pad && sign.len() + digits.len() < w => {
                        format!("{sign}{}{digits}", "0".repeat(w - sign.len() - digits.len()))
                    }
                    _ => format!("{sign}{digits}"),
                }
            }
            (c, Some(Arg::Text(_))) => {
                return Err(error(format!("`%{c}` takes the file path or name, which are text: use `%s`")))
            }
            (c, Some(Arg::Number(_))) if "sdiu".contains(c) => {
                return Err(error(format!("`%{c}` takes the file number, a number: use `%d`")))
            }
            (c, Some(_)) => return Err(error(format!("`%{c}` is not a conversion areaDetector's templates use"))),
            (_, None) => return Err(error("it has more conversions than the path, the name and the number".into())),
        };
        let pad = width.unwrap_or(0).saturating_sub(body.chars().count());
        if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&body);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_format_as_c_printf_does() {
        let f = |t: &str, n: i32| format_file_template(t, "/d/", "x", n).unwrap();
        assert_eq!(f("%s%s_%3.3d.h5", 5), "/d/x_005.h5");
        assert_eq!(f("%s%s_%06d.h5", 5), "/d/x_000005.h5");
        assert_eq!(f("%s%s_%6d.h5", 5), "/d/x_     5.h5");
        assert_eq!(f("%s%s_%-4d|", 5), "/d/x_5   |");
        assert_eq!(f("%s%s_%d", -12), "/d/x_-12");
        assert_eq!(f("%s%s_%+d", 3), "/d/x_+3");
        assert_eq!(f("%s%.1s%%", 0), "/d/x%");
        assert_eq!(f("no conversions", 0), "no conversions");
    }

    #[test]
    fn a_template_that_does_not_fit_the_arguments_is_refused_saying_why() {
        let err = |t: &str| format_file_template(t, "/d/", "x", 1).unwrap_err().reason;
        assert!(err("%d%s%d").contains("use `%s`"));
        assert!(err("%s%s%s").contains("use `%d`"));
        assert!(err("%s%s%d%d").contains("more conversions"));
        assert!(err("%s%s%f").contains("`%f`"));
        assert!(err("%s%").contains("ends"));
    }
}

//! `summary()`: a text overview of a device — ophyd's `Device.summary()`
//! (data keys with hints marked, read and configuration attributes,
//! unused attributes), each attribute also with its source and current
//! value.

use std::fmt;

use futures::future::join_all;

use crate::component::{lookup, DynDevice};
use crate::device::{configuration_attrs_of, hints_of, read_attrs_of};
use crate::error::Result;
use crate::value::Value;

/// What [`Device::summary`](crate::Device::summary) gives: print it (`Display`) for ophyd's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The device's name.
    pub name: String,
    /// The device's labels.
    pub labels: Vec<String>,
    /// `describe()`'s data keys, sorted, each with whether it is hinted;
    /// `Err` with the reason if describe() failed.
    pub data_keys: std::result::Result<Vec<(String, bool)>, String>,
    /// The components `read()` covers.
    pub read_attrs: Vec<SummaryLine>,
    /// `describe_configuration()`'s data keys, sorted, or why it failed.
    pub config_keys: std::result::Result<Vec<String>, String>,
    /// The components `read_configuration()` covers.
    pub configuration_attrs: Vec<SummaryLine>,
    /// The components neither covers (kind omitted).
    pub unused_attrs: Vec<SummaryLine>,
}

/// One component in a [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryLine {
    /// The dotted attribute path (`"cam.acquire_time"`).
    pub attr: String,
    /// The component's type, without module paths (`"EpicsSignal<f64>"`).
    pub type_name: String,
    /// The component's name (a signal's data key).
    pub name: String,
    /// Where a signal's value lives (`"PV:det:gain"`); `None` for a device.
    pub source: Option<String>,
    /// A signal's current value, or why it could not be read; `None` for a
    /// device.
    pub value: Option<std::result::Result<Value, String>>,
}

/// [`Device::summary`](crate::Device::summary) of a device known only as a
/// [`DynDevice`] (a device of any type, as the Python module holds them).
pub async fn summary_dyn(device: &dyn DynDevice) -> Summary {
    let read_attrs = read_attrs_of(device);
    let configuration_attrs = configuration_attrs_of(device);
    let unused: Vec<String> = device
        .components()
        .into_iter()
        .map(|(attr, _)| attr)
        .filter(|a| !read_attrs.iter().chain(&configuration_attrs).any(|used| used == a))
        .map(str::to_owned)
        .collect();
    let hints = hints_of(device).fields;
    let (described, configuration, read_lines, configuration_lines, unused_lines) = futures::join!(
        device.describe_dyn(),
        device.describe_configuration_dyn(),
        lines(device, &read_attrs),
        lines(device, &configuration_attrs),
        lines(device, &unused),
    );
    Summary {
        name: device.meta().name().to_owned(),
        labels: device.meta().labels(),
        data_keys: sorted_keys(described)
            .map(|keys| keys.into_iter().map(|k| (k.clone(), hints.contains(&k))).collect()),
        read_attrs: read_lines,
        config_keys: sorted_keys(configuration),
        configuration_attrs: configuration_lines,
        unused_attrs: unused_lines,
    }
}

fn sorted_keys<T>(described: Result<crate::data::DataMap<T>>) -> std::result::Result<Vec<String>, String> {
    let mut keys: Vec<String> = described.map_err(|e| e.to_string())?.keys().map(|k| k.to_string()).collect();
    keys.sort();
    Ok(keys)
}

/// The lines of `attrs`, their signals read together.
async fn lines(device: &dyn DynDevice, attrs: &[String]) -> Vec<SummaryLine> {
    join_all(attrs.iter().map(|attr| async move {
        let component = lookup(device, attr).expect("attribute lists name components of the device");
        let signal = component.as_signal();
        let value = match signal {
            Some(s) => Some(s.get_value().await.map_err(|e| e.to_string())),
            None => None,
        };
        SummaryLine {
            attr: attr.clone(),
            type_name: short_type_name(component.type_name()),
            name: component.name().to_owned(),
            source: signal.map(|s| s.source().to_owned()),
            value,
        }
    }))
    .await
}

/// `ophyd_epics::signal::EpicsSignal<alloc::string::String>` →
/// `EpicsSignal<String>`: each path keeps its last segment.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            continue;
        }
        push_last_segment(&mut out, &full[segment_start..i]);
        out.push(c);
        segment_start = i + c.len_utf8();
    }
    push_last_segment(&mut out, &full[segment_start..]);
    out
}

fn push_last_segment(out: &mut String, path: &str) {
    out.push_str(path.rsplit("::").next().unwrap_or(path));
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.labels.is_empty() {
            writeln!(f, "labels: {}\n", self.labels.join(", "))?;
        }
        section(f, "data keys (* hints)", |f| match &self.data_keys {
            Ok(keys) => keys.iter().try_for_each(|(k, hinted)| writeln!(f, "{}{k}", if *hinted { '*' } else { ' ' })),
            Err(e) => writeln!(f, "(describe() failed: {e})"),
        })?;
        section(f, "read attrs", |f| self.read_attrs.iter().try_for_each(|l| writeln!(f, "{l}")))?;
        section(f, "config keys", |f| match &self.config_keys {
            Ok(keys) => keys.iter().try_for_each(|k| writeln!(f, "{k}")),
            Err(e) => writeln!(f, "(describe_configuration() failed: {e})"),
        })?;
        section(f, "configuration attrs", |f| self.configuration_attrs.iter().try_for_each(|l| writeln!(f, "{l}")))?;
        section(f, "unused attrs", |f| self.unused_attrs.iter().try_for_each(|l| writeln!(f, "{l}")))
    }
}

fn section(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    body: impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    writeln!(f, "{title}\n{}", "-".repeat(title.len()))?;
    body(f)?;
    writeln!(f)
}

impl fmt::Display for SummaryLine {
    /// ophyd's `attr  Type  ('name')`, then the source and current value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("('{}')", self.name);
        write!(f, "{:<20} {:<20}{name}", self.attr, self.type_name)?;
        if let Some(source) = &self.source {
            write!(f, "  {source}")?;
        }
        match &self.value {
            Some(Ok(value)) => write!(f, " = {value}"),
            Some(Err(e)) => write!(f, " = ? ({e})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_keep_the_last_segment_of_every_path() {
        assert_eq!(short_type_name("ophyd_epics::signal::EpicsSignal<alloc::string::String>"), "EpicsSignal<String>");
        assert_eq!(short_type_name("a::B<c::D, (e::F, [u8; 3])>"), "B<D, (F, [u8; 3])>");
        assert_eq!(short_type_name("f64"), "f64");
    }
}

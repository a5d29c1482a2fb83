//! What `read()` and `describe()` return: ordered maps of data keys to
//! [`Reading`]s and [`DataKey`]s, serializing to the JSON ophyd produces.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::value::{Dtype, Value};

/// An ordered map from data key (`<device>_<field>`) to `T`, in component
/// order, the way ophyd's `OrderedDict`s are. Serializes as a JSON object.
///
/// ```
/// use ophyd_core::{DataMap, Reading, Value};
/// let mut m = DataMap::new();
/// m.insert("det_reading".into(), Reading::new(Value::Float(0.5), 1.0));
/// assert_eq!(m.get("det_reading").unwrap().value, Value::Float(0.5));
/// assert_eq!(
///     serde_json::to_string(&m).unwrap(),
///     r#"{"det_reading":{"value":0.5,"timestamp":1.0}}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DataMap<T> {
    entries: Vec<(Arc<str>, T)>,
}

impl<T> Default for DataMap<T> {
    fn default() -> Self {
        DataMap { entries: Vec::new() }
    }
}

impl<T> DataMap<T> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        DataMap { entries: Vec::with_capacity(n) }
    }

    /// A map of entries whose keys are known to be distinct.
    pub(crate) fn from_entries(entries: Vec<(Arc<str>, T)>) -> Self {
        DataMap { entries }
    }

    /// Add an entry, replacing (in place) any entry with the same key, as
    /// `OrderedDict.update` does.
    pub fn insert(&mut self, key: Arc<str>, value: T) {
        if let Some(slot) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.entries.push((key, value));
        }
    }

    /// Append an entry whose key is known to be new: a signal adding its
    /// own reading (component names are unique within a device tree). The
    /// read path takes this, not [`DataMap::insert`]'s search.
    pub fn push(&mut self, key: Arc<str>, value: T) {
        debug_assert!(!self.contains_key(&key), "data key `{key}` added twice");
        self.entries.push((key, value));
    }

    /// The entry for `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.entries.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Move every entry of `other` into `self` (`OrderedDict.update`).
    pub fn extend(&mut self, other: DataMap<T>) {
        for (k, v) in other.entries {
            self.insert(k, v);
        }
    }
}

impl<T> IntoIterator for DataMap<T> {
    type Item = (Arc<str>, T);
    type IntoIter = std::vec::IntoIter<(Arc<str>, T)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<T: Serialize> Serialize for DataMap<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

/// One reading of a signal: `{"value": .., "timestamp": ..}`, plus the alarm
/// severity when the source reports one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The value.
    pub value: Value,
    /// When the value was taken, in seconds since the Unix epoch.
    pub timestamp: f64,
    /// The EPICS alarm severity (0 none, 1 minor, 2 major, 3 invalid), when
    /// known. Not serialized: ophyd's readings hold only value and timestamp.
    #[serde(skip)]
    pub alarm_severity: Option<i32>,
}

impl Reading {
    /// A reading with no alarm information.
    pub fn new(value: Value, timestamp: f64) -> Self {
        Reading { value, timestamp, alarm_severity: None }
    }
}

/// The current time in Unix seconds, as ophyd's `time.time()`.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// An event-model data key: what `describe()` says about one reading.
///
/// Field order and presence follow Python ophyd 1.11: `source`, `dtype`,
/// `shape`, then, for EPICS signals, `units` and the control limits (always
/// present, `null` when the PV has none), `precision` (only when the PV has
/// one) and `enum_strs` (only for enums). The outer `Option` of a field says
/// whether the key is present; the inner one whether its value is `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataKey {
    /// Where the value comes from: `"PV:<name>"`, or `"SIM:<name>"` for soft
    /// signals. Shared with the signal, so describing copies no text.
    pub source: Arc<str>,
    /// The event-model dtype.
    pub dtype: Dtype,
    /// The shape: `[]` for scalars, `[len]` for arrays.
    pub shape: Vec<usize>,
    /// Engineering units.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub units: Option<Option<String>>,
    /// Lower control (drive) limit, in the PV's own number type.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lower_ctrl_limit: Option<Option<Value>>,
    /// Upper control (drive) limit.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upper_ctrl_limit: Option<Option<Value>>,
    /// Display precision.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub precision: Option<i16>,
    /// An enum's strings, in index order.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enum_strs: Option<Vec<String>>,
    /// The numpy dtype string of the data (`"<u2"`), for data stored
    /// outside the events (event-model's `dtype_numpy`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dtype_numpy: Option<String>,
    /// Where data that is not in the events lives: `"STREAM:"` for data
    /// that StreamResource and StreamDatum documents point at.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub external: Option<String>,
}

impl DataKey {
    /// A data key with only `source`, `dtype` and `shape`.
    pub fn new(source: impl Into<Arc<str>>, dtype: Dtype, shape: Vec<usize>) -> Self {
        DataKey {
            source: source.into(),
            dtype,
            shape,
            units: None,
            lower_ctrl_limit: None,
            upper_ctrl_limit: None,
            precision: None,
            enum_strs: None,
            dtype_numpy: None,
            external: None,
        }
    }
}

/// What `hints()` returns: `{"fields": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hints {
    /// The data keys worth plotting.
    pub fields: Vec<String>,
}

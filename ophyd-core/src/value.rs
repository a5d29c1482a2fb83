//! Values: the dynamic [`Value`] that readings carry, and [`SignalValue`],
//! the typed values a signal can hold.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value as it appears in `read()` and in `stage_sigs`: what ophyd would
/// hold in a Python object. Serializes as the bare JSON value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer (also an enum's index).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (also an enum given by its label).
    String(String),
    /// An array of integers.
    IntArray(Vec<i64>),
    /// An array of floating-point numbers.
    FloatArray(Vec<f64>),
    /// An array of strings.
    StringArray(Vec<String>),
}

impl Value {
    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::IntArray(_) => "integer array",
            Value::FloatArray(_) => "number array",
            Value::StringArray(_) => "string array",
        }
    }

    /// The value as a float, if it is a scalar number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The event-model shape of the value: `[]` for scalars, `[len]` for arrays.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Value::IntArray(v) => vec![v.len()],
            Value::FloatArray(v) => vec![v.len()],
            Value::StringArray(v) => vec![v.len()],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::IntArray(v) => write!(f, "{v:?}"),
            Value::FloatArray(v) => write!(f, "{v:?}"),
            Value::StringArray(v) => write!(f, "{v:?}"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident as $as:ty),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(<$as>::from(v))
            }
        }
    )*};
}
value_from!(
    i8 => Int as i64, i16 => Int as i64, i32 => Int as i64, i64 => Int as i64,
    u8 => Int as i64, u16 => Int as i64, u32 => Int as i64,
    f32 => Float as f64, f64 => Float as f64,
    String => String as String, &str => String as String,
);

/// The event-model `dtype` of a data key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// A floating-point scalar.
    Number,
    /// An integer scalar (enums too: they are read as their index).
    Integer,
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// An array of any element type.
    Array,
}

/// An enum value: read as its index, written by index or by label.
///
/// A value read with the enum's strings ([`Enum::labelled`]; an EPICS
/// signal's `get_labelled`) carries both, and prints as its label.
///
/// ```
/// use ophyd_core::Enum;
/// assert_eq!(Enum::from(1), Enum::Index(1));
/// assert_eq!(Enum::from("on"), Enum::Label("on".into()));
/// let strings = ["off".to_owned(), "on".to_owned()];
/// let read = Enum::Index(1).labelled(&strings);
/// assert_eq!(read.to_string(), "on");
/// assert_eq!((read.index(), read.label()), (Some(1), Some("on")));
/// ```
///
/// The variants compare as they are: `Enum::Index(1)` is not equal to the
/// same value labelled; compare [`Enum::index`] or [`Enum::label`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Enum {
    /// The index into the enum's strings.
    Index(u16),
    /// One of the enum's strings; resolved to an index by whoever holds them.
    Label(String),
    /// An index with its string, as read along with the enum's strings.
    Labelled {
        /// The index into the enum's strings.
        index: u16,
        /// The string at `index`.
        label: String,
    },
}

impl Default for Enum {
    fn default() -> Self {
        Enum::Index(0)
    }
}

impl Enum {
    /// The index, if known.
    pub fn index(&self) -> Option<u16> {
        match self {
            Enum::Index(index) | Enum::Labelled { index, .. } => Some(*index),
            Enum::Label(_) => None,
        }
    }

    /// The label, if known (Python ophyd's `get(as_string=True)`).
    pub fn label(&self) -> Option<&str> {
        match self {
            Enum::Label(label) | Enum::Labelled { label, .. } => Some(label),
            Enum::Index(_) => None,
        }
    }

    /// Resolve a label against the enum's strings (an index stays as it is).
    pub fn resolve(&self, strings: &[String]) -> Option<u16> {
        match self {
            Enum::Index(index) | Enum::Labelled { index, .. } => Some(*index),
            Enum::Label(l) => strings.iter().position(|s| s == l).map(|i| i as u16),
        }
    }

    /// This value with both its index and its label, looked up in the
    /// enum's `strings`; as it is if they do not have it (an index beyond
    /// them, a label not among them).
    pub fn labelled(self, strings: &[String]) -> Enum {
        let Some(index) = self.resolve(strings) else { return self };
        match strings.get(usize::from(index)) {
            Some(label) => Enum::Labelled { index, label: label.clone() },
            None => self,
        }
    }
}

/// An index prints as its number, a label as its string quoted (as it was
/// written), a labelled value as its label.
impl fmt::Display for Enum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Enum::Index(i) => write!(f, "{i}"),
            Enum::Label(l) => write!(f, "{l:?}"),
            Enum::Labelled { label, .. } => f.write_str(label),
        }
    }
}

impl From<u16> for Enum {
    fn from(i: u16) -> Enum {
        Enum::Index(i)
    }
}
impl From<u8> for Enum {
    fn from(i: u8) -> Enum {
        Enum::Index(i.into())
    }
}
/// Integer literals (`stage = 1`) are `i32`; a negative or too large index
/// saturates and is then refused by the PV as out of range.
impl From<i32> for Enum {
    fn from(i: i32) -> Enum {
        Enum::Index(i.clamp(0, u16::MAX as i32) as u16)
    }
}
impl From<&str> for Enum {
    fn from(s: &str) -> Enum {
        Enum::Label(s.to_owned())
    }
}
impl From<String> for Enum {
    fn from(s: String) -> Enum {
        Enum::Label(s)
    }
}

/// A type a signal can hold: converts to and from [`Value`], says its
/// event-model `dtype`, and compares with a tolerance for `set_and_wait`.
pub trait SignalValue: Clone + fmt::Debug + Send + Sync + 'static {
    /// The Rust name shown in error messages (`"f64"`, `"Enum"`).
    const TYPE_NAME: &'static str;

    /// The event-model dtype of a scalar of this type, or `Array`.
    const DTYPE: Dtype;

    /// This value as a dynamic [`Value`].
    fn to_value(&self) -> Value;

    /// A value of this type from a dynamic one, if it fits.
    fn from_value(value: &Value) -> Option<Self>;

    /// Whether `self` (a read-back) matches `target`, within `tolerance` for
    /// floating-point types.
    fn matches(&self, target: &Self, tolerance: Tolerance) -> bool;

    /// The value's event-model shape: `[]` for scalars, `[len]` for arrays.
    fn shape(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Whether every number in the value is finite (not NaN or infinite):
    /// [`set_and_wait`](crate::set_and_wait) refuses targets that are not.
    fn is_finite(&self) -> bool {
        true
    }
}

/// How close a floating-point read-back must be to its target (ophyd's
/// `atol`/`rtol`: `|a - b| <= atol + rtol * |b|`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tolerance {
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Tolerance {
    /// Exact equality.
    pub const EXACT: Tolerance = Tolerance { atol: 0.0, rtol: 0.0 };

    /// Whether `a` is within tolerance of `target`. A NaN read-back
    /// matches a NaN target: putting back a NaN original must end.
    pub fn accepts(&self, a: f64, target: f64) -> bool {
        a == target || (a.is_nan() && target.is_nan()) || (a - target).abs() <= self.atol + self.rtol * target.abs()
    }
}

macro_rules! float_value {
    ($($t:ty),*) => {$(
        impl SignalValue for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            const DTYPE: Dtype = Dtype::Number;
            fn to_value(&self) -> Value {
                Value::Float(f64::from(*self))
            }
            fn from_value(value: &Value) -> Option<Self> {
                value.as_f64().map(|f| f as $t)
            }
            fn matches(&self, target: &Self, tolerance: Tolerance) -> bool {
                tolerance.accepts(f64::from(*self), f64::from(*target))
            }
            fn is_finite(&self) -> bool {
                <$t>::is_finite(*self)
            }
        }
    )*};
}
float_value!(f32, f64);

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl SignalValue for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            const DTYPE: Dtype = Dtype::Integer;
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
            fn from_value(value: &Value) -> Option<Self> {
                match *value {
                    Value::Int(i) => <$t>::try_from(i).ok(),
                    Value::Float(f) if f.fract() == 0.0 => <$t>::try_from(f as i64).ok(),
                    _ => None,
                }
            }
            fn matches(&self, target: &Self, _: Tolerance) -> bool {
                self == target
            }
        }
    )*};
}
int_value!(i8, i16, i32, i64, u8, u16, u32);

impl SignalValue for bool {
    const TYPE_NAME: &'static str = "bool";
    const DTYPE: Dtype = Dtype::Boolean;
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn from_value(value: &Value) -> Option<Self> {
        match *value {
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
    fn matches(&self, target: &Self, _: Tolerance) -> bool {
        self == target
    }
}

impl SignalValue for String {
    const TYPE_NAME: &'static str = "String";
    const DTYPE: Dtype = Dtype::String;
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn matches(&self, target: &Self, _: Tolerance) -> bool {
        self == target
    }
}

impl SignalValue for Enum {
    const TYPE_NAME: &'static str = "Enum";
    const DTYPE: Dtype = Dtype::Integer;
    fn to_value(&self) -> Value {
        match self {
            Enum::Index(index) | Enum::Labelled { index, .. } => Value::Int(i64::from(*index)),
            Enum::Label(l) => Value::String(l.clone()),
        }
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => u16::try_from(*i).ok().map(Enum::Index),
            Value::String(s) => Some(Enum::Label(s.clone())),
            _ => None,
        }
    }
    /// The same index, or, where one side has no index, the same label.
    fn matches(&self, target: &Self, _: Tolerance) -> bool {
        match (self.index(), target.index()) {
            (Some(a), Some(b)) => a == b,
            _ => self.label().is_some() && self.label() == target.label(),
        }
    }
}

macro_rules! array_value {
    ($($t:ty => $variant:ident as $elem:ty),*) => {$(
        impl SignalValue for Vec<$t> {
            const TYPE_NAME: &'static str = concat!("Vec<", stringify!($t), ">");
            const DTYPE: Dtype = Dtype::Array;
            fn to_value(&self) -> Value {
                Value::$variant(self.iter().map(|x| <$elem>::from(x.clone())).collect())
            }
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => v.iter().map(|x| <$t>::try_from(x.clone()).ok()).collect(),
                    // A one-element waveform reads as a scalar (as in ophyd).
                    scalar => <$t>::from_value(scalar).map(|x| vec![x]),
                }
            }
            fn matches(&self, target: &Self, _: Tolerance) -> bool {
                self == target
            }
            fn shape(&self) -> Vec<usize> {
                vec![self.len()]
            }
        }
    )*};
}
array_value!(i8 => IntArray as i64, i16 => IntArray as i64, i32 => IntArray as i64,
             i64 => IntArray as i64, u8 => IntArray as i64, String => StringArray as String);

macro_rules! float_array_value {
    ($($t:ty),*) => {$(
        impl SignalValue for Vec<$t> {
            const TYPE_NAME: &'static str = concat!("Vec<", stringify!($t), ">");
            const DTYPE: Dtype = Dtype::Array;
            fn to_value(&self) -> Value {
                Value::FloatArray(self.iter().map(|x| f64::from(*x)).collect())
            }
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::FloatArray(v) => Some(v.iter().map(|x| *x as $t).collect()),
                    Value::IntArray(v) => Some(v.iter().map(|x| *x as $t).collect()),
                    // A one-element waveform reads as a scalar (as in ophyd).
                    scalar => scalar.as_f64().map(|x| vec![x as $t]),
                }
            }
            fn matches(&self, target: &Self, tolerance: Tolerance) -> bool {
                self.len() == target.len()
                    && self.iter().zip(target).all(|(a, b)| tolerance.accepts(f64::from(*a), f64::from(*b)))
            }
            fn shape(&self) -> Vec<usize> {
                vec![self.len()]
            }
            fn is_finite(&self) -> bool {
                self.iter().all(|x| x.is_finite())
            }
        }
    )*};
}
float_array_value!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_reads_as_index_and_writes_by_label() {
        assert_eq!(Enum::from_value(&Value::Int(1)), Some(Enum::Index(1)));
        assert_eq!(Enum::Label("on".into()).to_value(), Value::String("on".into()));
        let strings = vec!["off".to_string(), "on".to_string()];
        assert_eq!(Enum::from("on").resolve(&strings), Some(1));
        assert_eq!(Enum::from("maybe").resolve(&strings), None);
    }

    #[test]
    fn a_labelled_enum_prints_its_label_and_writes_its_index() {
        let strings = vec!["off".to_string(), "on".to_string()];
        let on = Enum::Index(1).labelled(&strings);
        assert_eq!(on, Enum::Labelled { index: 1, label: "on".into() });
        assert_eq!(on.to_string(), "on");
        assert_eq!(on.to_value(), Value::Int(1));
        assert_eq!(Enum::from("on").labelled(&strings), on, "a label gets its index too");
        assert_eq!(Enum::Index(7).labelled(&strings), Enum::Index(7), "beyond the strings: left as it is");
        assert_eq!(Enum::from("maybe").labelled(&strings), Enum::from("maybe"));
    }

    #[test]
    fn enums_match_by_index_or_else_by_label() {
        let on = Enum::Labelled { index: 1, label: "on".into() };
        let exact = Tolerance::EXACT;
        assert!(Enum::Index(1).matches(&on, exact) && on.matches(&Enum::Index(1), exact));
        assert!(Enum::from("on").matches(&on, exact));
        assert!(!Enum::Index(0).matches(&on, exact));
        assert!(!Enum::Index(1).matches(&Enum::from("on"), exact), "an index and a bare label cannot be compared");
    }

    #[test]
    fn float_tolerance_accepts_close_values_only() {
        let tol = Tolerance { atol: 0.01, rtol: 0.0 };
        assert!(1.005f64.matches(&1.0, tol));
        assert!(!1.02f64.matches(&1.0, tol));
        assert!(!1.0000001f64.matches(&1.0, Tolerance::EXACT));
    }

    #[test]
    fn a_nan_read_back_matches_a_nan_target_and_nothing_else() {
        assert!(f64::NAN.matches(&f64::NAN, Tolerance::EXACT));
        assert!(!f64::NAN.matches(&1.0, Tolerance { atol: 1.0, rtol: 1.0 }));
        assert!(!1.0f64.matches(&f64::NAN, Tolerance { atol: 1.0, rtol: 1.0 }));
        assert!(vec![f32::NAN, 1.0].matches(&vec![f32::NAN, 1.0], Tolerance::EXACT));
        assert!(!f64::INFINITY.is_finite() && !vec![1.0, f64::NAN].is_finite() && 2.0f64.is_finite());
    }

    #[test]
    fn integers_refuse_values_out_of_range() {
        assert_eq!(u8::from_value(&Value::Int(300)), None);
        assert_eq!(i32::from_value(&Value::Float(2.0)), Some(2));
        assert_eq!(i32::from_value(&Value::Float(2.5)), None);
        assert_eq!(f64::from_value(&Value::String("1".into())), None);
    }

    #[test]
    fn a_one_element_waveform_read_as_a_scalar_is_a_one_element_vec() {
        assert_eq!(Vec::<f64>::from_value(&Value::Float(2.5)), Some(vec![2.5]));
        assert_eq!(Vec::<i32>::from_value(&Value::Int(7)), Some(vec![7]));
        assert_eq!(Vec::<String>::from_value(&Value::String("a".into())), Some(vec!["a".to_string()]));
        assert_eq!(Vec::<f64>::from_value(&Value::String("a".into())), None);
    }

    #[test]
    fn values_serialize_as_bare_json() {
        let v = serde_json::to_string(&vec![Value::Int(1), Value::Float(0.5), Value::from("x")]).unwrap();
        assert_eq!(v, r#"[1,0.5,"x"]"#);
    }
}

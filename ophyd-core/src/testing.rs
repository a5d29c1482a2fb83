//! Assertions for the tests of your devices (ophyd-async's
//! `assert_reading`, `assert_configuration` and `assert_value`): compare
//! what a device reads with what you expect, floats within a tolerance,
//! timestamps ignored, and on a mismatch panic with a message that lists
//! the missing keys, the unexpected keys and the differing values side by
//! side.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> ophyd_core::Result<()> {
//! use ophyd_core::prelude::*;
//! use ophyd_core::testing::{assert_configuration, assert_reading, assert_value, reading};
//!
//! #[derive(Device)]
//! struct Det {
//!     #[component(kind = "hinted")]
//!     counts: SoftSignal<i32>,
//!     #[component(kind = "hinted")]
//!     rate: SoftSignal<f64>,
//!     #[component(kind = "config")]
//!     gain: SoftSignal<f64>,
//! }
//!
//! let det = Det::new("", "det");
//! det.counts.put(3).await?;
//! det.rate.put(0.1 + 0.2).await?;
//! assert_reading(&det, reading! {"det_counts" => 3, "det_rate" => 0.3}).await;
//! assert_configuration(&det, [("det_gain", 0.0)]).await;
//! assert_value(&det.rate, 0.3).await;
//! # Ok(()) }
//! ```
//!
//! A mismatch panics with, for instance:
//!
//! ```text
//! assert_reading: the reading of `det` is not the one expected
//!   missing (expected, not read):
//!     det_gain: 2.0
//!   unexpected (read, not expected):
//!     det_counts: 3
//!   different (expected | read):
//!     det_rate: 0.5 | 0.3
//! ```

use std::fmt;

use crate::component::DynDevice;
use crate::data::{DataMap, Reading};
use crate::signal::Signal;
use crate::value::{SignalValue, Tolerance, Value};

/// How close a floating-point value must be to the one expected, unless
/// [`Expected::tolerance`] says otherwise: pytest's `approx`, which
/// ophyd-async's assertions use (a relative 10^-6, an absolute 10^-12).
pub const DEFAULT_TOLERANCE: Tolerance = Tolerance { atol: 1e-12, rtol: 1e-6 };

/// The readings a test expects: data keys and values, in any order. Made
/// from an array or `Vec` of `(key, value)` pairs, with [`reading!`], or
/// with [`Expected::with`].
///
/// ```
/// use ophyd_core::testing::{reading, Expected};
/// use ophyd_core::{Tolerance, Value};
/// let expected = reading! {"det_reading" => 3.0, "det_mode" => "Single"};
/// assert_eq!(expected, Expected::new().with("det_reading", 3.0).with("det_mode", "Single"));
/// assert_eq!(expected, Expected::from([("det_reading", Value::Float(3.0)), ("det_mode", "Single".into())]));
/// let loose = reading! {"det_reading" => 3.0}.tolerance(Tolerance { atol: 0.1, rtol: 0.0 }).partial();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    entries: Vec<(String, Value)>,
    tolerance: Tolerance,
    partial: bool,
}

impl Default for Expected {
    fn default() -> Self {
        Expected { entries: Vec::new(), tolerance: DEFAULT_TOLERANCE, partial: false }
    }
}

impl Expected {
    /// Nothing expected yet: a device that reads nothing.
    pub fn new() -> Expected {
        Expected::default()
    }

    /// Expect `key` to read `value` too.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Expected {
        self.entries.push((key.into(), value.into()));
        self
    }

    /// Compare floating-point values within `tolerance` instead of
    /// [`DEFAULT_TOLERANCE`]; [`Tolerance::EXACT`] for bit-for-bit.
    pub fn tolerance(mut self, tolerance: Tolerance) -> Expected {
        self.tolerance = tolerance;
        self
    }

    /// Check only the keys expected: a key read and not expected is no
    /// mismatch (ophyd-async's `full_match=False`).
    pub fn partial(mut self) -> Expected {
        self.partial = true;
        self
    }

    /// How `actual` differs from what is expected; `None` if it does not.
    /// Timestamps and alarm severities are not compared.
    ///
    /// ```
    /// use ophyd_core::testing::reading;
    /// use ophyd_core::{DataMap, Reading, Value};
    /// let mut actual = DataMap::new();
    /// actual.insert("det_reading".into(), Reading::new(Value::Float(2.5), 1.0));
    /// let mismatch = reading! {"det_reading" => 3.0}.mismatch(&actual).unwrap();
    /// assert_eq!(mismatch.different, [("det_reading".to_owned(), Value::Float(3.0), Value::Float(2.5))]);
    /// assert!(reading! {"det_reading" => 2.5}.mismatch(&actual).is_none());
    /// ```
    pub fn mismatch(&self, actual: &DataMap<Reading>) -> Option<Mismatch> {
        let mut mismatch = Mismatch::default();
        for (key, value) in &self.entries {
            if !actual.contains_key(key) {
                mismatch.missing.push((key.clone(), value.clone()));
            }
        }
        for (key, reading) in actual.iter() {
            match self.entries.iter().find(|(expected, _)| expected == key) {
                Some((_, value)) if !same(value, &reading.value, self.tolerance) => {
                    mismatch.different.push((key.to_owned(), value.clone(), reading.value.clone()))
                }
                Some(_) => {}
                None if self.partial => {}
                None => mismatch.unexpected.push((key.to_owned(), reading.value.clone())),
            }
        }
        let agree = mismatch.missing.is_empty() && mismatch.unexpected.is_empty() && mismatch.different.is_empty();
        (!agree).then_some(mismatch)
    }
}

impl<K: Into<String>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Expected {
    fn from(entries: [(K, V); N]) -> Expected {
        entries.into_iter().collect()
    }
}

impl<K: Into<String>, V: Into<Value>> From<Vec<(K, V)>> for Expected {
    fn from(entries: Vec<(K, V)>) -> Expected {
        entries.into_iter().collect()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Expected {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Expected {
        entries.into_iter().fold(Expected::new(), |expected, (key, value)| expected.with(key, value))
    }
}

/// `Expected` readings, written as `reading! {"det_reading" => 3.0,
/// "det_mode" => "Single"}`: each key a string, each value anything
/// that converts into a [`Value`].
#[doc(hidden)]
#[macro_export]
macro_rules! __reading {
    ($($key:expr => $value:expr),* $(,)?) => {
        $crate::testing::Expected::new()$(.with($key, $value))*
    };
}

#[doc(inline)]
pub use crate::__reading as reading;

/// How a reading differs from the one expected.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mismatch {
    /// Keys expected and not read, with the value expected.
    pub missing: Vec<(String, Value)>,
    /// Keys read and not expected, with the value read.
    pub unexpected: Vec<(String, Value)>,
    /// Keys whose value differs: the value expected, then the value read.
    pub different: Vec<(String, Value, Value)>,
}

/// The mismatch's lines, indented under a heading of the caller's.
impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = |f: &mut fmt::Formatter<'_>, heading: &str, entries: &[(String, Value)]| -> fmt::Result {
            if !entries.is_empty() {
                write!(f, "\n  {heading}:")?;
                for (key, value) in entries {
                    write!(f, "\n    {key}: {}", Shown(value))?;
                }
            }
            Ok(())
        };
        pairs(f, "missing (expected, not read)", &self.missing)?;
        pairs(f, "unexpected (read, not expected)", &self.unexpected)?;
        if !self.different.is_empty() {
            f.write_str("\n  different (expected | read):")?;
            for (key, expected, actual) in &self.different {
                write!(f, "\n    {key}: {} | {}", Shown(expected), Shown(actual))?;
            }
        }
        Ok(())
    }
}

/// A value as a test wrote it: a float with its decimal point (`3.0`, not
/// `3`, which is an integer), a string quoted.
struct Shown<'a>(&'a Value);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Float(x) => write!(f, "{x:?}"),
            other => write!(f, "{other}"),
        }
    }
}

/// Whether `actual` is the value `expected`: numbers by value (an integer
/// expected matches the same float read), floats within `tolerance`,
/// arrays element by element, strings exactly.
fn same(expected: &Value, actual: &Value, tolerance: Tolerance) -> bool {
    let numbers = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(e, a)| tolerance.accepts(*a, *e));
    let floats = |v: &Value| -> Option<Vec<f64>> {
        match v {
            Value::IntArray(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Value::FloatArray(v) => Some(v.clone()),
            _ => None,
        }
    };
    match (expected, actual) {
        (Value::Int(e), Value::Int(a)) => e == a,
        (Value::IntArray(e), Value::IntArray(a)) => e == a,
        (Value::String(e), Value::String(a)) => e == a,
        (Value::StringArray(e), Value::StringArray(a)) => e == a,
        (e, a) => match (e.as_f64(), a.as_f64()) {
            (Some(e), Some(a)) => numbers(&[e], &[a]),
            _ => matches!((floats(e), floats(a)), (Some(e), Some(a)) if numbers(&e, &a)),
        },
    }
}

/// Assert that `device.read()` gives the readings `expected`: every key
/// expected and no other (unless [partial](Expected::partial)), floats
/// within the tolerance, timestamps ignored. Panics, naming the device and
/// listing every difference, if not, or if the read fails.
///
/// An enum reads as its index: expect `1`, not its label.
pub async fn assert_reading<D: DynDevice + ?Sized>(device: &D, expected: impl Into<Expected>) {
    let actual = device.read_dyn().await;
    check(["assert_reading", "reading", "read()"], device.name(), actual, expected.into());
}

/// Assert that `device.read_configuration()` gives the readings
/// `expected`, as [`assert_reading`] does for `read()`.
pub async fn assert_configuration<D: DynDevice + ?Sized>(device: &D, expected: impl Into<Expected>) {
    let actual = device.read_configuration_dyn().await;
    check(["assert_configuration", "configuration", "read_configuration()"], device.name(), actual, expected.into());
}

/// Panic if `actual`, what `call` of `device` gave, is not `expected`:
/// `[assertion, what, call]` name them in the message.
fn check(
    [assertion, what, call]: [&str; 3],
    device: &str,
    actual: crate::Result<DataMap<Reading>>,
    expected: Expected,
) {
    let actual = actual.unwrap_or_else(|e| panic!("{assertion}: {call} of `{device}` failed: {e}"));
    if let Some(mismatch) = expected.mismatch(&actual) {
        panic!("{assertion}: the {what} of `{device}` is not the one expected{mismatch}");
    }
}

/// Assert that `signal` holds `expected`: floats within
/// [`DEFAULT_TOLERANCE`], an enum by index, or by label when one side has
/// only its label (an EPICS signal's label is looked up in its PV's
/// strings first). Panics naming the signal, its source and both values if
/// not, or if the read fails.
pub async fn assert_value<S: Signal>(signal: &S, expected: impl Into<S::Value>) {
    let name = signal.signal_meta().name();
    let source = signal.source_name();
    let actual = signal.get().await.unwrap_or_else(|e| panic!("assert_value: reading `{name}` ({source}) failed: {e}"));
    let expected = expected.into();
    let expected = signal.normalize(expected.clone()).await.unwrap_or(expected);
    if !actual.matches(&expected, DEFAULT_TOLERANCE) {
        panic!(
            "assert_value: `{name}` ({source}) holds {}, not the {} expected",
            Shown(&actual.to_value()),
            Shown(&expected.to_value())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SoftSignal, Writable};

    fn read(entries: &[(&str, Value)]) -> DataMap<Reading> {
        let mut map = DataMap::new();
        for (key, value) in entries {
            map.insert((*key).into(), Reading::new(value.clone(), 1.7e9));
        }
        map
    }

    fn message(expected: Expected, actual: &DataMap<Reading>) -> String {
        let reading = ["assert_reading", "reading", "read()"];
        let result = std::panic::catch_unwind(|| check(reading, "det", Ok(actual.clone()), expected));
        let panic = result.expect_err("a mismatch panics");
        panic.downcast_ref::<String>().cloned().expect("a formatted message")
    }

    #[test]
    fn a_mismatch_lists_missing_unexpected_and_different_keys_side_by_side() {
        let actual = read(&[("det_counts", Value::Int(3)), ("det_rate", Value::Float(0.3))]);
        let expected = reading! {"det_rate" => 0.5, "det_gain" => 2.0};
        assert_eq!(
            message(expected, &actual),
            "assert_reading: the reading of `det` is not the one expected\n  \
             missing (expected, not read):\n    det_gain: 2.0\n  \
             unexpected (read, not expected):\n    det_counts: 3\n  \
             different (expected | read):\n    det_rate: 0.5 | 0.3"
        );
    }

    #[test]
    fn only_the_kinds_of_difference_found_are_listed() {
        let actual = read(&[("det_mode", Value::String("Single".into()))]);
        assert_eq!(
            message(reading! {"det_mode" => "Continuous"}, &actual),
            "assert_reading: the reading of `det` is not the one expected\n  \
             different (expected | read):\n    det_mode: \"Continuous\" | \"Single\""
        );
    }

    #[test]
    fn floats_match_within_the_tolerance_and_integers_exactly() {
        let actual = read(&[("a", Value::Float(0.1 + 0.2)), ("b", Value::Int(3)), ("c", Value::Float(3.0))]);
        assert_eq!(reading! {"a" => 0.3, "b" => 3, "c" => 3}.mismatch(&actual), None, "3 expected, 3.0 read: equal");
        let mismatch = reading! {"a" => 0.3, "b" => 4, "c" => 3.1}.mismatch(&actual).unwrap();
        assert_eq!(mismatch.different.iter().map(|(k, ..)| k.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        let exact = reading! {"a" => 0.3, "b" => 3, "c" => 3}.tolerance(Tolerance::EXACT);
        assert_eq!(exact.mismatch(&actual).unwrap().different.len(), 1);
        let loose = reading! {"a" => 0.3, "b" => 3, "c" => 3.1}.tolerance(Tolerance { atol: 0.2, rtol: 0.0 });
        assert_eq!(loose.mismatch(&actual), None);
    }

    #[test]
    fn arrays_match_element_by_element_and_strings_exactly() {
        let actual = read(&[("w", Value::FloatArray(vec![1.0, 2.0 + 1e-9])), ("s", Value::String("a".into()))]);
        let expected = Expected::new().with("w", Value::IntArray(vec![1, 2])).with("s", "a");
        assert_eq!(expected.mismatch(&actual), None);
        let shorter = Expected::new().with("w", Value::FloatArray(vec![1.0])).with("s", "A");
        assert_eq!(shorter.mismatch(&actual).unwrap().different.len(), 2);
        assert!(!same(&Value::String("1".into()), &Value::Int(1), DEFAULT_TOLERANCE), "no conversion of strings");
    }

    #[test]
    fn a_partial_expectation_ignores_keys_not_expected_but_not_keys_missing() {
        let actual = read(&[("det_counts", Value::Int(3)), ("det_rate", Value::Float(0.3))]);
        assert_eq!(reading! {"det_counts" => 3}.partial().mismatch(&actual), None);
        let mismatch = reading! {"det_gain" => 1}.partial().mismatch(&actual).unwrap();
        assert_eq!((mismatch.missing.len(), mismatch.unexpected.len()), (1, 0));
    }

    #[test]
    fn timestamps_are_not_compared() {
        let mut actual = read(&[("x", Value::Int(1))]);
        actual.insert("x".into(), Reading { value: Value::Int(1), timestamp: 0.0, alarm_severity: Some(2) });
        assert_eq!(reading! {"x" => 1}.mismatch(&actual), None);
    }

    #[test]
    #[should_panic(
        expected = "assert_configuration: read_configuration() of `det` failed: `det_x` (x) is not connected"
    )]
    fn a_failed_read_panics_with_its_error() {
        let error = crate::Error::NotConnected { signal: "det_x".into(), pv: "x".into() };
        check(["assert_configuration", "configuration", "read_configuration()"], "det", Err(error), Expected::new());
    }

    #[tokio::test]
    async fn a_value_within_the_tolerance_passes() {
        let gain = SoftSignal::new("gain", 0.0_f64);
        gain.put(0.1 + 0.2).await.unwrap();
        assert_value(&gain, 0.3).await;
    }

    #[tokio::test]
    #[should_panic(expected = "assert_value: `gain` (SIM:gain) holds 2.0, not the 3.0 expected")]
    async fn a_value_that_differs_panics_naming_the_signal_and_both_values() {
        let gain = SoftSignal::new("gain", 2.0_f64);
        assert_value(&gain, 3.0).await;
    }
}

//! Python values to ophyd-rs [`Value`]s (the other way is serde's, through
//! pythonize).

use ophyd_core::Value;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PySequence, PyString};

/// `value` as a [`Value`]: `bool` and integers (numpy's too) as integers,
/// other numbers as floats, `str` as text, sequences of one of those as
/// arrays.
pub fn to_value(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Some(scalar) = scalar(value)? {
        return Ok(scalar);
    }
    if let Some(Ok(items)) = value.cast::<PySequence>().ok().map(|s| s.try_iter()) {
        let items: Vec<Value> = items.map(|item| item.and_then(|i| to_value(&i))).collect::<PyResult<_>>()?;
        let ints: Option<Vec<i64>> =
            items.iter().map(|v| if let Value::Int(i) = v { Some(*i) } else { None }).collect();
        if let Some(ints) = ints {
            return Ok(Value::IntArray(ints));
        }
        let numbers: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
        if let Some(numbers) = numbers {
            return Ok(Value::FloatArray(numbers));
        }
        let texts: Option<Vec<String>> =
            items.into_iter().map(|v| if let Value::String(s) = v { Some(s) } else { None }).collect();
        if let Some(texts) = texts {
            return Ok(Value::StringArray(texts));
        }
    }
    Err(PyTypeError::new_err(format!(
        "cannot write a {} ({}): expected a number, a str, or a sequence of them",
        value.get_type().name()?,
        value.repr()?
    )))
}

fn scalar(value: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    if value.is_instance_of::<PyString>() {
        return Ok(Some(Value::String(value.extract()?)));
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(Some(Value::Int(i64::from(value.extract::<bool>()?))));
    }
    if let Ok(i) = value.extract::<i64>() {
        return Ok(Some(Value::Int(i)));
    }
    if let Ok(f) = value.extract::<f64>() {
        return Ok(Some(Value::Float(f)));
    }
    Ok(None)
}

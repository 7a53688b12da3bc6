//! Python values → TOML: the value of a `Scenario.set(key, value)` becomes the text of a
//! `--set key=value`, and a dict given as an experiment or sweep becomes the file it stands for.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Nesting accepted in a value (a scenario needs 3; this only stops runaway input).
const MAX_DEPTH: usize = 16;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn integer(obj: &Bound<'_, PyAny>) -> PyResult<toml::Value> {
    let i: i64 = obj.extract().map_err(|_| {
        PyOverflowError::new_err(format!(
            "{} does not fit a TOML integer (64-bit)",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })?;
    Ok(toml::Value::Integer(i))
}

/// A Python value as TOML: bool, int, float (numpy scalars too), str, list/tuple, dict with
/// string keys, and anything with `tolist()` (numpy arrays).
pub fn to_toml(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<toml::Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!(
            "value nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if obj.is_instance_of::<PyBool>() || type_name(obj) == "bool" || type_name(obj) == "bool_" {
        return Ok(toml::Value::Boolean(obj.is_truthy()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return integer(obj);
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(obj.extract()?));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(toml::Value::String(s.to_str()?.to_string()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut table = toml::Table::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("TOML keys are strings, found {}", type_name(&k)))
            })?;
            if v.is_none() {
                // A key given as None is a key left out (TOML has no null).
                continue;
            }
            table.insert(key, to_toml(&v, depth + 1)?);
        }
        return Ok(toml::Value::Table(table));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj
            .try_iter()?
            .map(|item| to_toml(&item?, depth + 1))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(toml::Value::Array(items));
    }
    // numpy scalars and arrays: their Python equivalents.
    if obj.hasattr("tolist")? {
        return to_toml(&obj.call_method0("tolist")?, depth + 1);
    }
    if obj.hasattr("__index__")? {
        return integer(obj);
    }
    if obj.hasattr("__float__")? {
        return Ok(toml::Value::Float(obj.extract()?));
    }
    Err(PyTypeError::new_err(format!(
        "{} has no TOML form (use bool, int, float, str, a list or a dict)",
        if obj.is_none() {
            "None".to_string()
        } else {
            format!("a value of type {}", type_name(obj))
        }
    )))
}

/// The TOML text of one value, as written after `=` in `--set key=value`.
#[pyfunction]
pub fn toml_value(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(to_toml(value, 0)?.to_string())
}

/// A dict as a TOML document (an experiment or sweep file given in code).
#[pyfunction]
pub fn toml_document(table: &Bound<'_, PyDict>) -> PyResult<String> {
    match to_toml(table.as_any(), 0)? {
        toml::Value::Table(t) => toml::to_string(&t)
            .map_err(|e| PyTypeError::new_err(format!("cannot write the dict as TOML: {e}"))),
        _ => Err(PyTypeError::new_err("expected a dict")),
    }
}

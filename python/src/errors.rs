//! Library errors → the Python exceptions of `talentflow.errors`, with the message the CLI prints
//! after `error: ` (the error's `Display`, unchanged).

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The module that defines the exception classes (pure Python, so they are documented and typed
/// like the rest of the package).
const MODULE: &str = "talentflow.errors";

/// An instance of `talentflow.errors.<class>` carrying `message`; a `RuntimeError` if the
/// package is not importable (the extension used on its own).
pub fn raise(py: Python<'_>, class: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match py
        .import(MODULE)
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from))
    {
        Ok(ty) => PyErr::from_type(ty, (message,)),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// An invalid scenario: `ScenarioError` with `.problems`, a list of (location, key, message).
pub fn scenario(py: Python<'_>, e: &talentflow::ScenarioError) -> PyErr {
    let err = raise(py, "ScenarioError", e.to_string());
    let problems: Vec<(String, String, String)> = e
        .problems
        .iter()
        .map(|p| (p.location.clone(), p.key.clone(), p.message.clone()))
        .collect();
    // The message alone is still a correct exception if the attribute cannot be set.
    let _ = err.value(py).setattr("problems", problems);
    err
}

/// A library error of the given class, with its `Display` as the message.
pub fn of(py: Python<'_>, class: &str, e: &dyn std::fmt::Display) -> PyErr {
    raise(py, class, e.to_string())
}

/// The exception for a call stopped by a signal: `talentflow.errors.Interrupted` (a
/// `KeyboardInterrupt`) with `message`, caused by what the signal handler raised, when the
/// handler raised a `KeyboardInterrupt`; anything else a handler raised is passed on as it is.
pub fn interrupted(py: Python<'_>, signal: PyErr, message: String) -> PyErr {
    if !signal.is_instance_of::<PyKeyboardInterrupt>(py) {
        return signal;
    }
    let err = raise(py, "Interrupted", message);
    err.set_cause(py, Some(signal));
    err
}

//! `talentflow._native`: the talentflow library behind the Python package.
//!
//! The package's public API (`talentflow/__init__.py` and the modules beside it) is thin Python
//! over the functions and classes here; this crate is thin Rust over the library. Nothing here
//! simulates, checks or writes on its own: scenarios resolve with the library's loaders, runs
//! use `Simulation`, batches `study::evaluate`, experiments and sweeps the CLI's code paths, and
//! every file or table comes from `rundir::write` and the study writers, so Python and the CLI
//! cannot drift apart.
//!
//! Long calls release the GIL for their whole length ([`threads::detached`]); the calling thread
//! polls Python's signal handlers every few milliseconds and stops the work between ticks on
//! Ctrl-C. Work runs on a rayon pool of the caller's size (`threads=`), cached per size.

mod convert;
mod errors;
mod run;
mod scenario;
mod study;
mod threads;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", talentflow::VERSION)?;
    m.add_class::<scenario::NativeScenario>()?;
    m.add_class::<run::NativeRun>()?;
    m.add_function(wrap_pyfunction!(convert::toml_value, m)?)?;
    m.add_function(wrap_pyfunction!(convert::toml_document, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::resolve, m)?)?;
    m.add_function(wrap_pyfunction!(run::variables, m)?)?;
    m.add_function(wrap_pyfunction!(run::axes, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(run::read_run, m)?)?;
    m.add_function(wrap_pyfunction!(study::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(study::replicate_seed, m)?)?;
    m.add_function(wrap_pyfunction!(study::experiment, m)?)?;
    m.add_function(wrap_pyfunction!(study::read_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(study::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(study::sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(study::discover, m)?)?;
    m.add_function(wrap_pyfunction!(study::calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(threads::pool_threads, m)?)?;
    Ok(())
}

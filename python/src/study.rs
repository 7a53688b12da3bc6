//! Many runs: batch evaluation (`study::evaluate`), experiments and sweeps by the CLI's own code
//! paths (their directories are the CLI's, byte for byte, apart from wall times), sensitivity.

use std::path::{Path, PathBuf};
use std::time::Instant;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

use talentflow::rundir::{read, write};
use talentflow::study::evaluate::EvaluateError;
use talentflow::study::experiment::{self as exp_mod, Experiment, ExperimentError};
use talentflow::study::sweep::{files, Shard, Sweep, SweepError};

use crate::errors;
use crate::scenario::NativeScenario;
use crate::threads;

/// Evaluates `scenario` at `points` (rows; column j is the value of `keys[j]`) with every seed,
/// in parallel inside Rust (see `talentflow::study::evaluate`). Returns `(values, means)`:
/// `values[point, seed, outcome]` and `means[point, outcome]` (the sweep's arithmetic).
#[pyfunction]
#[pyo3(signature = (scenario, keys, points, outcomes, seeds, threads=None))]
#[allow(clippy::type_complexity)]
pub fn evaluate<'py>(
    py: Python<'py>,
    scenario: &NativeScenario,
    keys: Vec<String>,
    points: PyReadonlyArray2<'py, f64>,
    outcomes: Vec<String>,
    seeds: Vec<u64>,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let view = points.as_array();
    let rows: Vec<Vec<f64>> = view.outer_iter().map(|r| r.to_vec()).collect();
    let base = scenario.scenario.clone();
    let source = scenario.source.clone();
    let done = threads::detached(py, threads, |stop| {
        talentflow::evaluate(&base, &source, &keys, &rows, &outcomes, &seeds, stop)
    })?;
    let ev = match (done.result, done.signal) {
        (Ok(ev), None) => ev,
        (Ok(_), Some(signal)) => return Err(signal),
        (Err(e @ EvaluateError::Interrupted { .. }), signal) => {
            return Err(match signal {
                Some(s) => errors::interrupted(py, s, e.to_string()),
                None => errors::raise(py, "Interrupted", e.to_string()),
            })
        }
        (Err(e), _) => {
            let class = match e {
                EvaluateError::Outcome(_) => "OutcomeError",
                _ => "EvaluateError",
            };
            return Err(errors::of(py, class, &e));
        }
    };
    let k = ev.outcomes.len();
    let means = PyArray1::from_vec(py, ev.means()).reshape([ev.points, k])?;
    let values = PyArray1::from_vec(py, ev.values).reshape([ev.points, ev.seeds, k])?;
    Ok((values.into_any(), means.into_any()))
}

/// Seed of replicate `r` under `master_seed`, as experiments and sweeps derive it.
#[pyfunction]
pub fn replicate_seed(master_seed: u64, r: u32) -> u64 {
    exp_mod::replicate_seed(master_seed, r)
}

/// The path standing for a study given as text: named in messages and `experiment.json`; a
/// relative base path is taken from the working directory.
fn text_path(noun: &str) -> PathBuf {
    PathBuf::from(format!("<{noun} given in code>"))
}

fn unknown_kind(kind: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("unknown study kind {kind:?}"))
}

/// Runs an experiment into `out` exactly as `talentflow experiment FILE --out OUT` does (the
/// shared overrides `set` appended to the file's, as `Experiment::load_with` takes them) and
/// returns the table the CLI prints. Ctrl-C stops it between runs: the finished runs' outcomes
/// go to `OUT/runs.partial.csv`, as with the CLI, and `Interrupted` is raised.
#[pyfunction]
#[pyo3(signature = (kind, source, set, replicates, out, force, threads=None, branch_at=None, posterior=None))]
#[allow(clippy::too_many_arguments)]
pub fn experiment(
    py: Python<'_>,
    kind: &str,
    source: &str,
    set: Vec<String>,
    replicates: Option<u32>,
    out: PathBuf,
    force: bool,
    threads: Option<usize>,
    branch_at: Option<i64>,
    posterior: Option<PathBuf>,
) -> PyResult<String> {
    let class = "ExperimentError";
    let exp_err = |e: &ExperimentError| errors::of(py, class, e);
    let loaded = match kind {
        "file" => Experiment::load_with(Path::new(source), &set),
        "text" => Experiment::from_str_with(source, &text_path("experiment"), &set),
        other => return Err(unknown_kind(other)),
    };
    let mut exp = loaded.map_err(|e| exp_err(&e))?;
    if let Some(r) = replicates {
        if r == 0 {
            return Err(errors::raise(py, class, "replicates must be at least 1"));
        }
        exp.spec.replicates = r;
    }
    // As `--branch-at`: overrides the file's `branch_at`, checked before anything is written.
    if branch_at.is_some() {
        exp.set_branch_at(branch_at).map_err(|e| exp_err(&e))?;
    }
    // As `--posterior DIR`: replicate r of every arm at draw r (the inner step re-solved at each
    // draw, which takes seconds per draw: without the GIL), then the branch checked again
    // against the draws, as the CLI does.
    if let Some(dir) = &posterior {
        let applied = py.detach(|| {
            talentflow::study::calibrate::posterior::Posterior::load(dir)
                .and_then(|p| p.apply(&mut exp))
                .map(|_| ())
        });
        applied.map_err(|e| exp_err(&e))?;
        exp.branch_plan().map_err(|e| exp_err(&e))?;
    }
    // As the CLI: claims the directory (held to the end) and, with `force`, removes the old
    // experiment's files.
    let _lock =
        exp_mod::write::prepare_dir(&out, force).map_err(|e| errors::of(py, "OutputError", &e))?;
    let started = Instant::now();
    let exp_ref = &exp;
    let done = threads::detached(py, threads, move |stop| {
        let jobs = rayon::current_num_threads();
        let mut exp = exp_ref.clone();
        let r = exp_mod::run_adaptive(&mut exp, stop, &|_, _| Ok(()), &|| ());
        (r.map(|(res, p)| (res, p, exp)), jobs)
    })?;
    let (result, jobs) = done.result;
    let results = match (result, done.signal) {
        (Ok(r), None) => r,
        (Ok(_), Some(signal)) => return Err(signal),
        (
            Err(ExperimentError::Interrupted {
                finished,
                total,
                replicates,
            }),
            signal,
        ) => {
            exp.spec.replicates = replicates;
            let partial = out.join("runs.partial.csv");
            let rows = finished.iter().map(|(i, v)| (*i, v.as_slice()));
            let bytes = exp_mod::write::runs_csv(&partial, &exp, rows)
                .map_err(|e| errors::of(py, "OutputError", &e))?;
            write::write_atomic(&partial, &bytes).map_err(|e| errors::of(py, "OutputError", &e))?;
            let message = format!(
                "experiment interrupted: {} of {total} runs finished; their outcomes are in {} (no summary was written)",
                finished.len(),
                partial.display()
            );
            return Err(match signal {
                Some(s) => errors::interrupted(py, s, message),
                None => errors::raise(py, "Interrupted", message),
            });
        }
        (Err(e), _) => return Err(exp_err(&e)),
    };
    let wall = started.elapsed().as_secs_f64();
    let (results, precision, exp) = results;
    exp_mod::write::write_results(&out, &exp, &results, jobs, wall, precision.as_ref())
        .map_err(|e| errors::of(py, "OutputError", &e))
}

/// Checks an experiment directory as `talentflow plot`/`report` read it (`experiment.json` and
/// `summary.csv` present and well formed); the tables themselves are read by pandas.
#[pyfunction]
pub fn read_experiment(py: Python<'_>, dir: PathBuf) -> PyResult<()> {
    read::read_experiment(&dir)
        .map(|_| ())
        .map_err(|e| errors::of(py, "RunDirError", &e))
}

/// Runs a sweep into `out` as `talentflow sweep FILE --out OUT` does (resuming what a previous
/// call left unfinished; a directory of another sweep is refused unless `force`). Returns
/// (runs in the sweep, runs already done before this call). Ctrl-C stops it between runs; the
/// finished rows are kept, and calling again resumes.
#[pyfunction]
#[pyo3(signature = (kind, source, set, out, force, threads=None))]
pub fn sweep(
    py: Python<'_>,
    kind: &str,
    source: &str,
    set: Vec<String>,
    out: PathBuf,
    force: bool,
    threads: Option<usize>,
) -> PyResult<(usize, usize)> {
    let class = "SweepError";
    let loaded = match kind {
        "file" => Sweep::load_with(Path::new(source), &set),
        "text" => Sweep::from_str_with(source, &text_path("sweep"), &set),
        other => return Err(unknown_kind(other)),
    };
    let sweep = loaded.map_err(|e| errors::of(py, class, &e))?;
    files::prepare(&sweep, &out, force).map_err(|e| errors::of(py, class, &e))?;
    let (sweep_ref, out_ref) = (&sweep, out.as_path());
    let done = threads::detached(py, threads, move |stop| {
        files::execute(sweep_ref, out_ref, Shard::ALL, stop, &|_, _| ())
    })?;
    match (done.result, done.signal) {
        (Ok(r), None) => Ok((r.shard_runs, r.already_done)),
        (Ok(_), Some(signal)) => Err(signal),
        (Err(e @ SweepError::Interrupted { .. }), signal) => Err(match signal {
            Some(s) => errors::interrupted(py, s, e.to_string()),
            None => errors::raise(py, "Interrupted", e.to_string()),
        }),
        (Err(e), _) => Err(errors::of(py, class, &e)),
    }
}

/// The sensitivity analysis of a finished sweep directory, as `talentflow sensitivity DIR`
/// computes it: (the printed table, the bytes of `sensitivity.csv`). Nothing is written.
#[pyfunction]
pub fn sensitivity<'py>(
    py: Python<'py>,
    dir: PathBuf,
) -> PyResult<(String, Bound<'py, pyo3::types::PyBytes>)> {
    let complete =
        files::read_complete(Path::new(&dir)).map_err(|e| errors::of(py, "SweepError", &e))?;
    let (table, csv) = talentflow::study::sensitivity::analyse(&complete)
        .map_err(|e| errors::of(py, "SweepError", &e))?;
    Ok((table, pyo3::types::PyBytes::new(py, &csv)))
}

/// Scenario discovery over a finished sweep directory, as `talentflow discover DIR --where
/// CONDITION` runs it (PRIM box and trajectory, CART tree); writes `DIR/discover/` and returns
/// the printed summary.
#[pyfunction]
#[pyo3(signature = (dir, condition, outcome=None, alpha=0.05, mass_min=0.05, min_coverage=0.5, depth=3))]
#[allow(clippy::too_many_arguments)]
pub fn discover(
    py: Python<'_>,
    dir: PathBuf,
    condition: &str,
    outcome: Option<String>,
    alpha: f64,
    mass_min: f64,
    min_coverage: f64,
    depth: usize,
) -> PyResult<String> {
    use talentflow::study::discover::{self, Settings};
    let class = "DiscoverError";
    for (name, v) in [("alpha", alpha), ("mass_min", mass_min)] {
        if !(v > 0.0 && v < 0.5) {
            return Err(errors::raise(
                py,
                class,
                format!("{name} must be in (0, 0.5), found {v}"),
            ));
        }
    }
    if !(0.0..=1.0).contains(&min_coverage) {
        return Err(errors::raise(
            py,
            class,
            format!("min_coverage must be in [0, 1], found {min_coverage}"),
        ));
    }
    let mut s = Settings {
        max_depth: depth.min(20),
        ..Settings::default()
    };
    s.prim.peel_alpha = alpha;
    s.prim.paste_alpha = alpha;
    s.prim.mass_min = mass_min;
    s.prim.min_coverage = min_coverage;
    let d = discover::discover(&dir, condition, outcome.as_deref(), s)
        .map_err(|e| errors::of(py, class, &e))?;
    discover::write(&dir, &d).map_err(|e| errors::of(py, "OutputError", &e))?;
    Ok(discover::summary(&d))
}

/// Runs (or resumes) the calibration file `path` in `out`, as `talentflow calibrate FILE --out
/// OUT` does: (evaluations in all, evaluations simulated by this call, the printed summary).
/// A directory of another calibration is refused unless `force`.
#[pyfunction]
#[pyo3(signature = (path, set, out, force, threads=None))]
pub fn calibrate(
    py: Python<'_>,
    path: PathBuf,
    set: Vec<String>,
    out: PathBuf,
    force: bool,
    threads: Option<usize>,
) -> PyResult<(usize, usize, String)> {
    use talentflow::study::calibrate::{self, CalibrateError, Calibration};
    let class = "CalibrateError";
    let cal = Calibration::load(&path, &set).map_err(|e| errors::of(py, class, &e))?;
    let (cal_ref, out_ref) = (&cal, out.as_path());
    let done = threads::detached(py, threads, move |stop| {
        calibrate::run(cal_ref, out_ref, force, stop)
    })?;
    match (done.result, done.signal) {
        (Ok(r), None) => Ok((r.evaluations, r.simulated, r.summary)),
        (Ok(_), Some(signal)) => Err(signal),
        (Err(e @ CalibrateError::Interrupted), signal) => Err(match signal {
            Some(s) => errors::interrupted(py, s, e.to_string()),
            None => errors::raise(py, "Interrupted", e.to_string()),
        }),
        (Err(e), _) => Err(errors::of(py, class, &e)),
    }
}

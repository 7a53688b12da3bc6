//! One run: simulated here (GIL released) or read back from a directory the CLI wrote.
//!
//! The recorder's buffers are moved into numpy arrays without copying (`PyArray::from_vec`) and
//! marked read-only, so `result.series` costs no memory beyond the run's own; the tidy columns,
//! the files and the manifest are built from them by the library's writers
//! (`rundir::write::{country_rows, world_rows, run_files, manifest}`), so they are the CLI's.

use std::path::PathBuf;
use std::time::Instant;

use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use talentflow::model::engine::Simulation;
use talentflow::model::observe::ObserveOptions;
use talentflow::model::record::{Kind, MatrixVariable, Recorder, COUNTRY, MATRICES, WORLD};
use talentflow::rundir::{careers, read, runner, write};
use talentflow::{RunInfo, ValidScenario};

use crate::errors;
use crate::scenario::NativeScenario;
use crate::threads;

/// Names of the axes of a matrix after its first (`year`). The model's table has no axis names;
/// these say what the indices of `MATRICES` mean (their `meaning` texts).
fn matrix_axes(name: &str) -> [&'static str; 2] {
    match name {
        // flows[t, c, d]: moves from c to d.
        "flows" => ["origin", "destination"],
        // origin_location[t, h, c]: h-born researchers working in c.
        "origin_location" => ["origin", "country"],
        // A matrix added to the model later still gets named axes; python/tests checks that
        // every matrix has its own entry here.
        _ => ["country", "country_to"],
    }
}

/// The recorded variables, from the model's one table: name, units, meaning, kind (stock or
/// flow), group (`country`, `world`, `matrix`) and axis names, in `series.npz` order.
#[pyfunction]
pub fn variables(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    let entry = |name: &str,
                 units: &str,
                 meaning: &str,
                 kind: Kind,
                 group: &str,
                 dims: Vec<&str>|
     -> PyResult<Bound<'_, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", name)?;
        d.set_item("units", units)?;
        d.set_item("meaning", meaning)?;
        d.set_item("kind", kind.name())?;
        d.set_item("group", group)?;
        d.set_item("dims", dims)?;
        Ok(d)
    };
    for v in COUNTRY {
        list.append(entry(
            v.name,
            v.units,
            v.meaning,
            v.kind,
            "country",
            vec!["year", "country"],
        )?)?;
    }
    for v in MATRICES {
        let [a, b] = matrix_axes(v.name);
        list.append(entry(
            v.name,
            v.units,
            v.meaning,
            v.kind,
            "matrix",
            vec!["year", a, b],
        )?)?;
    }
    for v in WORLD {
        list.append(entry(
            v.name,
            v.units,
            v.meaning,
            Kind::Stock,
            "world",
            vec!["year"],
        )?)?;
    }
    Ok(list)
}

/// Units and meaning of the coordinate arrays written beside the variables (`year`,
/// `countries`), as (name, units, meaning).
#[pyfunction]
pub fn axes() -> Vec<(&'static str, &'static str, &'static str)> {
    write::AXES.to_vec()
}

/// A finished run: its scenario, the facts of its manifest and every variable as a numpy array.
#[pyclass(frozen, module = "talentflow._native")]
pub struct NativeRun {
    scenario: ValidScenario,
    info: RunInfo,
    /// (name, read-only numpy array) in `series.npz` order: countries, matrices, world.
    arrays: Vec<(String, Py<PyAny>)>,
    /// The manifest as read from disk (runs read back); `None` for runs made here.
    manifest_read: Option<String>,
    /// The directory it was read from.
    dir: Option<PathBuf>,
    /// The observers' files (`panel*.npz`, `stay.csv`, `hazard.csv`) and manifest keys, if the
    /// run had observers (`panel=`, `cohorts=`).
    careers: Vec<(&'static str, Vec<u8>)>,
    careers_keys: serde_json::Map<String, serde_json::Value>,
}

/// Which matrix field of the recorder `var` reads (0: `flows`, 1: `origin_location`): the table
/// gives the order of the matrices, the recorder holds them as two fields.
fn matrix_field(rec: &Recorder, var: &MatrixVariable) -> PyResult<usize> {
    let values = (var.values)(rec);
    if std::ptr::eq(values, rec.flows.as_slice()) {
        Ok(0)
    } else if std::ptr::eq(values, rec.origin_location.as_slice()) {
        Ok(1)
    } else {
        Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "talentflow: the recorder holds no field for the matrix `{}`",
            var.name
        )))
    }
}

/// The manifest keys `rundir::runner` adds for a run started and finished in one go (no
/// checkpoints, not resumed), so a directory written from Python has the CLI's manifest.
fn runner_extra() -> serde_json::Map<String, serde_json::Value> {
    let mut extra = serde_json::Map::new();
    extra.insert("checkpoint_every".into(), 0u64.into());
    extra.insert("resumed_from_tick".into(), serde_json::Value::Null);
    extra
}

/// Moves `values` into a numpy array of `shape` (no copy) and marks it read-only.
fn frozen_array(py: Python<'_>, values: Vec<f64>, shape: &[usize]) -> PyResult<Py<PyAny>> {
    let flat = PyArray1::from_vec(py, values);
    let array = flat.reshape(shape.to_vec())?;
    array.getattr("flags")?.setattr("writeable", false)?;
    Ok(array.into_any().unbind())
}

impl NativeRun {
    fn new(
        py: Python<'_>,
        scenario: ValidScenario,
        rec: Recorder,
        info: RunInfo,
        manifest_read: Option<String>,
        dir: Option<PathBuf>,
    ) -> PyResult<NativeRun> {
        let (c, rows) = (rec.c, rec.ticks() + 1);
        let fields = MATRICES
            .iter()
            .map(|v| matrix_field(&rec, v))
            .collect::<PyResult<Vec<_>>>()?;
        let Recorder {
            country,
            world,
            flows,
            origin_location,
            ..
        } = rec;
        let mut matrices = [Some(flows), Some(origin_location)];
        let mut arrays = Vec::with_capacity(COUNTRY.len() + MATRICES.len() + WORLD.len());
        for (var, values) in COUNTRY.iter().zip(country) {
            arrays.push((var.name.to_string(), frozen_array(py, values, &[rows, c])?));
        }
        for (var, &field) in MATRICES.iter().zip(&fields) {
            let rows = match var.kind {
                Kind::Flow => rows - 1,
                Kind::Stock => rows,
            };
            let values = matrices[field].take().unwrap_or_default();
            arrays.push((
                var.name.to_string(),
                frozen_array(py, values, &[rows, c, c])?,
            ));
        }
        for (var, values) in WORLD.iter().zip(world) {
            arrays.push((var.name.to_string(), frozen_array(py, values, &[rows])?));
        }
        Ok(NativeRun {
            scenario,
            info,
            arrays,
            manifest_read,
            dir,
            careers: Vec::new(),
            careers_keys: serde_json::Map::new(),
        })
    }

    /// The recorder again, copied out of the arrays (for the writers).
    fn recorder(&self, py: Python<'_>) -> PyResult<Recorder> {
        let c = self.scenario.countries.len();
        let ticks = self.scenario.ticks();
        let mut rec = Recorder::new(c, ticks);
        let values = |i: usize| -> PyResult<Vec<f64>> {
            let array = self.arrays[i].1.bind(py).cast::<numpy::PyArrayDyn<f64>>()?;
            Ok(array.readonly().as_slice()?.to_vec())
        };
        for (i, slot) in rec.country.iter_mut().enumerate() {
            *slot = values(i)?;
        }
        let m = COUNTRY.len();
        for (i, var) in MATRICES.iter().enumerate() {
            let v = values(m + i)?;
            match matrix_field(&rec, var)? {
                0 => rec.flows = v,
                _ => rec.origin_location = v,
            }
        }
        for (i, slot) in rec.world.iter_mut().enumerate() {
            *slot = values(m + MATRICES.len() + i)?;
        }
        rec.rows = ticks + 1;
        Ok(rec)
    }

    fn files(
        &self,
        py: Python<'_>,
        dir: &std::path::Path,
    ) -> PyResult<Vec<(&'static str, Vec<u8>)>> {
        let rec = self.recorder(py)?;
        let mut files = write::run_files(dir, &self.scenario, &rec, &self.info)
            .map_err(|e| errors::of(py, "OutputError", &e))?;
        files.extend(self.careers.iter().cloned());
        Ok(files)
    }
}

#[pymethods]
impl NativeRun {
    /// (name, array) of every variable, in `series.npz` order.
    fn arrays<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyAny>)> {
        self.arrays
            .iter()
            .map(|(n, a)| (n.clone(), a.bind(py).clone()))
            .collect()
    }

    /// The resolved scenario.
    fn scenario(&self) -> NativeScenario {
        NativeScenario {
            scenario: self.scenario.clone(),
            source: self.info.scenario_source.clone(),
            overrides: self.info.overrides.clone(),
        }
    }

    /// The seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.info.seed
    }

    /// Worker threads the run used.
    #[getter]
    fn threads(&self) -> usize {
        self.info.threads
    }

    /// Wall time of the simulation, seconds.
    #[getter]
    fn wall_seconds(&self) -> f64 {
        self.info.wall_seconds
    }

    /// The observers' files as (name, bytes): `panel.npz`, `panel_startups.npz`,
    /// `panel_moves.npz` with `panel=`, `stay.csv`, `hazard.csv` with `cohorts=True` (for a run
    /// read back: those its directory holds).
    fn career_files<'py>(&self, py: Python<'py>) -> Vec<(&'static str, Bound<'py, PyBytes>)> {
        self.careers
            .iter()
            .map(|(name, bytes)| (*name, PyBytes::new(py, bytes)))
            .collect()
    }

    /// The directory the run was read from, if it was.
    #[getter]
    fn dir(&self) -> Option<PathBuf> {
        self.dir.clone()
    }

    /// The columns of `countries.csv`: tick, year, country index, variable index, value.
    #[allow(clippy::type_complexity)]
    fn countries_columns<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
    )> {
        let rec = self.recorder(py)?;
        let n = rec.country.len() * (rec.ticks() + 1) * rec.c;
        let (mut t, mut y, mut k, mut v, mut x) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in write::country_rows(&self.scenario, &rec) {
            t.push(r.tick as i64);
            y.push(r.year);
            k.push(r.country as i64);
            v.push(r.variable as i64);
            x.push(r.value);
        }
        Ok((
            PyArray1::from_vec(py, t),
            PyArray1::from_vec(py, y),
            PyArray1::from_vec(py, k),
            PyArray1::from_vec(py, v),
            PyArray1::from_vec(py, x),
        ))
    }

    /// The columns of `world.csv`: tick, year, variable index, value.
    #[allow(clippy::type_complexity)]
    fn world_columns<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
    )> {
        let rec = self.recorder(py)?;
        let (mut t, mut y, mut v, mut x) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in write::world_rows(&self.scenario, &rec) {
            t.push(r.tick as i64);
            y.push(r.year);
            v.push(r.variable as i64);
            x.push(r.value);
        }
        Ok((
            PyArray1::from_vec(py, t),
            PyArray1::from_vec(py, y),
            PyArray1::from_vec(py, v),
            PyArray1::from_vec(py, x),
        ))
    }

    /// The run directory's files except the manifest, as bytes, exactly as `talentflow run`
    /// writes them: `series.npz`, `countries.csv`, `world.csv`, `scenario.toml`.
    fn file_bytes<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<(&'static str, Bound<'py, PyBytes>)>> {
        let dir = self.dir.clone().unwrap_or_default();
        Ok(self
            .files(py, &dir)?
            .into_iter()
            .map(|(name, bytes)| (name, PyBytes::new(py, &bytes)))
            .collect())
    }

    /// The manifest as JSON text: the file's for a run read back, else the one [`write`] would
    /// write now (the file hashes are of these outputs; `created_unix` is the current time).
    fn manifest(&self, py: Python<'_>) -> PyResult<String> {
        if let Some(m) = &self.manifest_read {
            return Ok(m.clone());
        }
        let dir = PathBuf::new();
        let files = self.files(py, &dir)?;
        let mut m = write::manifest(&self.scenario, &self.info, &files);
        if let Some(map) = m.as_object_mut() {
            map.extend(runner_extra());
            map.extend(self.careers_keys.clone());
        }
        Ok(serde_json::to_string_pretty(&m).unwrap_or_default() + "\n")
    }

    /// Writes the run directory as `talentflow run --out DIR` does (every file atomically, the
    /// manifest last); refuses a non-empty directory unless `force`. Returns the manifest.
    fn write(&self, py: Python<'_>, dir: PathBuf, force: bool) -> PyResult<String> {
        let rec = self.recorder(py)?;
        let out = |e: write::OutputError| errors::of(py, "OutputError", &e);
        // Held until the run is written: the directory is claimed only while the lock lives.
        let _lock = write::prepare_dir(&dir, force).map_err(out)?;
        let mut extra = runner_extra();
        extra.extend(self.careers_keys.clone());
        let manifest = write::write_run_full(
            &dir,
            &self.scenario,
            &rec,
            &self.info,
            extra,
            self.careers.clone(),
        )
        .map_err(out)?;
        Ok(serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n")
    }
}

/// Runs `scenario` with `seed` on a pool of `threads` (GIL released; Ctrl-C stops it between
/// ticks and raises `Interrupted`). A run whose outputs are not finite raises `OutputError`, as
/// the CLI refuses to write them.
///
/// `panel` (`"0.01"` or `"5000"`, as `talentflow run --panel`), `panel_every` (years) and
/// `cohorts` switch on the observers of individual agents; their files are `career_files()`.
#[pyfunction]
#[pyo3(signature = (scenario, seed, threads=None, panel=None, panel_every=None, cohorts=false))]
pub fn run(
    py: Python<'_>,
    scenario: &NativeScenario,
    seed: u64,
    threads: Option<usize>,
    panel: Option<String>,
    panel_every: Option<f64>,
    cohorts: bool,
) -> PyResult<NativeRun> {
    let s = scenario.scenario.clone();
    let ticks = s.ticks();
    let mut observe = ObserveOptions {
        panel: None,
        cohorts,
    };
    if let Some(spec) = &panel {
        let p = runner::panel_options(spec, panel_every.unwrap_or(1.0), &s)
            .map_err(|e| errors::of(py, "TalentflowError", &e))?;
        observe.panel = Some(p);
    }
    let panel_record = observe.panel.as_ref().map(|p| runner::PanelRecord {
        fraction: p.fraction,
        every_ticks: p.every_ticks as u64,
    });
    let done = threads::detached(py, threads, move |stop| {
        let started = Instant::now();
        let mut sim = match Simulation::with_observers(s, seed, &observe) {
            Ok(sim) => sim,
            Err(_) => return Err(0),
        };
        while !sim.is_finished() {
            if stop() {
                return Err(sim.tick());
            }
            sim.step();
        }
        let dropped = sim.dropped_initial_startups();
        let wall = started.elapsed().as_secs_f64();
        let observers = sim.take_observers();
        Ok((
            sim.into_recorder(),
            wall,
            rayon::current_num_threads(),
            dropped,
            observers,
        ))
    })?;
    let (rec, wall, used, dropped, observers) = match (done.result, done.signal) {
        (Ok(r), None) => r,
        (Ok(_), Some(signal)) => return Err(signal),
        (Err(tick), signal) => {
            let message = format!("run interrupted after tick {tick} of {ticks}");
            return Err(match signal {
                Some(s) => errors::interrupted(py, s, message),
                None => errors::raise(py, "Interrupted", message),
            });
        }
    };
    write::check_finite(&scenario.scenario, &rec).map_err(|e| errors::of(py, "OutputError", &e))?;
    let info = RunInfo {
        scenario_source: scenario.source.clone(),
        overrides: scenario.overrides.clone(),
        seed,
        threads: used,
        wall_seconds: wall,
        dropped_initial_startups: dropped,
    };
    let mut native = NativeRun::new(py, scenario.scenario.clone(), rec, info, None, None)?;
    if let Some(obs) = &observers {
        let (keys, files) = runner::observer_outputs(
            std::path::Path::new(""),
            &scenario.scenario,
            panel_record.as_ref(),
            obs,
        )
        .map_err(|e| errors::of(py, "OutputError", &e))?;
        native.careers = files;
        native.careers_keys = keys;
    }
    Ok(native)
}

/// Reads a finished run directory (every file checked against the manifest's blake3).
#[pyfunction]
pub fn read_run(py: Python<'_>, dir: PathBuf) -> PyResult<NativeRun> {
    let dir_err = |e: read::RunDirError| match e {
        read::RunDirError::Scenario(s) => errors::scenario(py, &s),
        other => errors::of(py, "RunDirError", &other),
    };
    let data = read::read_run(&dir).map_err(dir_err)?;
    let rec = read::read_recorder(&data).map_err(dir_err)?;
    let m = &data.manifest;
    let info = RunInfo {
        scenario_source: data.meta("scenario_source"),
        overrides: m["overrides"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        seed: m["seed"].as_u64().unwrap_or(0),
        threads: m["threads"].as_u64().unwrap_or(0) as usize,
        wall_seconds: m["wall_seconds"].as_f64().unwrap_or(0.0),
        dropped_initial_startups: m["dropped_initial_startups"].as_u64().unwrap_or(0),
    };
    let text = std::fs::read_to_string(dir.join(write::MANIFEST))
        .map_err(|e| errors::raise(py, "RunDirError", format!("{}: {e}", dir.display())))?;
    let mut native = NativeRun::new(py, data.scenario, rec, info, Some(text), Some(dir.clone()))?;
    for name in careers::NAMES {
        if let Some(bytes) = read::read_optional(&dir, &data.manifest, name).map_err(dir_err)? {
            native.careers.push((name, bytes));
        }
    }
    Ok(native)
}

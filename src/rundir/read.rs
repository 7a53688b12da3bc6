//! Reading finished run and experiment directories back from their files.
//!
//! `talentflow plot` and `talentflow report` work on any finished directory, long after the run,
//! so they read what is on disk and never the simulation's memory:
//!
//! ```text
//! manifest.json   version, seed, scenario hash, country codes, blake3 of every output
//! scenario.toml   the resolved scenario (loaded and checked like any scenario)
//! countries.csv   tidy per-country series  ─┐
//! world.csv       tidy world series         ├─ checked against the manifest's blake3 first
//! series.npz      only `flows` [T, C, C]   ─┘  (the one array the CSVs do not hold)
//! ```
//!
//! The CSVs are the primary source (they are the human-facing format and Rust prints `f64` so it
//! reads back exactly); `flows` is read from the npz with the small stored-ZIP reader in
//! [`crate::rundir::npz`]. Every file is verified against the blake3 the manifest recorded, so a
//! figure or report can only show the numbers the run wrote.
//!
//! An experiment directory (written by `talentflow experiment`) is recognised by
//! `experiment.json` + `summary.csv`; [`read_experiment`] reads the per-arm outcome summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::input::{read_limited, MAX_DATA_BYTES, MAX_JSON_BYTES};
use super::npz;
use super::write::MANIFEST;
use crate::model::record::{Kind, Recorder, COUNTRY, MATRICES, WORLD};
use crate::scenario::text::echo;
use crate::scenario::{self, ScenarioError, ValidScenario};

/// Errors reading a run or experiment directory.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// The directory has no manifest: not a finished run.
    #[error("{0} is not a finished talentflow run (no manifest.json) nor an experiment directory (no experiment.json + summary.csv)")]
    NotARun(PathBuf),
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's content is not what the format says.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and field where known.
        message: String,
    },
    /// A file differs from the blake3 that the manifest recorded when the run finished.
    #[error("{path} was modified after the run: blake3 {found} differs from {expected} recorded in manifest.json")]
    Modified {
        /// The file.
        path: PathBuf,
        /// Hash recorded in the manifest.
        expected: String,
        /// Hash of the file now.
        found: String,
    },
    /// The run's `scenario.toml` does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A figure or table needs a variable that the run did not record.
    #[error("{path}: no variable `{variable}`")]
    MissingVariable {
        /// The file that should hold it.
        path: PathBuf,
        /// The variable.
        variable: String,
    },
}

fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, RunDirError> {
    read_limited(path, limit).map_err(|source| RunDirError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, message: impl Into<String>) -> RunDirError {
    RunDirError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// What kind of directory `dir` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    /// A finished run (`manifest.json`).
    Run,
    /// An experiment (`experiment.json` + `summary.csv`).
    Experiment,
}

/// Classifies `dir`; an error if it is neither a finished run nor an experiment.
pub fn kind(dir: &Path) -> Result<DirKind, RunDirError> {
    if !dir.is_dir() {
        let source = match std::fs::metadata(dir) {
            Err(e) => e,
            Ok(_) => std::io::Error::other("not a directory"),
        };
        return Err(RunDirError::Io {
            path: dir.to_path_buf(),
            source,
        });
    }
    if dir.join(EXPERIMENT_JSON).is_file() && dir.join(SUMMARY_CSV).is_file() {
        Ok(DirKind::Experiment)
    } else if dir.join(MANIFEST).is_file() {
        Ok(DirKind::Run)
    } else {
        Err(RunDirError::NotARun(dir.to_path_buf()))
    }
}

/// A finished run, read back from its directory.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The run directory.
    pub dir: PathBuf,
    /// `manifest.json` as written.
    pub manifest: serde_json::Value,
    /// The resolved scenario from `scenario.toml`.
    pub scenario: ValidScenario,
    /// Country codes, the order of every country axis.
    pub codes: Vec<String>,
    /// Calendar time of each row (T + 1 rows).
    pub years: Vec<f64>,
    /// Per-country series `[t × C + k]`, by variable.
    pub country: BTreeMap<String, Vec<f64>>,
    /// World series `[t]`, by variable.
    pub world: BTreeMap<String, Vec<f64>>,
    /// Researcher moves `[t][c][d]` during tick t+1 (T × C × C).
    pub flows: Vec<f64>,
}

impl RunData {
    /// Number of countries.
    pub fn c(&self) -> usize {
        self.codes.len()
    }

    /// Number of rows (ticks + 1).
    pub fn rows(&self) -> usize {
        self.years.len()
    }

    /// The manifest's string field `key` ("" when absent).
    pub fn meta(&self, key: &str) -> String {
        match &self.manifest[key] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// The whole per-country variable `[t × C + k]`.
    pub fn country_var(&self, variable: &str) -> Result<&[f64], RunDirError> {
        self.country
            .get(variable)
            .map(Vec::as_slice)
            .ok_or_else(|| RunDirError::MissingVariable {
                path: self.dir.join("countries.csv"),
                variable: variable.into(),
            })
    }

    /// One country's series of `variable` over time.
    pub fn series(&self, variable: &str, k: usize) -> Result<Vec<f64>, RunDirError> {
        let c = self.c();
        Ok(self
            .country_var(variable)?
            .iter()
            .skip(k)
            .step_by(c)
            .copied()
            .collect())
    }

    /// `variable` of country `k` at row `t`.
    pub fn at(&self, variable: &str, t: usize, k: usize) -> Result<f64, RunDirError> {
        Ok(self.country_var(variable)?[t * self.c() + k])
    }

    /// A world series, also found under its deprecated alias or its new name
    /// ([`crate::model::record::aliases`]), so directories of either version read the same.
    pub fn world_var(&self, variable: &str) -> Result<&[f64], RunDirError> {
        let mut found = self.world.get(variable);
        for alias in crate::model::record::aliases(variable) {
            found = found.or_else(|| self.world.get(alias));
        }
        found
            .map(Vec::as_slice)
            .ok_or_else(|| RunDirError::MissingVariable {
                path: self.dir.join("world.csv"),
                variable: variable.into(),
            })
    }

    /// Researchers moved c → d over the whole run, `[c × C + d]`.
    pub fn total_flows(&self) -> Vec<f64> {
        let cc = self.c() * self.c();
        let mut total = vec![0.0; cc];
        // Fixed order (tick by tick), so the sums are the same on every machine.
        for tick in self.flows.chunks_exact(cc) {
            for (t, f) in total.iter_mut().zip(tick) {
                *t += f;
            }
        }
        total
    }

    /// Net researcher migration over the whole run, `[c × C + d]`: moves c → d minus moves
    /// d → c (antisymmetric; positive means country c lost researchers to d on balance).
    pub fn net_flows(&self) -> Vec<f64> {
        let c = self.c();
        let total = self.total_flows();
        let mut net = vec![0.0; c * c];
        for a in 0..c {
            for b in 0..c {
                net[a * c + b] = total[a * c + b] - total[b * c + a];
            }
        }
        net
    }

    /// The sum of a flow variable (per tick) of country `k` over the whole run.
    pub fn cumulative(&self, variable: &str, k: usize) -> Result<f64, RunDirError> {
        Ok(self.series(variable, k)?.iter().sum())
    }
}

/// Checks `bytes` of `name` against the blake3 recorded in the manifest.
fn verify(
    dir: &Path,
    manifest: &serde_json::Value,
    name: &str,
    bytes: &[u8],
) -> Result<(), RunDirError> {
    let path = dir.join(name);
    let expected = manifest["outputs"][name]["blake3"]
        .as_str()
        .ok_or_else(|| {
            invalid(
                &dir.join(MANIFEST),
                format!("no blake3 recorded for {name}"),
            )
        })?;
    let found = blake3::hash(bytes).to_hex().to_string();
    if found != expected {
        return Err(RunDirError::Modified {
            path,
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// The bytes of an optional output `name` of the run in `dir` (such as the observers' files,
/// [`crate::rundir::careers::NAMES`]), verified against the manifest's blake3; `None` when the
/// manifest lists no such file.
pub fn read_optional(
    dir: &Path,
    manifest: &serde_json::Value,
    name: &str,
) -> Result<Option<Vec<u8>>, RunDirError> {
    if manifest["outputs"].get(name).is_none() {
        return Ok(None);
    }
    let bytes = read_bytes(&dir.join(name), MAX_DATA_BYTES)?;
    verify(dir, manifest, name, &bytes)?;
    Ok(Some(bytes))
}

/// Reads a finished run directory, verifying every file against the manifest.
pub fn read_run(dir: &Path) -> Result<RunData, RunDirError> {
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.is_file() {
        return Err(RunDirError::NotARun(dir.to_path_buf()));
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_bytes(&manifest_path, MAX_JSON_BYTES)?)
            .map_err(|e| invalid(&manifest_path, e.to_string()))?;
    let codes: Vec<String> = manifest["countries"]
        .as_array()
        .ok_or_else(|| invalid(&manifest_path, "no `countries` list"))?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid(&manifest_path, "`countries` must be a list of codes"))?;
    let ticks = manifest["ticks"]
        .as_u64()
        .ok_or_else(|| invalid(&manifest_path, "no `ticks`"))?;

    // Sizes come from the validated scenario (bounded by its checks), never from the manifest
    // alone: a manifest claiming 10^15 ticks must not size an allocation.
    let scenario_path = dir.join("scenario.toml");
    let scenario_bytes = read_bytes(&scenario_path, crate::scenario::load::MAX_SCENARIO_BYTES)?;
    verify(dir, &manifest, "scenario.toml", &scenario_bytes)?;
    let scenario = scenario::load_file(&scenario_path, &[])?;
    let scenario_codes: Vec<&str> = scenario.countries.iter().map(|k| k.code.as_str()).collect();
    if scenario_codes != codes.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(invalid(
            &scenario_path,
            "its countries differ from the manifest's `countries`",
        ));
    }
    if ticks != scenario.ticks() as u64 {
        return Err(invalid(
            &manifest_path,
            format!(
                "`ticks` is {ticks}, but its scenario.toml runs {} ticks",
                scenario.ticks()
            ),
        ));
    }
    let ticks = scenario.ticks();
    let (c, rows) = (codes.len(), ticks + 1);

    let index: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut years = vec![f64::NAN; rows];

    let path = dir.join("countries.csv");
    let bytes = read_bytes(&path, MAX_DATA_BYTES)?;
    verify(dir, &manifest, "countries.csv", &bytes)?;
    let mut country: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    read_tidy(
        &path,
        &bytes,
        &["tick", "year", "country", "variable", "value"],
        |line, f| {
            let t = parse_tick(f[0], rows).map_err(|m| format!("line {line}: {m}"))?;
            let k = *index
                .get(f[2])
                .ok_or_else(|| format!("line {line}: unknown country `{}`", echo(f[2])))?;
            years[t] = parse_num(f[1]).map_err(|m| format!("line {line}: year: {m}"))?;
            let v = parse_num(f[4]).map_err(|m| format!("line {line}: value: {m}"))?;
            // Only the model's variables: each new name would allocate a column of T × C.
            if !COUNTRY.iter().any(|var| var.name == f[3]) {
                return Err(format!("line {line}: unknown variable `{}`", echo(f[3])));
            }
            let column = country
                .entry(f[3].to_string())
                .or_insert_with(|| vec![f64::NAN; rows * c]);
            column[t * c + k] = v;
            *seen.entry(f[3].to_string()).or_default() += 1;
            Ok(())
        },
    )?;
    if let Some((v, n)) = seen.iter().find(|(_, &n)| n != rows * c) {
        return Err(invalid(
            &path,
            format!(
                "variable `{v}` has {n} rows, expected {} (ticks × countries)",
                rows * c
            ),
        ));
    }

    let path = dir.join("world.csv");
    let bytes = read_bytes(&path, MAX_DATA_BYTES)?;
    verify(dir, &manifest, "world.csv", &bytes)?;
    let mut world: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    read_tidy(
        &path,
        &bytes,
        &["tick", "year", "variable", "value"],
        |line, f| {
            let t = parse_tick(f[0], rows).map_err(|m| format!("line {line}: {m}"))?;
            let v = parse_num(f[3]).map_err(|m| format!("line {line}: value: {m}"))?;
            if !WORLD.iter().any(|var| var.name == f[2]) {
                return Err(format!("line {line}: unknown variable `{}`", echo(f[2])));
            }
            world
                .entry(f[2].to_string())
                .or_insert_with(|| vec![f64::NAN; rows])[t] = v;
            *seen.entry(f[2].to_string()).or_default() += 1;
            Ok(())
        },
    )?;
    if let Some((v, n)) = seen.iter().find(|(_, &n)| n != rows) {
        return Err(invalid(
            &path,
            format!("variable `{v}` has {n} rows, expected {rows}"),
        ));
    }
    if years.iter().any(|y| !y.is_finite()) {
        return Err(invalid(
            &dir.join("countries.csv"),
            "some ticks have no rows",
        ));
    }

    let path = dir.join("series.npz");
    let bytes = read_bytes(&path, MAX_DATA_BYTES)?;
    verify(dir, &manifest, "series.npz", &bytes)?;
    let (shape, flows) =
        npz::read_f64(&bytes, "flows").map_err(|e| invalid(&path, e.to_string()))?;
    if shape != [ticks, c, c] {
        return Err(invalid(
            &path,
            format!("`flows` has shape {shape:?}, expected [{ticks}, {c}, {c}]"),
        ));
    }

    Ok(RunData {
        dir: dir.to_path_buf(),
        manifest,
        scenario,
        codes,
        years,
        country,
        world,
        flows,
    })
}

/// Every recorded variable of a finished run, from its `series.npz` (checked against the
/// manifest's blake3 first): the run's [`Recorder`] as it was when the run ended, for programs
/// that want the arrays themselves (the Python package's `read_run`). `data` comes from
/// [`read_run`], which has checked the other files.
pub fn read_recorder(data: &RunData) -> Result<Recorder, RunDirError> {
    let path = data.dir.join("series.npz");
    let bytes = read_bytes(&path, MAX_DATA_BYTES)?;
    verify(&data.dir, &data.manifest, "series.npz", &bytes)?;
    let (c, rows) = (data.c(), data.rows());
    let array = |name: &str, shape: &[usize]| -> Result<Vec<f64>, RunDirError> {
        let (found, values) =
            npz::read_f64(&bytes, name).map_err(|e| invalid(&path, e.to_string()))?;
        if found != shape {
            return Err(invalid(
                &path,
                format!("`{name}` has shape {found:?}, expected {shape:?}"),
            ));
        }
        Ok(values)
    };
    let mut rec = Recorder::new(c, rows - 1);
    for (var, values) in COUNTRY.iter().zip(rec.country.iter_mut()) {
        *values = array(var.name, &[rows, c])?;
    }
    for (var, values) in WORLD.iter().zip(rec.world.iter_mut()) {
        *values = array(var.name, &[rows])?;
    }
    for var in MATRICES {
        let shape = match var.kind {
            Kind::Flow => [rows - 1, c, c],
            Kind::Stock => [rows, c, c],
        };
        let values = array(var.name, &shape)?;
        // The recorder's matrix fields are plain vectors; the table says which one each is.
        if std::ptr::eq((var.values)(&rec).as_ptr(), rec.flows.as_ptr()) {
            rec.flows = values;
        } else if std::ptr::eq((var.values)(&rec).as_ptr(), rec.origin_location.as_ptr()) {
            rec.origin_location = values;
        } else {
            return Err(invalid(
                &path,
                format!("`{}` is not a matrix this version can hold", var.name),
            ));
        }
    }
    rec.rows = rows;
    Ok(rec)
}

fn parse_tick(s: &str, rows: usize) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&t| t < rows)
        .ok_or_else(|| format!("tick `{}` is not an integer in 0..{rows}", echo(s)))
}

fn parse_num(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("`{}` is not a number", echo(s)))
}

/// Reads a tidy CSV with exactly `header`, calling `row(line, fields)` for every record.
fn read_tidy(
    path: &Path,
    bytes: &[u8],
    header: &[&str],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), String>,
) -> Result<(), RunDirError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let found = reader
        .headers()
        .map_err(|e| invalid(path, e.to_string()))?
        .clone();
    if found.iter().collect::<Vec<_>>() != header {
        return Err(invalid(
            path,
            format!(
                "header is `{}`, expected `{}`",
                echo(&found.iter().collect::<Vec<_>>().join(",")),
                header.join(",")
            ),
        ));
    }
    for record in reader.records() {
        let record = record.map_err(|e| invalid(path, e.to_string()))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fields: Vec<&str> = record.iter().collect();
        row(line, &fields).map_err(|m| invalid(path, m))?;
    }
    Ok(())
}

/// File naming the experiment's metadata.
pub const EXPERIMENT_JSON: &str = "experiment.json";
/// File with one row per arm × outcome.
pub const SUMMARY_CSV: &str = "summary.csv";
/// File with one row per run of the experiment.
pub const RUNS_CSV: &str = "runs.csv";

/// One row of an experiment's `summary.csv`: an arm's outcome, and its difference from the
/// control arm (empty for the control itself).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SummaryRow {
    /// Arm name.
    pub arm: String,
    /// Outcome name.
    pub outcome: String,
    /// Replicates.
    pub n: u64,
    /// Mean over replicates.
    pub mean: f64,
    /// Standard deviation over replicates.
    pub sd: f64,
    /// Confidence interval of the mean, low end.
    pub ci_low: f64,
    /// Confidence interval of the mean, high end.
    pub ci_high: f64,
    /// Mean difference from the control arm.
    pub diff: Option<f64>,
    /// Confidence interval of the difference, low end.
    pub diff_ci_low: Option<f64>,
    /// Confidence interval of the difference, high end.
    pub diff_ci_high: Option<f64>,
    /// Standardised effect size.
    pub effect_size: Option<f64>,
}

/// An experiment directory, read back.
#[derive(Clone, Debug)]
pub struct ExperimentData {
    /// The directory.
    pub dir: PathBuf,
    /// `experiment.json` as written.
    pub meta: serde_json::Value,
    /// `summary.csv`, in file order.
    pub summary: Vec<SummaryRow>,
    /// Rows in `runs.csv` (None when the file is absent).
    pub runs: Option<usize>,
}

impl ExperimentData {
    /// Arms in order of first appearance in `summary.csv`.
    pub fn arms(&self) -> Vec<String> {
        first_appearance(self.summary.iter().map(|r| r.arm.as_str()))
    }

    /// Outcomes in order of first appearance in `summary.csv`.
    pub fn outcomes(&self) -> Vec<String> {
        first_appearance(self.summary.iter().map(|r| r.outcome.as_str()))
    }

    /// The first of `keys` present in `experiment.json`, as text.
    pub fn meta_str(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| match &self.meta[*k] {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
    }

    /// The control arm: named in `experiment.json`, else the arm whose differences are empty.
    pub fn control(&self) -> Option<String> {
        self.meta_str(&["control", "control_arm"]).or_else(|| {
            self.summary
                .iter()
                .find(|r| r.diff.is_none())
                .map(|r| r.arm.clone())
        })
    }
}

fn first_appearance<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    // A set, not a scan of `out`: a summary of 200,000 arms would take 10^10 comparisons.
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for s in items {
        if seen.insert(s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Reads an experiment directory: `experiment.json`, `summary.csv`, and counts `runs.csv`.
pub fn read_experiment(dir: &Path) -> Result<ExperimentData, RunDirError> {
    let meta_path = dir.join(EXPERIMENT_JSON);
    let meta: serde_json::Value = serde_json::from_slice(&read_bytes(&meta_path, MAX_JSON_BYTES)?)
        .map_err(|e| invalid(&meta_path, e.to_string()))?;
    if !meta.is_object() {
        return Err(invalid(&meta_path, "must hold a JSON object"));
    }
    let path = dir.join(SUMMARY_CSV);
    let bytes = read_bytes(&path, MAX_DATA_BYTES)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let mut summary = Vec::new();
    for row in reader.deserialize::<SummaryRow>() {
        summary.push(row.map_err(|e| invalid(&path, e.to_string()))?);
    }
    if summary.is_empty() {
        return Err(invalid(&path, "no rows"));
    }
    let runs_path = dir.join(RUNS_CSV);
    let runs = if runs_path.is_file() {
        let bytes = read_bytes(&runs_path, MAX_DATA_BYTES)?;
        let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
        let mut n = 0;
        for r in reader.records() {
            r.map_err(|e| invalid(&runs_path, e.to_string()))?;
            n += 1;
        }
        Some(n)
    } else {
        None
    };
    Ok(ExperimentData {
        dir: dir.to_path_buf(),
        meta,
        summary,
        runs,
    })
}

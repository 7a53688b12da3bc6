//! Writers: a finished run becomes a directory of numpy-, pandas- and R-readable files.
//!
//! ```text
//! DIR/series.npz      every observed variable as float64 arrays (+ `countries`, `year`)
//! DIR/countries.csv   tidy: tick,year,country,variable,value
//! DIR/world.csv       tidy: tick,year,variable,value
//! DIR/scenario.toml   the resolved scenario (every parameter), loadable again
//! DIR/manifest.json   version, scenario + hash, seed, threads, timing, blake3 of each file
//! DIR/run.json        written when the run starts: what `talentflow resume` needs
//! DIR/checkpoint.postcard   while a run is unfinished: its latest checkpoint
//! ```
//!
//! Every file is written to a temporary name, flushed to disk and renamed into place; the manifest
//! is written last, so a directory with a `manifest.json` is a complete run and one without it
//! never is ([`status`] tells which).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::lock;
use super::npz::{self, NpzArray, NpzData};
use crate::model::record::{Kind, Recorder, COUNTRY, MATRICES, WORLD};
use crate::scenario::text::clip;
use crate::scenario::Scenario;

/// Name of the file that marks a complete run directory.
pub const MANIFEST: &str = "manifest.json";
/// Name of the file written when a run starts (see [`crate::rundir::runner::RunRecord`]).
pub const RUN_RECORD: &str = "run.json";
/// Name of the checkpoint file of an unfinished run (see [`crate::rundir::checkpoint`]).
pub const CHECKPOINT: &str = "checkpoint.postcard";
/// The observers (panel, cohort tables) saved with the checkpoint of a run that has them.
pub const OBSERVERS_CHECKPOINT: &str = "observers.postcard";
/// Name of the resolved scenario in a run directory.
pub const SCENARIO: &str = "scenario.toml";

/// Errors writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output directory holds files and `--force` was not given.
    #[error("output directory {0} already exists and is not empty (use --force to overwrite it)")]
    Exists(PathBuf),
    /// The output directory holds an unfinished run and `--force` was not given.
    #[error(
        "output directory {0} holds an unfinished run: continue it with `talentflow resume {0}`, \
         or start over with --force"
    )]
    Unfinished(PathBuf),
    /// A recorded value is NaN or infinite; nothing was written.
    #[error(
        "`{variable}` is not finite ({value}) at row {row}{country}: the parameters drive the \
         model out of floating-point range, so no outputs were written"
    )]
    NonFinite {
        /// The variable.
        variable: String,
        /// The row (tick).
        row: usize,
        /// ", country CODE" when the variable is per country.
        country: String,
        /// The value.
        value: f64,
    },
    /// Another process holds the directory's lock (see [`crate::rundir::lock`]).
    #[error(
        "{holder} is writing to {dir}; wait for it to finish, or use another output directory"
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// Who holds it (`pid N`, as its lock file says).
        holder: String,
    },
    /// The output path exists and is not a directory.
    #[error("output path {0} exists and is not a directory")]
    NotADirectory(PathBuf),
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding the npz archive failed.
    #[error(transparent)]
    Npz(#[from] npz::NpzError),
    /// Encoding a CSV failed.
    #[error("writing {path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Figures and report derived from a run (`talentflow plot` / `report`), removed with the old
/// run under `--force` so they can never describe a run they were not made from.
const DERIVED_FILE: &str = "report.html";
const DERIVED_DIR: &str = "plots";
/// The data files of a run directory (the manifest, run record and checkpoint are named apart).
pub const OUTPUT_FILES: &[&str] = &["series.npz", "countries.csv", "world.csv", SCENARIO];

/// Whether `dir` holds nothing but a lock file (see [`crate::rundir::lock`]).
fn is_empty_dir(dir: &Path) -> Result<bool, OutputError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        if entry.map_err(io_err(dir))?.file_name() != lock::LOCK {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes `path` if it is a file or a symlink (the link, never what it points to).
fn remove_entry_file(path: &Path) -> Result<(), OutputError> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.is_dir() => fs::remove_file(path).map_err(io_err(path)),
        _ => Ok(()),
    }
}

/// Removes what talentflow writes into a run directory — the manifest first, so the old run
/// stops looking complete, then the run record, checkpoint, outputs, temporary files, report
/// and figures (only `.svg`/`.png` files and `migration.csv` in `plots/`) — and nothing else. Symlinks are removed
/// as links and never followed, so nothing outside `dir` is touched.
pub fn remove_run_files(dir: &Path) -> Result<(), OutputError> {
    for name in [MANIFEST, CHECKPOINT, OBSERVERS_CHECKPOINT, RUN_RECORD]
        .iter()
        .chain(OUTPUT_FILES)
    {
        remove_entry_file(&dir.join(name))?;
    }
    remove_stale_temps(dir)?;
    remove_derived(dir)
}

/// Removes the report and figures made from a directory (`report.html`; the `.svg`/`.png`
/// files and `migration.csv` of `plots/`, and `plots/` itself if that empties it): under
/// `--force` of a run or a calibration, so they never describe results they were not made from.
pub fn remove_derived(dir: &Path) -> Result<(), OutputError> {
    remove_entry_file(&dir.join(DERIVED_FILE))?;
    let plots = dir.join(DERIVED_DIR);
    if fs::symlink_metadata(&plots).is_ok_and(|m| m.is_dir()) {
        for entry in fs::read_dir(&plots).map_err(io_err(&plots))? {
            let path = entry.map_err(io_err(&plots))?.path();
            let figure = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("svg" | "png")
            ) || path.file_name().is_some_and(|n| n == "migration.csv");
            if figure {
                remove_entry_file(&path)?;
            }
        }
        // Left in place if it holds anything else.
        fs::remove_dir(&plots).ok();
    }
    Ok(())
}

/// Makes `dir` ready to receive a run and claims it: creates it, takes its lock (a second
/// process writing there fails with [`OutputError::Busy`]), then refuses it if it holds
/// anything unless `force`, and with `force` removes the old run's files
/// ([`remove_run_files`]). Hold the returned lock until the directory is complete.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<lock::DirLock, OutputError> {
    if dir.exists() && !dir.is_dir() {
        return Err(OutputError::NotADirectory(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    // Claimed before it is looked at: two processes can no longer both find it empty.
    let held = lock::acquire(dir, lock::LOCK)?;
    if !is_empty_dir(dir)? {
        if !force {
            return Err(match status(dir) {
                DirStatus::Unfinished { .. } => OutputError::Unfinished(dir.to_path_buf()),
                _ => OutputError::Exists(dir.to_path_buf()),
            });
        }
        remove_run_files(dir)?;
    }
    Ok(held)
}

/// What a path holds, as a run directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirStatus {
    /// Nothing there, or an empty directory.
    Empty,
    /// A finished run: the manifest is present (it is written last).
    Complete,
    /// A run that started and did not finish (no manifest), with or without a checkpoint.
    Unfinished {
        /// Whether a checkpoint file is present.
        checkpoint: bool,
    },
    /// Something else: files that are not a talentflow run, or not a directory.
    Other,
}

/// Classifies `dir`. Experiments and sweeps use this to keep finished runs and to find the ones
/// to resume; only [`DirStatus::Complete`] directories hold outputs to read.
pub fn status(dir: &Path) -> DirStatus {
    if !dir.exists() {
        return DirStatus::Empty;
    }
    if !dir.is_dir() {
        return DirStatus::Other;
    }
    if dir.join(MANIFEST).is_file() {
        return DirStatus::Complete;
    }
    if dir.join(RUN_RECORD).is_file() {
        return DirStatus::Unfinished {
            checkpoint: dir.join(CHECKPOINT).is_file(),
        };
    }
    match is_empty_dir(dir) {
        Ok(true) => DirStatus::Empty,
        _ => DirStatus::Other,
    }
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // `create_new` (O_EXCL) never follows a symlink planted at the temporary name; a file
        // already there is a leftover of a killed process with the same pid.
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
        };
        let mut f = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                remove_entry_file(&tmp)?;
                create()
            }
            other => other,
        }
        .map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))?;
        // Make the rename itself durable; not all platforms can open a directory, hence `ok()`.
        if let Ok(d) = fs::File::open(dir) {
            d.sync_all().ok();
        }
        Ok(())
    })();
    if result.is_err() {
        fs::remove_file(&tmp).ok();
    }
    result
}

/// Removes temporary files left in `dir` by a process killed while writing (see
/// [`write_atomic`]: `.NAME.tmp-PID`). Only files of that pattern are touched.
pub fn remove_stale_temps(dir: &Path) -> Result<(), OutputError> {
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.contains(".tmp-") {
            remove_entry_file(&path)?;
        }
    }
    Ok(())
}

/// Units and meaning of the two axes written beside the variables in `series.npz`.
pub const AXES: &[(&str, &str, &str)] = &[
    (
        "year",
        "year",
        "calendar time at the end of each row's tick",
    ),
    (
        "countries",
        "code",
        "country codes, the order of every country axis",
    ),
];

/// Calendar time of row `t`.
pub fn year_of_row(scenario: &Scenario, t: usize) -> f64 {
    scenario.world.start_year as f64 + t as f64 / scenario.world.ticks_per_year as f64
}

/// Builds `series.npz`.
pub fn series_npz(scenario: &Scenario, rec: &Recorder) -> Result<Vec<u8>, OutputError> {
    let (c, rows) = (rec.c, rec.ticks() + 1);
    let years: Vec<f64> = (0..rows).map(|t| year_of_row(scenario, t)).collect();
    let mut arrays = vec![
        NpzArray {
            name: "countries".into(),
            shape: vec![c],
            data: NpzData::Bytes(scenario.countries.iter().map(|k| k.code.clone()).collect()),
        },
        NpzArray {
            name: "year".into(),
            shape: vec![rows],
            data: NpzData::F64(&years),
        },
    ];
    for (var, values) in COUNTRY.iter().zip(&rec.country) {
        arrays.push(NpzArray {
            name: var.name.into(),
            shape: vec![rows, c],
            data: NpzData::F64(values),
        });
    }
    for var in MATRICES {
        let rows = match var.kind {
            Kind::Flow => rows - 1,
            Kind::Stock => rows,
        };
        arrays.push(NpzArray {
            name: var.name.into(),
            shape: vec![rows, c, c],
            data: NpzData::F64((var.values)(rec)),
        });
    }
    for (var, values) in WORLD.iter().zip(&rec.world) {
        arrays.push(NpzArray {
            name: var.name.into(),
            shape: vec![rows],
            data: NpzData::F64(values),
        });
    }
    Ok(npz::encode(&arrays)?)
}

fn csv_bytes(
    path: &Path,
    header: &[&str],
    mut rows: impl FnMut(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
) -> Result<Vec<u8>, OutputError> {
    let err = |e: csv::Error| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    rows(&mut w).map_err(err)?;
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// One row of `countries.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CountryRow {
    /// Row (tick) of the recorder.
    pub tick: usize,
    /// Calendar time of the row ([`year_of_row`]).
    pub year: f64,
    /// Country index (scenario order).
    pub country: usize,
    /// Variable index in [`COUNTRY`].
    pub variable: usize,
    /// The value.
    pub value: f64,
}

/// One row of `world.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldRow {
    /// Row (tick) of the recorder.
    pub tick: usize,
    /// Calendar time of the row.
    pub year: f64,
    /// Variable index in [`WORLD`].
    pub variable: usize,
    /// The value.
    pub value: f64,
}

/// The rows of `countries.csv`, in file order (tick, then country, then variable). The CSV
/// writer and any other tidy view of a run (the Python package's data frames) iterate these, so
/// they hold the same rows in the same order.
pub fn country_rows<'a>(
    scenario: &'a Scenario,
    rec: &'a Recorder,
) -> impl Iterator<Item = CountryRow> + 'a {
    (0..=rec.ticks()).flat_map(move |t| {
        let year = year_of_row(scenario, t);
        (0..scenario.countries.len().min(rec.c)).flat_map(move |k| {
            rec.country
                .iter()
                .take(COUNTRY.len())
                .enumerate()
                .map(move |(variable, values)| CountryRow {
                    tick: t,
                    year,
                    country: k,
                    variable,
                    value: values[t * rec.c + k],
                })
        })
    })
}

/// The rows of `world.csv`, in file order (tick, then variable).
pub fn world_rows<'a>(
    scenario: &'a Scenario,
    rec: &'a Recorder,
) -> impl Iterator<Item = WorldRow> + 'a {
    (0..=rec.ticks()).flat_map(move |t| {
        let year = year_of_row(scenario, t);
        rec.world
            .iter()
            .take(WORLD.len())
            .enumerate()
            .map(move |(variable, values)| WorldRow {
                tick: t,
                year,
                variable,
                value: values[t],
            })
    })
}

/// Builds `countries.csv` (tidy: one row per tick, country and variable).
pub fn countries_csv(
    path: &Path,
    scenario: &Scenario,
    rec: &Recorder,
) -> Result<Vec<u8>, OutputError> {
    csv_bytes(
        path,
        &["tick", "year", "country", "variable", "value"],
        |w| {
            for r in country_rows(scenario, rec) {
                w.write_record([
                    r.tick.to_string().as_str(),
                    &r.year.to_string(),
                    &scenario.countries[r.country].code,
                    COUNTRY[r.variable].name,
                    &r.value.to_string(),
                ])?;
            }
            Ok(())
        },
    )
}

/// Builds `world.csv` (tidy: one row per tick and world variable).
pub fn world_csv(path: &Path, scenario: &Scenario, rec: &Recorder) -> Result<Vec<u8>, OutputError> {
    csv_bytes(path, &["tick", "year", "variable", "value"], |w| {
        for r in world_rows(scenario, rec) {
            w.write_record([
                r.tick.to_string().as_str(),
                &r.year.to_string(),
                WORLD[r.variable].name,
                &r.value.to_string(),
            ])?;
        }
        Ok(())
    })
}

/// Facts about a run that are not in the scenario, for the manifest.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// Where the scenario came from.
    pub scenario_source: String,
    /// The `--set` overrides as written.
    pub overrides: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time of the simulation, seconds.
    pub wall_seconds: f64,
    /// Initial startups dropped for lack of founders.
    pub dropped_initial_startups: u64,
}

/// The first NaN or infinite value recorded, if any, as an error naming it.
pub fn check_finite(scenario: &Scenario, rec: &Recorder) -> Result<(), OutputError> {
    let c = rec.c.max(1);
    let bad = |variable: &str, index: usize, per: usize, value: f64, has_country: bool| {
        let row = index / per;
        let country = if has_country {
            let k = (index % per) % c;
            let code = scenario.countries.get(k).map_or("?", |k| k.code.as_str());
            format!(", country {code}")
        } else {
            String::new()
        };
        OutputError::NonFinite {
            variable: variable.to_string(),
            row,
            country,
            value,
        }
    };
    let first_bad = |values: &[f64]| {
        values
            .iter()
            .copied()
            .enumerate()
            .find(|(_, x)| !x.is_finite())
    };
    for (var, values) in COUNTRY.iter().zip(&rec.country) {
        if let Some((i, x)) = first_bad(values) {
            return Err(bad(var.name, i, c, x, true));
        }
    }
    for (var, values) in WORLD.iter().zip(&rec.world) {
        if let Some((i, x)) = first_bad(values) {
            return Err(bad(var.name, i, 1, x, false));
        }
    }
    for var in MATRICES {
        if let Some((i, x)) = first_bad((var.values)(rec)) {
            return Err(bad(var.name, i, c * c, x, true));
        }
    }
    Ok(())
}

/// Writes a complete run directory (the manifest last) and returns the manifest.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    rec: &Recorder,
    info: &RunInfo,
) -> Result<serde_json::Value, OutputError> {
    write_run_with(dir, scenario, rec, info, serde_json::Map::new())
}

/// The files of a finished run except the manifest, as (name, bytes) in writing order:
/// `series.npz`, `countries.csv`, `world.csv`, `scenario.toml`. `dir` only names them in errors.
pub fn run_files(
    dir: &Path,
    scenario: &Scenario,
    rec: &Recorder,
    info: &RunInfo,
) -> Result<Vec<(&'static str, Vec<u8>)>, OutputError> {
    Ok(vec![
        ("series.npz", series_npz(scenario, rec)?),
        (
            "countries.csv",
            countries_csv(&dir.join("countries.csv"), scenario, rec)?,
        ),
        (
            "world.csv",
            world_csv(&dir.join("world.csv"), scenario, rec)?,
        ),
        (SCENARIO, resolved_toml(scenario, info).into_bytes()),
    ])
}

/// The manifest of a run whose files ([`run_files`]) are `files`: their sizes and blake3, the
/// variables with units and meaning (from [`COUNTRY`], [`MATRICES`], [`WORLD`]), the run facts
/// and the resolved scenario.
pub fn manifest(
    scenario: &Scenario,
    info: &RunInfo,
    files: &[(&str, Vec<u8>)],
) -> serde_json::Value {
    let mut outputs = serde_json::Map::new();
    for (name, bytes) in files {
        outputs.insert(
            (*name).into(),
            json!({ "bytes": bytes.len(), "blake3": blake3::hash(bytes).to_hex().to_string() }),
        );
    }
    let entry = |shape: &str, units: &str, kind: Kind, meaning: &str| json!({ "shape": shape, "units": units, "kind": kind.name(), "meaning": meaning });
    let mut variables = serde_json::Map::new();
    for v in COUNTRY {
        let e = entry("[T+1, C]", v.units, v.kind, v.meaning);
        variables.insert(v.name.into(), e);
    }
    for v in MATRICES {
        let shape = match v.kind {
            Kind::Flow => "[T, C, C]",
            Kind::Stock => "[T+1, C, C]",
        };
        variables.insert(v.name.into(), entry(shape, v.units, v.kind, v.meaning));
    }
    for v in WORLD {
        let e = entry("[T+1]", v.units, Kind::Stock, v.meaning);
        variables.insert(v.name.into(), e);
    }
    json!({
        "format": "talentflow-run/1",
        "talentflow_version": crate::VERSION,
        "model_version": crate::MODEL_VERSION,
        "scenario_source": info.scenario_source,
        "overrides": info.overrides,
        "scenario_hash": scenario.hash(),
        "seed": info.seed,
        "agents": scenario.world.agents,
        "researchers": scenario.world.researchers,
        "scale": scenario.world.researchers / scenario.world.agents as f64,
        "ticks": scenario.ticks(),
        "ticks_per_year": scenario.world.ticks_per_year,
        "start_year": scenario.world.start_year,
        "countries": scenario.countries.iter().map(|k| k.code.clone()).collect::<Vec<_>>(),
        "threads": info.threads,
        "wall_seconds": info.wall_seconds,
        "created_unix": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "dropped_initial_startups": info.dropped_initial_startups,
        "outputs": outputs,
        "variables": variables,
        "scenario": serde_json::from_str::<serde_json::Value>(&scenario.to_canonical_json()).unwrap_or_default(),
    })
}

/// [`write_run`] with `extra` keys added to the manifest (e.g. where a resumed run resumed).
/// Refuses, before writing anything, a recorder holding NaN or infinite values.
pub fn write_run_with(
    dir: &Path,
    scenario: &Scenario,
    rec: &Recorder,
    info: &RunInfo,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, OutputError> {
    write_run_full(dir, scenario, rec, info, extra, Vec::new())
}

/// [`write_run_with`] with more files (the observers' tables, [`crate::rundir::careers`]),
/// written before the manifest and listed in it after the run's own files.
pub fn write_run_full(
    dir: &Path,
    scenario: &Scenario,
    rec: &Recorder,
    info: &RunInfo,
    extra: serde_json::Map<String, serde_json::Value>,
    more_files: Vec<(&'static str, Vec<u8>)>,
) -> Result<serde_json::Value, OutputError> {
    check_finite(scenario, rec)?;
    let mut files = run_files(dir, scenario, rec, info)?;
    files.extend(more_files);
    for (name, bytes) in &files {
        write_atomic(&dir.join(name), bytes)?;
    }
    let mut manifest = manifest(scenario, info, &files);
    if let Some(m) = manifest.as_object_mut() {
        m.extend(extra);
    }
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    write_atomic(&dir.join(MANIFEST), text.as_bytes())?;
    Ok(manifest)
}

/// Characters of the source path and of the overrides quoted in the comment of
/// `scenario.toml` (run.json and the manifest hold both in full).
const COMMENT_CHARS: usize = 4000;

/// The text of `scenario.toml`: a comment naming source, overrides, seed and version, then the
/// resolved scenario. Written when a run starts (for `resume`) and again with the outputs.
///
/// The comment quotes user text (a path, `--set` values), which may hold newlines and other
/// control characters that would end the comment or be refused in it; they are escaped, and
/// each quote is clipped so that the file stays within what the loader reads back (see
/// [`crate::scenario::load::RESOLVED_HEADER_BYTES`]).
pub fn resolved_toml(scenario: &Scenario, info: &RunInfo) -> String {
    let mut out = format!(
        "# Resolved scenario of this run (every parameter, defaults filled in).\n\
         # Source: {}\n# Overrides: {}\n# Seed: {}  talentflow {} (model v{})  scenario blake3 {}\n\n",
        clip(&info.scenario_source, COMMENT_CHARS),
        if info.overrides.is_empty() {
            "none".to_string()
        } else {
            clip(&info.overrides.join(" "), COMMENT_CHARS)
        },
        info.seed,
        crate::VERSION,
        crate::MODEL_VERSION,
        scenario.hash()
    );
    out.push_str(&scenario.to_toml());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("tf-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, "keep").unwrap();
        let target = dir.join("out.txt");
        let tmp = dir.join(format!(".out.txt.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert!(fs::symlink_metadata(&tmp).is_err(), "temporary left");
        fs::remove_dir_all(&dir).ok();
    }
}

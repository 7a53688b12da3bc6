//! Calibration of behaviour parameters to observed moments (`talentflow calibrate`; MODEL.md
//! §8, second layer): a calibration file names parameters with priors and targets with
//! observed values and standard errors; the simulated method of moments ([`smm`]) or ABC-SMC
//! ([`abc`]) fits them, re-solving the baseline calibration ([`crate::study::baseline`], the
//! inner step) at every θ, with common random numbers (the same replicate seeds at every θ).
//!
//! A calibration directory holds `calibration.toml` (the file as given), `calibration.json`
//! (its identity), `evaluations.csv` (every θ evaluated; append-only, the resume cache, see
//! [`ledger`]), and at the end `estimates.csv` (SMM) or `posterior.csv` (ABC), `fit.csv`,
//! `identifiability.csv`, `generations.csv` (ABC), `calibrated.toml` and `summary.txt`
//! ([`output`]). Re-running the command on the directory resumes; every file's bytes are a
//! pure function of the calibration file and the talentflow version. A sharded calibration
//! ([`run_shard`], `--shard I/N`) adds each shard's `evaluations.shard-I-of-N.csv`
//! ([`ledger::Exchange`]); the other files are those of an unsharded run.

pub mod abc;
pub mod analysis;
pub mod ledger;
pub mod linalg;
pub mod output;
pub mod posterior;
pub mod prior;
pub mod read;
pub mod simulator;
pub mod smm;
pub mod spec;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::rundir::input::{read_limited, read_limited_string, MAX_JSON_BYTES, MAX_TABLE_BYTES};
use crate::rundir::lock;
use crate::rundir::write::{write_atomic, OutputError};
use crate::scenario::load::MAX_SCENARIO_BYTES;
use crate::study::base::{parse_toml, StudyBase};
use crate::study::baseline;
use ledger::Objective;
use prior::Prior;
use simulator::{ScenarioSimulator, Stop};
use spec::{CalibrationFile, Method, Target};

/// Errors of calibration.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is invalid; every problem is listed.
    #[error("invalid calibration {path}:\n  {}", problems.join("\n  "))]
    Invalid {
        /// File.
        path: PathBuf,
        /// Problems, each naming its field.
        problems: Vec<String>,
    },
    /// A θ could not be evaluated (its scenario, its inner step or a target failed).
    #[error("evaluation at θ = ({}): {message}", theta.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", "))]
    Point {
        /// The parameter values.
        theta: Vec<f64>,
        /// What failed.
        message: String,
    },
    /// The directory belongs to another calibration.
    #[error("{dir} holds a different calibration ({found}); this one is {expected}. Use a new --out directory (or --force to discard the old one)")]
    Mismatch {
        /// Directory.
        dir: PathBuf,
        /// What the directory says.
        found: String,
        /// What this calibration is.
        expected: String,
    },
    /// evaluations.csv is inconsistent, or an estimator cannot proceed.
    #[error("{0}")]
    Results(String),
    /// A stop was requested; the evaluations so far are kept.
    #[error("calibration interrupted; the evaluations so far are kept: run the same command again to resume")]
    Interrupted,
    /// Writing failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A loaded, checked calibration.
pub struct Calibration {
    /// The file as written (with command-line `--set` appended to `set`).
    pub spec: CalibrationFile,
    /// Its text.
    pub text: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Identity: blake3 of (talentflow version, model version, parsed file, inner-step targets).
    pub hash: String,
    /// The method.
    pub method: Method,
    /// Priors, in parameter order.
    pub priors: Vec<Prior>,
    /// Targets, in file order.
    pub targets: Vec<Target>,
    /// The agent-based model of the file.
    pub simulator: ScenarioSimulator,
    /// The inner step's targets file, as resolved.
    pub baseline_path: Option<PathBuf>,
}

impl Calibration {
    /// Reads and checks a calibration file; `set` are command-line overrides of every run.
    pub fn load(path: &Path, set: &[String]) -> Result<Calibration, CalibrateError> {
        let text = read_limited_string(path, MAX_SCENARIO_BYTES).map_err(|source| {
            CalibrateError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Self::from_str(&text, path, set)
    }

    /// Parses calibration text read from `path`.
    pub fn from_str(
        text: &str,
        path: &Path,
        set: &[String],
    ) -> Result<Calibration, CalibrateError> {
        let invalid = |problems: Vec<String>| CalibrateError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let mut spec: CalibrationFile = parse_toml(text).map_err(|e| invalid(vec![e]))?;
        spec.set.extend_from_slice(set);
        let (method, priors, targets, _arms) = spec.check().map_err(invalid)?;
        let (study, problems) = StudyBase::new(&spec.base, path, &spec.set);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let mut baseline_path = None;
        let mut baseline_bytes = Vec::new();
        let baseline_targets = match &spec.baseline {
            Some(b) => {
                let p = Path::new(&b.targets);
                let p = match path.parent() {
                    Some(dir) if p.is_relative() => dir.join(p),
                    _ => p.to_path_buf(),
                };
                baseline_bytes = read_limited(&p, MAX_TABLE_BYTES).map_err(|e| {
                    invalid(vec![format!(
                        "`baseline.targets`: {}: cannot read: {e}",
                        p.display()
                    )])
                })?;
                let t = baseline::parse_targets(&baseline_bytes, &p)
                    .map_err(|e| invalid(vec![format!("`baseline.targets`: {e}")]))?;
                baseline_path = Some(p);
                Some(t)
            }
            None => None,
        };
        let simulator = ScenarioSimulator {
            study,
            arms: spec.arms.clone(),
            keys: spec.parameters.iter().map(|p| p.key.clone()).collect(),
            targets: targets.clone(),
            replicates: spec.replicates,
            master_seed: spec.master_seed,
            baseline: baseline_targets,
        };
        // Every parameter at its prior's ends and median must give valid scenarios whose
        // outcomes resolve: a bad key or range found after an hour of runs wastes the hour.
        let mut problems = Vec::new();
        for (label, u) in [("min", 0.0), ("median", 0.5), ("max", 1.0)] {
            let theta: Vec<f64> = priors.iter().map(|p| p.value(u)).collect();
            if let Err(e) = simulator.check_point(&theta) {
                problems.push(format!("parameters at their prior {label}: {e}"));
                break;
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        if let Some(targets) = &simulator.baseline {
            let theta: Vec<f64> = priors.iter().map(|p| p.median()).collect();
            let s = simulator
                .scenario(0, &simulator.resolve_overrides(&theta))
                .map_err(|e| invalid(vec![e]))?;
            for t in targets {
                if s.country_index(&t.code).is_none() {
                    problems.push(format!(
                        "`baseline.targets`: country {} is not in the base scenario",
                        t.code
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let identity = json!({
            "version": crate::VERSION,
            "model_version": crate::MODEL_VERSION,
            "calibration": spec,
            "baseline_targets_blake3": blake3::hash(&baseline_bytes).to_hex().to_string(),
        });
        let hash = blake3::hash(identity.to_string().as_bytes())
            .to_hex()
            .to_string();
        Ok(Calibration {
            spec,
            text: text.to_string(),
            path: path.to_path_buf(),
            hash,
            method,
            priors,
            targets,
            simulator,
            baseline_path,
        })
    }

    /// Parameter keys, in θ order.
    pub fn keys(&self) -> Vec<String> {
        self.simulator.keys.clone()
    }
}

/// What a finished calibration produced.
#[derive(Debug)]
pub struct Report {
    /// The directory.
    pub dir: PathBuf,
    /// Evaluations in all.
    pub evaluations: usize,
    /// Evaluations simulated by this process (the others were read back).
    pub simulated: usize,
    /// The printed summary (summary.txt).
    pub summary: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CalibrateError + '_ {
    move |source| {
        CalibrateError::Output(OutputError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The error for a directory holding another calibration (`found`: its `calibration.json`).
fn mismatch(
    dir: &Path,
    cal: &Calibration,
    hash: &str,
    found: &serde_json::Value,
) -> CalibrateError {
    CalibrateError::Mismatch {
        dir: dir.to_path_buf(),
        found: format!(
            "hash {hash}, talentflow {}",
            found["talentflow_version"].as_str().unwrap_or("?")
        ),
        expected: format!("hash {}, talentflow {}", cal.hash, crate::VERSION),
    }
}

/// Files a calibration writes (removed by `--force`).
const OWN_FILES: &[&str] = &[
    "calibration.toml",
    "calibration.json",
    "evaluations.csv",
    "estimates.csv",
    "covariance.csv",
    "posterior.csv",
    "fit.csv",
    "identifiability.csv",
    "generations.csv",
    "calibrated.toml",
    "summary.txt",
];

/// Removes the calibration's files and the report and figures made from them.
fn remove_own_files(dir: &Path) -> Result<(), CalibrateError> {
    for name in OWN_FILES {
        let p = dir.join(name);
        if p.exists() {
            fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    // The shards' files of this or an older calibration.
    for entry in fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if ledger::Exchange::is_shard_file(&name) {
            fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
        }
    }
    crate::rundir::write::remove_derived(dir)?;
    Ok(())
}

/// Makes `dir` ready: a new directory gets calibration.toml and calibration.json; one of the
/// same calibration is resumed; another is refused unless `force` (which empties it of the
/// calibration's files).
pub fn prepare(cal: &Calibration, dir: &Path, force: bool) -> Result<(), CalibrateError> {
    let meta = dir.join("calibration.json");
    if meta.exists() {
        let text = read_limited_string(&meta, MAX_JSON_BYTES).map_err(io(&meta))?;
        let found: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let hash = found["hash"].as_str().unwrap_or("unreadable").to_string();
        if hash == cal.hash && !force {
            return Ok(());
        }
        if !force {
            return Err(mismatch(dir, cal, &hash, &found));
        }
        remove_own_files(dir)?;
    } else if dir.exists()
        && fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            // Lock files (the directory's and the shards') are not contents.
            .any(|e| !e.file_name().to_string_lossy().starts_with(lock::LOCK))
    {
        if !force {
            return Err(OutputError::Exists(dir.to_path_buf()).into());
        }
        remove_own_files(dir)?;
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    write_atomic(&dir.join("calibration.toml"), cal.text.as_bytes())?;
    let meta_json = json!({
        "format": "talentflow-calibration/1",
        "talentflow_version": crate::VERSION,
        "model_version": crate::MODEL_VERSION,
        "hash": cal.hash,
        "name": cal.spec.name,
        "calibration_file": cal.path.display().to_string(),
        "method": cal.spec.method,
        "replicates": cal.spec.replicates,
        "master_seed": cal.spec.master_seed,
        "baseline_targets": cal.baseline_path.as_ref().map(|p| p.display().to_string()),
        "spec": cal.spec,
    });
    write_atomic(
        &meta,
        (serde_json::to_string_pretty(&meta_json).unwrap_or_default() + "\n").as_bytes(),
    )?;
    Ok(())
}

/// Waits (up to `wait`) until shard 0 has prepared `dir` for this calibration.
fn wait_prepared(
    cal: &Calibration,
    dir: &Path,
    wait: std::time::Duration,
    stop: Stop<'_>,
) -> Result<(), CalibrateError> {
    let meta = dir.join("calibration.json");
    let started = std::time::Instant::now();
    loop {
        if let Ok(text) = read_limited_string(&meta, MAX_JSON_BYTES) {
            // Written atomically: unreadable JSON is not a write in progress.
            let found: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let hash = found["hash"].as_str().unwrap_or("unreadable");
            if hash == cal.hash {
                return Ok(());
            }
            return Err(mismatch(dir, cal, hash, &found));
        }
        if stop() {
            return Err(CalibrateError::Interrupted);
        }
        if started.elapsed() > wait {
            return Err(CalibrateError::Results(format!(
                "{}: shard 0 has not prepared the directory (calibration.json) within {} s; \
                 start shard 0 (--shard 0/N) with the same file and --out, or give a longer --wait",
                dir.display(),
                wait.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs (or resumes) a calibration in `dir` on the current rayon pool and writes every output.
pub fn run(
    cal: &Calibration,
    dir: &Path,
    force: bool,
    stop: Stop<'_>,
) -> Result<Report, CalibrateError> {
    run_with(cal, dir, force, stop, None)
}

/// [`run`], calling `on_eval` after every evaluation this process simulates.
pub fn run_with(
    cal: &Calibration,
    dir: &Path,
    force: bool,
    stop: Stop<'_>,
    on_eval: Option<&(dyn Fn(&ledger::Evaluated) + Sync)>,
) -> Result<Report, CalibrateError> {
    run_shard(cal, dir, force, stop, on_eval, None)
}

/// Shard `index` of `count` of a calibration (`talentflow calibrate --shard I/N`): see
/// [`ledger::Exchange`]. `count` processes (on one machine or many sharing the directory) run
/// the same calibration; each simulates every `count`-th evaluation and reads the others' from
/// their files, waiting up to `wait` for news. Shard 0 prepares the directory and writes
/// `evaluations.csv` and the result files, byte-identical to an unsharded run's; the others
/// wait for its `calibration.json` and write only their own evaluations file. `None`: the
/// whole calibration in this process ([`run_with`]).
pub fn run_shard(
    cal: &Calibration,
    dir: &Path,
    force: bool,
    stop: Stop<'_>,
    on_eval: Option<&(dyn Fn(&ledger::Evaluated) + Sync)>,
    shard: Option<(usize, usize, std::time::Duration)>,
) -> Result<Report, CalibrateError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let keys = cal.keys();
    let shard = shard.filter(|&(_, count, _)| count > 1);
    if let Some((index, count, _)) = shard {
        if force {
            // Shard 0 would discard files that another shard may already be reading.
            return Err(CalibrateError::Results(format!(
                "--force cannot be used with --shard {index}/{count}: discard the old calibration \
                 first (run once without --shard with --force, or use a new --out)"
            )));
        }
    }
    // One writer per directory (shard 0 is the writer of a sharded one), one process per
    // shard: a second process fails at once, naming the first.
    let lock_name = match shard {
        Some((index, count, _)) if index > 0 => format!("{}.shard-{index}-of-{count}", lock::LOCK),
        _ => lock::LOCK.to_string(),
    };
    let _lock = lock::acquire(dir, &lock_name)?;
    let mut obj = match shard {
        None => {
            prepare(cal, dir, force)?;
            Objective::with_file(
                &cal.simulator,
                &cal.priors,
                &cal.targets,
                &keys,
                &dir.join("evaluations.csv"),
                stop,
            )?
        }
        Some((index, count, wait)) => {
            if index == 0 {
                prepare(cal, dir, false)?;
            } else {
                wait_prepared(cal, dir, wait, stop)?;
            }
            let exchange = ledger::Exchange {
                index,
                count,
                dir: dir.to_path_buf(),
                timeout: wait,
            };
            Objective::sharded(
                &cal.simulator,
                &cal.priors,
                &cal.targets,
                &keys,
                exchange,
                stop,
            )?
        }
    };
    obj.on_eval = on_eval;
    let files = match cal.method {
        Method::Smm => {
            let spec = cal.spec.smm.clone().unwrap_or_default();
            let r = smm::run(&mut obj, &spec, cal.spec.master_seed)?;
            output::smm_files(cal, &obj, &r)?
        }
        Method::AbcSmc => {
            let spec = cal.spec.abc.clone().unwrap_or_default();
            let r = abc::run(&mut obj, &spec, cal.spec.master_seed)?;
            output::abc_files(cal, &mut obj, &r, spec.population)?
        }
    };
    // In a sharded calibration shard 0 alone writes (every shard has computed the same bytes).
    if shard.is_none_or(|(index, _, _)| index == 0) {
        for (name, bytes) in &files.files {
            write_atomic(&dir.join(name), bytes)?;
        }
    }
    Ok(Report {
        dir: dir.to_path_buf(),
        evaluations: obj.count(),
        simulated: obj.simulated,
        summary: files.summary,
    })
}

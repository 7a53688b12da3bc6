//! Parameter sweeps at cluster scale: a design over scenario parameters, replicates per point,
//! results appended row by row, resume, sharding (Slurm arrays) and merging.
//!
//! A sweep directory holds `sweep.toml` (the file as given), `sweep.json` (its identity: blake3 of
//! the parsed sweep and the talentflow version), `design.csv` (one row per run, written before any
//! run starts) and `results.csv` (or `results.shard-I-of-N.csv` per shard): one row per finished
//! run, each appended with a single write so a killed process never leaves a torn row behind (a
//! partial last line is cut off on resume). Re-running the same command runs only what is missing;
//! a different sweep file on the same directory is refused. When every run of a process is done,
//! its results file is rewritten sorted by run id, so the final bytes do not depend on the order
//! runs finished in, the number of threads or the number of shards (after `merge`).
//!
//! Replicate r of every point uses the same seed (common random numbers), so differences between
//! points are not swamped by seed noise — what elementary effects and Sobol estimators need.

pub mod design;
pub mod files;
#[cfg(feature = "mpi")]
pub mod mpi;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::engine::Simulation;
use crate::rundir::input::read_limited_string;
use crate::scenario::load::{canonical_key, MAX_SCENARIO_BYTES};
use crate::scenario::text::echo;
use crate::scenario::{Override, ValidScenario};
use crate::study::base::{check_names, parse_toml, size_problem, ArmSpec, StudyBase};
use crate::study::experiment::replicate_seed;
use crate::study::expr::{Expr, NamedExpr, Ref};
use design::Design;

/// One swept parameter (`[[parameter]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Scenario key path, as for `--set` (e.g. `behaviour.beta_wage`, `country.SAU.openness`).
    pub key: String,
    /// Lower end of the range.
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper end of the range.
    #[serde(default)]
    pub max: Option<f64>,
    /// Explicit values (grid designs only).
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    /// Levels of this parameter in a grid design.
    #[serde(default)]
    pub levels: Option<usize>,
    /// Sample on a log scale (min and max must be positive).
    #[serde(default)]
    pub log: bool,
    /// Round to an integer (for integer keys such as `world.agents`).
    #[serde(default)]
    pub integer: bool,
}

/// The sweep file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Short name.
    pub name: String,
    /// What the sweep is for.
    #[serde(default)]
    pub description: String,
    /// Base scenario: a path (relative to the sweep file) or an embedded name.
    pub base: String,
    /// Replicates per design point.
    #[serde(default = "one")]
    pub replicates: u32,
    /// Master seed: replicate seeds and random designs derive from it.
    #[serde(default = "one_u64")]
    pub master_seed: u64,
    /// Overrides applied to every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// Outcomes: `[NAME =] [ARM:]OUTCOME [- [ARM:]OUTCOME]`.
    pub outcomes: Vec<String>,
    /// The design.
    pub design: Design,
    /// The parameters.
    #[serde(rename = "parameter")]
    pub parameters: Vec<ParameterSpec>,
    /// Optional arms run at every point with the same seed (for contrasts such as a policy's gain).
    #[serde(default, rename = "arm")]
    pub arms: Vec<ArmSpec>,
}

/// Rows of points: `[point][parameter]`.
pub type Points = Vec<Vec<f64>>;

impl SweepFile {
    /// The design's points in `[0, 1]^k` and the parameter values they map to (a pure function of
    /// the file: random designs draw from a stream keyed by the master seed).
    pub fn design_points(&self) -> Result<(Points, Points), SweepError> {
        let levels: Vec<usize> = self
            .parameters
            .iter()
            .map(|p| p.levels(&self.design))
            .collect();
        let total = self.design.points(&levels);
        if total == 0 || total.saturating_mul(self.replicates.max(1) as usize) > design::MAX_POINTS
        {
            return Err(SweepError::TooLarge {
                points: total,
                replicates: self.replicates,
                limit: design::MAX_POINTS,
            });
        }
        if total.saturating_mul(levels.len()) > design::MAX_DESIGN_VALUES {
            return Err(SweepError::DesignTooLarge {
                points: total,
                parameters: levels.len(),
                limit: design::MAX_DESIGN_VALUES,
            });
        }
        let mut rng = crate::model::rng::Streams::new(self.master_seed).stream(
            0,
            crate::model::rng::Phase::InitStartups,
            1 << 20,
        );
        let points = self.design.generate(&levels, &mut rng);
        let values = points
            .iter()
            .map(|u| {
                self.parameters
                    .iter()
                    .zip(u)
                    .map(|(p, &x)| p.value(x))
                    .collect()
            })
            .collect();
        Ok((points, values))
    }

    /// The checks that need nothing but the file: design sizes, parameters, outcomes (not the
    /// names, which only matter when a sweep starts: [`Sweep::from_str_with`]). Returns the
    /// problems and the outcomes that parse.
    pub fn check(&self) -> (Vec<String>, Vec<SweepOutcome>) {
        let mut problems = self.design.check(self.parameters.len());
        for prm in &self.parameters {
            problems.extend(prm.check(&self.design));
        }
        if self.replicates == 0 {
            problems.push("`replicates` must be at least 1".into());
        }
        if self.outcomes.is_empty() {
            problems.push("no outcomes".into());
        }
        let arm_names = self.arm_names();
        let outcomes: Vec<SweepOutcome> = self
            .outcomes
            .iter()
            .filter_map(|o| {
                parse_outcome(o, &arm_names)
                    .map_err(|e| problems.push(e))
                    .ok()
            })
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for o in &outcomes {
            if !names.insert(o.name.clone()) || o.name == "run_id" {
                problems.push(format!(
                    "outcome name `{}` is used twice or reserved",
                    echo(&o.name)
                ));
            }
        }
        if problems.is_empty() {
            let levels: Vec<usize> = self
                .parameters
                .iter()
                .map(|p| p.levels(&self.design))
                .collect();
            let points = self.design.points(&levels);
            problems.extend(size_problem(
                "design points",
                points,
                self.replicates,
                self.outcomes.len(),
            ));
        }
        (problems, outcomes)
    }

    /// Names of the arms (`base` when the sweep has none).
    fn arm_names(&self) -> Vec<String> {
        if self.arms.is_empty() {
            vec!["base".into()]
        } else {
            self.arms.iter().map(|a| a.name.clone()).collect()
        }
    }
}

/// Parameters that are the same scenario key spelled differently (`country.3.openness` and
/// `country.SAU.openness`), and shared overrides of a swept key (the design point would
/// silently replace them): both would make a sweep vary less than it says.
fn same_keys(spec: &SweepFile, base: &ValidScenario) -> Vec<String> {
    let mut problems = Vec::new();
    let mut swept: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, p) in spec.parameters.iter().enumerate() {
        match canonical_key(base, &p.key) {
            Ok(key) => {
                if let Some(&j) = swept.get(&key) {
                    problems.push(format!(
                        "parameter `{}` is the same key as parameter `{}` ({key}); sweep each \
                         key once",
                        p.key, spec.parameters[j].key
                    ));
                } else {
                    swept.insert(key, i);
                }
            }
            Err(e) => problems.push(format!("parameter `{}`: {e}", p.key)),
        }
    }
    problems
}

fn one() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

/// A sweep outcome: a named expression over the outcomes of the sweep's arms
/// ([`crate::study::expr`]), e.g. `gain = infra:retention.SAU@2035 - control:retention.SAU@2035`.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepOutcome {
    /// Column name.
    pub name: String,
    expr: Expr,
}

/// Errors of sweeps.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The sweep is invalid; every problem is listed.
    #[error("invalid sweep {path}:\n  {}", problems.join("\n  "))]
    Invalid {
        /// File.
        path: PathBuf,
        /// Problems.
        problems: Vec<String>,
    },
    /// The directory belongs to another sweep or version.
    #[error("{dir} holds a different sweep ({found}); this sweep is {expected}. Use a new --out directory (or --force to discard the old results)")]
    Mismatch {
        /// Directory.
        dir: PathBuf,
        /// What the directory says.
        found: String,
        /// What this sweep is.
        expected: String,
    },
    /// A run failed (a design point gave an invalid scenario).
    #[error("run {run}: {message}")]
    Run {
        /// Run id.
        run: usize,
        /// What failed.
        message: String,
    },
    /// The design asks for more runs than a sweep may hold.
    #[error("the design has {points} points × {replicates} replicates; allowed 1..={limit} runs")]
    TooLarge {
        /// Design points.
        points: usize,
        /// Replicates per point.
        replicates: u32,
        /// Most runs allowed.
        limit: usize,
    },
    /// The design has more coordinates than a sweep may hold in memory.
    #[error("the design has {points} points × {parameters} parameters; at most {limit} coordinates are supported")]
    DesignTooLarge {
        /// Design points.
        points: usize,
        /// Parameters.
        parameters: usize,
        /// Most points × parameters allowed.
        limit: usize,
    },
    /// Results files are inconsistent or incomplete.
    #[error("{0}")]
    Results(String),
    /// Interrupted; finished runs are kept.
    #[error("sweep interrupted: {done} runs finished and kept, {left} left; run the same command again to resume")]
    Interrupted {
        /// Runs with results.
        done: usize,
        /// Runs without.
        left: usize,
    },
    /// File output failed.
    #[error(transparent)]
    Output(#[from] crate::rundir::write::OutputError),
    /// MPI failure.
    #[error("MPI: {0}")]
    Mpi(String),
}

/// A loaded, checked sweep with its design.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The file as written.
    pub spec: SweepFile,
    /// Its text.
    pub text: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Identity: blake3 of (talentflow version, parsed sweep).
    pub hash: String,
    /// Design points in `[0, 1]^k`.
    pub points: Vec<Vec<f64>>,
    /// Parameter values of each point.
    pub values: Vec<Vec<f64>>,
    /// Outcomes (columns of results.csv).
    pub outcomes: Vec<SweepOutcome>,
    arm_names: Vec<String>,
    study: StudyBase,
}

fn parse_outcome(text: &str, arms: &[String]) -> Result<SweepOutcome, String> {
    let named = NamedExpr::parse(text, arms).map_err(|e| format!("outcome {e}"))?;
    Ok(SweepOutcome {
        name: named.name,
        expr: named.expr,
    })
}

fn format_value(v: f64) -> String {
    format!("{v:?}")
}

impl ParameterSpec {
    fn levels(&self, design: &Design) -> usize {
        match (&self.values, design) {
            (Some(v), _) => v.len(),
            (None, Design::Grid { levels }) => self.levels.unwrap_or(*levels),
            _ => 0,
        }
    }

    /// The lowest and highest values the parameter takes.
    fn ends(&self) -> [f64; 2] {
        match &self.values {
            Some(v) => [
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ],
            None => [self.value(0.0), self.value(1.0)],
        }
    }

    /// Maps a unit-cube coordinate to a parameter value.
    fn value(&self, u: f64) -> f64 {
        let v = if let Some(values) = &self.values {
            let i = (u * (values.len() - 1) as f64).round() as usize;
            values[i.min(values.len() - 1)]
        } else {
            let (lo, hi) = (self.min.unwrap_or(0.0), self.max.unwrap_or(1.0));
            if self.log {
                libm::exp(libm::log(lo) + u * (libm::log(hi) - libm::log(lo)))
            } else {
                lo + u * (hi - lo)
            }
        };
        if self.integer {
            v.round()
        } else {
            v
        }
    }

    fn check(&self, design: &Design) -> Vec<String> {
        let mut p = Vec::new();
        let who = format!("parameter `{}`", echo(&self.key));
        // The key is a column of design.csv and names the parameter in sensitivity.csv, so it is
        // kept to what scenario keys are made of.
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if self.key.len() > 200
            || !self.key.split('.').all(segment_ok)
            || Override::parse(&format!("{}=0", self.key)).is_err()
        {
            p.push(format!(
                "{who}: not a key path (dotted parts of letters, digits, `_` or `-`, e.g. \
                 `country.SAU.openness`)"
            ));
        }
        match (&self.values, self.min, self.max) {
            (Some(v), None, None) => {
                if !matches!(design, Design::Grid { .. }) {
                    p.push(format!(
                        "{who}: `values` only works with a grid design; give min and max"
                    ));
                }
                if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
                    p.push(format!(
                        "{who}: `values` must be a non-empty list of finite numbers"
                    ));
                }
            }
            (None, Some(lo), Some(hi)) => {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    p.push(format!(
                        "{who}: needs finite min < max, found {lo} and {hi}"
                    ));
                }
                if self.log && lo <= 0.0 {
                    p.push(format!("{who}: a log scale needs min > 0"));
                }
            }
            _ => p.push(format!("{who}: give either min and max, or values")),
        }
        p
    }
}

impl Sweep {
    /// Reads and checks a sweep file, generates its design and checks every point's scenario.
    pub fn load(path: &Path) -> Result<Sweep, SweepError> {
        Self::load_with(path, &[])
    }

    /// [`Sweep::load`] with overrides from the command line, applied to every run after the
    /// file's own `set`; they are part of the sweep's identity (its hash), so a directory
    /// swept with other overrides is refused.
    pub fn load_with(path: &Path, set: &[String]) -> Result<Sweep, SweepError> {
        let text =
            read_limited_string(path, MAX_SCENARIO_BYTES).map_err(|source| SweepError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_str_with(&text, path, set)
    }

    /// Parses sweep text read from `path`.
    pub fn from_str(text: &str, path: &Path) -> Result<Sweep, SweepError> {
        Self::from_str_with(text, path, &[])
    }

    /// [`Sweep::from_str`] with command-line overrides (see [`Sweep::load_with`]).
    pub fn from_str_with(text: &str, path: &Path, set: &[String]) -> Result<Sweep, SweepError> {
        let invalid = |problems: Vec<String>| SweepError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let mut spec: SweepFile = parse_toml(text).map_err(|e| invalid(vec![e]))?;
        spec.set.extend_from_slice(set);
        let (mut problems, outcomes) = spec.check();
        problems.extend(check_names(&spec.name, &spec.arms));
        let (study, set_problems) = StudyBase::new(&spec.base, path, &spec.set);
        problems.extend(set_problems);
        problems.extend(set_of_swept_keys(&study, &spec.parameters));
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        // The base scenario and every arm without a design point: what every point shares.
        let base = match study.resolve(None, &[]) {
            Ok((s, _)) => s,
            Err(es) => return Err(invalid(es)),
        };
        for a in &spec.arms {
            if let Err(es) = study.resolve(Some(a), &[]) {
                problems.extend(es);
            }
        }
        problems.extend(same_keys(&spec, &base));
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let (points, values) = spec
            .design_points()
            .map_err(|e| invalid(vec![e.to_string()]))?;
        let identity = serde_json::json!({ "version": crate::VERSION, "sweep": spec });
        let hash = blake3::hash(identity.to_string().as_bytes())
            .to_hex()
            .to_string();
        let arm_names = spec.arm_names();
        let sweep = Sweep {
            spec,
            text: text.to_string(),
            path: path.to_path_buf(),
            hash,
            points,
            values,
            outcomes,
            arm_names,
            study,
        };
        // Every point has the structure of the base, so what can fail is a parameter's value:
        // each parameter is checked at the ends of its range (the others at the first point's
        // values), and all at their lower and upper ends together. That is a few scenarios per
        // parameter, not one per point (a 10^7-point design would take minutes); the points
        // themselves are checked by `files::execute`, a shard's own before it runs any.
        let mut problems = Vec::new();
        for v in sweep.probes() {
            for a in 0..sweep.arm_names.len() {
                if let Err(e) = sweep.scenario(&v, a) {
                    problems.push(format!(
                        "at {}{}: {e}",
                        sweep.describe_point(&v),
                        sweep.arm_suffix(a)
                    ));
                }
            }
            if problems.len() >= 10 {
                problems.push("… (further values not checked)".into());
                break;
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(sweep)
    }

    /// Parameter values to check at load time (see [`Sweep::from_str_with`]).
    fn probes(&self) -> Vec<Vec<f64>> {
        let Some(first) = self.values.first() else {
            return Vec::new();
        };
        let params = &self.spec.parameters;
        let mut probes = vec![first.clone()];
        for (j, p) in params.iter().enumerate() {
            for end in p.ends() {
                let mut v = first.clone();
                v[j] = end;
                probes.push(v);
            }
        }
        probes.push(params.iter().map(|p| p.ends()[0]).collect());
        probes.push(params.iter().map(|p| p.ends()[1]).collect());
        let mut unique: Vec<Vec<f64>> = Vec::new();
        for v in probes {
            if !unique.contains(&v) {
                unique.push(v);
            }
        }
        unique
    }

    fn arm_suffix(&self, a: usize) -> String {
        match self.spec.arms.get(a) {
            Some(arm) => format!(" (arm `{}`)", arm.name),
            None => String::new(),
        }
    }

    /// Checks the scenario of every arm at each of `points` (indices into the design), in
    /// parallel; stops early after 10 problems, and when `stop` says so (then
    /// [`SweepError::Interrupted`] with `done` and `left` as given).
    pub fn check_points(
        &self,
        points: &[usize],
        stop: &(dyn Fn() -> bool + Sync),
        done: usize,
        left: usize,
    ) -> Result<(), SweepError> {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let found = AtomicUsize::new(0);
        let stopped = AtomicBool::new(false);
        let mut problems: Vec<(usize, String)> = points
            .par_iter()
            .filter_map(|&i| {
                if found.load(Ordering::Relaxed) >= 10 {
                    return None;
                }
                if stop() {
                    stopped.store(true, Ordering::Relaxed);
                    return None;
                }
                let v = self.values.get(i)?;
                let errors: Vec<String> = (0..self.arm_names.len())
                    .filter_map(|a| {
                        self.scenario(v, a).err().map(|e| {
                            format!(
                                "point {i} ({}){}: {e}",
                                self.describe_point(v),
                                self.arm_suffix(a)
                            )
                        })
                    })
                    .collect();
                if errors.is_empty() {
                    return None;
                }
                found.fetch_add(1, Ordering::Relaxed);
                Some((i, errors.join("\n  ")))
            })
            .collect();
        if stopped.load(Ordering::Relaxed) {
            return Err(SweepError::Interrupted { done, left });
        }
        if problems.is_empty() {
            return Ok(());
        }
        problems.sort();
        let mut lines: Vec<String> = problems.into_iter().take(10).map(|(_, e)| e).collect();
        if found.load(Ordering::Relaxed) >= 10 {
            lines.push("… (further points not checked)".into());
        }
        Err(SweepError::Invalid {
            path: self.path.clone(),
            problems: lines,
        })
    }

    fn describe_point(&self, v: &[f64]) -> String {
        self.spec
            .parameters
            .iter()
            .zip(v)
            .map(|(p, x)| format!("{}={}", p.key, format_value(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The scenario of arm `a` at parameter values `v`, with its outcomes checked.
    fn scenario(&self, v: &[f64], a: usize) -> Result<ValidScenario, String> {
        let point: Vec<Override> = self
            .spec
            .parameters
            .iter()
            .zip(v)
            .map(|(p, x)| Override {
                path: p.key.clone(),
                value: if p.integer {
                    format!("{}", x.round() as i64)
                } else {
                    format_value(*x)
                },
            })
            .collect();
        let (scenario, _) = self
            .study
            .resolve(self.spec.arms.get(a), &point)
            .map_err(|es| es.join("; "))?;
        for r in self.outcomes.iter().flat_map(|o| o.expr.refs()) {
            if r.arm == a {
                r.outcome.resolve(&scenario).map_err(|e| e.to_string())?;
            }
        }
        Ok(scenario)
    }

    /// Parameter names (column names of design.csv).
    pub fn parameter_names(&self) -> Vec<String> {
        self.spec.parameters.iter().map(|p| p.key.clone()).collect()
    }

    /// Total runs: points × replicates.
    pub fn total_runs(&self) -> usize {
        self.points.len() * self.spec.replicates as usize
    }

    /// (point, replicate, seed) of a run id; ids are point-major.
    pub fn run_plan(&self, id: usize) -> (usize, u32, u64) {
        let r = self.spec.replicates as usize;
        let replicate = (id % r) as u32;
        (
            id / r,
            replicate,
            replicate_seed(self.spec.master_seed, replicate),
        )
    }

    /// Runs one run (every arm at its point, with the run's seed) and returns its outcomes.
    pub fn run_one(&self, id: usize) -> Result<Vec<f64>, SweepError> {
        let (point, _, seed) = self.run_plan(id);
        type Outputs = (
            crate::model::record::Recorder,
            Option<crate::model::cohort::Cohorts>,
        );
        let mut per_arm: Vec<Option<Outputs>> = vec![None; self.arm_names.len()];
        let mut scenarios: Vec<Option<ValidScenario>> = vec![None; self.arm_names.len()];
        let needed: std::collections::BTreeSet<usize> = self
            .outcomes
            .iter()
            .flat_map(|o| o.expr.refs().iter().map(|r| r.arm))
            .collect();
        for &a in &needed {
            let s = self
                .scenario(&self.values[point], a)
                .map_err(|message| SweepError::Run { run: id, message })?;
            // The cohort observer only for an arm some outcome reads a `stay.…` of.
            let observe = crate::model::observe::ObserveOptions {
                panel: None,
                cohorts: self.outcomes.iter().any(|o| {
                    o.expr
                        .refs()
                        .iter()
                        .any(|r| r.arm == a && r.outcome.needs_cohorts())
                }),
            };
            let mut sim = Simulation::with_observers(s.clone(), seed, &observe).map_err(|e| {
                SweepError::Run {
                    run: id,
                    message: e.to_string(),
                }
            })?;
            sim.run(|_| {});
            let cohorts = sim.take_observers().and_then(|o| o.cohorts);
            per_arm[a] = Some((sim.into_recorder(), cohorts));
            scenarios[a] = Some(s);
        }
        let value = |r: &Ref| -> Result<f64, SweepError> {
            let (Some((rec, cohorts)), Some(s)) = (&per_arm[r.arm], &scenarios[r.arm]) else {
                return Err(SweepError::Run {
                    run: id,
                    message: "arm not run".into(),
                });
            };
            let o = r.outcome.resolve(s).map_err(|e| SweepError::Run {
                run: id,
                message: e.to_string(),
            })?;
            Ok(o.value_in(rec, cohorts.as_ref()))
        };
        self.outcomes
            .iter()
            .map(|o| {
                let values = o
                    .expr
                    .refs()
                    .iter()
                    .map(value)
                    .collect::<Result<Vec<f64>, _>>()?;
                Ok(o.expr.eval(&values))
            })
            .collect()
    }
}

/// A shared override (the file's `set` or `--set`) of a swept parameter would be replaced by
/// the design's value at every point, so it is refused rather than silently ignored.
fn set_of_swept_keys(study: &StudyBase, parameters: &[ParameterSpec]) -> Vec<String> {
    let base = study.resolve(None, &[]).ok();
    let codes: Vec<&str> = base
        .as_ref()
        .map(|(s, _)| s.countries.iter().map(|c| c.code.as_str()).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for o in &study.set {
        let key = crate::study::base::canonical_key(&o.path, &codes);
        for (i, p) in parameters.iter().enumerate() {
            if crate::study::base::canonical_key(&p.key, &codes) == key {
                problems.push(format!(
                    "set `{}`: `{}` is swept (parameter[{i}]), so the design's values would \
                     replace it at every point; remove it from `set`/--set, or change the \
                     parameter's range",
                    echo(&o.to_string()),
                    echo(&o.path)
                ));
            }
        }
    }
    problems
}

/// A slice of the runs: the i-th (0-based) of n interleaved slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Index, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

/// Why a shard cannot be taken from `--shard` or from a Slurm array job's environment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `I/N` with `0 ≤ I < N`.
    #[error("--shard {text}: expected I/N with 0 ≤ I < N, e.g. 0/8")]
    Syntax {
        /// The text given.
        text: String,
    },
    /// A Slurm array variable is not a number.
    #[error("{variable}={value} is not a task number")]
    SlurmValue {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// `SLURM_ARRAY_TASK_ID` is set but the array's size cannot be told.
    #[error("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is; give --shard I/N")]
    SlurmSize,
    /// The task is not one of the array's.
    #[error("SLURM_ARRAY_TASK_ID {id} is outside the array (min {min}, {count} tasks); give --shard I/N")]
    SlurmOutside {
        /// The task id.
        id: u64,
        /// The array's first id.
        min: u64,
        /// Tasks in the array.
        count: u64,
    },
}

impl Shard {
    /// All runs.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with 0 ≤ i < n.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax {
            text: text.chars().take(80).collect(),
        };
        let (i, n) = text.split_once('/').ok_or_else(syntax)?;
        match (i.trim().parse::<usize>(), n.trim().parse::<usize>()) {
            (Ok(index), Ok(count)) if count >= 1 && index < count => Ok(Shard { index, count }),
            _ => Err(syntax()),
        }
    }

    /// The shard given by a Slurm array job (`SLURM_ARRAY_TASK_ID` within
    /// `SLURM_ARRAY_TASK_MIN..=SLURM_ARRAY_TASK_MAX`, or `SLURM_ARRAY_TASK_COUNT` tasks from
    /// `SLURM_ARRAY_TASK_MIN`, default 0); `None` outside an array job. A task id that is not a
    /// number or lies outside the array is an error: running the whole sweep in every task
    /// instead would repeat every run once per task.
    pub fn from_slurm(env: impl Fn(&str) -> Option<String>) -> Option<Result<Shard, ShardError>> {
        let number = |variable: &'static str| -> Result<Option<u64>, ShardError> {
            match env(variable) {
                None => Ok(None),
                Some(value) => value
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| ShardError::SlurmValue { variable, value }),
            }
        };
        let shard = || -> Result<Shard, ShardError> {
            let id = number("SLURM_ARRAY_TASK_ID")?.unwrap_or(0);
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match number("SLURM_ARRAY_TASK_COUNT")? {
                Some(c) => c,
                None => {
                    let max = number("SLURM_ARRAY_TASK_MAX")?.ok_or(ShardError::SlurmSize)?;
                    max.checked_sub(min)
                        .and_then(|d| d.checked_add(1))
                        .unwrap_or(0)
                }
            };
            let outside = ShardError::SlurmOutside { id, min, count };
            let index = id.checked_sub(min).ok_or(outside.clone())?;
            if count == 0 || index >= count {
                return Err(outside);
            }
            let (index, count) = (usize::try_from(index), usize::try_from(count));
            match (index, count) {
                (Ok(index), Ok(count)) => Ok(Shard { index, count }),
                _ => Err(outside),
            }
        };
        env("SLURM_ARRAY_TASK_ID")?;
        Some(shard())
    }

    /// Whether run `id` belongs to this shard.
    pub fn contains(&self, id: usize) -> bool {
        id % self.count == self.index
    }

    /// Results file name of this shard.
    pub fn results_file(&self) -> String {
        if self.count == 1 {
            "results.csv".into()
        } else {
            format!("results.shard-{}-of-{}.csv", self.index, self.count)
        }
    }
}

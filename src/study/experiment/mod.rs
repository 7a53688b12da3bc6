//! Replicate ensembles: arms × replicates of a base scenario, with outcomes summarised as means,
//! 95% confidence intervals and effects against a control arm.
//!
//! An experiment file (TOML) names a base scenario, overrides shared by all arms, the arms (each a
//! list of `--set`-style overrides and/or extra `[[arm.policy]]` tables), the number of replicates,
//! a master seed and the outcomes (see [`crate::study::outcome`]). Replicate r of every arm uses the same
//! seed, derived from (master seed, r): common random numbers, so arm differences are paired and
//! their intervals tight. Runs execute in parallel (rayon over runs) and results are collected in
//! run order, so every output is a pure function of the experiment file and the master seed.

pub mod branch;
pub mod contrasts;
pub mod dose;
pub mod precision;
pub mod tests_out;
pub mod write;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::engine::Simulation;
use crate::model::record::Recorder;
use crate::rundir::input::read_limited_string;
use crate::scenario::load::MAX_SCENARIO_BYTES;
use crate::scenario::text::echo;
use crate::scenario::ValidScenario;
use crate::study::base::{check_names, parse_toml, size_problem, StudyBase};
use crate::study::outcome::{resolve_all, ResolvedOutcome};

/// Default number of replicates per arm.
pub const DEFAULT_REPLICATES: u32 = 30;

/// The experiment file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Short name (used for the default output directory).
    pub name: String,
    /// The claim the experiment tests.
    #[serde(default)]
    pub description: String,
    /// Base scenario: a path (relative to the experiment file) or an embedded name.
    pub base: String,
    /// Replicates per arm.
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// Master seed from which every replicate's seed is derived.
    #[serde(default = "default_master_seed")]
    pub master_seed: u64,
    /// Name of the control arm (default: the first arm).
    #[serde(default)]
    pub control: Option<String>,
    /// Overrides applied to every arm, `key.path=value`.
    #[serde(default)]
    pub set: Vec<String>,
    /// Outcomes to report, e.g. `retention.SAU@2030`, `hhi@2035`.
    pub outcomes: Vec<String>,
    /// The arms.
    #[serde(rename = "arm", default)]
    pub arms: Vec<ArmSpec>,
    /// Dose–response families, each expanded into one arm per budget after the `[[arm]]`s.
    #[serde(rename = "dose", default)]
    pub doses: Vec<dose::DoseSpec>,
    /// Equivalence margins (TOST) per outcome.
    #[serde(default)]
    pub equivalence: Option<contrasts::EquivalenceSpec>,
    /// Adaptive precision: replicates added until intervals are narrow enough.
    #[serde(default)]
    pub precision: Option<precision::PrecisionSpec>,
    /// Branch year: every replicate's common part (ticks before this year) is run once and every
    /// arm continues from it ([`branch`]); `--branch-at` overrides it.
    #[serde(default)]
    pub branch_at: Option<i64>,
}

fn default_replicates() -> u32 {
    DEFAULT_REPLICATES
}

fn default_master_seed() -> u64 {
    1
}

pub use crate::study::base::ArmSpec;

/// An arm ready to run.
#[derive(Clone, Debug)]
pub struct Arm {
    /// Arm name.
    pub name: String,
    /// The arm's resolved scenario.
    pub scenario: ValidScenario,
    /// Its outcomes, resolved against the scenario.
    pub outcomes: Vec<ResolvedOutcome>,
    /// Overrides applied (shared + arm), as written.
    pub overrides: Vec<String>,
}

/// A loaded and checked experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The file as written.
    pub spec: ExperimentFile,
    /// The file's text (kept with the results).
    pub text: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// Arms in file order.
    pub arms: Vec<Arm>,
    /// Index of the control arm.
    pub control: usize,
    /// Description of the base scenario's source.
    pub base_source: String,
    /// Per replicate, per arm: the scenario at that replicate's posterior draw
    /// (`--posterior`, [`crate::study::calibrate::posterior`]); `None`: every replicate runs the
    /// arm's own scenario.
    pub replicate_scenarios: Option<Vec<Vec<ValidScenario>>>,
    /// What `--posterior` did, for the summary.
    pub posterior_note: Option<String>,
}

/// Errors loading or running an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The experiment is invalid; every problem is listed.
    #[error("invalid experiment {path}: {}", problems.join("\n  "))]
    Invalid {
        /// File.
        path: PathBuf,
        /// Each problem, located.
        problems: Vec<String>,
    },
    /// Interrupted before all runs finished.
    #[error("experiment interrupted after {} of {total} runs", finished.len())]
    Interrupted {
        /// The runs that finished: (run index, outcome values), in run order.
        finished: Vec<(usize, Vec<f64>)>,
        /// Runs planned.
        total: usize,
        /// Replicates per arm of the plan the run indices refer to (adaptive precision grows it).
        replicates: u32,
    },
    /// Writing results failed.
    #[error(transparent)]
    Output(#[from] crate::rundir::write::OutputError),
    /// A run's memory cannot be reserved.
    #[error(transparent)]
    OutOfMemory(#[from] crate::model::engine::OutOfMemory),
}

/// Seed of replicate `r` under `master_seed` (the same in every arm).
pub fn replicate_seed(master_seed: u64, r: u32) -> u64 {
    let mut input = [0u8; 12];
    input[..8].copy_from_slice(&master_seed.to_le_bytes());
    input[8..].copy_from_slice(&r.to_le_bytes());
    let key = blake3::derive_key("talentflow 2026 replicate seed", &input);
    u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8]))
}

impl Experiment {
    /// Reads and checks an experiment file; every problem is reported with its place.
    pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
        Self::load_with(path, &[])
    }

    /// [`Experiment::load`] with overrides from the command line, applied to every arm after the
    /// file's own `set` (and recorded with it in `experiment.json`).
    pub fn load_with(path: &Path, set: &[String]) -> Result<Experiment, ExperimentError> {
        let text = read_limited_string(path, MAX_SCENARIO_BYTES).map_err(|source| {
            ExperimentError::Read {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Self::from_str_with(&text, path, set)
    }

    /// Parses and checks experiment text read from `path` (used for relative base paths).
    pub fn from_str(text: &str, path: &Path) -> Result<Experiment, ExperimentError> {
        Self::from_str_with(text, path, &[])
    }

    /// [`Experiment::from_str`] with command-line overrides (see [`Experiment::load_with`]).
    pub fn from_str_with(
        text: &str,
        path: &Path,
        set: &[String],
    ) -> Result<Experiment, ExperimentError> {
        let invalid = |problems: Vec<String>| ExperimentError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let mut spec: ExperimentFile = parse_toml(text).map_err(|e| invalid(vec![e]))?;
        spec.set.extend_from_slice(set);
        let mut problems = Vec::new();
        for (i, d) in spec.doses.iter().enumerate() {
            problems.extend(d.check(i));
        }
        // Dose families need their spending and cost outcomes; add the missing ones.
        let extra: Vec<String> = spec
            .doses
            .iter()
            .flat_map(|d| {
                std::iter::once(d.spent_outcome()).chain(d.cost.iter().map(|c| c.outcome.clone()))
            })
            .collect();
        for o in extra {
            if !spec.outcomes.contains(&o) {
                spec.outcomes.push(o);
            }
        }
        if let Some(e) = &spec.equivalence {
            problems.extend(e.check(&spec.outcomes));
        }
        if let Some(p) = &spec.precision {
            problems.extend(p.check(&spec.outcomes, spec.replicates));
        }
        if spec.replicates == 0 || spec.replicates > 1_000_000 {
            problems.push(format!(
                "`replicates` must be in [1, 1000000], found {}",
                spec.replicates
            ));
        }
        if spec.outcomes.is_empty() {
            problems.push("no outcomes: list at least one in `outcomes`".to_string());
        }
        let (study, set_problems) = StudyBase::new(&spec.base, path, &spec.set);
        problems.extend(set_problems);
        if !spec.doses.is_empty() {
            match study.resolve(None, &[]) {
                Ok((base, _)) => {
                    let inf = &base.infrastructure;
                    let ratio = inf.grid_cost_bn_per_gw / inf.capex_bn_per_gw;
                    let generated: Vec<ArmSpec> =
                        spec.doses.iter().flat_map(|d| d.arms(ratio)).collect();
                    spec.arms.extend(generated);
                }
                Err(es) => problems.extend(es),
            }
        }
        if spec.arms.is_empty() {
            problems.push("no arms: add at least one [[arm]] or [[dose]]".to_string());
        }
        problems.extend(size_problem(
            "arms",
            spec.arms.len(),
            spec.replicates,
            spec.outcomes.len(),
        ));
        problems.extend(check_names(&spec.name, &spec.arms));
        let control = match &spec.control {
            Some(c) => spec
                .arms
                .iter()
                .position(|a| &a.name == c)
                .unwrap_or_else(|| {
                    problems.push(format!("`control`: \"{}\" is not one of the arms", echo(c)));
                    0
                }),
            None => 0,
        };
        let mut arms = Vec::new();
        let mut base_source = String::new();
        for a in &spec.arms {
            let (scenario, source) = match study.resolve(Some(a), &[]) {
                Ok(x) => x,
                Err(es) => {
                    problems.extend(es);
                    continue;
                }
            };
            base_source = source;
            match resolve_all(&spec.outcomes, &scenario) {
                Ok(outcomes) => {
                    let mut overrides = study.overrides();
                    overrides.extend(a.set.iter().cloned());
                    arms.push(Arm {
                        name: a.name.clone(),
                        scenario,
                        outcomes,
                        overrides,
                    })
                }
                Err(es) => problems.extend(
                    es.into_iter()
                        .map(|e| format!("arm `{}`: {e}", echo(&a.name))),
                ),
            }
        }
        problems.dedup();
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let exp = Experiment {
            spec,
            text: text.to_string(),
            path: path.to_path_buf(),
            arms,
            control,
            base_source,
            replicate_scenarios: None,
            posterior_note: None,
        };
        exp.branch_plan()?;
        Ok(exp)
    }

    /// Sets (or with `None` removes) the branch year (`--branch-at`), checked as the file's own
    /// `branch_at` is ([`Experiment::branch_plan`]).
    pub fn set_branch_at(&mut self, year: Option<i64>) -> Result<(), ExperimentError> {
        let old = self.spec.branch_at;
        self.spec.branch_at = year;
        if let Err(e) = self.branch_plan() {
            self.spec.branch_at = old;
            return Err(e);
        }
        Ok(())
    }

    /// Where the experiment branches (`None` without `branch_at`), or an error naming every arm
    /// (and, with `--posterior`, replicate) that differs from the burn-in before the branch year
    /// ([`branch`]).
    pub fn branch_plan(&self) -> Result<Option<branch::BranchPlan>, ExperimentError> {
        let Some(year) = self.spec.branch_at else {
            return Ok(None);
        };
        let invalid = |problems: Vec<String>| ExperimentError::Invalid {
            path: self.path.clone(),
            problems,
        };
        let control = &self.arms[self.control];
        let tick = branch::branch_tick(&control.scenario, year).map_err(|e| invalid(vec![e]))?;
        let mut problems = Vec::new();
        let check = |a: usize, arm: &ValidScenario, burn_in: &ValidScenario, what: &str| {
            branch::difference(&self.arms[a].name, arm, &control.name, burn_in, year)
                .map(|d| format!("{d}{what}"))
        };
        match &self.replicate_scenarios {
            None => {
                for (a, arm) in self.arms.iter().enumerate() {
                    problems.extend(check(a, &arm.scenario, &control.scenario, ""));
                }
            }
            Some(per) => {
                for (r, arms) in per.iter().enumerate() {
                    let Some(burn_in) = arms.get(self.control) else {
                        continue;
                    };
                    for (a, s) in arms.iter().enumerate() {
                        problems.extend(check(a, s, burn_in, &format!(" (--posterior draw {r})")));
                    }
                    // One replicate's problems are enough: every draw sets the same keys.
                    if !problems.is_empty() {
                        break;
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Some(branch::BranchPlan { year, tick }))
    }

    /// The scenario replicate `r` of arm `a` runs: the arm's, or its posterior draw's.
    fn scenario_of(&self, a: usize, r: u32) -> Result<&ValidScenario, ExperimentError> {
        match &self.replicate_scenarios {
            Some(per) => per.get(r as usize).and_then(|p| p.get(a)).ok_or_else(|| {
                ExperimentError::Invalid {
                    path: self.path.clone(),
                    problems: vec![format!(
                        "--posterior: no draw for replicate {r} of arm {a} (replicates changed after the draws \
                         were made)"
                    )],
                }
            }),
            None => Ok(&self.arms[a].scenario),
        }
    }

    /// Replaces the number of replicates (`--replicates`), with the checks of the file's own.
    pub fn set_replicates(&mut self, replicates: u32) -> Result<(), ExperimentError> {
        let outcomes = self.spec.outcomes.len();
        let problem = if replicates == 0 || replicates > 1_000_000 {
            Some(format!(
                "--replicates must be in [1, 1000000], found {replicates}"
            ))
        } else {
            size_problem("arms", self.arms.len(), replicates, outcomes)
        };
        if let Some(p) = problem {
            return Err(ExperimentError::Invalid {
                path: self.path.clone(),
                problems: vec![p],
            });
        }
        self.spec.replicates = replicates;
        Ok(())
    }

    /// Number of runs (arms × replicates).
    pub fn total_runs(&self) -> usize {
        self.arms.len() * self.spec.replicates as usize
    }

    /// (arm, replicate, seed) of run `i`; runs are ordered arm-major.
    pub fn run_plan(&self, i: usize) -> (usize, u32, u64) {
        let r = self.spec.replicates as usize;
        let replicate = (i % r) as u32;
        (
            i / r,
            replicate,
            replicate_seed(self.spec.master_seed, replicate),
        )
    }
}

/// The outcome values of every run, `[run][outcome]`, runs in plan order.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// Outcome values per run.
    pub values: Vec<Vec<f64>>,
}

impl Results {
    /// Values of outcome `o` in arm `a`, replicate order.
    pub fn column(&self, exp: &Experiment, a: usize, o: usize) -> Vec<f64> {
        let r = exp.spec.replicates as usize;
        (a * r..(a + 1) * r).map(|i| self.values[i][o]).collect()
    }
}

/// Called with each finished run's (arm, replicate, seed) and recorder.
pub type OnRun<'a> = dyn Fn((usize, u32, u64), &Recorder) -> Result<(), crate::rundir::write::OutputError>
    + Sync
    + 'a;

/// Runs every (arm, replicate) in parallel on the current rayon pool. `on_run` is called with
/// each finished run's recorder (e.g. to keep its outputs) and after it `progress`; `stop` is polled
/// between runs, and runs not yet started are skipped once it says so.
pub fn run(
    exp: &Experiment,
    stop: &(dyn Fn() -> bool + Sync),
    on_run: &OnRun<'_>,
    progress: &(dyn Fn() + Sync),
) -> Result<Results, ExperimentError> {
    run_from(
        exp,
        &Results { values: Vec::new() },
        0,
        stop,
        on_run,
        progress,
    )
}

/// A run's outcome values; `None` when it was skipped (stopped before it started).
type RunOutcome = Option<Result<Vec<f64>, ExperimentError>>;

/// [`run`], reusing `prior`: the results of the first `prior_reps` replicates of every arm (as
/// run with `replicates = prior_reps`). Only replicates `prior_reps..replicates` are run.
pub fn run_from(
    exp: &Experiment,
    prior: &Results,
    prior_reps: u32,
    stop: &(dyn Fn() -> bool + Sync),
    on_run: &OnRun<'_>,
    progress: &(dyn Fn() + Sync),
) -> Result<Results, ExperimentError> {
    let total = exp.total_runs();
    let prior_reps = prior_reps.min(exp.spec.replicates) as usize;
    let reused = |a: usize, r: u32| -> Option<Vec<f64>> {
        if (r as usize) < prior_reps {
            prior.values.get(a * prior_reps + r as usize).cloned()
        } else {
            None
        }
    };
    // One run from tick 0 (or, branched, from the burn-in's state) to the end.
    // The cohort observer only when an outcome reads it (the same outcomes in every arm).
    let observe = crate::study::evaluate::observe_for(&exp.arms[exp.control].outcomes);
    let one = |a: usize, r: u32, seed: u64, from: Option<&Simulation>| -> RunOutcome {
        if stop() {
            return None;
        }
        let arm = &exp.arms[a];
        let scenario = match exp.scenario_of(a, r) {
            Ok(s) => s.clone(),
            Err(e) => return Some(Err(e)),
        };
        let sim = match from {
            None => {
                Simulation::with_observers(scenario, seed, &observe).map_err(ExperimentError::from)
            }
            Some(burn_in) => burn_in
                .branch(scenario)
                .map_err(|e| ExperimentError::Invalid {
                    path: exp.path.clone(),
                    problems: vec![format!(
                        "arm `{}`: cannot continue the burn-in: {e}",
                        echo(&arm.name)
                    )],
                }),
        };
        let mut sim = match sim {
            Ok(sim) => sim,
            Err(e) => return Some(Err(e)),
        };
        sim.run(|_| {});
        let cohorts = sim.take_observers().and_then(|o| o.cohorts);
        let rec = sim.into_recorder();
        let values = arm
            .outcomes
            .iter()
            .map(|o| o.value_in(&rec, cohorts.as_ref()))
            .collect();
        let kept = on_run((a, r, seed), &rec)
            .map(|()| values)
            .map_err(Into::into);
        progress();
        Some(kept)
    };
    let outcomes: Vec<RunOutcome> = match exp.branch_plan()? {
        None => (0..total)
            .into_par_iter()
            .map(|i| {
                let (a, r, seed) = exp.run_plan(i);
                if let Some(v) = reused(a, r) {
                    return Some(Ok(v));
                }
                one(a, r, seed, None)
            })
            .collect(),
        Some(plan) => {
            // Per replicate: the burn-in once (the control arm's scenario to the branch tick),
            // then every arm from a copy of its state, in parallel.
            let arms = exp.arms.len();
            let reps = exp.spec.replicates;
            let per_rep: Vec<Vec<RunOutcome>> = (0..reps)
                .into_par_iter()
                .map(|r| {
                    let seed = replicate_seed(exp.spec.master_seed, r);
                    let mut out: Vec<RunOutcome> =
                        (0..arms).map(|a| reused(a, r).map(Ok)).collect();
                    if out.iter().all(Option::is_some) || stop() {
                        return out;
                    }
                    let burn_in = exp.scenario_of(exp.control, r).and_then(|s| {
                        Simulation::with_observers(s.clone(), seed, &observe).map_err(Into::into)
                    });
                    let mut sim = match burn_in {
                        Ok(sim) => sim,
                        Err(e) => {
                            out[0] = Some(Err(e));
                            return out;
                        }
                    };
                    while sim.tick() < plan.tick {
                        sim.step();
                    }
                    let burn_in = &sim;
                    let ran: Vec<_> = (0..arms)
                        .into_par_iter()
                        .map(|a| match reused(a, r) {
                            Some(v) => Some(Ok(v)),
                            None => one(a, r, seed, Some(burn_in)),
                        })
                        .collect();
                    ran
                })
                .collect();
            let r = reps as usize;
            let mut per_rep: Vec<std::vec::IntoIter<_>> =
                per_rep.into_iter().map(Vec::into_iter).collect();
            // Run order is arm-major (run i = arm i / R, replicate i % R).
            let mut by_arm: Vec<Vec<RunOutcome>> =
                (0..arms).map(|_| Vec::with_capacity(r)).collect();
            for rep in per_rep.iter_mut() {
                for slot in by_arm.iter_mut() {
                    slot.push(rep.next().flatten());
                }
            }
            by_arm.into_iter().flatten().collect()
        }
    };
    let total_done = outcomes.iter().filter(|o| o.is_some()).count();
    let mut values = Vec::with_capacity(total);
    let mut finished = Vec::new();
    for (i, v) in outcomes.into_iter().enumerate() {
        if let Some(v) = v {
            let v = v?;
            finished.push((i, v.clone()));
            values.push(v);
        }
    }
    if total_done < total {
        return Err(ExperimentError::Interrupted {
            finished,
            total,
            replicates: exp.spec.replicates,
        });
    }
    Ok(Results { values })
}

/// Runs the experiment; with a `precision` section, in batches of replicates until every
/// targeted interval meets its half-width or `max_replicates` is reached (then
/// `exp.spec.replicates` is the number reached). Without one, the same as [`run`].
pub fn run_adaptive(
    exp: &mut Experiment,
    stop: &(dyn Fn() -> bool + Sync),
    on_run: &OnRun<'_>,
    progress: &(dyn Fn() + Sync),
) -> Result<(Results, Option<precision::PrecisionReport>), ExperimentError> {
    let Some(spec) = exp.spec.precision.clone() else {
        return run(exp, stop, on_run, progress).map(|r| (r, None));
    };
    let batch = spec.batch.unwrap_or(exp.spec.replicates).max(1);
    let mut done = 0u32;
    let mut res = Results { values: Vec::new() };
    let mut batches = Vec::new();
    loop {
        res = run_from(exp, &res, done, stop, on_run, progress)?;
        done = exp.spec.replicates;
        batches.push(done);
        let achieved = precision::achieved(exp, &spec, &res);
        let met = precision::all_met(&achieved);
        if met || done >= spec.max_replicates {
            let report = precision::PrecisionReport {
                replicates: done,
                batches,
                met,
                achieved,
            };
            return Ok((res, Some(report)));
        }
        exp.spec.replicates = (done + batch).min(spec.max_replicates);
    }
}

/// Researcher agents per country at t = 0 in the control arm, (code, agents), in scenario order.
pub fn agents_per_country(exp: &Experiment) -> Vec<(String, u64)> {
    let arm = &exp.arms[exp.control];
    let seed = replicate_seed(exp.spec.master_seed, 0);
    let sim = Simulation::new(arm.scenario.clone(), seed);
    let mut n = vec![0u64; arm.scenario.countries.len()];
    for &c in &sim.researchers().loc {
        if let Some(x) = n.get_mut(c as usize) {
            *x += 1;
        }
    }
    arm.scenario
        .countries
        .iter()
        .zip(n)
        .map(|(c, k)| (c.code.clone(), k))
        .collect()
}

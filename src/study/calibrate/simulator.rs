//! What the estimators see of a model: a function from parameter vectors to the simulated
//! value of every target in every replicate. [`ScenarioSimulator`] is the agent-based model
//! (arms × replicates per θ, the inner baseline step first); tests pass other implementations
//! (a normal mean, the expected dynamics) through the same estimator code.

use rayon::prelude::*;

use super::spec::Target;
use super::CalibrateError;
use crate::model::engine::Simulation;
use crate::model::record::Recorder;
use crate::scenario::{Override, ValidScenario};
use crate::study::base::{ArmSpec, StudyBase};
use crate::study::baseline;
use crate::study::evaluate::value_text;
use crate::study::experiment::replicate_seed;

/// A stop request, polled between ticks.
pub type Stop<'a> = &'a (dyn Fn() -> bool + Sync);

/// A model as the estimators use it.
pub trait Simulator: Sync {
    /// Replicates per θ.
    fn replicates(&self) -> usize;
    /// The seed of replicate `r` (written to evaluations.csv).
    fn seed(&self, r: usize) -> u64;
    /// Whether the simulated moments carry Monte Carlo noise (the SMM covariance is then
    /// inflated by 1 + 1/R); a deterministic model (the expected dynamics) says false.
    fn stochastic(&self) -> bool {
        true
    }
    /// The value of every target in every replicate at every θ: `[θ][replicate][target]`. A
    /// pure function of θ (common random numbers: the same seeds at every θ).
    fn simulate(
        &self,
        thetas: &[Vec<f64>],
        stop: Stop<'_>,
    ) -> Result<Vec<Vec<Vec<f64>>>, CalibrateError>;
}

/// The agent-based model of a calibration file.
pub struct ScenarioSimulator {
    /// Base and shared overrides.
    pub study: StudyBase,
    /// Arms (empty: the base alone).
    pub arms: Vec<ArmSpec>,
    /// Parameter keys, in θ order.
    pub keys: Vec<String>,
    /// Targets.
    pub targets: Vec<Target>,
    /// Replicates per θ.
    pub replicates: u32,
    /// Master seed of the replicate seeds.
    pub master_seed: u64,
    /// The inner step's targets, if any.
    pub baseline: Option<Vec<baseline::Target>>,
}

/// A θ's resolved world: the overrides of its parameters and of the inner step's attractions.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// `key=value` of every parameter, then `country.CODE.attraction=…` from the inner step.
    pub overrides: Vec<Override>,
    /// Σ z² of the inner step (0 without one).
    pub baseline_objective: f64,
    /// Countries whose net-migration target the inner step did not meet within 2 se.
    pub baseline_unmet: Vec<String>,
}

impl ScenarioSimulator {
    /// `key=value` of every parameter (without the inner step).
    pub fn resolve_overrides(&self, theta: &[f64]) -> Vec<Override> {
        self.keys
            .iter()
            .zip(theta)
            .map(|(k, &v)| Override {
                path: k.clone(),
                value: value_text(v),
            })
            .collect()
    }

    fn arm(&self, a: usize) -> Option<&ArmSpec> {
        self.arms.get(a)
    }

    fn arm_count(&self) -> usize {
        self.arms.len().max(1)
    }

    /// The overrides of θ, with the inner step solved (MODEL.md §8: the attractions are
    /// re-solved for every θ so that every candidate reproduces observed net migration).
    pub fn resolve(&self, theta: &[f64]) -> Result<Resolved, String> {
        let mut overrides = self.resolve_overrides(theta);
        let Some(targets) = &self.baseline else {
            return Ok(Resolved {
                overrides,
                baseline_objective: 0.0,
                baseline_unmet: Vec::new(),
            });
        };
        let (scenario, _) = self
            .study
            .resolve(None, &overrides)
            .map_err(|e| e.join("; "))?;
        let fit = baseline::calibrate(&scenario, targets, &baseline::Options::default())
            .map_err(|e| format!("inner step: {e}"))?;
        for c in &fit.countries {
            overrides.push(Override {
                path: format!("country.{}.attraction", c.code),
                value: value_text(c.attraction),
            });
        }
        Ok(Resolved {
            overrides,
            baseline_objective: fit.objective,
            baseline_unmet: fit.unmet().iter().map(|c| c.code.clone()).collect(),
        })
    }

    /// The scenario of arm `a` under `overrides`.
    pub fn scenario(&self, a: usize, overrides: &[Override]) -> Result<ValidScenario, String> {
        self.study
            .resolve(self.arm(a), overrides)
            .map(|(s, _)| s)
            .map_err(|e| e.join("; "))
    }

    /// Checks that θ gives a valid scenario in every arm and that every target's outcomes
    /// resolve against it (without the inner step, which needs a valid scenario first).
    pub fn check_point(&self, theta: &[f64]) -> Result<(), String> {
        let overrides = self.resolve_overrides(theta);
        for a in 0..self.arm_count() {
            let s = self.scenario(a, &overrides)?;
            for t in &self.targets {
                for r in t.expr.refs().iter().filter(|r| r.arm == a) {
                    r.outcome
                        .resolve(&s)
                        .map_err(|e| format!("target `{}`: {e}", t.name))?;
                }
            }
        }
        Ok(())
    }

    fn target_values(&self, recs: &[Option<RunOutputs>]) -> Result<Vec<f64>, String> {
        self.targets
            .iter()
            .map(|t| {
                let values = t
                    .expr
                    .refs()
                    .iter()
                    .map(|r| {
                        let (s, rec, cohorts) = recs[r.arm].as_ref().ok_or("arm not run")?;
                        let o = r.outcome.resolve(s).map_err(|e| e.to_string())?;
                        Ok(o.value_in(rec, cohorts.as_ref()))
                    })
                    .collect::<Result<Vec<f64>, String>>()?;
                Ok(t.expr.eval(&values))
            })
            .collect()
    }
}

/// A run's scenario, recorder and (when a target reads them) cohort tables.
type RunOutputs = (
    ValidScenario,
    Recorder,
    Option<crate::model::cohort::Cohorts>,
);

impl Simulator for ScenarioSimulator {
    fn replicates(&self) -> usize {
        self.replicates as usize
    }

    fn seed(&self, r: usize) -> u64 {
        replicate_seed(self.master_seed, r as u32)
    }

    fn simulate(
        &self,
        thetas: &[Vec<f64>],
        stop: Stop<'_>,
    ) -> Result<Vec<Vec<Vec<f64>>>, CalibrateError> {
        let resolved: Vec<Result<Resolved, String>> =
            thetas.par_iter().map(|t| self.resolve(t)).collect();
        let mut ok = Vec::with_capacity(thetas.len());
        for (i, r) in resolved.into_iter().enumerate() {
            ok.push(r.map_err(|message| CalibrateError::Point {
                theta: thetas[i].clone(),
                message,
            })?);
        }
        let arms = self.arm_count();
        let needed: Vec<bool> = (0..arms)
            .map(|a| {
                self.targets
                    .iter()
                    .any(|t| t.expr.refs().iter().any(|r| r.arm == a))
            })
            .collect();
        let reps = self.replicates();
        // One job per (θ, replicate, arm), collected in that order whatever the threads.
        let jobs = thetas.len() * reps * arms;
        // The cohort observer only for arms a `stay.…` target reads.
        let cohorts: Vec<bool> = (0..arms)
            .map(|a| {
                self.targets.iter().any(|t| {
                    t.expr
                        .refs()
                        .iter()
                        .any(|r| r.arm == a && r.outcome.needs_cohorts())
                })
            })
            .collect();
        let runs: Vec<Result<Option<RunOutputs>, String>> = (0..jobs)
            .into_par_iter()
            .map(|j| {
                let (p, r, a) = (j / (reps * arms), (j / arms) % reps, j % arms);
                if !needed[a] {
                    return Ok(None);
                }
                let s = self.scenario(a, &ok[p].overrides)?;
                let observe = crate::model::observe::ObserveOptions {
                    panel: None,
                    cohorts: cohorts[a],
                };
                let mut sim = Simulation::with_observers(s.clone(), self.seed(r), &observe)
                    .map_err(|e| e.to_string())?;
                while !sim.is_finished() {
                    if stop() {
                        return Err(String::new());
                    }
                    sim.step();
                }
                let c = sim.take_observers().and_then(|o| o.cohorts);
                Ok(Some((s, sim.into_recorder(), c)))
            })
            .collect();
        if stop() {
            return Err(CalibrateError::Interrupted);
        }
        let mut runs = runs.into_iter();
        let mut out = Vec::with_capacity(thetas.len());
        for (p, theta) in thetas.iter().enumerate() {
            let mut per_rep = Vec::with_capacity(reps);
            for _ in 0..reps {
                let mut recs = Vec::with_capacity(arms);
                for _ in 0..arms {
                    let run = runs.next().unwrap_or(Err("missing run".into()));
                    recs.push(run.map_err(|message| CalibrateError::Point {
                        theta: theta.clone(),
                        message,
                    })?);
                }
                per_rep.push(self.target_values(&recs).map_err(|message| {
                    CalibrateError::Point {
                        theta: thetas[p].clone(),
                        message,
                    }
                })?);
            }
            out.push(per_rep);
        }
        Ok(out)
    }
}

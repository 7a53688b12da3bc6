//! Adaptive precision: replicates are added in deterministic batches until every targeted 95%
//! interval is narrower than its target half-width (or `max_replicates` is reached).
//!
//! Replicate r always has seed `replicate_seed(master_seed, r)`, so the batches continue one
//! sequence of common random numbers and an experiment stopped at R replicates is the same as one
//! run with `replicates = R`. The stopping rule reads only outcome values, which are a pure
//! function of the file, so the number of replicates is too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Experiment, Results};
use crate::study::stats::{estimate, paired_effect};

/// The target half-width: one for every outcome, or one per outcome (outcomes not named are
/// not targeted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HalfWidth {
    /// The same target for every outcome.
    All(f64),
    /// A target per outcome.
    Per(BTreeMap<String, f64>),
}

/// `precision = { half_width = …, max_replicates = … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecisionSpec {
    /// Target half-width of the 95% intervals.
    pub half_width: HalfWidth,
    /// Upper bound on replicates per arm.
    pub max_replicates: u32,
    /// Replicates added per batch (default: the file's `replicates`).
    #[serde(default)]
    pub batch: Option<u32>,
    /// Which intervals must meet the target: `contrasts` (differences to control, the default)
    /// or `all` (also every arm's mean).
    #[serde(default = "default_intervals")]
    pub intervals: String,
}

fn default_intervals() -> String {
    "contrasts".into()
}

impl PrecisionSpec {
    /// Target of `outcome`, if it is targeted.
    pub fn target(&self, outcome: &str) -> Option<f64> {
        match &self.half_width {
            HalfWidth::All(h) => Some(*h),
            HalfWidth::Per(m) => m.get(outcome).copied(),
        }
    }

    /// Problems with the section.
    pub fn check(&self, outcomes: &[String], replicates: u32) -> Vec<String> {
        let mut p = Vec::new();
        let targets: Vec<(String, f64)> = match &self.half_width {
            HalfWidth::All(h) => vec![("all outcomes".into(), *h)],
            HalfWidth::Per(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        for (o, h) in targets {
            if !(h.is_finite() && h > 0.0) {
                p.push(format!(
                    "precision: half_width of {o} must be > 0, found {h}"
                ));
            }
            if o != "all outcomes" && !outcomes.contains(&o) {
                p.push(format!(
                    "precision: half_width for `{o}`, which is not one of `outcomes`"
                ));
            }
        }
        if self.max_replicates < replicates.max(2) || self.max_replicates > 1_000_000 {
            p.push(format!(
                "precision: max_replicates must be in [max(replicates, 2), 1000000], found {}",
                self.max_replicates
            ));
        }
        if self.batch == Some(0) {
            p.push("precision: batch must be at least 1".into());
        }
        if !["contrasts", "all"].contains(&self.intervals.as_str()) {
            p.push(format!(
                "precision: intervals must be `contrasts` or `all`, found `{}`",
                self.intervals
            ));
        }
        p
    }
}

/// One targeted interval after the last batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Achieved {
    /// Arm.
    pub arm: String,
    /// Outcome.
    pub outcome: String,
    /// `diff` (contrast) or `mean`.
    pub interval: &'static str,
    /// Half-width reached (infinite when there is no interval).
    pub half_width: f64,
    /// Target.
    pub target: f64,
}

/// What adaptive precision did.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionReport {
    /// Replicates per arm at the end.
    pub replicates: u32,
    /// Replicates per arm after each batch.
    pub batches: Vec<u32>,
    /// Whether every target was met.
    pub met: bool,
    /// Every targeted interval.
    pub achieved: Vec<Achieved>,
}

/// The targeted intervals of `res` with their half-widths.
pub fn achieved(exp: &Experiment, spec: &PrecisionSpec, res: &Results) -> Vec<Achieved> {
    let half = |c: (Option<f64>, Option<f64>)| match c {
        (Some(a), Some(b)) => (b - a) / 2.0,
        _ => f64::INFINITY,
    };
    let mut out = Vec::new();
    for (o, outcome) in exp.spec.outcomes.iter().enumerate() {
        let Some(target) = spec.target(outcome) else {
            continue;
        };
        let control = res.column(exp, exp.control, o);
        for (a, arm) in exp.arms.iter().enumerate() {
            let x = res.column(exp, a, o);
            if spec.intervals == "all" {
                let e = estimate(&x);
                out.push(Achieved {
                    arm: arm.name.clone(),
                    outcome: outcome.clone(),
                    interval: "mean",
                    half_width: half((e.ci_low, e.ci_high)),
                    target,
                });
            }
            if a != exp.control {
                let e = paired_effect(&x, &control);
                out.push(Achieved {
                    arm: arm.name.clone(),
                    outcome: outcome.clone(),
                    interval: "diff",
                    half_width: half((e.ci_low, e.ci_high)),
                    target,
                });
            }
        }
    }
    out
}

/// Whether every targeted interval meets its target (`<=`, so a deterministic outcome with a
/// zero-width interval meets any target).
pub fn all_met(a: &[Achieved]) -> bool {
    a.iter().all(|x| x.half_width <= x.target)
}

//! The calibration file (`[[parameter]]` with priors, `[[target]]` with observed values, the
//! method and its settings) and its checks. Every problem is listed at once, each naming its
//! field (`parameter[1].max`, `target[0].se`, `smm.restarts`…).

use serde::{Deserialize, Serialize};

use super::prior::{Prior, PriorKind};
use crate::scenario::Override;
use crate::study::base::ArmSpec;
use crate::study::expr::Expr;

/// One calibrated parameter (`[[parameter]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Scenario key path, as for `--set`.
    pub key: String,
    /// `uniform` (default), `log-uniform` or `normal`.
    #[serde(default = "uniform")]
    pub prior: String,
    /// Lower end of the support.
    pub min: Option<f64>,
    /// Upper end of the support.
    pub max: Option<f64>,
    /// Mean of a normal prior.
    #[serde(default)]
    pub mean: Option<f64>,
    /// Sd of a normal prior.
    #[serde(default)]
    pub sd: Option<f64>,
}

fn uniform() -> String {
    "uniform".into()
}

/// Whether a target is fitted or held out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Enters the distance.
    Fit,
    /// Only compared with its prediction.
    Holdout,
}

impl Role {
    /// As written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Fit => "fit",
            Role::Holdout => "holdout",
        }
    }
}

/// One observed moment (`[[target]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Column name.
    pub name: String,
    /// An outcome expression ([`crate::study::expr`]) over the arms' outcomes.
    pub expr: String,
    /// Observed value.
    pub value: f64,
    /// Its standard error.
    pub se: f64,
    /// `fit` (default) or `holdout`.
    #[serde(default = "fit")]
    pub role: String,
    /// Model-discrepancy variance added to se² in the distance.
    #[serde(default)]
    pub discrepancy: f64,
}

fn fit() -> String {
    "fit".into()
}

/// `[baseline]`: the inner step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    /// Net-migration targets CSV (relative to the calibration file), as for `calibrate-baseline`.
    pub targets: String,
}

/// `[smm]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmmSpec {
    /// Nelder–Mead runs, each from one of the best points of the space-filling start.
    #[serde(default = "three")]
    pub restarts: usize,
    /// Most evaluations of one Nelder–Mead run.
    #[serde(default = "two_hundred")]
    pub max_evaluations: usize,
    /// Points of the Latin-hypercube start (default: max(10, 4 × parameters)).
    #[serde(default)]
    pub start_points: Option<usize>,
    /// Half-width of the central differences of the Jacobian, in the unit cube.
    #[serde(default = "fd_step")]
    pub fd_step: f64,
    /// Stop a run when the simplex's distances differ by less than this.
    #[serde(default = "ftol")]
    pub tolerance: f64,
}

impl Default for SmmSpec {
    fn default() -> Self {
        SmmSpec {
            restarts: three(),
            max_evaluations: two_hundred(),
            start_points: None,
            fd_step: fd_step(),
            tolerance: ftol(),
        }
    }
}

/// `[abc]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbcSpec {
    /// Particles per generation.
    #[serde(default = "two_hundred")]
    pub population: usize,
    /// Most generations.
    #[serde(default = "eight")]
    pub generations: usize,
    /// Most θ evaluations in all.
    #[serde(default = "budget")]
    pub budget: usize,
    /// Quantile of the previous generation's distances that sets the next tolerance.
    #[serde(default = "alpha")]
    pub alpha: f64,
}

impl Default for AbcSpec {
    fn default() -> Self {
        AbcSpec {
            population: two_hundred(),
            generations: eight(),
            budget: budget(),
            alpha: alpha(),
        }
    }
}

fn three() -> usize {
    3
}
fn eight() -> usize {
    8
}
fn two_hundred() -> usize {
    200
}
fn budget() -> usize {
    4000
}
fn alpha() -> f64 {
    0.5
}
fn fd_step() -> f64 {
    0.02
}
fn ftol() -> f64 {
    1e-4
}
fn one() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}

/// The calibration file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// Short name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Base scenario: a path (relative to the file) or an embedded name.
    pub base: String,
    /// Overrides of every run.
    #[serde(default)]
    pub set: Vec<String>,
    /// `smm` or `abc-smc`.
    pub method: String,
    /// Replicates per θ (the same seeds at every θ).
    #[serde(default = "one")]
    pub replicates: u32,
    /// Master seed of the replicate seeds and of the method's own random numbers.
    #[serde(default = "one_u64")]
    pub master_seed: u64,
    /// Arms (as in experiments); none: one arm, `base`.
    #[serde(default, rename = "arm")]
    pub arms: Vec<ArmSpec>,
    /// The parameters.
    #[serde(default, rename = "parameter")]
    pub parameters: Vec<ParameterSpec>,
    /// The targets.
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetSpec>,
    /// The inner step (baseline calibration re-solved at every θ).
    #[serde(default)]
    pub baseline: Option<BaselineSpec>,
    /// SMM settings.
    #[serde(default)]
    pub smm: Option<SmmSpec>,
    /// ABC-SMC settings.
    #[serde(default)]
    pub abc: Option<AbcSpec>,
}

/// Which estimator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Simulated method of moments.
    Smm,
    /// Approximate Bayesian computation, sequential Monte Carlo.
    AbcSmc,
}

/// A checked target.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Column name.
    pub name: String,
    /// The expression.
    pub expr: Expr,
    /// Observed value.
    pub value: f64,
    /// Standard error.
    pub se: f64,
    /// Fit or holdout.
    pub role: Role,
    /// Model-discrepancy variance.
    pub discrepancy: f64,
}

impl Target {
    /// se² + discrepancy: the denominator of the target's term in the distance.
    pub fn variance(&self) -> f64 {
        self.se * self.se + self.discrepancy
    }
}

/// A finite number, or a problem naming `field`.
fn finite(v: Option<f64>, field: &str, problems: &mut Vec<String>) -> Option<f64> {
    match v {
        None => {
            problems.push(format!("`{field}`: missing"));
            None
        }
        Some(x) if !x.is_finite() => {
            problems.push(format!("`{field}`: must be a finite number, found {x}"));
            None
        }
        Some(x) => Some(x),
    }
}

/// Names a key must not take: the inner step sets the attractions.
fn reserved(key: &str) -> bool {
    key.ends_with(".attraction")
}

impl CalibrationFile {
    /// The method, the priors, the targets and the arm names, or every problem found.
    #[allow(clippy::type_complexity)]
    pub fn check(&self) -> Result<(Method, Vec<Prior>, Vec<Target>, Vec<String>), Vec<String>> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() || self.name.contains(['/', '\\']) {
            problems.push(format!(
                "`name`: must be non-empty without slashes, found {:?}",
                self.name
            ));
        }
        let method = match self.method.as_str() {
            "smm" => Some(Method::Smm),
            "abc-smc" => Some(Method::AbcSmc),
            other => {
                problems.push(format!(
                    "`method`: must be \"smm\" or \"abc-smc\", found {other:?}"
                ));
                None
            }
        };
        if self.replicates == 0 {
            problems.push("`replicates`: must be at least 1".into());
        }
        match (method, &self.smm, &self.abc) {
            (Some(Method::Smm), _, Some(_)) => {
                problems.push("`abc`: an [abc] table needs method = \"abc-smc\"".into())
            }
            (Some(Method::AbcSmc), Some(_), _) => {
                problems.push("`smm`: an [smm] table needs method = \"smm\"".into())
            }
            _ => {}
        }
        if let Some(s) = &self.smm {
            if s.restarts == 0 {
                problems.push("`smm.restarts`: must be at least 1".into());
            }
            if s.max_evaluations < 5 {
                problems.push(format!(
                    "`smm.max_evaluations`: must be at least 5, found {}",
                    s.max_evaluations
                ));
            }
            if !(s.fd_step > 0.0 && s.fd_step <= 0.25) {
                problems.push(format!(
                    "`smm.fd_step`: must be in (0, 0.25] (a step in the unit cube), found {}",
                    s.fd_step
                ));
            }
            if !(s.tolerance.is_finite() && s.tolerance >= 0.0) {
                problems.push(format!(
                    "`smm.tolerance`: must be a finite number ≥ 0, found {}",
                    s.tolerance
                ));
            }
            if s.start_points.is_some_and(|n| n < s.restarts) {
                problems.push("`smm.start_points`: must be at least `smm.restarts`".into());
            }
        }
        if let Some(a) = &self.abc {
            if a.population < 10 {
                problems.push(format!(
                    "`abc.population`: must be at least 10, found {}",
                    a.population
                ));
            }
            if a.generations == 0 {
                problems.push("`abc.generations`: must be at least 1".into());
            }
            if a.budget < a.population {
                problems.push(format!(
                    "`abc.budget`: must be at least `abc.population` ({}), found {}",
                    a.population, a.budget
                ));
            }
            if !(a.alpha > 0.0 && a.alpha < 1.0) {
                problems.push(format!("`abc.alpha`: must be in (0, 1), found {}", a.alpha));
            }
        }
        if self.parameters.is_empty() {
            problems.push("`parameter`: give at least one [[parameter]]".into());
        }
        let mut priors = Vec::new();
        let mut keys = std::collections::BTreeSet::new();
        for (i, p) in self.parameters.iter().enumerate() {
            let at = |f: &str| format!("parameter[{i}].{f}");
            if Override::parse(&format!("{}=0", p.key)).is_err() {
                problems.push(format!("`{}`: `{}` is not a key path", at("key"), p.key));
            } else if reserved(&p.key) {
                problems.push(format!(
                    "`{}`: `{}` is set by the inner step ([baseline]); calibrate another key",
                    at("key"),
                    p.key
                ));
            }
            if !keys.insert(p.key.clone()) {
                problems.push(format!("`{}`: `{}` appears twice", at("key"), p.key));
            }
            let kind = match p.prior.as_str() {
                "uniform" => Some(PriorKind::Uniform),
                "log-uniform" => Some(PriorKind::LogUniform),
                "normal" => Some(PriorKind::Normal),
                other => {
                    problems.push(format!(
                        "`{}`: must be \"uniform\", \"log-uniform\" or \"normal\", found {other:?}",
                        at("prior")
                    ));
                    None
                }
            };
            let lo = finite(p.min, &at("min"), &mut problems);
            let hi = finite(p.max, &at("max"), &mut problems);
            let (mut mean, mut sd) = (0.0, 0.0);
            match kind {
                Some(PriorKind::Normal) => {
                    mean = finite(p.mean, &at("mean"), &mut problems).unwrap_or(0.0);
                    sd = finite(p.sd, &at("sd"), &mut problems).unwrap_or(1.0);
                    if sd <= 0.0 {
                        problems.push(format!("`{}`: must be positive, found {sd}", at("sd")));
                    }
                }
                Some(_) => {
                    for (v, f) in [(p.mean, "mean"), (p.sd, "sd")] {
                        if v.is_some() {
                            problems.push(format!("`{}`: only a normal prior takes `{f}`", at(f)));
                        }
                    }
                }
                None => {}
            }
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo >= hi {
                    problems.push(format!(
                        "`{}`: must be greater than min, found min = {lo}, max = {hi}",
                        at("max")
                    ));
                } else if kind == Some(PriorKind::LogUniform) && lo <= 0.0 {
                    problems.push(format!(
                        "`{}`: a log-uniform prior needs min > 0, found {lo}",
                        at("min")
                    ));
                } else if let Some(kind) = kind {
                    priors.push(Prior {
                        kind,
                        min: lo,
                        max: hi,
                        mean,
                        sd: if sd > 0.0 { sd } else { 1.0 },
                    });
                }
            }
        }
        let arm_names: Vec<String> = if self.arms.is_empty() {
            vec!["base".into()]
        } else {
            self.arms.iter().map(|a| a.name.clone()).collect()
        };
        let mut seen_arms = std::collections::BTreeSet::new();
        for (i, a) in self.arms.iter().enumerate() {
            if !seen_arms.insert(a.name.clone()) {
                problems.push(format!("`arm[{i}].name`: `{}` appears twice", a.name));
            }
        }
        let mut targets = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        if self.targets.is_empty() {
            problems.push("`target`: give at least one [[target]]".into());
        }
        for (i, t) in self.targets.iter().enumerate() {
            let at = |f: &str| format!("target[{i}].{f}");
            if t.name.is_empty()
                || t.name
                    .chars()
                    .any(|c| c == ',' || c == '"' || c.is_control())
                || !names.insert(t.name.clone())
            {
                problems.push(format!(
                    "`{}`: must be unique, non-empty, without commas, quotes or control characters, found {:?}",
                    at("name"),
                    t.name
                ));
            }
            let expr = Expr::parse(&t.expr, &arm_names)
                .map_err(|e| problems.push(format!("`{}`: {e}", at("expr"))))
                .ok();
            if !t.value.is_finite() {
                problems.push(format!(
                    "`{}`: must be a finite number, found {}",
                    at("value"),
                    t.value
                ));
            }
            if !(t.se.is_finite() && t.se > 0.0) {
                problems.push(format!(
                    "`{}`: must be a positive finite number, found {}",
                    at("se"),
                    t.se
                ));
            }
            if !(t.discrepancy.is_finite() && t.discrepancy >= 0.0) {
                problems.push(format!(
                    "`{}`: must be a finite variance ≥ 0, found {}",
                    at("discrepancy"),
                    t.discrepancy
                ));
            }
            let role = match t.role.as_str() {
                "fit" => Some(Role::Fit),
                "holdout" => Some(Role::Holdout),
                other => {
                    problems.push(format!(
                        "`{}`: must be \"fit\" or \"holdout\", found {other:?}",
                        at("role")
                    ));
                    None
                }
            };
            if let (Some(expr), Some(role)) = (expr, role) {
                targets.push(Target {
                    name: t.name.clone(),
                    expr,
                    value: t.value,
                    se: t.se,
                    role,
                    discrepancy: t.discrepancy,
                });
            }
        }
        if !self.targets.is_empty() && self.targets.iter().all(|t| t.role == "holdout") {
            problems.push(
                "`target`: every target is a holdout; at least one needs role = \"fit\"".into(),
            );
        }
        if let Some(b) = &self.baseline {
            if b.targets.trim().is_empty() {
                problems.push("`baseline.targets`: give the net-migration targets CSV".into());
            }
        }
        match method {
            Some(m) if problems.is_empty() => Ok((m, priors, targets, arm_names)),
            _ => Err(problems),
        }
    }
}

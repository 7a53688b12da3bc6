//! Parameter uncertainty in experiments (`talentflow experiment FILE --posterior DIR`):
//! replicate r of every arm runs at its own draw θ_r from a finished calibration, the same
//! draw in every arm (so arms stay paired), with the calibration's inner step re-solved at θ_r.
//!
//! Draws: ABC-SMC — a particle of `posterior.csv` picked by weight; SMM — the estimate plus
//! independent normal errors with the standard errors of `estimates.csv` (parameters without a
//! standard error stay at the estimate; correlations are not kept), clamped to the prior's
//! range. The random numbers come from a stream of (the experiment's master seed, r), so the
//! draws are a pure function of the experiment, the calibration and the replicate.

use std::path::{Path, PathBuf};

use crate::model::rng::{Phase, Streams};
use crate::rundir::input::{read_limited_string, MAX_DATA_BYTES, MAX_JSON_BYTES};
use crate::scenario::{Override, ValidScenario};
use crate::study::base::StudyBase;
use crate::study::baseline;
use crate::study::calibrate::linalg::psd_sqrt;
use crate::study::evaluate::value_text;
use crate::study::experiment::{Experiment, ExperimentError};

/// What a calibration directory offers to draw from.
#[derive(Clone, Debug, PartialEq)]
pub struct Posterior {
    /// The directory.
    pub dir: PathBuf,
    /// Parameter keys.
    pub keys: Vec<String>,
    /// `smm` or `abc-smc`.
    pub method: String,
    /// ABC particles (θ) and weights; SMM: one row, the estimate.
    pub points: Vec<Vec<f64>>,
    /// Weights of `points`.
    pub weights: Vec<f64>,
    /// SMM standard errors (NaN: none).
    pub se: Vec<f64>,
    /// SMM: the estimate's covariance from `covariance.csv` (row-major, k×k) and its source
    /// (`sandwich` or `laplace_prior`); `None` for ABC and for directories written before the
    /// file existed (their draws use `se` parameter by parameter).
    pub covariance: Option<(Vec<f64>, String)>,
    /// Prior ranges.
    pub ranges: Vec<(f64, f64)>,
    /// The inner step's targets file, if the calibration had one.
    pub baseline_targets: Option<PathBuf>,
}

/// Redraws of a multivariate draw outside the prior ranges before it is clamped.
const MAX_REDRAWS: usize = 1000;

/// Reads `covariance.csv` (`parameter,source,<keys>`), checking that it is the k×k symmetric
/// matrix of these parameters.
fn read_covariance(dir: &Path, keys: &[String]) -> Result<(Vec<f64>, String), ExperimentError> {
    let rows = csv(dir, "covariance.csv")?;
    let k = keys.len();
    let header_ok = rows
        .first()
        .is_some_and(|h| h.len() == k + 2 && h[2..].iter().zip(keys).all(|(a, b)| a == b));
    if !header_ok || rows.len() != k + 1 {
        return Err(bad(
            dir,
            format!("covariance.csv is not the {k}×{k} covariance of the parameters in calibration.json"),
        ));
    }
    let source = rows[1][1].clone();
    let mut cov = Vec::with_capacity(k * k);
    for (i, row) in rows.iter().skip(1).enumerate() {
        if row.len() != k + 2 || row[0] != keys[i] || row[1] != source {
            return Err(bad(
                dir,
                format!("covariance.csv: row {} is malformed", i + 2),
            ));
        }
        for v in &row[2..] {
            cov.push(number(dir, v)?);
        }
    }
    for i in 0..k {
        for j in 0..k {
            let (a, b) = (cov[i * k + j], cov[j * k + i]);
            if !a.is_finite() || (a - b).abs() > 1e-9 * (a.abs() + b.abs()) || (i == j && a < 0.0) {
                return Err(bad(
                    dir,
                    format!("covariance.csv is not a finite symmetric covariance matrix (entry {i},{j})"),
                ));
            }
        }
    }
    Ok((cov, source))
}

fn bad(dir: &Path, message: String) -> ExperimentError {
    ExperimentError::Invalid {
        path: dir.to_path_buf(),
        problems: vec![format!("--posterior: {message}")],
    }
}

fn csv(dir: &Path, name: &str) -> Result<Vec<Vec<String>>, ExperimentError> {
    let path = dir.join(name);
    let text = read_limited_string(&path, MAX_DATA_BYTES)
        .map_err(|e| bad(dir, format!("{}: cannot read: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect())
}

fn number(dir: &Path, s: &str) -> Result<f64, ExperimentError> {
    s.parse()
        .map_err(|_| bad(dir, format!("`{s}` is not a number")))
}

impl Posterior {
    /// Reads a finished calibration directory.
    pub fn load(dir: &Path) -> Result<Posterior, ExperimentError> {
        let meta_path = dir.join("calibration.json");
        let meta: serde_json::Value = read_limited_string(&meta_path, MAX_JSON_BYTES)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                bad(
                    dir,
                    format!(
                        "{} is missing or unreadable: not a calibration directory",
                        meta_path.display()
                    ),
                )
            })?;
        let method = meta["method"].as_str().unwrap_or_default().to_string();
        let params = meta["spec"]["parameter"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let keys: Vec<String> = params
            .iter()
            .map(|p| p["key"].as_str().unwrap_or_default().to_string())
            .collect();
        let ranges: Vec<(f64, f64)> = params
            .iter()
            .map(|p| {
                (
                    p["min"].as_f64().unwrap_or(f64::NEG_INFINITY),
                    p["max"].as_f64().unwrap_or(f64::INFINITY),
                )
            })
            .collect();
        let baseline_targets = meta["baseline_targets"].as_str().map(PathBuf::from);
        let k = keys.len();
        let mut covariance = None;
        let (points, weights, se) = match method.as_str() {
            "abc-smc" => {
                let rows = csv(dir, "posterior.csv")?;
                let mut points = Vec::new();
                let mut weights = Vec::new();
                for row in rows.iter().skip(1) {
                    if row.len() != k + 3 {
                        return Err(bad(
                            dir,
                            "posterior.csv: a row has the wrong number of fields".into(),
                        ));
                    }
                    weights.push(number(dir, &row[1])?);
                    points.push(
                        row[2..2 + k]
                            .iter()
                            .map(|s| number(dir, s))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                (points, weights, vec![f64::NAN; k])
            }
            "smm" => {
                let rows = csv(dir, "estimates.csv")?;
                let body: Vec<&Vec<String>> = rows.iter().skip(1).collect();
                if body.len() != k {
                    return Err(bad(dir, format!("estimates.csv has {} rows for {k} parameters (is the calibration finished?)", body.len())));
                }
                let theta = body
                    .iter()
                    .map(|r| number(dir, &r[1]))
                    .collect::<Result<Vec<_>, _>>()?;
                let se = body
                    .iter()
                    .map(|r| number(dir, &r[2]))
                    .collect::<Result<Vec<_>, _>>()?;
                if dir.join("covariance.csv").exists() {
                    covariance = Some(read_covariance(dir, &keys)?);
                }
                (vec![theta], vec![1.0], se)
            }
            other => {
                return Err(bad(
                    dir,
                    format!("unknown method {other:?} in calibration.json"),
                ))
            }
        };
        if points.is_empty() {
            return Err(bad(
                dir,
                "no posterior points (is the calibration finished?)".into(),
            ));
        }
        Ok(Posterior {
            dir: dir.to_path_buf(),
            keys,
            method,
            points,
            weights,
            se,
            covariance,
            ranges,
            baseline_targets,
        })
    }

    /// The draw of replicate `r` under `master_seed`.
    pub fn draw(&self, master_seed: u64, r: u32) -> Vec<f64> {
        let mut rng = Streams::new(master_seed).stream(r as usize, Phase::Generate, (1 << 20) + 7);
        let theta = if self.points.len() == 1 {
            self.points[0].clone()
        } else {
            let total: f64 = self.weights.iter().sum();
            let x = rng.uniform() * total;
            let mut acc = 0.0;
            let mut pick = self.points.len() - 1;
            for (i, w) in self.weights.iter().enumerate() {
                acc += w;
                if acc > x {
                    pick = i;
                    break;
                }
            }
            self.points[pick].clone()
        };
        if let Some((cov, _)) = &self.covariance {
            return self.draw_multivariate(&theta, cov, &mut rng);
        }
        theta
            .iter()
            .zip(&self.se)
            .zip(&self.ranges)
            .map(|((&t, &se), &(lo, hi))| {
                let z = rng.normal();
                if se.is_finite() {
                    (t + se * z).clamp(lo, hi)
                } else {
                    t
                }
            })
            .collect()
    }

    /// θ̂ + S z with S S = `cov`, redrawn (from the same stream, so still a function of the seed
    /// and r) while it falls outside the prior ranges — the normal truncated to the prior's
    /// support — and clamped after [`MAX_REDRAWS`] tries, which only a covariance far wider than
    /// the ranges reaches.
    fn draw_multivariate(
        &self,
        theta: &[f64],
        cov: &[f64],
        rng: &mut crate::model::rng::Rng,
    ) -> Vec<f64> {
        let k = theta.len();
        let root = psd_sqrt(cov, k);
        let mut x = theta.to_vec();
        for _ in 0..MAX_REDRAWS {
            let z: Vec<f64> = (0..k).map(|_| rng.normal()).collect();
            for i in 0..k {
                x[i] = theta[i] + (0..k).map(|j| root[i * k + j] * z[j]).sum::<f64>();
            }
            if x.iter()
                .zip(&self.ranges)
                .all(|(&v, &(lo, hi))| v >= lo && v <= hi)
            {
                return x;
            }
        }
        x.iter()
            .zip(&self.ranges)
            .map(|(&v, &(lo, hi))| v.clamp(lo, hi))
            .collect()
    }

    /// Replaces every arm's scenario by one per replicate at that replicate's draw (with the
    /// inner step re-solved there); returns the line the summary prints.
    pub fn apply(&self, exp: &mut Experiment) -> Result<String, ExperimentError> {
        let invalid = |problems: Vec<String>| ExperimentError::Invalid {
            path: exp.path.clone(),
            problems,
        };
        let targets = match &self.baseline_targets {
            Some(p) => Some(
                baseline::read_targets(p)
                    .map_err(|e| invalid(vec![format!("--posterior: {e}")]))?,
            ),
            None => None,
        };
        let (study, problems) = StudyBase::new(&exp.spec.base, &exp.path, &exp.spec.set);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let mut per_replicate: Vec<Vec<ValidScenario>> = Vec::new();
        // Adaptive precision may add replicates up to its maximum: each gets its draw up front.
        let replicates = exp
            .spec
            .precision
            .as_ref()
            .map_or(exp.spec.replicates, |p| {
                p.max_replicates.max(exp.spec.replicates)
            });
        for r in 0..replicates {
            let theta = self.draw(exp.spec.master_seed, r);
            let mut overrides: Vec<Override> = self
                .keys
                .iter()
                .zip(&theta)
                .map(|(k, &v)| Override {
                    path: k.clone(),
                    value: value_text(v),
                })
                .collect();
            if let Some(t) = &targets {
                let (s, _) = study.resolve(None, &overrides).map_err(invalid)?;
                let fit = baseline::calibrate(&s, t, &baseline::Options::default())
                    .map_err(|e| invalid(vec![format!("--posterior: inner step: {e}")]))?;
                for c in &fit.countries {
                    overrides.push(Override {
                        path: format!("country.{}.attraction", c.code),
                        value: value_text(c.attraction),
                    });
                }
            }
            let mut arms = Vec::new();
            for a in &exp.spec.arms {
                let (s, _) = study.resolve(Some(a), &overrides).map_err(invalid)?;
                arms.push(s);
            }
            per_replicate.push(arms);
        }
        exp.replicate_scenarios = Some(per_replicate);
        let note = format!(
            "parameter uncertainty: replicate r of every arm runs at draw r from the {} posterior in {} ({}){}",
            self.method,
            self.dir.display(),
            self.keys.join(", "),
            if targets.is_some() { ", the inner step re-solved at each draw" } else { "" }
        );
        // An SMM fit without standard errors gives the point estimate at every draw: say so,
        // rather than let the summary claim that its intervals carry parameter uncertainty.
        let fixed = self.points.len() == 1
            && self.covariance.is_none()
            && self.se.iter().all(|se| !se.is_finite());
        let note = if fixed {
            format!(
                "{note} (no parameter has a standard error, so every draw is the point estimate and \
                 the intervals hold Monte Carlo noise only)"
            )
        } else if let Some((_, source)) = &self.covariance {
            let what = if source == "sandwich" {
                "the estimate's sandwich covariance"
            } else {
                "the Laplace approximation with the prior (JᵀWJ is singular: directions the \
                 targets do not see keep the prior's spread)"
            };
            format!(
                "{note}; draws from a normal with {what}, truncated to the prior ranges: every \
                 effect and interval includes it"
            )
        } else {
            format!("{note}: every effect and interval includes it")
        };
        exp.posterior_note = Some(note.clone());
        Ok(note)
    }
}

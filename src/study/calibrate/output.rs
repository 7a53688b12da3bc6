//! The files of a finished calibration: estimates or posterior, fit, identifiability, the
//! calibrated scenario and a summary. Built in memory from the estimator's result, then written
//! atomically by the caller.

use super::abc::{weighted_moments, weighted_quantile, AbcResult};
use super::analysis::{self, Jacobian, ParameterId};
use super::ledger::{num, Objective};
use super::prior::PriorKind;
use super::smm::SmmResult;
use super::{CalibrateError, Calibration};
use crate::model::rng::{Phase, Streams};

/// z of a two-sided 90 % interval.
const Z90: f64 = 1.6448536269514722;

/// Files to write and the printed summary.
pub struct Files {
    /// (file name, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// summary.txt, also printed by the command.
    pub summary: String,
}

fn prior_name(k: PriorKind) -> &'static str {
    match k {
        PriorKind::Uniform => "uniform",
        PriorKind::LogUniform => "log-uniform",
        PriorKind::Normal => "normal",
    }
}

/// A predictive row of fit.csv.
struct FitRow {
    fitted: f64,
    median: f64,
    lo: f64,
    hi: f64,
}

fn fit_csv(cal: &Calibration, rows: &[FitRow]) -> (Vec<u8>, String) {
    let mut csv = String::from("target,role,observed,se,fitted,median,lo90,hi90,inside,z\n");
    let mut table = format!(
        "{:<28} {:>8} {:>12} {:>12} {:>12} {:>26}  \n",
        "target", "role", "observed", "se", "fitted", "90% predictive interval"
    );
    for (t, r) in cal.targets.iter().zip(rows) {
        let inside = (r.lo..=r.hi).contains(&t.value);
        let z = (r.fitted - t.value) / t.variance().sqrt();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            t.name,
            t.role.as_str(),
            num(t.value),
            num(t.se),
            num(r.fitted),
            num(r.median),
            num(r.lo),
            num(r.hi),
            inside,
            num(z)
        ));
        table.push_str(&format!(
            "{:<28} {:>8} {:>12.5} {:>12.5} {:>12.5}   [{:>10.5}, {:>10.5}]{}\n",
            t.name,
            t.role.as_str(),
            t.value,
            t.se,
            r.fitted,
            r.lo,
            r.hi,
            if inside { "" } else { "  OUTSIDE" }
        ));
    }
    (csv.into_bytes(), table)
}

fn identifiability_csv(
    cal: &Calibration,
    ids: &[ParameterId],
    rank: usize,
    condition: f64,
) -> (Vec<u8>, String) {
    let mut csv = String::from(
        "parameter,prior,prior_sd,posterior_sd,contraction,sensitivity,verdict,jacobian_rank,condition_number\n",
    );
    let mut table = format!(
        "{:<34} {:>12} {:>12} {:>11} {:>11}  verdict\n",
        "parameter", "prior sd", "post. sd", "contraction", "sensitivity"
    );
    for ((key, p), id) in cal.keys().iter().zip(&cal.priors).zip(ids) {
        csv.push_str(&format!(
            "{key},{},{},{},{},{},{},{rank},{}\n",
            prior_name(p.kind),
            num(id.prior_sd),
            num(id.posterior_sd),
            num(id.contraction),
            num(id.sensitivity),
            id.verdict(),
            num(condition)
        ));
        table.push_str(&format!(
            "{key:<34} {:>12.5} {:>12.5} {:>11.3} {:>11.3}  {}\n",
            id.prior_sd,
            id.posterior_sd,
            id.contraction,
            id.sensitivity,
            id.verdict()
        ));
    }
    let unidentified: Vec<String> = cal
        .keys()
        .into_iter()
        .zip(ids)
        .filter(|(_, id)| id.verdict() == "unidentified")
        .map(|(k, _)| k)
        .collect();
    table.push_str(&format!(
        "Jacobian of the fit targets (se per prior sd): rank {rank} of {}, condition number {}\n",
        ids.len(),
        if condition.is_finite() {
            format!("{condition:.3e}")
        } else {
            "inf".into()
        }
    ));
    if !unidentified.is_empty() {
        table.push_str(&format!(
            "NOT IDENTIFIED by the fit targets (posterior variance within {:.0} % of the prior's): {}\n",
            100.0 * (1.0 - analysis::UNIDENTIFIED_BELOW),
            unidentified.join(", ")
        ));
    }
    (csv.into_bytes(), table)
}

/// calibrated.toml: the base scenario at θ with the inner step's attractions, resolved.
fn calibrated_toml(
    cal: &Calibration,
    theta: &[f64],
    what: &str,
) -> Result<Vec<u8>, CalibrateError> {
    let resolved = cal
        .simulator
        .resolve(theta)
        .map_err(|message| CalibrateError::Point {
            theta: theta.to_vec(),
            message,
        })?;
    let (scenario, _) = cal
        .simulator
        .study
        .resolve(None, &resolved.overrides)
        .map_err(|e| CalibrateError::Point {
            theta: theta.to_vec(),
            message: e.join("; "),
        })?;
    let mut text = format!(
        "# Calibrated by `talentflow calibrate {}` ({}; talentflow {}, model v{}; calibration hash {}).\n\
         # The base scenario `{}` with its shared overrides, at the {what}:\n",
        cal.path.display(),
        cal.spec.method,
        crate::VERSION,
        crate::MODEL_VERSION,
        cal.hash,
        cal.spec.base
    );
    for o in &resolved.overrides {
        if !o.path.ends_with(".attraction") {
            text.push_str(&format!("#   {o}\n"));
        }
    }
    if cal.simulator.baseline.is_some() {
        text.push_str(&format!(
            "# and every country's attraction re-solved by the inner step (baseline Σ z² = {:.4}{}).\n",
            resolved.baseline_objective,
            if resolved.baseline_unmet.is_empty() {
                String::new()
            } else {
                format!("; not met: {}", resolved.baseline_unmet.join(", "))
            }
        ));
    }
    text.push_str("# Arms of the calibration file are not part of it.\n\n");
    text.push_str(&scenario.to_toml());
    Ok(text.into_bytes())
}

fn header(cal: &Calibration, evaluations: usize) -> String {
    format!(
        "calibration {} ({}): {} parameters, {} fit and {} holdout targets, {} replicates per θ{}; {evaluations} evaluations\n",
        cal.spec.name,
        cal.spec.method,
        cal.priors.len(),
        cal.targets.iter().filter(|t| t.role == super::spec::Role::Fit).count(),
        cal.targets.iter().filter(|t| t.role == super::spec::Role::Holdout).count(),
        cal.spec.replicates,
        if cal.simulator.baseline.is_some() {
            " (inner step: baseline calibration re-solved at every θ)"
        } else {
            ""
        }
    )
}

/// The predictive sd of target t at the estimate: the delta method through the Jacobian plus the
/// observation's own variance.
fn predictive_sd(jac: &Jacobian, cov: &[f64], t: usize, variance: f64) -> f64 {
    let k = jac.d[t].len();
    let mut v = variance;
    for i in 0..k {
        for j in 0..k {
            v += jac.d[t][i] * cov[i * k + j] * jac.d[t][j];
        }
    }
    v.max(0.0).sqrt()
}

/// The files of an SMM calibration.
pub fn smm_files(
    cal: &Calibration,
    obj: &Objective<'_>,
    r: &SmmResult,
) -> Result<Files, CalibrateError> {
    let keys = cal.keys();
    let mut est =
        String::from("parameter,estimate,se,lo90,hi90,prior_sd,distance,j_statistic,df,p_value\n");
    let mut table = format!(
        "{:<34} {:>12} {:>12} {:>26}\n",
        "parameter", "estimate", "se", "90% interval"
    );
    for (i, key) in keys.iter().enumerate() {
        let (lo, hi) = if r.se[i].is_finite() {
            (
                (r.theta[i] - Z90 * r.se[i]).max(cal.priors[i].min),
                (r.theta[i] + Z90 * r.se[i]).min(cal.priors[i].max),
            )
        } else {
            (cal.priors[i].min, cal.priors[i].max)
        };
        est.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            key,
            num(r.theta[i]),
            num(r.se[i]),
            num(lo),
            num(hi),
            num(r.identifiability[i].prior_sd),
            num(r.at.distance),
            num(r.j_statistic),
            r.df,
            r.p_value.map(num).unwrap_or_default()
        ));
        table.push_str(&format!(
            "{:<34} {:>12.6} {:>12.6}   [{:>10.5}, {:>10.5}]\n",
            key, r.theta[i], r.se[i], lo, hi
        ));
    }
    let cov = r
        .curvature
        .covariance
        .clone()
        .unwrap_or_else(|| r.curvature.laplace.clone());
    let rows: Vec<FitRow> = cal
        .targets
        .iter()
        .enumerate()
        .map(|(t, tg)| {
            let fitted = r.at.means[t];
            let sd = predictive_sd(&r.jacobian, &cov, t, tg.variance() * r.inflation);
            FitRow {
                fitted,
                median: fitted,
                lo: fitted - Z90 * sd,
                hi: fitted + Z90 * sd,
            }
        })
        .collect();
    let (fit, fit_table) = fit_csv(cal, &rows);
    let (ident, ident_table) = identifiability_csv(
        cal,
        &r.identifiability,
        r.curvature.rank,
        r.curvature.condition,
    );
    let mut summary = header(cal, obj.count());
    summary.push_str(&format!(
        "SMM: {} Nelder–Mead runs from the best of a Latin-hypercube start; best run {} ({} evaluations); distance {:.4}\n",
        r.restarts.len(),
        r.best,
        r.restarts[r.best].evaluations,
        r.at.distance
    ));
    summary.push_str(&table);
    summary.push_str(&match r.p_value {
        Some(p) => format!(
            "J-statistic {:.4} (distance / {:.3}), df {}, p = {:.4}\n",
            r.j_statistic, r.inflation, r.df, p
        ),
        None => format!(
            "J-statistic {:.4}; not over-identified (df {}): no test\n",
            r.j_statistic, r.df
        ),
    });
    if r.curvature.covariance.is_none() {
        summary.push_str("JᵀWJ is singular at the estimate: a parameter the fit targets do not move has no standard error (NaN); the others are conditional on it\n");
    }
    summary.push('\n');
    summary.push_str(&fit_table);
    summary.push('\n');
    summary.push_str(&ident_table);
    let calibrated = calibrated_toml(cal, &r.theta, "SMM estimate")?;
    let covariance = covariance_csv(&keys, &cov, r.curvature.covariance.is_some());
    Ok(Files {
        files: vec![
            ("estimates.csv".into(), est.into_bytes()),
            ("covariance.csv".into(), covariance),
            ("fit.csv".into(), fit),
            ("identifiability.csv".into(), ident),
            ("calibrated.toml".into(), calibrated),
            ("summary.txt".into(), summary.clone().into_bytes()),
        ],
        summary,
    })
}

/// `covariance.csv`: the covariance of the estimate that `fit.csv`'s intervals and
/// `experiment --posterior` use — `sandwich`, (JᵀWJ)⁻¹ × inflation, when JᵀWJ is invertible;
/// otherwise `laplace_prior`, the Laplace approximation with the prior's precision added, so a
/// direction the targets do not see keeps the prior's spread instead of having none.
fn covariance_csv(keys: &[String], cov: &[f64], sandwich: bool) -> Vec<u8> {
    let k = keys.len();
    let source = if sandwich {
        "sandwich"
    } else {
        "laplace_prior"
    };
    let mut out = format!("parameter,source,{}\n", keys.join(","));
    for (i, key) in keys.iter().enumerate() {
        let row: Vec<String> = (0..k).map(|j| num(cov[i * k + j])).collect();
        out.push_str(&format!("{key},{source},{}\n", row.join(",")));
    }
    out.into_bytes()
}

/// The posterior median of every parameter.
pub fn posterior_median(r: &AbcResult) -> Vec<f64> {
    let k = r.particles.first().map_or(0, |p| p.theta.len());
    (0..k)
        .map(|i| {
            let x: Vec<f64> = r.particles.iter().map(|p| p.theta[i]).collect();
            weighted_quantile(&x, &r.weights, 0.5)
        })
        .collect()
}

/// The files of an ABC-SMC calibration (evaluates the Jacobian at the posterior median).
pub fn abc_files(
    cal: &Calibration,
    obj: &mut Objective<'_>,
    r: &AbcResult,
    population: usize,
) -> Result<Files, CalibrateError> {
    let k = cal.priors.len();
    let keys = cal.keys();
    let median = posterior_median(r);
    let u: Vec<f64> = cal
        .priors
        .iter()
        .zip(&median)
        .map(|(p, &v)| p.unit(v))
        .collect();
    let jac = analysis::jacobian(obj, &u, 0.02)?;
    let points: Vec<Vec<f64>> = r.particles.iter().map(|p| p.theta.clone()).collect();
    let (_, cov) = weighted_moments(&points, &r.weights);
    let prior_sd: Vec<f64> = cal.priors.iter().map(|p| p.sd()).collect();
    let post_sd: Vec<f64> = (0..k).map(|i| cov[i * k + i].max(0.0).sqrt()).collect();
    let ids = analysis::identifiability(&jac, obj, &prior_sd, &post_sd);
    let curvature = analysis::curvature(&jac, obj, &prior_sd, r.inflation);

    let mut post = String::from("particle,weight");
    for key in &keys {
        post.push_str(&format!(",{key}"));
    }
    post.push_str(",distance\n");
    for (i, (p, w)) in r.particles.iter().zip(&r.weights).enumerate() {
        post.push_str(&format!("{i},{}", num(*w)));
        for v in &p.theta {
            post.push_str(&format!(",{}", num(*v)));
        }
        post.push_str(&format!(",{}\n", num(p.distance)));
    }
    let mut gens = String::from("generation,tolerance,ess,acceptance,evaluations\n");
    for g in &r.generations {
        gens.push_str(&format!(
            "{},{},{},{},{}\n",
            g.index,
            num(g.tolerance),
            num(g.ess),
            num(g.acceptance),
            g.evaluations
        ));
    }
    let mut table = format!(
        "{:<34} {:>12} {:>12} {:>26}\n",
        "parameter", "median", "sd", "90% credible interval"
    );
    for i in 0..k {
        let x: Vec<f64> = points.iter().map(|p| p[i]).collect();
        table.push_str(&format!(
            "{:<34} {:>12.6} {:>12.6}   [{:>10.5}, {:>10.5}]\n",
            keys[i],
            median[i],
            post_sd[i],
            weighted_quantile(&x, &r.weights, 0.05),
            weighted_quantile(&x, &r.weights, 0.95)
        ));
    }
    // Posterior predictive: each particle's simulated targets plus one observation error.
    let mut rng = Streams::new(cal.spec.master_seed).stream(0, Phase::InitStartups, (1 << 20) + 3);
    let rows: Vec<FitRow> = cal
        .targets
        .iter()
        .enumerate()
        .map(|(t, tg)| {
            let sd = (tg.variance() * r.inflation).sqrt();
            let draws: Vec<f64> = r
                .particles
                .iter()
                .map(|p| p.means[t] + sd * rng.normal())
                .collect();
            let fitted: f64 = r
                .particles
                .iter()
                .zip(&r.weights)
                .map(|(p, w)| p.means[t] * w)
                .sum();
            FitRow {
                fitted,
                median: weighted_quantile(&draws, &r.weights, 0.5),
                lo: weighted_quantile(&draws, &r.weights, 0.05),
                hi: weighted_quantile(&draws, &r.weights, 0.95),
            }
        })
        .collect();
    let (fit, fit_table) = fit_csv(cal, &rows);
    let (ident, ident_table) = identifiability_csv(cal, &ids, curvature.rank, curvature.condition);
    let mut summary = header(cal, obj.count());
    let last = r.generations.last();
    summary.push_str(&format!(
        "ABC-SMC: {} generations of {population} particles; last tolerance {}, ESS {:.1}{}\n",
        r.generations.len(),
        last.map_or("—".into(), |g| format!("{:.4}", g.tolerance)),
        last.map_or(0.0, |g| g.ess),
        if r.reached_posterior {
            ""
        } else {
            " (the tolerance did not reach 1: the weights are an ABC approximation wider than the posterior)"
        }
    ));
    summary.push_str(&table);
    summary.push('\n');
    summary.push_str(&fit_table);
    summary.push('\n');
    summary.push_str(&ident_table);
    let calibrated = calibrated_toml(cal, &median, "posterior median")?;
    Ok(Files {
        files: vec![
            ("posterior.csv".into(), post.into_bytes()),
            ("generations.csv".into(), gens.into_bytes()),
            ("fit.csv".into(), fit),
            ("identifiability.csv".into(), ident),
            ("calibrated.toml".into(), calibrated),
            ("summary.txt".into(), summary.clone().into_bytes()),
        ],
        summary,
    })
}

//! What both estimators report about a fit: the common-random-number Jacobian of the targets
//! at a point, the curvature covariance, the J-statistic, and identifiability (prior vs
//! posterior spread, the Jacobian's rank and condition number).

use super::ledger::Objective;
use super::linalg::{spd_inverse, symmetric_eigen};
use super::spec::Role;
use super::CalibrateError;

/// A parameter whose variance the targets reduce by less than this share (1 − posterior /
/// prior variance) is reported as not identified by them.
pub const UNIDENTIFIED_BELOW: f64 = 0.1;
/// Between this and [`UNIDENTIFIED_BELOW`] a parameter is weakly identified.
pub const WEAK_BELOW: f64 = 0.5;
/// Singular values below this share of the largest count as zero for the rank.
pub const RANK_TOL: f64 = 1e-6;

/// The Jacobian of every target with respect to θ at a point (natural units), from central
/// differences in the unit cube under common random numbers (one-sided at the bounds).
#[derive(Clone, Debug, PartialEq)]
pub struct Jacobian {
    /// `[target][parameter]`.
    pub d: Vec<Vec<f64>>,
}

/// Evaluates the 2k points around `u` (stage `jacobian`) and differences them.
pub fn jacobian(obj: &mut Objective<'_>, u: &[f64], h: f64) -> Result<Jacobian, CalibrateError> {
    let k = u.len();
    let mut points = Vec::with_capacity(2 * k);
    for i in 0..k {
        for sign in [1.0, -1.0] {
            let mut v = u.to_vec();
            v[i] = (u[i] + sign * h).clamp(0.0, 1.0);
            points.push(obj.theta(&v));
        }
    }
    let evals = obj.eval("jacobian", &points)?;
    let n = obj.targets.len();
    let mut d = vec![vec![0.0; k]; n];
    for i in 0..k {
        let (plus, minus) = (&evals[2 * i], &evals[2 * i + 1]);
        let dtheta = plus.theta[i] - minus.theta[i];
        for (t, row) in d.iter_mut().enumerate() {
            row[i] = if dtheta != 0.0 {
                (plus.means[t] - minus.means[t]) / dtheta
            } else {
                0.0
            };
        }
    }
    Ok(Jacobian { d })
}

/// One parameter's identifiability.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterId {
    /// Prior sd.
    pub prior_sd: f64,
    /// Posterior sd (SMM: the Laplace approximation with the prior, N(θ̂, (JᵀWJ/c + P⁻¹)⁻¹);
    /// ABC: the weighted sd of the particles).
    pub posterior_sd: f64,
    /// 1 − posterior variance / prior variance.
    pub contraction: f64,
    /// Norm of the parameter's Jacobian column in standard errors per prior sd.
    pub sensitivity: f64,
}

impl ParameterId {
    /// `identified`, `weak` or `unidentified`.
    pub fn verdict(&self) -> &'static str {
        if self.contraction < UNIDENTIFIED_BELOW {
            "unidentified"
        } else if self.contraction < WEAK_BELOW {
            "weak"
        } else {
            "identified"
        }
    }
}

/// The curvature analysis at a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Curvature {
    /// (JᵀWJ)⁻¹ × inflation over the fit targets, when JᵀWJ is invertible.
    pub covariance: Option<Vec<f64>>,
    /// The Laplace posterior covariance with the prior's precision added (always defined).
    pub laplace: Vec<f64>,
    /// Rank of the scaled Jacobian W^½ J D (D = prior sds).
    pub rank: usize,
    /// Its condition number (largest / smallest singular value; inf when rank-deficient).
    pub condition: f64,
    /// The scaled Jacobian's singular values, ascending.
    pub singular_values: Vec<f64>,
}

/// Curvature of the fit targets at the point whose Jacobian is `jac`; `inflation` multiplies
/// the covariance (1 + 1/R for a stochastic model).
pub fn curvature(
    jac: &Jacobian,
    obj: &Objective<'_>,
    prior_sd: &[f64],
    inflation: f64,
) -> Curvature {
    let k = prior_sd.len();
    let fit: Vec<usize> = (0..obj.targets.len())
        .filter(|&t| obj.targets[t].role == Role::Fit)
        .collect();
    let mut h = vec![0.0; k * k];
    for &t in &fit {
        let w = 1.0 / obj.targets[t].variance();
        for i in 0..k {
            for j in 0..k {
                h[i * k + j] += jac.d[t][i] * w * jac.d[t][j];
            }
        }
    }
    let covariance = spd_inverse(&h, k, 1e-12).map(|c| c.iter().map(|x| x * inflation).collect());
    let mut precision: Vec<f64> = h.iter().map(|x| x / inflation).collect();
    for i in 0..k {
        precision[i * k + i] += 1.0 / (prior_sd[i] * prior_sd[i]).max(1e-300);
    }
    let laplace = spd_inverse(&precision, k, 1e-300).unwrap_or_else(|| {
        let mut d = vec![0.0; k * k];
        for i in 0..k {
            d[i * k + i] = prior_sd[i] * prior_sd[i];
        }
        d
    });
    let mut scaled = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            scaled[i * k + j] = h[i * k + j] * prior_sd[i] * prior_sd[j];
        }
    }
    let (values, _) = symmetric_eigen(&scaled, k);
    let singular_values: Vec<f64> = values.iter().map(|l| l.max(0.0).sqrt()).collect();
    let largest = singular_values.last().copied().unwrap_or(0.0);
    let rank = singular_values
        .iter()
        .filter(|&&s| largest > 0.0 && s > RANK_TOL * largest)
        .count();
    let smallest = singular_values.first().copied().unwrap_or(0.0);
    let condition = if rank == k && smallest > 0.0 {
        largest / smallest
    } else {
        f64::INFINITY
    };
    Curvature {
        covariance,
        laplace,
        rank,
        condition,
        singular_values,
    }
}

/// Standard errors from the curvature over the parameters the fit targets move at all (a
/// Jacobian column shorter than [`RANK_TOL`] × the longest, in se per prior sd, is left out:
/// its se is NaN and the others are conditional on it); NaN everywhere when even that is
/// singular.
pub fn standard_errors(
    jac: &Jacobian,
    obj: &Objective<'_>,
    ids: &[ParameterId],
    inflation: f64,
) -> Vec<f64> {
    let longest = ids.iter().map(|i| i.sensitivity).fold(0.0f64, f64::max);
    let keep: Vec<usize> = (0..ids.len())
        .filter(|&i| longest > 0.0 && ids[i].sensitivity > RANK_TOL * longest)
        .collect();
    let m = keep.len();
    let mut h = vec![0.0; m * m];
    for (t, tg) in obj.targets.iter().enumerate() {
        if tg.role != Role::Fit {
            continue;
        }
        let w = 1.0 / tg.variance();
        for (a, &i) in keep.iter().enumerate() {
            for (b, &j) in keep.iter().enumerate() {
                h[a * m + b] += jac.d[t][i] * w * jac.d[t][j];
            }
        }
    }
    let mut se = vec![f64::NAN; ids.len()];
    if let Some(c) = spd_inverse(&h, m, 1e-12) {
        for (a, &i) in keep.iter().enumerate() {
            se[i] = (c[a * m + a] * inflation).max(0.0).sqrt();
        }
    }
    se
}

/// Per-parameter identifiability from posterior sds.
pub fn identifiability(
    jac: &Jacobian,
    obj: &Objective<'_>,
    prior_sd: &[f64],
    posterior_sd: &[f64],
) -> Vec<ParameterId> {
    (0..prior_sd.len())
        .map(|i| {
            let sensitivity = obj
                .targets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.role == Role::Fit)
                .map(|(t, tg)| {
                    let z = jac.d[t][i] * prior_sd[i] / tg.variance().sqrt();
                    z * z
                })
                .sum::<f64>()
                .sqrt();
            let ratio = (posterior_sd[i] / prior_sd[i]).powi(2);
            ParameterId {
                prior_sd: prior_sd[i],
                posterior_sd: posterior_sd[i],
                contraction: (1.0 - ratio).max(0.0),
                sensitivity,
            }
        })
        .collect()
}

//! ABC-SMC (population Monte Carlo in the style of Beaumont et al. 2009, with the soft
//! acceptance kernel of Wilkinson 2013 and Del Moral et al.'s adaptive tolerance).
//!
//! Generation 0 draws `population` particles from the prior. Generation t proposes each
//! particle by picking one of generation t − 1 by weight and perturbing it with a Gaussian of
//! twice the weighted covariance (Beaumont's kernel), redrawing proposals outside the prior's
//! support. A particle's weight is
//!
//! ```text
//! w ∝ π(θ) · exp(−d(θ) / (2 c τ_t)) / Σ_j w_j N(θ; θ_j, 2Σ)
//! ```
//!
//! with d the standardised squared distance over the fit targets, c the simulation-noise
//! inflation (1 + 1/R for a stochastic model) and τ_t the tolerance: τ_t = max(1, q_α(d_{t−1}) /
//! n_fit), the α-quantile of the previous generation's distances per fit target (never above
//! τ_{t−1}). At τ = 1 the
//! weighted particles are a sample of the posterior under Gaussian observation errors of
//! variance c (se² + discrepancy) — exactly, not only as a tolerance goes to zero, which is what
//! makes the analytic check of the normal mean possible. The run stops after a generation at
//! τ = 1 that followed one at τ = 1 (the proposal has adapted to the posterior), after
//! `generations`, or before a generation would exceed `budget` evaluations.

use super::ledger::{Evaluated, Objective};
use super::linalg::symmetric_eigen;
use super::spec::{AbcSpec, Role};
use super::CalibrateError;
use crate::model::rng::{Phase, Rng, Streams};

/// One generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// Index.
    pub index: usize,
    /// Tolerance τ (∞ for generation 0).
    pub tolerance: f64,
    /// Effective sample size of the weights.
    pub ess: f64,
    /// Mean acceptance kernel exp(−d / 2cτ) of the particles (1 for generation 0): how much of
    /// the proposal survives the tolerance.
    pub acceptance: f64,
    /// Evaluations used so far.
    pub evaluations: usize,
}

/// The ABC-SMC result: the last generation's weighted particles.
#[derive(Clone, Debug, PartialEq)]
pub struct AbcResult {
    /// Particles (their evaluations).
    pub particles: Vec<Evaluated>,
    /// Normalised weights.
    pub weights: Vec<f64>,
    /// Generation traces.
    pub generations: Vec<Generation>,
    /// Whether the last generation ran at τ = 1 (the weights target the posterior).
    pub reached_posterior: bool,
    /// The inflation c.
    pub inflation: f64,
}

/// Weighted mean and covariance (row-major k × k) of points.
pub fn weighted_moments(points: &[Vec<f64>], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let k = points.first().map_or(0, Vec::len);
    let total: f64 = w.iter().sum();
    let mut mean = vec![0.0; k];
    for (p, &wi) in points.iter().zip(w) {
        for j in 0..k {
            mean[j] += wi * p[j] / total;
        }
    }
    let mut cov = vec![0.0; k * k];
    for (p, &wi) in points.iter().zip(w) {
        for a in 0..k {
            for b in 0..k {
                cov[a * k + b] += wi * (p[a] - mean[a]) * (p[b] - mean[b]) / total;
            }
        }
    }
    (mean, cov)
}

/// The weighted `q`-quantile of `x` (the smallest x whose cumulative weight reaches q).
pub fn weighted_quantile(x: &[f64], w: &[f64], q: f64) -> f64 {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for &i in &order {
        acc += w[i] / total;
        if acc >= q - 1e-12 {
            return x[i];
        }
    }
    order.last().map_or(f64::NAN, |&i| x[i])
}

fn pick(w_cum: &[f64], rng: &mut Rng) -> usize {
    let total = *w_cum.last().unwrap_or(&1.0);
    let x = rng.uniform() * total;
    w_cum.partition_point(|&c| c <= x).min(w_cum.len() - 1)
}

/// Runs ABC-SMC on the objective.
pub fn run(
    obj: &mut Objective<'_>,
    spec: &AbcSpec,
    master_seed: u64,
) -> Result<AbcResult, CalibrateError> {
    let k = obj.priors.len();
    let n = spec.population;
    let n_fit = obj
        .targets
        .iter()
        .filter(|t| t.role == Role::Fit)
        .count()
        .max(1) as f64;
    let inflation = if obj.sim.stochastic() {
        1.0 + 1.0 / obj.sim.replicates() as f64
    } else {
        1.0
    };
    let streams = Streams::new(master_seed);
    let mut rng = streams.stream(0, Phase::InitStartups, (1 << 20) + 2);
    let thetas: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            let u: Vec<f64> = (0..k).map(|_| rng.uniform()).collect();
            obj.theta(&u)
        })
        .collect();
    let mut particles = obj.eval("gen0", &thetas)?;
    let mut weights = vec![1.0 / n as f64; n];
    let mut generations = vec![Generation {
        index: 0,
        tolerance: f64::INFINITY,
        ess: n as f64,
        acceptance: 1.0,
        evaluations: obj.count(),
    }];
    let mut previous_tau = f64::INFINITY;
    for g in 1..spec.generations {
        if previous_tau == 1.0
            && generations.len() >= 2
            && generations[generations.len() - 2].tolerance == 1.0
        {
            break;
        }
        if obj.count() + n > spec.budget {
            break;
        }
        let d: Vec<f64> = particles.iter().map(|p| p.distance).collect();
        let q = weighted_quantile(&d, &vec![1.0; n], spec.alpha);
        // Never above the previous tolerance: the schedule only tightens.
        let tau = if q.is_finite() {
            (q / n_fit).max(1.0).min(previous_tau)
        } else {
            previous_tau
        };
        let points: Vec<Vec<f64>> = particles.iter().map(|p| p.theta.clone()).collect();
        let (_, cov) = weighted_moments(&points, &weights);
        let kernel: Vec<f64> = cov.iter().map(|c| 2.0 * c).collect();
        let (values, vectors) = symmetric_eigen(&kernel, k);
        // Factor L = V Λ^½ (eigenvalues floored, so a collapsed direction still moves a little).
        let floor = obj
            .priors
            .iter()
            .map(|p| (1e-6 * (p.max - p.min)).powi(2))
            .fold(f64::INFINITY, f64::min);
        let lam: Vec<f64> = values.iter().map(|&l| l.max(floor)).collect();
        let chol = |z: &[f64]| -> Vec<f64> {
            (0..k)
                .map(|r| {
                    (0..k)
                        .map(|e| vectors[r * k + e] * lam[e].sqrt() * z[e])
                        .sum()
                })
                .collect()
        };
        let mut cum = Vec::with_capacity(n);
        let mut acc = 0.0;
        for w in &weights {
            acc += w;
            cum.push(acc);
        }
        let mut rng = streams.stream(g, Phase::InitStartups, (1 << 20) + 2);
        let mut proposals = Vec::with_capacity(n);
        for _ in 0..n {
            let mut theta = Vec::new();
            for _attempt in 0..1000 {
                let j = pick(&cum, &mut rng);
                let z: Vec<f64> = (0..k).map(|_| rng.normal()).collect();
                let step = chol(&z);
                theta = points[j].iter().zip(&step).map(|(a, b)| a + b).collect();
                if obj
                    .priors
                    .iter()
                    .zip(&theta)
                    .all(|(p, v)| (p.min..=p.max).contains(v))
                {
                    break;
                }
            }
            for (v, p) in theta.iter_mut().zip(obj.priors) {
                *v = v.clamp(p.min, p.max);
            }
            proposals.push(theta);
        }
        let evals = obj.eval(&format!("gen{g}"), &proposals)?;
        // Kernel density of the proposal mixture: Σ_j w_j N(θ; θ_j, 2Σ), with the quadratic
        // form through the eigen-decomposition.
        let log_det: f64 = lam.iter().map(|l| libm::log(*l)).sum();
        let mixture = |theta: &[f64]| -> f64 {
            points
                .iter()
                .zip(&weights)
                .map(|(p, &w)| {
                    let diff: Vec<f64> = theta.iter().zip(p).map(|(a, b)| a - b).collect();
                    let q: f64 = (0..k)
                        .map(|e| {
                            let proj: f64 = (0..k).map(|r| vectors[r * k + e] * diff[r]).sum();
                            proj * proj / lam[e]
                        })
                        .sum();
                    w * libm::exp(-0.5 * q - 0.5 * log_det)
                })
                .sum()
        };
        let mut new_w = Vec::with_capacity(n);
        let mut acceptance = 0.0;
        for e in &evals {
            let prior: f64 = obj
                .priors
                .iter()
                .zip(&e.theta)
                .map(|(p, &v)| p.density(v))
                .product();
            let accept = if tau.is_finite() {
                libm::exp(-e.distance / (2.0 * inflation * tau))
            } else {
                1.0
            };
            acceptance += accept / n as f64;
            let m = mixture(&e.theta);
            new_w.push(if m > 0.0 && accept.is_finite() {
                prior * accept / m
            } else {
                0.0
            });
        }
        let total: f64 = new_w.iter().sum();
        if total.is_nan() || total <= 0.0 {
            return Err(CalibrateError::Results(format!(
                "ABC-SMC generation {g}: every particle has weight 0 (tolerance {tau}); the \
                 targets are unreachable within the priors"
            )));
        }
        for w in &mut new_w {
            *w /= total;
        }
        let ess = 1.0 / new_w.iter().map(|w| w * w).sum::<f64>();
        particles = evals;
        weights = new_w;
        previous_tau = tau;
        generations.push(Generation {
            index: g,
            tolerance: tau,
            ess,
            acceptance,
            evaluations: obj.count(),
        });
    }
    let reached_posterior = previous_tau == 1.0;
    Ok(AbcResult {
        particles,
        weights,
        generations,
        reached_posterior,
        inflation,
    })
}

//! The simulated method of moments: minimise the standardised squared distance over the fit
//! targets with Nelder–Mead in the unit cube (the priors' quantile transform maps it onto the
//! parameter ranges), restarted from the best points of a seeded Latin hypercube; standard
//! errors from the curvature at the estimate; a J-statistic when over-identified.

use super::analysis::{self, Curvature, Jacobian, ParameterId};
use super::ledger::{Evaluated, Objective};
use super::linalg::chi2_sf;
use super::spec::{Role, SmmSpec};
use super::CalibrateError;
use crate::model::rng::{Phase, Rng, Streams};

/// One Nelder–Mead run.
#[derive(Clone, Debug, PartialEq)]
pub struct RestartResult {
    /// Its starting point (unit cube).
    pub start: Vec<f64>,
    /// Its best point (unit cube).
    pub best_u: Vec<f64>,
    /// Its best evaluation.
    pub best: Evaluated,
    /// Evaluations it used.
    pub evaluations: usize,
}

/// The SMM estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct SmmResult {
    /// Each restart.
    pub restarts: Vec<RestartResult>,
    /// Index of the best restart.
    pub best: usize,
    /// The estimate (unit cube).
    pub u: Vec<f64>,
    /// The estimate.
    pub theta: Vec<f64>,
    /// Its evaluation.
    pub at: Evaluated,
    /// Jacobian of every target at the estimate.
    pub jacobian: Jacobian,
    /// Curvature there.
    pub curvature: Curvature,
    /// Standard errors (NaN for a parameter the targets do not move, and everywhere when JᵀWJ
    /// is singular even without those).
    pub se: Vec<f64>,
    /// Identifiability per parameter.
    pub identifiability: Vec<ParameterId>,
    /// The J-statistic: the distance at the estimate divided by the simulation-noise inflation.
    pub j_statistic: f64,
    /// Degrees of freedom: fit targets − the Jacobian's rank (≤ 0: not over-identified).
    pub df: i64,
    /// P(χ²_df > J) when df > 0.
    pub p_value: Option<f64>,
    /// The inflation 1 + 1/R (1 for a deterministic model).
    pub inflation: f64,
}

/// A Latin hypercube of `n` points in `[0, 1]^k` from the stream.
pub fn latin_hypercube(n: usize, k: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; k]; n];
    for j in 0..k {
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let s = ((rng.uniform() * (i + 1) as f64) as usize).min(i);
            perm.swap(i, s);
        }
        for (i, p) in points.iter_mut().enumerate() {
            p[j] = (perm[i] as f64 + rng.uniform()) / n as f64;
        }
    }
    points
}

fn clamp_unit(u: &mut [f64]) {
    for x in u {
        *x = x.clamp(0.0, 1.0);
    }
}

/// Nelder–Mead (α = 1, γ = 2, ρ = ½, σ = ½) in the unit cube, points clamped to it.
fn nelder_mead(
    obj: &mut Objective<'_>,
    start: &[f64],
    stage: &str,
    spec: &SmmSpec,
) -> Result<RestartResult, CalibrateError> {
    let k = start.len();
    let mut simplex: Vec<Vec<f64>> = vec![start.to_vec()];
    for i in 0..k {
        let mut v = start.to_vec();
        v[i] = if start[i] + 0.1 <= 1.0 {
            start[i] + 0.1
        } else {
            start[i] - 0.1
        };
        simplex.push(v);
    }
    let thetas: Vec<Vec<f64>> = simplex.iter().map(|u| obj.theta(u)).collect();
    let mut values: Vec<Evaluated> = obj.eval(stage, &thetas)?;
    let mut used = values.len();
    let diameter_tol = spec.tolerance.sqrt().max(1e-9);
    loop {
        let mut order: Vec<usize> = (0..=k).collect();
        order.sort_by(|&a, &b| {
            values[a]
                .distance
                .total_cmp(&values[b].distance)
                .then(a.cmp(&b))
        });
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i].clone()).collect();
        let (best, worst) = (values[0].distance, values[k].distance);
        let diameter = simplex[1..]
            .iter()
            .map(|v| {
                v.iter()
                    .zip(&simplex[0])
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            })
            .fold(0.0f64, f64::max);
        let flat = (worst - best).abs() <= spec.tolerance * (1.0 + best.abs());
        if used >= spec.max_evaluations || diameter <= 1e-9 || (flat && diameter <= diameter_tol) {
            break;
        }
        let centroid: Vec<f64> = (0..k)
            .map(|j| simplex[..k].iter().map(|v| v[j]).sum::<f64>() / k as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            let mut v: Vec<f64> = (0..k)
                .map(|j| centroid[j] + t * (simplex[k][j] - centroid[j]))
                .collect();
            clamp_unit(&mut v);
            v
        };
        let reflected = along(-1.0);
        let fr = obj.eval(stage, &[obj.theta(&reflected)])?.remove(0);
        used += 1;
        if fr.distance < values[0].distance {
            let expanded = along(-2.0);
            let fe = obj.eval(stage, &[obj.theta(&expanded)])?.remove(0);
            used += 1;
            if fe.distance < fr.distance {
                simplex[k] = expanded;
                values[k] = fe;
            } else {
                simplex[k] = reflected;
                values[k] = fr;
            }
            continue;
        }
        if fr.distance < values[k - 1].distance {
            simplex[k] = reflected;
            values[k] = fr;
            continue;
        }
        let (contracted, outside) = if fr.distance < values[k].distance {
            (along(-0.5), true)
        } else {
            (along(0.5), false)
        };
        let fc = obj.eval(stage, &[obj.theta(&contracted)])?.remove(0);
        used += 1;
        let better = if outside {
            fc.distance <= fr.distance
        } else {
            fc.distance < values[k].distance
        };
        if better {
            simplex[k] = contracted;
            values[k] = fc;
            continue;
        }
        // Shrink towards the best point; the k new points are one batch.
        let shrunk: Vec<Vec<f64>> = simplex[1..]
            .iter()
            .map(|v| {
                v.iter()
                    .zip(&simplex[0])
                    .map(|(a, b)| b + 0.5 * (a - b))
                    .collect()
            })
            .collect();
        let thetas: Vec<Vec<f64>> = shrunk.iter().map(|u| obj.theta(u)).collect();
        let evals = obj.eval(stage, &thetas)?;
        used += evals.len();
        for (i, (u, e)) in shrunk.into_iter().zip(evals).enumerate() {
            simplex[i + 1] = u;
            values[i + 1] = e;
        }
    }
    Ok(RestartResult {
        start: start.to_vec(),
        best_u: simplex[0].clone(),
        best: values[0].clone(),
        evaluations: used,
    })
}

/// Runs SMM: a Latin-hypercube start, Nelder–Mead from its best points, then the Jacobian and
/// the curvature at the best estimate.
pub fn run(
    obj: &mut Objective<'_>,
    spec: &SmmSpec,
    master_seed: u64,
) -> Result<SmmResult, CalibrateError> {
    let k = obj.priors.len();
    let n0 = spec
        .start_points
        .unwrap_or((4 * k).max(10))
        .max(spec.restarts);
    let mut rng = Streams::new(master_seed).stream(0, Phase::InitStartups, (1 << 20) + 1);
    let start_u = latin_hypercube(n0, k, &mut rng);
    let thetas: Vec<Vec<f64>> = start_u.iter().map(|u| obj.theta(u)).collect();
    let start = obj.eval("start", &thetas)?;
    let mut order: Vec<usize> = (0..n0).collect();
    order.sort_by(|&a, &b| {
        start[a]
            .distance
            .total_cmp(&start[b].distance)
            .then(a.cmp(&b))
    });
    let mut restarts = Vec::new();
    for (r, &i) in order.iter().take(spec.restarts).enumerate() {
        restarts.push(nelder_mead(obj, &start_u[i], &format!("nm{r}"), spec)?);
    }
    let best = (0..restarts.len())
        .min_by(|&a, &b| {
            restarts[a]
                .best
                .distance
                .total_cmp(&restarts[b].best.distance)
                .then(a.cmp(&b))
        })
        .unwrap_or(0);
    let u = restarts[best].best_u.clone();
    let at = restarts[best].best.clone();
    let jacobian = analysis::jacobian(obj, &u, spec.fd_step)?;
    let reps = obj.sim.replicates() as f64;
    let inflation = if obj.sim.stochastic() {
        1.0 + 1.0 / reps
    } else {
        1.0
    };
    let prior_sd: Vec<f64> = obj.priors.iter().map(|p| p.sd()).collect();
    let curvature = analysis::curvature(&jacobian, obj, &prior_sd, inflation);
    let posterior_sd: Vec<f64> = (0..k)
        .map(|i| curvature.laplace[i * k + i].max(0.0).sqrt())
        .collect();
    let identifiability = analysis::identifiability(&jacobian, obj, &prior_sd, &posterior_sd);
    let se = analysis::standard_errors(&jacobian, obj, &identifiability, inflation);
    let n_fit = obj.targets.iter().filter(|t| t.role == Role::Fit).count() as i64;
    // The parameters the targets do not move use up no moment.
    let df = n_fit - curvature.rank as i64;
    let j_statistic = at.distance / inflation;
    let p_value = (df > 0).then(|| chi2_sf(j_statistic, df as f64));
    Ok(SmmResult {
        restarts,
        best,
        theta: at.theta.clone(),
        u,
        at,
        jacobian,
        curvature,
        se,
        identifiability,
        j_statistic,
        df,
        p_value,
        inflation,
    })
}

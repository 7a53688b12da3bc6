//! Experimental designs over the unit cube: full grid, Latin hypercube, Morris trajectories and
//! Saltelli's radial sampling for Sobol indices. Points are rows of `[0, 1]^k`; the sweep maps
//! them to parameter values. All randomness comes from one ChaCha8 stream keyed by the master
//! seed, so a design is a pure function of the sweep file.

use serde::{Deserialize, Serialize};

use crate::model::rng::Rng;

/// Which design, with its size parameters (the `[design]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Design {
    /// Full factorial grid; each parameter takes `levels` evenly spaced values (or its own `values`).
    Grid {
        /// Levels per parameter unless the parameter lists its own.
        #[serde(default = "three")]
        levels: usize,
    },
    /// Latin hypercube of `n` points.
    Lhs {
        /// Points.
        n: usize,
    },
    /// Morris elementary effects: `trajectories` one-at-a-time paths on a `levels`-level grid.
    Morris {
        /// Trajectories (r).
        trajectories: usize,
        /// Grid levels (p, even).
        #[serde(default = "four")]
        levels: usize,
    },
    /// Saltelli's scheme for first-order and total Sobol indices: `n` base samples.
    Saltelli {
        /// Base samples (N).
        n: usize,
        /// Also the matrices needed for second-order indices.
        #[serde(default)]
        second_order: bool,
    },
}

fn three() -> usize {
    3
}

fn four() -> usize {
    4
}

/// Largest number of runs (design points × replicates) accepted.
pub const MAX_POINTS: usize = crate::study::base::MAX_RUNS;
/// Largest number of design coordinates (points × parameters) accepted: each process of a sweep
/// holds the design, and its parameter values, in memory (8 bytes each).
pub const MAX_DESIGN_VALUES: usize = 50_000_000;

impl Design {
    /// Number of points for `k` parameters (grid: the product of per-parameter levels).
    pub fn points(&self, levels_per_param: &[usize]) -> usize {
        let k = levels_per_param.len();
        match *self {
            Design::Grid { .. } => levels_per_param
                .iter()
                .try_fold(1usize, |a, &l| a.checked_mul(l))
                .unwrap_or(usize::MAX),
            Design::Lhs { n } => n,
            Design::Morris { trajectories, .. } => trajectories.saturating_mul(k + 1),
            Design::Saltelli { n, second_order } => {
                n.saturating_mul(if second_order { 2 * k + 2 } else { k + 2 })
            }
        }
    }

    /// Checks the size parameters; returns problems.
    pub fn check(&self, k: usize) -> Vec<String> {
        let mut p = Vec::new();
        match *self {
            Design::Grid { levels } if levels < 1 => {
                p.push("design.levels must be at least 1".into())
            }
            Design::Lhs { n } if n < 1 => p.push("design.n must be at least 1".into()),
            Design::Morris {
                trajectories,
                levels,
            } => {
                if trajectories < 2 {
                    p.push(
                        "design.trajectories must be at least 2 (σ needs two elementary effects)"
                            .into(),
                    );
                }
                if levels < 2 || levels % 2 != 0 {
                    p.push(format!(
                        "design.levels must be an even number ≥ 2 for Morris, found {levels}"
                    ));
                }
            }
            Design::Saltelli { n, .. } if n < 2 => p.push("design.n must be at least 2".into()),
            _ => {}
        }
        if k == 0 {
            p.push("no parameters: add at least one [[parameter]]".into());
        }
        p
    }

    /// Generates the design's points in `[0, 1]^k` (grid: level indices mapped to `[0, 1]`).
    pub fn generate(&self, levels_per_param: &[usize], rng: &mut Rng) -> Vec<Vec<f64>> {
        let k = levels_per_param.len();
        match *self {
            Design::Grid { .. } => grid(levels_per_param),
            Design::Lhs { n } => lhs(n, k, rng),
            Design::Morris {
                trajectories,
                levels,
            } => morris(trajectories, levels, k, rng),
            Design::Saltelli { n, second_order } => saltelli(n, k, second_order, rng),
        }
    }
}

fn grid(levels: &[usize]) -> Vec<Vec<f64>> {
    let total: usize = levels.iter().product();
    (0..total)
        .map(|mut i| {
            // Last parameter varies fastest.
            let mut x = vec![0.0; levels.len()];
            for j in (0..levels.len()).rev() {
                let l = levels[j];
                x[j] = if l > 1 {
                    (i % l) as f64 / (l - 1) as f64
                } else {
                    0.5
                };
                i /= l;
            }
            x
        })
        .collect()
}

fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = ((rng.uniform() * (i + 1) as f64) as usize).min(i);
        p.swap(i, j);
    }
    p
}

fn lhs(n: usize, k: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut pts = vec![vec![0.0; k]; n];
    for j in 0..k {
        let perm = permutation(n, rng);
        for (i, row) in pts.iter_mut().enumerate() {
            row[j] = (perm[i] as f64 + rng.uniform()) / n as f64;
        }
    }
    pts
}

/// Morris (1991) trajectories on the grid {0, 1/(p−1), …, 1} with jump Δ = p / (2(p−1)): each
/// trajectory starts at a random grid point, then moves one parameter at a time (random order,
/// random direction) by ±Δ, giving k + 1 points.
fn morris(r: usize, p: usize, k: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let step = 1.0 / (p - 1) as f64;
    let jump_levels = p / 2;
    let delta = jump_levels as f64 * step;
    let mut pts = Vec::with_capacity(r * (k + 1));
    for _ in 0..r {
        // Start low enough that +Δ stays in range; a downward move starts Δ higher.
        let base: Vec<usize> = (0..k)
            .map(|_| ((rng.uniform() * (p - jump_levels) as f64) as usize).min(p - jump_levels - 1))
            .collect();
        let up: Vec<bool> = (0..k).map(|_| rng.uniform() < 0.5).collect();
        let order = permutation(k, rng);
        let mut x: Vec<f64> = (0..k)
            .map(|j| (base[j] + if up[j] { 0 } else { jump_levels }) as f64 * step)
            .collect();
        pts.push(x.clone());
        for &j in &order {
            x[j] += if up[j] { delta } else { -delta };
            pts.push(x.clone());
        }
    }
    pts
}

/// Saltelli (2010) radial sampling: for each base sample i, the rows
/// A_i, B_i, AB_i^1 … AB_i^k (A with column j from B) and, for second order, BA_i^1 … BA_i^k.
fn saltelli(n: usize, k: usize, second_order: bool, rng: &mut Rng) -> Vec<Vec<f64>> {
    let per = if second_order { 2 * k + 2 } else { k + 2 };
    let mut pts = Vec::with_capacity(n * per);
    for _ in 0..n {
        let a: Vec<f64> = (0..k).map(|_| rng.uniform()).collect();
        let b: Vec<f64> = (0..k).map(|_| rng.uniform()).collect();
        pts.push(a.clone());
        pts.push(b.clone());
        for j in 0..k {
            let mut ab = a.clone();
            ab[j] = b[j];
            pts.push(ab);
        }
        if second_order {
            for j in 0..k {
                let mut ba = b.clone();
                ba[j] = a[j];
                pts.push(ba);
            }
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::{Phase, Streams};

    fn rng() -> Rng {
        Streams::new(1).stream(0, Phase::InitResearchers, 0)
    }

    #[test]
    fn grid_covers_every_combination() {
        let g = grid(&[2, 3]);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![0.0, 0.0]);
        assert_eq!(g[1], vec![0.0, 0.5]);
        assert_eq!(g[5], vec![1.0, 1.0]);
    }

    #[test]
    fn lhs_has_one_point_per_stratum() {
        let pts = lhs(10, 3, &mut rng());
        for j in 0..3 {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[j] * 10.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn morris_moves_one_parameter_by_delta() {
        let (k, p) = (4, 4);
        let pts = morris(5, p, k, &mut rng());
        assert_eq!(pts.len(), 5 * (k + 1));
        for t in pts.chunks(k + 1) {
            let mut moved = vec![false; k];
            for w in t.windows(2) {
                let changed: Vec<usize> = (0..k)
                    .filter(|&j| (w[1][j] - w[0][j]).abs() > 1e-12)
                    .collect();
                assert_eq!(changed.len(), 1);
                let j = changed[0];
                assert!(((w[1][j] - w[0][j]).abs() - 2.0 / 3.0).abs() < 1e-12);
                assert!(!moved[j]);
                moved[j] = true;
            }
            assert!(t
                .iter()
                .flatten()
                .all(|&x| (-1e-12..=1.0 + 1e-12).contains(&x)));
        }
    }

    #[test]
    fn saltelli_rows_mix_a_and_b() {
        let pts = saltelli(3, 2, true, &mut rng());
        assert_eq!(pts.len(), 3 * 6);
        let (a, b, ab1, ba2) = (&pts[0], &pts[1], &pts[2], &pts[5]);
        assert_eq!(ab1, &vec![b[0], a[1]]);
        assert_eq!(ba2, &vec![b[0], a[1]]);
    }
}

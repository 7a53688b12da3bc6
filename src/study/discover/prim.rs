//! PRIM, the patient rule induction method (Friedman & Fisher 1999), as EMA workbench's `prim`
//! module implements it: peel a box from the data space, α of the points at a time, along the
//! side whose removal most raises the density of cases of interest in what is left; record the
//! peeling trajectory (coverage, density, mass after every peel); choose a box on it; paste it
//! back out, side by side, while that raises the density.
//!
//! Objective: the original one (the remaining box's mean of y), not EMA's default "lenient1";
//! peeling goes on down to `mass_min` whatever the density does, as in EMA.
//! The chosen box is the densest on the trajectory whose coverage is at least `min_coverage`.

/// A box: closed bounds `[low, high]` per dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct PrimBox {
    /// Lower bounds.
    pub low: Vec<f64>,
    /// Upper bounds.
    pub high: Vec<f64>,
}

impl PrimBox {
    fn contains(&self, x: &[f64]) -> bool {
        x.iter()
            .zip(self.low.iter().zip(&self.high))
            .all(|(v, (lo, hi))| *v >= *lo && *v <= *hi)
    }
}

/// One box of the peeling trajectory and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The box.
    pub bounds: PrimBox,
    /// Points in the box.
    pub n: usize,
    /// Cases of interest in the box.
    pub positives: usize,
    /// Share of all cases of interest inside the box.
    pub coverage: f64,
    /// Share of the box's points that are cases of interest.
    pub density: f64,
    /// Share of all points inside the box.
    pub mass: f64,
}

/// Settings (EMA workbench's defaults: α = 0.05 for peeling and pasting, mass ≥ 0.05).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrimSettings {
    /// Share of the box's points removed per peel.
    pub peel_alpha: f64,
    /// Share of the box's points added per paste.
    pub paste_alpha: f64,
    /// Peeling stops before a box holds less than this share of the points.
    pub mass_min: f64,
    /// The chosen box is the densest with at least this coverage.
    pub min_coverage: f64,
}

impl Default for PrimSettings {
    fn default() -> Self {
        PrimSettings {
            peel_alpha: 0.05,
            paste_alpha: 0.05,
            mass_min: 0.05,
            min_coverage: 0.5,
        }
    }
}

/// The result: the trajectory, the index of the chosen step, and the chosen box after pasting.
#[derive(Clone, Debug, PartialEq)]
pub struct Prim {
    /// Every box from the full space (step 0) to the last peel.
    pub trajectory: Vec<Step>,
    /// Index into `trajectory` of the box chosen before pasting.
    pub chosen: usize,
    /// The chosen box after pasting.
    pub pasted: Step,
    /// Bounds of the data (the full space).
    pub data: PrimBox,
}

fn step(x: &[Vec<f64>], y: &[bool], b: PrimBox, total_pos: usize) -> Step {
    let (mut n, mut pos) = (0, 0);
    for (xi, yi) in x.iter().zip(y) {
        if b.contains(xi) {
            n += 1;
            pos += usize::from(*yi);
        }
    }
    Step {
        bounds: b,
        n,
        positives: pos,
        coverage: if total_pos > 0 {
            pos as f64 / total_pos as f64
        } else {
            0.0
        },
        density: if n > 0 { pos as f64 / n as f64 } else { 0.0 },
        mass: n as f64 / x.len().max(1) as f64,
    }
}

/// Runs PRIM on points `x` (rows) with cases of interest `y`. Returns `None` with no points or
/// no dimensions.
pub fn prim(x: &[Vec<f64>], y: &[bool], s: PrimSettings) -> Option<Prim> {
    let k = x.first()?.len();
    if k == 0 {
        return None;
    }
    let total_pos = y.iter().filter(|v| **v).count();
    let low: Vec<f64> = (0..k)
        .map(|j| x.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let high: Vec<f64> = (0..k)
        .map(|j| x.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max))
        .collect();
    let data = PrimBox { low, high };
    let mut trajectory = vec![step(x, y, data.clone(), total_pos)];
    let n_all = x.len();
    loop {
        let cur = trajectory.last()?.clone();
        let inside: Vec<usize> = (0..n_all).filter(|&i| cur.bounds.contains(&x[i])).collect();
        let remove = ((s.peel_alpha * inside.len() as f64).ceil() as usize).max(1);
        let mut best: Option<Step> = None;
        for j in 0..k {
            let mut v: Vec<f64> = inside.iter().map(|&i| x[i][j]).collect();
            v.sort_by(f64::total_cmp);
            if v.len() <= remove {
                continue;
            }
            // Lower peel: drop the points below the α quantile; upper: above the 1 − α one.
            let candidates = [(true, v[remove]), (false, v[v.len() - 1 - remove])];
            for (lower, q) in candidates {
                let mut b = cur.bounds.clone();
                if lower {
                    if q <= b.low[j] {
                        continue;
                    }
                    b.low[j] = q;
                } else {
                    if q >= b.high[j] {
                        continue;
                    }
                    b.high[j] = q;
                }
                let st = step(x, y, b, total_pos);
                if (st.n as f64) < s.mass_min * n_all as f64 || st.n == 0 {
                    continue;
                }
                // Ties: the peel that keeps more points, then the earlier dimension and side.
                let better = match &best {
                    None => true,
                    Some(bs) => {
                        st.density > bs.density || (st.density == bs.density && st.n > bs.n)
                    }
                };
                if better {
                    best = Some(st);
                }
            }
        }
        match best {
            // As EMA workbench: peel on while the box keeps at least `mass_min` of the points,
            // even when density falls (the trajectory shows it; the choice comes after).
            Some(b) if b.n < cur.n => trajectory.push(b),
            _ => break,
        }
    }
    let chosen = (0..trajectory.len())
        .filter(|&i| trajectory[i].coverage >= s.min_coverage)
        .max_by(|&a, &b| {
            let (sa, sb) = (&trajectory[a], &trajectory[b]);
            sa.density
                .total_cmp(&sb.density)
                .then(sa.coverage.total_cmp(&sb.coverage))
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    let pasted = paste(x, y, trajectory[chosen].clone(), &data, s, total_pos);
    Some(Prim {
        trajectory,
        chosen,
        pasted,
        data,
    })
}

/// Widens `b` one side at a time by the next `paste_alpha` share of points outside it along
/// that dimension (within the other bounds), keeping the widening that raises the density most,
/// until none raises it.
fn paste(
    x: &[Vec<f64>],
    y: &[bool],
    mut b: Step,
    data: &PrimBox,
    s: PrimSettings,
    total_pos: usize,
) -> Step {
    let k = data.low.len();
    loop {
        let add = ((s.paste_alpha * b.n as f64).ceil() as usize).max(1);
        let mut best: Option<Step> = None;
        for j in 0..k {
            // Points inside every bound but j's.
            let mut others = b.bounds.clone();
            others.low[j] = f64::NEG_INFINITY;
            others.high[j] = f64::INFINITY;
            let mut below: Vec<f64> = Vec::new();
            let mut above: Vec<f64> = Vec::new();
            for r in x.iter().filter(|r| others.contains(r)) {
                if r[j] < b.bounds.low[j] {
                    below.push(r[j]);
                } else if r[j] > b.bounds.high[j] {
                    above.push(r[j]);
                }
            }
            below.sort_by(|a, c| c.total_cmp(a));
            above.sort_by(f64::total_cmp);
            for (lower, v) in [(true, &below), (false, &above)] {
                let Some(&edge) = v.get(add.min(v.len()).saturating_sub(1)) else {
                    continue;
                };
                let mut nb = b.bounds.clone();
                if lower {
                    nb.low[j] = edge.max(data.low[j]);
                } else {
                    nb.high[j] = edge.min(data.high[j]);
                }
                let st = step(x, y, nb, total_pos);
                let better = match &best {
                    None => true,
                    Some(bs) => st.density > bs.density,
                };
                if better {
                    best = Some(st);
                }
            }
        }
        match best {
            Some(nb) if nb.density > b.density => b = nb,
            _ => return b,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Points uniform in [0, 1]^3; y = 1 inside x0 > 0.6 and x1 < 0.4 (16% of the space).
    pub(crate) fn synthetic(n: usize) -> (Vec<Vec<f64>>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut u = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let x: Vec<Vec<f64>> = (0..n).map(|_| vec![u(), u(), u()]).collect();
        let y = x.iter().map(|r| r[0] > 0.6 && r[1] < 0.4).collect();
        (x, y)
    }

    #[test]
    fn recovers_a_known_box() {
        let (x, y) = synthetic(2000);
        let p = prim(&x, &y, PrimSettings::default()).unwrap();
        let b = &p.pasted.bounds;
        assert!((b.low[0] - 0.6).abs() < 0.03, "x0 low {}", b.low[0]);
        assert!((b.high[1] - 0.4).abs() < 0.03, "x1 high {}", b.high[1]);
        // Untouched sides stay (nearly) at the data's bounds.
        assert!(b.high[0] > 0.97 && b.low[1] < 0.03, "{b:?}");
        assert!(b.low[2] < 0.05 && b.high[2] > 0.95, "x2 restricted: {b:?}");
        assert!(
            p.pasted.density > 0.9 && p.pasted.coverage > 0.85,
            "{:?}",
            p.pasted
        );
        // The trajectory starts at the full space, shrinks at every step, and ends near mass_min.
        assert_eq!(p.trajectory[0].mass, 1.0);
        assert!(p.trajectory.windows(2).all(|w| w[1].n < w[0].n));
        assert!(p.trajectory.last().unwrap().mass < 0.06);
    }
}

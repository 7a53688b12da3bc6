//! Priors of calibrated parameters: uniform or log-uniform on a range, or a normal truncated to
//! a range. Each maps the unit interval onto its range by its quantile function (so optimisers
//! and space-filling starts work in the unit cube) and has a density (for importance weights).

use serde::{Deserialize, Serialize};

/// Which prior a parameter has.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorKind {
    /// Uniform on [min, max].
    Uniform,
    /// Uniform in ln θ on [min, max] (min > 0).
    LogUniform,
    /// Normal(mean, sd) truncated to [min, max].
    Normal,
}

/// A checked prior.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    /// The family.
    pub kind: PriorKind,
    /// Lower end of the support.
    pub min: f64,
    /// Upper end of the support.
    pub max: f64,
    /// Mean of the untruncated normal (normal only).
    pub mean: f64,
    /// Sd of the untruncated normal (normal only).
    pub sd: f64,
}

/// Standard normal cdf.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

/// Standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    libm::exp(-0.5 * z * z) / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile, by bisection on the cdf (exact to the last few bits; speed is
/// irrelevant here).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

impl Prior {
    /// The parameter value at unit-cube coordinate `u` (the prior's quantile function).
    pub fn value(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = match self.kind {
            PriorKind::Uniform => self.min + u * (self.max - self.min),
            PriorKind::LogUniform => {
                let (a, b) = (libm::log(self.min), libm::log(self.max));
                libm::exp(a + u * (b - a))
            }
            PriorKind::Normal => {
                let (a, b) = self.cdf_range();
                self.mean + self.sd * normal_quantile(a + u * (b - a))
            }
        };
        v.clamp(self.min, self.max)
    }

    /// The unit-cube coordinate of `v` (the prior's cdf), inverse of [`Prior::value`].
    pub fn unit(&self, v: f64) -> f64 {
        let v = v.clamp(self.min, self.max);
        let u = match self.kind {
            PriorKind::Uniform => (v - self.min) / (self.max - self.min),
            PriorKind::LogUniform => {
                let (a, b) = (libm::log(self.min), libm::log(self.max));
                (libm::log(v) - a) / (b - a)
            }
            PriorKind::Normal => {
                let (a, b) = self.cdf_range();
                (normal_cdf((v - self.mean) / self.sd) - a) / (b - a)
            }
        };
        u.clamp(0.0, 1.0)
    }

    fn cdf_range(&self) -> (f64, f64) {
        (
            normal_cdf((self.min - self.mean) / self.sd),
            normal_cdf((self.max - self.mean) / self.sd),
        )
    }

    /// Prior density at `v` (0 outside the support).
    pub fn density(&self, v: f64) -> f64 {
        if !(self.min..=self.max).contains(&v) {
            return 0.0;
        }
        match self.kind {
            PriorKind::Uniform => 1.0 / (self.max - self.min),
            PriorKind::LogUniform => 1.0 / (v * (libm::log(self.max) - libm::log(self.min))),
            PriorKind::Normal => {
                let (a, b) = self.cdf_range();
                normal_pdf((v - self.mean) / self.sd) / (self.sd * (b - a))
            }
        }
    }

    /// Prior standard deviation, by midpoint quadrature of the quantile function (2 000 nodes):
    /// exact enough for contraction ratios, and the same code for every family.
    pub fn sd(&self) -> f64 {
        let n = 2000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let v = self.value((i as f64 + 0.5) / n as f64);
            s += v;
            s2 += v * v;
        }
        let m = s / n as f64;
        (s2 / n as f64 - m * m).max(0.0).sqrt()
    }

    /// The prior median.
    pub fn median(&self) -> f64 {
        self.value(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(kind: PriorKind, min: f64, max: f64, mean: f64, sd: f64) -> Prior {
        Prior {
            kind,
            min,
            max,
            mean,
            sd,
        }
    }

    #[test]
    fn quantile_and_cdf_are_inverse_and_match_known_values() {
        assert!((normal_quantile(0.95) - 1.6448536269514722).abs() < 1e-12);
        assert!((normal_cdf(1.959963984540054) - 0.975).abs() < 1e-13);
        for p in [
            prior(PriorKind::Uniform, 1.0, 3.0, 0.0, 0.0),
            prior(PriorKind::LogUniform, 0.01, 10.0, 0.0, 0.0),
            prior(PriorKind::Normal, -1.0, 4.0, 1.0, 0.5),
        ] {
            for u in [0.0, 0.1, 0.5, 0.77, 1.0] {
                assert!((p.unit(p.value(u)) - u).abs() < 1e-9, "{p:?} {u}");
            }
        }
        let lu = prior(PriorKind::LogUniform, 0.01, 1.0, 0.0, 0.0);
        assert!((lu.value(0.5) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn densities_integrate_to_one_and_sds_match_formulas() {
        let u = prior(PriorKind::Uniform, 2.0, 5.0, 0.0, 0.0);
        assert!((u.sd() - 3.0 / 12f64.sqrt()).abs() < 1e-4);
        // A normal truncated far out is the normal.
        let n = prior(PriorKind::Normal, -50.0, 50.0, 1.0, 2.0);
        assert!((n.sd() - 2.0).abs() < 1e-2);
        assert!((n.density(1.0) - normal_pdf(0.0) / 2.0).abs() < 1e-12);
        for p in [u, n, prior(PriorKind::LogUniform, 0.1, 10.0, 0.0, 0.0)] {
            let steps = 200_000;
            let h = (p.max - p.min) / steps as f64;
            let total: f64 = (0..steps)
                .map(|i| p.density(p.min + (i as f64 + 0.5) * h) * h)
                .sum();
            assert!((total - 1.0).abs() < 1e-3, "{p:?} {total}");
        }
        assert_eq!(u.density(1.0), 0.0);
    }
}

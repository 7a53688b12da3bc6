//! Summary statistics for replicate ensembles: mean, standard deviation, Student-t confidence
//! intervals, paired differences and standardised effect sizes.
//!
//! The t quantile is computed from the regularised incomplete beta function (continued fraction,
//! Numerical Recipes §6.4 style) and bisection, so intervals are exact for small replicate counts.

/// Mean of `x` (0 for an empty slice).
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// Sample standard deviation (n − 1 denominator; 0 when n < 2).
pub fn sd(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return libm::log(pi / libm::sin(pi * x)) - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * libm::log(2.0 * std::f64::consts::PI) + (x + 0.5) * libm::log(t) - t + libm::log(a)
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta function I_x(a, b).
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * libm::log(x) + b * libm::log(1.0 - x);
    if x < (a + 1.0) / (a + b + 2.0) {
        libm::exp(ln_front) * beta_cf(a, b, x) / a
    } else {
        1.0 - libm::exp(ln_front) * beta_cf(b, a, 1.0 - x) / b
    }
}

/// CDF of Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Quantile of Student's t: the `p` (in (0, 1)) point with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Mean with a two-sided 95% Student-t confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Sample size.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Lower end of the 95% CI (`None` with fewer than 2 values).
    pub ci_low: Option<f64>,
    /// Upper end of the 95% CI.
    pub ci_high: Option<f64>,
}

/// Mean, sd and 95% CI of `x`.
pub fn estimate(x: &[f64]) -> Estimate {
    let (n, m, s) = (x.len(), mean(x), sd(x));
    if n < 2 {
        return Estimate {
            n,
            mean: m,
            sd: s,
            ci_low: None,
            ci_high: None,
        };
    }
    let half = t_quantile(0.975, (n - 1) as f64) * s / (n as f64).sqrt();
    Estimate {
        n,
        mean: m,
        sd: s,
        ci_low: Some(m - half),
        ci_high: Some(m + half),
    }
}

/// The effect of a treatment arm against control on one outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Effect {
    /// Mean difference (treatment − control).
    pub diff: f64,
    /// 95% CI of the difference.
    pub ci_low: Option<f64>,
    /// Upper end of the 95% CI of the difference.
    pub ci_high: Option<f64>,
    /// Cohen's d: the difference over the pooled standard deviation of the two arms
    /// (`None` when both arms have zero spread).
    pub effect_size: Option<f64>,
}

/// Effect of `treatment` against `control`, where replicate i of both arms shares a seed
/// (common random numbers): the CI is that of the paired differences.
pub fn paired_effect(treatment: &[f64], control: &[f64]) -> Effect {
    let n = treatment.len().min(control.len());
    let diffs: Vec<f64> = (0..n).map(|i| treatment[i] - control[i]).collect();
    let e = estimate(&diffs);
    let pooled = ((sd(treatment).powi(2) + sd(control).powi(2)) / 2.0).sqrt();
    // A spread at rounding level (a deterministic outcome) gives no meaningful standardised effect.
    let scale = mean(treatment).abs().max(mean(control).abs());
    let pooled = if pooled > 1e-9 * scale { pooled } else { 0.0 };
    Effect {
        diff: e.mean,
        ci_low: e.ci_low,
        ci_high: e.ci_high,
        effect_size: (pooled > 0.0).then(|| e.mean / pooled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn t_quantiles_match_tables() {
        for (df, q) in [
            (1.0, 12.706_204_7),
            (2.0, 4.302_652_7),
            (5.0, 2.570_581_8),
            (10.0, 2.228_138_9),
            (29.0, 2.045_229_6),
            (1000.0, 1.962_339_4),
        ] {
            assert_relative_eq!(t_quantile(0.975, df), q, max_relative = 1e-6);
        }
        assert_relative_eq!(t_quantile(0.025, 10.0), -2.228_138_9, max_relative = 1e-6);
        assert_relative_eq!(t_cdf(0.0, 7.0), 0.5, epsilon = 1e-15);
    }

    #[test]
    fn estimate_by_hand() {
        // x = 1..5: mean 3, sd sqrt(2.5); t(0.975, 4) = 2.776445.
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_relative_eq!(e.mean, 3.0);
        assert_relative_eq!(e.sd, 2.5f64.sqrt(), epsilon = 1e-15);
        let half = 2.776_445_1 * 2.5f64.sqrt() / 5f64.sqrt();
        assert_relative_eq!(e.ci_low.unwrap(), 3.0 - half, max_relative = 1e-6);
        assert_relative_eq!(e.ci_high.unwrap(), 3.0 + half, max_relative = 1e-6);
        assert_eq!(estimate(&[4.0]).ci_low, None);
    }

    #[test]
    fn paired_effect_by_hand() {
        let control = [1.0, 2.0, 3.0, 4.0];
        let treatment = [2.0, 2.5, 4.5, 5.0];
        // Differences 1, 0.5, 1.5, 1: mean 1, sd sqrt(1/6); t(0.975, 3) = 3.182446.
        let e = paired_effect(&treatment, &control);
        assert_relative_eq!(e.diff, 1.0);
        let half = 3.182_446_3 * (1.0f64 / 6.0).sqrt() / 2.0;
        assert_relative_eq!(e.ci_low.unwrap(), 1.0 - half, max_relative = 1e-6);
        let pooled = ((sd(&treatment).powi(2) + sd(&control).powi(2)) / 2.0).sqrt();
        assert_relative_eq!(e.effect_size.unwrap(), 1.0 / pooled, max_relative = 1e-12);
        assert_eq!(paired_effect(&[1.0, 1.0], &[1.0, 1.0]).effect_size, None);
    }
}

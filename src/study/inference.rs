//! Hypothesis tests on paired replicate differences: the two-sided paired t test, the two
//! one-sided tests (TOST) of equivalence within a margin, and the Holm and Benjamini–Hochberg
//! adjustments of a family of p-values.
//!
//! "No interval excludes zero" is not evidence of no effect: with few agents or replicates every
//! interval is wide. TOST turns "no meaningful effect" into a finding with a stated margin: the
//! difference is shown to lie inside ±margin (both one-sided nulls |d| ≥ margin rejected).

use crate::study::stats::{mean, sd, t_cdf};

/// A paired comparison of two arms on one outcome (replicate i of both shares a seed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedTest {
    /// Pairs.
    pub n: usize,
    /// Mean difference (treatment − control).
    pub diff: f64,
    /// Standard error of the mean difference.
    pub se: f64,
    /// Degrees of freedom (n − 1).
    pub df: f64,
    /// Two-sided p-value of H0: diff = 0.
    pub p: f64,
}

/// The paired differences `treatment[i] − control[i]`.
pub fn differences(treatment: &[f64], control: &[f64]) -> Vec<f64> {
    treatment.iter().zip(control).map(|(t, c)| t - c).collect()
}

/// Two-sided paired t test of the mean of the differences `d` against 0. With zero spread the
/// difference is deterministic: p is 0 if it is non-zero, 1 if it is zero. Fewer than 2 pairs
/// give p = 1 (nothing can be concluded).
pub fn paired_t(d: &[f64]) -> PairedTest {
    let n = d.len();
    let m = mean(d);
    let se = if n > 1 {
        sd(d) / (n as f64).sqrt()
    } else {
        0.0
    };
    let df = n.saturating_sub(1) as f64;
    let p = if n < 2 {
        1.0
    } else if se == 0.0 {
        if m == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        let t = (m / se).abs();
        (2.0 * (1.0 - t_cdf(t, df))).clamp(0.0, 1.0)
    };
    PairedTest {
        n,
        diff: m,
        se,
        df,
        p,
    }
}

/// Result of the two one-sided tests against `±margin`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tost {
    /// p-value of H0: diff ≤ −margin (against diff > −margin).
    pub p_lower: f64,
    /// p-value of H0: diff ≥ +margin (against diff < +margin).
    pub p_upper: f64,
    /// The TOST p-value, max(p_lower, p_upper): equivalence is shown at level α when it is < α.
    pub p: f64,
}

/// TOST of the paired differences `d` against the equivalence interval (−margin, +margin), as
/// statsmodels' `ttost_paired(x1, x2, -margin, margin)` computes it. With zero spread the
/// verdict is exact: p = 0 if |diff| < margin, else 1.
pub fn tost(d: &[f64], margin: f64) -> Tost {
    let t = paired_t(d);
    if t.n < 2 {
        return Tost {
            p_lower: 1.0,
            p_upper: 1.0,
            p: 1.0,
        };
    }
    let (p_lower, p_upper) = if t.se == 0.0 {
        (
            if t.diff > -margin { 0.0 } else { 1.0 },
            if t.diff < margin { 0.0 } else { 1.0 },
        )
    } else {
        let tl = (t.diff + margin) / t.se;
        let tu = (t.diff - margin) / t.se;
        (1.0 - t_cdf(tl, t.df), t_cdf(tu, t.df))
    };
    Tost {
        p_lower,
        p_upper,
        p: p_lower.max(p_upper),
    }
}

/// Indices of `p` in ascending order of p-value (ties in index order: stable).
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    idx
}

/// Holm's step-down adjusted p-values (family-wise error rate), as statsmodels'
/// `multipletests(p, method="holm")`: p_(i) × (m − i + 1), made monotone, capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in ascending(p).iter().enumerate() {
        let adj = (p[i] * (m - rank) as f64).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Benjamini–Hochberg adjusted p-values (false discovery rate), as statsmodels'
/// `multipletests(p, method="fdr_bh")`: p_(i) × m / i, made monotone from the top, capped at 1.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut out = vec![0.0; m];
    let order = ascending(p);
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adj = p[i] * m as f64 / (rank + 1) as f64;
        running = running.min(adj);
        out[i] = running.min(1.0);
    }
    out
}

/// What a contrast shows at level α, from its (adjusted) TOST and difference p-values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The difference lies within ±margin (TOST p < α).
    Equivalent,
    /// Not shown equivalent, but different from zero (two-sided p < α).
    Different,
    /// Neither: more replicates or agents are needed to say.
    Inconclusive,
}

impl Verdict {
    /// The verdict from a TOST p-value and a two-sided difference p-value at level `alpha`.
    /// Equivalence is checked first: a difference can be both non-zero and smaller than the
    /// margin, and then it is "equivalent" (the margin says what is negligible).
    pub fn of(p_tost: f64, p_diff: f64, alpha: f64) -> Verdict {
        if p_tost < alpha {
            Verdict::Equivalent
        } else if p_diff < alpha {
            Verdict::Different
        } else {
            Verdict::Inconclusive
        }
    }

    /// The verdict as printed, e.g. `equivalent within ±0.01`.
    pub fn describe(self, margin: f64) -> String {
        match self {
            Verdict::Equivalent => format!("equivalent within ±{margin}"),
            Verdict::Different => "different".into(),
            Verdict::Inconclusive => "inconclusive".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn holm_and_bh_by_hand() {
        // m = 4, p = [0.01, 0.04, 0.03, 0.2]. Holm: sorted 0.01×4 = 0.04, 0.03×3 = 0.09,
        // 0.04×2 = 0.08 → monotone 0.09, 0.2×1 = 0.2. BH: 0.2×4/4 = 0.2, 0.04×4/3 = 0.0533,
        // 0.03×4/2 = 0.06 → min from top 0.0533, 0.01×4/1 = 0.04.
        let p = [0.01, 0.04, 0.03, 0.2];
        let h = holm(&p);
        for (a, b) in h.iter().zip([0.04, 0.09, 0.09, 0.2]) {
            assert_relative_eq!(*a, b, epsilon = 1e-15);
        }
        let bh = benjamini_hochberg(&p);
        for (a, b) in bh.iter().zip([0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2]) {
            assert_relative_eq!(*a, b, epsilon = 1e-15);
        }
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn deterministic_differences_are_exact() {
        let d = [0.002; 5];
        assert_eq!(paired_t(&d).p, 0.0);
        assert_eq!(tost(&d, 0.01).p, 0.0);
        assert_eq!(tost(&d, 0.001).p, 1.0);
        assert_eq!(paired_t(&[0.0; 4]).p, 1.0);
    }

    #[test]
    fn verdicts() {
        assert_eq!(Verdict::of(0.01, 0.001, 0.05), Verdict::Equivalent);
        assert_eq!(Verdict::of(0.2, 0.001, 0.05), Verdict::Different);
        assert_eq!(Verdict::of(0.2, 0.3, 0.05), Verdict::Inconclusive);
        assert_eq!(
            Verdict::Equivalent.describe(0.01),
            "equivalent within ±0.01"
        );
    }
}

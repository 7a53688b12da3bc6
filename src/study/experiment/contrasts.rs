//! Every contrast of an experiment (each non-control arm × outcome against control) as a test:
//! the paired two-sided t test, and where the file states an equivalence margin for the
//! outcome, the TOST equivalence test; p-values raw and adjusted for multiplicity by Holm
//! (family-wise error) and Benjamini–Hochberg (false discovery rate). The families: all
//! difference tests of the experiment form one family, all TOST tests another. The verdict is
//! taken at level α from the Holm-adjusted p-values (the stricter of the two); `verdict_raw` is
//! the same rule on raw p-values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Experiment, Results};
use crate::study::inference::{benjamini_hochberg, differences, holm, paired_t, tost, Verdict};

/// `[equivalence]`: margins per outcome and the level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalenceSpec {
    /// Test level (default 0.05).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Equivalence margin per outcome (absolute, in the outcome's units): a difference inside
    /// ±margin is negligible.
    pub margins: BTreeMap<String, f64>,
}

fn default_alpha() -> f64 {
    0.05
}

impl EquivalenceSpec {
    /// Problems with the section, given the experiment's outcomes.
    pub fn check(&self, outcomes: &[String]) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            p.push(format!(
                "equivalence: `alpha` must be in (0, 1), found {}",
                self.alpha
            ));
        }
        for (o, m) in &self.margins {
            if !outcomes.contains(o) {
                p.push(format!(
                    "equivalence: margin for `{o}`, which is not one of `outcomes`"
                ));
            }
            if !(m.is_finite() && *m > 0.0) {
                p.push(format!(
                    "equivalence: margin of `{o}` must be > 0, found {m}"
                ));
            }
        }
        p
    }
}

/// One contrast.
#[derive(Clone, Debug, PartialEq)]
pub struct Contrast {
    /// Arm.
    pub arm: String,
    /// Outcome.
    pub outcome: String,
    /// Pairs.
    pub n: usize,
    /// Mean paired difference.
    pub diff: f64,
    /// Its standard error.
    pub se: f64,
    /// Two-sided p-value of diff = 0: raw, Holm, BH.
    pub p: [f64; 3],
    /// The margin, when the file states one for this outcome.
    pub margin: Option<f64>,
    /// TOST p-value: raw, Holm, BH (within the TOST family).
    pub p_tost: Option<[f64; 3]>,
    /// Verdict from the Holm-adjusted p-values.
    pub verdict: Option<Verdict>,
    /// Verdict from the raw p-values.
    pub verdict_raw: Option<Verdict>,
}

/// Every contrast, arms in file order, outcomes in file order within an arm.
pub fn contrasts(exp: &Experiment, res: &Results) -> Vec<Contrast> {
    let margins = exp.spec.equivalence.as_ref().map(|e| &e.margins);
    let alpha = exp.spec.equivalence.as_ref().map_or(0.05, |e| e.alpha);
    let mut rows = Vec::new();
    let mut tost_p = Vec::new();
    for a in (0..exp.arms.len()).filter(|&a| a != exp.control) {
        for (o, outcome) in exp.spec.outcomes.iter().enumerate() {
            let d = differences(&res.column(exp, a, o), &res.column(exp, exp.control, o));
            let t = paired_t(&d);
            let margin = margins.and_then(|m| m.get(outcome)).copied();
            let pt = margin.map(|m| tost(&d, m).p);
            if let Some(p) = pt {
                tost_p.push(p);
            }
            rows.push(Contrast {
                arm: exp.arms[a].name.clone(),
                outcome: outcome.clone(),
                n: t.n,
                diff: t.diff,
                se: t.se,
                p: [t.p, 0.0, 0.0],
                margin,
                p_tost: pt.map(|p| [p, 0.0, 0.0]),
                verdict: None,
                verdict_raw: None,
            });
        }
    }
    let raw: Vec<f64> = rows.iter().map(|r| r.p[0]).collect();
    let (h, bh) = (holm(&raw), benjamini_hochberg(&raw));
    let (th, tbh) = (holm(&tost_p), benjamini_hochberg(&tost_p));
    let mut k = 0;
    for (i, r) in rows.iter_mut().enumerate() {
        r.p[1] = h[i];
        r.p[2] = bh[i];
        if let Some(pt) = r.p_tost.as_mut() {
            pt[1] = th[k];
            pt[2] = tbh[k];
            k += 1;
            r.verdict = Some(Verdict::of(pt[1], r.p[1], alpha));
            r.verdict_raw = Some(Verdict::of(pt[0], r.p[0], alpha));
        }
    }
    rows
}

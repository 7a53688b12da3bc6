//! Dose–response families and cost per unit of outcome.
//!
//! A `[[dose]]` table expands into one arm per budget (`budgets_bn`, $B/year) of one instrument
//! in one country over `[from_year, to_year)`; each arm is compared with the control like any
//! other, and `dose.csv` holds the outcome curve (mean and difference to control with 95% CIs per
//! budget). For each `cost` outcome, `cost.csv` holds the money spent per unit of outcome gained:
//! the ratio of paired mean differences `mean(Δspent) / (mean(Δy) / per)`, with a 95% percentile
//! interval from a paired bootstrap over replicates (the same resampled replicates for numerator
//! and denominator, so their correlation under common random numbers is kept). When the 95% CI of
//! Δy includes 0 the ratio is unbounded in any honest interval: no interval is given and the row
//! says so.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::{Policy, PolicyKind};
use crate::study::base::ArmSpec;
use crate::study::stats::{estimate, mean, paired_effect};

/// Bootstrap resamples behind every cost interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// One outcome whose cost is reported: money per `per` units of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpec {
    /// The outcome (added to the experiment's outcomes if it is not among them).
    pub outcome: String,
    /// Unit of the outcome the cost is given per (e.g. 0.01: per point of a share).
    #[serde(default = "one")]
    pub per: f64,
    /// Name of the unit in the output (default: the outcome).
    #[serde(default)]
    pub unit: String,
}

fn one() -> f64 {
    1.0
}

/// A dose–response family as written (`[[dose]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseSpec {
    /// `infrastructure`, `grid`, `wages`, `ecosystem`, `capital`, or `infrastructure+grid`
    /// (the budget split between data centres and the grid they need, in the scenario's ratio
    /// `grid_cost_bn_per_gw / capex_bn_per_gw`).
    pub instrument: String,
    /// Country spending.
    pub country: String,
    /// Budgets, $B/year (0 is allowed: an arm identical to a no-spend control).
    pub budgets_bn: Vec<f64>,
    /// First year of spending (inclusive).
    pub from_year: f64,
    /// First year without spending (exclusive).
    pub to_year: f64,
    /// Prefix of the arm names (default `<country>_<instrument>`, lower case): arms are
    /// `<prefix>_<budget>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Outcome measuring money spent (default `spent_total_bn.<country>@<from_year>..end`).
    #[serde(default)]
    pub spent: Option<String>,
    /// Outcomes whose cost per unit is reported.
    #[serde(default)]
    pub cost: Vec<CostSpec>,
}

impl DoseSpec {
    /// Arm-name prefix.
    pub fn prefix(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            format!("{}_{}", self.country, self.instrument.replace('+', "_")).to_lowercase()
        })
    }

    /// The spending outcome.
    pub fn spent_outcome(&self) -> String {
        self.spent
            .clone()
            .unwrap_or_else(|| format!("spent_total_bn.{}@{}..end", self.country, self.from_year))
    }

    /// Name of the arm at `budget`.
    pub fn arm_name(&self, budget: f64) -> String {
        format!("{}_{}", self.prefix(), budget)
    }

    /// Problems with the family as written.
    pub fn check(&self, index: usize) -> Vec<String> {
        let at = format!("dose {} ({})", index + 1, self.prefix());
        let mut p = Vec::new();
        if !INSTRUMENTS.contains(&self.instrument.as_str()) {
            p.push(format!(
                "{at}: instrument `{}` is not one of {}",
                self.instrument,
                INSTRUMENTS.join(", ")
            ));
        }
        if self.budgets_bn.is_empty() {
            p.push(format!("{at}: `budgets_bn` is empty"));
        }
        for b in &self.budgets_bn {
            if !(b.is_finite() && *b >= 0.0) {
                p.push(format!("{at}: budget {b} must be finite and ≥ 0"));
            }
        }
        let mut sorted = self.budgets_bn.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        if sorted.len() != self.budgets_bn.len() {
            p.push(format!("{at}: `budgets_bn` lists a budget twice"));
        }
        if !(self.from_year.is_finite()
            && self.to_year.is_finite()
            && self.to_year > self.from_year)
        {
            p.push(format!(
                "{at}: needs from_year < to_year, found {}..{}",
                self.from_year, self.to_year
            ));
        }
        for c in &self.cost {
            if !(c.per.is_finite() && c.per > 0.0) {
                p.push(format!(
                    "{at}: cost `{}`: `per` must be > 0, found {}",
                    c.outcome, c.per
                ));
            }
        }
        p
    }

    /// The arms of the family, in budget order as written. `grid_ratio` is the scenario's
    /// `grid_cost_bn_per_gw / capex_bn_per_gw` (used by `infrastructure+grid`).
    pub fn arms(&self, grid_ratio: f64) -> Vec<ArmSpec> {
        let policy = |kind: PolicyKind, budget: f64| Policy {
            country: self.country.clone(),
            kind,
            from_year: self.from_year,
            to_year: self.to_year,
            budget_bn: Some(budget),
            partner: None,
            strength: None,
            value: None,
        };
        self.budgets_bn
            .iter()
            .map(|&b| {
                let policies = match self.instrument.as_str() {
                    "infrastructure+grid" => vec![
                        policy(PolicyKind::Infrastructure, b / (1.0 + grid_ratio)),
                        policy(PolicyKind::Grid, b * grid_ratio / (1.0 + grid_ratio)),
                    ],
                    "infrastructure" => vec![policy(PolicyKind::Infrastructure, b)],
                    "grid" => vec![policy(PolicyKind::Grid, b)],
                    "wages" => vec![policy(PolicyKind::Wages, b)],
                    "ecosystem" => vec![policy(PolicyKind::Ecosystem, b)],
                    _ => vec![policy(PolicyKind::Capital, b)],
                };
                ArmSpec {
                    name: self.arm_name(b),
                    description: format!(
                        "dose: ${b}B/yr on {} in {}, {}–{}",
                        self.instrument, self.country, self.from_year, self.to_year
                    ),
                    set: Vec::new(),
                    policies,
                }
            })
            .collect()
    }
}

/// The instruments a dose family can spend on.
pub const INSTRUMENTS: [&str; 6] = [
    "infrastructure",
    "infrastructure+grid",
    "grid",
    "wages",
    "ecosystem",
    "capital",
];

/// One point of a dose–response curve.
#[derive(Clone, Debug, PartialEq)]
pub struct DoseRow {
    /// Family prefix.
    pub dose: String,
    /// Instrument.
    pub instrument: String,
    /// Country.
    pub country: String,
    /// Budget, $B/year.
    pub budget_bn: f64,
    /// Arm name.
    pub arm: String,
    /// Outcome.
    pub outcome: String,
    /// Replicates.
    pub n: usize,
    /// Mean over replicates.
    pub mean: f64,
    /// 95% CI of the mean.
    pub ci: (Option<f64>, Option<f64>),
    /// Mean paired difference to control.
    pub diff: f64,
    /// 95% CI of the difference.
    pub diff_ci: (Option<f64>, Option<f64>),
}

/// The curve of every outcome along one family: `column(arm, outcome)` gives the replicate values.
pub fn curve(
    spec: &DoseSpec,
    outcomes: &[String],
    arm_index: &dyn Fn(&str) -> Option<usize>,
    control: usize,
    column: &dyn Fn(usize, usize) -> Vec<f64>,
) -> Vec<DoseRow> {
    let mut rows = Vec::new();
    for (o, outcome) in outcomes.iter().enumerate() {
        let c = column(control, o);
        for &b in &spec.budgets_bn {
            let name = spec.arm_name(b);
            let Some(a) = arm_index(&name) else { continue };
            let x = column(a, o);
            let e = estimate(&x);
            let eff = paired_effect(&x, &c);
            rows.push(DoseRow {
                dose: spec.prefix(),
                instrument: spec.instrument.clone(),
                country: spec.country.clone(),
                budget_bn: b,
                arm: name,
                outcome: outcome.clone(),
                n: e.n,
                mean: e.mean,
                ci: (e.ci_low, e.ci_high),
                diff: eff.diff,
                diff_ci: (eff.ci_low, eff.ci_high),
            });
        }
    }
    rows
}

/// Cost per unit of one outcome in one arm.
#[derive(Clone, Debug, PartialEq)]
pub struct CostRow {
    /// Family prefix.
    pub dose: String,
    /// Instrument.
    pub instrument: String,
    /// Budget, $B/year.
    pub budget_bn: f64,
    /// Arm.
    pub arm: String,
    /// Outcome.
    pub outcome: String,
    /// Unit the cost is given per.
    pub unit: String,
    /// Mean extra money spent against control, $B.
    pub spent_diff_bn: f64,
    /// Mean outcome difference against control, in units of `per`.
    pub outcome_diff: f64,
    /// 95% t CI of the outcome difference (same units).
    pub outcome_diff_ci: (Option<f64>, Option<f64>),
    /// $B per unit (`None` when the outcome difference is exactly 0).
    pub cost_bn: Option<f64>,
    /// 95% paired-bootstrap percentile interval of the cost (`None` when the denominator's CI
    /// includes 0: the ratio is then unbounded).
    pub cost_ci: (Option<f64>, Option<f64>),
    /// Whether the 95% CI of the outcome difference excludes 0 (otherwise the cost is not
    /// bounded and `note` says so).
    pub denominator_clear_of_zero: bool,
    /// Why an interval is missing, if it is.
    pub note: String,
}

/// The `q` quantile (0..1) of sorted `v`, linear between order statistics (type 7).
fn quantile(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// The cost of `dy` (outcome differences per replicate, already divided by `per`) bought with
/// `ds` (spending differences, $B), with a paired bootstrap percentile interval from `seed`.
/// Returns (cost, ci, denominator CI, denominator clear of zero, note).
#[allow(clippy::type_complexity)]
pub fn cost_ratio(
    ds: &[f64],
    dy: &[f64],
    seed: u64,
) -> (
    Option<f64>,
    (Option<f64>, Option<f64>),
    (Option<f64>, Option<f64>),
    bool,
    String,
) {
    let n = ds.len().min(dy.len());
    let e = estimate(&dy[..n]);
    let (my, ms) = (e.mean, mean(&ds[..n]));
    let cost = (my != 0.0).then(|| ms / my);
    let clear = match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => lo > 0.0 || hi < 0.0,
        // Fewer than 2 replicates: no interval at all.
        _ => false,
    };
    if !clear || n < 2 {
        let note = if n < 2 {
            "fewer than 2 replicates: no interval".to_string()
        } else {
            "95% CI of the outcome difference includes 0: cost unbounded, no interval".to_string()
        };
        return (cost, (None, None), (e.ci_low, e.ci_high), false, note);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ratios = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut flipped = 0usize;
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let (mut sy, mut ss) = (0.0, 0.0);
        for _ in 0..n {
            // Modulo bias is < n / 2^64: negligible for replicate counts.
            let i = (rng.next_u64() % n as u64) as usize;
            sy += dy[i];
            ss += ds[i];
        }
        if sy == 0.0 || (sy > 0.0) != (my > 0.0) {
            flipped += 1;
        }
        ratios.push(if sy == 0.0 { f64::NAN } else { ss / sy });
    }
    let note = if flipped > 0 {
        format!(
            "{flipped} of {BOOTSTRAP_RESAMPLES} resamples had an outcome difference of the other sign or 0: interval unreliable, no interval"
        )
    } else {
        String::new()
    };
    if flipped > 0 {
        return (cost, (None, None), (e.ci_low, e.ci_high), false, note);
    }
    ratios.sort_by(f64::total_cmp);
    let ci = (
        Some(quantile(&ratios, 0.025)),
        Some(quantile(&ratios, 0.975)),
    );
    (cost, ci, (e.ci_low, e.ci_high), true, note)
}

/// Cost rows of one family: `column(arm, outcome)` as in [`curve`]; `outcome_index` finds an
/// outcome's column; `seed` seeds the bootstrap (each row gets its own stream).
pub fn costs(
    spec: &DoseSpec,
    arm_index: &dyn Fn(&str) -> Option<usize>,
    outcome_index: &dyn Fn(&str) -> Option<usize>,
    control: usize,
    column: &dyn Fn(usize, usize) -> Vec<f64>,
    seed: u64,
) -> Vec<CostRow> {
    let mut rows = Vec::new();
    let Some(s) = outcome_index(&spec.spent_outcome()) else {
        return rows;
    };
    let sc = column(control, s);
    for (k, cost) in spec.cost.iter().enumerate() {
        let Some(o) = outcome_index(&cost.outcome) else {
            continue;
        };
        let yc = column(control, o);
        for (j, &b) in spec.budgets_bn.iter().enumerate() {
            let name = spec.arm_name(b);
            let Some(a) = arm_index(&name) else { continue };
            let ds: Vec<f64> = column(a, s).iter().zip(&sc).map(|(x, c)| x - c).collect();
            let dy: Vec<f64> = column(a, o)
                .iter()
                .zip(&yc)
                .map(|(x, c)| (x - c) / cost.per)
                .collect();
            let row_seed = seed ^ ((k as u64) << 32) ^ j as u64;
            let (c, ci, dci, clear, note) = cost_ratio(&ds, &dy, row_seed);
            rows.push(CostRow {
                dose: spec.prefix(),
                instrument: spec.instrument.clone(),
                budget_bn: b,
                arm: name,
                outcome: cost.outcome.clone(),
                unit: if cost.unit.is_empty() {
                    format!("{} × {}", cost.per, cost.outcome)
                } else {
                    cost.unit.clone()
                },
                spent_diff_bn: mean(&ds),
                outcome_diff: mean(&dy),
                outcome_diff_ci: dci,
                cost_bn: c,
                cost_ci: ci,
                denominator_clear_of_zero: clear,
                note,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn spec(instrument: &str) -> DoseSpec {
        DoseSpec {
            instrument: instrument.into(),
            country: "SAU".into(),
            budgets_bn: vec![0.0, 2.5, 10.0],
            from_year: 2025.0,
            to_year: 2030.0,
            name: None,
            spent: None,
            cost: Vec::new(),
        }
    }

    #[test]
    fn expands_into_arms() {
        let arms = spec("infrastructure+grid").arms(0.125);
        assert_eq!(
            arms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            [
                "sau_infrastructure_grid_0",
                "sau_infrastructure_grid_2.5",
                "sau_infrastructure_grid_10"
            ]
        );
        // $10B split 1 : 0.125 between data centres and grid.
        let p = &arms[2].policies;
        assert_eq!(p[0].kind, PolicyKind::Infrastructure);
        assert_relative_eq!(p[0].budget_bn.unwrap(), 10.0 / 1.125, epsilon = 1e-12);
        assert_relative_eq!(
            p[1].budget_bn.unwrap(),
            10.0 * 0.125 / 1.125,
            epsilon = 1e-12
        );
        assert_eq!(
            spec("wages").arms(0.125)[1].policies[0].kind,
            PolicyKind::Wages
        );
        assert_eq!(
            spec("wages").spent_outcome(),
            "spent_total_bn.SAU@2025..end"
        );
        assert!(spec("bribes").check(0)[0].contains("instrument `bribes`"));
    }

    #[test]
    fn cost_ratio_by_hand() {
        // Spending differences 25 in every replicate; outcome differences 0.9, 1.1, 1.0, 1.2, 0.8:
        // mean 1.0, so the cost is 25 per unit; every resample has a positive mean, so there is
        // an interval, and it brackets 25 within [25/1.2, 25/0.8].
        let ds = [25.0; 5];
        let dy = [0.9, 1.1, 1.0, 1.2, 0.8];
        let (c, ci, dci, clear, note) = cost_ratio(&ds, &dy, 7);
        assert_relative_eq!(c.unwrap(), 25.0, epsilon = 1e-12);
        assert!(clear, "{note}");
        let (lo, hi) = (ci.0.unwrap(), ci.1.unwrap());
        assert!(
            lo < 25.0 && hi > 25.0 && lo >= 25.0 / 1.2 && hi <= 25.0 / 0.8,
            "{lo} {hi}"
        );
        assert!(dci.0.unwrap() > 0.0);
        // The same seed gives the same interval.
        assert_eq!(cost_ratio(&ds, &dy, 7).1, ci);
    }

    #[test]
    fn cost_ratio_guards_a_denominator_near_zero() {
        let ds = [10.0; 6];
        let dy = [0.1, -0.1, 0.2, -0.15, 0.05, -0.05];
        let (c, ci, _, clear, note) = cost_ratio(&ds, &dy, 1);
        // mean Δy = 0.05/6; the point estimate exists but no interval is given.
        assert_relative_eq!(c.unwrap(), 10.0 / (0.05 / 6.0), max_relative = 1e-9);
        assert_eq!(ci, (None, None));
        assert!(!clear);
        assert!(note.contains("includes 0"), "{note}");
        assert_eq!(cost_ratio(&ds, &[0.0; 6], 1).0, None);
    }

    #[test]
    fn curve_by_hand() {
        let s = spec("wages");
        let names = ["control", "sau_wages_0", "sau_wages_2.5", "sau_wages_10"];
        let data = [
            vec![1.0, 2.0, 3.0],
            vec![1.0, 2.0, 3.0],
            vec![2.0, 2.5, 4.5],
            vec![4.0, 5.0, 7.0],
        ];
        let idx = |n: &str| names.iter().position(|x| *x == n);
        let col = |a: usize, _o: usize| data[a].clone();
        let rows = curve(&s, &["y".to_string()], &idx, 0, &col);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].diff, 0.0);
        // Budget 2.5: differences 1, 0.5, 1.5 → mean 1; budget 10: 3, 3, 4 → 10/3.
        assert_relative_eq!(rows[1].diff, 1.0, epsilon = 1e-12);
        assert_relative_eq!(rows[2].diff, 10.0 / 3.0, epsilon = 1e-12);
        assert_relative_eq!(rows[2].mean, 16.0 / 3.0, epsilon = 1e-12);
    }
}

//! Choice tables (MODEL.md §5): researcher and startup location choice as multinomial logit.
//!
//! A researcher's utilities depend on the agent only through (home h, location c), so each tick
//! the country phase builds one cumulative probability row per occupied (h, c) pair; a review is
//! then one uniform draw and a binary search, O(log C), with no allocation in the agent phase.

use crate::aggregates::Aggregates;
use crate::countries::{CountryState, CAPITAL_FLOOR, INNOVATION_FLOOR};
use crate::params::Params;
use crate::scenario::Scenario;

const NO_ROW: u32 = u32::MAX;

/// Cumulative logit weights for every occupied (home, location) pair and every startup location.
#[derive(Clone, Debug, Default)]
pub struct ChoiceTables {
    c: usize,
    /// Row of (h, c) in `researcher_cum`, or `NO_ROW` when no researcher is there.
    row_of: Vec<u32>,
    /// Unnormalised cumulative weights, one row of C per occupied pair.
    researcher_cum: Vec<f64>,
    /// Unnormalised cumulative weights of startup relocation, one row of C per location.
    startup_cum: Vec<f64>,
}

/// Country base utility `B_d` of MODEL.md §5.
pub fn base_utility(s: &Scenario, st: &CountryState, d: usize) -> f64 {
    let b = &s.behaviour;
    b.beta_wage * libm::log(st.wage[d].max(1e-9))
        + b.beta_capital * libm::log(st.per_startup[d].max(CAPITAL_FLOOR))
        + b.beta_innovation * libm::log(st.innovation[d].max(INNOVATION_FLOOR))
        + b.beta_compute * libm::log1p(st.compute[d])
        + b.beta_amenity * s.countries[d].amenity
}

/// Turns utilities into cumulative weights in place (max subtracted, so exp cannot overflow).
fn cumulate_exp(u: &mut [f64]) {
    let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut acc = 0.0;
    for x in u.iter_mut() {
        acc += libm::exp(*x - max);
        *x = acc;
    }
}

impl ChoiceTables {
    /// Builds the tables for one tick from the country state and last tick's population.
    pub fn build(s: &Scenario, p: &Params, st: &CountryState, agg: &Aggregates) -> ChoiceTables {
        let c = p.c;
        let b = &s.behaviour;
        let base: Vec<f64> = (0..c).map(|d| base_utility(s, st, d)).collect();
        let mut row_of = vec![NO_ROW; c * c];
        let occupied = (0..c * c).filter(|&hc| agg.origin_location[hc] > 0).count();
        let mut researcher_cum = Vec::with_capacity(occupied * c);
        let mut row = vec![0.0; c];
        for h in 0..c {
            let natives = agg.natives(h);
            if natives == 0 {
                continue;
            }
            // Home bonus and diaspora pull depend on (h, d) only.
            for (d, r) in row.iter_mut().enumerate() {
                let diaspora = agg.origin_location(h, d) as f64 / natives as f64;
                *r = base[d]
                    + if d == h { b.beta_home } else { 0.0 }
                    + b.beta_diaspora * libm::log(0.01 + diaspora);
            }
            for here in 0..c {
                if agg.origin_location(h, here) == 0 {
                    continue;
                }
                row_of[h * c + here] = (researcher_cum.len() / c) as u32;
                let start = researcher_cum.len();
                researcher_cum.extend_from_slice(&row);
                let u = &mut researcher_cum[start..];
                for (d, x) in u.iter_mut().enumerate() {
                    if d != here {
                        let visa = if d == h {
                            0.0
                        } else {
                            b.move_visa * (1.0 - st.openness[d])
                        };
                        *x -= p.move_base[here * c + d] + visa
                            - b.move_partner * st.partnership[here * c + d];
                    }
                }
                cumulate_exp(u);
            }
        }

        let sp = &s.startups;
        let mut startup_cum = Vec::with_capacity(c * c);
        for here in 0..c {
            let start = startup_cum.len();
            for d in 0..c {
                let mut u = sp.beta_capital_s * libm::log(st.per_startup[d].max(CAPITAL_FLOOR))
                    + sp.beta_innovation_s * libm::log(st.innovation[d].max(INNOVATION_FLOOR));
                if d != here {
                    u -= p.move_base_startup[here * c + d] + b.move_visa * (1.0 - st.openness[d]);
                }
                startup_cum.push(u);
            }
            cumulate_exp(&mut startup_cum[start..]);
        }
        ChoiceTables {
            c,
            row_of,
            researcher_cum,
            startup_cum,
        }
    }

    /// Cumulative weights of destinations for a researcher of `home` now at `here`, if any
    /// researcher of that pair existed when the table was built.
    #[inline]
    pub fn researcher_row(&self, home: usize, here: usize) -> Option<&[f64]> {
        let row = self.row_of[home * self.c + here];
        (row != NO_ROW)
            .then(|| &self.researcher_cum[row as usize * self.c..(row as usize + 1) * self.c])
    }

    /// Cumulative weights of destinations for a startup at `here`.
    #[inline]
    pub fn startup_row(&self, here: usize) -> &[f64] {
        &self.startup_cum[here * self.c..(here + 1) * self.c]
    }

    /// Normalised probabilities from a cumulative row (for tests and reports).
    pub fn probabilities(cum: &[f64]) -> Vec<f64> {
        let total = cum[cum.len() - 1];
        let mut prev = 0.0;
        cum.iter()
            .map(|&x| {
                let p = (x - prev) / total;
                prev = x;
                p
            })
            .collect()
    }
}

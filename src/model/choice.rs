//! Choice tables (MODEL.md §5): researcher and startup location choice as multinomial logit.
//!
//! A researcher's utilities depend on the agent only through (home h, location c), and the logit
//! weight of a move factorises: for d ≠ c,
//!
//! ```text
//! exp(U_d) ∝ pull[h][d] · reach[c][d],
//!   pull[h][d]  = exp(B_d + beta_home·[d = h] + beta_diaspora·ln(0.01 + D_hd) − visa_d·[d ≠ h] − m_h)
//!   reach[c][d] = exp(−move_fixed − move_distance·ln(1 + dist_cd/1000) + move_partner·P_cd)
//! ```
//!
//! and staying weighs `exp(U_c) = pull[h][c] · exp(visa_c·[c ≠ h])` (no moving cost). Each tick the
//! country phase builds `pull` (C × C transcendental functions, in parallel over h) and `reach`
//! (distances are fixed, so only partnership terms cost an `exp`); a row of weights is then C
//! multiplications, not C exponentials.
//!
//! A review draws a destination by one uniform and the cumulative weights of its (h, c) row. Rows
//! of *busy* pairs — at least one expected review this tick — are tabulated, so their reviews are a
//! binary search, O(log C); a review of a sparsely populated pair accumulates its row on the fly,
//! O(C). Both paths add the same weights in the same order and pick the first index whose
//! cumulative weight exceeds `u · total`, so they draw the same destination for the same `u`: the
//! split is a matter of speed only. It keeps the work of a tick at O(busy pairs × C) whatever the
//! number of countries, instead of O(occupied pairs × C) rows of which most would never be read
//! (at C = 200 that is 40 000 possible pairs).
//!
//! Startup relocations are rare (a tenth of the raises), so their rows are always accumulated on
//! the fly from the same factorisation.

use rayon::prelude::*;

use crate::model::aggregates::Population;
use crate::model::countries::{CountryState, CAPITAL_FLOOR, INNOVATION_FLOOR};
use crate::model::params::Params;
use crate::model::rng::Rng;
use crate::scenario::Scenario;

const NO_ROW: u32 = u32::MAX;

/// Logit weights of one tick: the factors of every researcher row, the tabulated rows of busy
/// (home, location) pairs, and the startup factors.
#[derive(Clone, Debug, Default)]
pub struct ChoiceTables {
    c: usize,
    /// `pull[h][d]`, C × C (rows of homes without natives are unused).
    pull: Vec<f64>,
    /// `exp(visa_d)`: staying at d, for a researcher born elsewhere, is worth pull × this.
    stay_factor: Vec<f64>,
    /// `reach[c][d]`, C × C: the moving-cost factor from c to d (any value on the diagonal).
    reach: Vec<f64>,
    /// Row of (h, c) in `researcher_cum`, or `NO_ROW` when the pair is not tabulated.
    row_of: Vec<u32>,
    /// Cumulative weights, one row of C per tabulated pair.
    researcher_cum: Vec<f64>,
    /// Startup weight of each destination before moving costs, shifted by the largest.
    startup_pull: Vec<f64>,
    /// `exp(visa_d)` for startups (which have no home).
    startup_stay_factor: Vec<f64>,
    /// Startup moving-cost factor from c to d, C × C.
    startup_reach: Vec<f64>,
}

/// Country base utility `B_d` of MODEL.md §5: **v2** compute relative to K_ref and the
/// destination constant `attraction`.
pub fn base_utility(s: &Scenario, st: &CountryState, d: usize) -> f64 {
    let b = &s.behaviour;
    b.beta_wage * libm::log(st.wage[d].max(1e-9))
        + b.beta_capital * libm::log(st.per_startup[d].max(CAPITAL_FLOOR))
        + b.beta_innovation * libm::log(st.innovation[d].max(INNOVATION_FLOOR))
        + b.beta_compute * st.compute_term(d)
        + b.beta_amenity * s.countries[d].amenity
        + s.countries[d].attraction
}

/// Startup base utility `BS_d` of MODEL.md §5 (before moving costs); **v2** with compute.
pub fn startup_utility(s: &Scenario, st: &CountryState, d: usize) -> f64 {
    let sp = &s.startups;
    sp.beta_capital_s * libm::log(st.per_startup[d].max(CAPITAL_FLOOR))
        + sp.beta_innovation_s * libm::log(st.innovation[d].max(INNOVATION_FLOOR))
        + sp.beta_compute_s * st.compute_term(d)
}

/// Adds `weight(d)` for d = 0..C in order, returning the running sums (a cumulative row).
fn fill_cumulative(out: &mut [f64], weight: impl Fn(usize) -> f64) {
    let mut acc = 0.0;
    for (d, x) in out.iter_mut().enumerate() {
        acc += weight(d);
        *x = acc;
    }
}

/// The first index whose running sum of `weight` exceeds `u · total` (the last if none does, or
/// `fallback` when the weights are degenerate): the same answer as a binary search of the
/// cumulative row built by [`fill_cumulative`].
fn scan_pick(c: usize, u: f64, weight: impl Fn(usize) -> f64, fallback: usize) -> usize {
    let total = (0..c).fold(0.0, |acc, d| acc + weight(d));
    if !(total > 0.0 && total.is_finite()) {
        return fallback;
    }
    let target = u * total;
    let mut acc = 0.0;
    for d in 0..c {
        acc += weight(d);
        if acc > target {
            return d;
        }
    }
    c - 1
}

/// Index of the first cumulative weight above `u · total` (the last if none is, or `fallback`
/// when the weights are degenerate).
fn search_pick(cum: &[f64], u: f64, fallback: usize) -> usize {
    let total = cum[cum.len() - 1];
    if !(total > 0.0 && total.is_finite()) {
        return fallback;
    }
    let target = u * total;
    cum.partition_point(|&x| x <= target).min(cum.len() - 1)
}

impl ChoiceTables {
    /// Builds the tables for one tick from the country state and last tick's population.
    pub fn build(
        s: &Scenario,
        p: &Params,
        st: &CountryState,
        agg: &(impl Population + Sync),
    ) -> ChoiceTables {
        let c = p.c;
        let b = &s.behaviour;
        let base: Vec<f64> = (0..c).map(|d| base_utility(s, st, d)).collect();
        let visa: Vec<f64> = (0..c)
            .map(|d| b.move_visa * (1.0 - st.openness[d]))
            .collect();
        let stay_factor: Vec<f64> = visa.iter().map(|&v| libm::exp(v)).collect();

        let mut pull = vec![0.0; c * c];
        pull.par_chunks_mut(c.max(1))
            .enumerate()
            .for_each(|(h, row)| {
                let natives = agg.natives_of(h);
                if natives <= 0.0 {
                    return;
                }
                // Home bonus and diaspora pull depend on (h, d) only.
                let utility = |d: usize| {
                    let diaspora = agg.born_in_at(h, d) / natives;
                    base[d]
                        + if d == h { b.beta_home } else { 0.0 }
                        + b.beta_diaspora * libm::log(0.01 + diaspora)
                };
                for (d, x) in row.iter_mut().enumerate() {
                    *x = utility(d);
                }
                // Shifted by the largest utility, so no weight overflows.
                let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                for (d, x) in row.iter_mut().enumerate() {
                    let visa_paid = if d == h { 0.0 } else { visa[d] };
                    *x = libm::exp(*x - visa_paid - max);
                }
            });
        let reach = with_partnerships(&p.reach, b.move_partner, &st.partnership, c);

        let mut tables = ChoiceTables {
            c,
            pull,
            stay_factor,
            reach,
            row_of: vec![NO_ROW; c * c],
            researcher_cum: Vec::new(),
            startup_pull: Vec::new(),
            startup_stay_factor: visa.iter().map(|&v| libm::exp(v)).collect(),
            startup_reach: p.reach_startup.clone(),
        };

        // Tabulate the pairs expected to review at least once this tick.
        let busy_from = (1.0 / p.p_review.max(1e-300)).ceil().min(u64::MAX as f64) as u64;
        let busy: Vec<usize> = (0..c * c)
            .filter(|&hc| agg.born_in_at(hc / c.max(1), hc % c.max(1)) >= busy_from.max(1) as f64)
            .collect();
        let mut cum = vec![0.0; busy.len() * c];
        cum.par_chunks_mut(c.max(1))
            .zip(&busy)
            .for_each(|(row, &hc)| tables.fill_researcher_row(row, hc / c, hc % c));
        for (k, &hc) in busy.iter().enumerate() {
            tables.row_of[hc] = k as u32;
        }
        tables.researcher_cum = cum;

        let bs: Vec<f64> = (0..c).map(|d| startup_utility(s, st, d)).collect();
        let max = bs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        tables.startup_pull = (0..c).map(|d| libm::exp(bs[d] - visa[d] - max)).collect();
        tables
    }

    /// Weight of moving to (or, for d = here, staying at) d for a researcher of `home` at `here`.
    #[inline]
    fn researcher_weight(&self, home: usize, here: usize, d: usize) -> f64 {
        let pull = self.pull[home * self.c + d];
        if d == here {
            if d == home {
                pull
            } else {
                pull * self.stay_factor[d]
            }
        } else {
            pull * self.reach[here * self.c + d]
        }
    }

    fn fill_researcher_row(&self, row: &mut [f64], home: usize, here: usize) {
        fill_cumulative(row, |d| self.researcher_weight(home, here, d));
    }

    /// Cumulative (unnormalised) weights of the destinations of a researcher of `home` at `here`.
    pub fn researcher_cumulative(&self, home: usize, here: usize) -> Vec<f64> {
        let mut row = vec![0.0; self.c];
        self.fill_researcher_row(&mut row, home, here);
        row
    }

    /// Whether the (home, here) row is tabulated (reviews are a binary search) this tick.
    pub fn is_tabulated(&self, home: usize, here: usize) -> bool {
        self.row_of[home * self.c + here] != NO_ROW
    }

    /// The destination of a researcher of `home` at `here` for the uniform `u` in [0, 1): the
    /// first country whose cumulative weight exceeds `u` times the total (`here` if the weights
    /// are degenerate).
    #[inline]
    pub fn researcher_destination(&self, home: usize, here: usize, u: f64) -> usize {
        let row = self.row_of[home * self.c + here];
        if row == NO_ROW {
            scan_pick(self.c, u, |d| self.researcher_weight(home, here, d), here)
        } else {
            let start = row as usize * self.c;
            search_pick(&self.researcher_cum[start..start + self.c], u, here)
        }
    }

    /// Draws the destination of a reviewing researcher of `home` at `here` (one uniform).
    #[inline]
    pub fn pick_researcher(&self, home: usize, here: usize, rng: &mut Rng) -> usize {
        self.researcher_destination(home, here, rng.uniform())
    }

    #[inline]
    fn startup_weight(&self, here: usize, d: usize) -> f64 {
        if d == here {
            self.startup_pull[d] * self.startup_stay_factor[d]
        } else {
            self.startup_pull[d] * self.startup_reach[here * self.c + d]
        }
    }

    /// Cumulative (unnormalised) weights of the destinations of a startup at `here`.
    pub fn startup_cumulative(&self, here: usize) -> Vec<f64> {
        let mut row = vec![0.0; self.c];
        fill_cumulative(&mut row, |d| self.startup_weight(here, d));
        row
    }

    /// Draws the destination of a startup at `here` reviewing its location (one uniform).
    #[inline]
    pub fn pick_startup(&self, here: usize, rng: &mut Rng) -> usize {
        scan_pick(
            self.c,
            rng.uniform(),
            |d| self.startup_weight(here, d),
            here,
        )
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

/// `reach · exp(move_partner · P)`: the fixed moving-cost factors with this tick's partnerships
/// (an `exp` only where a partnership exists).
fn with_partnerships(reach: &[f64], move_partner: f64, partnership: &[f64], c: usize) -> Vec<f64> {
    let mut out = reach.to_vec();
    for (k, (x, &strength)) in out.iter_mut().zip(partnership).enumerate() {
        if strength != 0.0 && k / c != k % c {
            *x *= libm::exp(move_partner * strength);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::Simulation;
    use crate::model::rng::{Phase, Streams};
    use crate::scenario::{load_str, SourceName, WORLD2025_TOML};

    #[test]
    fn tabulated_and_scanned_rows_draw_the_same_destination() {
        let s = load_str(
            WORLD2025_TOML,
            &SourceName::Embedded("world2025"),
            &[crate::scenario::Override::parse("world.agents=3000").unwrap()],
        )
        .unwrap();
        let mut sim = Simulation::new(s.clone(), 5);
        for _ in 0..3 {
            sim.step();
        }
        let (p, st, agg) = (sim.params(), sim.countries(), sim.aggregates());
        let tables = ChoiceTables::build(&s, p, st, agg);
        let c = p.c;
        let (mut tabulated, mut scanned) = (0, 0);
        let mut rng = Streams::new(1).stream(0, Phase::Researchers, 0);
        for h in 0..c {
            if agg.natives(h) == 0 {
                continue;
            }
            for here in 0..c {
                let cum = tables.researcher_cumulative(h, here);
                if tables.is_tabulated(h, here) {
                    tabulated += 1;
                } else {
                    scanned += 1;
                }
                for _ in 0..200 {
                    let u = rng.uniform();
                    let by_search = search_pick(&cum, u, here);
                    let by_scan = scan_pick(c, u, |d| tables.researcher_weight(h, here, d), here);
                    assert_eq!(tables.researcher_destination(h, here, u), by_search);
                    assert_eq!(by_scan, by_search, "pair ({h}, {here}), u = {u}");
                }
                // Boundaries: u = 0 picks the first positive weight, u → 1 the last.
                assert_eq!(
                    scan_pick(c, 0.0, |d| tables.researcher_weight(h, here, d), here),
                    search_pick(&cum, 0.0, here)
                );
            }
        }
        assert!(tabulated > 0 && scanned > 0, "{tabulated} / {scanned}");
    }
}

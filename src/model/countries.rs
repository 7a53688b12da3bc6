//! Country state and the country phase (MODEL.md §4): infrastructure and the grid queue,
//! ecosystem, innovation, wages, capital. Sequential: C is small and every country reads others.
//!
//! The phase reads the population through [`Population`], so the engine (exact counts) and the
//! expected dynamics of baseline calibration ([`crate::model::expected`]) share this code.
//!
//! What each money policy actually spends is recorded per tick, in $B (**v2**, MODEL.md §4):
//! the wage premium paid, `π · N` (at most the budget); the public share of the data centres
//! connected during the tick (public money waits in the grid queue with private money, and the
//! queue is built pro rata); the grid budget as it is committed; the ecosystem budget; and the
//! public part of venture capital, which enters V by the same partial adjustment as private
//! capital (so it keeps flowing for a while after a programme ends, and sums to the budget).

use serde::{Deserialize, Serialize};

use crate::model::aggregates::Population;
use crate::model::params::Params;
use crate::model::policy::PolicyEffects;
use crate::scenario::Scenario;

/// Floor on innovation speed wherever its logarithm or a ratio is taken.
pub const INNOVATION_FLOOR: f64 = 1e-9;
/// Floor on capital per startup ($M/year) wherever its logarithm is taken.
pub const CAPITAL_FLOOR: f64 = 1e-9;

/// Bound on |ln| of the power products below: e^±230 ≈ 10^±100.
const LN_BOUND: f64 = 230.0;

/// `base · Π ratioᵢ^exponentᵢ` for positive `base` and ratios, computed as the exponential of a
/// sum of logarithms and kept within 10^±100. With valid but extreme exponents a plain product
/// can meet `inf · 0 = NaN`; this cannot, and for ordinary values it is the same number.
pub fn power_product(base: f64, factors: &[(f64, f64)]) -> f64 {
    let ln = libm::log(base) + factors.iter().map(|&(r, e)| e * libm::log(r)).sum::<f64>();
    libm::exp(ln.clamp(-LN_BOUND, LN_BOUND))
}

/// State of every country, as vectors indexed by country.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountryState {
    /// Researcher wage, $k/year.
    pub wage: Vec<f64>,
    /// Domestic venture capital V, $B/year.
    pub capital: Vec<f64>,
    /// Capital available to startups here A (domestic + foreign inflow), $B/year.
    pub available: Vec<f64>,
    /// Capital per startup a, $M/year.
    pub per_startup: Vec<f64>,
    /// Local innovation speed Ĩ (before spillovers).
    pub innovation_local: Vec<f64>,
    /// Innovation speed I.
    pub innovation: Vec<f64>,
    /// Installed compute K, GW.
    pub compute: Vec<f64>,
    /// Planned builds waiting for grid Q, GW.
    pub queue: Vec<f64>,
    /// The publicly funded part of Q, GW (infrastructure policies).
    pub queue_public: Vec<f64>,
    /// The public part of V ($B/year): capital policies' money after partial adjustment.
    pub capital_public: Vec<f64>,
    /// Wage premium π paid by wage policies, $k per researcher-year.
    pub premium: Vec<f64>,
    /// Money spent this tick, $B, by kind: infrastructure, grid, wages, ecosystem, capital.
    pub spent: [Vec<f64>; 5],
    /// Spare grid headroom G, GW.
    pub headroom: Vec<f64>,
    /// Compute built this tick, GW.
    pub built: Vec<f64>,
    /// Compute retired (obsolete) this tick, GW.
    pub retired: Vec<f64>,
    /// Capacity-weighted mean age of the installed compute, years: every connection ages with
    /// time, new builds enter at age 0, and obsolescence retires all vintages alike (so it
    /// leaves the mean unchanged).
    pub compute_age: Vec<f64>,
    /// Compute requested this tick, GW.
    pub requested: Vec<f64>,
    /// Ecosystem index E.
    pub ecosystem: Vec<f64>,
    /// Openness now.
    pub openness: Vec<f64>,
    /// Partnership strength now, C×C.
    pub partnership: Vec<f64>,
    /// Grid headroom in the pipeline, GW, ring of (lead + 1) slots × C.
    pub grid_pipeline: Vec<f64>,
    /// Labour demand baseline N0 (real researchers, floored at `scale`).
    pub n0: Vec<f64>,
    /// Innovation speed at t = 0 (floored at 1e-6).
    pub i0: Vec<f64>,
    /// Ecosystem index of the scenario (E0).
    pub e0: Vec<f64>,
    /// World talent at t = 0 divided by C (real units).
    pub h_ref: f64,
    /// World compute at t = 0 divided by C (GW).
    pub k_ref: f64,
    /// World capital per startup at t = 0, $M/year.
    pub a_ref: f64,
}

impl CountryState {
    /// State at t = 0 given the initial population.
    pub fn initial(
        s: &Scenario,
        p: &Params,
        agg: &impl Population,
        openness: Vec<f64>,
        partnership: Vec<f64>,
    ) -> Self {
        let c = p.c;
        let talent: Vec<f64> = (0..c).map(|k| agg.talent_at(k) * p.scale).collect();
        let compute: Vec<f64> = s.countries.iter().map(|k| k.compute_gw).collect();
        let mut st = CountryState {
            wage: s.countries.iter().map(|k| k.wage_k).collect(),
            capital: s.countries.iter().map(|k| k.vc_bn).collect(),
            available: vec![0.0; c],
            per_startup: vec![0.0; c],
            innovation_local: vec![0.0; c],
            innovation: vec![0.0; c],
            compute: compute.clone(),
            queue: vec![0.0; c],
            queue_public: vec![0.0; c],
            capital_public: vec![0.0; c],
            premium: vec![0.0; c],
            spent: std::array::from_fn(|_| vec![0.0; c]),
            headroom: s.countries.iter().map(|k| k.grid_headroom_gw).collect(),
            built: vec![0.0; c],
            retired: vec![0.0; c],
            compute_age: vec![initial_compute_age(s.infrastructure.compute_depreciation); c],
            requested: vec![0.0; c],
            ecosystem: s.countries.iter().map(|k| k.ecosystem).collect(),
            openness,
            partnership,
            grid_pipeline: vec![0.0; (p.grid_lead_ticks + 1) * c],
            n0: (0..c)
                .map(|k| (agg.researchers_at(k) * p.scale).max(p.scale))
                .collect(),
            i0: vec![1.0; c],
            e0: s.countries.iter().map(|k| k.ecosystem).collect(),
            h_ref: talent.iter().sum::<f64>() / c as f64,
            k_ref: compute.iter().sum::<f64>() / c as f64,
            a_ref: 1.0,
        };
        st.update_innovation(s, p, agg);
        st.i0 = st.innovation.iter().map(|&i| i.max(1e-6)).collect();
        st.update_available_capital(s, p, agg);
        let total_a: f64 = st.available.iter().sum();
        let total_s = (0..c).map(|k| agg.startups_at(k)).sum::<f64>() * p.scale;
        st.a_ref = (total_a * 1000.0 / total_s.max(p.scale)).max(CAPITAL_FLOOR);
        st
    }

    /// The country phase of tick `tick` (1-based), on aggregates from the end of the previous tick.
    pub fn step(
        &mut self,
        s: &Scenario,
        p: &Params,
        agg: &impl Population,
        fx: &PolicyEffects,
        tick: usize,
    ) {
        self.openness.clone_from(&fx.openness);
        self.partnership.clone_from(&fx.partnership);
        self.step_infrastructure(s, p, fx, tick);
        self.step_ecosystem(s, p, fx);
        self.update_innovation(s, p, agg);
        self.step_wages(s, p, agg, fx);
        self.step_capital(s, p, agg, fx, tick);
    }

    fn step_infrastructure(&mut self, s: &Scenario, p: &Params, fx: &PolicyEffects, tick: usize) {
        let inf = &s.infrastructure;
        let slots = p.grid_lead_ticks + 1;
        let arrive_slot = (tick + p.grid_lead_ticks) % slots;
        let now_slot = tick % slots;
        for k in 0..p.c {
            let requested =
                (fx.infrastructure[k] + s.countries[k].private_dc_bn) / p.tpy / inf.capex_bn_per_gw;
            self.requested[k] = requested;
            self.queue[k] += requested;
            self.queue_public[k] += fx.infrastructure[k] / p.tpy / inf.capex_bn_per_gw;
            self.grid_pipeline[arrive_slot * p.c + k] +=
                fx.grid[k] / p.tpy / inf.grid_cost_bn_per_gw;
            let arrived = std::mem::take(&mut self.grid_pipeline[now_slot * p.c + k]);
            self.headroom[k] += arrived + s.countries[k].grid_growth_gw / p.tpy;
            let built = self.queue[k].min(self.headroom[k]);
            // The queue is built pro rata: the public share of what is connected is paid now.
            let built_public = if self.queue[k] > 0.0 {
                (built * self.queue_public[k] / self.queue[k]).min(self.queue_public[k])
            } else {
                0.0
            };
            self.built[k] = built;
            let aged = self.compute[k];
            self.compute_age[k] = if aged + built > 0.0 {
                aged * (self.compute_age[k] + 1.0 / p.tpy) / (aged + built)
            } else {
                0.0
            };
            self.compute[k] += built;
            self.queue[k] -= built;
            self.queue_public[k] = (self.queue_public[k] - built_public).max(0.0);
            self.spent[0][k] = built_public * inf.capex_bn_per_gw;
            self.spent[1][k] = fx.grid[k] / p.tpy;
            self.headroom[k] -= built;
            let obsolete = self.compute[k] * p.depreciation;
            self.retired[k] = obsolete;
            self.compute[k] -= obsolete;
            self.headroom[k] += obsolete;
        }
    }

    fn step_ecosystem(&mut self, s: &Scenario, p: &Params, fx: &PolicyEffects) {
        let e = &s.ecosystem;
        for k in 0..p.c {
            let b = fx.ecosystem[k];
            self.spent[3][k] = b / p.tpy;
            let pull = if b > 0.0 {
                e.rate * b / (b + e.half_bn)
            } else {
                0.0
            };
            let now = self.ecosystem[k];
            let next = now + (pull * (1.0 - now) - e.decay * (now - self.e0[k])) / p.tpy;
            // Explicit Euler with huge rates could overshoot; E stays a share.
            self.ecosystem[k] = next.clamp(1e-6, 1.0);
        }
    }

    /// Ĩ and I from current ecosystem and compute and the talent in `agg`.
    fn update_innovation(&mut self, s: &Scenario, p: &Params, agg: &impl Population) {
        let inn = &s.innovation;
        for k in 0..p.c {
            let talent = agg.talent_at(k) * p.scale;
            let compute_ratio = if self.k_ref > 0.0 {
                1.0 + self.compute[k] / self.k_ref
            } else {
                1.0
            };
            self.innovation_local[k] = if talent > 0.0 && self.h_ref > 0.0 {
                power_product(
                    1.0,
                    &[
                        (self.ecosystem[k], inn.alpha),
                        (talent / self.h_ref, inn.lambda),
                        (compute_ratio, inn.gamma),
                    ],
                )
            } else {
                0.0
            };
        }
        for k in 0..p.c {
            let spill: f64 = (0..p.c)
                .map(|d| self.partnership[k * p.c + d] * self.innovation_local[d])
                .sum();
            self.innovation[k] = self.innovation_local[k] + inn.spillover * spill;
        }
    }

    fn step_wages(&mut self, s: &Scenario, p: &Params, agg: &impl Population, fx: &PolicyEffects) {
        let w = &s.wages;
        for k in 0..p.c {
            let researchers = agg.researchers_at(k) * p.scale;
            let supply = researchers.max(p.scale);
            let target = power_product(
                s.countries[k].wage_k,
                &[
                    (
                        self.innovation[k].max(INNOVATION_FLOOR) / self.i0[k],
                        w.innovation_elasticity,
                    ),
                    (self.n0[k] / supply, w.crowding),
                ],
            );
            // v2: the budget is paid out as a premium per head, sized for the initial workforce.
            let premium = wage_premium(fx.wages[k], researchers, self.n0[k]);
            self.premium[k] = premium;
            self.spent[2][k] = premium * researchers / 1e6 / p.tpy;
            // (1 − a)·w + a·w* rather than w + a·(w* − w): the same partial adjustment, without the
            // cancellation that turns a tiny target into exactly 0 when a = 1.
            self.wage[k] = (1.0 - w.adjust) * self.wage[k] + w.adjust * (target + premium);
        }
    }

    fn step_capital(
        &mut self,
        s: &Scenario,
        p: &Params,
        agg: &impl Population,
        fx: &PolicyEffects,
        tick: usize,
    ) {
        let cap = &s.capital;
        let years = tick as f64 / p.tpy;
        for k in 0..p.c {
            let vc = s.countries[k].vc_bn;
            let private = if vc > 0.0 {
                power_product(
                    vc,
                    &[
                        (1.0 + cap.growth, years),
                        (
                            self.innovation[k].max(INNOVATION_FLOOR) / self.i0[k],
                            cap.innovation_elasticity,
                        ),
                    ],
                )
            } else {
                0.0
            };
            let target = private + fx.capital[k];
            self.capital[k] = (1.0 - cap.adjust) * self.capital[k] + cap.adjust * target;
            // The public part of V follows its own budget by the same adjustment (V is linear
            // in its target, so V = private part + this).
            self.capital_public[k] =
                (1.0 - cap.adjust) * self.capital_public[k] + cap.adjust * fx.capital[k];
            self.spent[4][k] = self.capital_public[k] / p.tpy;
        }
        self.update_available_capital(s, p, agg);
    }

    /// A_c (domestic share plus the foreign share allocated by innovation and partnership) and a_c.
    fn update_available_capital(&mut self, s: &Scenario, p: &Params, agg: &impl Population) {
        let f = s.capital.foreign_share;
        let c = p.c;
        for k in 0..c {
            self.available[k] = (1.0 - f) * self.capital[k];
        }
        for d in 0..c {
            let weight = |k: usize| self.innovation[k] * (1.0 + self.partnership[d * c + k]);
            let total: f64 = (0..c).map(weight).sum();
            for k in 0..c {
                let share = if total > 0.0 {
                    weight(k) / total
                } else {
                    1.0 / c as f64
                };
                self.available[k] += f * self.capital[d] * share;
            }
        }
        for k in 0..c {
            let startups = agg.startups_at(k) * p.scale;
            self.per_startup[k] = self.available[k] * 1000.0 / startups.max(p.scale);
        }
    }

    /// `ln(1 + K_d / K_ref)`: compute relative to the world mean at t = 0, as it enters
    /// innovation and both utilities (0 in a world with no compute at t = 0, which has no
    /// reference).
    pub fn compute_term(&self, d: usize) -> f64 {
        if self.k_ref > 0.0 {
            libm::log1p(self.compute[d] / self.k_ref)
        } else {
            0.0
        }
    }
}

/// The wage premium (MODEL.md §4, **v2**), $k per researcher-year: `budget · 1e6 / max(N, N0)`
/// for a budget in $B/year, N researchers now and N0 at t = 0 (real units). The programme pays
/// its whole budget once N ≥ N0 and never more: `premium · N ≤ budget · 1e6`.
pub fn wage_premium(budget_bn: f64, researchers: f64, n0: f64) -> f64 {
    if budget_bn > 0.0 {
        budget_bn * 1e6 / researchers.max(n0)
    } else {
        0.0
    }
}

/// The spending kinds in [`CountryState::spent`], in order.
pub const SPENT_KINDS: [&str; 5] = ["infrastructure", "grid", "wages", "ecosystem", "capital"];

/// Mean age (years) of the initial compute: that of a stock built at a constant rate and retired
/// at the yearly share `d`, `(1 − d) / d` (4 years at the default 0.2), so a country that keeps
/// building keeps its age and one that stops sees it rise. No depreciation: 0 (no steady state;
/// the initial stock is counted as new).
pub fn initial_compute_age(d: f64) -> f64 {
    if d > 0.0 && d < 1.0 {
        (1.0 - d) / d
    } else {
        0.0
    }
}

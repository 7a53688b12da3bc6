//! The expected dynamics of a world (no sampling): what baseline calibration (MODEL.md §8)
//! matches to observed net migration.
//!
//! The engine is a density-dependent Markov chain: every agent decides with probabilities that
//! depend on the country state and on population aggregates. Replacing every count by its
//! expectation and propagating the expected state tick by tick gives the limit of the engine as
//! `agents → ∞` (the law of large numbers for such chains), computed once, deterministically,
//! and independently of the number of agents. This module does that with the engine's own
//! country phase ([`CountryState::step`]) and choice tables ([`ChoiceTables`]), which read the
//! population through [`Population`]:
//!
//! - researchers: expected counts per (home, location) cell, split into founders (who do not
//!   review) and others; per tick a cell loses `p_exit` of its members, its non-founders who do
//!   not exit review with probability `p_review` and move to d with the logit probability of
//!   their (home, location) row, stayers found startups at `found_per_skill_c · E[s]`, and
//!   entrants arrive at home;
//! - startups: an expected density over (country, stage, quality) for each tick at which a
//!   runway runs out; at that tick the mass raises with `1 − exp(−q a_c / round)` (quality on a
//!   fine grid of ln q), relocates with the startup logit (its founders moving along, which counts
//!   as migration), fails, dies or exits; a founder's exit kills its startup;
//! - talent is `E[s]` per researcher.
//!
//! What it leaves out (measured against replicated simulations in `tests/expected.rs` and
//! docs/ODD.md): the tilt of movers' and founders' skills (movers are chosen by mobility
//! `s^mobility_skill` and carry more talent and mobility than average; founders by skill), and
//! the covariance terms of a finite population. Over the first year they shift net migration by
//! far less than the standard errors of the targets.

use std::collections::BTreeMap;

use crate::model::aggregates::Population;
use crate::model::choice::ChoiceTables;
use crate::model::countries::{CountryState, CAPITAL_FLOOR};
use crate::model::params::Params;
use crate::model::policy::{base_relations, effects_at};
use crate::model::step::{raise_probability, LAST_STAGE};
use crate::scenario::Scenario;

/// Bins of the ln(quality) grid.
const QUALITY_BINS: usize = 160;
/// Half-width of the grid in standard deviations of ln q.
const QUALITY_SPAN: f64 = 7.0;
/// Startup stages (pre-seed … growth).
const STAGES: usize = LAST_STAGE as usize + 1;

/// The expected population, in agent units (as the engine's aggregates).
#[derive(Clone, Debug)]
pub struct ExpectedPopulation {
    c: usize,
    /// Researchers by (home, location), including founders.
    n: Vec<f64>,
    /// Founders by (home, location).
    f: Vec<f64>,
    /// Startups by location.
    startups: Vec<f64>,
    /// E[skill] of a researcher.
    mean_skill: f64,
}

impl ExpectedPopulation {
    /// Researchers by (home, location), agent units.
    pub fn cells(&self) -> &[f64] {
        &self.n
    }
}

impl Population for ExpectedPopulation {
    fn researchers_at(&self, k: usize) -> f64 {
        (0..self.c).map(|h| self.n[h * self.c + k]).sum()
    }
    fn talent_at(&self, k: usize) -> f64 {
        self.researchers_at(k) * self.mean_skill
    }
    fn startups_at(&self, k: usize) -> f64 {
        self.startups[k]
    }
    fn natives_of(&self, h: usize) -> f64 {
        self.n[h * self.c..(h + 1) * self.c].iter().sum()
    }
    fn born_in_at(&self, h: usize, c: usize) -> f64 {
        self.n[h * self.c + c]
    }
}

/// The ln(quality) grid and the two quality distributions on it.
#[derive(Clone, Debug)]
struct QualityGrid {
    /// Quality at each bin's midpoint.
    q: Vec<f64>,
    /// Mass per bin of the initial startups (founder skill as the population's).
    initial: Vec<f64>,
    /// Mass per bin of new startups (founders chosen in proportion to skill).
    new: Vec<f64>,
}

impl QualityGrid {
    fn new(skill_sigma: f64, quality_sigma: f64) -> QualityGrid {
        // ln q = ln s + ln ε: N(0, σ² + σ_q²) for a founder drawn at random, and N(σ², σ² + σ_q²)
        // for one drawn with probability ∝ s (a skill-weighted log-normal shifts its mean by σ²).
        let var = skill_sigma * skill_sigma + quality_sigma * quality_sigma;
        let sd = libm::sqrt(var).max(1e-6);
        let shift = skill_sigma * skill_sigma;
        let lo = -QUALITY_SPAN * sd;
        let hi = shift + QUALITY_SPAN * sd;
        let width = (hi - lo) / QUALITY_BINS as f64;
        let cdf =
            |x: f64, mu: f64| 0.5 * (1.0 + libm::erf((x - mu) / (sd * std::f64::consts::SQRT_2)));
        let masses = |mu: f64| -> Vec<f64> {
            (0..QUALITY_BINS)
                .map(|b| {
                    // The tails go to the end bins.
                    let a = if b == 0 {
                        f64::NEG_INFINITY
                    } else {
                        lo + b as f64 * width
                    };
                    let z = if b + 1 == QUALITY_BINS {
                        f64::INFINITY
                    } else {
                        lo + (b + 1) as f64 * width
                    };
                    let pa = if a.is_finite() { cdf(a, mu) } else { 0.0 };
                    let pz = if z.is_finite() { cdf(z, mu) } else { 1.0 };
                    pz - pa
                })
                .collect()
        };
        QualityGrid {
            q: (0..QUALITY_BINS)
                .map(|b| libm::exp(lo + (b as f64 + 0.5) * width))
                .collect(),
            initial: masses(0.0),
            new: masses(shift),
        }
    }
}

/// Normalised probabilities of a cumulative row, or `None` when its weights are degenerate
/// (then the engine keeps the agent where it is).
fn row_probabilities(cum: &[f64]) -> Option<Vec<f64>> {
    let total = *cum.last()?;
    (total > 0.0 && total.is_finite()).then(|| ChoiceTables::probabilities(cum))
}

/// Startups whose runway runs out at one tick: mass by `[country][stage][quality bin]`.
type Cohort = Vec<f64>;

/// What happened during one tick of the expected dynamics, per country, in real units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpectedTick {
    /// Researchers arriving (moves and founders following their startup).
    pub inflow: Vec<f64>,
    /// Researchers leaving.
    pub outflow: Vec<f64>,
    /// New researchers.
    pub entrants: Vec<f64>,
    /// Researchers leaving the field.
    pub retired: Vec<f64>,
    /// Researchers at the end of the tick.
    pub researchers: Vec<f64>,
    /// Startups at the end of the tick.
    pub startups: Vec<f64>,
}

/// The expected trajectory of a world: the initial researchers and each tick's events.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedRun {
    /// Researchers per country at t = 0, real units.
    pub initial_researchers: Vec<f64>,
    /// Ticks per year.
    pub ticks_per_year: usize,
    /// One entry per tick simulated.
    pub ticks: Vec<ExpectedTick>,
}

impl ExpectedRun {
    /// Net migration rate per year over the first `ticks_per_year` ticks, per country:
    /// Σ (inflow − outflow) / researchers at t = 0 (MODEL.md §8). Needs a year of ticks.
    pub fn first_year_net_migration(&self) -> Vec<f64> {
        let year = &self.ticks[..self.ticks_per_year.min(self.ticks.len())];
        self.initial_researchers
            .iter()
            .enumerate()
            .map(|(d, &n0)| {
                let net: f64 = year.iter().map(|t| t.inflow[d] - t.outflow[d]).sum();
                if n0 > 0.0 {
                    net / n0
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// The t = 0 part of the expected dynamics, which does not depend on the attractions: built
/// once, run for many attraction vectors ([`ExpectedModel::run`]).
#[derive(Clone, Debug)]
pub struct ExpectedModel {
    scenario: Scenario,
    params: Params,
    population: ExpectedPopulation,
    countries: CountryState,
    cohorts: BTreeMap<usize, Cohort>,
    grid: QualityGrid,
    base_openness: Vec<f64>,
    base_partnership: Vec<f64>,
}

impl ExpectedModel {
    /// The expected initial state of a checked scenario (its policies apply as in a run; baseline
    /// calibration passes a scenario without them).
    pub fn new(scenario: &Scenario) -> ExpectedModel {
        let s = scenario.clone();
        let p = Params::new(&s);
        let c = p.c;
        let matrix = crate::model::init::initial_matrix(&s);
        let agents = s.world.agents as f64;
        let n: Vec<f64> = matrix.shares.iter().map(|&x| x * agents).collect();
        let located: Vec<f64> = (0..c).map(|k| (0..c).map(|h| n[h * c + k]).sum()).collect();
        // Initial startups: startups / scale agents, at most one per researcher located there,
        // founded by researchers drawn at random among those located there.
        let startups: Vec<f64> = (0..c)
            .map(|k| (s.countries[k].startups / p.scale).min(located[k]))
            .collect();
        let mut f = vec![0.0; c * c];
        for k in 0..c {
            if located[k] > 0.0 {
                for h in 0..c {
                    f[h * c + k] = startups[k] * n[h * c + k] / located[k];
                }
            }
        }
        let sigma = s.world.skill_sigma;
        let population = ExpectedPopulation {
            c,
            n,
            f,
            startups: startups.clone(),
            mean_skill: libm::exp(sigma * sigma / 2.0),
        };
        let (base_openness, base_partnership) = base_relations(&s);
        let countries = CountryState::initial(
            &s,
            &p,
            &population,
            base_openness.clone(),
            base_partnership.clone(),
        );
        let grid = QualityGrid::new(sigma, s.startups.quality_sigma);
        // Stage uniform in 0..=3, runway (the tick it runs out) uniform in 1..=max.
        let max = p.initial_runway_max_ticks as usize;
        let mut cohorts = BTreeMap::new();
        for due in 1..=max {
            let mut cohort = vec![0.0; c * STAGES * QUALITY_BINS];
            for (k, &located_startups) in startups.iter().enumerate() {
                for stage in 0..4 {
                    let mass = located_startups / (4.0 * max as f64);
                    let at = (k * STAGES + stage) * QUALITY_BINS;
                    for (x, w) in cohort[at..at + QUALITY_BINS].iter_mut().zip(&grid.initial) {
                        *x = mass * w;
                    }
                }
            }
            cohorts.insert(due, cohort);
        }
        ExpectedModel {
            scenario: s,
            params: p,
            population,
            countries,
            cohorts,
            grid,
            base_openness,
            base_partnership,
        }
    }

    /// The scenario the model was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Researchers per country at t = 0, real units.
    pub fn initial_researchers(&self) -> Vec<f64> {
        (0..self.params.c)
            .map(|k| self.population.researchers_at(k) * self.params.scale)
            .collect()
    }

    /// Runs `ticks` ticks with the given attractions (one per country; `None` keeps the
    /// scenario's).
    pub fn run(&self, attraction: Option<&[f64]>, ticks: usize) -> ExpectedRun {
        let mut s = self.scenario.clone();
        if let Some(xi) = attraction {
            for (k, x) in s.countries.iter_mut().zip(xi) {
                k.attraction = *x;
            }
        }
        let mut state = State {
            population: self.population.clone(),
            countries: self.countries.clone(),
            cohorts: self.cohorts.clone(),
        };
        let out = (1..=ticks)
            .map(|t| state.step(&s, &self.params, &self.grid, self, t))
            .collect();
        ExpectedRun {
            initial_researchers: self.initial_researchers(),
            ticks_per_year: self.params.tpy as usize,
            ticks: out,
        }
    }
}

/// The evolving part of the expected dynamics.
struct State {
    population: ExpectedPopulation,
    countries: CountryState,
    cohorts: BTreeMap<usize, Cohort>,
}

impl State {
    fn step(
        &mut self,
        s: &Scenario,
        p: &Params,
        grid: &QualityGrid,
        model: &ExpectedModel,
        t: usize,
    ) -> ExpectedTick {
        let c = p.c;
        let year = s.world.start_year as f64 + (t as f64 - 1.0) / p.tpy;
        let fx = effects_at(s, &model.base_openness, &model.base_partnership, year);
        self.countries.step(s, p, &self.population, &fx, t);
        let st = &self.countries;
        let tables = ChoiceTables::build(s, p, st, &self.population);
        let pop = &self.population;
        let (n, f) = (&pop.n, &pop.f);
        let mut tick = ExpectedTick {
            inflow: vec![0.0; c],
            outflow: vec![0.0; c],
            entrants: vec![0.0; c],
            retired: vec![0.0; c],
            researchers: vec![0.0; c],
            startups: vec![0.0; c],
        };

        // Researchers who are not founders: exits, reviews and moves, foundings.
        let mut n_next = vec![0.0; c * c];
        let mut founded = vec![0.0; c * c];
        let found_per_skill: Vec<f64> = st
            .per_startup
            .iter()
            .map(|&a| {
                p.p_found * libm::pow(a.max(CAPITAL_FLOOR) / st.a_ref, s.behaviour.found_capital)
            })
            .collect();
        for h in 0..c {
            for here in 0..c {
                let free = (n[h * c + here] - f[h * c + here]).max(0.0);
                if free <= 0.0 {
                    continue;
                }
                let staying = free * (1.0 - p.p_exit);
                tick.retired[here] += free * p.p_exit;
                let reviewers = staying * p.p_review.min(1.0);
                let probs = row_probabilities(&tables.researcher_cumulative(h, here))
                    .unwrap_or_else(|| unit(c, here));
                let row = &mut n_next[h * c..(h + 1) * c];
                for (d, (x, &pd)) in row.iter_mut().zip(&probs).enumerate() {
                    if d != here {
                        let m = reviewers * pd;
                        *x += m;
                        tick.inflow[d] += m;
                    }
                }
                // The movers: reviewers who do not draw their own country.
                let left = reviewers * (1.0 - probs[here]);
                tick.outflow[here] += left;
                let stay = staying - left;
                n_next[h * c + here] += stay;
                let rate = (found_per_skill[here] * pop.mean_skill).min(1.0);
                founded[h * c + here] = stay * rate;
            }
        }

        // Startups: the cohort whose runway runs out now raises, relocates, fails or exits.
        let mut relocated = vec![0.0; c * c];
        let mut dead = vec![0.0; c];
        let mut succeeded: Cohort = vec![0.0; c * STAGES * QUALITY_BINS];
        let mut bridged: Cohort = vec![0.0; c * STAGES * QUALITY_BINS];
        if let Some(due) = self.cohorts.remove(&t) {
            let mut moving = [0.0; QUALITY_BINS];
            for k in 0..c {
                let a = st.per_startup[k];
                let stay_probs =
                    row_probabilities(&tables.startup_cumulative(k)).unwrap_or_else(|| unit(c, k));
                for stage in 0..STAGES {
                    let at = (k * STAGES + stage) * QUALITY_BINS;
                    let round = s.startups.round_m[stage];
                    let last = stage >= LAST_STAGE as usize;
                    moving.fill(0.0);
                    for b in 0..QUALITY_BINS {
                        let mass = due[at + b];
                        if mass <= 0.0 {
                            continue;
                        }
                        let pr = raise_probability(grid.q[b], a, round);
                        let ok = mass * pr;
                        let fail = mass - ok;
                        if last {
                            dead[k] += ok;
                        } else {
                            // Reviewers who pick their own country stay with the others.
                            let reviewing = ok * s.startups.relocate_rate;
                            succeeded[at + QUALITY_BINS + b] +=
                                ok - reviewing + reviewing * stay_probs[k];
                            moving[b] = reviewing;
                        }
                        dead[k] += fail * s.startups.die_on_fail;
                        bridged[at + b] += fail * (1.0 - s.startups.die_on_fail);
                    }
                    if last {
                        continue;
                    }
                    let moving_total: f64 = moving.iter().sum();
                    // Relocations: destination probabilities do not depend on quality, so each
                    // destination receives the whole quality profile, scaled (contiguous rows).
                    for (d, &pd) in stay_probs.iter().enumerate() {
                        if d == k || pd <= 0.0 {
                            continue;
                        }
                        let to = (d * STAGES + stage + 1) * QUALITY_BINS;
                        for (x, &m) in succeeded[to..to + QUALITY_BINS].iter_mut().zip(&moving) {
                            *x += m * pd;
                        }
                        relocated[k * c + d] += moving_total * pd;
                    }
                }
            }
        }
        // Founders: composition of each country's founders by home.
        let founders_at: Vec<f64> = (0..c).map(|k| (0..c).map(|h| f[h * c + k]).sum()).collect();
        let share: Vec<f64> = (0..c * c)
            .map(|hk| {
                let k = hk % c;
                if founders_at[k] > 0.0 {
                    f[hk] / founders_at[k]
                } else {
                    0.0
                }
            })
            .collect();
        let mut f_next = vec![0.0; c * c];
        for k in 0..c {
            let out_moves: f64 = (0..c)
                .filter(|&d| d != k)
                .map(|d| relocated[k * c + d])
                .sum();
            for h in 0..c {
                let phi = share[h * c + k];
                let row = &share[h * c..(h + 1) * c];
                let incoming: f64 = (0..c)
                    .filter(|&j| j != k)
                    .map(|j| row[j] * relocated[j * c + k])
                    .sum();
                // Founders still running a startup here, and founders freed by its death.
                let running = (f[h * c + k] - phi * (dead[k] + out_moves) + incoming).max(0.0);
                let freed = phi * dead[k];
                let kept = (running + freed) * (1.0 - p.p_exit);
                tick.retired[k] += (running + freed) * p.p_exit;
                n_next[h * c + k] += kept;
                f_next[h * c + k] = running * (1.0 - p.p_exit) + founded[h * c + k];
                tick.inflow[k] += incoming;
            }
            tick.outflow[k] += out_moves;
        }
        // A founder's exit kills its startup: every live startup survives with 1 − p_exit.
        let survive = 1.0 - p.p_exit;
        for cohort in self.cohorts.values_mut() {
            for x in cohort.iter_mut() {
                *x *= survive;
            }
        }
        let mut add = |due: usize, mut cohort: Cohort, scale: f64| {
            for x in &mut cohort {
                *x *= scale;
            }
            match self.cohorts.get_mut(&due) {
                Some(existing) => {
                    for (e, x) in existing.iter_mut().zip(&cohort) {
                        *e += x;
                    }
                }
                None => {
                    self.cohorts.insert(due, cohort);
                }
            }
        };
        add(t + p.runway_ticks as usize, succeeded, survive);
        add(t + p.bridge_ticks as usize, bridged, survive);
        let mut fresh: Cohort = vec![0.0; c * STAGES * QUALITY_BINS];
        for k in 0..c {
            let total: f64 = (0..c).map(|h| founded[h * c + k]).sum();
            let at = k * STAGES * QUALITY_BINS;
            for (x, w) in fresh[at..at + QUALITY_BINS].iter_mut().zip(&grid.new) {
                *x = total * w;
            }
        }
        add(t + p.new_runway_ticks as usize, fresh, 1.0);

        // Entrants, at home, split as the engine splits them.
        let weights: Vec<f64> = (0..c)
            .map(|k| s.countries[k].origin_share * st.ecosystem[k] / st.e0[k])
            .collect();
        let total_w: f64 = weights.iter().sum();
        for h in 0..c {
            let e = if total_w > 0.0 {
                p.entrant_agents_per_tick * weights[h] / total_w
            } else {
                0.0
            };
            n_next[h * c + h] += e;
            tick.entrants[h] = e;
        }

        let mut startups = vec![0.0; c];
        for cohort in self.cohorts.values() {
            for k in 0..c {
                startups[k] += cohort[k * STAGES * QUALITY_BINS..(k + 1) * STAGES * QUALITY_BINS]
                    .iter()
                    .sum::<f64>();
            }
        }
        self.population = ExpectedPopulation {
            c,
            n: n_next,
            f: f_next,
            startups,
            mean_skill: pop.mean_skill,
        };
        for k in 0..c {
            tick.researchers[k] = self.population.researchers_at(k) * p.scale;
            tick.startups[k] = self.population.startups[k] * p.scale;
        }
        for v in [
            &mut tick.inflow,
            &mut tick.outflow,
            &mut tick.entrants,
            &mut tick.retired,
        ] {
            for x in v.iter_mut() {
                *x *= p.scale;
            }
        }
        tick
    }
}

/// Probability 1 on `k`.
fn unit(c: usize, k: usize) -> Vec<f64> {
    let mut v = vec![0.0; c];
    v[k] = 1.0;
    v
}

/// The expected first-year net migration rate of every country (MODEL.md §8): the scenario's
/// baseline without its policies.
pub fn first_year_net_migration(scenario: &Scenario) -> Vec<f64> {
    let mut s = scenario.clone();
    s.policies.clear();
    let model = ExpectedModel::new(&s);
    model
        .run(None, s.world.ticks_per_year as usize)
        .first_year_net_migration()
}

//! Cohort tables, computed exactly from every agent: stay curves and the emigration hazard.
//!
//! # Stay curves
//!
//! A cohort is (home, location at start, entry): the initial population (entry at tick 0) or the
//! entrants of one calendar year of the run. Its stay curve at k years is
//!
//! ```text
//! stay(k) = stayed(k) / alive(k),
//! ```
//!
//! where `alive(k)` counts the members still in the field exactly k years (k · ticks_per_year
//! ticks) after their own entry tick and `stayed(k)` those of them who never left the country
//! they started in (a researcher who left and came back has not stayed). Each member is counted
//! at its own k-year mark, so a cohort's row for k exists only when every member has reached it
//! before the end of the run. Agents are stored by entry tick (stable removal, entrants
//! appended), so the members who reach a mark at a tick form one contiguous slice: the cost is
//! about one pass over the population per simulated year, plus two bytes per agent (the start
//! country and a "has left" bit).
//!
//! # Emigration hazard
//!
//! For each home country h, skill quintile q and year of the run: `emigrations` counts moves out of
//! h by researchers of home h (review moves and relocations with their startup), `person_years`
//! is the time researchers of home h spent in h, summed tick by tick over the snapshots each tick
//! decides on, and `hazard = emigrations / person_years` is the emigration rate per year at risk.
//! Quintiles are those of the skill distribution, LogNormal(0, skill_sigma), whose bounds are
//! `exp(skill_sigma · z)` for the standard-normal quantiles z of 0.2, 0.4, 0.6, 0.8.

use std::collections::BTreeMap;

use crate::model::agents::{remove_sorted_from, CountryId, Researchers};
use crate::model::observe::TickEvents;

/// The bit of a start entry that says the agent has left its start country.
const LEFT: u16 = 0x8000;

/// Standard-normal quantiles of 0.2, 0.4, 0.6 and 0.8.
const QUINTILE_Z: [f64; 4] = [
    -0.841_621_233_572_914_3,
    -0.253_347_103_135_799_7,
    0.253_347_103_135_799_7,
    0.841_621_233_572_914_3,
];

/// Number of skill classes.
pub const QUINTILES: usize = 5;

/// Alive and stayed counts of one (cohort, k) observation, per (home, start) cell.
pub type StayCounts = Vec<[u64; 2]>;

/// The cohort tables of one run, accumulated tick by tick.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cohorts {
    c: usize,
    ticks: usize,
    tpy: usize,
    bounds: [f32; 4],
    /// Per researcher (parallel to [`Researchers`]): start country, with [`LEFT`] once it left.
    start: Vec<u16>,
    /// (cohort, k) → C×C cells of [alive, stayed]; cohort 0 is the initial population, cohort
    /// 1 + e the entrants of year e.
    stay: BTreeMap<(u32, u32), StayCounts>,
    /// Researchers of each home at home, per quintile: `[h · 5 + q]`.
    at_home: Vec<u64>,
    /// Per year: person-ticks at home, `[h · 5 + q]`.
    exposure: Vec<Vec<u64>>,
    /// Per year: emigrations, `[h · 5 + q]`.
    emigrations: Vec<Vec<u64>>,
}

/// One row of the stay table.
#[derive(Clone, Debug, PartialEq)]
pub struct StayRow {
    /// Whether the cohort is the initial population (else the entrants of `entry_year`).
    pub initial: bool,
    /// Year of the run the cohort entered (0 for the initial population and the first year).
    pub entry_year: usize,
    /// Years since entry.
    pub k: usize,
    /// Country of origin.
    pub home: usize,
    /// Location at entry.
    pub start: usize,
    /// Members still in the field k years after entry.
    pub alive: u64,
    /// Of those, members who never left `start`.
    pub stayed: u64,
}

/// One row of the hazard table.
#[derive(Clone, Debug, PartialEq)]
pub struct HazardRow {
    /// Year of the run (0 = the first).
    pub year: usize,
    /// Country of origin.
    pub home: usize,
    /// Skill quintile, 0 (lowest) to 4.
    pub quintile: usize,
    /// Years spent at home by researchers of this home and quintile during the year.
    pub person_years: f64,
    /// Moves out of home during the year.
    pub emigrations: u64,
}

impl Cohorts {
    /// Starts the tables on the initial population `r` at tick 0.
    pub fn start(c: usize, ticks: usize, tpy: usize, skill_sigma: f64, r: &Researchers) -> Cohorts {
        let bounds = QUINTILE_Z.map(|z| libm::exp(skill_sigma * z) as f32);
        let years = ticks.div_ceil(tpy.max(1));
        let mut out = Cohorts {
            c,
            ticks,
            tpy: tpy.max(1),
            bounds,
            start: {
                // Room for the run's entrants, as the agents' own arrays have.
                let mut v = Vec::with_capacity(r.loc.capacity());
                v.extend_from_slice(&r.loc);
                v
            },
            stay: BTreeMap::new(),
            at_home: vec![0; c * QUINTILES],
            exposure: vec![vec![0; c * QUINTILES]; years],
            emigrations: vec![vec![0; c * QUINTILES]; years],
        };
        for i in 0..r.len() {
            if r.home[i] == r.loc[i] {
                let cell = out.cell(r.home[i], r.skill[i]);
                out.at_home[cell] += 1;
            }
        }
        out.measure(r, 0);
        out
    }

    /// Skill quintile of `skill`.
    pub fn quintile(&self, skill: f32) -> usize {
        self.bounds.iter().filter(|&&b| skill >= b).count()
    }

    fn cell(&self, home: CountryId, skill: f32) -> usize {
        home as usize * QUINTILES + self.quintile(skill)
    }

    /// Counts the members who reach a whole number of years since entry at tick `t`.
    fn measure(&mut self, r: &Researchers, t: usize) {
        let tpy = self.tpy;
        let born = &r.born_tick;
        let mut k = 0;
        while k * tpy <= t {
            let b = t - k * tpy;
            // The members born at tick b: a slice, since agents are in entry order.
            let lo = born.partition_point(|&x| (x as usize) < b);
            let hi = born.partition_point(|&x| (x as usize) <= b);
            if lo < hi {
                let cohort = if b == 0 { 0 } else { 1 + (b - 1) / tpy };
                let c = self.c;
                let cells = self
                    .stay
                    .entry((cohort as u32, k as u32))
                    .or_insert_with(|| vec![[0, 0]; c * c]);
                for i in lo..hi {
                    let s = self.start[i];
                    let cell = &mut cells[r.home[i] as usize * c + (s & !LEFT) as usize];
                    cell[0] += 1;
                    cell[1] += u64::from(s & LEFT == 0);
                }
            }
            k += 1;
        }
    }

    /// Follows one tick; `r` is the population after it.
    pub fn observe(&mut self, ev: &TickEvents<'_>, r: &Researchers) {
        let year = (ev.tick - 1) / self.tpy;
        for (e, &n) in self.exposure[year].iter_mut().zip(&self.at_home) {
            *e += n;
        }
        let moved = |this: &mut Cohorts, index: u32, home, from, to, skill| {
            this.start[index as usize] |= LEFT;
            let cell = this.cell(home, skill);
            if from == home {
                this.at_home[cell] -= 1;
                this.emigrations[year][cell] += 1;
            } else if to == home {
                this.at_home[cell] += 1;
            }
        };
        for m in ev.researcher_intents.iter().flat_map(|b| &b.moves) {
            moved(self, m.index, m.home, m.from, m.to, m.skill);
        }
        for x in ev.relocated {
            moved(self, x.founder, x.home, x.from, x.to, x.skill);
        }
        for x in ev.researcher_intents.iter().flat_map(|b| &b.exits) {
            // Where the researcher was when it left: its start unless it moved (then only a
            // founder's relocation can have changed it since the snapshot; see apply).
            let relocated = || ev.relocated.iter().rev().find(|m| m.founder == x.index);
            let loc = if x.founder {
                relocated().map_or(x.loc, |m| m.to)
            } else {
                x.loc
            };
            if loc == x.home {
                let cell = self.cell(x.home, x.skill);
                self.at_home[cell] -= 1;
            }
        }
        remove_sorted_from(&mut self.start, &ev.removals.researchers);
        let first = self.start.len();
        for i in first..r.len() {
            self.start.push(r.loc[i]);
            if r.home[i] == r.loc[i] {
                let cell = self.cell(r.home[i], r.skill[i]);
                self.at_home[cell] += 1;
            }
        }
        debug_assert_eq!(self.start.len(), r.len());
        self.measure(r, ev.tick);
    }

    /// The stay table: complete (cohort, k) observations only, in (cohort, k, home, start)
    /// order, cells with no member left out.
    pub fn stay_rows(&self) -> Vec<StayRow> {
        let mut rows = Vec::new();
        for (&(cohort, k), cells) in &self.stay {
            let (cohort, k) = (cohort as usize, k as usize);
            // The last member of the cohort reaches k years at this tick.
            let last_entry = if cohort == 0 { 0 } else { cohort * self.tpy };
            if last_entry + k * self.tpy > self.ticks {
                continue;
            }
            for (cell, &[alive, stayed]) in cells.iter().enumerate() {
                if alive == 0 {
                    continue;
                }
                rows.push(StayRow {
                    initial: cohort == 0,
                    entry_year: cohort.saturating_sub(1),
                    k,
                    home: cell / self.c,
                    start: cell % self.c,
                    alive,
                    stayed,
                });
            }
        }
        rows
    }

    /// The hazard table, in (year, home, quintile) order, cells with no exposure left out.
    pub fn hazard_rows(&self) -> Vec<HazardRow> {
        let mut rows = Vec::new();
        for (year, (exposure, emigrations)) in
            self.exposure.iter().zip(&self.emigrations).enumerate()
        {
            for cell in 0..self.c * QUINTILES {
                if exposure[cell] == 0 {
                    continue;
                }
                rows.push(HazardRow {
                    year,
                    home: cell / QUINTILES,
                    quintile: cell % QUINTILES,
                    person_years: exposure[cell] as f64 / self.tpy as f64,
                    emigrations: emigrations[cell],
                });
            }
        }
        rows
    }

    /// Ticks per year of the run.
    pub fn ticks_per_year(&self) -> usize {
        self.tpy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::apply::Removals;
    use crate::model::rng::{Phase, Streams};
    use crate::model::step::{Exit, Move, ResearcherIntents};

    /// A world stripped to the two rates the curves depend on: every tick each researcher leaves
    /// the field with probability `x`, else moves to the other country with probability `m`
    /// (one review rate, a fixed choice). Among those still in the field after t ticks, the share
    /// who never moved is `((1 − m − x) / (1 − x))^t`, a geometric stay curve, and the emigration
    /// hazard is `m` per tick at home, `m · tpy` per year.
    #[test]
    fn stay_curve_and_hazard_match_a_two_rate_world() {
        let (n, m, x, tpy, years) = (20_000usize, 0.01, 0.005, 12usize, 3usize);
        let ticks = tpy * years;
        let mut r = Researchers::with_capacity(n);
        for i in 0..n {
            // Skills spread over the quintiles of LogNormal(0, 0.5).
            let skill = libm::exp(0.5 * ((i % 100) as f64 / 50.0 - 1.0)) as f32;
            r.push(0, 0, skill, 1.0, 0);
        }
        let mut cohorts = Cohorts::start(2, ticks, tpy, 0.5, &r);
        let streams = Streams::new(1);
        for t in 1..=ticks {
            let mut rng = streams.stream(t, Phase::Researchers, 0);
            let mut intents = ResearcherIntents::default();
            for i in 0..r.len() {
                let u = rng.uniform();
                let (home, loc, skill) = (r.home[i], r.loc[i], r.skill[i]);
                if u < x {
                    intents.exits.push(Exit {
                        index: i as u32,
                        home,
                        loc,
                        skill,
                        mobility: 1.0,
                        founder: false,
                    });
                } else if u < x + m {
                    intents.moves.push(Move {
                        index: i as u32,
                        home,
                        from: loc,
                        to: 1 - loc,
                        skill,
                    });
                }
            }
            let before = r.len();
            for mv in &intents.moves {
                r.loc[mv.index as usize] = mv.to;
            }
            let removals = Removals {
                researchers: intents.exits.iter().map(|e| e.index).collect(),
                startups: Vec::new(),
            };
            r.remove_sorted(&removals.researchers);
            let ev = TickEvents {
                tick: t,
                researcher_intents: std::slice::from_ref(&intents),
                startup_intents: &[],
                relocated: &[],
                removals: &removals,
                researchers_before: before,
                startups_before: 0,
            };
            cohorts.observe(&ev, &r);
        }
        let rows = cohorts.stay_rows();
        assert_eq!(rows.len(), years + 1, "one cell, k = 0..={years}");
        for row in &rows {
            let p = libm::pow((1.0 - m - x) / (1.0 - x), (row.k * tpy) as f64);
            let share = row.stayed as f64 / row.alive as f64;
            let se = (p * (1.0 - p) / row.alive as f64).sqrt();
            assert!(
                (share - p).abs() <= 4.0 * se + 1e-12,
                "k = {}: stay {share}, geometric {p}",
                row.k
            );
            let alive = n as f64 * libm::pow(1.0 - x, (row.k * tpy) as f64);
            assert!((row.alive as f64 - alive).abs() < 4.0 * alive.sqrt());
        }
        // Emigration rate per year at home, pooled over quintiles and years.
        let hz = cohorts.hazard_rows();
        assert_eq!(hz.len(), years * QUINTILES, "all five quintiles occur");
        let (events, exposure) = hz.iter().fold((0u64, 0.0), |(e, py), h| {
            (e + h.emigrations, py + h.person_years)
        });
        let rate = events as f64 / exposure;
        let se = (events as f64).sqrt() / exposure;
        assert!(
            (rate - m * tpy as f64).abs() < 4.0 * se,
            "hazard {rate} per year, expected {}",
            m * tpy as f64
        );
    }
}

//! Sufficient statistics of the agent population, measured once per tick.
//!
//! Sums of skills are accumulated in fixed point (integers), so a parallel reduction gives the same
//! bits in any order: floating-point sums would depend on how rayon splits the work.

use rayon::prelude::*;

use crate::agents::{Researchers, Startups};
use crate::rng::BLOCK;

/// Fixed-point scale of skill sums (skills are f32 with a 24-bit mantissa).
const SKILL_ONE: f64 = (1u64 << 24) as f64;
/// Fixed-point scale of mobility sums.
const MOBILITY_ONE: f64 = (1u64 << 32) as f64;

/// Counts and sums per country, in agent units.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Aggregates {
    /// Number of countries.
    pub c: usize,
    /// Researcher agents per country.
    pub researchers: Vec<u64>,
    /// Σ skill per country, fixed point.
    pub talent_fixed: Vec<u128>,
    /// Startup agents per country.
    pub startups: Vec<u64>,
    /// Researcher agents by (home, location), row-major C×C.
    pub origin_location: Vec<u64>,
    /// Σ mobility over all researchers, fixed point.
    pub mobility_fixed: u128,
}

impl Aggregates {
    fn zero(c: usize) -> Aggregates {
        Aggregates {
            c,
            researchers: vec![0; c],
            talent_fixed: vec![0; c],
            startups: vec![0; c],
            origin_location: vec![0; c * c],
            mobility_fixed: 0,
        }
    }

    fn merge(mut self, other: Aggregates) -> Aggregates {
        for (a, b) in self.researchers.iter_mut().zip(&other.researchers) {
            *a += b;
        }
        for (a, b) in self.talent_fixed.iter_mut().zip(&other.talent_fixed) {
            *a += b;
        }
        for (a, b) in self.origin_location.iter_mut().zip(&other.origin_location) {
            *a += b;
        }
        self.mobility_fixed += other.mobility_fixed;
        self
    }

    /// Measures the population (parallel; identical result for any thread count).
    pub fn measure(c: usize, r: &Researchers, s: &Startups) -> Aggregates {
        let mut agg = (0..r.len().div_ceil(BLOCK))
            .into_par_iter()
            .fold(
                || Aggregates::zero(c),
                |mut acc, b| {
                    let range = b * BLOCK..((b + 1) * BLOCK).min(r.len());
                    for i in range {
                        let (h, l) = (r.home[i] as usize, r.loc[i] as usize);
                        acc.researchers[l] += 1;
                        acc.talent_fixed[l] += (f64::from(r.skill[i]) * SKILL_ONE).round() as u128;
                        acc.origin_location[h * c + l] += 1;
                        acc.mobility_fixed +=
                            (f64::from(r.mobility[i]) * MOBILITY_ONE).round() as u128;
                    }
                    acc
                },
            )
            .reduce(|| Aggregates::zero(c), Aggregates::merge);
        for &l in &s.loc {
            agg.startups[l as usize] += 1;
        }
        agg
    }

    /// Total researcher agents.
    pub fn total(&self) -> u64 {
        self.researchers.iter().sum()
    }

    /// Σ skill of the researchers in country `k`, in agent units.
    pub fn talent(&self, k: usize) -> f64 {
        self.talent_fixed[k] as f64 / SKILL_ONE
    }

    /// Mean mobility factor `skill^mobility_skill` over all researchers (1 if there are none).
    pub fn mean_mobility(&self) -> f64 {
        let n = self.total();
        if n == 0 {
            1.0
        } else {
            (self.mobility_fixed as f64 / MOBILITY_ONE) / n as f64
        }
    }

    /// Agents born in `h` and located in `l`.
    pub fn origin_location(&self, h: usize, l: usize) -> u64 {
        self.origin_location[h * self.c + l]
    }

    /// Agents born in `h`, wherever they are.
    pub fn natives(&self, h: usize) -> u64 {
        self.origin_location[h * self.c..(h + 1) * self.c]
            .iter()
            .sum()
    }
}

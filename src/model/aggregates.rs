//! Sufficient statistics of the agent population, measured once per tick.
//!
//! Sums of skills are accumulated in fixed point (integers), so a parallel reduction gives the same
//! bits in any order: floating-point sums would depend on how rayon splits the work.
//!
//! Because integer sums are exact, the aggregates need not be re-measured: the apply phase keeps
//! them up to date agent by agent ([`Aggregates::add_researcher`], [`Aggregates::move_researcher`],
//! ...), at a cost proportional to the events of a tick rather than to the population, and with
//! the same bits as a fresh [`Aggregates::measure`] (which `tests/conservation.rs` checks every
//! tick).

use rayon::prelude::*;

use crate::model::agents::{CountryId, Researchers, Startups};
use crate::model::rng::BLOCK;

/// Fixed-point scale of skill sums (skills are f32 with a 24-bit mantissa).
const SKILL_ONE: f64 = (1u64 << 24) as f64;
/// Fixed-point scale of mobility sums.
const MOBILITY_ONE: f64 = (1u64 << 32) as f64;

/// `x · one`, rounded half away from zero, for a finite `x ≥ 0`: the fixed-point value of a skill or
/// mobility. Equal to `(x * one).round() as u128`, without the slow float → u128 conversion and
/// libm `round` call in the common case.
#[inline]
fn fixed(x: f32, one: f64) -> u128 {
    let v = f64::from(x) * one;
    if v < 9.2e18 {
        // trunc(v) is exact, so is v − trunc(v); comparing the fraction with 0.5 rounds half up.
        let t = v as u64;
        u128::from(t + u64::from(v - t as f64 >= 0.5))
    } else {
        v.round() as u128
    }
}

/// Fixed-point value of one researcher's skill (its contribution to [`Aggregates::talent_fixed`]).
#[inline]
pub fn skill_fixed(skill: f32) -> u128 {
    fixed(skill, SKILL_ONE)
}

/// Fixed-point value of one researcher's mobility (its contribution to
/// [`Aggregates::mobility_fixed`]).
#[inline]
pub fn mobility_fixed(mobility: f32) -> u128 {
    fixed(mobility, MOBILITY_ONE)
}

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
    /// Nothing counted, for `c` countries.
    pub fn zero(c: usize) -> Aggregates {
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
                        acc.add_researcher(r.home[i], r.loc[i], r.skill[i], r.mobility[i]);
                    }
                    acc
                },
            )
            .reduce(|| Aggregates::zero(c), Aggregates::merge);
        for &l in &s.loc {
            agg.add_startup(l);
        }
        agg
    }

    /// Counts a researcher in.
    #[inline]
    pub fn add_researcher(&mut self, home: CountryId, loc: CountryId, skill: f32, mobility: f32) {
        let (h, l) = (home as usize, loc as usize);
        self.researchers[l] += 1;
        self.talent_fixed[l] += skill_fixed(skill);
        self.origin_location[h * self.c + l] += 1;
        self.mobility_fixed += mobility_fixed(mobility);
    }

    /// Counts a researcher out (one that was counted in).
    #[inline]
    pub fn remove_researcher(
        &mut self,
        home: CountryId,
        loc: CountryId,
        skill: f32,
        mobility: f32,
    ) {
        let (h, l) = (home as usize, loc as usize);
        self.researchers[l] -= 1;
        self.talent_fixed[l] -= skill_fixed(skill);
        self.origin_location[h * self.c + l] -= 1;
        self.mobility_fixed -= mobility_fixed(mobility);
    }

    /// Moves a counted researcher from `from` to `to`.
    #[inline]
    pub fn move_researcher(&mut self, home: CountryId, from: CountryId, to: CountryId, skill: f32) {
        let (h, f, t) = (home as usize, from as usize, to as usize);
        let v = skill_fixed(skill);
        self.researchers[f] -= 1;
        self.researchers[t] += 1;
        self.talent_fixed[f] -= v;
        self.talent_fixed[t] += v;
        self.origin_location[h * self.c + f] -= 1;
        self.origin_location[h * self.c + t] += 1;
    }

    /// Counts a startup at `loc` in.
    #[inline]
    pub fn add_startup(&mut self, loc: CountryId) {
        self.startups[loc as usize] += 1;
    }

    /// Counts a startup at `loc` out.
    #[inline]
    pub fn remove_startup(&mut self, loc: CountryId) {
        self.startups[loc as usize] -= 1;
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

/// What the country phase and the choice tables read of the population, in agent units: the
/// engine's exact [`Aggregates`], or the expected population of [`crate::model::expected`]
/// (fractional), so that the expectation runs the very same country and choice code.
pub trait Population {
    /// Researchers located in `k`.
    fn researchers_at(&self, k: usize) -> f64;
    /// Σ skill of the researchers located in `k`.
    fn talent_at(&self, k: usize) -> f64;
    /// Startups located in `k`.
    fn startups_at(&self, k: usize) -> f64;
    /// Researchers born in `h`, wherever they work.
    fn natives_of(&self, h: usize) -> f64;
    /// Researchers born in `h` working in `c`.
    fn born_in_at(&self, h: usize, c: usize) -> f64;
}

impl Population for Aggregates {
    #[inline]
    fn researchers_at(&self, k: usize) -> f64 {
        self.researchers[k] as f64
    }
    #[inline]
    fn talent_at(&self, k: usize) -> f64 {
        self.talent(k)
    }
    #[inline]
    fn startups_at(&self, k: usize) -> f64 {
        self.startups[k] as f64
    }
    #[inline]
    fn natives_of(&self, h: usize) -> f64 {
        self.natives(h) as f64
    }
    #[inline]
    fn born_in_at(&self, h: usize, c: usize) -> f64 {
        self.origin_location(h, c) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_rounds_like_f64_round() {
        let one = SKILL_ONE;
        for x in [
            0.0f32,
            1e-30,
            0.5 / 16_777_216.0,
            1.5 / 16_777_216.0,
            2.5 / 16_777_216.0,
            0.3,
            1.0,
            1.234_567_9,
            37.5,
            1e6,
            1e12,
            3e38,
        ] {
            let reference = (f64::from(x) * one).round() as u128;
            assert_eq!(fixed(x, one), reference, "x = {x}");
            let reference = (f64::from(x) * MOBILITY_ONE).round() as u128;
            assert_eq!(fixed(x, MOBILITY_ONE), reference, "x = {x}");
        }
        let mut x = 1e-9f32;
        while x < 1e9 {
            assert_eq!(fixed(x, one), (f64::from(x) * one).round() as u128);
            x = f32::from_bits(x.to_bits() + 9_973);
        }
    }

    #[test]
    fn incremental_updates_match_a_measurement() {
        let mut r = Researchers::default();
        for i in 0..50u16 {
            r.push(
                i % 3,
                (i * 7) % 3,
                0.1 + f32::from(i) * 0.37,
                1.0 / (1.0 + f32::from(i)),
                0,
            );
        }
        let s = Startups::default();
        let mut agg = Aggregates::measure(3, &r, &s);
        agg.move_researcher(r.home[4], r.loc[4], 2, r.skill[4]);
        r.loc[4] = 2;
        agg.remove_researcher(r.home[9], r.loc[9], r.skill[9], r.mobility[9]);
        r.remove_sorted(&[9]);
        r.push(1, 1, 2.75, 0.6, 1);
        agg.add_researcher(1, 1, 2.75, 0.6);
        assert_eq!(agg, Aggregates::measure(3, &r, &s));
    }
}

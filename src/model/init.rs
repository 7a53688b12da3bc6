//! Initialisation (MODEL.md §5, last paragraph): the researcher population and initial startups.
//!
//! **v2**: the researchers reproduce the scenario's origin, location and home-stay shares to
//! within one agent per (home, location) cell (see [`crate::scenario::initial`]).

use rayon::prelude::*;

use crate::model::agents::{CountryId, Researchers, Startups};
use crate::model::params::Params;
use crate::model::rng::{Phase, Streams, BLOCK};
use crate::scenario::initial::{self, InitialMatrix};
use crate::scenario::Scenario;

/// The initial origin × location shares of a scenario (MODEL.md §5, **v2**; see
/// [`crate::scenario::initial`]). Validation refuses shares that admit no matrix; for a scenario
/// built in code and never validated, the independent matrix `o_h · l_c` (right margins, not the
/// home-stay diagonal) stands in, so initialisation cannot fail.
pub fn initial_matrix(s: &Scenario) -> InitialMatrix {
    initial::initial_matrix(s).unwrap_or_else(|_| {
        let c = s.num_countries();
        let to: f64 = s.countries.iter().map(|k| k.origin_share).sum();
        let tl: f64 = s.countries.iter().map(|k| k.location_share).sum();
        let mut shares = vec![0.0; c * c];
        for (h, a) in s.countries.iter().enumerate() {
            for (d, b) in s.countries.iter().enumerate() {
                shares[h * c + d] = a.origin_share / to * b.location_share / tl;
            }
        }
        InitialMatrix {
            c,
            shares,
            iterations: 0,
        }
    })
}

/// The initial researchers: `agents · M[h, c]` of them in each (home, location) cell, rounded by
/// largest remainder ([`initial::cell_counts`]), laid out in cell order; skills drawn block by
/// block. The cell counts have no sampling noise; only skills (and startups) are random.
///
/// Fails only when the memory for the population (and its entrants) cannot be reserved.
pub fn researchers(
    s: &Scenario,
    p: &Params,
    streams: &Streams,
) -> Result<Researchers, std::collections::TryReserveError> {
    let c = p.c;
    let n = s.world.agents as usize;
    let counts = initial::cell_counts(&initial_matrix(s), n as u64);
    // Index of the first agent of each cell, and one past the last agent.
    let mut starts = Vec::with_capacity(counts.len() + 1);
    let mut acc = 0usize;
    for &k in &counts {
        starts.push(acc);
        acc += k as usize;
    }
    starts.push(acc);
    let sigma = s.world.skill_sigma;
    let mobility_skill = s.behaviour.mobility_skill;
    let mut r = Researchers::try_with_capacity(capacity(n, p))?;
    r.home.resize(n, 0);
    r.loc.resize(n, 0);
    r.skill.resize(n, 0.0);
    r.mobility.resize(n, 0.0);
    r.founder.resize(n, false);
    r.born_tick.resize(n, 0);
    // Drawn in place, block by block: no temporary copy of the population.
    r.home
        .par_chunks_mut(BLOCK)
        .zip(r.loc.par_chunks_mut(BLOCK))
        .zip(r.skill.par_chunks_mut(BLOCK))
        .zip(r.mobility.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(b, (((homes, locs), skills), mobilities))| {
            let mut rng = streams.stream(0, Phase::InitResearchers, b);
            let first = b * BLOCK;
            // The cell of the block's first agent: the last cell starting at or before it.
            let mut cell = starts.partition_point(|&x| x <= first) - 1;
            for k in 0..homes.len() {
                while starts[cell + 1] <= first + k {
                    cell += 1;
                }
                let skill = rng.lognormal(sigma);
                homes[k] = (cell / c) as CountryId;
                locs[k] = (cell % c) as CountryId;
                skills[k] = skill as f32;
                mobilities[k] = libm::pow(skill, mobility_skill) as f32;
            }
        });
    Ok(r)
}

/// Capacity to reserve for `n` initial researchers: room for every entrant the run can add
/// (at most ⌈expected⌉ per country and tick), capped at 4n. Untouched capacity costs address
/// space, not memory; a reallocation would briefly need the old and the new arrays.
fn capacity(n: usize, p: &Params) -> usize {
    let per_tick = p.entrant_agents_per_tick.max(0.0).ceil() as usize + p.c;
    n + (p.ticks.saturating_mul(per_tick)).min(4 * n)
}

/// Draws the initial startups of each country: `startups / scale` agents (fractional part by a
/// Bernoulli draw), each founded by a distinct researcher located there, stage uniform in 0..=3,
/// runway uniform in 1..=`initial_runway_max_months`. A country cannot have more startups than
/// researchers to found them; the excess is dropped (and reported by the caller).
pub fn startups(
    s: &Scenario,
    p: &Params,
    streams: &Streams,
    r: &mut Researchers,
) -> (Startups, u64) {
    let c = p.c;
    let mut by_country: Vec<Vec<u32>> = vec![Vec::new(); c];
    for (i, &l) in r.loc.iter().enumerate() {
        by_country[l as usize].push(i as u32);
    }
    let mut drawn: Vec<(u32, CountryId, f32, u8, u32)> = Vec::new();
    let mut dropped = 0u64;
    for (k, candidates) in by_country.iter_mut().enumerate() {
        let mut rng = streams.stream(0, Phase::InitStartups, k);
        let expected = s.countries[k].startups / p.scale;
        let whole = expected.floor();
        // `as` saturates: a figure beyond u64 is simply "more than there are founders".
        let wanted = (whole as u64).saturating_add(u64::from(rng.uniform() < expected - whole));
        let n = usize::try_from(wanted).map_or(candidates.len(), |w| w.min(candidates.len()));
        dropped = dropped.saturating_add(wanted - n as u64);
        // Partial Fisher–Yates: the first n candidates become a uniform sample of founders.
        for t in 0..n {
            let pick = t
                + ((rng.uniform() * (candidates.len() - t) as f64) as usize)
                    .min(candidates.len() - t - 1);
            candidates.swap(t, pick);
            let f = candidates[t];
            let skill = f64::from(r.skill[f as usize]);
            let quality = (skill * rng.lognormal(s.startups.quality_sigma)) as f32;
            let stage = (rng.uniform() * 4.0) as u8;
            let runway = 1 + (rng.uniform() * f64::from(p.initial_runway_max_ticks)) as u32;
            drawn.push((
                f,
                k as CountryId,
                quality,
                stage.min(3),
                runway.min(p.initial_runway_max_ticks),
            ));
        }
    }
    // Startups are stored in founder order, like startups founded later.
    drawn.sort_by_key(|d| d.0);
    let mut st = Startups::default();
    for (f, k, quality, stage, runway) in drawn {
        r.founder[f as usize] = true;
        st.push(k, f, quality, stage, runway, 0);
    }
    (st, dropped)
}

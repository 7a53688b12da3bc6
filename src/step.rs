//! The agent phase (MODEL.md §5): every agent decides on the same snapshot and records intents.
//!
//! Agents are processed in fixed blocks of [`BLOCK`]; block `b` draws from the stream
//! (seed, tick, phase, b) and writes its intents to its own buffer, so the collected intents —
//! in block order — are identical for any number of threads. Nothing here changes shared state.

use rayon::prelude::*;

use crate::agents::{CountryId, Researchers, Startups};
use crate::choice::ChoiceTables;
use crate::rng::{Phase, Streams, BLOCK};

/// Per-tick inputs of the researcher step, computed by the country phase.
#[derive(Clone, Debug)]
pub struct ResearcherContext {
    /// Exit probability per tick.
    pub p_exit: f64,
    /// Review probability per tick of a researcher of average mobility.
    pub p_review: f64,
    /// Mean of `skill^mobility_skill` over the population at the snapshot.
    pub mean_mobility: f64,
    /// Founding probability per tick per unit of skill, per country (capital factor included).
    pub found_per_skill: Vec<f64>,
    /// Sigma of the log-normal quality multiplier.
    pub quality_sigma: f64,
}

/// What the researchers of one block decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResearcherIntents {
    /// Researchers leaving the field (ascending index).
    pub exits: Vec<u32>,
    /// Researchers moving, with their destination (ascending index).
    pub moves: Vec<(u32, CountryId)>,
    /// Researchers founding a startup, with its quality (ascending index).
    pub founds: Vec<(u32, f32)>,
}

/// Runs the researcher step over all researchers; one intents buffer per block, in block order.
pub fn researcher_phase(
    r: &Researchers,
    tables: &ChoiceTables,
    ctx: &ResearcherContext,
    streams: &Streams,
    tick: usize,
) -> Vec<ResearcherIntents> {
    let blocks = r.len().div_ceil(BLOCK);
    (0..blocks)
        .into_par_iter()
        .map(|b| {
            let mut rng = streams.stream(tick, Phase::Researchers, b);
            let mut out = ResearcherIntents::default();
            let review_scale = ctx.p_review / ctx.mean_mobility;
            for i in b * BLOCK..((b + 1) * BLOCK).min(r.len()) {
                if rng.uniform() < ctx.p_exit {
                    out.exits.push(i as u32);
                    continue;
                }
                if r.founder[i] {
                    continue;
                }
                let here = r.loc[i] as usize;
                let p_review = (review_scale * f64::from(r.mobility[i])).min(1.0);
                if rng.uniform() < p_review {
                    if let Some(row) = tables.researcher_row(r.home[i] as usize, here) {
                        let dest = rng.pick(row);
                        if dest != here {
                            out.moves.push((i as u32, dest as CountryId));
                            continue;
                        }
                    }
                }
                let skill = f64::from(r.skill[i]);
                let p_found = (ctx.found_per_skill[here] * skill).min(1.0);
                if rng.uniform() < p_found {
                    let quality = skill * rng.lognormal(ctx.quality_sigma);
                    out.founds.push((i as u32, quality as f32));
                }
            }
            out
        })
        .collect()
}

/// Per-tick inputs of the startup step.
#[derive(Clone, Debug)]
pub struct StartupContext {
    /// Capital per startup, $M/year, per country.
    pub per_startup: Vec<f64>,
    /// Round size per stage, $M.
    pub round_m: Vec<f64>,
    /// Runway after a raise, ticks.
    pub runway_ticks: u32,
    /// Runway after a survived failure, ticks.
    pub bridge_ticks: u32,
    /// Probability that a failed raise kills the startup.
    pub die_on_fail: f64,
    /// Probability of a location review after a raise.
    pub relocate_rate: f64,
}

/// Stage of a startup whose next successful raise is an exit.
pub const LAST_STAGE: u8 = 4;

/// What the startups of one block decided (their own runway, stage and money are updated in place).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartupIntents {
    /// Startups that failed a raise and die (ascending index).
    pub failed: Vec<u32>,
    /// Startups that exited (ascending index).
    pub exited: Vec<u32>,
    /// Startups relocating, with destination (ascending index).
    pub relocations: Vec<(u32, CountryId)>,
}

/// The probability that a startup of quality `q` raises its round at `stage` with capital `a`.
pub fn raise_probability(quality: f64, per_startup: f64, round_m: f64) -> f64 {
    1.0 - libm::exp(-quality * per_startup / round_m)
}

/// Runs the startup step; updates each startup's own runway, stage and money in place.
pub fn startup_phase(
    s: &mut Startups,
    tables: &ChoiceTables,
    ctx: &StartupContext,
    streams: &Streams,
    tick: usize,
) -> Vec<StartupIntents> {
    let (loc, quality) = (&s.loc, &s.quality);
    s.stage
        .par_chunks_mut(BLOCK)
        .zip(s.runway.par_chunks_mut(BLOCK))
        .zip(s.raised.par_chunks_mut(BLOCK))
        .enumerate()
        .map(|(b, ((stage, runway), raised))| {
            let mut rng = streams.stream(tick, Phase::Startups, b);
            let mut out = StartupIntents::default();
            for k in 0..stage.len() {
                let j = b * BLOCK + k;
                runway[k] = runway[k].saturating_sub(1);
                if runway[k] > 0 {
                    continue;
                }
                let here = loc[j] as usize;
                let round = ctx.round_m[stage[k] as usize];
                let p = raise_probability(f64::from(quality[j]), ctx.per_startup[here], round);
                if rng.uniform() < p {
                    raised[k] += round;
                    if stage[k] >= LAST_STAGE {
                        out.exited.push(j as u32);
                        continue;
                    }
                    stage[k] += 1;
                    runway[k] = ctx.runway_ticks;
                    if rng.uniform() < ctx.relocate_rate {
                        let dest = rng.pick(tables.startup_row(here));
                        if dest != here {
                            out.relocations.push((j as u32, dest as CountryId));
                        }
                    }
                } else if rng.uniform() < ctx.die_on_fail {
                    out.failed.push(j as u32);
                } else {
                    runway[k] = ctx.bridge_ticks;
                }
            }
            out
        })
        .collect()
}

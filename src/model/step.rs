//! The agent phase (MODEL.md §5): every agent decides on the same snapshot and records intents.
//!
//! Agents are processed in fixed blocks of [`BLOCK`]; block `b` draws from the stream
//! (seed, tick, phase, b) and writes its intents to its own buffer, so the collected intents —
//! in block order — are identical for any number of threads. Nothing here changes shared state.
//!
//! Researchers do not draw a random number each per tick: a block jumps from one event to the
//! next (geometric gaps for exits, thinned candidates for reviews and foundings; see
//! [`researcher_phase`]), so its cost is a pass over two arrays plus a few draws per event.
//! Startups, whose runway changes every tick, are visited one by one and decide with 32-bit
//! Bernoulli draws ([`crate::model::rng::Rng::chance`]).

use rayon::prelude::*;

use crate::model::agents::{CountryId, Researchers, Startups};
use crate::model::choice::ChoiceTables;
use crate::model::rng::{Phase, Rng, Streams, BLOCK};

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

/// A researcher leaving the field, with the state apply needs (read here, in parallel, while
/// the agent's cache lines are at hand, rather than gathered again in the sequential apply).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exit {
    /// Index of the researcher.
    pub index: u32,
    /// Country of origin.
    pub home: CountryId,
    /// Location at the snapshot. A founder may have been moved since by its startup's
    /// relocation (apply step 2), so apply reads a founder's location again.
    pub loc: CountryId,
    /// Skill.
    pub skill: f32,
    /// Mobility factor.
    pub mobility: f32,
    /// Whether the researcher runs a startup.
    pub founder: bool,
}

/// A researcher moving to another country.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Move {
    /// Index of the researcher.
    pub index: u32,
    /// Country of origin.
    pub home: CountryId,
    /// Country left.
    pub from: CountryId,
    /// Destination.
    pub to: CountryId,
    /// Skill.
    pub skill: f32,
}

/// A researcher founding a startup.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    /// Index of the researcher (before this tick's removals).
    pub index: u32,
    /// Where the researcher works, and the startup will be.
    pub loc: CountryId,
    /// Quality of the startup.
    pub quality: f32,
}

/// What the researchers of one block decided; every list is in ascending index order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResearcherIntents {
    /// Researchers leaving the field.
    pub exits: Vec<Exit>,
    /// Researchers moving.
    pub moves: Vec<Move>,
    /// Researchers founding a startup.
    pub founds: Vec<Found>,
}

/// Runs the researcher step over all researchers; one intents buffer per block, in block order.
///
/// Each researcher's three decisions — exit, review, found — are independent Bernoulli draws
/// (MODEL.md §5). Drawing them agent by agent would cost three random numbers per agent per
/// tick, for events that happen to one agent in a hundred. Instead each block jumps from one
/// event to the next:
///
/// - exits, with the same probability `p` for everyone, are a Bernoulli process: the gap to the
///   next exit is geometric, `⌊ln u / ln(1 − p)⌋` with u uniform in (0, 1];
/// - reviews and foundings, whose probabilities `p_i` vary by agent, are thinned: candidates are
///   drawn as a Bernoulli process at the block's largest probability `p_max` and each candidate
///   is kept with probability `p_i / p_max`, which makes agent i a reviewer (founder) with
///   probability exactly `p_i`, independently of the others.
///
/// The three processes use disjoint draws, so each agent's decisions are independent as the model
/// says; an agent's review or founding candidacy is simply ignored when an earlier step of the
/// model (exit, running a startup, moving) rules it out. The cost is one pass over skills and
/// mobilities (for the bounds) and a few draws per event instead of per agent.
pub fn researcher_phase(
    r: &Researchers,
    tables: &ChoiceTables,
    ctx: &ResearcherContext,
    streams: &Streams,
    tick: usize,
) -> Vec<ResearcherIntents> {
    let blocks = r.len().div_ceil(BLOCK);
    let review_scale = ctx.p_review / ctx.mean_mobility;
    let found_scale = ctx.found_per_skill.iter().copied().fold(0.0, f64::max);
    (0..blocks)
        .into_par_iter()
        .map(|b| {
            let mut rng = streams.stream(tick, Phase::Researchers, b);
            let mut out = ResearcherIntents::default();
            let range = b * BLOCK..((b + 1) * BLOCK).min(r.len());
            let first = range.start;
            let (home, loc) = (&r.home[range.clone()], &r.loc[range.clone()]);
            let (skill, mobility) = (&r.skill[range.clone()], &r.mobility[range.clone()]);
            let founder = &r.founder[range];
            let n = home.len();

            let review_max = (review_scale * f64::from(max_of(mobility))).min(1.0);
            let found_max = (found_scale * f64::from(max_of(skill))).min(1.0);
            let exits = Gaps::new(ctx.p_exit);
            let reviews = Gaps::new(review_max);
            let founds = Gaps::new(found_max);
            let mut next_exit = exits.next(&mut rng, 0, n);
            let mut next_review = reviews.next(&mut rng, 0, n);
            let mut next_found = founds.next(&mut rng, 0, n);
            loop {
                let k = next_exit.min(next_review).min(next_found);
                if k >= n {
                    break;
                }
                let i = (first + k) as u32;
                let exit = next_exit == k;
                if exit {
                    next_exit = exits.next(&mut rng, k + 1, n);
                }
                let review = next_review == k;
                if review {
                    next_review = reviews.next(&mut rng, k + 1, n);
                }
                let found = next_found == k;
                if found {
                    next_found = founds.next(&mut rng, k + 1, n);
                }
                if exit {
                    out.exits.push(Exit {
                        index: i,
                        home: home[k],
                        loc: loc[k],
                        skill: skill[k],
                        mobility: mobility[k],
                        founder: founder[k],
                    });
                    continue;
                }
                if founder[k] {
                    continue;
                }
                let here = loc[k] as usize;
                let p_review = (review_scale * f64::from(mobility[k])).min(1.0);
                if review && rng.chance(p_review / review_max) {
                    let dest = tables.pick_researcher(home[k] as usize, here, &mut rng);
                    if dest != here {
                        out.moves.push(Move {
                            index: i,
                            home: home[k],
                            from: loc[k],
                            to: dest as CountryId,
                            skill: skill[k],
                        });
                        continue;
                    }
                }
                let s = f64::from(skill[k]);
                let p_found = (ctx.found_per_skill[here] * s).min(1.0);
                if found && rng.chance(p_found / found_max) {
                    let quality = s * rng.lognormal(ctx.quality_sigma);
                    out.founds.push(Found {
                        index: i,
                        loc: loc[k],
                        quality: quality as f32,
                    });
                }
            }
            out
        })
        .collect()
}

/// Largest of non-negative values (0 for none). Eight independent running maxima (a select per
/// lane, which compiles to `maxps` even on baseline x86-64) are combined at the end; a maximum
/// does not depend on the order of comparisons, so the result is exact.
fn max_of(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
    }
    lanes
        .iter()
        .chain(rest)
        .fold(0.0, |m, &x| if x > m { x } else { m })
}

/// Gaps between the successes of a Bernoulli process with success probability `p` per agent.
struct Gaps {
    /// `ln(1 − p)`: 0 when `p` is 0 (no successes), −∞ when `p` is 1 (every agent).
    log_q: f64,
}

impl Gaps {
    fn new(p: f64) -> Gaps {
        Gaps {
            log_q: libm::log1p(-p.clamp(0.0, 1.0)),
        }
    }

    /// Index of the next success at or after `from`, or `n` if there is none before `n`.
    #[inline]
    fn next(&self, rng: &mut Rng, from: usize, n: usize) -> usize {
        if self.log_q == 0.0 || from >= n {
            return n;
        }
        if self.log_q == f64::NEG_INFINITY {
            return from;
        }
        // P(gap ≥ g) = P(u ≤ (1 − p)^g) = (1 − p)^g.
        let u = 1.0 - rng.uniform();
        let gap = libm::log(u) / self.log_q;
        if gap < (n - from) as f64 {
            from + gap as usize
        } else {
            n
        }
    }
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
                if rng.chance(p) {
                    raised[k] += round;
                    if stage[k] >= LAST_STAGE {
                        out.exited.push(j as u32);
                        continue;
                    }
                    stage[k] += 1;
                    runway[k] = ctx.runway_ticks;
                    if rng.chance(ctx.relocate_rate) {
                        let dest = tables.pick_startup(here, &mut rng);
                        if dest != here {
                            out.relocations.push((j as u32, dest as CountryId));
                        }
                    }
                } else if rng.chance(ctx.die_on_fail) {
                    out.failed.push(j as u32);
                } else {
                    runway[k] = ctx.bridge_ticks;
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_of_is_the_largest_value() {
        assert_eq!(max_of(&[]), 0.0);
        for n in [1, 7, 8, 9, 33, 4096] {
            let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 * 0.37).collect();
            let expected = v.iter().copied().fold(0.0, f32::max);
            assert_eq!(max_of(&v), expected, "n = {n}");
            let mut last_big = v.clone();
            last_big[n - 1] = 1e9;
            assert_eq!(max_of(&last_big), 1e9, "n = {n}");
        }
    }

    #[test]
    fn gaps_are_geometric() {
        let mut rng = Streams::new(4).stream(1, Phase::Researchers, 0);
        for p in [0.005, 0.2, 0.9] {
            let gaps = Gaps::new(p);
            let (n, draws) = (1usize << 40, 200_000);
            let mean = (0..draws)
                .map(|_| gaps.next(&mut rng, 0, n) as f64)
                .sum::<f64>()
                / draws as f64;
            // Mean of the failures before a success: (1 − p)/p, standard deviation √(1 − p)/p.
            let (expected, sd) = ((1.0 - p) / p, (1.0 - p).sqrt() / p);
            assert!(
                (mean - expected).abs() < 5.0 * sd / (draws as f64).sqrt(),
                "p = {p}: mean gap {mean} vs {expected}"
            );
        }
        assert_eq!(Gaps::new(0.0).next(&mut rng, 3, 10), 10);
        assert_eq!(Gaps::new(1.0).next(&mut rng, 3, 10), 3);
        assert_eq!(Gaps::new(0.5).next(&mut rng, 10, 10), 10);
    }
}

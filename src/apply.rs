//! The apply phase (MODEL.md §3, step 4): intents become state changes, in a fixed order —
//! moves, startup relocations (the founder moves along), deaths and exits (stable removal),
//! new startups (by founder index), entrants (by country). Deterministic; the only O(N) work, the
//! stable removal of the agents who left, runs array by array in parallel (see
//! [`Researchers::remove_sorted`]), and the entrants' skills are drawn in parallel blocks.
//!
//! The population [`Aggregates`] are updated here, event by event, instead of being re-measured
//! from the whole population after the tick: their sums are integers, so the result is the same.

use rayon::prelude::*;

use crate::agents::{shifted_index, CountryId, Researchers, Startups};
use crate::aggregates::Aggregates;
use crate::rng::{Phase, Streams, BLOCK};
use crate::step::{ResearcherIntents, StartupIntents};

/// What happened during one tick, per country, in agent units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickCounts {
    /// Researchers arriving (moves and founders following their startup).
    pub inflow: Vec<u64>,
    /// Researchers leaving.
    pub outflow: Vec<u64>,
    /// New researchers.
    pub entrants: Vec<u64>,
    /// Researchers who left the field (counted where they were when they left).
    pub retired: Vec<u64>,
    /// Startups founded.
    pub founded: Vec<u64>,
    /// Startups that died: a failed raise, or their founder left the field.
    pub failed: Vec<u64>,
    /// Startups that exited (successful last raise).
    pub exits: Vec<u64>,
    /// Startups that relocated away (counted at the origin).
    pub relocated: Vec<u64>,
    /// Researcher moves c → d, C×C.
    pub flows: Vec<u64>,
}

impl TickCounts {
    /// All zero for `c` countries.
    pub fn zero(c: usize) -> TickCounts {
        TickCounts {
            inflow: vec![0; c],
            outflow: vec![0; c],
            entrants: vec![0; c],
            retired: vec![0; c],
            founded: vec![0; c],
            failed: vec![0; c],
            exits: vec![0; c],
            relocated: vec![0; c],
            flows: vec![0; c * c],
        }
    }

    fn record_move(&mut self, c: usize, from: usize, to: usize) {
        self.outflow[from] += 1;
        self.inflow[to] += 1;
        self.flows[from * c + to] += 1;
    }
}

/// Inputs of new researchers for one tick.
pub struct EntrantPlan<'a> {
    /// Expected entrant agents per country (fractional).
    pub expected: &'a [f64],
    /// Sigma of the log-normal skill.
    pub skill_sigma: f64,
    /// Exponent of skill in mobility.
    pub mobility_skill: f64,
    /// Runway of a new startup, ticks.
    pub new_runway_ticks: u32,
}

/// Applies the intents of tick `tick`, keeping `agg` equal to a measurement of (`r`, `s`);
/// returns what happened.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    r: &mut Researchers,
    s: &mut Startups,
    agg: &mut Aggregates,
    researcher_intents: &[ResearcherIntents],
    startup_intents: &[StartupIntents],
    plan: &EntrantPlan<'_>,
    streams: &Streams,
    tick: usize,
) -> TickCounts {
    let c = plan.expected.len();
    let mut counts = TickCounts::zero(c);

    // 1. Researcher moves.
    for &(i, dest) in researcher_intents.iter().flat_map(|b| &b.moves) {
        let i = i as usize;
        let from = r.loc[i];
        agg.move_researcher(r.home[i], from, dest, r.skill[i]);
        r.loc[i] = dest;
        counts.record_move(c, from as usize, dest as usize);
    }

    // 2. Startup relocations; the founder moves with the startup.
    for &(j, dest) in startup_intents.iter().flat_map(|b| &b.relocations) {
        let from = s.loc[j as usize];
        s.loc[j as usize] = dest;
        agg.remove_startup(from);
        agg.add_startup(dest);
        counts.relocated[from as usize] += 1;
        let f = s.founder[j as usize] as usize;
        let founder_from = r.loc[f];
        agg.move_researcher(r.home[f], founder_from, dest, r.skill[f]);
        r.loc[f] = dest;
        counts.record_move(c, founder_from as usize, dest as usize);
    }

    // 3. Deaths and exits. Researchers first; a startup whose founder left dies with them.
    let exits: Vec<u32> = researcher_intents
        .iter()
        .flat_map(|b| b.exits.iter().copied())
        .collect();
    for &i in &exits {
        let i = i as usize;
        counts.retired[r.loc[i] as usize] += 1;
        agg.remove_researcher(r.home[i], r.loc[i], r.skill[i], r.mobility[i]);
    }
    // Few of those who leave run a startup: searching among them is cheaper than among all.
    let leaving_founders: Vec<u32> = exits
        .iter()
        .copied()
        .filter(|&i| r.founder[i as usize])
        .collect();
    let mut dead_startups: Vec<u32> = Vec::new();
    let (mut failed, mut exited) = (
        startup_intents
            .iter()
            .flat_map(|b| b.failed.iter().copied())
            .peekable(),
        startup_intents
            .iter()
            .flat_map(|b| b.exited.iter().copied())
            .peekable(),
    );
    for j in 0..s.len() as u32 {
        let founder = s.founder[j as usize];
        let founder_left = leaving_founders.binary_search(&founder).is_ok();
        let is_failed = failed.next_if_eq(&j).is_some();
        let is_exited = exited.next_if_eq(&j).is_some();
        if !(founder_left || is_failed || is_exited) {
            continue;
        }
        let here = s.loc[j as usize];
        agg.remove_startup(here);
        if is_exited {
            counts.exits[here as usize] += 1;
        } else {
            counts.failed[here as usize] += 1;
        }
        if !founder_left {
            r.founder[founder as usize] = false;
        }
        dead_startups.push(j);
    }
    s.remove_sorted(&dead_startups);
    r.remove_sorted(&exits);
    if !exits.is_empty() {
        s.founder.par_chunks_mut(BLOCK).for_each(|chunk| {
            for f in chunk {
                *f = shifted_index(*f, &exits);
            }
        });
    }

    // 4. New startups, in founder order (founders cannot have left: they did not exit).
    for &(i, quality) in researcher_intents.iter().flat_map(|b| &b.founds) {
        let f = shifted_index(i, &exits) as usize;
        let here = r.loc[f];
        r.founder[f] = true;
        s.push(
            here,
            f as u32,
            quality,
            0,
            plan.new_runway_ticks,
            tick as u32,
        );
        agg.add_startup(here);
        counts.founded[here as usize] += 1;
    }

    // 5. Entrants: how many per country from one stream; their skills, in country order, from
    // one stream per block of BLOCK entrants, drawn in parallel.
    let mut rng = streams.stream(tick, Phase::Entrants, 0);
    for (k, &expected) in plan.expected.iter().enumerate() {
        let whole = expected.floor();
        counts.entrants[k] = whole as u64 + u64::from(rng.uniform() < expected - whole);
    }
    let total = counts.entrants.iter().sum::<u64>() as usize;
    let drawn: Vec<Vec<(f32, f32)>> = (0..total.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = streams.stream(tick, Phase::Entrants, b + 1);
            (b * BLOCK..((b + 1) * BLOCK).min(total))
                .map(|_| {
                    let skill = rng.lognormal(plan.skill_sigma);
                    let mobility = libm::pow(skill, plan.mobility_skill);
                    (skill as f32, mobility as f32)
                })
                .collect()
        })
        .collect();
    let mut skills = drawn.iter().flatten();
    for (k, &n) in counts.entrants.iter().enumerate() {
        let k = k as CountryId;
        for &(skill, mobility) in skills.by_ref().take(n as usize) {
            r.push(k, k, skill, mobility, tick as u32);
            agg.add_researcher(k, k, skill, mobility);
        }
    }
    counts
}

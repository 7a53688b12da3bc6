//! The apply phase (MODEL.md §3, step 4): intents become state changes, in a fixed order —
//! moves, startup relocations (the founder moves along), deaths and exits (stable removal),
//! new startups (by founder index), entrants (by country). Deterministic; the only O(N) work, the
//! stable removal of the agents who left, runs array by array in parallel (see
//! [`Researchers::remove_sorted`]), and the entrants' skills are drawn in parallel blocks.
//!
//! The population [`Aggregates`] are updated here, event by event, instead of being re-measured
//! from the whole population after the tick: their sums are integers, so the result is the same.

use rayon::prelude::*;

use crate::model::agents::{CountryId, IndexShift, Researchers, Startups};
use crate::model::aggregates::Aggregates;
use crate::model::rng::{Phase, Streams, BLOCK};
use crate::model::step::{ResearcherIntents, StartupIntents};

/// Entrants per random stream (and unit of parallel work) when drawing their skills: a tick's
/// entrants are few (0.5% of the population), so blocks smaller than [`BLOCK`] keep both
/// threads busy.
pub const ENTRANT_BLOCK: usize = 512;

/// What happened during one tick, per country, in agent units.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Which agents a tick removed, by their index before the tick (both lists ascending): what an
/// observer of individual agents ([`crate::model::observe`]) needs to follow indices through the
/// stable removal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removals {
    /// Researchers who left the field.
    pub researchers: Vec<u32>,
    /// Startups that died or exited.
    pub startups: Vec<u32>,
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
    apply_logged(
        r,
        s,
        agg,
        researcher_intents,
        startup_intents,
        plan,
        streams,
        tick,
    )
    .0
}

/// [`apply`], also returning the [`Removals`] (lists it builds anyway, so this costs nothing).
#[allow(clippy::too_many_arguments)]
pub fn apply_logged(
    r: &mut Researchers,
    s: &mut Startups,
    agg: &mut Aggregates,
    researcher_intents: &[ResearcherIntents],
    startup_intents: &[StartupIntents],
    plan: &EntrantPlan<'_>,
    streams: &Streams,
    tick: usize,
) -> (TickCounts, Removals) {
    let c = plan.expected.len();
    let mut counts = TickCounts::zero(c);

    // 1. Researcher moves.
    for m in researcher_intents.iter().flat_map(|b| &b.moves) {
        agg.move_researcher(m.home, m.from, m.to, m.skill);
        r.loc[m.index as usize] = m.to;
        counts.record_move(c, m.from as usize, m.to as usize);
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
    let mut exits: Vec<u32> = Vec::new();
    let mut leaving_founders: Vec<u32> = Vec::new();
    for x in researcher_intents.iter().flat_map(|b| &b.exits) {
        // A founder's startup may have relocated it since the snapshot.
        let loc = if x.founder {
            leaving_founders.push(x.index);
            r.loc[x.index as usize]
        } else {
            x.loc
        };
        counts.retired[loc as usize] += 1;
        agg.remove_researcher(x.home, loc, x.skill, x.mobility);
        exits.push(x.index);
    }
    // Startups die when their founder leaves (found by a parallel scan that looks each founder
    // up among the few leaving founders of its index range), fail a raise, or exit.
    let orphaned: Vec<u32> = if leaving_founders.is_empty() {
        Vec::new()
    } else {
        let leaving = IndexShift::new(&leaving_founders, r.len());
        let per_block: Vec<Vec<u32>> = s
            .founder
            .par_chunks(BLOCK)
            .enumerate()
            .map(|(b, chunk)| {
                (0..chunk.len())
                    .filter(|&k| leaving.contains(chunk[k]))
                    .map(|k| (b * BLOCK + k) as u32)
                    .collect()
            })
            .collect();
        per_block.concat()
    };
    let failed: Vec<u32> = startup_intents
        .iter()
        .flat_map(|b| b.failed.iter().copied())
        .collect();
    let exited: Vec<u32> = startup_intents
        .iter()
        .flat_map(|b| b.exited.iter().copied())
        .collect();
    let mut dead_startups: Vec<u32> = Vec::new();
    let (mut o, mut f, mut e) = (0, 0, 0);
    // The three lists are ascending; walk their union in order.
    loop {
        let head = |v: &[u32], k: usize| v.get(k).copied().unwrap_or(u32::MAX);
        let j = head(&orphaned, o)
            .min(head(&failed, f))
            .min(head(&exited, e));
        if j == u32::MAX {
            break;
        }
        let founder_left = head(&orphaned, o) == j;
        let is_exited = head(&exited, e) == j;
        o += usize::from(founder_left);
        f += usize::from(head(&failed, f) == j);
        e += usize::from(is_exited);
        let here = s.loc[j as usize];
        agg.remove_startup(here);
        if is_exited {
            counts.exits[here as usize] += 1;
        } else {
            counts.failed[here as usize] += 1;
        }
        if !founder_left {
            r.founder[s.founder[j as usize] as usize] = false;
        }
        dead_startups.push(j);
    }
    s.remove_sorted(&dead_startups);
    let shift = IndexShift::new(&exits, r.len());
    r.remove_sorted(&exits);
    if !exits.is_empty() {
        s.founder.par_chunks_mut(BLOCK).for_each(|chunk| {
            for f in chunk {
                *f = shift.new_index(*f);
            }
        });
    }

    // 4. New startups, in founder order (founders cannot have left: they did not exit).
    for found in researcher_intents.iter().flat_map(|b| &b.founds) {
        let f = shift.new_index(found.index) as usize;
        let here = found.loc;
        r.founder[f] = true;
        s.push(
            here,
            f as u32,
            found.quality,
            0,
            plan.new_runway_ticks,
            tick as u32,
        );
        agg.add_startup(here);
        counts.founded[here as usize] += 1;
    }

    // 5. Entrants: how many per country from one stream; their skills, in country order, from
    // one stream per block of ENTRANT_BLOCK entrants, drawn in parallel.
    let mut rng = streams.stream(tick, Phase::Entrants, 0);
    for (k, &expected) in plan.expected.iter().enumerate() {
        let whole = expected.floor();
        counts.entrants[k] = whole as u64 + u64::from(rng.uniform() < expected - whole);
    }
    let total = counts.entrants.iter().sum::<u64>() as usize;
    let drawn: Vec<Vec<(f32, f32)>> = (0..total.div_ceil(ENTRANT_BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = streams.stream(tick, Phase::Entrants, b + 1);
            (b * ENTRANT_BLOCK..((b + 1) * ENTRANT_BLOCK).min(total))
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
    let removals = Removals {
        researchers: exits,
        startups: dead_startups,
    };
    (counts, removals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entrants_are_drawn_as_odd_7_12_describes() {
        // Three countries; 700.6 expected entrants in the last, so the skills span two blocks.
        let expected = [1.3, 0.0, 700.6];
        let plan = EntrantPlan {
            expected: &expected,
            skill_sigma: 0.5,
            mobility_skill: 0.7,
            new_runway_ticks: 12,
        };
        let (streams, tick) = (Streams::new(9), 5);
        let (mut r, mut s) = (Researchers::default(), Startups::default());
        let mut agg = Aggregates::zero(3);
        let counts = apply(&mut r, &mut s, &mut agg, &[], &[], &plan, &streams, tick);

        // 1. Counts: one uniform per country, in country order, from (t, Entrants, 0).
        let mut rng = streams.stream(tick, Phase::Entrants, 0);
        let n: Vec<u64> = expected
            .iter()
            .map(|&e: &f64| e.floor() as u64 + u64::from(rng.uniform() < e - e.floor()))
            .collect();
        assert_eq!(counts.entrants, n);
        let total = n.iter().sum::<u64>() as usize;
        assert!(total > ENTRANT_BLOCK, "two blocks of skills: {total}");
        // 2. Skills: entrant e (country order) draws from (t, Entrants, 1 + e / 512), in order.
        let mut block_rngs: Vec<_> = (0..total.div_ceil(ENTRANT_BLOCK))
            .map(|b| streams.stream(tick, Phase::Entrants, b + 1))
            .collect();
        let countries = n.iter().enumerate().flat_map(|(k, &m)| vec![k; m as usize]);
        assert_eq!(r.skill.len(), total);
        for (e, k) in countries.enumerate() {
            let skill = block_rngs[e / ENTRANT_BLOCK].lognormal(0.5);
            assert_eq!(r.skill[e], skill as f32, "entrant {e}");
            assert_eq!(r.mobility[e], libm::pow(skill, 0.7) as f32, "entrant {e}");
            assert_eq!((r.home[e], r.loc[e]), (k as CountryId, k as CountryId));
            assert_eq!((r.founder[e], r.born_tick[e]), (false, tick as u32));
        }
        assert_eq!(agg, Aggregates::measure(3, &r, &s));
    }
}

//! Observers of individual agents: what a tick did to whom, for the agent panel
//! ([`crate::model::panel`]) and the cohort tables ([`crate::model::cohort`]).
//!
//! Agents have no stored identity: an agent's index is its rank by creation among the living
//! (removal is stable and entrants are appended, see [`crate::model::agents`]). An observer follows
//! indices through each tick's removals and counts creations, which gives every agent ever created
//! an id that never repeats — its creation rank — without a single byte added to the agents, so
//! runs without observers are untouched (same memory, same checkpoint bytes).
//!
//! Observers only read the state and the tick's intents; they draw no random numbers and change
//! nothing, so switching them on changes no other output.

use crate::model::agents::{CountryId, Researchers, Startups};
use crate::model::apply::Removals;
use crate::model::cohort::Cohorts;
use crate::model::panel::{Panel, PanelOptions};
use crate::model::step::{ResearcherIntents, StartupIntents};

/// Which observers a run carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObserveOptions {
    /// The agent panel, if any.
    pub panel: Option<PanelOptions>,
    /// Whether to compute the cohort tables (stay curves, emigration hazard).
    pub cohorts: bool,
}

impl ObserveOptions {
    /// Whether any observer is on.
    pub fn any(&self) -> bool {
        self.panel.is_some() || self.cohorts
    }
}

/// A founder moved by its startup's relocation, as it was before the move.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Relocated {
    /// Index of the startup (before the tick's removals).
    pub startup: u32,
    /// Index of its founder (before the tick's removals).
    pub founder: u32,
    /// The founder's country of origin.
    pub home: CountryId,
    /// The founder's location before the relocation.
    pub from: CountryId,
    /// Destination.
    pub to: CountryId,
    /// The founder's skill.
    pub skill: f32,
}

impl Relocated {
    /// The relocations of a tick's startup intents, read from the state before apply.
    pub fn collect(
        r: &Researchers,
        s: &Startups,
        startup_intents: &[StartupIntents],
    ) -> Vec<Relocated> {
        startup_intents
            .iter()
            .flat_map(|b| &b.relocations)
            .map(|&(j, to)| {
                let f = s.founder[j as usize];
                Relocated {
                    startup: j,
                    founder: f,
                    home: r.home[f as usize],
                    from: r.loc[f as usize],
                    to,
                    skill: r.skill[f as usize],
                }
            })
            .collect()
    }
}

/// Everything a tick did to individual agents, in the order apply did it (MODEL.md §3 step 4):
/// moves, relocations, removals, new startups (appended in founder order), entrants (appended).
pub struct TickEvents<'a> {
    /// The tick (1-based).
    pub tick: usize,
    /// The researchers' intents (indices before the tick's removals).
    pub researcher_intents: &'a [ResearcherIntents],
    /// The startups' intents (indices before the tick's removals).
    pub startup_intents: &'a [StartupIntents],
    /// The relocations with their founders, as before apply.
    pub relocated: &'a [Relocated],
    /// Who was removed.
    pub removals: &'a Removals,
    /// Researchers before the tick's removals and entrants.
    pub researchers_before: usize,
    /// Startups before the tick's removals and foundings.
    pub startups_before: usize,
}

/// The observers of one run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Observers {
    /// The agent panel.
    pub panel: Option<Panel>,
    /// The cohort tables.
    pub cohorts: Option<Cohorts>,
}

impl Observers {
    /// Observers of a run whose initial population is (`r`, `s`) at tick 0.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        opts: &ObserveOptions,
        seed: u64,
        c: usize,
        ticks: usize,
        tpy: usize,
        skill_sigma: f64,
        r: &Researchers,
        s: &Startups,
    ) -> Observers {
        Observers {
            panel: opts
                .panel
                .as_ref()
                .map(|p| Panel::start(p, seed, ticks, r, s)),
            cohorts: opts
                .cohorts
                .then(|| Cohorts::start(c, ticks, tpy, skill_sigma, r)),
        }
    }

    /// Follows tick `ev.tick`; (`r`, `s`) is the state after it.
    pub fn observe(&mut self, ev: &TickEvents<'_>, r: &Researchers, s: &Startups) {
        if let Some(p) = &mut self.panel {
            p.observe(ev, r, s);
        }
        if let Some(c) = &mut self.cohorts {
            c.observe(ev, r);
        }
    }
}

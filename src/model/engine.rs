//! The schedule (MODEL.md §3): policies → countries → agents → apply → record, once per tick.
//!
//! [`Simulation`] owns the whole state of a run. Every phase reads a snapshot and writes its own
//! outputs, and every random draw is addressed by (seed, tick, phase, block), so a run is a pure
//! function of (scenario, seed, version) whatever the thread count.

use serde::{Deserialize, Serialize};

use crate::model::agents::{Researchers, Startups};
use crate::model::aggregates::Aggregates;
use crate::model::apply::{apply_logged, EntrantPlan, TickCounts};
use crate::model::choice::ChoiceTables;
use crate::model::countries::CountryState;
use crate::model::observe::{ObserveOptions, Observers, Relocated, TickEvents};
use crate::model::params::Params;
use crate::model::policy::{base_relations, effects_at};
use crate::model::profile::{Lap, PhaseTimes};
use crate::model::record::Recorder;
use crate::model::rng::Streams;
use crate::model::step::{researcher_phase, startup_phase, ResearcherContext, StartupContext};
use crate::scenario::ValidScenario;

/// One run of the model.
#[derive(Clone, Debug)]
pub struct Simulation {
    scenario: ValidScenario,
    params: Params,
    seed: u64,
    streams: Streams,
    state: State,
    times: PhaseTimes,
    /// Observers of individual agents (panel, cohorts), if any: outside [`State`], so a run
    /// without them checkpoints and runs exactly as before.
    observers: Option<Box<Observers>>,
}

impl Simulation {
    /// Initialises a run of a validated scenario (from a loader such as
    /// [`crate::scenario::load_file`], or [`crate::scenario::Scenario::validate`]).
    ///
    /// # Panics
    ///
    /// When the memory for the population or the recorder cannot be reserved; programs that
    /// run scenarios they did not write themselves use [`Simulation::try_new`].
    pub fn new(scenario: ValidScenario, seed: u64) -> Simulation {
        match Simulation::try_new(scenario, seed) {
            Ok(sim) => sim,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`Simulation::new`], or an error naming what could not be allocated.
    pub fn try_new(scenario: ValidScenario, seed: u64) -> Result<Simulation, OutOfMemory> {
        let mut lap = Lap::start();
        let params = Params::new(&scenario);
        let streams = Streams::new(seed);
        let agents = scenario.world.agents;
        let oom = |what: &str| OutOfMemory {
            what: what.to_string(),
            agents,
            ticks: params.ticks,
            countries: params.c,
        };
        let mut researchers = crate::model::init::researchers(&scenario, &params, &streams)
            .map_err(|_| oom("the researcher population (with room for every entrant)"))?;
        let (startups, dropped) =
            crate::model::init::startups(&scenario, &params, &streams, &mut researchers);
        let aggregates = Aggregates::measure(params.c, &researchers, &startups);
        let (base_openness, base_partnership) = base_relations(&scenario);
        let countries = CountryState::initial(
            &scenario,
            &params,
            &aggregates,
            base_openness.clone(),
            base_partnership.clone(),
        );
        let mut recorder =
            Recorder::try_new(params.c, params.ticks).map_err(|_| oom("the recorded outputs"))?;
        recorder.record(
            0,
            params.scale,
            scenario.infrastructure.capex_bn_per_gw,
            &aggregates,
            &countries,
            None,
        );
        let mut times = PhaseTimes::default();
        lap.lap(&mut times, 0);
        let state = State {
            tick: 0,
            researchers,
            startups,
            countries,
            aggregates,
            base_openness,
            base_partnership,
            recorder,
            last_counts: TickCounts::zero(params.c),
            dropped_initial_startups: dropped,
        };
        Ok(Simulation {
            scenario,
            params,
            seed,
            streams,
            state,
            times,
            observers: None,
        })
    }

    /// Initialises a run with observers of individual agents ([`crate::model::observe`]): the
    /// agent panel and the cohort tables. Every other output is the same as [`Simulation::new`]'s.
    pub fn with_observers(
        scenario: ValidScenario,
        seed: u64,
        opts: &ObserveOptions,
    ) -> Result<Simulation, OutOfMemory> {
        let mut sim = Simulation::try_new(scenario, seed)?;
        if opts.any() {
            let obs = Observers::start(
                opts,
                seed,
                sim.params.c,
                sim.params.ticks,
                sim.scenario.world.ticks_per_year as usize,
                sim.scenario.world.skill_sigma,
                &sim.state.researchers,
                &sim.state.startups,
            );
            sim.observers = Some(Box::new(obs));
        }
        Ok(sim)
    }

    /// The observers, if the run has any.
    pub fn observers(&self) -> Option<&Observers> {
        self.observers.as_deref()
    }

    /// Replaces the observers (a resumed run's, read back with its checkpoint).
    pub fn set_observers(&mut self, observers: Option<Observers>) {
        self.observers = observers.map(Box::new);
    }

    /// Takes the observers out of the run (at its end, to write their tables).
    pub fn take_observers(&mut self) -> Option<Observers> {
        self.observers.take().map(|b| *b)
    }

    /// Ticks done so far.
    pub fn tick(&self) -> usize {
        self.state.tick
    }

    /// Whether all ticks are done.
    pub fn is_finished(&self) -> bool {
        self.state.tick >= self.params.ticks
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &ValidScenario {
        &self.scenario
    }

    /// Derived run parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Researcher agents now.
    pub fn researchers(&self) -> &Researchers {
        &self.state.researchers
    }

    /// Startup agents now.
    pub fn startups(&self) -> &Startups {
        &self.state.startups
    }

    /// Country state now.
    pub fn countries(&self) -> &CountryState {
        &self.state.countries
    }

    /// Population aggregates at the end of the last tick.
    pub fn aggregates(&self) -> &Aggregates {
        &self.state.aggregates
    }

    /// What happened during the last tick (agent units).
    pub fn last_counts(&self) -> &TickCounts {
        &self.state.last_counts
    }

    /// The observations so far.
    pub fn recorder(&self) -> &Recorder {
        &self.state.recorder
    }

    /// Initial startups that could not be given a founder (a country with more startups than
    /// researcher agents); zero in any sensible scenario.
    pub fn dropped_initial_startups(&self) -> u64 {
        self.state.dropped_initial_startups
    }

    /// Wall time spent so far in each phase (initialisation and every tick).
    pub fn phase_times(&self) -> &PhaseTimes {
        &self.times
    }

    /// Calendar time at the start of tick `tick` (1-based): `start_year + (tick − 1) / tpy`.
    pub fn year_at_start_of(&self, tick: usize) -> f64 {
        self.scenario.world.start_year as f64 + (tick as f64 - 1.0) / self.params.tpy
    }

    /// Runs one tick.
    pub fn step(&mut self) {
        assert!(!self.is_finished(), "step() after the last tick");
        let t = self.state.tick + 1;
        let mut lap = Lap::start();
        let mut times = std::mem::take(&mut self.times);
        let s = &self.scenario;
        let p = &self.params;

        self.state.countries = self.next_country_state();
        lap.lap(&mut times, 1);
        let tables = self.choice_tables();
        lap.lap(&mut times, 2);
        let rctx = self.researcher_context();
        let sctx = self.startup_context();
        let r_intents = researcher_phase(&self.state.researchers, &tables, &rctx, &self.streams, t);
        lap.lap(&mut times, 3);
        let s_intents = startup_phase(&mut self.state.startups, &tables, &sctx, &self.streams, t);
        lap.lap(&mut times, 4);

        let expected = self.expected_entrants();
        let plan = EntrantPlan {
            expected: &expected,
            skill_sigma: s.world.skill_sigma,
            mobility_skill: s.behaviour.mobility_skill,
            new_runway_ticks: p.new_runway_ticks,
        };
        let relocated = match self.observers {
            Some(_) => {
                Relocated::collect(&self.state.researchers, &self.state.startups, &s_intents)
            }
            None => Vec::new(),
        };
        let (researchers_before, startups_before) =
            (self.state.researchers.len(), self.state.startups.len());
        let (counts, removals) = apply_logged(
            &mut self.state.researchers,
            &mut self.state.startups,
            &mut self.state.aggregates,
            &r_intents,
            &s_intents,
            &plan,
            &self.streams,
            t,
        );
        if let Some(obs) = self.observers.as_deref_mut() {
            let ev = TickEvents {
                tick: t,
                researcher_intents: &r_intents,
                startup_intents: &s_intents,
                relocated: &relocated,
                removals: &removals,
                researchers_before,
                startups_before,
            };
            obs.observe(&ev, &self.state.researchers, &self.state.startups);
        }
        lap.lap(&mut times, 5);

        self.state.recorder.record(
            t,
            p.scale,
            s.infrastructure.capex_bn_per_gw,
            &self.state.aggregates,
            &self.state.countries,
            Some(&counts),
        );
        self.state.last_counts = counts;
        self.state.tick = t;
        lap.lap(&mut times, 6);
        times.ticks += 1;
        self.times = times;
    }

    /// The country state after the country phase of the next tick — policies, infrastructure,
    /// ecosystem, innovation, wages, capital (MODEL.md §4) — computed from the state now, which
    /// is left unchanged. [`Simulation::step`] adopts it; benchmarks time it alone.
    pub fn next_country_state(&self) -> CountryState {
        let t = self.state.tick + 1;
        let fx = effects_at(
            &self.scenario,
            &self.state.base_openness,
            &self.state.base_partnership,
            self.year_at_start_of(t),
        );
        let mut st = self.state.countries.clone();
        st.step(&self.scenario, &self.params, &self.state.aggregates, &fx, t);
        st
    }

    /// The logit tables of the country state now and the population at the end of the last tick.
    pub fn choice_tables(&self) -> ChoiceTables {
        ChoiceTables::build(
            &self.scenario,
            &self.params,
            &self.state.countries,
            &self.state.aggregates,
        )
    }

    /// Inputs of the researcher step from the country state now.
    pub fn researcher_context(&self) -> ResearcherContext {
        let (s, p, st) = (&self.scenario, &self.params, &self.state.countries);
        let found_per_skill = st
            .per_startup
            .iter()
            .map(|&a| {
                p.p_found
                    * libm::pow(
                        a.max(crate::model::countries::CAPITAL_FLOOR) / st.a_ref,
                        s.behaviour.found_capital,
                    )
            })
            .collect();
        ResearcherContext {
            p_exit: p.p_exit,
            p_review: p.p_review,
            mean_mobility: self.state.aggregates.mean_mobility(),
            found_per_skill,
            quality_sigma: s.startups.quality_sigma,
        }
    }

    /// Inputs of the startup step from the country state now.
    pub fn startup_context(&self) -> StartupContext {
        let (s, p) = (&self.scenario, &self.params);
        StartupContext {
            per_startup: self.state.countries.per_startup.clone(),
            round_m: s.startups.round_m.clone(),
            runway_ticks: p.runway_ticks,
            bridge_ticks: p.bridge_ticks,
            die_on_fail: s.startups.die_on_fail,
            relocate_rate: s.startups.relocate_rate,
        }
    }

    /// Expected entrant agents per country this tick (MODEL.md §5, entrants).
    fn expected_entrants(&self) -> Vec<f64> {
        let (s, p, st) = (&self.scenario, &self.params, &self.state.countries);
        let weights: Vec<f64> = (0..p.c)
            .map(|k| s.countries[k].origin_share * st.ecosystem[k] / st.e0[k])
            .collect();
        let total: f64 = weights.iter().sum();
        weights
            .iter()
            .map(|w| {
                if total > 0.0 {
                    p.entrant_agents_per_tick * w / total
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// The random streams of the run.
    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    /// Runs to the end, calling `progress(tick)` after each tick.
    pub fn run(&mut self, mut progress: impl FnMut(usize)) {
        while !self.is_finished() {
            self.step();
            progress(self.state.tick);
        }
    }

    /// Finishes the run and returns its observations.
    pub fn into_recorder(self) -> Recorder {
        self.state.recorder
    }

    /// The evolving state, borrowed, for a checkpoint ([`crate::rundir::checkpoint`]). Everything else a
    /// run needs is rebuilt from (scenario, seed): `Params` from the scenario, and the random
    /// streams from the seed, because every draw is addressed by (seed, tick, phase, block) and no
    /// stream carries a position from one tick to the next.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Rebuilds a run from its scenario, seed and a saved [`State`]; the result continues exactly
    /// as the run that saved it would have. The state is checked against the scenario first, so
    /// a state that does not fit (another scenario, a damaged file) is an error, never a panic.
    pub fn restore(
        scenario: ValidScenario,
        seed: u64,
        state: State,
    ) -> Result<Simulation, StateError> {
        let params = Params::new(&scenario);
        state.check(&params)?;
        Ok(Simulation {
            streams: Streams::new(seed),
            state,
            times: PhaseTimes::default(),
            scenario,
            params,
            seed,
            observers: None,
        })
    }
}

impl Simulation {
    /// A copy of this run, continuing under `scenario` from the state now (its observers
    /// copied too): the branching of experiments (`study::experiment::branch`). Exact when
    /// `scenario` differs from this run's only in what has not acted yet; the state is checked
    /// against it as [`Simulation::restore`] checks a checkpoint's.
    pub fn branch(&self, scenario: ValidScenario) -> Result<Simulation, StateError> {
        let mut sim = Simulation::restore(scenario, self.seed, self.state.clone())?;
        sim.observers = self.observers.clone();
        Ok(sim)
    }
}

/// A run whose memory cannot be reserved (a population too large for the machine, or for a
/// memory limit such as `ulimit -v`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "out of memory: cannot reserve {what} for {agents} agents, {ticks} ticks and {countries} \
     countries; lower world.agents (--agents) or run on a machine with more memory"
)]
pub struct OutOfMemory {
    /// What could not be allocated.
    pub what: String,
    /// Researcher agents requested.
    pub agents: i64,
    /// Ticks of the run.
    pub ticks: usize,
    /// Countries.
    pub countries: usize,
}

/// Why a saved [`State`] does not fit the scenario it is restored with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// An array has the wrong length for the scenario's countries or ticks.
    #[error("{what} has length {found}, expected {expected}")]
    Length {
        /// Which array.
        what: String,
        /// Its length.
        found: usize,
        /// The length the scenario implies.
        expected: usize,
    },
    /// The state is further on than the run is long.
    #[error("tick {tick} is beyond the run's {ticks} ticks")]
    TickBeyondRun {
        /// The state's tick.
        tick: usize,
        /// The run's ticks.
        ticks: usize,
    },
    /// Indices that do not refer to existing countries, agents or stages.
    #[error("{0}")]
    Inconsistent(String),
}

/// The evolving state of a run: what changes from tick to tick and what a checkpoint holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    tick: usize,
    researchers: Researchers,
    startups: Startups,
    countries: CountryState,
    aggregates: Aggregates,
    base_openness: Vec<f64>,
    base_partnership: Vec<f64>,
    recorder: Recorder,
    last_counts: TickCounts,
    dropped_initial_startups: u64,
}

impl State {
    /// Ticks done when the state was saved.
    pub fn tick(&self) -> usize {
        self.tick
    }

    /// Checks that every index and length fits the run's dimensions, so that continuing cannot
    /// index out of bounds.
    fn check(&self, p: &Params) -> Result<(), StateError> {
        let c = p.c;
        let cc = c * c;
        let rows = p.ticks + 1;
        let len = |what: &str, found: usize, expected: usize| {
            if found == expected {
                Ok(())
            } else {
                Err(StateError::Length {
                    what: what.to_string(),
                    found,
                    expected,
                })
            }
        };
        if self.tick > p.ticks {
            return Err(StateError::TickBeyondRun {
                tick: self.tick,
                ticks: p.ticks,
            });
        }
        let r = &self.researchers;
        let n = r.len();
        // Agent indices are u32: a state (a forged checkpoint) beyond what validation allows is
        // refused here, not wrapped later.
        if n > crate::scenario::check::MAX_AGENTS as usize {
            return Err(StateError::Inconsistent(format!(
                "{n} researchers, more than the {} a run can hold",
                crate::scenario::check::MAX_AGENTS
            )));
        }
        len("researchers.loc", r.loc.len(), n)?;
        len("researchers.skill", r.skill.len(), n)?;
        len("researchers.mobility", r.mobility.len(), n)?;
        len("researchers.founder", r.founder.len(), n)?;
        len("researchers.born_tick", r.born_tick.len(), n)?;
        if r.home.iter().chain(&r.loc).any(|&k| k as usize >= c) {
            return Err(StateError::Inconsistent(format!(
                "a researcher's country is not one of the {c}"
            )));
        }
        let s = &self.startups;
        let m = s.len();
        len("startups.founder", s.founder.len(), m)?;
        len("startups.quality", s.quality.len(), m)?;
        len("startups.stage", s.stage.len(), m)?;
        len("startups.runway", s.runway.len(), m)?;
        len("startups.raised", s.raised.len(), m)?;
        len("startups.born_tick", s.born_tick.len(), m)?;
        if s.loc.iter().any(|&k| k as usize >= c) {
            return Err(StateError::Inconsistent(format!(
                "a startup's country is not one of the {c}"
            )));
        }
        if s.founder.iter().any(|&f| f as usize >= n) {
            return Err(StateError::Inconsistent(
                "a startup's founder is not a researcher".into(),
            ));
        }
        if s.stage
            .iter()
            .any(|&st| st > crate::model::step::LAST_STAGE)
        {
            return Err(StateError::Inconsistent(
                "a startup's stage is out of range".into(),
            ));
        }
        let k = &self.countries;
        for (what, v) in [
            ("wage", &k.wage),
            ("capital", &k.capital),
            ("available", &k.available),
            ("per_startup", &k.per_startup),
            ("innovation_local", &k.innovation_local),
            ("innovation", &k.innovation),
            ("compute", &k.compute),
            ("queue", &k.queue),
            ("queue_public", &k.queue_public),
            ("capital_public", &k.capital_public),
            ("premium", &k.premium),
            ("spent[0]", &k.spent[0]),
            ("spent[1]", &k.spent[1]),
            ("spent[2]", &k.spent[2]),
            ("spent[3]", &k.spent[3]),
            ("spent[4]", &k.spent[4]),
            ("headroom", &k.headroom),
            ("built", &k.built),
            ("requested", &k.requested),
            ("ecosystem", &k.ecosystem),
            ("openness", &k.openness),
            ("n0", &k.n0),
            ("i0", &k.i0),
            ("e0", &k.e0),
        ] {
            len(&format!("countries.{what}"), v.len(), c)?;
        }
        len("countries.partnership", k.partnership.len(), cc)?;
        len(
            "countries.grid_pipeline",
            k.grid_pipeline.len(),
            (p.grid_lead_ticks + 1) * c,
        )?;
        let a = &self.aggregates;
        len("aggregates.c", a.c, c)?;
        len("aggregates.researchers", a.researchers.len(), c)?;
        len("aggregates.talent_fixed", a.talent_fixed.len(), c)?;
        len("aggregates.startups", a.startups.len(), c)?;
        len("aggregates.origin_location", a.origin_location.len(), cc)?;
        len("base_openness", self.base_openness.len(), c)?;
        len("base_partnership", self.base_partnership.len(), cc)?;
        let rec = &self.recorder;
        len("recorder.c", rec.c, c)?;
        len("recorder.rows", rec.rows, self.tick + 1)?;
        len(
            "recorder.country",
            rec.country.len(),
            crate::model::record::COUNTRY.len(),
        )?;
        for v in &rec.country {
            len("recorder.country[..]", v.len(), rows * c)?;
        }
        len(
            "recorder.world",
            rec.world.len(),
            crate::model::record::WORLD.len(),
        )?;
        for v in &rec.world {
            len("recorder.world[..]", v.len(), rows)?;
        }
        len("recorder.flows", rec.flows.len(), p.ticks * cc)?;
        len(
            "recorder.origin_location",
            rec.origin_location.len(),
            rows * cc,
        )?;
        let t = &self.last_counts;
        for (what, v) in [
            ("inflow", &t.inflow),
            ("outflow", &t.outflow),
            ("entrants", &t.entrants),
            ("retired", &t.retired),
            ("founded", &t.founded),
            ("failed", &t.failed),
            ("exits", &t.exits),
            ("relocated", &t.relocated),
        ] {
            len(&format!("last_counts.{what}"), v.len(), c)?;
        }
        len("last_counts.flows", t.flows.len(), cc)?;
        Ok(())
    }
}

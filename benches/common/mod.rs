//! Worlds shared by the benchmarks.
#![allow(dead_code)]

use talentflow::model::engine::Simulation;
use talentflow::scenario::{load_str, Override, SourceName, ValidScenario, WORLD2025_TOML};

/// The default world with `agents` researcher agents.
pub fn default_world(agents: u64) -> ValidScenario {
    let set = [Override::parse(&format!("world.agents={agents}")).expect("override")];
    load_str(WORLD2025_TOML, &SourceName::Embedded("world2025"), &set).expect("world2025")
}

/// A generated world of `countries` countries with `agents` researcher agents.
pub fn generated_world(countries: usize, agents: u64) -> ValidScenario {
    let mut s = talentflow::scenario::worldgen::generate(countries, 1).expect("generated world");
    s.world.agents = agents as i64;
    s.validate().expect("a valid generated world")
}

/// A run of `scenario` past its initial transient (three ticks), ready to step.
pub fn warmed_up(scenario: ValidScenario) -> Simulation {
    let mut sim = Simulation::new(scenario, 1);
    for _ in 0..3 {
        sim.step();
    }
    sim
}

//! Worlds shared by the benchmarks.
#![allow(dead_code)]

use talentflow::model::engine::Simulation;
use talentflow::scenario::{load_str, Override, Scenario, SourceName, WORLD2025_TOML};

/// The default world with `agents` researcher agents.
pub fn default_world(agents: u64) -> Scenario {
    let set = [Override::parse(&format!("world.agents={agents}")).expect("override")];
    load_str(WORLD2025_TOML, &SourceName::Embedded("world2025"), &set).expect("world2025")
}

/// A generated world of `countries` countries with `agents` researcher agents.
pub fn generated_world(countries: usize, agents: u64) -> Scenario {
    let mut s = talentflow::scenario::worldgen::generate(countries, 1).expect("generated world");
    s.world.agents = agents as i64;
    s
}

/// A run of `scenario` past its initial transient (three ticks), ready to step.
pub fn warmed_up(scenario: Scenario) -> Simulation {
    let mut sim = Simulation::new(scenario, 1);
    for _ in 0..3 {
        sim.step();
    }
    sim
}

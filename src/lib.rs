//! # talentflow
//!
//! A deterministic, parallel agent-based model of how research talent and startup capital flow
//! between countries (the model is specified in `MODEL.md`; the code's version of it in
//! `docs/ODD.md`).
//!
//! Data flows one way:
//!
//! ```text
//! scenario (TOML) ──► Params + initial state ──► tick loop ──► Recorder ──► writers
//!   scenario::load      params, init             engine        record       output
//! ```
//!
//! One tick (see [`engine::Simulation::step`]) is: policies ([`policy`]) → country phase
//! ([`countries`], sequential) → choice tables ([`choice`]) → agent phase ([`step`], parallel over
//! fixed blocks of agents) → apply ([`apply`], fixed order; it keeps the population
//! [`aggregates`] up to date) → record ([`record`]). [`profile`] times the phases;
//! [`worldgen`] makes synthetic worlds of any number of countries.
//!
//! Determinism is a contract: output bytes depend only on (resolved scenario, seed, version).
//! Random draws come from ChaCha8 streams addressed by (seed, tick, phase, block) ([`rng`]);
//! parallel sums are done in integers; transcendental functions come from `libm`.
//!
//! ```
//! use talentflow::scenario::{load_str, SourceName, TOY3_TOML};
//! use talentflow::engine::Simulation;
//!
//! let scenario = load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &[]).unwrap();
//! let mut sim = Simulation::new(scenario, 7);
//! sim.run(|_| {});
//! let rec = sim.into_recorder();
//! assert!(rec.get_world("hhi", rec.ticks()).unwrap() > 0.0);
//! ```

pub mod agents;
pub mod aggregates;
pub mod apply;
pub mod checkpoint;
pub mod choice;
pub mod countries;
pub mod engine;
pub mod experiment;
pub mod init;
pub mod interrupt;
pub mod metrics;
pub mod outcome;
pub mod output;
pub mod params;
pub mod plot;
pub mod policy;
pub mod profile;
pub mod record;
pub mod report;
pub mod rng;
pub mod rundir;
pub mod runner;
pub mod scenario;
pub mod sensitivity;
pub mod stats;
pub mod step;
pub mod summary;
pub mod sweep;
pub mod worldgen;

/// The version written into every manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

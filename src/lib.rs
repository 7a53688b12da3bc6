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
//! use talentflow::model::engine::Simulation;
//!
//! let scenario = load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &[]).unwrap();
//! let mut sim = Simulation::new(scenario, 7);
//! sim.run(|_| {});
//! let rec = sim.into_recorder();
//! assert!(rec.get_world("hhi", rec.ticks()).unwrap() > 0.0);
//! ```

pub mod model;
pub mod rundir;
pub mod scenario;
pub mod study;
pub mod viz;

/// The version written into every manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

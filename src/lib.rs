//! # talentflow
//!
//! A deterministic, parallel agent-based model of how research talent and startup capital flow
//! between countries. The model is specified in `docs/MODEL.md`; what the code does, in
//! `docs/ODD.md`; the module map in `ARCHITECTURE.md`.
//!
//! The crate is layered, and dependencies point one way:
//!
//! ```text
//! scenario ──► model ──► rundir ──► study (experiments, sweeps, sensitivity)
//! (TOML →       (one world,  (a run on disk:   viz (summary, figures, report)
//!  validated)    tick by tick) files, checkpoints)
//! ```
//!
//! One tick ([`model::engine::Simulation::step`]) is: policies → country phase (sequential) →
//! choice tables → agent phase (parallel over fixed blocks of agents) → apply (fixed order) →
//! record. Determinism is a contract: output bytes depend only on (resolved scenario, seed,
//! version). Random draws come from ChaCha8 streams addressed by (seed, tick, phase, block)
//! ([`model::rng`]); parallel sums are done in integers; transcendental functions come from
//! `libm`.
//!
//! ```
//! use talentflow::{load_named, Override, Simulation};
//!
//! let set = [Override::parse("world.years=2").unwrap()];
//! let (scenario, _source) = load_named("toy3", None, &set).unwrap();
//! let mut sim = Simulation::new(scenario, 7);
//! sim.run(|_| {});
//! let rec = sim.into_recorder();
//! assert!(rec.get_world("hhi_researchers", rec.ticks()).unwrap() > 0.0);
//! ```
//!
//! A scenario built or edited in code must pass [`Scenario::validate`] (the same checks, with the
//! same messages, as a file) before [`Simulation::new`] accepts it. The crate's layers are public
//! modules: [`scenario`] → [`model`] → [`rundir`] → [`study`] and [`viz`]; the types most programs
//! need are re-exported here. The `cli` feature (default) builds the command-line program; the
//! library alone (`default-features = false`) needs neither clap, indicatif nor plotters.

#![warn(missing_docs)]

pub mod model;
pub mod rundir;
pub mod scenario;
pub mod study;
pub mod viz;

pub use model::engine::{Simulation, State, StateError};
pub use model::record::Recorder;
pub use rundir::runner::{execute, plan, resume, Plan, RunEnd, RunError};
pub use rundir::write::{write_run, OutputError, RunInfo};
pub use scenario::{
    load_file, load_named, load_str, Override, OverrideError, Scenario, ScenarioError, SourceName,
    ValidScenario,
};
pub use study::evaluate::{evaluate, EvaluateError, Evaluation};
pub use study::experiment::{Experiment, ExperimentError};
pub use study::outcome::{Outcome, OutcomeError};
pub use study::sweep::{Sweep, SweepError};

/// The version written into every manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version of the model specification (`docs/MODEL.md`) this build implements, written into
/// every manifest, run record, checkpoint, experiment and sweep. Outputs of different model
/// versions are not comparable, and a run of another model version is never continued.
pub const MODEL_VERSION: u32 = 2;

//! One simulated world, tick by tick (MODEL.md §2–7).
//!
//! ```text
//! Scenario ─► params (per-tick rates) ─► init (agents) ─► engine::Simulation::step, once per tick:
//!   policy ─► countries ─► choice ─► step (agents, parallel) ─► apply ─► aggregates ─► record
//! ```
//!
//! This layer depends on [`crate::scenario`] and nothing else: it knows nothing of files,
//! directories, experiments or figures.

pub mod agents;
pub mod aggregates;
pub mod apply;
pub mod choice;
pub mod cohort;
pub mod countries;
pub mod engine;
pub mod expected;
pub mod init;
pub mod metrics;
pub mod observe;
pub mod panel;
pub mod params;
pub mod policy;
pub mod profile;
pub mod record;
pub mod rng;
pub mod step;

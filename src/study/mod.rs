//! Many runs: experiments (arms × replicates), sweeps (designs over parameters), batch evaluation
//! (a scenario at given points and seeds), sensitivity indices, and the statistics and outcome
//! expressions they share.

pub(crate) mod base;
pub mod baseline;
pub mod calibrate;
pub mod discover;
pub mod evaluate;
pub mod experiment;
pub mod expr;
pub mod inference;
pub mod outcome;
pub mod sensitivity;
pub mod stats;
pub mod sweep;
pub mod targets;

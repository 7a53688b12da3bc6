//! A run on disk: its directory, files, checkpoints and interruption.
//!
//! ```text
//! runner::plan/execute ─► write (atomic files, npz, CSVs, manifest last) ─► DIR/
//!        │   checkpoint (postcard state every N ticks, on SIGINT/SIGTERM via interrupt)
//! runner::resume ◄─ DIR/ (scenario.toml + run.json + checkpoint.postcard)
//! read ◄─ DIR/ (every file checked against the manifest's blake3)
//! ```

pub mod careers;
pub mod checkpoint;
pub mod input;
pub mod interrupt;
pub mod lock;
pub(crate) mod npz;
pub mod read;
pub mod runner;
pub mod write;

//! Checkpoints: the complete state of a run at the end of a tick, so a killed run can continue
//! and finish with outputs byte-identical to an uninterrupted run.
//!
//! # What is saved
//!
//! The evolving state ([`crate::model::engine::State`]): researchers, startups, country state,
//! aggregates, base openness and partnerships, the recorder so far, the last tick's counts. **No
//! random-number positions are saved, because there are none to save**: every draw comes from a
//! stream derived afresh from (seed, tick, phase, block) ([`crate::model::rng`]), so the seed and the tick
//! determine all future draws. `Params` are rebuilt from the scenario. The scenario itself is not
//! in the checkpoint: it lives beside it as `scenario.toml` in the run directory, and the header
//! holds its blake3 hash so a checkpoint is never continued under another scenario.
//!
//! # File layout (format version 2; version 1 was written by the model v1 builds)
//!
//! ```text
//! offset        size  content
//! 0             8     magic b"TFLOWCKP"
//! 8             4     format version, u32 little-endian
//! 12            4     header length H, u32 little-endian
//! 16            H     header, postcard: talentflow version, model version, scenario hash, seed,
//!                     tick, ticks, body length, blake3 of the body
//! 16+H          32    blake3 of bytes 0 .. 16+H (the header's own checksum)
//! 48+H          B     body, postcard: the state
//! ```
//!
//! The magic and version come first and never move, so a file from another format version is
//! named as such rather than reported as damaged; the two checksums tell a truncated file from a
//! corrupt one. Files are written with [`crate::rundir::write::write_atomic`] (temporary file, fsync,
//! rename), so a kill while saving leaves the previous checkpoint intact.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::engine::{Simulation, State};
use crate::rundir::write::{self, OutputError};
use crate::scenario::ValidScenario;

/// First bytes of every checkpoint file.
pub const MAGIC: [u8; 8] = *b"TFLOWCKP";
/// Version of the file layout and state encoding written by this build.
pub const FORMAT_VERSION: u32 = 2;
/// The format version of model v1's checkpoints (whose header had no model version).
const MODEL_V1_FORMAT: u32 = 1;
/// Bytes before the header: magic, format version, header length.
const PREFIX: usize = 16;
/// Length of a blake3 checksum.
const SUM: usize = 32;
/// Largest header accepted (a real one is about 150 bytes).
const MAX_HEADER: usize = 64 * 1024;

/// What a checkpoint says about itself, readable without decoding the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The talentflow version that wrote it.
    pub talentflow_version: String,
    /// The model version ([`crate::MODEL_VERSION`]) of the run.
    pub model_version: u32,
    /// blake3 of the resolved scenario ([`crate::scenario::Scenario::hash`]).
    pub scenario_hash: String,
    /// The run's seed.
    pub seed: u64,
    /// Ticks done.
    pub tick: u64,
    /// Ticks in the whole run.
    pub ticks: u64,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// blake3 of the body.
    pub body_blake3: [u8; 32],
}

/// Why a checkpoint cannot be written or continued.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading the file failed.
    #[error("cannot read checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing the file failed.
    #[error("cannot write checkpoint: {0}")]
    Write(#[from] OutputError),
    /// Serialising the state failed.
    #[error("cannot encode checkpoint: {0}")]
    Encode(String),
    /// The file does not start with the checkpoint magic.
    #[error("{path} is not a talentflow checkpoint")]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
    },
    /// Written in another format version.
    #[error(
        "checkpoint {path} has format version {found}; this talentflow reads version {expected} \
         (continue it with the talentflow version that wrote it)"
    )]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// Shorter than its header says.
    #[error("checkpoint {path} is truncated: {found} bytes, expected {expected}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its length.
        found: u64,
        /// The length its header implies.
        expected: u64,
    },
    /// A checksum does not match or the contents do not decode.
    #[error("checkpoint {path} is corrupt: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Saved from a run of another model version.
    #[error(
        "checkpoint {path} is of a run of model v{found}; this talentflow implements model \
         v{expected}, whose outputs differ, so it cannot continue it (start the run again)"
    )]
    ModelVersion {
        /// The file.
        path: PathBuf,
        /// The model version of the checkpoint.
        found: u32,
        /// This build's model version.
        expected: u32,
    },
    /// Written by another talentflow version (outputs depend on the version).
    #[error(
        "checkpoint {path} was written by talentflow {found}; this is talentflow {expected} \
         (outputs depend on the version: continue it with talentflow {found})"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version that wrote it.
        found: String,
        /// This version.
        expected: String,
    },
    /// Saved from a run of another scenario.
    #[error(
        "checkpoint {path} belongs to another scenario (scenario blake3 {found}, but the run's \
         scenario.toml has {expected})"
    )]
    ScenarioMismatch {
        /// The file.
        path: PathBuf,
        /// The checkpoint's scenario hash.
        found: String,
        /// The scenario's hash.
        expected: String,
    },
    /// Saved from a run with another seed.
    #[error("checkpoint {path} is of seed {found}, but the run's seed is {expected}")]
    SeedMismatch {
        /// The file.
        path: PathBuf,
        /// The checkpoint's seed.
        found: u64,
        /// The run's seed.
        expected: u64,
    },
}

fn corrupt(path: &Path, what: impl Into<String>) -> CheckpointError {
    CheckpointError::Corrupt {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// Encodes the state of `sim` as checkpoint bytes.
pub fn encode(sim: &Simulation) -> Result<Vec<u8>, CheckpointError> {
    let encode_err = |e: postcard::Error| CheckpointError::Encode(e.to_string());
    let body = postcard::to_stdvec(&sim.state()).map_err(encode_err)?;
    let header = Header {
        talentflow_version: crate::VERSION.to_string(),
        model_version: crate::MODEL_VERSION,
        scenario_hash: sim.scenario().hash(),
        seed: sim.seed(),
        tick: sim.tick() as u64,
        ticks: sim.params().ticks as u64,
        body_len: body.len() as u64,
        body_blake3: *blake3::hash(&body).as_bytes(),
    };
    let header = postcard::to_stdvec(&header).map_err(encode_err)?;
    let mut out = Vec::with_capacity(PREFIX + header.len() + SUM + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Writes a checkpoint of `sim` to `path` atomically.
pub fn save(sim: &Simulation, path: &Path) -> Result<(), CheckpointError> {
    Ok(write::write_atomic(path, &encode(sim)?)?)
}

/// Checks the prefix and header of checkpoint bytes; returns the header and the body.
fn split<'a>(bytes: &'a [u8], path: &Path) -> Result<(Header, &'a [u8]), CheckpointError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(CheckpointError::NotACheckpoint {
            path: path.to_path_buf(),
        });
    }
    let truncated = |expected: usize| CheckpointError::Truncated {
        path: path.to_path_buf(),
        found: bytes.len() as u64,
        expected: expected as u64,
    };
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let version = word(8).ok_or_else(|| truncated(PREFIX))?;
    if version == MODEL_V1_FORMAT {
        return Err(CheckpointError::ModelVersion {
            path: path.to_path_buf(),
            found: 1,
            expected: crate::MODEL_VERSION,
        });
    }
    if version != FORMAT_VERSION {
        return Err(CheckpointError::FormatVersion {
            path: path.to_path_buf(),
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let header_len = word(12).ok_or_else(|| truncated(PREFIX))? as usize;
    if header_len > MAX_HEADER {
        return Err(corrupt(path, format!("header length {header_len}")));
    }
    let body_start = PREFIX + header_len + SUM;
    if bytes.len() < body_start {
        return Err(truncated(body_start));
    }
    let sum = &bytes[PREFIX + header_len..body_start];
    if blake3::hash(&bytes[..PREFIX + header_len]).as_bytes() != sum {
        return Err(corrupt(path, "header checksum mismatch"));
    }
    let header: Header = postcard::from_bytes(&bytes[PREFIX..PREFIX + header_len])
        .map_err(|e| corrupt(path, format!("header does not decode: {e}")))?;
    let expected = (body_start as u64).saturating_add(header.body_len);
    if (bytes.len() as u64) < expected {
        return Err(CheckpointError::Truncated {
            path: path.to_path_buf(),
            found: bytes.len() as u64,
            expected,
        });
    }
    if (bytes.len() as u64) > expected {
        return Err(corrupt(
            path,
            format!(
                "{} bytes, but its header accounts for {expected}",
                bytes.len()
            ),
        ));
    }
    let body = &bytes[body_start..];
    if blake3::hash(body).as_bytes() != &header.body_blake3 {
        return Err(corrupt(path, "body checksum mismatch"));
    }
    if header.model_version != crate::MODEL_VERSION {
        return Err(CheckpointError::ModelVersion {
            path: path.to_path_buf(),
            found: header.model_version,
            expected: crate::MODEL_VERSION,
        });
    }
    if header.talentflow_version != crate::VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: header.talentflow_version,
            expected: crate::VERSION.to_string(),
        });
    }
    Ok((header, body))
}

fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    crate::rundir::input::read_limited(path, crate::rundir::input::MAX_DATA_BYTES).map_err(
        |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        },
    )
}

/// Reads and checks a checkpoint's header (checksums included) without decoding the state.
pub fn read_header(path: &Path) -> Result<Header, CheckpointError> {
    let bytes = read(path)?;
    split(&bytes, path).map(|(h, _)| h)
}

/// Decodes checkpoint bytes into a run of `scenario` with `seed`, refusing a checkpoint of
/// another scenario, seed, format or talentflow version, and a truncated or corrupt one.
/// `path` only names the file in errors.
pub fn decode(
    bytes: &[u8],
    path: &Path,
    scenario: ValidScenario,
    seed: u64,
) -> Result<Simulation, CheckpointError> {
    let (header, body) = split(bytes, path)?;
    let hash = scenario.hash();
    if header.scenario_hash != hash {
        return Err(CheckpointError::ScenarioMismatch {
            path: path.to_path_buf(),
            found: header.scenario_hash,
            expected: hash,
        });
    }
    if header.seed != seed {
        return Err(CheckpointError::SeedMismatch {
            path: path.to_path_buf(),
            found: header.seed,
            expected: seed,
        });
    }
    let state: State = postcard::from_bytes(body)
        .map_err(|e| corrupt(path, format!("state does not decode: {e}")))?;
    if state.tick() as u64 != header.tick {
        return Err(corrupt(
            path,
            format!(
                "state is at tick {}, header says {}",
                state.tick(),
                header.tick
            ),
        ));
    }
    Simulation::restore(scenario, seed, state)
        .map_err(|e| corrupt(path, format!("state does not fit the scenario: {e}")))
}

/// Reads a checkpoint file and continues it as a run of `scenario` with `seed` (see [`decode`]).
pub fn load(
    path: &Path,
    scenario: ValidScenario,
    seed: u64,
) -> Result<Simulation, CheckpointError> {
    decode(&read(path)?, path, scenario, seed)
}

/// First bytes of an observers file (`observers.postcard`, beside the checkpoint).
pub const OBSERVERS_MAGIC: [u8; 8] = *b"TFLOWOBS";

/// What an observers file holds: the observers of a run with a panel or cohort tables at the
/// checkpoint's tick, and what ties them to it.
#[derive(Serialize, Deserialize)]
struct ObserversFile {
    talentflow_version: String,
    model_version: u32,
    scenario_hash: String,
    seed: u64,
    tick: u64,
    observers: crate::model::observe::Observers,
}

/// Writes the observers of `sim` (none: nothing is written) to `path` atomically: magic, format
/// version, blake3 of the body, postcard body. Saved before the checkpoint of the same tick, so a
/// kill between the two leaves files of different ticks, which [`load_observers`] tells apart.
pub fn save_observers(sim: &Simulation, path: &Path) -> Result<(), CheckpointError> {
    let Some(obs) = sim.observers() else {
        return Ok(());
    };
    let file = ObserversFile {
        talentflow_version: crate::VERSION.to_string(),
        model_version: crate::MODEL_VERSION,
        scenario_hash: sim.scenario().hash(),
        seed: sim.seed(),
        tick: sim.tick() as u64,
        observers: obs.clone(),
    };
    let body = postcard::to_stdvec(&file).map_err(|e| CheckpointError::Encode(e.to_string()))?;
    let mut out = Vec::with_capacity(12 + SUM + body.len());
    out.extend_from_slice(&OBSERVERS_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    Ok(write::write_atomic(path, &out)?)
}

/// Reads the observers saved beside a checkpoint, for `sim` (restored from that checkpoint):
/// `Ok(None)` when they are of another tick (a kill between the two writes), an error when the
/// file is damaged or of another run, version or scenario.
pub fn load_observers(
    path: &Path,
    sim: &Simulation,
) -> Result<Option<crate::model::observe::Observers>, CheckpointError> {
    let bytes = read(path)?;
    if bytes.len() < 12 + SUM || bytes[..8] != OBSERVERS_MAGIC {
        return Err(CheckpointError::NotACheckpoint {
            path: path.to_path_buf(),
        });
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != FORMAT_VERSION {
        return Err(CheckpointError::FormatVersion {
            path: path.to_path_buf(),
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let body = &bytes[12 + SUM..];
    if blake3::hash(body).as_bytes() != &bytes[12..12 + SUM] {
        return Err(corrupt(path, "body checksum mismatch"));
    }
    let file: ObserversFile = postcard::from_bytes(body)
        .map_err(|e| corrupt(path, format!("observers do not decode: {e}")))?;
    if file.talentflow_version != crate::VERSION || file.model_version != crate::MODEL_VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: file.talentflow_version,
            expected: crate::VERSION.to_string(),
        });
    }
    let hash = sim.scenario().hash();
    if file.scenario_hash != hash {
        return Err(CheckpointError::ScenarioMismatch {
            path: path.to_path_buf(),
            found: file.scenario_hash,
            expected: hash,
        });
    }
    if file.seed != sim.seed() {
        return Err(CheckpointError::SeedMismatch {
            path: path.to_path_buf(),
            found: file.seed,
            expected: sim.seed(),
        });
    }
    Ok((file.tick == sim.tick() as u64).then_some(file.observers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load_str, SourceName, TOY3_TOML};

    fn toy(years: u32) -> ValidScenario {
        let set = [crate::scenario::Override::parse(&format!("world.years={years}")).unwrap()];
        load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &set).unwrap()
    }

    #[test]
    fn a_restored_run_continues_exactly() {
        let s = toy(2);
        let mut straight = Simulation::new(s.clone(), 5);
        straight.run(|_| {});

        let mut first = Simulation::new(s.clone(), 5);
        for _ in 0..7 {
            first.step();
        }
        let bytes = encode(&first).unwrap();
        drop(first);
        let mut resumed = decode(&bytes, Path::new("x"), s, 5).unwrap();
        assert_eq!(resumed.tick(), 7);
        resumed.run(|_| {});
        assert_eq!(resumed.into_recorder(), straight.into_recorder());
    }

    #[test]
    fn damaged_or_foreign_checkpoints_are_refused() {
        let s = toy(1);
        let mut sim = Simulation::new(s.clone(), 5);
        sim.step();
        let good = encode(&sim).unwrap();
        let p = Path::new("ck");
        let err = |bytes: &[u8], s: &ValidScenario, seed: u64| {
            decode(bytes, p, s.clone(), seed).err().unwrap().to_string()
        };
        assert!(decode(&good, p, s.clone(), 5).is_ok());

        assert!(err(&good[..good.len() - 1], &s, 5).contains("truncated"));
        assert!(err(&good[..20], &s, 5).contains("truncated"));
        assert!(err(&good[..5], &s, 5).contains("not a talentflow checkpoint"));
        assert!(err(b"", &s, 5).contains("not a talentflow checkpoint"));
        let mut flipped = good.clone();
        let last = flipped.len() - 10;
        flipped[last] ^= 0x40;
        assert!(err(&flipped, &s, 5).contains("body checksum mismatch"));
        let mut flipped = good.clone();
        flipped[20] ^= 1;
        assert!(err(&flipped, &s, 5).contains("header checksum mismatch"));
        let mut other_version = good.clone();
        other_version[8..12].copy_from_slice(&3u32.to_le_bytes());
        assert!(err(&other_version, &s, 5).contains("format version 3"));
        // A checkpoint of model v1 (format version 1) is named as such.
        let mut v1 = good.clone();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        assert!(
            err(&v1, &s, 5).contains("of a run of model v1; this talentflow implements model v2")
        );
        let mut longer = good.clone();
        longer.push(0);
        assert!(err(&longer, &s, 5).contains("corrupt"));

        let other = toy(2);
        assert!(err(&good, &other, 5).contains("another scenario"));
        assert!(err(&good, &s, 6).contains("seed 5"));

        // Intact, but written by another talentflow version.
        let (mut header, body) = split(&good, p).unwrap();
        header.talentflow_version = "0.0.1-elsewhere".into();
        let header = postcard::to_stdvec(&header).unwrap();
        let mut foreign = MAGIC.to_vec();
        foreign.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        foreign.extend_from_slice(&(header.len() as u32).to_le_bytes());
        foreign.extend_from_slice(&header);
        let sum = blake3::hash(&foreign);
        foreign.extend_from_slice(sum.as_bytes());
        foreign.extend_from_slice(body);
        assert!(err(&foreign, &s, 5).contains("written by talentflow 0.0.1-elsewhere"));

        // Intact, this talentflow, but another model version in the header.
        let (mut header, body) = split(&good, p).unwrap();
        header.model_version = 7;
        let header = postcard::to_stdvec(&header).unwrap();
        let mut other_model = MAGIC.to_vec();
        other_model.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        other_model.extend_from_slice(&(header.len() as u32).to_le_bytes());
        other_model.extend_from_slice(&header);
        let sum = blake3::hash(&other_model);
        other_model.extend_from_slice(sum.as_bytes());
        other_model.extend_from_slice(body);
        assert!(err(&other_model, &s, 5).contains("of a run of model v7"));
    }
}

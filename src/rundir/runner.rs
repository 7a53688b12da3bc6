//! Running a scenario into a run directory, checkpointing it, and resuming it after a kill.
//!
//! A run's life in its directory `DIR`:
//!
//! 1. start ([`execute`]): `DIR` is prepared (a finished run is never overwritten without
//!    `force`), then `DIR/run.json` ([`RunRecord`]: seed, source, overrides, scenario hash,
//!    checkpoint interval) and `DIR/scenario.toml` (the resolved scenario) are written, so the run
//!    can be continued from the directory alone;
//! 2. ticks: every `checkpoint_every` ticks, and when `should_stop` turns true (a signal, see
//!    [`crate::rundir::interrupt`]), the state is saved to `DIR/checkpoint.postcard`
//!    ([`crate::rundir::checkpoint`]); on a stop the run returns [`RunEnd::Interrupted`] after the tick in
//!    progress;
//! 3. finish: the outputs are written, `manifest.json` last, then the checkpoint is deleted (it is
//!    no longer needed and can be large; a directory with a manifest is complete whatever else
//!    it holds).
//!
//! [`resume`] continues an unfinished directory from its checkpoint (or from tick 0 when the run
//! was killed before its first checkpoint) and writes outputs byte-identical to an uninterrupted
//! run: the scenario comes back from `scenario.toml` (its hash must match the checkpoint's), the
//! seed and the rest of the manifest facts from `run.json`, and random draws need no saved
//! position (see [`crate::model::rng`]).
//!
//! Library users (experiments, sweeps) build a [`Plan`] per run and call [`run_or_resume`]: it
//! skips a run whose directory is already complete, resumes one that is unfinished, and starts the
//! rest, so re-issuing an interrupted sweep continues it. With
//! `should_stop = &interrupt::requested` (after [`crate::rundir::interrupt::install`]) every run stops
//! cleanly on Ctrl-C; a loop over runs should stop too when it sees [`RunEnd::Interrupted`] and
//! exit with [`crate::rundir::interrupt::exit_code`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::model::engine::Simulation;
use crate::model::observe::{ObserveOptions, Observers};
use crate::model::panel::PanelOptions;
use crate::model::record::Recorder;
use crate::rundir::checkpoint::{self, CheckpointError};
use crate::rundir::write::{self, DirStatus, OutputError, RunInfo};
use crate::rundir::{input, lock};
use crate::scenario::{self, Override, ScenarioError, ValidScenario};

/// Format tag of `run.json`.
pub const RUN_RECORD_FORMAT: &str = "talentflow-run-start/1";

/// What `DIR/run.json` records when a run starts: everything `resume` needs besides the resolved
/// scenario (`DIR/scenario.toml`) and the checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RUN_RECORD_FORMAT`].
    pub format: String,
    /// The talentflow version that started the run.
    pub talentflow_version: String,
    /// The model version ([`crate::MODEL_VERSION`]) that started the run; records written before
    /// model v2 have none and are of model v1.
    #[serde(default = "model_v1")]
    pub model_version: u32,
    /// Where the scenario came from (a path, or `<embedded NAME>`).
    pub scenario_source: String,
    /// The `--set` overrides as written.
    pub overrides: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// blake3 of the resolved scenario.
    pub scenario_hash: String,
    /// Ticks of the run.
    pub ticks: u64,
    /// Checkpoint interval in ticks (0: only when interrupted).
    pub checkpoint_every: u64,
    /// The agent panel, if the run has one (absent from the file otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<PanelRecord>,
    /// Whether the run computes the cohort tables (absent from the file when not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cohorts: bool,
}

/// The panel options as `run.json` records them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelRecord {
    /// Sampling probability per researcher.
    pub fraction: f64,
    /// Ticks between snapshots.
    pub every_ticks: u64,
}

impl RunRecord {
    /// The observers the run carries.
    pub fn observe(&self) -> ObserveOptions {
        ObserveOptions {
            panel: self.panel.as_ref().map(|p| PanelOptions {
                fraction: p.fraction,
                every_ticks: p.every_ticks as usize,
            }),
            cohorts: self.cohorts,
        }
    }
}

fn model_v1() -> u32 {
    1
}

/// Everything needed to start one run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The checked scenario, overrides applied.
    pub scenario: ValidScenario,
    /// Where it came from, for the manifest.
    pub source: String,
    /// The overrides as written, for the manifest.
    pub overrides: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// The run directory.
    pub dir: PathBuf,
    /// Save a checkpoint every this many ticks (0: only when interrupted).
    pub checkpoint_every: u64,
    /// Observers of individual agents (panel, cohort tables); none by default.
    pub observe: ObserveOptions,
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// All ticks done and every output written.
    Finished(Box<Finished>),
    /// The directory already held this run, complete ([`run_or_resume`] only); nothing was done.
    AlreadyComplete {
        /// The run directory.
        dir: PathBuf,
    },
    /// Stopped on request after a tick; the checkpoint holds the state.
    Interrupted {
        /// The run directory (`talentflow resume DIR` continues it).
        dir: PathBuf,
        /// Ticks done.
        tick: usize,
        /// Ticks in the run.
        ticks: usize,
    },
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    /// The run directory.
    pub dir: PathBuf,
    /// The resolved scenario.
    pub scenario: ValidScenario,
    /// The observations.
    pub recorder: Recorder,
    /// The manifest facts.
    pub info: RunInfo,
    /// The tick this process continued from, if it resumed a run.
    pub resumed_from: Option<usize>,
    /// Wall time per tick phase in this process (for `--profile`).
    pub times: crate::model::profile::PhaseTimes,
    /// The observers of individual agents, if the run had any (their tables are written too).
    pub observers: Option<Observers>,
}

/// Why a run could not be started, continued or finished.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A malformed `--set`.
    #[error(transparent)]
    Override(#[from] crate::scenario::OverrideError),
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Writing outputs failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The run's memory cannot be reserved.
    #[error(transparent)]
    OutOfMemory(#[from] crate::model::engine::OutOfMemory),
    /// Writing or reading a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A bad `--panel` or `--panel-every`.
    #[error("{0}")]
    Panel(String),
    /// The directory cannot be resumed.
    #[error("cannot resume {dir}: {reason}")]
    Resume {
        /// The directory.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },
}

fn resume_err(dir: &Path, reason: impl Into<String>) -> RunError {
    RunError::Resume {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// Resolves what the command line says into a [`Plan`]: `scenario` is a path or an embedded name
/// (see [`scenario::load_named`]), `set` the raw `--set` strings; the seed defaults to the
/// scenario's and the directory to `runs/<scenario stem>-seed<seed>`.
pub fn plan(
    scenario_name: &str,
    set: &[String],
    seed: Option<u64>,
    out: Option<PathBuf>,
    checkpoint_every: u64,
) -> Result<Plan, RunError> {
    let overrides = set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Override)?;
    let (scenario, source) = scenario::load_named(scenario_name, None, &overrides)?;
    let seed = seed.unwrap_or(scenario.world.seed);
    let stem = Path::new(scenario_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| scenario_name.to_string());
    let dir = out.unwrap_or_else(|| PathBuf::from(format!("runs/{stem}-seed{seed}")));
    Ok(Plan {
        scenario,
        source,
        overrides: overrides.iter().map(ToString::to_string).collect(),
        seed,
        dir,
        checkpoint_every,
        observe: ObserveOptions::default(),
    })
}

/// The panel of `--panel SPEC --panel-every YEARS` for a run of `scenario`. SPEC is a fraction of
/// researchers (`0.01`: written with a decimal point or an exponent, in (0, 1]) or a number of
/// agents (`5000`: a whole number, turned into the fraction `N / world.agents`, at most 1, so
/// that about N of the initial population are sampled and entrants at the same rate).
pub fn panel_options(
    spec: &str,
    every_years: f64,
    scenario: &crate::scenario::Scenario,
) -> Result<PanelOptions, RunError> {
    let bad = |why: String| RunError::Panel(format!("--panel {spec}: {why}"));
    let spec_t = spec.trim();
    let fraction = if spec_t.contains(['.', 'e', 'E']) {
        let f: f64 = spec_t.parse().map_err(|_| {
            bad("not a number (a fraction such as 0.01, or a count such as 5000)".into())
        })?;
        if !(f > 0.0 && f <= 1.0) {
            return Err(bad(format!("the fraction {f} is not in (0, 1]")));
        }
        f
    } else {
        let n: u64 = spec_t.parse().map_err(|_| {
            bad("not a number (a fraction such as 0.01, or a count such as 5000)".into())
        })?;
        if n == 0 {
            return Err(bad("a panel of 0 agents samples nobody".into()));
        }
        (n as f64 / scenario.world.agents.max(1) as f64).min(1.0)
    };
    let tpy = scenario.world.ticks_per_year.max(1) as f64;
    let ticks = every_years * tpy;
    if !(ticks.is_finite() && ticks >= 1.0 - 1e-9) {
        return Err(RunError::Panel(format!(
            "--panel-every {every_years}: must be at least one tick (1/{tpy} year)"
        )));
    }
    Ok(PanelOptions {
        fraction,
        every_ticks: ticks.round().max(1.0) as usize,
    })
}

/// The manifest keys (`panel`, `cohorts`) and the files ([`crate::rundir::careers`]) of a run's
/// observers.
#[allow(clippy::type_complexity)]
pub fn observer_outputs(
    dir: &Path,
    scenario: &crate::scenario::Scenario,
    panel: Option<&PanelRecord>,
    obs: &Observers,
) -> Result<
    (
        serde_json::Map<String, serde_json::Value>,
        Vec<(&'static str, Vec<u8>)>,
    ),
    OutputError,
> {
    let mut keys = serde_json::Map::new();
    if let Some(p) = &obs.panel {
        keys.insert(
            "panel".into(),
            serde_json::json!({
                "fraction": panel.map_or(0.0, |r| r.fraction),
                "every_ticks": panel.map_or(0, |r| r.every_ticks),
                "sampled_researchers": p.careers.len(),
                "researchers_created": p.researchers_created(),
            }),
        );
    }
    if obs.cohorts.is_some() {
        keys.insert("cohorts".into(), true.into());
    }
    let files =
        crate::rundir::careers::files(dir, scenario, obs.panel.as_ref(), obs.cohorts.as_ref())?;
    Ok((keys, files))
}

fn info(record: &RunRecord, wall_seconds: f64, dropped: u64) -> RunInfo {
    RunInfo {
        scenario_source: record.scenario_source.clone(),
        overrides: record.overrides.clone(),
        seed: record.seed,
        threads: rayon::current_num_threads(),
        wall_seconds,
        dropped_initial_startups: dropped,
    }
}

/// Starts a run in `plan.dir` and drives it to the end or to a stop. `progress(tick, ticks)` is
/// called after every tick; `should_stop` is polled between ticks (pass
/// `&crate::rundir::interrupt::requested` to stop on SIGINT/SIGTERM).
pub fn execute(
    plan: Plan,
    force: bool,
    progress: &mut dyn FnMut(usize, usize),
    should_stop: &dyn Fn() -> bool,
) -> Result<RunEnd, RunError> {
    let dir = plan.dir;
    // Held until the run ends: no other process writes into the directory meanwhile.
    let _lock = write::prepare_dir(&dir, force)?;
    let record = RunRecord {
        format: RUN_RECORD_FORMAT.into(),
        talentflow_version: crate::VERSION.into(),
        model_version: crate::MODEL_VERSION,
        scenario_source: plan.source,
        overrides: plan.overrides,
        seed: plan.seed,
        scenario_hash: plan.scenario.hash(),
        ticks: plan.scenario.ticks() as u64,
        checkpoint_every: plan.checkpoint_every,
        panel: plan.observe.panel.as_ref().map(|p| PanelRecord {
            fraction: p.fraction,
            every_ticks: p.every_ticks as u64,
        }),
        cohorts: plan.observe.cohorts,
    };
    // The scenario first, the record second: a directory with a run record has its scenario.
    let toml = write::resolved_toml(&plan.scenario, &info(&record, 0.0, 0));
    write::write_atomic(&dir.join(write::SCENARIO), toml.as_bytes())?;
    let json = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
    write::write_atomic(&dir.join(write::RUN_RECORD), json.as_bytes())?;
    let sim = Simulation::with_observers(plan.scenario, plan.seed, &plan.observe)?;
    drive(sim, &dir, &record, None, None, progress, should_stop)
}

/// For experiments and sweeps: makes sure `plan.dir` holds the finished run of `plan`. A complete
/// directory of the same scenario and seed is left as it is ([`RunEnd::AlreadyComplete`]); an
/// unfinished one of the same scenario and seed is resumed; an empty one is started. A directory
/// holding another run (or anything else) is an error, never overwritten.
pub fn run_or_resume(
    plan: Plan,
    progress: &mut dyn FnMut(usize, usize),
    should_stop: &dyn Fn() -> bool,
) -> Result<RunEnd, RunError> {
    let dir = plan.dir.clone();
    let hash = plan.scenario.hash();
    let other = |what: &str| {
        resume_err(
            &dir,
            format!(
                "it holds {what}, not this run (scenario blake3 {hash}, seed {})",
                plan.seed
            ),
        )
    };
    match write::status(&dir) {
        DirStatus::Empty => execute(plan, false, progress, should_stop),
        DirStatus::Other => Err(OutputError::Exists(dir.clone()).into()),
        DirStatus::Unfinished { .. } => {
            let record = read_record(&dir)?;
            if record.scenario_hash != hash || record.seed != plan.seed {
                return Err(other("another unfinished run"));
            }
            resume(&dir, Some(plan.checkpoint_every), progress, should_stop)
        }
        DirStatus::Complete => {
            let path = dir.join(write::MANIFEST);
            let manifest: serde_json::Value = input::read_limited(&path, input::MAX_JSON_BYTES)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if manifest["scenario_hash"] != hash.as_str() || manifest["seed"] != plan.seed {
                return Err(other("another complete run"));
            }
            Ok(RunEnd::AlreadyComplete { dir })
        }
    }
}

/// Reads `DIR/run.json`.
pub fn read_record(dir: &Path) -> Result<RunRecord, RunError> {
    let path = dir.join(write::RUN_RECORD);
    let text = input::read_limited_string(&path, input::MAX_JSON_BYTES)
        .map_err(|e| resume_err(dir, format!("cannot read {}: {e}", path.display())))?;
    let record: RunRecord = serde_json::from_str(&text)
        .map_err(|e| resume_err(dir, format!("{} is damaged: {e}", path.display())))?;
    if record.format != RUN_RECORD_FORMAT {
        return Err(resume_err(
            dir,
            format!(
                "{} has format \"{}\"; this talentflow reads \"{RUN_RECORD_FORMAT}\"",
                path.display(),
                record.format
            ),
        ));
    }
    Ok(record)
}

/// Continues the unfinished run in `dir` from its checkpoint (from tick 0 when it has none) and
/// finishes it. Refuses a complete directory, a directory that is not a run, and a checkpoint
/// that does not belong to the directory's scenario and seed. `checkpoint_every` replaces the
/// interval recorded at the start when given.
pub fn resume(
    dir: &Path,
    checkpoint_every: Option<u64>,
    progress: &mut dyn FnMut(usize, usize),
    should_stop: &dyn Fn() -> bool,
) -> Result<RunEnd, RunError> {
    // Looked at twice: before the lock, so that a complete or foreign directory (perhaps
    // read-only) is named as such, and after it, in case another process finished it meanwhile.
    let check = || match write::status(dir) {
        DirStatus::Complete => Err(resume_err(
            dir,
            format!(
                "the run is already complete ({} present); nothing to resume",
                write::MANIFEST
            ),
        )),
        DirStatus::Empty | DirStatus::Other => Err(resume_err(
            dir,
            format!(
                "not a started talentflow run (no {} in it)",
                write::RUN_RECORD
            ),
        )),
        DirStatus::Unfinished { .. } => Ok(()),
    };
    check()?;
    // Held until the run ends (see `rundir::lock`).
    let _lock = lock::acquire(dir, lock::LOCK)?;
    check()?;
    let mut record = read_record(dir)?;
    if record.model_version != crate::MODEL_VERSION {
        return Err(resume_err(
            dir,
            format!(
                "the run was started by talentflow {} with model v{}; this talentflow implements \
                 model v{} (docs/MODEL.md), whose outputs differ, so it cannot continue the run: \
                 start it again (talentflow run … --force), or finish it with talentflow {}",
                record.talentflow_version,
                record.model_version,
                crate::MODEL_VERSION,
                record.talentflow_version
            ),
        ));
    }
    // A kill while writing leaves a temporary file; this process will write its own.
    write::remove_stale_temps(dir)?;
    if let Some(every) = checkpoint_every {
        record.checkpoint_every = every;
    }
    let scenario = scenario::load_file(&dir.join(write::SCENARIO), &[])?;
    let hash = scenario.hash();
    if hash != record.scenario_hash {
        return Err(resume_err(
            dir,
            format!(
                "{} has changed since the run started (scenario blake3 {hash}, run.json says {})",
                write::SCENARIO,
                record.scenario_hash
            ),
        ));
    }
    let path = dir.join(write::CHECKPOINT);
    let observe = record.observe();
    let observers_path = dir.join(write::OBSERVERS_CHECKPOINT);
    let (sim, saved) = if observe.any() {
        // The observers are saved beside the checkpoint, just before it. Both of the same tick:
        // continue; otherwise (none yet, or a kill between the two writes) start again from
        // tick 0, which gives the same bytes (a run is a pure function of scenario and seed).
        let restored = if path.exists() && observers_path.exists() {
            let mut sim = checkpoint::load(&path, scenario.clone(), record.seed)?;
            match checkpoint::load_observers(&observers_path, &sim)? {
                Some(obs) => {
                    sim.set_observers(Some(obs));
                    Some(sim)
                }
                None => None,
            }
        } else {
            None
        };
        match restored {
            Some(sim) => {
                let tick = sim.tick();
                (sim, Some(tick))
            }
            None => (
                Simulation::with_observers(scenario, record.seed, &observe)?,
                None,
            ),
        }
    } else if path.exists() {
        let sim = checkpoint::load(&path, scenario, record.seed)?;
        let tick = sim.tick();
        (sim, Some(tick))
    } else {
        // Killed before its first checkpoint: start again, from the same directory.
        (Simulation::try_new(scenario, record.seed)?, None)
    };
    let from = saved.unwrap_or(0);
    drive(sim, dir, &record, Some(from), saved, progress, should_stop)
}

/// The tick loop shared by [`execute`] and [`resume`]; `saved_at` is the tick of the checkpoint
/// already on disk, if any.
fn drive(
    mut sim: Simulation,
    dir: &Path,
    record: &RunRecord,
    resumed_from: Option<usize>,
    mut saved_at: Option<usize>,
    progress: &mut dyn FnMut(usize, usize),
    should_stop: &dyn Fn() -> bool,
) -> Result<RunEnd, RunError> {
    let checkpoint = dir.join(write::CHECKPOINT);
    let observers_file = dir.join(write::OBSERVERS_CHECKPOINT);
    let ticks = sim.params().ticks;
    // The observers (if any) first, then the state: see `resume`.
    let save = |sim: &Simulation| -> Result<(), CheckpointError> {
        checkpoint::save_observers(sim, &observers_file)?;
        checkpoint::save(sim, &checkpoint)
    };
    let started = Instant::now();
    progress(sim.tick(), ticks);
    while !sim.is_finished() {
        if should_stop() {
            if saved_at != Some(sim.tick()) {
                save(&sim)?;
            }
            return Ok(RunEnd::Interrupted {
                dir: dir.to_path_buf(),
                tick: sim.tick(),
                ticks,
            });
        }
        sim.step();
        progress(sim.tick(), ticks);
        let every = record.checkpoint_every as usize;
        if every > 0 && sim.tick().is_multiple_of(every) && !sim.is_finished() {
            save(&sim)?;
            saved_at = Some(sim.tick());
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let dropped = sim.dropped_initial_startups();
    let scenario = sim.scenario().clone();
    let times = sim.phase_times().clone();
    let observers = sim.take_observers();
    let recorder = sim.into_recorder();
    let info = info(record, wall, dropped);
    let mut extra = serde_json::Map::new();
    extra.insert("checkpoint_every".into(), record.checkpoint_every.into());
    extra.insert(
        "resumed_from_tick".into(),
        resumed_from.map_or(serde_json::Value::Null, |t| (t as u64).into()),
    );
    let observer_files = match &observers {
        Some(obs) => {
            let (keys, files) = observer_outputs(dir, &scenario, record.panel.as_ref(), obs)?;
            extra.extend(keys);
            files
        }
        None => Vec::new(),
    };
    write::write_run_full(dir, &scenario, &recorder, &info, extra, observer_files)?;
    for file in [&checkpoint, &observers_file] {
        if file.exists() {
            std::fs::remove_file(file).map_err(|source| OutputError::Io {
                path: file.clone(),
                source,
            })?;
        }
    }
    Ok(RunEnd::Finished(Box::new(Finished {
        dir: dir.to_path_buf(),
        scenario,
        recorder,
        info,
        resumed_from,
        times,
        observers,
    })))
}

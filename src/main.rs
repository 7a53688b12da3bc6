//! `talentflow`: the command-line front of the talentflow library. Parsing arguments and printing
//! is all that happens here; the work is in the library ([`talentflow::rundir::runner`] for runs).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use talentflow::rundir::interrupt;

/// `print!` and `println!` that end the process quietly, with status 0, when stdout is closed
/// (`talentflow generate-world … | head -c 100`), as ripgrep does: std's macros panic on a
/// broken pipe. Defined before any use, they shadow std's in the whole file, so every command
/// prints through them. Other write errors are reported and end the process with status 1.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::stdout_write(format_args!($($arg)*))
    };
}

macro_rules! println {
    () => {
        print!("\n")
    };
    ($($arg:tt)*) => {
        print!("{}\n", format_args!($($arg)*))
    };
}

/// `eprintln!` that ignores a closed stderr (`2>&-`) instead of panicking: there is nowhere
/// left to report to, and the exit status still tells.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Writes to stdout; see [`print!`].
fn stdout_write(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Every error a command can end with; printed as `error: …` without a backtrace.
type CliError = Box<dyn std::error::Error>;
use talentflow::rundir::runner::{self, RunEnd, RunError};
use talentflow::rundir::write::{self, RunInfo};
use talentflow::scenario::{self, Override};

#[derive(Parser)]
#[command(
    name = "talentflow",
    version,
    about = "Agent-based simulation of research talent and startup capital flows between countries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and write series.npz, countries.csv, world.csv, scenario.toml, run.json
    /// (at the start) and manifest.json (last).
    Run(RunArgs),
    /// Run an experiment: arms × replicates, summarised with CIs and effects against control.
    Experiment(ExperimentArgs),
    /// Run a parameter sweep (grid, Latin hypercube, Morris, Saltelli); resumable and shardable.
    Sweep(SweepArgs),
    /// Calibrate behaviour parameters to observed moments (SMM or ABC-SMC), the baseline
    /// calibration re-solved at every θ; resumable (re-run the same command).
    Calibrate(CalibrateArgs),
    /// Join the results of sweep shards into DIR/results.csv; report missing or duplicate runs.
    Merge {
        /// Sweep directories (shards of one sweep); the first receives results.csv.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Morris (μ*, σ) or Sobol (S1, ST with bootstrap CIs) indices of a finished sweep.
    Sensitivity {
        /// Sweep directory with a complete results.csv.
        dir: PathBuf,
    },
    /// Scenario discovery over a finished sweep: where a condition on an outcome holds (PRIM box
    /// with its peeling trajectory, and a CART tree); writes DIR/discover/.
    Discover(DiscoverArgs),
    /// Continue a run that was interrupted or killed, from its directory's checkpoint.
    Resume {
        /// The run directory (the --out of the interrupted run).
        dir: PathBuf,
        /// Checkpoint interval in ticks (default: the one the run was started with).
        #[arg(long, value_name = "N")]
        checkpoint_every: Option<u64>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file (and overrides); list every problem with file, line and key.
    Validate {
        /// Scenario TOML file ("world2025" or "toy3" for the embedded ones).
        scenario: String,
        /// Override a parameter: key.path=value (e.g. innovation.lambda=0.9, country.SAU.wage_k=120).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Draw the figures of a finished run, experiment or calibration directory as SVG and PNG.
    Plot {
        /// Run, experiment or calibration directory.
        dir: PathBuf,
        /// Where to write the figures (default: DIR/plots).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write SVG only, no PNG.
        #[arg(long)]
        svg_only: bool,
    },
    /// Write a self-contained report.html for a finished run, experiment or calibration directory.
    Report {
        /// Run, experiment or calibration directory.
        dir: PathBuf,
        /// Where to write the report (default: DIR/report.html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Baseline calibration (MODEL.md §8): set every country's `attraction` so that the
    /// baseline's expected first-year net migration matches observed rates; writes the calibrated
    /// scenario and the fit (OUT's stem + .baseline-fit.csv).
    CalibrateBaseline {
        /// Scenario TOML file ("world2025" or "toy3" for the embedded ones).
        scenario: String,
        /// Targets CSV: country,net_migration_rate,se (rates per year; other columns ignored).
        #[arg(long)]
        targets: PathBuf,
        /// Calibrated scenario to write (may be SCENARIO itself: its comments are kept).
        #[arg(long)]
        out: PathBuf,
        /// Write the scenario even when some targets are not met within 2 se.
        #[arg(long)]
        allow_unmet: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Derive baseline-calibration targets for a scenario's countries from observed data (the
    /// AI Index's net AI-talent migration per AI worker; rules in data/targets/README.md).
    DeriveTargets {
        /// Scenario whose countries get targets ("world2025" for the embedded one).
        scenario: String,
        /// Directory of the observed-data CSVs (stanford_ai_index_2025.csv and
        /// stanford_ai_index_2024_secondary.csv).
        #[arg(long, default_value = "data/observed")]
        observed: PathBuf,
        /// Targets CSV to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write a synthetic world of N countries as a scenario file (for scaling studies).
    GenerateWorld {
        /// Number of countries.
        #[arg(long)]
        countries: usize,
        /// Random seed of the generated world.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scenario file to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario TOML file; default: the embedded world2025 ("toy3" names the embedded toy world).
    scenario: Option<String>,
    /// Random seed (default: the scenario's world.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: runs/<scenario>-seed<seed>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Researcher agents at t=0 (the resolution; shorthand for --set world.agents=N).
    #[arg(long)]
    agents: Option<u64>,
    /// Years to simulate (shorthand for --set world.years=N).
    #[arg(long)]
    years: Option<u64>,
    /// Override a parameter: key.path=value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Save a checkpoint every N ticks, so `talentflow resume` can continue a killed run
    /// (0 = only when interrupted by SIGINT/SIGTERM).
    #[arg(long, value_name = "N", default_value_t = 0)]
    checkpoint_every: u64,
    /// Overwrite an existing output directory.
    #[arg(long)]
    force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Write DIR/report.html (figures, tables) right after the run.
    #[arg(long)]
    report: bool,
    /// At the end, print the wall time of each tick phase to stderr.
    #[arg(long)]
    profile: bool,
    /// Follow a seeded sample of researchers: a fraction (0.01) or a number of agents (5000);
    /// writes panel.npz, panel_startups.npz, panel_moves.npz.
    #[arg(long, value_name = "FRACTION|N")]
    panel: Option<String>,
    /// Years between panel snapshots (default 1).
    #[arg(long, value_name = "YEARS", requires = "panel")]
    panel_every: Option<f64>,
    /// Compute stay curves and the emigration hazard from all agents (stay.csv, hazard.csv).
    #[arg(long)]
    cohorts: bool,
}

#[derive(clap::Args)]
struct ExperimentArgs {
    /// Experiment TOML file.
    file: PathBuf,
    /// Replicates per arm (default: the file's, else 30).
    #[arg(long)]
    replicates: Option<u32>,
    /// Output directory (default: runs/experiments/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Parallel runs (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Override a parameter of every arm: key.path=value (repeatable), applied after the file's
    /// `set` and recorded in experiment.json.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also keep every run's full outputs under OUT/runs/<arm>/rep<NNN>/.
    #[arg(long)]
    keep_runs: bool,
    /// A finished calibration directory: replicate r of every arm runs at posterior draw r.
    #[arg(long, value_name = "DIR")]
    posterior: Option<PathBuf>,
    /// Branch year: run every replicate's common part (the control arm up to this year) once and
    /// continue every arm from it; arms must not differ before it. Overrides the file's
    /// `branch_at`.
    #[arg(long, value_name = "YEAR")]
    branch_at: Option<i64>,
    /// Overwrite an existing output directory.
    #[arg(long)]
    force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct DiscoverArgs {
    /// Sweep directory with a complete results.csv.
    dir: PathBuf,
    /// The condition, `OUTCOME OP VALUE` with OP one of > >= < <= (OUTCOME: a column of the
    /// sweep's results, the mean over replicates at each design point).
    #[arg(long = "where", value_name = "CONDITION")]
    condition: String,
    /// The outcome (must be the condition's column; arithmetic belongs in the sweep's outcomes).
    #[arg(long)]
    outcome: Option<String>,
    /// PRIM: share of the box's points peeled (and pasted) per step.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// PRIM: smallest box mass (share of points) peeling may reach.
    #[arg(long, default_value_t = 0.05)]
    mass_min: f64,
    /// PRIM: the chosen box is the densest on the trajectory with at least this coverage.
    #[arg(long, default_value_t = 0.5)]
    min_coverage: f64,
    /// CART: maximum depth.
    #[arg(long, default_value_t = 3)]
    depth: usize,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Sweep TOML file.
    file: PathBuf,
    /// Output directory (default: runs/sweeps/<name>). Re-running on it resumes.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run only the I-th of N interleaved slices (0-based), e.g. 3/16. Default: from
    /// SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT when set, else everything.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Parallel runs (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Override a parameter of every run: key.path=value (repeatable), applied after the file's
    /// `set`; part of the sweep's identity (its hash). A swept parameter cannot be set.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Discard results of a different sweep in the output directory.
    #[arg(long)]
    force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Distribute runs over MPI ranks (start with mpirun; needs the `mpi` cargo feature).
    #[arg(long)]
    mpi: bool,
}

/// Most worker threads `--jobs` may ask for: far more than any machine has cores, few enough
/// that starting them cannot exhaust the process.
const MAX_JOBS: usize = 4096;

/// `--jobs N`, checked against [`MAX_JOBS`] (0 means 1).
fn jobs(n: usize) -> Result<usize, CliError> {
    if n > MAX_JOBS {
        return Err(format!("--jobs {n}: at most {MAX_JOBS} worker threads").into());
    }
    Ok(n.max(1))
}

#[derive(clap::Args)]
struct CalibrateArgs {
    /// Calibration TOML file.
    file: PathBuf,
    /// Output directory (default: runs/calibrations/<name>). Re-running on it resumes.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Parallel runs (default: all cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Override a parameter of every run: key.path=value (after the file's own `set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Discard another calibration's files in the output directory.
    #[arg(long)]
    force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Be the I-th of N processes sharing the calibration (0-based), e.g. 1/4: each simulates
    /// every N-th evaluation and reads the others' from the shared --out directory. Default:
    /// from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT when set, else everything.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// With --shard: seconds to wait for the other shards (with no new evaluation from any)
    /// before giving up; everything so far is kept.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    wait: u64,
    /// Share the calibration among MPI ranks (start with mpirun; needs the `mpi` cargo
    /// feature): rank I of N is shard I/N, exchanging evaluations through --out as shards do.
    #[arg(long, conflicts_with = "shard")]
    mpi: bool,
}

/// The MPI environment of `calibrate --mpi`, kept alive until the calibration returns, and
/// the shard this rank is.
#[cfg(feature = "mpi")]
fn mpi_shard() -> Result<(mpi::environment::Universe, talentflow::study::sweep::Shard), CliError> {
    use mpi::traits::Communicator;
    let universe = mpi::initialize().ok_or("MPI is already initialised")?;
    let world = universe.world();
    let shard = talentflow::study::sweep::Shard {
        index: world.rank() as usize,
        count: world.size().max(1) as usize,
    };
    Ok((universe, shard))
}

#[cfg(not(feature = "mpi"))]
fn mpi_shard() -> Result<((), talentflow::study::sweep::Shard), CliError> {
    Err("this talentflow was built without MPI support; rebuild with `cargo build --release --features mpi` (needs libopenmpi-dev and libclang-dev)".into())
}

fn calibrate(args: CalibrateArgs) -> Result<Exit, CliError> {
    use talentflow::study::calibrate::{self, CalibrateError, Calibration};
    use talentflow::study::sweep::Shard;
    interrupt::install()?;
    // Under MPI every rank is a shard of the file exchange (rank 0 writes the results): the
    // estimators are sequential between batches, so there is nothing for a coordinator to hand
    // out that the shards do not already agree on.
    let mut _mpi = None;
    // As for sweeps: a bad --shard (or Slurm array) is refused before anything is read.
    let shard = if args.mpi {
        let (universe, shard) = mpi_shard()?;
        _mpi = Some(universe);
        shard
    } else {
        match &args.shard {
            Some(text) => Shard::parse(text)?,
            None => Shard::from_slurm(|k| std::env::var(k).ok())
                .transpose()?
                .unwrap_or(Shard::ALL),
        }
    };
    let cal = Calibration::load(&args.file, &args.set)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/calibrations/{}", cal.spec.name)));
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(j) = args.jobs {
            b = b.num_threads(jobs(j)?);
        }
        b.build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?
    };
    let started = Instant::now();
    let best = std::sync::Mutex::new(f64::INFINITY);
    let progress = |e: &calibrate::ledger::Evaluated| {
        let mut b = best.lock().unwrap_or_else(|p| p.into_inner());
        *b = b.min(e.distance);
        eprintln!(
            "calibrate {}: evaluation {} ({}): distance {:.4}, best {:.4}, {:.0} s elapsed",
            cal.spec.name,
            e.id,
            e.stage,
            e.distance,
            *b,
            started.elapsed().as_secs_f64()
        );
    };
    let on_eval: Option<&(dyn Fn(&calibrate::ledger::Evaluated) + Sync)> =
        if args.quiet { None } else { Some(&progress) };
    let sharded = (shard.count > 1).then_some((
        shard.index,
        shard.count,
        std::time::Duration::from_secs(args.wait),
    ));
    match pool.install(|| {
        calibrate::run_shard(
            &cal,
            &out,
            args.force,
            &interrupt::requested,
            on_eval,
            sharded,
        )
    }) {
        Ok(report) => {
            if !args.quiet {
                print!("{}", report.summary);
                if shard.count > 1 {
                    print!("shard {}/{}: ", shard.index, shard.count);
                }
                println!(
                    "{} evaluations ({} simulated now, {} read back) in {:.1} s; outputs in {}",
                    report.evaluations,
                    report.simulated,
                    report.evaluations - report.simulated,
                    started.elapsed().as_secs_f64(),
                    report.dir.display()
                );
            }
            Ok(Exit::Done)
        }
        Err(e @ CalibrateError::Interrupted) => {
            eprintln!(
                "{e} ({}); evaluations so far are in {}",
                interrupt::signal_name(),
                out.display()
            );
            Ok(Exit::Interrupted)
        }
        Err(e) => Err(e.into()),
    }
}

fn done(_: ()) -> Exit {
    Exit::Done
}

/// How a command ended, for the exit status.
enum Exit {
    Done,
    Interrupted,
}

/// Drives a run or a resume with progress and Ctrl-C handling, then reports. `start` is the
/// line printed first when progress goes to a log.
fn drive(
    quiet: bool,
    profile: bool,
    start: &str,
    go: impl FnOnce(&mut dyn FnMut(usize, usize)) -> Result<RunEnd, RunError>,
) -> Result<Exit, CliError> {
    interrupt::install()?;
    let progress = Progress::new(
        quiet,
        "tick".into(),
        "tick {pos}/{len} [{bar:40}] {elapsed_precise} eta {eta}",
    );
    // The start line waits for the first progress report, which comes once the run is set up:
    // a run refused while loading (a bad checkpoint, a busy directory) prints only its error.
    let mut announced = !progress.logs();
    let outcome = go(&mut |tick, ticks| {
        if !announced {
            eprintln!("{start}");
            announced = true;
        }
        progress.update(tick, ticks)
    });
    progress.finish();
    match outcome? {
        RunEnd::Finished(f) => {
            if profile {
                eprintln!("{}", f.times);
            }
            if !quiet {
                print!(
                    "{}",
                    talentflow::viz::summary::summary(&f.scenario, &f.recorder)
                );
                let resumed = f
                    .resumed_from
                    .map(|t| format!(" (resumed at tick {t})"))
                    .unwrap_or_default();
                println!(
                    "seed {}, {} agents, {} threads, {:.2} s{resumed}; outputs in {}",
                    f.info.seed,
                    f.scenario.world.agents,
                    f.info.threads,
                    f.info.wall_seconds,
                    f.dir.display()
                );
                if f.info.dropped_initial_startups > 0 {
                    println!(
                        "note: {} initial startup agents had no researcher to found them and were dropped",
                        f.info.dropped_initial_startups
                    );
                }
            }
            Ok(Exit::Done)
        }
        RunEnd::AlreadyComplete { dir } => {
            if !quiet {
                println!("{} is already complete", dir.display());
            }
            Ok(Exit::Done)
        }
        RunEnd::Interrupted { dir, tick, ticks } => {
            eprintln!(
                "interrupted ({}) after tick {tick} of {ticks}; checkpoint saved in {}\n\
                 resume with: talentflow resume {}",
                interrupt::signal_name(),
                dir.display(),
                dir.display()
            );
            Ok(Exit::Interrupted)
        }
    }
}

/// Refuses a shorthand flag (`--years`, `--agents`) given together with a `--set` of the key it
/// stands for: one of them would silently win.
fn refuse_shorthand_conflict(
    set: &[String],
    flag: &str,
    value: Option<u64>,
    key: &str,
) -> Result<(), CliError> {
    let Some(value) = value else { return Ok(()) };
    for text in set {
        // An unparseable override is reported, with its reason, when the scenario loads.
        let Ok(o) = Override::parse(text) else {
            continue;
        };
        let path: Vec<&str> = o.path.split('.').map(str::trim).collect();
        if path.join(".") == key {
            return Err(format!(
                "--{flag} {value} and --set {} both set {key}; give only one of them",
                talentflow::scenario::text::echo(text)
            )
            .into());
        }
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<Exit, CliError> {
    refuse_shorthand_conflict(&args.set, "years", args.years, "world.years")?;
    refuse_shorthand_conflict(&args.set, "agents", args.agents, "world.agents")?;
    let mut set = args.set.clone();
    if let Some(a) = args.agents {
        set.insert(0, format!("world.agents={a}"));
    }
    if let Some(y) = args.years {
        set.insert(0, format!("world.years={y}"));
    }
    let name = args.scenario.unwrap_or_else(|| "world2025".into());
    let mut plan = runner::plan(&name, &set, args.seed, args.out, args.checkpoint_every)?;
    if let Some(spec) = &args.panel {
        let every = args.panel_every.unwrap_or(1.0);
        plan.observe.panel = Some(runner::panel_options(spec, every, &plan.scenario)?);
    }
    plan.observe.cohorts = args.cohorts;
    let dir = plan.dir.clone();
    let start = format!(
        "run {}: {} countries, {} ticks, {} agents, seed {} \u{2192} {}",
        plan.source,
        plan.scenario.countries.len(),
        plan.scenario.ticks(),
        plan.scenario.world.agents,
        plan.seed,
        dir.display()
    );
    let exit = drive(args.quiet, args.profile, &start, |progress| {
        runner::execute(plan, args.force, progress, &interrupt::requested)
    })?;
    if args.report && matches!(exit, Exit::Done) {
        let path = talentflow::viz::report::write_report(&dir, None)?;
        if !args.quiet {
            println!("report: {}", path.display());
        }
    }
    Ok(exit)
}

fn resume(dir: PathBuf, checkpoint_every: Option<u64>, quiet: bool) -> Result<Exit, CliError> {
    let start = format!("resume {}", dir.display());
    drive(quiet, false, &start, |progress| {
        runner::resume(&dir, checkpoint_every, progress, &interrupt::requested)
    })
}

fn experiment(args: ExperimentArgs) -> Result<Exit, CliError> {
    use talentflow::study::experiment::{self, Experiment, ExperimentError};
    interrupt::install()?;
    args.jobs.map(jobs).transpose()?; // refused before anything is written
    let mut exp = Experiment::load_with(&args.file, &args.set)?;
    if let Some(r) = args.replicates {
        exp.set_replicates(r)?;
    }
    if let Some(year) = args.branch_at {
        exp.set_branch_at(Some(year))?;
    }
    if let Some(dir) = &args.posterior {
        let note =
            talentflow::study::calibrate::posterior::Posterior::load(dir)?.apply(&mut exp)?;
        if !args.quiet {
            eprintln!("experiment {}: {note}", exp.spec.name);
        }
    }
    // Checked again with the posterior's draws, before anything is written.
    let branch = exp.branch_plan()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/experiments/{}", exp.spec.name)));
    // Claimed (and with --force, cleared of the old experiment) until the results are written.
    let _lock = experiment::write::prepare_dir(&out, args.force)?;
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(j) = args.jobs {
            b = b.num_threads(jobs(j)?);
        }
        b.build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?
    };
    let jobs = pool.current_num_threads();
    let total = exp.total_runs();
    let progress = Progress::new(
        args.quiet,
        format!("experiment {}: runs", exp.spec.name),
        "run {pos}/{len} [{bar:40}] {elapsed_precise} eta {eta}",
    );
    if progress.logs() {
        eprintln!(
            "experiment {}: {} arms \u{00d7} {} replicates = {total} runs on {jobs} threads \u{2192} {}",
            exp.spec.name,
            exp.arms.len(),
            exp.spec.replicates,
            out.display()
        );
        if let Some(b) = branch {
            eprintln!(
                "experiment {}: branched at {} (every replicate's first {} ticks run once, from the control arm `{}`)",
                exp.spec.name, b.year, b.tick, exp.arms[exp.control].name
            );
        }
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tick = || {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // Adaptive precision may add replicates beyond the first plan.
        progress.update(n, total.max(n));
    };
    // What keeping a run needs of its arm, copied: the experiment itself grows replicates while
    // it runs (adaptive precision).
    let arms: Vec<_> = exp
        .arms
        .iter()
        .map(|a| (a.name.clone(), a.scenario.clone(), a.overrides.clone()))
        .collect();
    let base_source = exp.base_source.clone();
    let keep = |(a, r, seed): (usize, u32, u64),
                rec: &talentflow::model::record::Recorder|
     -> Result<(), write::OutputError> {
        if !args.keep_runs {
            return Ok(());
        }
        let (name, scenario, overrides) = &arms[a];
        let dir = out.join("runs").join(name).join(format!("rep{r:03}"));
        std::fs::create_dir_all(&dir).map_err(|source| write::OutputError::Io {
            path: dir.clone(),
            source,
        })?;
        let info = RunInfo {
            scenario_source: base_source.clone(),
            overrides: overrides.clone(),
            seed,
            threads: 1,
            wall_seconds: 0.0,
            dropped_initial_startups: 0,
        };
        write::write_run(&dir, scenario, rec, &info).map(|_| ())
    };
    let started = Instant::now();
    let ran =
        pool.install(|| experiment::run_adaptive(&mut exp, &interrupt::requested, &keep, &tick));
    let (results, precision) = match ran {
        Ok(r) => r,
        Err(ExperimentError::Interrupted {
            finished, total, ..
        }) => {
            progress.finish();
            let path = out.join("runs.partial.csv");
            let rows = finished.iter().map(|(i, v)| (*i, v.as_slice()));
            let bytes = experiment::write::runs_csv(&path, &exp, rows)?;
            write::write_atomic(&path, &bytes)?;
            eprintln!(
                "interrupted ({}): {} of {total} runs finished; their outcomes are in {} (no summary was written)",
                interrupt::signal_name(),
                finished.len(),
                path.display()
            );
            return Ok(Exit::Interrupted);
        }
        Err(e) => return Err(e.into()),
    };
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    let printed =
        experiment::write::write_results(&out, &exp, &results, jobs, wall, precision.as_ref())?;
    if !exp.spec.doses.is_empty() {
        let rows = experiment::tests_out::dose_rows(&exp, &results);
        talentflow::viz::plot::dose::write_dose_figures(&out, &exp, &rows)?;
    }
    if !args.quiet {
        print!("{printed}");
        println!(
            "\n{} runs on {jobs} threads in {wall:.1} s; results in {}",
            exp.total_runs(),
            out.display()
        );
    }
    Ok(Exit::Done)
}

fn sweep(args: SweepArgs) -> Result<Exit, CliError> {
    use talentflow::study::sweep::{files, Shard, Sweep, SweepError};
    interrupt::install()?;
    args.jobs.map(jobs).transpose()?; // refused before anything is written
    let sweep = Sweep::load_with(&args.file, &args.set)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/sweeps/{}", sweep.spec.name)));
    if args.mpi {
        return mpi_sweep(&sweep, &out, args.force).map(done);
    }
    let shard = match &args.shard {
        Some(text) => Shard::parse(text)?,
        None => Shard::from_slurm(|k| std::env::var(k).ok())
            .transpose()?
            .unwrap_or(Shard::ALL),
    };
    files::prepare(&sweep, &out, args.force)?;
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(j) = args.jobs {
            b = b.num_threads(jobs(j)?);
        }
        b.build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?
    };
    let sharded = shard != Shard::ALL;
    let which = if sharded {
        format!(" shard {}/{}", shard.index, shard.count)
    } else {
        String::new()
    };
    let progress = Progress::new(
        args.quiet,
        format!("sweep {}{which}: runs", sweep.spec.name),
        "run {pos}/{len} [{bar:40}] {elapsed_precise} eta {eta}",
    );
    let started = Instant::now();
    let first_done = std::sync::OnceLock::new();
    let jobs = pool.current_num_threads();
    let on_done = |done: usize, total: usize| {
        // The first call says how many runs were done before this process started.
        first_done.get_or_init(|| {
            if progress.logs() {
                eprintln!(
                    "sweep {}{which}: {total} runs ({done} already done) on {jobs} threads \u{2192} {}",
                    sweep.spec.name,
                    out.display()
                );
            }
            done
        });
        progress.update(done, total);
    };
    let report = match pool
        .install(|| files::execute(&sweep, &out, shard, &interrupt::requested, &on_done))
    {
        Ok(r) => r,
        Err(e @ SweepError::Interrupted { .. }) => {
            progress.finish();
            eprintln!(
                "{} ({}); results so far are in {}",
                e,
                interrupt::signal_name(),
                out.display()
            );
            return Ok(Exit::Interrupted);
        }
        Err(e) => return Err(e.into()),
    };
    progress.finish();
    if !args.quiet {
        println!(
            "sweep {}{which}: {} runs ({} already done, {} run now) in {:.1} s; results in {}",
            sweep.spec.name,
            report.shard_runs,
            report.already_done,
            report.ran,
            started.elapsed().as_secs_f64(),
            report.results.display()
        );
    }
    Ok(Exit::Done)
}

#[cfg(feature = "mpi")]
fn mpi_sweep(
    sweep: &talentflow::study::sweep::Sweep,
    out: &Path,
    force: bool,
) -> Result<(), CliError> {
    Ok(talentflow::study::sweep::mpi::run(sweep, out, force)?)
}

#[cfg(not(feature = "mpi"))]
fn mpi_sweep(_: &talentflow::study::sweep::Sweep, _: &Path, _: bool) -> Result<(), CliError> {
    Err("this talentflow was built without MPI support; rebuild with `cargo build --release --features mpi` (needs libopenmpi-dev and libclang-dev)".into())
}

fn merge(dirs: &[PathBuf]) -> Result<(), CliError> {
    let r = talentflow::study::sweep::files::merge(dirs)?;
    println!(
        "merged {} of {} runs into {}",
        r.found,
        r.total,
        r.merged.display()
    );
    if !r.duplicates.is_empty() {
        println!(
            "{} runs appeared more than once with identical rows (kept once)",
            r.duplicates.len()
        );
    }
    if r.missing.is_empty() {
        Ok(())
    } else {
        let shown: Vec<String> = r.missing.iter().take(20).map(ToString::to_string).collect();
        Err(format!(
            "{} runs are missing (run ids {}{}); re-run their shards, then merge again",
            r.missing.len(),
            shown.join(", "),
            if r.missing.len() > 20 { ", …" } else { "" }
        )
        .into())
    }
}

fn discover(args: DiscoverArgs) -> Result<(), CliError> {
    use talentflow::study::discover::{self, Settings};
    for (name, v) in [("--alpha", args.alpha), ("--mass-min", args.mass_min)] {
        if !(v > 0.0 && v < 0.5) {
            return Err(format!("{name} must be in (0, 0.5), found {v}").into());
        }
    }
    if !(0.0..=1.0).contains(&args.min_coverage) {
        return Err(format!(
            "--min-coverage must be in [0, 1], found {}",
            args.min_coverage
        )
        .into());
    }
    let mut s = Settings {
        max_depth: args.depth.min(20),
        ..Settings::default()
    };
    s.prim.peel_alpha = args.alpha;
    s.prim.paste_alpha = args.alpha;
    s.prim.mass_min = args.mass_min;
    s.prim.min_coverage = args.min_coverage;
    let d = discover::discover(&args.dir, &args.condition, args.outcome.as_deref(), s)?;
    discover::write(&args.dir, &d)?;
    print!("{}", discover::summary(&d));
    println!(
        "
written to {}",
        args.dir.join("discover").display()
    );
    Ok(())
}

fn sensitivity(dir: &Path) -> Result<(), CliError> {
    let complete = talentflow::study::sweep::files::read_complete(dir)?;
    let (table, csv) = talentflow::study::sensitivity::analyse(&complete)?;
    write::write_atomic(&dir.join("sensitivity.csv"), &csv)?;
    print!("{table}");
    println!("\nwritten to {}", dir.join("sensitivity.csv").display());
    Ok(())
}

/// Progress of a long command on stderr: a bar on a terminal; without one (a log, a batch
/// job), a line at every tenth of the work; with `-q`, nothing.
enum Progress {
    Bar(ProgressBar),
    Log {
        /// What is counted, e.g. `experiment x: runs`.
        label: String,
        started: Instant,
        /// Tenths of the work already reported.
        reported: std::sync::Mutex<usize>,
    },
    Quiet,
}

impl Progress {
    fn new(quiet: bool, label: String, template: &str) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            Progress::Bar(bar)
        } else {
            Progress::Log {
                label,
                started: Instant::now(),
                reported: std::sync::Mutex::new(0),
            }
        }
    }

    /// Whether lines go to a log (no terminal, not quiet): then the command also prints a line
    /// when it starts.
    fn logs(&self) -> bool {
        matches!(self, Progress::Log { .. })
    }

    /// `done` of `total` units finished.
    fn update(&self, done: usize, total: usize) {
        match self {
            Progress::Bar(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Progress::Log {
                label,
                started,
                reported,
            } => {
                if total == 0 {
                    return;
                }
                let tenth = done * 10 / total;
                let Ok(mut last) = reported.lock() else {
                    return;
                };
                if tenth <= *last || done == 0 {
                    return;
                }
                *last = tenth;
                let elapsed = started.elapsed().as_secs_f64();
                let eta = elapsed / done as f64 * (total - done) as f64;
                eprintln!(
                    "{label} {done}/{total} ({}%), {elapsed:.1} s elapsed, eta {eta:.1} s",
                    done * 100 / total
                );
            }
            Progress::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn validate(name: &str, set: &[String]) -> Result<Exit, CliError> {
    let overrides = set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (s, source) = scenario::load_named(name, None, &overrides)?;
    println!(
        "{source}: ok — {} countries, {} partnerships, {} policies, {} ticks, {} agents, scenario blake3 {}",
        s.countries.len(),
        s.partnerships.len(),
        s.policies.len(),
        s.ticks(),
        s.world.agents,
        s.hash()
    );
    Ok(Exit::Done)
}

fn plot(dir: &Path, out: Option<&Path>, svg_only: bool) -> Result<(), CliError> {
    let files = talentflow::viz::plot::plot_dir(dir, out, svg_only)?;
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}

fn report(dir: &Path, out: Option<&Path>) -> Result<(), CliError> {
    let path = talentflow::viz::report::write_report(dir, out)?;
    println!("{}", path.display());
    Ok(())
}

fn generate_world(countries: usize, seed: u64, out: Option<&Path>) -> Result<(), CliError> {
    let world = talentflow::scenario::worldgen::generate(countries, seed)?;
    let text = talentflow::scenario::worldgen::to_toml(&world, seed);
    match out {
        Some(path) => Ok(write::write_atomic(path, text.as_bytes())?),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn calibrate_baseline(
    scenario: &str,
    targets: &Path,
    out: &Path,
    allow_unmet: bool,
    quiet: bool,
) -> Result<(), CliError> {
    use talentflow::study::baseline::{self, CommandError};
    let command = format!(
        "talentflow calibrate-baseline {scenario} --targets {} --out {}{}",
        targets.display(),
        out.display(),
        if allow_unmet { " --allow-unmet" } else { "" }
    );
    match baseline::calibrate_file(scenario, targets, out, allow_unmet, &command) {
        Ok(w) => {
            if !quiet {
                print!("{}", w.fit.table());
                println!("fit written to {}", w.fit_csv.display());
                if let Some(p) = &w.scenario {
                    println!(
                        "calibrated scenario written to {}{}",
                        p.display(),
                        if w.resolved {
                            " (as the resolved scenario: its layout did not allow editing in place)"
                        } else {
                            ""
                        }
                    );
                }
            }
            let unmet = w.fit.unmet();
            if !unmet.is_empty() {
                eprintln!(
                    "warning: {} target(s) not met within 2 se: {}",
                    unmet.len(),
                    unmet
                        .iter()
                        .map(|c| c.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        Err(e @ CommandError::Unmet { .. }) => {
            // Show the fit that failed, then the error.
            if let CommandError::Unmet { table, .. } = &e {
                eprint!("{table}");
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn derive_targets(scenario: &str, observed: &Path, out: Option<&Path>) -> Result<(), CliError> {
    use talentflow::study::targets;
    let (s, _) = scenario::load_named(scenario, None, &[])?;
    let a25 = targets::read_observed(&observed.join("stanford_ai_index_2025.csv"))?;
    let a24 = targets::read_observed(&observed.join("stanford_ai_index_2024_secondary.csv"))?;
    let text = targets::derive(&s, &a25, &a24);
    match out {
        Some(path) => Ok(write::write_atomic(path, text.as_bytes())?),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Experiment(args) => experiment(args),
        Command::Sweep(args) => sweep(args),
        Command::Calibrate(args) => calibrate(args),
        Command::Merge { dirs } => merge(&dirs).map(done),
        Command::Sensitivity { dir } => sensitivity(&dir).map(done),
        Command::Discover(args) => discover(args).map(done),
        Command::Resume {
            dir,
            checkpoint_every,
            quiet,
        } => resume(dir, checkpoint_every, quiet),
        Command::Validate { scenario, set } => validate(&scenario, &set),
        Command::Plot { dir, out, svg_only } => plot(&dir, out.as_deref(), svg_only).map(done),
        Command::Report { dir, out } => report(&dir, out.as_deref()).map(done),
        Command::GenerateWorld {
            countries,
            seed,
            out,
        } => generate_world(countries, seed, out.as_deref()).map(done),
        Command::CalibrateBaseline {
            scenario,
            targets,
            out,
            allow_unmet,
            quiet,
        } => calibrate_baseline(&scenario, &targets, &out, allow_unmet, quiet).map(done),
        Command::DeriveTargets {
            scenario,
            observed,
            out,
        } => derive_targets(&scenario, &observed, out.as_deref()).map(done),
    };
    match result {
        Ok(Exit::Done) => ExitCode::SUCCESS,
        Ok(Exit::Interrupted) => ExitCode::from(interrupt::exit_code()),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

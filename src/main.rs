//! `talentflow`: the command-line front of the talentflow library. Parsing arguments and printing
//! is all that happens here; the work is in the library ([`talentflow::runner`] for runs).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use talentflow::interrupt;
use talentflow::runner::{self, Outcome, RunError};
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
    /// Run one scenario and write series.npz, countries.csv, world.csv, scenario.toml, manifest.json.
    Run(RunArgs),
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
}

/// How a command ended, for the exit status.
enum Exit {
    Done,
    Interrupted,
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} tick {pos}/{len} [{bar:40}] {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Drives a run or a resume with a progress bar and Ctrl-C handling, then reports.
fn report(
    quiet: bool,
    go: impl FnOnce(&mut dyn FnMut(usize, usize)) -> Result<Outcome, RunError>,
) -> Result<Exit, String> {
    interrupt::install()?;
    let bar = progress_bar(quiet);
    let outcome = go(&mut |tick, ticks| {
        bar.set_length(ticks as u64);
        bar.set_position(tick as u64);
    });
    bar.finish_and_clear();
    match outcome.map_err(|e| e.to_string())? {
        Outcome::Finished(f) => {
            if !quiet {
                print!("{}", talentflow::summary::summary(&f.scenario, &f.recorder));
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
        Outcome::AlreadyComplete { dir } => {
            if !quiet {
                println!("{} is already complete", dir.display());
            }
            Ok(Exit::Done)
        }
        Outcome::Interrupted { dir, tick, ticks } => {
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

fn run(args: RunArgs) -> Result<Exit, String> {
    let mut set = args.set.clone();
    if let Some(a) = args.agents {
        set.insert(0, format!("world.agents={a}"));
    }
    if let Some(y) = args.years {
        set.insert(0, format!("world.years={y}"));
    }
    let name = args.scenario.unwrap_or_else(|| "world2025".into());
    let plan = runner::plan(&name, &set, args.seed, args.out, args.checkpoint_every)
        .map_err(|e| e.to_string())?;
    report(args.quiet, |progress| {
        runner::execute(plan, args.force, progress, &interrupt::requested)
    })
}

fn resume(dir: PathBuf, checkpoint_every: Option<u64>, quiet: bool) -> Result<Exit, String> {
    report(quiet, |progress| {
        runner::resume(&dir, checkpoint_every, progress, &interrupt::requested)
    })
}

fn validate(name: &str, set: &[String]) -> Result<Exit, String> {
    let overrides = set
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (s, source) = scenario::load_named(name, &overrides).map_err(|e| e.to_string())?;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Resume {
            dir,
            checkpoint_every,
            quiet,
        } => resume(dir, checkpoint_every, quiet),
        Command::Validate { scenario, set } => validate(&scenario, &set),
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

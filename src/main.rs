//! `talentflow`: the command-line front of the talentflow library. Parsing arguments and printing
//! is all that happens here; the work is in the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use talentflow::engine::Simulation;
use talentflow::output::{self, RunInfo};
use talentflow::scenario::{self, Override, Scenario, ScenarioError, SourceName};

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
    /// Check a scenario file (and overrides); list every problem with file, line and key.
    Validate {
        /// Scenario TOML file ("world2025" or "toy3" for the embedded ones).
        scenario: String,
        /// Override a parameter: key.path=value (e.g. innovation.lambda=0.9, country.SAU.wage_k=120).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
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
    /// Overwrite an existing output directory.
    #[arg(long)]
    force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// At the end, print the wall time of each tick phase to stderr.
    #[arg(long)]
    profile: bool,
}

fn parse_overrides(set: &[String]) -> Result<Vec<Override>, String> {
    set.iter().map(|s| Override::parse(s)).collect()
}

/// Loads a scenario by path, or one of the embedded ones by name.
fn load(name: &str, overrides: &[Override]) -> Result<(Scenario, String), ScenarioError> {
    let embedded = match name {
        "world2025" => Some(("world2025", scenario::WORLD2025_TOML)),
        "toy3" => Some(("toy3", scenario::TOY3_TOML)),
        _ => None,
    };
    match embedded {
        Some((n, text)) if !Path::new(name).exists() => {
            let source = SourceName::Embedded(n);
            scenario::load_str(text, &source, overrides).map(|s| (s, source.to_string()))
        }
        _ => {
            let path = Path::new(name);
            scenario::load_file(path, overrides).map(|s| (s, path.display().to_string()))
        }
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    let mut set = args.set.clone();
    if let Some(a) = args.agents {
        set.insert(0, format!("world.agents={a}"));
    }
    if let Some(y) = args.years {
        set.insert(0, format!("world.years={y}"));
    }
    let overrides = parse_overrides(&set)?;
    let name = args.scenario.clone().unwrap_or_else(|| "world2025".into());
    let (scenario, source) = load(&name, &overrides).map_err(|e| e.to_string())?;
    let seed = args.seed.unwrap_or(scenario.world.seed);
    let stem = Path::new(&name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(name.clone());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{stem}-seed{seed}")));
    output::prepare_dir(&out, args.force).map_err(|e| e.to_string())?;

    let ticks = scenario.ticks() as u64;
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(ticks);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} tick {pos}/{len} [{bar:40}] {elapsed_precise} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut sim = Simulation::new(scenario.clone(), seed);
    let dropped = sim.dropped_initial_startups();
    sim.run(|t| bar.set_position(t as u64));
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    if args.profile {
        eprintln!("{}", sim.phase_times());
    }
    let rec = sim.into_recorder();
    let info = RunInfo {
        scenario_source: source,
        overrides: overrides.iter().map(|o| o.to_string()).collect(),
        seed,
        threads: rayon::current_num_threads(),
        wall_seconds: wall,
        dropped_initial_startups: dropped,
    };
    output::write_run(&out, &scenario, &rec, &info).map_err(|e| e.to_string())?;
    if !args.quiet {
        print!("{}", talentflow::summary::summary(&scenario, &rec));
        println!(
            "seed {seed}, {} agents, {} threads, {wall:.2} s; outputs in {}",
            scenario.world.agents,
            info.threads,
            out.display()
        );
        if dropped > 0 {
            println!("note: {dropped} initial startup agents had no researcher to found them and were dropped");
        }
    }
    Ok(())
}

fn validate(name: &str, set: &[String]) -> Result<(), String> {
    let overrides = parse_overrides(set)?;
    let (s, source) = load(name, &overrides).map_err(|e| e.to_string())?;
    println!(
        "{source}: ok — {} countries, {} partnerships, {} policies, {} ticks, {} agents, scenario blake3 {}",
        s.countries.len(),
        s.partnerships.len(),
        s.policies.len(),
        s.ticks(),
        s.world.agents,
        s.hash()
    );
    Ok(())
}

fn generate_world(countries: usize, seed: u64, out: Option<&Path>) -> Result<(), String> {
    let world = talentflow::worldgen::generate(countries, seed).map_err(|e| e.to_string())?;
    let text = talentflow::worldgen::to_toml(&world, seed);
    match out {
        Some(path) => output::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string()),
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
        Command::Validate { scenario, set } => validate(&scenario, &set),
        Command::GenerateWorld {
            countries,
            seed,
            out,
        } => generate_world(countries, seed, out.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

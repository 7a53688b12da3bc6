//! Helpers shared by the integration tests.
#![allow(dead_code)]

use talentflow::model::engine::Simulation;
use talentflow::model::record::Recorder;
use talentflow::scenario::{
    load_str, Override, SourceName, ValidScenario, TOY3_TOML, WORLD2025_TOML,
};

/// Parses `key=value` overrides.
pub fn overrides(set: &[&str]) -> Vec<Override> {
    set.iter()
        .map(|s| Override::parse(s).expect("override"))
        .collect()
}

/// The toy3 scenario with overrides.
pub fn toy3(set: &[&str]) -> ValidScenario {
    load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &overrides(set)).expect("toy3 loads")
}

/// The default world with overrides.
pub fn world(set: &[&str]) -> ValidScenario {
    load_str(
        WORLD2025_TOML,
        &SourceName::Embedded("world2025"),
        &overrides(set),
    )
    .expect("world2025 loads")
}

/// A scenario from inline TOML.
pub fn scenario(text: &str) -> ValidScenario {
    match load_str(text, &SourceName::Embedded("test"), &[]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// Runs to the end and returns the observations.
pub fn run(s: ValidScenario, seed: u64) -> Recorder {
    let mut sim = Simulation::new(s, seed);
    sim.run(|_| {});
    sim.into_recorder()
}

/// Runs inside a rayon pool of `threads` threads.
pub fn run_with_threads(s: ValidScenario, seed: u64, threads: usize) -> Recorder {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| run(s, seed))
}

/// A one- or two-country world written inline; `extra` is appended (policies etc.).
pub fn small_world(extra: &str) -> String {
    format!(
        r#"
[world]
years = 10
researchers = 1000
agents = 1000

[[country]]
code = "AAA"
lat = 0.0
lon = 0.0
wage_k = 100.0
vc_bn = 10.0
compute_gw = 0.0
private_dc_bn = 0.0
grid_headroom_gw = 0.0
grid_growth_gw = 0.0
ecosystem = 0.5
amenity = 0.5
openness = 0.5
origin_share = 1.0
location_share = 1.0
home_stay = 1.0
startups = 50

[[country]]
code = "BBB"
lat = 10.0
lon = 10.0
wage_k = 100.0
vc_bn = 10.0
ecosystem = 0.5
amenity = 0.5
openness = 0.5
origin_share = 1.0
location_share = 1.0
home_stay = 1.0
startups = 50
{extra}
"#
    )
}

/// A scenario from inline TOML with `--set`-style overrides.
pub fn scenario_with(text: &str, set: &[&str]) -> ValidScenario {
    match load_str(text, &SourceName::Embedded("test"), &overrides(set)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// Runs the talentflow binary built for the tests.
pub fn talentflow(args: &[&str]) -> std::process::Output {
    talentflow_env(args, &[])
}

/// Runs the talentflow binary with extra environment variables.
pub fn talentflow_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_talentflow"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("runs the binary")
}

/// A fresh path `<target tmp>/<area>/<name>`: removed if it existed, its parent created.
pub fn scratch(area: &str, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(area)
        .join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(dir.parent().expect("has a parent")).expect("creates the parent");
    dir
}

/// Starts talentflow with `args`, waits (up to 60 s) until `ready()` says enough work is done,
/// sends SIGINT and returns the exit code and stderr.
pub fn interrupt_when(args: &[&str], ready: impl Fn() -> bool) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_talentflow"))
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts the binary");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "talentflow {args:?} made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err)
        .expect("stderr");
    (status.code(), err)
}

/// Fails a test that needs an external tool when the tool is missing. Such tests are
/// `#[ignore]`d, so a plain `cargo test` lists them as ignored (visible and counted in its
/// summary) instead of passing without checking anything; `cargo test -- --ignored` runs them,
/// and `.ci/run` does so after installing the tools, so in CI a missing tool is a failure.
pub fn require_tool(test: &str, tool: &str, found: bool) {
    assert!(
        found,
        "{test}: {tool} not found; install it (`.ci/run` shows how) to run this test"
    );
}

//! Fuzz target: scenario parsing and validation must never panic, hang or allocate without bound.
//!
//! The first input byte picks a mode:
//! - even: the rest is a whole scenario file (any bytes, as `load_bytes` sees a file);
//! - odd: the rest is one `--set key=value` override per line, applied to the embedded toy world.
//!
//! A scenario that loads and is small is also simulated for a few ticks, so valid-but-strange
//! parameter combinations reach the engine too.
//!
//! Run: `cargo +nightly fuzz run scenario -- -max_len=65536 -timeout=10`
#![no_main]

use libfuzzer_sys::fuzz_target;
use talentflow::model::engine::Simulation;
use talentflow::scenario::{load_bytes, load_str, Override, Scenario, SourceName, TOY3_TOML};

fn simulate_if_small(s: Scenario) {
    if s.world.agents <= 400 && s.ticks() <= 24 && s.countries.len() <= 16 {
        let mut sim = Simulation::new(s.clone(), 1);
        sim.run(|_| {});
        let rec = sim.into_recorder();
        // Validation is meant to keep every accepted scenario within floating-point range.
        if let Err(e) = talentflow::rundir::write::check_finite(&s, &rec) {
            panic!(
                "valid scenario gave non-finite output: {e}\n{}",
                s.to_toml()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(s) = load_bytes(rest, &SourceName::Embedded("fuzz"), &[]) {
            simulate_if_small(s);
        }
    } else {
        let text = String::from_utf8_lossy(rest);
        let mut overrides = vec![
            Override::parse("world.agents=300").expect("literal"),
            Override::parse("world.years=1").expect("literal"),
        ];
        overrides.extend(text.lines().filter_map(|l| Override::parse(l).ok()));
        if let Ok(s) = load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &overrides) {
            simulate_if_small(s);
        }
    }
});

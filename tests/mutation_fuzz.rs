//! A stable-Rust fuzz loop (the cargo-fuzz target in `fuzz/` needs nightly): deterministic random
//! mutations of the shipped scenarios and the bad-input corpus — byte flips, deletions,
//! duplications, and insertions of TOML tokens, non-finite and huge numbers, invalid UTF-8 —
//! and random `--set` overrides. Loading must never panic; a mutant that loads is simulated (at a
//! small size) and must record only finite values.
//!
//! `TALENTFLOW_FUZZ_ITERS=N cargo test --release --test mutation_fuzz` runs a longer campaign
//! (default: a few seconds' worth in the debug build); `TALENTFLOW_FUZZ_SEED` picks another seed.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use talentflow::model::engine::Simulation;
use talentflow::rundir::write::check_finite;
use talentflow::scenario::{
    load_bytes, load_str, Override, SourceName, ValidScenario, TOY3_TOML, WORLD2025_TOML,
};

const TOKENS: &[&str] = &[
    "[[",
    "]]",
    "[",
    "]",
    "{",
    "}",
    "=",
    "\"",
    "'",
    "\"\"\"",
    ",",
    ".",
    "#",
    "\n",
    " ",
    "nan",
    "inf",
    "-inf",
    "+inf",
    "-nan",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "0",
    "-0",
    "-1",
    "0.0",
    "1",
    "9999999999999999999999",
    "-9223372036854775808",
    "18446744073709551615",
    "true",
    "1979-05-27",
    "1979-05-27T07:32:00Z",
    "0x1F",
    "0b101",
    "1_000",
    "\\u0000",
    "\\",
    "\u{0}",
    "[[country]]\n",
    "[[policy]]\n",
    "[[partnership]]\n",
    "[world]\n",
    "code = \"AAA\"\n",
    "country = \"HUB\"\n",
    "kind = \"openness\"\n",
    "from_year = 3000\n",
    "to_year = 1800\n",
    "agents = 1\n",
    "years = 1000\n",
    "ticks_per_year = 365\n",
    "é",
    "\u{feff}",
    "a.b.c",
];

const KEYS: &[&str] = &[
    "world.years",
    "world.agents",
    "world.ticks_per_year",
    "world.researchers",
    "world.entry_rate",
    "world.exit_rate",
    "world.skill_sigma",
    "world.start_year",
    "innovation.lambda",
    "innovation.gamma",
    "innovation.alpha",
    "innovation.spillover",
    "wages.crowding",
    "wages.adjust",
    "wages.innovation_elasticity",
    "capital.growth",
    "capital.foreign_share",
    "capital.innovation_elasticity",
    "behaviour.beta_wage",
    "behaviour.found_capital",
    "behaviour.mobility_skill",
    "behaviour.review_rate",
    "startups.round_m",
    "startups.runway_months",
    "startups.quality_sigma",
    "infrastructure.capex_bn_per_gw",
    "infrastructure.grid_lead_years",
    "ecosystem.half_bn",
    "ecosystem.rate",
    "country.HUB.wage_k",
    "country.0.vc_bn",
    "country.NEW.openness",
    "country.MID.ecosystem",
    "country.1.startups",
    "country.2.location_share",
    "country.HUB.origin_share",
    "country.NEW.private_dc_bn",
    "policy.0.budget_bn",
    "policy.0.to_year",
    "partnership.0.strength",
    "country",
    "world",
    "x.y.z",
    "country.9.lat",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "5",
    "-5",
    "1e15",
    "1e16",
    "1e-300",
    "nan",
    "inf",
    "-inf",
    "1000",
    "365",
    "1000000000",
    "\"AAA\"",
    "true",
    "[]",
    "[1,2,3,4,5]",
    "[0,0,0,0,0]",
    "{}",
    "{a=1}",
    "[[1]]",
    "2025-01-01",
    "",
    "=",
    "1e308",
    "0.000001",
    "-0.99",
    "10",
    "100",
    "-100",
];

struct Mutator(ChaCha8Rng);

impl Mutator {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut b = input.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(b.len() + 1);
            match self.below(6) {
                0 if !b.is_empty() => {
                    let i = at.min(b.len() - 1);
                    b[i] ^= 1 << self.below(8);
                }
                1 => {
                    let end = (at + 1 + self.below(64)).min(b.len());
                    b.drain(at.min(end)..end);
                }
                2 => {
                    let end = (at + 1 + self.below(256)).min(b.len());
                    let chunk = b[at.min(end)..end].to_vec();
                    b.splice(at..at, chunk);
                }
                3 => {
                    let token = self.pick(TOKENS).as_bytes().to_vec();
                    b.splice(at..at, token);
                }
                4 => {
                    // Replace the number starting near `at` with a token.
                    let start = b[at.min(b.len())..]
                        .iter()
                        .position(u8::is_ascii_digit)
                        .map(|p| at + p);
                    if let Some(s) = start {
                        let len = b[s..]
                            .iter()
                            .take_while(|c| c.is_ascii_digit() || **c == b'.')
                            .count();
                        let token = self.pick(TOKENS).as_bytes().to_vec();
                        b.splice(s..s + len, token);
                    }
                }
                _ => {
                    let byte = [0xff, 0xfe, 0xc3, 0x80, 0x00, 0xe2][self.below(6)];
                    b.insert(at, byte);
                }
            }
        }
        b
    }

    fn overrides(&mut self) -> Vec<Override> {
        (0..1 + self.below(4))
            .filter_map(|_| {
                let text = format!("{}={}", self.pick(KEYS), self.pick(VALUES));
                Override::parse(&text).ok()
            })
            .collect()
    }
}

/// Simulates a scenario that loaded, shrunk so that thousands of mutants stay cheap.
fn simulate_small(text: &str, overrides: &[Override]) {
    let mut small = overrides.to_vec();
    small.push(Override::parse("world.agents=150").unwrap());
    small.push(Override::parse("world.years=1").unwrap());
    let Ok(s) = load_str(text, &SourceName::Embedded("mutant"), &small) else {
        return; // e.g. ticks_per_year made the shrunken run too large: nothing to simulate
    };
    if s.num_countries() > 64 {
        return;
    }
    run_checked(s);
}

fn run_checked(s: ValidScenario) {
    let mut sim = Simulation::new(s.clone(), 3);
    sim.run(|_| {});
    let rec = sim.into_recorder();
    if let Err(e) = check_finite(&s, &rec) {
        panic!(
            "a valid scenario gave non-finite output: {e}\n{}",
            s.to_toml()
        );
    }
}

/// Replays the inputs that crashed the cargo-fuzz target (`tests/fuzz_crashes/`), decoded the way
/// the target decodes them: first byte even → a scenario file; odd → `--set` lines for toy3.
#[test]
fn fuzz_crashers_stay_fixed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_crashes");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&mode, rest)) = data.split_first() else {
            continue;
        };
        let source = SourceName::Embedded("crasher");
        if mode & 1 == 0 {
            if let Ok(s) = load_bytes(rest, &source, &[]) {
                let _ = s;
            }
        } else {
            let text = String::from_utf8_lossy(rest);
            let overrides: Vec<Override> = text
                .lines()
                .filter_map(|l| Override::parse(l).ok())
                .collect();
            if load_str(TOY3_TOML, &source, &overrides).is_ok() {
                simulate_small(TOY3_TOML, &overrides);
            }
        }
        n += 1;
    }
    assert!(n > 0, "no crashers in {dir}");
}

#[test]
fn mutated_scenarios_never_panic() {
    let iters: usize = std::env::var("TALENTFLOW_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seed: u64 = std::env::var("TALENTFLOW_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    let corpus_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_scenarios");
    let mut seeds: Vec<Vec<u8>> = vec![TOY3_TOML.into(), WORLD2025_TOML.into()];
    for entry in std::fs::read_dir(corpus_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            seeds.push(std::fs::read(path).unwrap());
        }
    }
    let mut m = Mutator(ChaCha8Rng::seed_from_u64(seed));
    let (mut loaded, mut simulated) = (0, 0);
    for i in 0..iters {
        // Valid files are the interesting parents: most of their mutants are nearly valid.
        let parent = if i % 4 == 0 {
            seeds[m.below(seeds.len())].clone()
        } else {
            seeds[m.below(2)].clone()
        };
        let mutant = m.mutate(&parent);
        let overrides = if m.below(3) == 0 {
            m.overrides()
        } else {
            Vec::new()
        };
        let source = SourceName::Embedded("mutant");
        if load_bytes(&mutant, &source, &overrides).is_ok() {
            loaded += 1;
            if let Ok(text) = std::str::from_utf8(&mutant) {
                simulate_small(text, &overrides);
                simulated += 1;
            }
        }
        // Overrides alone on the toy world.
        let overrides = m.overrides();
        if load_str(TOY3_TOML, &source, &overrides).is_ok() {
            simulate_small(TOY3_TOML, &overrides);
            simulated += 1;
        }
    }
    eprintln!("{iters} mutants: {loaded} loaded, {simulated} simulated");
    assert!(
        loaded > 0 && simulated > 0,
        "the mutator only produced junk"
    );
}

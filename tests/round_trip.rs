//! Everything talentflow writes, it reads back (issue 17 §5): property tests over generated
//! scenarios and override values, in the style of `mutation_fuzz.rs` (a seeded ChaCha8 loop,
//! no new dependency).
//!
//! A scenario that loads is written as a run writes it (`rundir::write::resolved_toml`, with a
//! source path and overrides full of newlines, control characters, quotes and non-ASCII text
//! in its comment) and must load again to the same scenario (same blake3); a few of them are run
//! into directories that `read_run` must read back, with their `scenario.toml`.
//!
//! `TALENTFLOW_ROUNDTRIP_ITERS=N` runs a longer campaign; `TALENTFLOW_ROUNDTRIP_SEED` another seed.

mod common;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use talentflow::rundir::read::read_run;
use talentflow::rundir::runner::{self, RunEnd};
use talentflow::rundir::write::{resolved_toml, RunInfo};
use talentflow::scenario::{load_str, Override, SourceName, TOY3_TOML, WORLD2025_TOML};

/// Keys with numeric values, and how to draw one (in or near their valid range).
const NUMERIC: &[&str] = &[
    "world.researchers",
    "world.entry_rate",
    "world.exit_rate",
    "world.skill_sigma",
    "world.start_year",
    "world.seed",
    "innovation.lambda",
    "innovation.gamma",
    "innovation.spillover",
    "wages.crowding",
    "wages.adjust",
    "capital.growth",
    "capital.foreign_share",
    "behaviour.beta_wage",
    "behaviour.review_rate",
    "behaviour.mobility_skill",
    "startups.runway_months",
    "startups.quality_sigma",
    "infrastructure.capex_bn_per_gw",
    "ecosystem.half_bn",
    "country.0.wage_k",
    "country.0.vc_bn",
    "country.1.openness",
    "country.1.lat",
    "country.2.lon",
    "country.2.ecosystem",
    "country.0.origin_share",
    "country.1.location_share",
    "country.2.startups",
    "partnership.0.strength",
];

/// Numbers whose text is hard to write back exactly.
const NUMBERS: &[&str] = &[
    "0",
    "-0.0",
    "1",
    "0.1",
    "0.30000000000000004",
    "0.3333333333333333",
    "2.220446049250313e-16",
    "5e-324",
    "1e-300",
    "4.9406564584124654e-300",
    "123456789.12345679",
    "1e15",
    "999999999999999.9",
    "-1e-7",
    "0.999999999999999",
    "2025",
    "1e3",
    "17",
    "9007199254740993",
    "18446744073709551615",
    "9223372036854775807",
];

/// Pieces of names: control characters, quotes, backslashes, TOML syntax, non-ASCII text.
const NAME_PARTS: &[&str] = &[
    "Hub",
    " ",
    "\\n",
    "\\r\\n",
    "\\t",
    "\\u0000",
    "\\u0007",
    "\\u001b[31m",
    "\\u007f",
    "\\u0085",
    "\\u2028",
    "\\\"",
    "\\\\",
    "'",
    "#",
    "=",
    "[[country]]",
    "]]",
    "é",
    "日本",
    "🚀",
    "\\ud7ff",
    "x",
];

/// Pieces of a source path or of `--set` text as a user typed them (raw, not TOML escapes).
const RAW_PARTS: &[&str] = &[
    "configs/",
    "a b",
    "\n",
    "\r",
    "\t",
    "\u{0}",
    "\u{7}",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\"",
    "\\",
    "#",
    "é",
    "🚀",
    "x.toml",
];

struct Gen(ChaCha8Rng);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn raw(&mut self) -> String {
        (0..self.below(12)).map(|_| self.pick(RAW_PARTS)).collect()
    }

    /// A TOML basic string of up to ~250 characters built from [`NAME_PARTS`].
    fn name(&mut self) -> String {
        let mut s = String::from("\"");
        let n = if self.below(8) == 0 {
            60
        } else {
            self.below(10)
        };
        for _ in 0..n {
            s.push_str(self.pick(NAME_PARTS));
        }
        s.push('"');
        s
    }

    fn overrides(&mut self) -> Vec<Override> {
        (0..self.below(8))
            .filter_map(|_| {
                let text = match self.below(4) {
                    0 => format!("country.{}.name={}", self.below(3), self.name()),
                    _ => format!("{}={}", self.pick(NUMERIC), self.pick(NUMBERS)),
                };
                Override::parse(&text).ok()
            })
            .collect()
    }
}

fn iterations(default: usize) -> (usize, u64) {
    let iters = std::env::var("TALENTFLOW_ROUNDTRIP_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let seed = std::env::var("TALENTFLOW_ROUNDTRIP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(17);
    (iters, seed)
}

#[test]
fn every_accepted_scenario_is_written_so_that_it_loads_again() {
    let (iters, seed) = iterations(400);
    let mut g = Gen(ChaCha8Rng::seed_from_u64(seed));
    let bases = [("toy3", TOY3_TOML), ("world2025", WORLD2025_TOML)];
    let mut accepted = 0;
    for i in 0..iters {
        let (name, base) = bases[g.below(2)];
        let overrides = g.overrides();
        let Ok(s) = load_str(base, &SourceName::Embedded(name), &overrides) else {
            continue;
        };
        accepted += 1;
        let mut texts: Vec<String> = overrides
            .iter()
            .map(|o| format!("{o}{}", g.raw()))
            .collect();
        texts.push(g.raw());
        let info = RunInfo {
            scenario_source: g.raw(),
            overrides: texts,
            seed: g.0.next_u64(),
            threads: 1,
            wall_seconds: 0.0,
            dropped_initial_startups: 0,
        };
        let written = resolved_toml(&s, &info);
        let again = load_str(&written, &SourceName::Embedded("written"), &[]).unwrap_or_else(|e| {
            panic!("iteration {i}: the written scenario does not load:\n{e}\n---\n{written}")
        });
        assert_eq!(
            again.hash(),
            s.hash(),
            "iteration {i}: changed in writing\n{written}"
        );
        assert_eq!(again.to_toml(), s.to_toml(), "iteration {i}");
    }
    eprintln!("{iters} generated scenarios: {accepted} accepted and read back");
    assert!(
        accepted * 4 > iters,
        "only {accepted} of {iters} generated scenarios were valid: the generator tests little"
    );
}

#[test]
fn runs_of_generated_scenarios_read_back_from_their_directories() {
    let (iters, seed) = iterations(200);
    let mut g = Gen(ChaCha8Rng::seed_from_u64(seed ^ 0x5eed));
    let mut done = 0;
    for i in 0..iters {
        if done == 6 {
            break;
        }
        let mut set: Vec<String> = g.overrides().iter().map(ToString::to_string).collect();
        set.extend(["world.years=1".into(), "world.agents=200".into()]);
        set.push(format!("country.1.name={}", g.name()));
        let dir = common::scratch("round_trip", &format!("run-{i}"));
        // The source is a file whose name holds a newline: it is quoted in the comment.
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("toy\nworld.toml");
        std::fs::write(&source, TOY3_TOML).unwrap();
        let Ok(plan) = runner::plan(
            source.to_str().unwrap(),
            &set,
            None,
            Some(dir.join("out")),
            0,
        ) else {
            continue;
        };
        match runner::execute(plan, false, &mut |_, _| {}, &|| false) {
            Ok(RunEnd::Finished(_)) => {}
            // The model may leave floating-point range for extreme parameters: refused, not
            // written (see `numerical_safety.rs`); nothing to read back.
            Err(runner::RunError::Output(talentflow::OutputError::NonFinite { .. })) => continue,
            other => panic!("iteration {i}: {other:?}"),
        }
        let data = read_run(&dir.join("out"))
            .unwrap_or_else(|e| panic!("iteration {i}: the run does not read back: {e}"));
        assert_eq!(data.meta("scenario_hash"), data.scenario.hash());
        done += 1;
    }
    assert_eq!(done, 6, "too few generated runs finished");
}

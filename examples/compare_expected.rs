//! The expected first-year net migration that baseline calibration matches (MODEL.md §8,
//! `talentflow::model::expected`) against the mean of replicated simulations, per country.
//!
//! ```text
//! cargo run --release --example compare_expected -- SCENARIO AGENTS REPLICATES [KEY=VALUE ...]
//! cargo run --release --example compare_expected -- world2025 1000000 60
//! ```
//!
//! Columns (rates in %/year): `expected` (propagated tick by tick), `t0_tables` (the t = 0 choice
//! probabilities times a year, the shortcut calibration does not use), `simulated` (mean over
//! replicates, seeds 1000, 1001, …) with its standard error, and the gap in standard errors.

use std::error::Error;

use talentflow::model::engine::Simulation;
use talentflow::model::expected::ExpectedModel;
use talentflow::scenario::{load_named, Override};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, agents, reps, rest @ ..] = args.as_slice() else {
        return Err("usage: compare_expected SCENARIO AGENTS REPLICATES [KEY=VALUE ...]".into());
    };
    let agents: u64 = agents.parse()?;
    let reps: u64 = reps.parse()?;
    let mut set = vec![
        Override::parse(&format!("world.agents={agents}"))?,
        Override::parse("world.years=1")?,
    ];
    for a in rest {
        set.push(Override::parse(a)?);
    }
    let (s, _) = load_named(name, None, &set)?;
    let c = s.num_countries();
    let tpy = s.world.ticks_per_year as usize;
    let model = ExpectedModel::new(&s);
    let run = model.run(None, tpy);
    let expected = run.first_year_net_migration();
    let first = &run.ticks[0];
    let mut sum = vec![0.0; c];
    let mut sq = vec![0.0; c];
    for r in 0..reps {
        let mut sim = Simulation::new(s.clone(), 1000 + r);
        sim.run(|_| {});
        let rec = sim.into_recorder();
        for k in 0..c {
            let get = |v: &str, t: usize| rec.get(v, t, k).unwrap_or(0.0);
            let net: f64 = (1..=tpy)
                .map(|t| get("inflow", t) - get("outflow", t))
                .sum();
            let x = net / get("researchers", 0);
            sum[k] += x;
            sq[k] += x * x;
        }
    }
    let n = reps as f64;
    println!("country  expected  t0_tables  simulated       se  gap/se");
    for k in 0..c {
        let mean = sum[k] / n;
        let var = (sq[k] / n - mean * mean) * n / (n - 1.0).max(1.0);
        let se = (var.max(0.0) / n).sqrt();
        let t0 = tpy as f64 * (first.inflow[k] - first.outflow[k]) / run.initial_researchers[k];
        println!(
            "{:<7} {:>9.4} {:>10.4} {:>10.4} {:>8.4} {:>7.2}",
            s.countries[k].code,
            100.0 * expected[k],
            100.0 * t0,
            100.0 * mean,
            100.0 * se,
            (expected[k] - mean) / se.max(1e-300)
        );
    }
    Ok(())
}

//! Docking of the engine against MODEL.md v2: each v2 equation checked on hand-made cases.
//!
//! - §5 Initialisation: the initial population reproduces the origin, location and home-stay
//!   shares to within one agent per cell (default world, generated worlds);
//! - §2 entry as a hazard: with equal entry and exit rates and no migration, the expected world
//!   population is stationary (exactly in expectation, within sampling error over replicates);
//! - §4 wage premium: paid per tick = budget when N ≥ N0, never more; every money arm reports
//!   what it spent;
//! - §5 compute relative to K_ref (researchers and startups) and the destination constant.

#![allow(clippy::needless_range_loop)] // index loops mirror the equations

mod common;

use talentflow::model::choice::{base_utility, startup_utility, ChoiceTables};
use talentflow::model::countries::wage_premium;
use talentflow::model::engine::Simulation;
use talentflow::model::expected::ExpectedModel;
use talentflow::model::params::Params;
use talentflow::scenario::initial::{cell_counts, initial_matrix};
use talentflow::scenario::worldgen;
use talentflow::scenario::{Scenario, ValidScenario};

/// Checks that the initial agents of `s` are `agents · M` rounded, cell by cell.
fn assert_initial_state_reproduces_shares(s: &ValidScenario, label: &str) {
    let c = s.num_countries();
    let agents = s.world.agents as f64;
    let m = initial_matrix(s).unwrap_or_else(|e| panic!("{label}: {:?}", e));
    let sim = Simulation::new(s.clone(), 3);
    let agg = sim.aggregates();
    let total_o: f64 = s.countries.iter().map(|k| k.origin_share).sum();
    let total_l: f64 = s.countries.iter().map(|k| k.location_share).sum();
    for h in 0..c {
        for d in 0..c {
            let quota = agents * m.get(h, d);
            let n = agg.origin_location(h, d) as f64;
            assert!(
                (n - quota).abs() < 1.0,
                "{label}: cell ({h}, {d}) {n} vs {quota}"
            );
        }
        // Diagonal: home stayers, within one agent of agents · o_h · home_stay_h.
        let k = &s.countries[h];
        let stay = agents * k.origin_share / total_o * k.home_stay;
        assert!(
            (agg.origin_location(h, h) as f64 - stay).abs() < 1.0,
            "{label}: stayers of {h}"
        );
        // Margins: within one agent per cell of the row and column.
        let natives = agg.natives(h) as f64;
        let located = agg.researchers[h] as f64;
        let o = agents * k.origin_share / total_o;
        let l = agents * k.location_share / total_l;
        assert!(
            (natives - o).abs() < c as f64,
            "{label}: natives of {h} {natives} vs {o}"
        );
        assert!(
            (located - l).abs() < c as f64,
            "{label}: located in {h} {located} vs {l}"
        );
    }
    assert_eq!(
        agg.total(),
        s.world.agents as u64,
        "{label}: every agent placed"
    );
    assert_eq!(
        cell_counts(&m, s.world.agents as u64),
        agg.origin_location,
        "{label}: the cells are the largest-remainder rounding"
    );
}

#[test]
fn the_initial_state_reproduces_the_shares_within_one_agent_per_cell() {
    for agents in [1000, 20_000, 123_457] {
        let s = common::world(&[&format!("world.agents={agents}")]);
        assert_initial_state_reproduces_shares(&s, &format!("world2025 at {agents} agents"));
    }
    // The default world's headline figures (MacroPolo 2023): 42% work outside their country of
    // origin, the US holds 42% and China 28% of researchers (normalised shares).
    let s = common::world(&["world.agents=100000"]);
    let sim = Simulation::new(s.clone(), 1);
    let agg = sim.aggregates();
    let n = agg.total() as f64;
    let abroad = 1.0 - (0..15).map(|h| agg.origin_location(h, h)).sum::<u64>() as f64 / n;
    assert!((abroad - 0.42).abs() < 0.002, "{abroad}");
    let usa = agg.researchers[s.country_index("USA").unwrap()] as f64 / n;
    let chn = agg.researchers[s.country_index("CHN").unwrap()] as f64 / n;
    assert!(
        (usa - 0.42 / 0.996).abs() < 1e-4 && (chn - 0.28 / 0.996).abs() < 1e-4,
        "{usa} {chn}"
    );

    for (countries, seed) in [(2, 1), (3, 5), (15, 2), (60, 9), (200, 7)] {
        let mut s = worldgen::generate(countries, seed).unwrap();
        s.world.agents = 50_000;
        let label = format!("generated C = {countries}, seed {seed}");
        let s = s.validate_for_test(&label);
        assert_initial_state_reproduces_shares(&s, &label);
    }
}

/// Loads a generated world through the checks, as a file would be.
trait ValidateForTest {
    fn validate_for_test(self, label: &str) -> ValidScenario;
}

impl ValidateForTest for Scenario {
    fn validate_for_test(self, label: &str) -> ValidScenario {
        let text = worldgen::to_toml(&self, 0);
        let source = talentflow::scenario::SourceName::Embedded("generated");
        talentflow::scenario::load_str(&text, &source, &[])
            .unwrap_or_else(|e| panic!("{label}: {e}"))
    }
}

#[test]
fn generated_worlds_always_admit_the_initial_matrix() {
    for countries in [1usize, 2, 3, 4, 7, 15, 40, 120] {
        for seed in 1..=12 {
            let s = worldgen::generate(countries, seed).unwrap();
            assert!(
                initial_matrix(&s).is_ok(),
                "C = {countries}, seed {seed}: {:?}",
                initial_matrix(&s).err()
            );
        }
    }
}

#[test]
fn entry_is_a_hazard_and_equal_rates_keep_the_population_stationary() {
    // p_entry = 1 − (1 − r)^(1/tpy), exactly as exit (MODEL.md §2 v2).
    let s = common::toy3(&["world.entry_rate=0.06", "world.exit_rate=0.06"]);
    let p = Params::new(&s);
    let expected = 1.0 - 0.94f64.powf(1.0 / 12.0);
    assert!((p.p_entry - expected).abs() < 1e-15 && (p.p_exit - expected).abs() < 1e-15);
    assert!((p.entrant_agents_per_tick - expected * 3000.0).abs() < 1e-9);

    // No migration (moves cost 100 utils), no startups: every tick brings researchers · p
    // entrants and takes p of the population. Expected dynamics: exactly stationary.
    let set = [
        "behaviour.move_fixed=100",
        "behaviour.found_rate=0",
        "world.years=5",
        "world.agents=20000",
        "world.researchers=200000",
    ];
    let mut s = common::toy3(&set).into_inner();
    for k in &mut s.countries {
        k.startups = 0.0;
    }
    let s = s.validate().unwrap();
    let run = ExpectedModel::new(&s).run(None, 60);
    let start: f64 = run.initial_researchers.iter().sum();
    for t in &run.ticks {
        let total: f64 = t.researchers.iter().sum();
        assert!((total - start).abs() < 1e-9 * start, "{total} vs {start}");
        assert!(t.inflow.iter().sum::<f64>() < 1e-30 * start);
    }
    // Simulated: the world population after 5 years averages 1 × its start. (v1 converted entry
    // as entry_rate / tpy: N → 0.9722 N0 at rate p_exit, 0.9926 N0 after 5 years.)
    let reps = 24;
    let ratios: Vec<f64> = (0..reps)
        .map(|r| {
            let rec = common::run(s.clone(), 100 + r);
            let t = rec.ticks();
            rec.get_world("researchers_total", t).unwrap()
                / rec.get_world("researchers_total", 0).unwrap()
        })
        .collect();
    let mean = ratios.iter().sum::<f64>() / reps as f64;
    let sd = (ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt();
    let se = sd / (reps as f64).sqrt();
    assert!((mean - 1.0).abs() < 4.0 * se, "mean ratio {mean} ± {se}");
    assert!(
        1.0 - 0.9926 > 4.0 * se,
        "the test can tell v1 from v2: se {se}"
    );
}

/// toy3 with one money policy in HUB during 2026–2029 (and a grid-bound variant).
fn with_policy(kind: &str, budget: f64, set: &[&str]) -> ValidScenario {
    let mut text = talentflow::scenario::TOY3_TOML.to_string();
    text.push_str(&format!(
        "\n[[policy]]\ncountry = \"HUB\"\nkind = \"{kind}\"\nfrom_year = 2026\nto_year = 2029\nbudget_bn = {budget}\n"
    ));
    common::scenario_with(&text, set)
}

#[test]
fn the_wage_premium_pays_the_budget_and_never_more() {
    // Hand-made values: $2B/year over 10 000 researchers is $200k each; with fewer researchers
    // than N0 the programme pays N / N0 of its budget.
    assert_eq!(wage_premium(2.0, 10_000.0, 8_000.0), 200.0);
    assert_eq!(wage_premium(2.0, 5_000.0, 8_000.0), 250.0);
    assert_eq!(wage_premium(0.0, 5_000.0, 8_000.0), 0.0);
    assert!(wage_premium(2.0, 5_000.0, 8_000.0) * 5_000.0 < 2.0e6);

    let budget = 3.0;
    let s = with_policy("wages", budget, &["world.years=6"]);
    let rec = common::run(s.clone(), 4);
    let hub = 0;
    let n0 = rec.get("researchers", 0, hub).unwrap();
    let (mut at_budget, mut below) = (0, 0);
    for t in 1..=rec.ticks() {
        let paid = rec.get("spent_wages_bn", t, hub).unwrap();
        let active = (13..=48).contains(&t);
        let per_tick = budget / 12.0;
        assert!(
            paid <= per_tick * (1.0 + 1e-12),
            "tick {t}: {paid} > {per_tick}"
        );
        let n = rec.get("researchers", t - 1, hub).unwrap();
        if !active {
            assert_eq!(paid, 0.0, "tick {t}");
        } else if n >= n0 {
            assert!(
                (paid - per_tick).abs() <= 1e-12 * per_tick,
                "tick {t}: {paid}"
            );
            at_budget += 1;
        } else {
            assert!(
                (paid - per_tick * n / n0).abs() <= 1e-12 * per_tick,
                "tick {t}"
            );
            below += 1;
        }
        for k in 1..3 {
            assert_eq!(rec.get("spent_wages_bn", t, k).unwrap(), 0.0);
        }
    }
    assert!(
        at_budget > 0,
        "N ≥ N0 during the programme ({below} ticks below)"
    );
    // What the programme spent over its three years is at most 3 × budget.
    let total: f64 = (1..=rec.ticks())
        .map(|t| rec.get("spent_total_bn", t, hub).unwrap())
        .sum();
    assert!(
        total <= 3.0 * budget * (1.0 + 1e-12) && total > 2.5 * budget,
        "{total}"
    );
}

#[test]
fn every_money_arm_reports_what_it_spent() {
    let years = |s: &ValidScenario| s.world.years as usize * 12;
    let sum = |rec: &talentflow::model::record::Recorder, var: &str, ticks: usize| -> f64 {
        (1..=ticks).map(|t| rec.get(var, t, 0).unwrap()).sum()
    };
    // Grid and ecosystem money is spent as budgeted: budget / tpy per active tick.
    for (kind, var) in [
        ("grid", "spent_grid_bn"),
        ("ecosystem", "spent_ecosystem_bn"),
    ] {
        let s = with_policy(kind, 1.2, &["world.years=5"]);
        let rec = common::run(s.clone(), 2);
        for t in 1..=years(&s) {
            let expected = if (13..=48).contains(&t) { 0.1 } else { 0.0 };
            assert!(
                (rec.get(var, t, 0).unwrap() - expected).abs() < 1e-15,
                "{kind} {t}"
            );
            assert_eq!(
                rec.get(var, t, 0).unwrap(),
                rec.get("spent_total_bn", t, 0).unwrap()
            );
        }
    }
    // Public venture capital reaches startups through V's partial adjustment: it keeps flowing
    // after the programme ends, and in all it sums to the budget × years.
    let s = with_policy("capital", 2.0, &["world.years=20", "world.agents=600"]);
    let rec = common::run(s.clone(), 2);
    let total = sum(&rec, "spent_capital_bn", years(&s));
    // 0.9^192 of the last flow is still to come after 2045.
    assert!((total - 6.0).abs() < 1e-7, "capital spent {total}");
    assert!(
        rec.get("spent_capital_bn", 60, 0).unwrap() > 0.0,
        "still flowing after 2029"
    );
    // Infrastructure: with ample grid, the public share of what is connected is the budget;
    // with no grid at all, nothing is connected and nothing is spent (the money waits in the
    // queue, reported as grid_queue_bn).
    let ample = with_policy(
        "infrastructure",
        5.0,
        &["world.years=5", "country.HUB.grid_headroom_gw=1000"],
    );
    let rec = common::run(ample.clone(), 2);
    let total = sum(&rec, "spent_infrastructure_bn", years(&ample));
    assert!((total - 15.0).abs() < 1e-9, "infrastructure spent {total}");
    let bound = with_policy(
        "infrastructure",
        5.0,
        &[
            "world.years=5",
            "country.HUB.grid_headroom_gw=0",
            "country.HUB.grid_growth_gw=0",
            "country.HUB.private_dc_bn=0",
            "infrastructure.compute_depreciation=0",
        ],
    );
    let rec = common::run(bound.clone(), 2);
    assert_eq!(sum(&rec, "spent_infrastructure_bn", years(&bound)), 0.0);
    let queued = rec.get("grid_queue_bn", years(&bound), 0).unwrap();
    assert!((queued - 15.0).abs() < 1e-9, "{queued}");
}

#[test]
fn compute_enters_relative_to_its_world_mean_and_attraction_is_a_constant() {
    let s = common::toy3(&["country.MID.attraction=0.4"]);
    let sim = Simulation::new(s.clone(), 1);
    let st = sim.countries().clone();
    let b = &s.behaviour;
    let k_ref = (10.0 + 1.5 + 0.5) / 3.0;
    assert!((st.k_ref - k_ref).abs() < 1e-12);
    for d in 0..3 {
        let expected = b.beta_wage * st.wage[d].ln()
            + b.beta_capital * st.per_startup[d].ln()
            + b.beta_innovation * st.innovation[d].ln()
            + b.beta_compute * (1.0 + st.compute[d] / k_ref).ln()
            + b.beta_amenity * s.countries[d].amenity
            + [0.0, 0.4, 0.0][d];
        assert!((base_utility(&s, &st, d) - expected).abs() < 1e-12, "B_{d}");
        let sp = &s.startups;
        let expected = sp.beta_capital_s * st.per_startup[d].ln()
            + sp.beta_innovation_s * st.innovation[d].ln()
            + 0.5 * (1.0 + st.compute[d] / k_ref).ln();
        assert!(
            (startup_utility(&s, &st, d) - expected).abs() < 1e-12,
            "BS_{d}"
        );
    }
    // Measuring compute in MW instead of GW changes nothing: the term is a ratio to K_ref.
    let mut mw = st.clone();
    for x in mw.compute.iter_mut() {
        *x *= 1000.0;
    }
    mw.k_ref *= 1000.0;
    for d in 0..3 {
        assert!((base_utility(&s, &mw, d) - base_utility(&s, &st, d)).abs() < 1e-12);
    }
    // The same constant added to every attraction leaves every choice probability unchanged.
    let shifted = common::toy3(&[
        "country.HUB.attraction=2.5",
        "country.MID.attraction=2.9",
        "country.NEW.attraction=2.5",
    ]);
    let p = sim.params();
    let a = ChoiceTables::build(&s, p, &st, sim.aggregates());
    let z = ChoiceTables::build(&shifted, p, &st, sim.aggregates());
    for h in 0..3 {
        for here in 0..3 {
            let pa = ChoiceTables::probabilities(&a.researcher_cumulative(h, here));
            let pz = ChoiceTables::probabilities(&z.researcher_cumulative(h, here));
            for d in 0..3 {
                assert!((pa[d] - pz[d]).abs() < 1e-14);
            }
        }
    }
}

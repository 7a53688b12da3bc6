//! Conservation: no researcher, startup or dollar appears or vanishes unaccounted.

#![allow(clippy::needless_range_loop)] // index loops mirror the equations

mod common;

use talentflow::model::aggregates::Aggregates;
use talentflow::model::engine::Simulation;
use talentflow::scenario::ValidScenario;

fn check_invariants(sim: &Simulation) {
    let r = sim.researchers();
    let s = sim.startups();
    // Every startup has a live founder, located with it, flagged as a founder; no founder runs two.
    let mut runs = vec![0u32; r.len()];
    for j in 0..s.len() {
        let f = s.founder[j] as usize;
        assert!(f < r.len(), "startup {j} has a dead founder {f}");
        assert!(r.founder[f], "founder {f} of startup {j} is not flagged");
        assert_eq!(
            r.loc[f], s.loc[j],
            "startup {j} and its founder are in different countries"
        );
        runs[f] += 1;
    }
    for (i, &n) in runs.iter().enumerate() {
        assert_eq!(
            n,
            u32::from(r.founder[i]),
            "researcher {i} flagged founder={} but runs {n}",
            r.founder[i]
        );
    }
    let st = sim.countries();
    let (v, a): (f64, f64) = (st.capital.iter().sum(), st.available.iter().sum());
    assert!(
        (v - a).abs() <= 1e-9 * v.max(1.0),
        "capital not conserved: V {v} vs A {a}"
    );
}

fn check_run(scenario: ValidScenario, seed: u64) {
    let c = scenario.num_countries();
    let mut sim = Simulation::new(scenario, seed);
    check_invariants(&sim);
    let mut prev = sim.aggregates().clone();
    while !sim.is_finished() {
        let before_agents = sim.researchers().len() as i64;
        let before_startups = sim.startups().len() as i64;
        sim.step();
        let k = sim.last_counts();
        let now = sim.aggregates();
        // World: researchers(t+1) = researchers(t) + entrants − exits.
        let entrants: u64 = k.entrants.iter().sum();
        let retired: u64 = k.retired.iter().sum();
        assert_eq!(
            sim.researchers().len() as i64,
            before_agents + entrants as i64 - retired as i64
        );
        // Startups: S(t+1) = S(t) + founded − failed − exits.
        let founded: u64 = k.founded.iter().sum();
        let gone: u64 = k.failed.iter().sum::<u64>() + k.exits.iter().sum::<u64>();
        assert_eq!(
            sim.startups().len() as i64,
            before_startups + founded as i64 - gone as i64
        );
        for d in 0..c {
            // Per country: ΔN = inflow − outflow + entrants − retired.
            let delta = now.researchers[d] as i64 - prev.researchers[d] as i64;
            let expected = k.inflow[d] as i64 - k.outflow[d] as i64 + k.entrants[d] as i64
                - k.retired[d] as i64;
            assert_eq!(delta, expected, "country {d} at tick {}", sim.tick());
            // The flow matrix is the moves: row sums are outflows, column sums inflows, no self-moves.
            let row: u64 = (0..c).map(|e| k.flows[d * c + e]).sum();
            let col: u64 = (0..c).map(|e| k.flows[e * c + d]).sum();
            assert_eq!(row, k.outflow[d]);
            assert_eq!(col, k.inflow[d]);
            assert_eq!(k.flows[d * c + d], 0);
        }
        // origin × location adds up to the population, by origin and by location.
        for d in 0..c {
            let by_loc: u64 = (0..c).map(|h| now.origin_location(h, d)).sum();
            assert_eq!(by_loc, now.researchers[d]);
        }
        // The aggregates, kept up to date event by event, equal a fresh measurement.
        assert_eq!(
            now,
            &Aggregates::measure(c, sim.researchers(), sim.startups()),
            "incremental aggregates drifted at tick {}",
            sim.tick()
        );
        check_invariants(&sim);
        prev = now.clone();
    }
}

#[test]
fn toy3_conserves_agents_startups_and_capital() {
    check_run(common::toy3(&[]), 3);
}

#[test]
fn default_world_conserves_with_policies_and_relocations() {
    // Frequent relocations and founding stress the apply order (founders move with startups).
    let mut s = common::world(&[
        "world.agents=8000",
        "world.years=4",
        "startups.relocate_rate=0.8",
        "behaviour.found_rate=0.2",
        "behaviour.review_rate=0.6",
    ])
    .into_inner();
    s.policies.push(talentflow::scenario::Policy {
        country: "SAU".into(),
        kind: talentflow::scenario::PolicyKind::Capital,
        from_year: 2025.0,
        to_year: 2028.0,
        budget_bn: Some(20.0),
        partner: None,
        strength: None,
        value: None,
    });
    check_run(s.validate().unwrap(), 9);
}

#[test]
fn recorded_series_satisfy_the_accounting_identity() {
    let s = common::toy3(&[]);
    let c = s.num_countries();
    let rec = common::run(s, 4);
    for t in 1..=rec.ticks() {
        for k in 0..c {
            let g = |v: &str, t: usize| rec.get(v, t, k).unwrap();
            let lhs = g("researchers", t) - g("researchers", t - 1);
            let rhs = g("inflow", t) - g("outflow", t) + g("entrants", t) - g("retired", t);
            assert!(
                (lhs - rhs).abs() < 1e-6,
                "tick {t} country {k}: {lhs} vs {rhs}"
            );
        }
    }
    let flows = talentflow::model::record::COUNTRY
        .iter()
        .filter(|v| v.kind == talentflow::model::record::Kind::Flow);
    for v in flows.map(|v| v.name) {
        for k in 0..c {
            assert_eq!(rec.get(v, 0, k), Some(0.0), "{v} row 0 must be zero");
        }
    }
}

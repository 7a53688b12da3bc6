//! Each mechanism of MODEL.md §4–5 against its equation, on small hand-made cases.

#![allow(clippy::needless_range_loop)] // index loops mirror the equations

mod common;

use talentflow::model::agents::{Researchers, Startups};
use talentflow::model::choice::ChoiceTables;
use talentflow::model::engine::Simulation;
use talentflow::model::rng::{Phase, Streams};
use talentflow::model::step::{
    raise_probability, researcher_phase, startup_phase, ResearcherContext, StartupContext,
};

/// Within `z` standard errors of a binomial proportion.
fn close_to_p(hits: usize, n: usize, p: f64, z: f64) -> bool {
    let f = hits as f64 / n as f64;
    (f - p).abs() <= z * (p * (1.0 - p) / n as f64).sqrt() + 1e-12
}

#[test]
fn grid_queue_builds_nothing_beyond_headroom_and_grid_spend_arrives_after_lead_time() {
    // AAA plans 1 GW per tick ($300B/yr at $25B/GW over 12 ticks) with 2 GW of headroom, no
    // baseline grid growth and no depreciation. A grid programme of $37.5B/yr during 2025 buys
    // 1 GW of headroom per tick ($3.125B/GW), arriving 4 years (48 ticks) later.
    let text = common::small_world(
        r#"
[infrastructure]
compute_depreciation = 0.0

[[policy]]
country = "AAA"
kind = "grid"
from_year = 2025
to_year = 2026
budget_bn = 37.5
"#,
    );
    let s = common::scenario_with(
        &text,
        &[
            "country.AAA.private_dc_bn=300",
            "country.AAA.grid_headroom_gw=2",
        ],
    );
    let rec = common::run(s, 1);
    let compute = rec.series(
        talentflow::model::record::country_variable("compute_gw").unwrap(),
        0,
    );
    let built = rec.series(
        talentflow::model::record::country_variable("compute_built_gw").unwrap(),
        0,
    );
    let queue = rec.series(
        talentflow::model::record::country_variable("grid_queue_gw").unwrap(),
        0,
    );
    let eps = 1e-9;
    assert!(
        (built[1] - 1.0).abs() < eps && (built[2] - 1.0).abs() < eps,
        "initial headroom is used first"
    );
    for t in 3..=48 {
        assert!(
            built[t].abs() < eps,
            "tick {t}: built {} with no headroom",
            built[t]
        );
        assert!((compute[t] - 2.0).abs() < eps);
    }
    for t in 49..=60 {
        assert!(
            (built[t] - 1.0).abs() < eps,
            "tick {t}: grid spend should arrive after 48 ticks"
        );
    }
    assert!(
        built[61].abs() < eps,
        "the programme ended after 12 ticks of spending"
    );
    // Queue: everything requested and not built is waiting.
    for t in 1..=rec.ticks() {
        let requested = t as f64;
        assert!(
            (queue[t] - (requested - (compute[t] - 0.0))).abs() < 1e-6,
            "tick {t}"
        );
    }
    let bn = rec.get("grid_queue_bn", 48, 0).unwrap();
    assert!((bn - queue[48] * 25.0).abs() < 1e-9);
}

#[test]
fn depreciation_returns_grid_connection_to_headroom() {
    let s = common::scenario_with(&common::small_world(""), &["country.AAA.compute_gw=10"]);
    let rec = common::run(s, 1);
    let dep = 1.0 - 0.8f64.powf(1.0 / 12.0);
    let k12 = rec.get("compute_gw", 12, 0).unwrap();
    assert!(
        (k12 - 10.0 * (1.0 - dep).powi(12)).abs() < 1e-9,
        "compute after a year: {k12}"
    );
    assert!((k12 - 8.0).abs() < 1e-9, "20% a year");
    let g12 = rec.get("grid_headroom_gw", 12, 0).unwrap();
    assert!(
        (g12 - 2.0).abs() < 1e-9,
        "lost compute frees its grid connection: {g12}"
    );
}

#[test]
fn ecosystem_relaxes_as_its_equation_says() {
    let text = common::small_world(
        r#"
[[policy]]
country = "AAA"
kind = "ecosystem"
from_year = 2025
to_year = 2030
budget_bn = 5
"#,
    );
    let rec = common::run(common::scenario(&text), 1);
    let (rate, half, decay, e0) = (0.25, 5.0, 0.1, 0.5);
    let mut e: f64 = e0;
    for t in 1..=rec.ticks() {
        let b = if t <= 60 { 5.0 } else { 0.0 };
        e += (rate * b / (b + half) * (1.0 - e) - decay * (e - e0)) / 12.0;
        let got = rec.get("ecosystem", t, 0).unwrap();
        assert!((got - e).abs() < 1e-12, "tick {t}: {got} vs {e}");
        assert_eq!(
            rec.get("ecosystem", t, 1).unwrap(),
            e0,
            "without spending E stays at its value"
        );
    }
    let peak = rec.get("ecosystem", 60, 0).unwrap();
    let end = rec.get("ecosystem", 120, 0).unwrap();
    assert!(
        peak > 0.55 && end < peak && end > e0,
        "rises with spending, relaxes after: {peak} {end}"
    );
}

#[test]
fn wages_follow_their_target() {
    let text = common::small_world(
        r#"
[[policy]]
country = "AAA"
kind = "wages"
from_year = 2026
to_year = 2031
budget_bn = 0.05
"#,
    );
    let s = common::scenario(&text);
    let scale = s.world.researchers / s.world.agents as f64;
    let rec = common::run(s, 2);
    for k in 0..2 {
        let n0 = rec.get("researchers", 0, k).unwrap().max(scale);
        let i0 = rec.get("innovation", 0, k).unwrap().max(1e-6);
        for t in 1..=rec.ticks() {
            let w_prev = rec.get("wage", t - 1, k).unwrap();
            let budget = if k == 0 && (13..=72).contains(&t) {
                0.05
            } else {
                0.0
            };
            // MODEL.md §4 v2: the market target, plus the premium π = budget / max(N, N0).
            let n_prev = rec.get("researchers", t - 1, k).unwrap();
            let supply = n_prev.max(scale);
            let target = 100.0
                * (rec.get("innovation", t, k).unwrap() / i0).powf(0.5)
                * (n0 / supply).powf(0.3);
            let premium = budget * 1e6 / n_prev.max(n0);
            let expected = w_prev + 0.1 * (target + premium - w_prev);
            let got = rec.get("wage", t, k).unwrap();
            assert!(
                (got - expected).abs() < 1e-9 * expected,
                "country {k} tick {t}: {got} vs {expected}"
            );
            assert!((rec.get("wage_premium", t, k).unwrap() - premium).abs() <= 1e-12 * premium);
            // What the programme pays during the tick: π · N / tpy, in $B.
            let paid = rec.get("spent_wages_bn", t, k).unwrap();
            assert!((paid - premium * n_prev / 1e6 / 12.0).abs() <= 1e-15);
        }
    }
    // 0.05 $B/yr over ~500 researchers is a $100k premium: AAA's wage rises above BBB's.
    assert!(rec.get("wage", 60, 0).unwrap() > rec.get("wage", 60, 1).unwrap());
}

#[test]
fn logit_probabilities_match_the_utility_formula_and_sampling() {
    let s = common::toy3(&["country.HUB.attraction=0.7", "country.NEW.attraction=-0.4"]);
    let mut sim = Simulation::new(s.clone(), 3);
    for _ in 0..5 {
        sim.step();
    }
    let (p, st, agg) = (sim.params(), sim.countries(), sim.aggregates());
    let tables = ChoiceTables::build(&s, p, st, agg);
    let b = &s.behaviour;
    let c = p.c;
    let mut checked = 0;
    for h in 0..c {
        for here in 0..c {
            if agg.origin_location(h, here) == 0 {
                continue;
            }
            let row = tables.researcher_cumulative(h, here);
            let natives: u64 = (0..c).map(|d| agg.origin_location(h, d)).sum();
            let u: Vec<f64> = (0..c)
                .map(|d| {
                    // v2: compute relative to K_ref, and the destination constant.
                    let base = b.beta_wage * st.wage[d].ln()
                        + b.beta_capital * st.per_startup[d].ln()
                        + b.beta_innovation * st.innovation[d].ln()
                        + b.beta_compute * (1.0 + st.compute[d] / st.k_ref).ln()
                        + b.beta_amenity * s.countries[d].amenity
                        + s.countries[d].attraction;
                    let diaspora = agg.origin_location(h, d) as f64 / natives as f64;
                    let mut u = base
                        + if d == h { b.beta_home } else { 0.0 }
                        + b.beta_diaspora * (0.01 + diaspora).ln();
                    if d != here {
                        let (a, z) = (&s.countries[here], &s.countries[d]);
                        let dist =
                            talentflow::model::params::great_circle_km(a.lat, a.lon, z.lat, z.lon);
                        let visa = if d == h {
                            0.0
                        } else {
                            b.move_visa * (1.0 - st.openness[d])
                        };
                        u -= b.move_fixed + b.move_distance * (1.0 + dist / 1000.0).ln() + visa
                            - b.move_partner * st.partnership[here * c + d];
                    }
                    u
                })
                .collect();
            let z: f64 = u.iter().map(|x| x.exp()).sum();
            let probs = ChoiceTables::probabilities(&row);
            for d in 0..c {
                let expected = u[d].exp() / z;
                assert!(
                    (probs[d] - expected).abs() < 1e-9,
                    "p[{h},{here}->{d}] {} vs {expected}",
                    probs[d]
                );
            }
            // Empirical frequencies of the sampler match p within sampling error.
            let streams = Streams::new(99);
            let mut rng = streams.stream(1, Phase::Researchers, h * c + here);
            let n = 200_000;
            let mut hits = vec![0usize; c];
            for _ in 0..n {
                hits[tables.pick_researcher(h, here, &mut rng)] += 1;
            }
            for d in 0..c {
                assert!(
                    close_to_p(hits[d], n, probs[d], 4.5),
                    "pick frequency {d}: {} vs {}",
                    hits[d],
                    probs[d]
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "only {checked} occupied (home, location) pairs"
    );
}

#[test]
fn startup_relocation_probabilities_match_the_utility_formula() {
    // Attractions are researchers' only: startups' choice must not see them.
    let s = common::toy3(&["country.HUB.attraction=3", "startups.beta_compute_s=0.8"]);
    let mut sim = Simulation::new(s.clone(), 3);
    for _ in 0..5 {
        sim.step();
    }
    let (p, st, agg) = (sim.params(), sim.countries(), sim.aggregates());
    let tables = ChoiceTables::build(&s, p, st, agg);
    let sp = &s.startups;
    let c = p.c;
    for here in 0..c {
        let u: Vec<f64> = (0..c)
            .map(|d| {
                let mut u = sp.beta_capital_s * st.per_startup[d].ln()
                    + sp.beta_innovation_s * st.innovation[d].ln()
                    + sp.beta_compute_s * (1.0 + st.compute[d] / st.k_ref).ln();
                if d != here {
                    let (a, z) = (&s.countries[here], &s.countries[d]);
                    let dist =
                        talentflow::model::params::great_circle_km(a.lat, a.lon, z.lat, z.lon);
                    u -= sp.move_fixed_s
                        + s.behaviour.move_distance * (1.0 + dist / 1000.0).ln()
                        + s.behaviour.move_visa * (1.0 - st.openness[d]);
                }
                u
            })
            .collect();
        let z: f64 = u.iter().map(|x| x.exp()).sum();
        let probs = ChoiceTables::probabilities(&tables.startup_cumulative(here));
        let mut rng = Streams::new(8).stream(1, Phase::Startups, here);
        let n = 100_000;
        let mut hits = vec![0usize; c];
        for _ in 0..n {
            hits[tables.pick_startup(here, &mut rng)] += 1;
        }
        for d in 0..c {
            let expected = u[d].exp() / z;
            assert!((probs[d] - expected).abs() < 1e-9, "{here}->{d}");
            assert!(close_to_p(hits[d], n, expected, 4.5), "{here}->{d}");
        }
    }
}

#[test]
fn researcher_decisions_happen_at_their_rates() {
    // Three kinds of researcher in each of toy3's countries: low, high and capped review and
    // founding probabilities, mixed within every block; and founders, who only exit.
    let s = common::toy3(&[]);
    let mut sim = Simulation::new(s.clone(), 3);
    sim.step();
    let (p, st, agg) = (sim.params(), sim.countries(), sim.aggregates());
    let tables = ChoiceTables::build(&s, p, st, agg);
    let c = p.c;
    let kinds = [(0.5f32, 0.5f32), (2.0, 2.0), (40.0, 10.0)]; // (skill, mobility)
    let mut r = Researchers::default();
    let n = 240_000;
    for i in 0..n {
        let k = kinds[i % 3];
        let country = ((i / 3) % c) as u16;
        r.push(country, country, k.0, k.1, 0);
        r.founder[i] = (i / 9) % 10 == 0;
    }
    let ctx = ResearcherContext {
        p_exit: 0.03,
        p_review: 0.2,
        mean_mobility: 1.0,
        found_per_skill: vec![0.01, 0.02, 0.05],
        quality_sigma: 0.5,
    };
    let streams = Streams::new(21);
    // [country][kind][founder]: (agents, exits, moves, founds)
    let mut tally = vec![[[(0usize, 0usize, 0usize, 0usize); 2]; 3]; c];
    for tick in 1..=3 {
        let intents = researcher_phase(&r, &tables, &ctx, &streams, tick);
        let mut exits = vec![false; n];
        let mut moves = vec![false; n];
        let mut founds = vec![false; n];
        for b in &intents {
            b.exits.iter().for_each(|x| exits[x.index as usize] = true);
            b.moves.iter().for_each(|m| moves[m.index as usize] = true);
            b.founds
                .iter()
                .for_each(|f| founds[f.index as usize] = true);
        }
        for i in 0..n {
            let t = &mut tally[r.loc[i] as usize][i % 3][usize::from(r.founder[i])];
            t.0 += 1;
            t.1 += usize::from(exits[i]);
            t.2 += usize::from(moves[i]);
            t.3 += usize::from(founds[i]);
        }
    }
    for here in 0..c {
        let stay = ChoiceTables::probabilities(&tables.researcher_cumulative(here, here))[here];
        for (kind, &(skill, mobility)) in kinds.iter().enumerate() {
            let (agents, exits, moves, founds) = tally[here][kind][1];
            assert!(close_to_p(exits, agents, ctx.p_exit, 4.5), "founder exits");
            assert_eq!((moves, founds), (0, 0), "founders neither move nor found");

            let (agents, exits, moves, founds) = tally[here][kind][0];
            let review = (ctx.p_review * f64::from(mobility)).min(1.0);
            let found = (ctx.found_per_skill[here] * f64::from(skill)).min(1.0);
            let stays = 1.0 - ctx.p_exit;
            let p_move = stays * review * (1.0 - stay);
            let p_found = stays * (1.0 - review * (1.0 - stay)) * found;
            let what = format!("country {here}, skill {skill}, mobility {mobility}");
            assert!(close_to_p(exits, agents, ctx.p_exit, 4.5), "exits: {what}");
            assert!(
                close_to_p(moves, agents, p_move, 4.5),
                "moves {moves}/{agents} vs {p_move}: {what}"
            );
            assert!(
                close_to_p(founds, agents, p_found, 4.5),
                "founds {founds}/{agents} vs {p_found}: {what}"
            );
        }
    }
}

#[test]
fn raise_probability_matches_hand_computed_values() {
    let round_m = vec![2.0, 10.0, 30.0, 80.0, 200.0];
    let streams = Streams::new(5);
    let tables = ChoiceTables::default();
    // MODEL.md: p = 1 − exp(−q · a / round_m[stage]), worked out by hand (exp to 16 digits):
    //   q 1,   a 5,   round 2:   q·a/round = 2.5,  1 − e^−2.5  = 1 − 0.0820849986238988 = 0.9179150013761012
    //   q 0.5, a 20,  round 10:  q·a/round = 1,    1 − e^−1    = 1 − 0.3678794411714423 = 0.6321205588285577
    //   q 2,   a 10,  round 30:  q·a/round = 2/3,  1 − e^−2/3  = 1 − 0.5134171190325920 = 0.4865828809674080
    //   q 1,   a 100, round 200: q·a/round = 0.5,  1 − e^−0.5  = 1 − 0.6065306597126334 = 0.3934693402873666
    for (q, a, stage, expected) in [
        (1.0f32, 5.0, 0u8, 0.917_915_001_376_101_2),
        (0.5, 20.0, 1, 0.632_120_558_828_557_7),
        (2.0, 10.0, 2, 0.486_582_880_967_408),
        (1.0, 100.0, 4, 0.393_469_340_287_366_6),
    ] {
        let p = raise_probability(f64::from(q), a, round_m[stage as usize]);
        assert!(
            (p - expected).abs() < 1e-15,
            "q {q} a {a} stage {stage}: p = {p}, expected {expected}"
        );
        let n = 40_000;
        let mut st = Startups::default();
        for f in 0..n {
            st.push(0, f, q, stage, 1, 0);
        }
        let ctx = StartupContext {
            per_startup: vec![a],
            round_m: round_m.clone(),
            runway_ticks: 18,
            bridge_ticks: 3,
            die_on_fail: 0.5,
            relocate_rate: 0.0,
        };
        let intents = startup_phase(&mut st, &tables, &ctx, &streams, 1);
        let exited: usize = intents.iter().map(|b| b.exited.len()).sum();
        let failed: usize = intents.iter().map(|b| b.failed.len()).sum();
        let raised = if stage == 4 {
            exited
        } else {
            st.stage.iter().filter(|&&s| s == stage + 1).count()
        };
        assert!(
            close_to_p(raised, n as usize, p, 4.5),
            "q {q} a {a} stage {stage}: {raised}/{n} vs {p}"
        );
        // Of those that failed the raise, half die; the rest get a 3-tick bridge.
        let bridged = st.runway.iter().filter(|&&r| r == 3).count();
        assert_eq!(failed + bridged + raised, n as usize);
        assert!(close_to_p(failed, failed + bridged, 0.5, 4.5));
        if stage < 4 {
            assert!(st
                .runway
                .iter()
                .zip(&st.stage)
                .all(|(&r, &s)| s == stage || r == 18));
            assert_eq!(exited, 0);
        }
    }
}

//! Numerical safety: extreme but valid parameters run to the end with every output finite and
//! researchers conserved. (Anything that would still overflow is refused by the writers with an
//! error naming the variable, never written: see `output::check_finite`.)

#![allow(clippy::needless_range_loop)] // index loops mirror the accounting identity

mod common;

use talentflow::model::engine::Simulation;
use talentflow::model::record::country_variable;
use talentflow::rundir::write::check_finite;
use talentflow::scenario::ValidScenario;

fn country(code: &str, lat: f64, extra: &str) -> String {
    format!(
        "[[country]]\ncode = \"{code}\"\nlat = {lat}\nlon = {lat}\nwage_k = 100.0\nvc_bn = 10.0\n\
         compute_gw = 1.0\nprivate_dc_bn = 5.0\ngrid_headroom_gw = 1.0\ngrid_growth_gw = 0.5\n\
         ecosystem = 0.5\namenity = 0.5\nopenness = 0.5\norigin_share = 1.0\n\
         location_share = 1.0\nhome_stay = 0.7\nstartups = 30.0\n{extra}\n"
    )
}

/// Three countries, 1500 agents, 2 years, then `set` overrides.
fn world(countries: &str, set: &[&str]) -> ValidScenario {
    let text = format!("[world]\nyears = 2\nresearchers = 15000\nagents = 1500\n\n{countries}");
    common::scenario_with(&text, set)
}

fn three(extra: &str) -> String {
    ["AAA", "BBB", "CCC"]
        .iter()
        .enumerate()
        .map(|(i, code)| country(code, 20.0 * i as f64, extra))
        .collect()
}

fn all_policies(budget: &str) -> String {
    let mut out = String::new();
    for kind in ["infrastructure", "grid", "wages", "ecosystem", "capital"] {
        out += &format!(
            "[[policy]]\ncountry = \"AAA\"\nkind = \"{kind}\"\nfrom_year = 2025\nto_year = 2027\nbudget_bn = {budget}\n"
        );
    }
    out += "[[policy]]\ncountry = \"AAA\"\nkind = \"openness\"\nvalue = 0.0\nfrom_year = 2025\nto_year = 2027\n";
    out += "[[policy]]\ncountry = \"AAA\"\nkind = \"partnership\"\npartner = \"BBB\"\nstrength = 1.0\nfrom_year = 2025\nto_year = 2027\n";
    out
}

/// Runs to the end; checks that every recorded value is finite and that, per country and tick,
/// researchers change by exactly inflow − outflow + entrants − retired.
fn check(name: &str, s: ValidScenario) {
    let scale = s.world.researchers / s.world.agents as f64;
    let c = s.num_countries();
    let mut sim = Simulation::new(s.clone(), 11);
    let mut prev = sim.aggregates().researchers.clone();
    while !sim.is_finished() {
        sim.step();
        let k = sim.last_counts();
        for d in 0..c {
            let now = sim.aggregates().researchers[d] as i64;
            let expected = prev[d] as i64 + k.inflow[d] as i64 - k.outflow[d] as i64
                + k.entrants[d] as i64
                - k.retired[d] as i64;
            assert_eq!(now, expected, "{name}: country {d}, tick {}", sim.tick());
        }
        prev = sim.aggregates().researchers.clone();
    }
    let rec = sim.into_recorder();
    if let Err(e) = check_finite(&s, &rec) {
        panic!("{name}: {e}");
    }
    // The same identity in the recorded (real-unit) series.
    let v = |name: &str| country_variable(name).unwrap();
    let (n, i, o, e, r) = (
        v("researchers"),
        v("inflow"),
        v("outflow"),
        v("entrants"),
        v("retired"),
    );
    for t in 1..=rec.ticks() {
        for d in 0..c {
            let at = |var: usize, row: usize| rec.country[var][row * c + d];
            let lhs = at(n, t) - at(n, t - 1);
            let rhs = at(i, t) - at(o, t) + at(e, t) - at(r, t);
            assert!(
                (lhs - rhs).abs() <= 1e-9 * scale.max(1.0) * (1.0 + at(n, t).abs() / scale),
                "{name}: recorded researchers not conserved at tick {t}, country {d}: {lhs} vs {rhs}"
            );
        }
    }
}

#[test]
fn degenerate_worlds_stay_finite() {
    // v2: a lone country's natives all work at home (home_stay < 1 admits no initial matrix).
    check(
        "single country",
        world(
            &country("AAA", 0.0, "").replace("home_stay = 0.7", "home_stay = 1.0"),
            &[],
        ),
    );
    check(
        "an empty country",
        world(
            &(three("")
                + &country("NIL", 60.0, "")
                    .replace("origin_share = 1.0", "origin_share = 0.0")
                    .replace("location_share = 1.0", "location_share = 0.0")
                    .replace("startups = 30.0", "startups = 0.0")),
            &["country.NIL.vc_bn=0", "country.NIL.compute_gw=0"],
        ),
    );
    check(
        "zero capital everywhere",
        world(
            &three(""),
            &[
                "country.0.vc_bn=0",
                "country.1.vc_bn=0",
                "country.2.vc_bn=0",
                "behaviour.found_capital=-5",
                "behaviour.beta_capital=100",
                "startups.beta_capital_s=-100",
            ],
        ),
    );
    check(
        "all openness 0",
        world(
            &three("").replace("openness = 0.5", "openness = 0.0"),
            &["behaviour.move_visa=100"],
        ),
    );
    check(
        "everyone leaves at once",
        world(
            &three(""),
            &[
                "world.exit_rate=1",
                "world.entry_rate=0",
                "world.ticks_per_year=1",
                "world.years=3",
            ],
        ),
    );
    check(
        "no compute, no grid, no startups",
        world(
            &three("")
                .replace("compute_gw = 1.0", "compute_gw = 0.0")
                .replace("private_dc_bn = 5.0", "private_dc_bn = 0.0")
                .replace("grid_headroom_gw = 1.0", "grid_headroom_gw = 0.0")
                .replace("grid_growth_gw = 0.5", "grid_growth_gw = 0.0")
                .replace("startups = 30.0", "startups = 0.0"),
            &["behaviour.found_rate=0"],
        ),
    );
    check(
        "one agent",
        world(&three(""), &["world.agents=1", "world.entry_rate=0"]),
    );
}

#[test]
fn extreme_parameters_stay_finite() {
    check(
        "extreme exponents",
        world(
            &three(""),
            &[
                "innovation.lambda=5",
                "innovation.gamma=-5",
                "innovation.alpha=-5",
                "innovation.spillover=10",
                "wages.innovation_elasticity=5",
                "wages.crowding=-5",
                "wages.adjust=1",
                "capital.innovation_elasticity=-5",
                "capital.growth=10",
                "capital.adjust=1",
                "capital.foreign_share=1",
                "behaviour.mobility_skill=-5",
                "world.skill_sigma=3",
                "startups.quality_sigma=3",
            ],
        ),
    );
    check(
        "extreme exponents, other signs",
        world(
            &three(""),
            &[
                "innovation.lambda=-5",
                "innovation.gamma=5",
                "innovation.alpha=5",
                "wages.innovation_elasticity=-5",
                "wages.crowding=5",
                "capital.innovation_elasticity=5",
                "capital.growth=-0.99",
                "behaviour.mobility_skill=5",
                "world.skill_sigma=3",
            ],
        ),
    );
    let betas: Vec<String> = [
        "beta_wage",
        "beta_capital",
        "beta_innovation",
        "beta_compute",
        "beta_amenity",
        "beta_home",
        "beta_diaspora",
        "move_fixed",
        "move_distance",
        "move_visa",
        "move_partner",
    ]
    .iter()
    .enumerate()
    .map(|(i, b)| format!("behaviour.{b}={}", if i % 2 == 0 { 100 } else { -100 }))
    .collect();
    let betas: Vec<&str> = betas.iter().map(String::as_str).collect();
    check("utility weights ±100", world(&three(""), &betas));
    check(
        "huge money and population",
        world(
            &three("")
                .replace("wage_k = 100.0", "wage_k = 1e15")
                .replace("vc_bn = 10.0", "vc_bn = 1e15")
                .replace("startups = 30.0", "startups = 1e15")
                .replace("private_dc_bn = 5.0", "private_dc_bn = 1e15")
                .replace("grid_growth_gw = 0.5", "grid_growth_gw = 1e15"),
            &["world.researchers=1e15", "world.agents=600"],
        ),
    );
    check(
        "tiny money",
        world(
            &three("")
                .replace("wage_k = 100.0", "wage_k = 1e-3")
                .replace("vc_bn = 10.0", "vc_bn = 1e-12")
                .replace("ecosystem = 0.5", "ecosystem = 1e-6"),
            &[
                "infrastructure.capex_bn_per_gw=1e-3",
                "infrastructure.grid_cost_bn_per_gw=1e-3",
                "ecosystem.half_bn=1e-12",
                "startups.round_m=[1e15,1e15,1e15,1e15,1e15]",
            ],
        ),
    );
    check(
        "every policy at the largest budget",
        world(
            &(three("").replace("wage_k = 100.0", "wage_k = 1e-3") + &all_policies("1e15")),
            &[
                "infrastructure.capex_bn_per_gw=1e-3",
                "infrastructure.grid_cost_bn_per_gw=1e-3",
                "infrastructure.grid_lead_years=0",
                "ecosystem.rate=100",
                "ecosystem.decay=100",
                "wages.crowding=5",
            ],
        ),
    );
    check(
        "daily ticks",
        world(&three(""), &["world.ticks_per_year=365", "world.years=1"]),
    );
    check(
        "fastest rates",
        world(
            &three(""),
            &[
                "world.ticks_per_year=1",
                "world.entry_rate=1",
                "behaviour.review_rate=1",
                "behaviour.found_rate=1",
                "startups.relocate_rate=1",
                "startups.die_on_fail=0",
                "infrastructure.compute_depreciation=1",
                "startups.runway_months=0",
                "startups.bridge_months=1200",
            ],
        ),
    );
}

//! Meaning checks on a structurally valid scenario: ranges, codes, shares, policy consistency.
//!
//! Returns `(key path, message)` pairs; the loader turns key paths into file locations.

use std::collections::BTreeSet;

use super::{PolicyKind, Scenario};

/// Largest number of agents accepted (u32 indices with room for entrants).
pub const MAX_AGENTS: i64 = 1_000_000_000;
/// Largest number of countries (u16 indices).
pub const MAX_COUNTRIES: usize = 4096;
/// Longest country name accepted (names label figures and tables).
pub const MAX_COUNTRY_NAME: usize = 200;
/// Longest run accepted, in ticks.
pub const MAX_TICKS: i64 = 1_000_000;
/// Largest magnitude accepted for any money or population figure.
const HUGE: f64 = 1e15;
/// Most values a run may record (per-country series, flows and origin × location over all
/// ticks): 2.5e8 float64 values are 2 GB in memory, before the CSV text is built. The recorder
/// is allocated up front, so this is what stops a scenario from asking for unbounded memory.
pub const MAX_OUTPUT_VALUES: f64 = 2.5e8;
/// An upper bound on the per-country series a run records (the model's table has fewer; a test
/// in `model::record` keeps it so). The scenario layer cannot look at the model's table, whose
/// direction of dependency is the other way.
pub const RECORDED_PER_COUNTRY: usize = 64;
/// An upper bound on the world series a run records (see [`RECORDED_PER_COUNTRY`]).
pub const RECORDED_WORLD: usize = 32;

/// A number as it should appear in a message: exponent notation when very large or small, so
/// `1e300` is not printed as 301 digits.
pub fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

type Found = Vec<(String, String)>;

fn range(out: &mut Found, key: &str, x: f64, lo: f64, hi: f64) {
    if !(lo..=hi).contains(&x) {
        out.push((
            key.to_string(),
            format!("must be in [{}, {}], found {}", num(lo), num(hi), num(x)),
        ));
    }
}

fn nonneg(out: &mut Found, key: &str, x: f64) {
    if !(0.0..=HUGE).contains(&x) {
        out.push((
            key.to_string(),
            format!("must be between 0 and {HUGE:e}, found {}", num(x)),
        ));
    }
}

/// Positive, at least `lo` and at most [`HUGE`].
fn at_least(out: &mut Found, key: &str, x: f64, lo: f64) {
    if x > 0.0 && x < lo {
        out.push((
            key.to_string(),
            format!(
                "must be at least {} (and at most {HUGE:e}), found {}",
                num(lo),
                num(x)
            ),
        ));
    } else {
        positive(out, key, x);
    }
}

fn positive(out: &mut Found, key: &str, x: f64) {
    if !(x > 0.0 && x <= HUGE) {
        out.push((
            key.to_string(),
            format!("must be positive (and at most {HUGE:e}), found {}", num(x)),
        ));
    }
}

/// Checks the meaning of every parameter; an empty result means the scenario can run.
pub fn check(s: &Scenario) -> Found {
    let mut out = Found::new();
    let o = &mut out;
    let w = &s.world;
    if !(1800..=3000).contains(&w.start_year) {
        o.push((
            "world.start_year".into(),
            format!("must be in [1800, 3000], found {}", w.start_year),
        ));
    }
    if !(1..=1000).contains(&w.years) {
        o.push((
            "world.years".into(),
            format!("must be in [1, 1000], found {}", w.years),
        ));
    }
    if !(1..=365).contains(&w.ticks_per_year) {
        o.push((
            "world.ticks_per_year".into(),
            format!("must be in [1, 365], found {}", w.ticks_per_year),
        ));
    } else if w.years.saturating_mul(w.ticks_per_year) > MAX_TICKS {
        o.push((
            "world.years".into(),
            format!("years × ticks_per_year must be at most {MAX_TICKS}"),
        ));
    }
    // Lower bounds below keep every accepted scenario inside floating-point range (an agent
    // standing for 1e-300 people, or a GW costing 1e-300 $B, overflows what is derived from it).
    at_least(o, "world.researchers", w.researchers, 1.0);
    if !(1..=MAX_AGENTS).contains(&w.agents) {
        o.push((
            "world.agents".into(),
            format!("must be in [1, {MAX_AGENTS}], found {}", w.agents),
        ));
    }
    range(o, "world.entry_rate", w.entry_rate, 0.0, 1.0);
    check_size(s, o);
    range(o, "world.exit_rate", w.exit_rate, 0.0, 1.0);
    range(o, "world.skill_sigma", w.skill_sigma, 0.0, 3.0);

    let inf = &s.infrastructure;
    at_least(
        o,
        "infrastructure.capex_bn_per_gw",
        inf.capex_bn_per_gw,
        1e-3,
    );
    at_least(
        o,
        "infrastructure.grid_cost_bn_per_gw",
        inf.grid_cost_bn_per_gw,
        1e-3,
    );
    range(
        o,
        "infrastructure.grid_lead_years",
        inf.grid_lead_years,
        0.0,
        100.0,
    );
    range(
        o,
        "infrastructure.compute_depreciation",
        inf.compute_depreciation,
        0.0,
        1.0,
    );

    let e = &s.ecosystem;
    range(o, "ecosystem.rate", e.rate, 0.0, 100.0);
    positive(o, "ecosystem.half_bn", e.half_bn);
    range(o, "ecosystem.decay", e.decay, 0.0, 100.0);

    let i = &s.innovation;
    range(o, "innovation.lambda", i.lambda, -5.0, 5.0);
    range(o, "innovation.gamma", i.gamma, -5.0, 5.0);
    range(o, "innovation.alpha", i.alpha, -5.0, 5.0);
    range(o, "innovation.spillover", i.spillover, 0.0, 10.0);

    range(
        o,
        "wages.innovation_elasticity",
        s.wages.innovation_elasticity,
        -5.0,
        5.0,
    );
    range(o, "wages.crowding", s.wages.crowding, -5.0, 5.0);
    range(o, "wages.adjust", s.wages.adjust, 0.0, 1.0);

    range(
        o,
        "capital.innovation_elasticity",
        s.capital.innovation_elasticity,
        -5.0,
        5.0,
    );
    range(o, "capital.growth", s.capital.growth, -0.99, 10.0);
    range(o, "capital.adjust", s.capital.adjust, 0.0, 1.0);
    range(
        o,
        "capital.foreign_share",
        s.capital.foreign_share,
        0.0,
        1.0,
    );

    let b = &s.behaviour;
    for (k, x) in [
        ("beta_wage", b.beta_wage),
        ("beta_capital", b.beta_capital),
        ("beta_innovation", b.beta_innovation),
        ("beta_compute", b.beta_compute),
        ("beta_amenity", b.beta_amenity),
        ("beta_home", b.beta_home),
        ("beta_diaspora", b.beta_diaspora),
        ("move_fixed", b.move_fixed),
        ("move_distance", b.move_distance),
        ("move_visa", b.move_visa),
        ("move_partner", b.move_partner),
    ] {
        range(o, &format!("behaviour.{k}"), x, -100.0, 100.0);
    }
    range(o, "behaviour.review_rate", b.review_rate, 0.0, 1.0);
    range(o, "behaviour.mobility_skill", b.mobility_skill, -5.0, 5.0);
    range(o, "behaviour.found_rate", b.found_rate, 0.0, 1.0);
    range(o, "behaviour.found_capital", b.found_capital, -5.0, 5.0);

    let st = &s.startups;
    range(o, "startups.quality_sigma", st.quality_sigma, 0.0, 3.0);
    if st.round_m.len() != 5 {
        o.push((
            "startups.round_m".into(),
            format!(
                "must list 5 round sizes (pre-seed, seed, A, B, growth), found {}",
                st.round_m.len()
            ),
        ));
    }
    for (k, x) in st.round_m.iter().enumerate() {
        positive(o, &format!("startups.round_m[{k}]"), *x);
    }
    for (k, x) in [
        ("runway_months", st.runway_months),
        ("initial_runway_months", st.initial_runway_months),
        ("initial_runway_max_months", st.initial_runway_max_months),
        ("bridge_months", st.bridge_months),
    ] {
        range(o, &format!("startups.{k}"), x, 0.0, 1200.0);
    }
    range(o, "startups.die_on_fail", st.die_on_fail, 0.0, 1.0);
    range(o, "startups.relocate_rate", st.relocate_rate, 0.0, 1.0);
    for (k, x) in [
        ("beta_capital_s", st.beta_capital_s),
        ("beta_innovation_s", st.beta_innovation_s),
        ("beta_compute_s", st.beta_compute_s),
        ("move_fixed_s", st.move_fixed_s),
    ] {
        range(o, &format!("startups.{k}"), x, -100.0, 100.0);
    }

    check_countries(s, o);
    check_partnerships(s, o);
    check_policies(s, o);
    // The initial matrix needs sane shares and a bounded number of countries; it is checked only
    // when everything else is valid (its messages would otherwise repeat other problems).
    if out.is_empty() {
        check_initial(s, &mut out);
    }
    out
}

/// The shares must admit the initial origin × location matrix (MODEL.md §5, **v2**).
fn check_initial(s: &Scenario, o: &mut Found) {
    if let Err(problems) = super::initial::initial_matrix(s) {
        for p in problems {
            o.push((p.key(), p.message()));
        }
    }
}

/// Bounds on what a run will allocate: the population with all its entrants (agent indices are
/// u32) and the recorded outputs.
fn check_size(s: &Scenario, o: &mut Found) {
    let w = &s.world;
    let valid_time = (1..=1000).contains(&w.years) && (1..=365).contains(&w.ticks_per_year);
    if !valid_time || !(1..=MAX_AGENTS).contains(&w.agents) || !(0.0..=1.0).contains(&w.entry_rate)
    {
        return; // reported elsewhere
    }
    let ticks = (w.years * w.ticks_per_year) as f64;
    let c = s.countries.len() as f64;
    // Entrants per tick are p_entry = 1 − (1 − entry_rate)^(1/tpy) of the initial agents (the
    // hazard conversion of MODEL.md §2), plus at most one per country from rounding; with no
    // exits they all stay.
    let p_entry = if w.entry_rate >= 1.0 {
        1.0
    } else {
        1.0 - libm::pow(1.0 - w.entry_rate, 1.0 / w.ticks_per_year as f64)
    };
    let peak = w.agents as f64 * (1.0 + p_entry * ticks) + c * ticks;
    if peak > MAX_AGENTS as f64 {
        o.push((
            "world.agents".into(),
            format!(
                "with entry_rate {} over {} years the population could reach {} agents; \
                 at most {MAX_AGENTS} are supported (lower agents, years or entry_rate)",
                w.entry_rate,
                w.years,
                num(peak.round())
            ),
        ));
    }
    let per_row = c * RECORDED_PER_COUNTRY as f64 + 2.0 * c * c + RECORDED_WORLD as f64 + 1.0;
    let values = (ticks + 1.0) * per_row;
    if values > MAX_OUTPUT_VALUES {
        o.push((
            "world.years".into(),
            format!(
                "{} ticks × {} countries would record {} values (with flows C × C per tick); \
                 at most {} are supported (fewer years, ticks_per_year or countries)",
                ticks,
                c,
                num(values),
                num(MAX_OUTPUT_VALUES)
            ),
        ));
    }
}

fn check_countries(s: &Scenario, o: &mut Found) {
    if s.countries.is_empty() {
        o.push((
            "country".into(),
            "the world has no countries: add at least one [[country]]".into(),
        ));
        return;
    }
    if s.countries.len() > MAX_COUNTRIES {
        o.push((
            "country".into(),
            format!(
                "at most {MAX_COUNTRIES} countries, found {}",
                s.countries.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for (k, c) in s.countries.iter().enumerate() {
        let p = |f: &str| format!("country[{k}].{f}");
        let code_ok = !c.code.is_empty()
            && c.code.len() <= 16
            && c.code
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
        if !code_ok {
            o.push((
                p("code"),
                format!(
                    "\"{}\" is not a code (1-16 letters, digits, _ or -)",
                    c.code
                ),
            ));
        } else if !seen.insert(c.code.as_str()) {
            o.push((p("code"), format!("duplicate country code \"{}\"", c.code)));
        }
        let name_len = c.name.chars().count();
        if name_len > MAX_COUNTRY_NAME {
            o.push((
                p("name"),
                format!("is {name_len} characters long; at most {MAX_COUNTRY_NAME} are accepted"),
            ));
        }
        range(o, &p("lat"), c.lat, -90.0, 90.0);
        range(o, &p("lon"), c.lon, -180.0, 180.0);
        at_least(o, &p("wage_k"), c.wage_k, 1e-3);
        for (f, x) in [
            ("vc_bn", c.vc_bn),
            ("compute_gw", c.compute_gw),
            ("private_dc_bn", c.private_dc_bn),
            ("grid_headroom_gw", c.grid_headroom_gw),
            ("grid_growth_gw", c.grid_growth_gw),
            ("origin_share", c.origin_share),
            ("location_share", c.location_share),
            ("startups", c.startups),
        ] {
            nonneg(o, &p(f), x);
        }
        // The ecosystem phase keeps E ≥ 1e-6; the initial value obeys the same floor.
        range(o, &p("ecosystem"), c.ecosystem, 1e-6, 1.0);
        range(o, &p("amenity"), c.amenity, 0.0, 1.0);
        range(o, &p("openness"), c.openness, 0.0, 1.0);
        range(o, &p("home_stay"), c.home_stay, 0.0, 1.0);
    }
    for field in ["origin_share", "location_share"] {
        let total: f64 = s
            .countries
            .iter()
            .map(|c| {
                if field == "origin_share" {
                    c.origin_share
                } else {
                    c.location_share
                }
            })
            .filter(|x| x.is_finite() && *x >= 0.0)
            .sum();
        if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            o.push((
                format!("country[0].{field}"),
                format!(
                    "{field} over all countries sums to {total}; it must sum to a positive number"
                ),
            ));
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn known(s: &Scenario, code: &str) -> bool {
    s.country_index(code).is_some()
}

fn unknown_code(s: &Scenario, code: &str) -> String {
    // Each code once (a duplicate is reported where it is), and no empty stand-ins.
    let mut seen = BTreeSet::new();
    let codes: Vec<&str> = s
        .countries
        .iter()
        .map(|c| c.code.as_str())
        .filter(|c| !c.is_empty() && seen.insert(*c))
        .collect();
    format!(
        "unknown country code \"{code}\" (known: {})",
        codes.join(", ")
    )
}

fn check_partnerships(s: &Scenario, o: &mut Found) {
    let mut pairs = BTreeSet::new();
    for (k, p) in s.partnerships.iter().enumerate() {
        let key = |f: &str| format!("partnership[{k}].{f}");
        if !known(s, &p.a) {
            o.push((key("a"), unknown_code(s, &p.a)));
        }
        if !known(s, &p.b) {
            o.push((key("b"), unknown_code(s, &p.b)));
        }
        if p.a == p.b {
            o.push((
                key("b"),
                format!("a country cannot partner with itself (\"{}\")", p.a),
            ));
        }
        let pair = if p.a < p.b {
            (&p.a, &p.b)
        } else {
            (&p.b, &p.a)
        };
        if !pairs.insert(pair) {
            o.push((key("b"), format!("duplicate partnership {}–{}", p.a, p.b)));
        }
        range(o, &key("strength"), p.strength, 0.0, 1.0);
    }
}

fn check_policies(s: &Scenario, o: &mut Found) {
    for (k, p) in s.policies.iter().enumerate() {
        let key = |f: &str| format!("policy[{k}].{f}");
        if !known(s, &p.country) {
            o.push((key("country"), unknown_code(s, &p.country)));
        }
        range(o, &key("from_year"), p.from_year, 1800.0, 3000.0);
        range(o, &key("to_year"), p.to_year, 1800.0, 3000.0);
        if p.to_year <= p.from_year {
            o.push((
                key("to_year"),
                format!(
                    "to_year ({}) must be after from_year ({}); the end is exclusive",
                    p.to_year, p.from_year
                ),
            ));
        }
        let kind = p.kind.name();
        let unused = |o: &mut Found, f: &str, given: bool| {
            if given {
                o.push((key(f), format!("`{f}` has no meaning for {kind} policies")));
            }
        };
        match p.kind {
            k if k.spends_money() => {
                match p.budget_bn {
                    Some(x) => nonneg(o, &key("budget_bn"), x),
                    None => o.push((
                        key("budget_bn"),
                        format!(
                            "{} {kind} policy needs `budget_bn` ($B/year)",
                            article(kind)
                        ),
                    )),
                }
                unused(o, "partner", p.partner.is_some());
                unused(o, "strength", p.strength.is_some());
                unused(o, "value", p.value.is_some());
            }
            PolicyKind::Partnership => {
                match &p.partner {
                    Some(code) if !known(s, code) => {
                        o.push((key("partner"), unknown_code(s, code)))
                    }
                    Some(code) if *code == p.country => o.push((
                        key("partner"),
                        "a country cannot partner with itself".into(),
                    )),
                    Some(_) => {}
                    None => o.push((
                        key("partner"),
                        "a partnership policy needs `partner`".into(),
                    )),
                }
                match p.strength {
                    Some(x) => range(o, &key("strength"), x, 0.0, 1.0),
                    None => o.push((
                        key("strength"),
                        "a partnership policy needs `strength` in [0, 1]".into(),
                    )),
                }
                unused(o, "budget_bn", p.budget_bn.is_some());
                unused(o, "value", p.value.is_some());
            }
            _ => {
                match p.value {
                    Some(x) => range(o, &key("value"), x, 0.0, 1.0),
                    None => o.push((
                        key("value"),
                        "an openness policy needs `value` in [0, 1]".into(),
                    )),
                }
                unused(o, "budget_bn", p.budget_bn.is_some());
                unused(o, "partner", p.partner.is_some());
                unused(o, "strength", p.strength.is_some());
            }
        }
    }
}

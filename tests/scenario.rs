//! Scenario loading: defaults, overrides, and a precise report of every problem.

mod common;

use talentflow::scenario::{load_str, Override, Scenario, SourceName};

fn problems(text: &str, set: &[&str]) -> Vec<String> {
    let overrides: Vec<Override> = set.iter().map(|s| Override::parse(s).unwrap()).collect();
    match load_str(text, &SourceName::Embedded("t"), &overrides) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

fn has(found: &[String], needle: &str) -> bool {
    found.iter().any(|p| p.contains(needle))
}

#[test]
fn embedded_scenarios_are_valid_and_complete() {
    let w = common::world(&[]);
    assert!(w.countries.len() >= 15);
    for code in [
        "USA", "CHN", "GBR", "DEU", "FRA", "CAN", "JPN", "KOR", "IND", "ISR", "SGP", "DNK", "SAU",
        "ARE", "ROW",
    ] {
        assert!(
            w.country_index(code).is_some(),
            "{code} missing from world2025"
        );
    }
    assert_eq!(common::toy3(&[]).countries.len(), 3);
}

#[test]
fn a_scenario_lists_only_what_differs() {
    let s = common::scenario(&common::small_world(""));
    let d = Scenario::default();
    assert_eq!(s.innovation, d.innovation);
    assert_eq!(s.behaviour, d.behaviour);
    assert_eq!(s.world.ticks_per_year, 12);
    assert_eq!(s.countries[0].name, "AAA", "name defaults to the code");
    // The resolved scenario round-trips through TOML with the same hash.
    let again = common::scenario(&s.to_toml());
    assert_eq!(again, s);
    assert_eq!(again.hash(), s.hash());
}

#[test]
fn overrides_address_countries_by_code_or_index() {
    let s = common::toy3(&[
        "country.NEW.wage_k=95",
        "country.0.openness=0.1",
        "startups.round_m=[1,2,3,4,5]",
    ]);
    assert_eq!(s.countries[2].wage_k, 95.0);
    assert_eq!(s.countries[0].openness, 0.1);
    assert_eq!(s.startups.round_m, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert!(Override::parse("novalue").is_err());
    assert!(Override::parse("a..b=1").is_err());
}

#[test]
fn meaning_checks_name_the_problem() {
    let base = common::small_world("");
    let dup = base.replacen("code = \"BBB\"", "code = \"AAA\"", 1);
    assert!(has(&problems(&dup, &[]), "duplicate country code \"AAA\""));

    let zero = problems(
        &base,
        &["country.AAA.origin_share=0", "country.BBB.origin_share=0"],
    );
    assert!(
        has(&zero, "origin_share over all countries sums to 0"),
        "{zero:?}"
    );

    let p = base.clone()
        + "[[partnership]]\na = \"AAA\"\nb = \"ZZZ\"\nstrength = 0.5\n\
           [[policy]]\ncountry = \"AAA\"\nkind = \"openness\"\nfrom_year = 2026\nto_year = 2027\nbudget_bn = 3\n\
           [[policy]]\ncountry = \"BBB\"\nkind = \"partnership\"\nfrom_year = 2026\nto_year = 2027\npartner = \"BBB\"\nstrength = 2\n\
           [[policy]]\ncountry = \"BBB\"\nkind = \"capital\"\nfrom_year = 2026\nto_year = 2026\n";
    let found = problems(&p, &[]);
    assert!(
        has(&found, "`partnership[0].b`: unknown country code \"ZZZ\""),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "`policy[0].value`: an openness policy needs `value`"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "`policy[0].budget_bn`: `budget_bn` has no meaning for openness policies"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "`policy[1].partner`: a country cannot partner with itself"
        ),
        "{found:?}"
    );
    assert!(
        has(&found, "`policy[1].strength`: must be in [0, 1]"),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "`policy[2].to_year`: to_year (2026) must be after from_year (2026)"
        ),
        "{found:?}"
    );
    assert!(
        has(
            &found,
            "`policy[2].budget_bn`: a capital policy needs `budget_bn`"
        ),
        "{found:?}"
    );
    // Located at the line of the offending key.
    assert!(found
        .iter()
        .any(|f| f.starts_with("<embedded t>:") && f.contains("partnership[0].b")));
}

#[test]
fn empty_world_and_wrong_shapes_are_errors() {
    assert!(has(
        &problems("[world]\nyears = 3\n", &[]),
        "the world has no countries"
    ));
    assert!(has(
        &problems("country = 3\n", &[]),
        "expected a list of tables"
    ));
    assert!(has(
        &problems("[world]\nyears = 2.5\n", &[]),
        "expected an integer, found 2.5"
    ));
    assert!(has(
        &problems("[world]\nresearchers = inf\n", &[]),
        "must be a finite number"
    ));
    assert!(has(&problems("[wrold]\n", &[]), "did you mean `world`"));
    let deep = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    assert!(has(&problems(&deep, &[]), "nesting deeper than"));
}

#[test]
fn a_scenario_built_in_code_is_validated_like_a_file_with_the_same_messages() {
    use talentflow::scenario::{Policy, PolicyKind, TOY3_TOML};
    // The default scenario has no countries: it cannot reach the engine.
    let err = Scenario::default().validate().unwrap_err().to_string();
    assert!(err.contains("the world has no countries"), "{err}");

    // A policy for an unknown country and a NaN, in code and in a file: the same problems.
    let mut s = load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &[])
        .unwrap()
        .into_inner();
    s.policies.push(Policy {
        country: "XXX".into(),
        kind: PolicyKind::Wages,
        from_year: 2025.0,
        to_year: 2027.0,
        budget_bn: Some(1.0),
        partner: None,
        strength: None,
        value: None,
    });
    let in_code = s.clone().validate().unwrap_err();
    let from_file = load_str(&s.to_toml(), &SourceName::Embedded("toy3"), &[]).unwrap_err();
    let messages = |e: &talentflow::scenario::ScenarioError| -> Vec<(String, String)> {
        e.problems
            .iter()
            .map(|p| (p.key.clone(), p.message.clone()))
            .collect()
    };
    assert_eq!(messages(&in_code), messages(&from_file));
    assert!(in_code.to_string().contains("XXX"), "{in_code}");

    s.policies.clear();
    s.innovation.lambda = f64::NAN;
    let err = s.validate().unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.key == "innovation.lambda" && p.message.contains("finite")),
        "{err}"
    );
}

//! Scenario: the complete, typed statement of one simulated world.
//!
//! A scenario file is TOML. Every parameter of `MODEL.md` has its default here, so a file lists only
//! what differs; countries, partnerships and policies are lists (`[[country]]`, `[[partnership]]`,
//! `[[policy]]`). Loading happens in three passes (see [`load`]):
//!
//! 1. TOML syntax, with spans, so every later problem can name its file, line and key;
//! 2. structure: unknown keys, wrong types, missing required keys, non-finite numbers
//!    ([`load`] walks the document against a template serialised from [`Scenario::template`]);
//! 3. meaning: ranges, unique and known country codes, shares that sum to a positive number,
//!    consistent policies ([`check`]).
//!
//! All problems of a pass are collected and reported together, never just the first.

pub mod check;
pub mod initial;
pub mod load;
pub mod text;
pub mod worldgen;

use std::ops::Deref;

use serde::{Deserialize, Serialize};

pub use load::{
    load_bytes, load_file, load_named, load_str, Override, OverrideError, Problem, ScenarioError,
    SourceName, EMBEDDED,
};

/// The default world, embedded in the binary so that `talentflow run` needs no file.
pub const WORLD2025_TOML: &str = include_str!("../../configs/world2025.toml");
/// A three-country toy world used by the tests and the examples.
pub const TOY3_TOML: &str = include_str!("../../configs/toy3.toml");

/// A scenario that passed every check: the only kind the engine runs
/// ([`crate::model::engine::Simulation::new`] takes one).
///
/// It is obtained from the loaders ([`load_file`], [`load_str`], [`load_named`]) or, for a
/// scenario built in code, from [`Scenario::validate`]; both run the same checks and give the
/// same messages. It derefs to [`Scenario`] for reading; to change it, take the scenario out with
/// [`ValidScenario::into_inner`], edit it and validate it again.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidScenario(Scenario);

impl ValidScenario {
    /// The scenario, to be edited (and validated again before it can run).
    pub fn into_inner(self) -> Scenario {
        self.0
    }

    /// The scenario, borrowed.
    pub fn scenario(&self) -> &Scenario {
        &self.0
    }

    /// Only for values that were checked: the loaders and [`Scenario::validate`].
    pub(crate) fn new_unchecked(scenario: Scenario) -> ValidScenario {
        ValidScenario(scenario)
    }
}

impl Deref for ValidScenario {
    type Target = Scenario;

    fn deref(&self) -> &Scenario {
        &self.0
    }
}

impl AsRef<Scenario> for ValidScenario {
    fn as_ref(&self) -> &Scenario {
        &self.0
    }
}

/// A complete scenario: global parameters, countries, partnerships and policies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Time, population and demography.
    pub world: World,
    /// Data-centre build-out and the grid queue.
    pub infrastructure: Infrastructure,
    /// Ecosystem dynamics.
    pub ecosystem: Ecosystem,
    /// Innovation speed (agglomeration).
    pub innovation: Innovation,
    /// Wage adjustment.
    pub wages: Wages,
    /// Venture capital.
    pub capital: Capital,
    /// Researcher behaviour: utility weights, moving costs, review and founding rates.
    pub behaviour: Behaviour,
    /// Startup life cycle and relocation.
    pub startups: Startups,
    /// The countries or regions, in output order.
    #[serde(rename = "country")]
    pub countries: Vec<Country>,
    /// Standing bilateral partnerships.
    #[serde(rename = "partnership")]
    pub partnerships: Vec<Partnership>,
    /// Time-limited policies.
    #[serde(rename = "policy")]
    pub policies: Vec<Policy>,
}

/// `[world]`: time, population and demography.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct World {
    /// Calendar year at t = 0.
    pub start_year: i64,
    /// Simulated years.
    pub years: i64,
    /// Ticks per year (12 = monthly).
    pub ticks_per_year: i64,
    /// Real researchers represented at t = 0.
    pub researchers: f64,
    /// Researcher agents at t = 0 (a resolution, not a parameter).
    pub agents: i64,
    /// New researchers per year, as a share of `researchers`.
    pub entry_rate: f64,
    /// Hazard per year of leaving the field.
    pub exit_rate: f64,
    /// Sigma of the log-normal researcher skill.
    pub skill_sigma: f64,
    /// Seed used when the command line gives none.
    pub seed: u64,
}

impl Default for World {
    fn default() -> Self {
        World {
            start_year: 2025,
            years: 10,
            ticks_per_year: 12,
            researchers: 500_000.0,
            agents: 20_000,
            entry_rate: 0.06,
            exit_rate: 0.06,
            skill_sigma: 0.6,
            seed: 1,
        }
    }
}

/// `[infrastructure]`: data centres and the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Infrastructure {
    /// Capital cost of one GW of AI data centre, $B.
    pub capex_bn_per_gw: f64,
    /// Grid cost of connecting one GW, $B.
    pub grid_cost_bn_per_gw: f64,
    /// Years between grid spending and the headroom it creates.
    pub grid_lead_years: f64,
    /// Share of compute lost to obsolescence per year.
    pub compute_depreciation: f64,
}

impl Default for Infrastructure {
    fn default() -> Self {
        Infrastructure {
            capex_bn_per_gw: 25.0,
            grid_cost_bn_per_gw: 3.125,
            grid_lead_years: 4.0,
            compute_depreciation: 0.2,
        }
    }
}

/// `[ecosystem]`: how spending moves the ecosystem index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ecosystem {
    /// Speed per year at which spending pulls E towards 1.
    pub rate: f64,
    /// Budget ($B/year) at which the pull is half its maximum.
    pub half_bn: f64,
    /// Speed per year of relaxation back to the scenario value.
    pub decay: f64,
}

impl Default for Ecosystem {
    fn default() -> Self {
        Ecosystem {
            rate: 0.25,
            half_bn: 5.0,
            decay: 0.1,
        }
    }
}

/// `[innovation]`: innovation speed from ecosystem, talent and compute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Innovation {
    /// Agglomeration exponent on talent.
    pub lambda: f64,
    /// Exponent on compute.
    pub gamma: f64,
    /// Exponent on the ecosystem index.
    pub alpha: f64,
    /// Share of partners' innovation that spills over.
    pub spillover: f64,
}

impl Default for Innovation {
    fn default() -> Self {
        Innovation {
            lambda: 0.7,
            gamma: 0.15,
            alpha: 1.0,
            spillover: 0.2,
        }
    }
}

/// `[wages]`: wage targets and adjustment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Wages {
    /// Elasticity of the wage target to innovation speed.
    pub innovation_elasticity: f64,
    /// Elasticity of the wage target to labour demand over supply.
    pub crowding: f64,
    /// Share of the gap to the target closed per tick.
    pub adjust: f64,
}

impl Default for Wages {
    fn default() -> Self {
        Wages {
            innovation_elasticity: 0.5,
            crowding: 0.3,
            adjust: 0.1,
        }
    }
}

/// `[capital]`: venture capital targets and cross-border allocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capital {
    /// Elasticity of the capital target to innovation speed.
    pub innovation_elasticity: f64,
    /// Trend growth of capital per year.
    pub growth: f64,
    /// Share of the gap to the target closed per tick.
    pub adjust: f64,
    /// Share of each country's capital invested abroad.
    pub foreign_share: f64,
}

impl Default for Capital {
    fn default() -> Self {
        Capital {
            innovation_elasticity: 1.0,
            growth: 0.05,
            adjust: 0.1,
            foreign_share: 0.2,
        }
    }
}

/// `[behaviour]`: researcher utility, moving costs, review and founding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Weight of ln(wage).
    pub beta_wage: f64,
    /// Weight of ln(capital per startup).
    pub beta_capital: f64,
    /// Weight of ln(innovation speed).
    pub beta_innovation: f64,
    /// Weight of ln(1 + compute / K_ref), K_ref the world mean compute at t = 0 (**v2**).
    pub beta_compute: f64,
    /// Weight of the amenity index.
    pub beta_amenity: f64,
    /// Bonus for working in one's home country.
    pub beta_home: f64,
    /// Weight of ln(0.01 + diaspora share).
    pub beta_diaspora: f64,
    /// Fixed cost of any move.
    pub move_fixed: f64,
    /// Cost per ln(1 + distance / 1000 km).
    pub move_distance: f64,
    /// Visa cost, scaled by the destination's closedness (not paid going home).
    pub move_visa: f64,
    /// Reduction of the moving cost per unit of partnership strength.
    pub move_partner: f64,
    /// Location reviews per year of a researcher of average mobility.
    pub review_rate: f64,
    /// Exponent of skill in the review rate.
    pub mobility_skill: f64,
    /// Startups founded per year per unit of skill at reference capital.
    pub found_rate: f64,
    /// Elasticity of founding to capital per startup.
    pub found_capital: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            beta_wage: 2.0,
            beta_capital: 0.5,
            beta_innovation: 1.0,
            beta_compute: 0.3,
            beta_amenity: 1.0,
            beta_home: 1.5,
            beta_diaspora: 0.3,
            move_fixed: 2.0,
            move_distance: 0.3,
            move_visa: 2.0,
            move_partner: 1.0,
            review_rate: 0.15,
            mobility_skill: 0.5,
            found_rate: 0.01,
            found_capital: 0.5,
        }
    }
}

/// `[startups]`: startup life cycle and relocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Startups {
    /// Sigma of the log-normal quality multiplier on the founder's skill.
    pub quality_sigma: f64,
    /// Round size per stage, $M (pre-seed, seed, A, B, growth).
    pub round_m: Vec<f64>,
    /// Runway bought by a successful raise, months.
    pub runway_months: f64,
    /// Runway of a new startup, months.
    pub initial_runway_months: f64,
    /// Longest initial runway of the startups present at t = 0, months.
    pub initial_runway_max_months: f64,
    /// Bridge runway after a failed raise that the startup survives, months.
    pub bridge_months: f64,
    /// Probability that a failed raise kills the startup.
    pub die_on_fail: f64,
    /// Probability that a startup reviews its location after a raise.
    pub relocate_rate: f64,
    /// Startup weight of ln(capital per startup).
    pub beta_capital_s: f64,
    /// Startup weight of ln(innovation speed).
    pub beta_innovation_s: f64,
    /// Startup weight of ln(1 + compute / K_ref) (**v2**).
    pub beta_compute_s: f64,
    /// Fixed cost of a startup relocation.
    pub move_fixed_s: f64,
}

impl Default for Startups {
    fn default() -> Self {
        Startups {
            quality_sigma: 0.5,
            round_m: vec![2.0, 10.0, 30.0, 80.0, 200.0],
            runway_months: 18.0,
            initial_runway_months: 12.0,
            initial_runway_max_months: 18.0,
            bridge_months: 3.0,
            die_on_fail: 0.5,
            relocate_rate: 0.1,
            beta_capital_s: 1.5,
            beta_innovation_s: 0.5,
            beta_compute_s: 0.5,
            move_fixed_s: 2.0,
        }
    }
}

/// `[[country]]`: one country or region and its t = 0 figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    /// ISO alpha-3 code (or any unique short code such as `ROW`).
    pub code: String,
    /// Display name; defaults to the code.
    #[serde(default)]
    pub name: String,
    /// Latitude of the main hub, degrees.
    pub lat: f64,
    /// Longitude of the main hub, degrees.
    pub lon: f64,
    /// Researcher wage, $k/year (PPP).
    pub wage_k: f64,
    /// Private AI investment, $B/year.
    pub vc_bn: f64,
    /// Installed AI data-centre capacity, GW.
    #[serde(default)]
    pub compute_gw: f64,
    /// Private data-centre capex, $B/year.
    #[serde(default)]
    pub private_dc_bn: f64,
    /// Spare grid capacity for new data centres, GW.
    #[serde(default)]
    pub grid_headroom_gw: f64,
    /// New grid headroom per year without policy, GW/year.
    #[serde(default)]
    pub grid_growth_gw: f64,
    /// Ecosystem index in (0, 1].
    pub ecosystem: f64,
    /// Amenity index in [0, 1].
    pub amenity: f64,
    /// Openness to foreign researchers in [0, 1].
    pub openness: f64,
    /// Share of new researchers born here (normalised over countries).
    pub origin_share: f64,
    /// Share of researchers working here at t = 0 (normalised over countries).
    pub location_share: f64,
    /// Share of this country's natives working at home at t = 0.
    pub home_stay: f64,
    /// AI startups located here at t = 0 (real count).
    #[serde(default)]
    pub startups: f64,
    /// Destination constant ξ in researchers' utility (**v2**): what draws researchers here that
    /// the named terms leave out; set by baseline calibration (`talentflow calibrate-baseline`).
    #[serde(default)]
    pub attraction: f64,
}

/// `[[partnership]]`: a standing, symmetric partnership between two countries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partnership {
    /// One country code.
    pub a: String,
    /// The other country code.
    pub b: String,
    /// Strength in [0, 1].
    pub strength: f64,
}

/// The kinds of policy a country can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Public data-centre capex, $B/year.
    Infrastructure,
    /// Grid build-out, $B/year; becomes headroom after the lead time.
    Grid,
    /// Funded research positions, $B/year.
    Wages,
    /// Ecosystem programmes, $B/year.
    Ecosystem,
    /// Public venture capital, $B/year.
    Capital,
    /// A partnership with `partner` at `strength` while active.
    Partnership,
    /// Openness set to `value` while active.
    Openness,
}

impl PolicyKind {
    /// Every kind, in the order used for reporting.
    pub const ALL: [PolicyKind; 7] = [
        PolicyKind::Infrastructure,
        PolicyKind::Grid,
        PolicyKind::Wages,
        PolicyKind::Ecosystem,
        PolicyKind::Capital,
        PolicyKind::Partnership,
        PolicyKind::Openness,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Infrastructure => "infrastructure",
            PolicyKind::Grid => "grid",
            PolicyKind::Wages => "wages",
            PolicyKind::Ecosystem => "ecosystem",
            PolicyKind::Capital => "capital",
            PolicyKind::Partnership => "partnership",
            PolicyKind::Openness => "openness",
        }
    }

    /// Whether the policy spends money (`budget_bn`).
    pub fn spends_money(self) -> bool {
        !matches!(self, PolicyKind::Partnership | PolicyKind::Openness)
    }
}

/// `[[policy]]`: a policy active from `from_year` (inclusive) to `to_year` (exclusive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Country code running the policy.
    pub country: String,
    /// What the policy does.
    pub kind: PolicyKind,
    /// First year active (inclusive; fractional years allowed).
    pub from_year: f64,
    /// First year no longer active (exclusive).
    pub to_year: f64,
    /// Spend, $B/year (money kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_bn: Option<f64>,
    /// Partner country code (partnership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// Partnership strength in [0, 1] (partnership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<f64>,
    /// Openness in [0, 1] while active (openness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Scenario {
    /// A scenario with one fully populated entry of every list: the schema the loader checks
    /// files against (every key it may contain, with its type).
    pub fn template() -> Scenario {
        let country = Country {
            code: "AAA".into(),
            name: "A".into(),
            lat: 0.0,
            lon: 0.0,
            wage_k: 1.0,
            vc_bn: 1.0,
            compute_gw: 1.0,
            private_dc_bn: 1.0,
            grid_headroom_gw: 1.0,
            grid_growth_gw: 1.0,
            ecosystem: 1.0,
            amenity: 1.0,
            openness: 1.0,
            origin_share: 1.0,
            location_share: 1.0,
            home_stay: 1.0,
            startups: 1.0,
            attraction: 1.0,
        };
        Scenario {
            countries: vec![country],
            partnerships: vec![Partnership {
                a: "AAA".into(),
                b: "BBB".into(),
                strength: 1.0,
            }],
            policies: vec![Policy {
                country: "AAA".into(),
                kind: PolicyKind::Infrastructure,
                from_year: 0.0,
                to_year: 1.0,
                budget_bn: Some(1.0),
                partner: Some("BBB".into()),
                strength: Some(1.0),
                value: Some(1.0),
            }],
            ..Scenario::default()
        }
    }

    /// Checks a scenario built in code exactly as the loader checks a file (non-finite numbers,
    /// ranges, codes, shares, policies), with the same messages; `source` names it in them.
    /// Empty country names become the code, as when loading.
    pub fn validate(self) -> Result<ValidScenario, ScenarioError> {
        load::validate(self, &SourceName::Code)
    }

    /// Number of ticks simulated.
    pub fn ticks(&self) -> usize {
        (self.world.years * self.world.ticks_per_year) as usize
    }

    /// Number of countries.
    pub fn num_countries(&self) -> usize {
        self.countries.len()
    }

    /// Index of a country code.
    pub fn country_index(&self, code: &str) -> Option<usize> {
        self.countries.iter().position(|c| c.code == code)
    }

    /// The resolved scenario as canonical JSON (every parameter, defaults filled in).
    pub fn to_canonical_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The resolved scenario as TOML, loadable again with the same meaning.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// blake3 of the canonical JSON: the identity of a resolved scenario.
    pub fn hash(&self) -> String {
        blake3::hash(self.to_canonical_json().as_bytes())
            .to_hex()
            .to_string()
    }
}

/// Fields of a `[[country]]` table that must be given.
pub const COUNTRY_REQUIRED: &[&str] = &[
    "code",
    "lat",
    "lon",
    "wage_k",
    "vc_bn",
    "ecosystem",
    "amenity",
    "openness",
    "origin_share",
    "location_share",
    "home_stay",
];
/// Fields of a `[[partnership]]` table that must be given.
pub const PARTNERSHIP_REQUIRED: &[&str] = &["a", "b", "strength"];
/// Fields of a `[[policy]]` table that must be given.
pub const POLICY_REQUIRED: &[&str] = &["country", "kind", "from_year", "to_year"];

//! Per-tick parameters derived once from a scenario: rates converted to ticks, distances, costs.

use crate::scenario::Scenario;

/// Converts a hazard per year into a probability per tick: `1 - (1 - r)^(1/tpy)`.
pub fn hazard_per_tick(rate_per_year: f64, ticks_per_year: f64) -> f64 {
    if rate_per_year >= 1.0 {
        return 1.0;
    }
    1.0 - libm::pow(1.0 - rate_per_year, 1.0 / ticks_per_year)
}

/// Great-circle distance in km (haversine, mean Earth radius).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a =
        libm::sin(dp / 2.0).powi(2) + libm::cos(p1) * libm::cos(p2) * libm::sin(dl / 2.0).powi(2);
    2.0 * 6371.0 * libm::asin(libm::sqrt(a.clamp(0.0, 1.0)))
}

/// Months converted to whole ticks (at least one).
fn months_to_ticks(months: f64, tpy: f64) -> u32 {
    (months * tpy / 12.0).round().max(1.0) as u32
}

/// Everything the tick loop needs that does not change during a run.
#[derive(Clone, Debug)]
pub struct Params {
    /// Number of countries.
    pub c: usize,
    /// Number of ticks.
    pub ticks: usize,
    /// Ticks per year.
    pub tpy: f64,
    /// Real people (and startups) per agent.
    pub scale: f64,
    /// Probability per tick that a researcher leaves the field.
    pub p_exit: f64,
    /// Probability per tick that a researcher of average mobility reviews its location.
    pub p_review: f64,
    /// Probability per tick of founding, per unit of skill, at reference capital.
    pub p_found: f64,
    /// Probability per tick of entry, the hazard conversion of `entry_rate` (**v2**): each tick
    /// brings `researchers · p_entry` new researchers.
    pub p_entry: f64,
    /// New researcher agents per tick, before splitting over countries: `agents · p_entry`.
    pub entrant_agents_per_tick: f64,
    /// Share of compute lost per tick.
    pub depreciation: f64,
    /// Ticks between grid spending and the headroom it creates.
    pub grid_lead_ticks: usize,
    /// Runway after a raise, ticks.
    pub runway_ticks: u32,
    /// Runway of a new startup, ticks.
    pub new_runway_ticks: u32,
    /// Longest runway of an initial startup, ticks.
    pub initial_runway_max_ticks: u32,
    /// Bridge runway after a survived failure, ticks.
    pub bridge_ticks: u32,
    /// Distance between countries, km, row-major C×C.
    pub dist_km: Vec<f64>,
    /// Researcher moving cost without visa and partnership terms:
    /// `move_fixed + move_distance · ln(1 + dist/1000)`, C×C.
    pub move_base: Vec<f64>,
    /// Startup moving cost without the visa term: `move_fixed_s + move_distance · ln(1 + dist/1000)`.
    pub move_base_startup: Vec<f64>,
    /// `exp(−move_base)`: the logit factor of a researcher's fixed moving cost, C×C.
    pub reach: Vec<f64>,
    /// `exp(−move_base_startup)`, C×C.
    pub reach_startup: Vec<f64>,
}

impl Params {
    /// Derives the run parameters of a checked scenario.
    pub fn new(s: &Scenario) -> Params {
        let c = s.num_countries();
        let tpy = s.world.ticks_per_year as f64;
        let mut dist_km = vec![0.0; c * c];
        let mut move_base = vec![0.0; c * c];
        let mut move_base_startup = vec![0.0; c * c];
        for (i, a) in s.countries.iter().enumerate() {
            for (j, b) in s.countries.iter().enumerate() {
                let d = if i == j {
                    0.0
                } else {
                    great_circle_km(a.lat, a.lon, b.lat, b.lon)
                };
                let far = s.behaviour.move_distance * libm::log1p(d / 1000.0);
                dist_km[i * c + j] = d;
                move_base[i * c + j] = s.behaviour.move_fixed + far;
                move_base_startup[i * c + j] = s.startups.move_fixed_s + far;
            }
        }
        Params {
            c,
            ticks: s.ticks(),
            tpy,
            scale: s.world.researchers / s.world.agents as f64,
            p_exit: hazard_per_tick(s.world.exit_rate, tpy),
            p_review: hazard_per_tick(s.behaviour.review_rate, tpy),
            p_found: hazard_per_tick(s.behaviour.found_rate, tpy),
            p_entry: hazard_per_tick(s.world.entry_rate, tpy),
            entrant_agents_per_tick: hazard_per_tick(s.world.entry_rate, tpy)
                * s.world.agents as f64,
            depreciation: hazard_per_tick(s.infrastructure.compute_depreciation, tpy),
            grid_lead_ticks: (s.infrastructure.grid_lead_years * tpy).round() as usize,
            runway_ticks: months_to_ticks(s.startups.runway_months, tpy),
            new_runway_ticks: months_to_ticks(s.startups.initial_runway_months, tpy),
            initial_runway_max_ticks: months_to_ticks(s.startups.initial_runway_max_months, tpy),
            bridge_ticks: months_to_ticks(s.startups.bridge_months, tpy),
            reach: move_base.iter().map(|&m| libm::exp(-m)).collect(),
            reach_startup: move_base_startup.iter().map(|&m| libm::exp(-m)).collect(),
            dist_km,
            move_base,
            move_base_startup,
        }
    }
}

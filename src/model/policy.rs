//! Policies: which are active in a tick, and what they add up to per country.

use crate::scenario::{PolicyKind, Scenario};

/// The combined effect of the policies active in one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyEffects {
    /// $B/year per country, by money kind.
    pub infrastructure: Vec<f64>,
    /// $B/year per country spent on the grid.
    pub grid: Vec<f64>,
    /// $B/year per country funding research positions.
    pub wages: Vec<f64>,
    /// $B/year per country on ecosystem programmes.
    pub ecosystem: Vec<f64>,
    /// $B/year per country of public venture capital.
    pub capital: Vec<f64>,
    /// Openness per country (scenario value unless a policy sets it).
    pub openness: Vec<f64>,
    /// Partnership strength, C×C symmetric (scenario value unless a policy sets it).
    pub partnership: Vec<f64>,
}

/// Base openness and partnership matrix of a scenario, before policies.
pub fn base_relations(s: &Scenario) -> (Vec<f64>, Vec<f64>) {
    let c = s.num_countries();
    let openness = s.countries.iter().map(|k| k.openness).collect();
    let mut partnership = vec![0.0; c * c];
    for p in &s.partnerships {
        if let (Some(a), Some(b)) = (s.country_index(&p.a), s.country_index(&p.b)) {
            partnership[a * c + b] = p.strength;
            partnership[b * c + a] = p.strength;
        }
    }
    (openness, partnership)
}

/// Whether a policy is active at calendar time `year` (inclusive start, exclusive end).
pub fn is_active(from_year: f64, to_year: f64, year: f64) -> bool {
    from_year <= year && year < to_year
}

/// Effects of the policies active at calendar time `year`. Money adds up; where several
/// openness or partnership policies overlap, the later one in the scenario wins.
pub fn effects_at(
    s: &Scenario,
    base_openness: &[f64],
    base_partnership: &[f64],
    year: f64,
) -> PolicyEffects {
    let c = s.num_countries();
    let mut e = PolicyEffects {
        infrastructure: vec![0.0; c],
        grid: vec![0.0; c],
        wages: vec![0.0; c],
        ecosystem: vec![0.0; c],
        capital: vec![0.0; c],
        openness: base_openness.to_vec(),
        partnership: base_partnership.to_vec(),
    };
    for p in s
        .policies
        .iter()
        .filter(|p| is_active(p.from_year, p.to_year, year))
    {
        let Some(k) = s.country_index(&p.country) else {
            continue;
        };
        let budget = p.budget_bn.unwrap_or(0.0);
        match p.kind {
            PolicyKind::Infrastructure => e.infrastructure[k] += budget,
            PolicyKind::Grid => e.grid[k] += budget,
            PolicyKind::Wages => e.wages[k] += budget,
            PolicyKind::Ecosystem => e.ecosystem[k] += budget,
            PolicyKind::Capital => e.capital[k] += budget,
            PolicyKind::Openness => e.openness[k] = p.value.unwrap_or(e.openness[k]),
            PolicyKind::Partnership => {
                if let Some(j) = p.partner.as_deref().and_then(|code| s.country_index(code)) {
                    let strength = p.strength.unwrap_or(0.0);
                    e.partnership[k * c + j] = strength;
                    e.partnership[j * c + k] = strength;
                }
            }
        }
    }
    e
}

//! Synthetic worlds of any number of countries (`talentflow generate-world`).
//!
//! The default world has 15 regions; scaling studies and benchmarks need more (C = 200 and
//! beyond). [`generate`] draws a plausible world of `C` countries from a seed: country sizes are
//! heavy-tailed (log-normal weights, like the real distribution of researchers), money, compute,
//! grid and startups scale with size, and the indices (ecosystem, amenity, openness, home stay)
//! vary within the ranges of the default world. About one country in four has a standing
//! partnership. The result is an ordinary [`Scenario`] — all model parameters at their
//! defaults — that passes the loader's checks; [`to_toml`] writes it as a scenario file.
//!
//! Location shares are derived, not drawn, so that the shares always admit the initial origin ×
//! location matrix (MODEL.md §5, **v2**; [`crate::scenario::initial`]): each country keeps its
//! stayers (`origin_share × home_stay`) and its emigrants spread over the other countries in
//! proportion to their size. The matrix so built has every margin the file states, so a matrix
//! exists; it is positive off the diagonal, so IPF converges. (Drawing location shares freely, as
//! v1 did, often leaves a small country with more stayers than places.)
//!
//! Generation is deterministic: the same (C, seed) gives the same world on any machine (draws
//! from [`crate::model::rng::Streams`], transcendental functions from `libm`).

use crate::model::rng::{Phase, Rng, Streams};
use crate::scenario::check::MAX_COUNTRIES;
use crate::scenario::{Country, Partnership, Scenario};

/// Errors of world generation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorldGenError {
    /// The number of countries is outside what a scenario can hold.
    #[error("the number of countries must be in [1, {max}], found {found}")]
    Countries {
        /// Requested number of countries.
        found: usize,
        /// Largest number accepted.
        max: usize,
    },
}

/// Uniform in [lo, hi).
fn between(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

/// Rounds to 4 significant decimals so that generated files read well.
fn tidy(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// A world of `countries` countries drawn from `seed` (see the module documentation).
pub fn generate(countries: usize, seed: u64) -> Result<Scenario, WorldGenError> {
    if !(1..=MAX_COUNTRIES).contains(&countries) {
        return Err(WorldGenError::Countries {
            found: countries,
            max: MAX_COUNTRIES,
        });
    }
    let mut rng = Streams::new(seed).stream(0, Phase::Generate, 0);
    let width = countries.to_string().len().max(3);
    // Heavy-tailed sizes: log-normal weights with sigma 1.5 give a few hubs and a long tail.
    let size: Vec<f64> = (0..countries).map(|_| rng.lognormal(1.5)).collect();
    let total: f64 = size.iter().sum();
    let largest = size.iter().copied().fold(0.0, f64::max);
    let mut list = Vec::with_capacity(countries);
    for (k, &w) in size.iter().enumerate() {
        let share = w / total;
        // Area-uniform latitude between 60°S and 70°N.
        let lat = libm::asin(between(&mut rng, -0.866, 0.940)).to_degrees();
        let lon = between(&mut rng, -180.0, 180.0);
        let compute_gw = 60.0 * share * rng.lognormal(0.5);
        let grid_growth_gw = 12.0 * share * rng.lognormal(0.5);
        list.push(Country {
            code: format!("G{:0width$}", k + 1),
            name: format!("Generated {}", k + 1),
            lat: tidy(lat),
            lon: tidy(lon),
            wage_k: tidy((80.0 * rng.lognormal(0.4)).clamp(10.0, 400.0)),
            vc_bn: tidy(160.0 * share * rng.lognormal(0.8)),
            compute_gw: tidy(compute_gw),
            private_dc_bn: tidy(25.0 * (grid_growth_gw + 0.2 * compute_gw)),
            grid_headroom_gw: tidy(grid_growth_gw * between(&mut rng, 0.1, 1.0)),
            grid_growth_gw: tidy(grid_growth_gw),
            ecosystem: tidy(
                ((0.1 + 0.9 * libm::pow(w / largest, 0.3)) * between(&mut rng, 0.6, 1.0))
                    .clamp(0.01, 1.0),
            ),
            amenity: tidy(between(&mut rng, 0.2, 0.95)),
            openness: tidy(between(&mut rng, 0.1, 0.9)),
            origin_share: tidy(1e4 * share * rng.lognormal(0.7)).max(1e-4),
            location_share: 0.0, // derived below
            // A lone country has nowhere abroad for its natives to work.
            home_stay: if countries == 1 {
                rng.uniform();
                1.0
            } else {
                tidy(between(&mut rng, 0.3, 0.9))
            },
            startups: (20_000.0 * share * rng.lognormal(0.5)).round(),
            attraction: 0.0,
        });
    }
    derive_location_shares(&mut list, &size);
    // Distinct pairs, about one per four countries.
    let mut partnerships: Vec<Partnership> = Vec::new();
    let mut pairs = std::collections::BTreeSet::new();
    if countries > 1 {
        let wanted = countries / 4;
        let pick = |rng: &mut Rng| ((rng.uniform() * countries as f64) as usize).min(countries - 1);
        while partnerships.len() < wanted {
            let (a, b) = (pick(&mut rng), pick(&mut rng));
            if a == b || !pairs.insert((a.min(b), a.max(b))) {
                continue;
            }
            partnerships.push(Partnership {
                a: list[a].code.clone(),
                b: list[b].code.clone(),
                strength: tidy(between(&mut rng, 0.1, 0.8)),
            });
        }
    }
    Ok(Scenario {
        countries: list,
        partnerships,
        ..Scenario::default()
    })
}

/// Sets every `location_share` to the column sums of a matrix with the countries' stayers on the
/// diagonal and each country's emigrants spread over the others in proportion to `size`.
fn derive_location_shares(list: &mut [Country], size: &[f64]) {
    let total_o: f64 = list.iter().map(|k| k.origin_share).sum();
    let total_v: f64 = size.iter().sum();
    let mut location: Vec<f64> = list
        .iter()
        .map(|k| k.origin_share / total_o * k.home_stay)
        .collect();
    for (h, k) in list.iter().enumerate() {
        let emigrants = k.origin_share / total_o * (1.0 - k.home_stay);
        let others = total_v - size[h];
        if emigrants > 0.0 && others > 0.0 {
            for (d, x) in location.iter_mut().enumerate() {
                if d != h {
                    *x += emigrants * size[d] / others;
                }
            }
        }
    }
    for (k, l) in list.iter_mut().zip(&location) {
        k.location_share = 1e4 * l;
    }
    // Rounded for readability unless rounding would break the matrix (it is exact in two-country
    // worlds, where the margins determine the matrix and must agree exactly).
    let exact: Vec<f64> = list.iter().map(|k| k.location_share).collect();
    for k in list.iter_mut() {
        k.location_share = tidy(k.location_share).max(1e-4);
    }
    let probe = Scenario {
        countries: list.to_vec(),
        ..Scenario::default()
    };
    if crate::scenario::initial::initial_matrix(&probe).is_err() {
        for (k, l) in list.iter_mut().zip(exact) {
            k.location_share = l;
        }
    }
}

/// The generated world as a scenario file, with a header saying how it was made.
pub fn to_toml(scenario: &Scenario, seed: u64) -> String {
    format!(
        "# A synthetic world of {} countries: talentflow generate-world --countries {} --seed {seed}\n\
         # (talentflow {}). Every model parameter is at its default; edit freely.\n\n{}",
        scenario.num_countries(),
        scenario.num_countries(),
        crate::VERSION,
        scenario.to_toml()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load_str, SourceName};

    #[test]
    fn generated_worlds_load_and_are_reproducible() {
        for (c, seed) in [(1, 3), (2, 1), (200, 7)] {
            let s = generate(c, seed).unwrap();
            let text = to_toml(&s, seed);
            let loaded = match load_str(&text, &SourceName::Embedded("generated"), &[]) {
                Ok(l) => l,
                Err(e) => panic!("C = {c}: {e}"),
            };
            assert_eq!(loaded.num_countries(), c);
            assert_eq!(*loaded, s, "the file means the generated world");
            assert_eq!(to_toml(&generate(c, seed).unwrap(), seed), text);
        }
        assert_ne!(generate(20, 1).unwrap(), generate(20, 2).unwrap());
        assert_eq!(generate(200, 1).unwrap().partnerships.len(), 50);
    }

    #[test]
    fn impossible_sizes_are_errors() {
        assert!(generate(0, 1).is_err());
        assert!(generate(MAX_COUNTRIES + 1, 1).is_err());
    }
}

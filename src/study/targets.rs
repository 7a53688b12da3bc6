//! Baseline-calibration targets derived from observed data (`talentflow derive-targets`): the
//! Stanford AI Index 2025's net AI-talent migration (LinkedIn, 2024) as a net migration rate per
//! AI worker, with a standard error, for every country of a scenario. The rules, stated in full
//! in `data/targets/README.md`:
//!
//! - **rate** = `value / 10 000 / (concentration / 100)`: the AI Index reports net migrants per
//!   10 000 LinkedIn members; its AI-talent concentration is the share (%) of LinkedIn members who
//!   are AI talent, so the ratio is net migrants per AI worker;
//! - **concentration**, in order of preference: (1) published in the 2025 edition (Fig. 4.2.17,
//!   top 15 only); (2) published in the 2024 edition and bridged to the 2025 methodology by the
//!   mean ratio 2025/2024 of the countries published in both; (3) otherwise the country is below
//!   the 15th published value `c15`, and `1/concentration` is averaged over a uniform
//!   concentration in `[c15 / 2, c15]` (an assumption: unlisted countries are not far below the
//!   list);
//! - **se** = `√(se_denominator² + (REL · rate)² + FLOOR²)`: the spread of the denominator (0 when
//!   published; the spread of the bridge ratios; the spread of 1/concentration over the imputation
//!   range), a representativeness term (LinkedIn's AI talent is broader than the model's research
//!   talent; [`REL`] of the rate) and a floor for year-to-year noise ([`FLOOR`]);
//! - countries of the scenario with no observation (China and Japan are not in the AI Index's
//!   LinkedIn figures; `ROW` is not a country) get a weak prior: rate 0 with se
//!   [`UNOBSERVED_SE`]. The observed rates do not balance (the AI Index's 48 countries are mostly
//!   net importers), and net moves in the model sum to zero, so the fit places the imbalance
//!   on these rows, in proportion to their researchers.
//!
//! The function is deterministic and its output is committed: a test regenerates
//! `data/targets/net_migration_2024.csv` from `data/observed/` and compares the bytes.

use std::path::{Path, PathBuf};

use crate::scenario::Scenario;

/// The AI Index measure of net migration.
pub const MIGRATION: &str = "net_ai_talent_migration_per_10k_linkedin_members";
/// The AI Index measure of AI-talent concentration.
pub const CONCENTRATION: &str = "ai_talent_concentration";
/// Representativeness term of the se, as a share of the rate.
pub const REL: f64 = 0.25;
/// Floor of the se, per year.
pub const FLOOR: f64 = 0.0025;
/// se of the prior for countries without an observation, per year.
pub const UNOBSERVED_SE: f64 = 0.03;
/// Version of these rules, written into the file.
pub const RULES_VERSION: &str = "net_migration_2024 v1";

/// Errors deriving targets.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// A file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not the observed-data CSV expected.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One row of an observed-data CSV (the columns used here).
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Edition of the source (publication), e.g. "2025".
    pub edition: String,
    /// Data year.
    pub year: String,
    /// Measure name.
    pub measure: String,
    /// Country code.
    pub country: String,
    /// Value.
    pub value: f64,
}

/// Reads the rows of an observed-data CSV (`source,edition,year,measure,country,…,value,…`).
pub fn read_observed(path: &Path) -> Result<Vec<Observation>, TargetsError> {
    let bytes = crate::rundir::input::read_limited(path, crate::rundir::input::MAX_TABLE_BYTES)
        .map_err(|source| TargetsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    parse_observed(&bytes, path)
}

/// Parses observed-data CSV bytes; `path` names the file in errors.
pub fn parse_observed(bytes: &[u8], path: &Path) -> Result<Vec<Observation>, TargetsError> {
    let bad = |message: String| TargetsError::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| bad(format!("header: {e}")))?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no `{name}` column")))
    };
    let (e, y, m, c, v) = (
        col("edition")?,
        col("year")?,
        col("measure")?,
        col("country")?,
        col("value")?,
    );
    let mut out = Vec::new();
    for (k, record) in reader.records().enumerate() {
        let record = record.map_err(|err| bad(format!("line {}: {err}", k + 2)))?;
        let get = |i: usize| record.get(i).unwrap_or("").to_string();
        let text = get(v);
        let value = text
            .trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("line {}: value \"{text}\" is not a number", k + 2)))?;
        out.push(Observation {
            edition: get(e),
            year: get(y),
            measure: get(m),
            country: get(c),
            value,
        });
    }
    Ok(out)
}

fn find<'a>(
    rows: &'a [Observation],
    edition: &str,
    measure: &str,
    country: &str,
) -> Option<&'a Observation> {
    rows.iter()
        .find(|r| r.edition == edition && r.measure == measure && r.country == country)
}

/// How a country's AI-talent concentration was obtained.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Denominator {
    Published,
    Bridged,
    Imputed,
}

/// The targets CSV of `scenario`'s countries from the AI Index 2025 rows (`ai_index_2025`) and
/// the AI Index 2024 rows (`ai_index_2024`, for concentrations published only there).
pub fn derive(
    scenario: &Scenario,
    ai_index_2025: &[Observation],
    ai_index_2024: &[Observation],
) -> String {
    let conc25 = |code: &str| find(ai_index_2025, "2025", CONCENTRATION, code).map(|r| r.value);
    let conc24 = |code: &str| find(ai_index_2024, "2024", CONCENTRATION, code).map(|r| r.value);
    // The 2025 top-15 list ends at its smallest value.
    let c15 = ai_index_2025
        .iter()
        .filter(|r| r.edition == "2025" && r.measure == CONCENTRATION)
        .map(|r| r.value)
        .fold(f64::INFINITY, f64::min);
    // Bridge ratios 2025/2024 of the countries published in both editions (list order).
    let ratios: Vec<f64> = ai_index_2024
        .iter()
        .filter(|r| r.edition == "2024" && r.measure == CONCENTRATION)
        .filter_map(|r| conc25(&r.country).map(|x| x / r.value))
        .collect();
    let n = ratios.len() as f64;
    let ratio = ratios.iter().sum::<f64>() / n.max(1.0);
    let ratio_sd = if ratios.len() > 1 {
        libm::sqrt(
            ratios
                .iter()
                .map(|x| (x - ratio) * (x - ratio))
                .sum::<f64>()
                / (n - 1.0),
        )
    } else {
        0.0
    };
    // 1/concentration over a uniform concentration in [lo, hi]: mean ln(hi/lo)/(hi − lo),
    // second moment 1/(lo·hi).
    let (lo, hi) = (c15 / 2.0, c15);
    let inv_mean = libm::log(hi / lo) / (hi - lo);
    let inv_sd = libm::sqrt((1.0 / (lo * hi) - inv_mean * inv_mean).max(0.0));

    let mut out = String::new();
    out.push_str(&format!(
        "# {RULES_VERSION}: derived by `talentflow derive-targets` from data/observed/ (rules: data/targets/README.md)\n"
    ));
    out.push_str("country,net_migration_rate,se,basis,net_per_10k_members,concentration_pct,concentration_basis,se_denominator\n");
    for k in &scenario.countries {
        let code = k.code.as_str();
        let Some(m) = find(ai_index_2025, "2025", MIGRATION, code) else {
            out.push_str(&format!(
                "{code},{:.6},{:.6},prior_no_observation,,,,\n",
                0.0, UNOBSERVED_SE
            ));
            continue;
        };
        let (concentration, inv, inv_rel_sd, basis) = match (conc25(code), conc24(code)) {
            (Some(c), _) => (c, 1.0 / c, 0.0, Denominator::Published),
            (None, Some(c24)) if !ratios.is_empty() => {
                let c = c24 * ratio;
                (c, 1.0 / c, ratio_sd / ratio, Denominator::Bridged)
            }
            _ => (
                1.0 / inv_mean,
                inv_mean,
                inv_sd / inv_mean,
                Denominator::Imputed,
            ),
        };
        // value per 10 000 members / (concentration % of members) = per AI worker.
        let rate = m.value / 10_000.0 * inv * 100.0;
        let se_den = rate.abs() * inv_rel_sd;
        let se = libm::sqrt(se_den * se_den + (REL * rate) * (REL * rate) + FLOOR * FLOOR);
        let basis_name = match basis {
            Denominator::Published => "published_2025",
            Denominator::Bridged => "bridged_from_2024",
            Denominator::Imputed => "imputed_below_top15",
        };
        out.push_str(&format!(
            "{code},{rate:.6},{se:.6},observed,{},{concentration:.4},{basis_name},{se_den:.6}\n",
            m.value
        ));
    }
    out
}

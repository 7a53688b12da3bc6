//! Scenarios: a source (embedded name, file or TOML text) plus `--set`-style overrides plus
//! policies added in code, resolved by the library's loaders into a `ValidScenario`.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use talentflow::scenario::{load_named, load_str, Override, Policy, SourceName};
use talentflow::ValidScenario;

use crate::convert::to_toml;
use crate::errors;

/// A checked scenario and how it was made (for manifests and messages).
#[pyclass(frozen, module = "talentflow._native")]
pub struct NativeScenario {
    pub scenario: ValidScenario,
    /// Where it came from, as the loaders describe it (`<embedded world2025>`, a path).
    pub source: String,
    /// The overrides applied, as `key=value` texts.
    pub overrides: Vec<String>,
}

#[pymethods]
impl NativeScenario {
    /// The resolved scenario as TOML (every parameter, defaults filled in).
    fn to_toml(&self) -> String {
        self.scenario.to_toml()
    }

    /// The resolved scenario as canonical JSON (what the hash is taken of).
    fn to_json(&self) -> String {
        self.scenario.to_canonical_json()
    }

    /// blake3 of the canonical JSON.
    fn hash(&self) -> String {
        self.scenario.hash()
    }

    /// Where the scenario came from.
    #[getter]
    fn source(&self) -> String {
        self.source.clone()
    }

    /// The overrides applied, `key=value`.
    #[getter]
    fn overrides(&self) -> Vec<String> {
        self.overrides.clone()
    }

    /// Country codes, in output order.
    #[getter]
    fn codes(&self) -> Vec<String> {
        self.scenario
            .countries
            .iter()
            .map(|c| c.code.clone())
            .collect()
    }

    /// Ticks simulated.
    #[getter]
    fn ticks(&self) -> usize {
        self.scenario.ticks()
    }

    /// Calendar year at t = 0.
    #[getter]
    fn start_year(&self) -> f64 {
        self.scenario.world.start_year as f64
    }

    /// Ticks per year.
    #[getter]
    fn ticks_per_year(&self) -> f64 {
        self.scenario.world.ticks_per_year as f64
    }

    /// The scenario's own seed (`world.seed`), the default of a run.
    #[getter]
    fn world_seed(&self) -> u64 {
        self.scenario.world.seed
    }

    /// Calendar year of every recorded row (T + 1 values).
    fn years(&self) -> Vec<f64> {
        (0..=self.scenario.ticks())
            .map(|t| talentflow::rundir::write::year_of_row(&self.scenario, t))
            .collect()
    }
}

/// Resolves a scenario: `kind` is `"named"` (an embedded name or a path, as `talentflow run`
/// takes it) or `"text"` (TOML text); `overrides` are `key=value` texts applied in order;
/// `policies` (dicts with the keys of a `[[policy]]` table) are appended to the scenario's own,
/// and the whole is checked again. Problems raise `ScenarioError` with the CLI's message.
#[pyfunction]
#[pyo3(signature = (kind, source, overrides, policies))]
pub fn resolve(
    py: Python<'_>,
    kind: &str,
    source: &str,
    overrides: Vec<String>,
    policies: Vec<Bound<'_, PyDict>>,
) -> PyResult<NativeScenario> {
    let parsed = overrides
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| errors::raise(py, "ScenarioError", e.to_string()))?;
    let loaded = match kind {
        "named" => load_named(source, None, &parsed),
        "text" => {
            load_str(source, &SourceName::Code, &parsed).map(|s| (s, SourceName::Code.to_string()))
        }
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown scenario kind {other:?}"
            )))
        }
    };
    let (mut scenario, source) = loaded.map_err(|e| errors::scenario(py, &e))?;
    if !policies.is_empty() {
        let mut extra = Vec::with_capacity(policies.len());
        for (i, p) in policies.iter().enumerate() {
            let value = to_toml(p.as_any(), 0)?;
            let policy: Policy = value.try_into().map_err(|e| {
                errors::raise(
                    py,
                    "ScenarioError",
                    format!("invalid policy {i} added in code: {}", e.message()),
                )
            })?;
            extra.push(policy);
        }
        let mut s = scenario.into_inner();
        s.policies.extend(extra);
        scenario = s.validate().map_err(|e| errors::scenario(py, &e))?;
    }
    let overrides = parsed.iter().map(ToString::to_string).collect();
    Ok(NativeScenario {
        scenario,
        source,
        overrides,
    })
}

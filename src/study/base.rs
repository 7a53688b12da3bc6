//! What experiment, sweep and calibration files share: a base scenario, overrides applied to
//! every run, and arms (more overrides and extra policies). All of them resolve a run's scenario
//! here, the same way, so an arm means the same thing in every kind of study.
//!
//! Overrides apply in this order: the file's `set` (then any `--set` given on the command line,
//! appended to it), then the study's own per-run values (a sweep's design point), then the arm's
//! `set`; the arm's `[[arm.policy]]` tables are added to the base scenario's policies last. The
//! result is validated as a whole, so a policy naming an unknown country is an error of that arm.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::scenario::text::{echo, name_problem};
use crate::scenario::{load_named, Override, Policy, ValidScenario};

/// One arm as written (`[[arm]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    /// Arm name.
    pub name: String,
    /// What the arm does.
    #[serde(default)]
    pub description: String,
    /// Overrides of this arm, `key.path=value`.
    #[serde(default)]
    pub set: Vec<String>,
    /// Extra policies of this arm.
    #[serde(default, rename = "policy")]
    pub policies: Vec<Policy>,
}

/// Most runs a study (an experiment's arms × replicates, a sweep's points × replicates) may
/// plan: a run's outcomes are kept in memory until the study is summarised.
pub const MAX_RUNS: usize = 10_000_000;
/// Most outcome values a study may hold in memory (runs × outcomes; 8 bytes each).
pub const MAX_RESULT_VALUES: usize = 100_000_000;

/// Why `groups × replicates` runs with `outcomes` outcomes each are too many for a study
/// ([`MAX_RUNS`], [`MAX_RESULT_VALUES`]), computed without overflow; `what` names the groups
/// (`arms`, `design points`).
pub fn size_problem(what: &str, groups: usize, replicates: u32, outcomes: usize) -> Option<String> {
    let runs = groups.checked_mul(replicates as usize);
    let values = runs.and_then(|r| r.checked_mul(outcomes.max(1)));
    match (runs, values) {
        (Some(r), Some(v)) if r <= MAX_RUNS && v <= MAX_RESULT_VALUES => None,
        _ => Some(format!(
            "{groups} {what} × {replicates} replicates × {outcomes} outcomes is too large: at \
             most {MAX_RUNS} runs and {MAX_RESULT_VALUES} outcome values are supported"
        )),
    }
}

/// Problems with a study's `name` and its arms' names, which become directory names (the
/// default `--out`, `runs/<arm>/` under `--keep-runs`) and so follow
/// [`crate::scenario::text::name_problem`]; arm names must also differ.
pub fn check_names(name: &str, arms: &[ArmSpec]) -> Vec<String> {
    let mut problems: Vec<String> = name_problem("`name`", name).into_iter().collect();
    let mut seen = std::collections::BTreeSet::new();
    for (i, a) in arms.iter().enumerate() {
        if let Some(p) = name_problem(&format!("`arm[{i}].name`"), &a.name) {
            problems.push(p);
        } else if !seen.insert(a.name.as_str()) {
            problems.push(format!(
                "`arm[{i}].name`: \"{}\" is used by another arm",
                echo(&a.name)
            ));
        }
    }
    problems
}

/// Parses a study file's TOML into `T`; a failure is one message starting `line N:`.
pub fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            })
            .unwrap_or_default();
        format!("{at}{}", e.message().trim())
    })
}

/// The base scenario of a study and the overrides every run shares.
#[derive(Clone, Debug)]
pub struct StudyBase {
    /// The base as written: a path (relative to the study file) or an embedded name.
    pub base: String,
    /// The study file's folder, where a relative base path is looked up.
    pub dir: Option<PathBuf>,
    /// Overrides of every run (the file's `set`, then the command line's).
    pub set: Vec<Override>,
}

impl StudyBase {
    /// The base of a study file at `path`; `set` are the shared overrides as written. Overrides
    /// that do not parse are returned as problems (prefixed `set:`).
    pub fn new(base: &str, path: &Path, set: &[String]) -> (StudyBase, Vec<String>) {
        let mut problems = Vec::new();
        let set = parse_overrides(set, "set", &mut problems);
        let study = StudyBase {
            base: base.to_string(),
            dir: path.parent().map(Path::to_path_buf),
            set,
        };
        (study, problems)
    }

    /// The validated scenario of `arm` (`None`: the base alone) with `extra` overrides applied
    /// after the shared ones, and its source. Every problem is returned, each prefixed with the
    /// arm's name when there is an arm.
    pub fn resolve(
        &self,
        arm: Option<&ArmSpec>,
        extra: &[Override],
    ) -> Result<(ValidScenario, String), Vec<String>> {
        let whose = |m: String| match arm {
            Some(a) => format!("arm `{}`: {m}", echo(&a.name)),
            None => m,
        };
        let mut problems = Vec::new();
        let mut overrides = self.set.clone();
        overrides.extend_from_slice(extra);
        if let Some(a) = arm {
            overrides.extend(parse_overrides(&a.set, "set", &mut problems));
        }
        if !problems.is_empty() {
            return Err(problems.into_iter().map(whose).collect());
        }
        let (scenario, source) = load_named(&self.base, self.dir.as_deref(), &overrides)
            .map_err(|e| vec![whose(e.to_string())])?;
        let Some(a) = arm.filter(|a| !a.policies.is_empty()) else {
            return Ok((scenario, source));
        };
        let mut scenario = scenario.into_inner();
        let first = scenario.policies.len();
        scenario.policies.extend(a.policies.iter().cloned());
        match scenario.validate() {
            Ok(valid) => Ok((valid, source)),
            Err(e) => Err(e
                .problems
                .into_iter()
                .map(|p| whose(format!("`{}`: {}", arm_key(&p.key, first), p.message)))
                .collect()),
        }
    }

    /// The overrides of every run, as written.
    pub fn overrides(&self) -> Vec<String> {
        self.set.iter().map(ToString::to_string).collect()
    }
}

/// One spelling per scenario key, to compare keys written differently: parts trimmed, list
/// elements by index (`country.SAU.wage_k` and `country.3.wage_k` are both `country[3].wage_k`
/// when SAU is the fourth of `codes`).
pub fn canonical_key(path: &str, codes: &[&str]) -> String {
    let parts: Vec<&str> = path.split('.').map(str::trim).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < parts.len() {
        let part = parts[i];
        let list = matches!(part, "country" | "partnership" | "policy");
        match parts.get(i + 1) {
            Some(selector) if list => {
                let index = selector.parse::<usize>().ok().or_else(|| {
                    (part == "country")
                        .then(|| codes.iter().position(|c| c == selector))
                        .flatten()
                });
                if !out.is_empty() {
                    out.push('.');
                }
                match index {
                    Some(k) => out.push_str(&format!("{part}[{k}]")),
                    None => out.push_str(&format!("{part}.{selector}")),
                }
                i += 2;
            }
            _ => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(part);
                i += 1;
            }
        }
    }
    out
}

/// `policy[i]…` of the combined list, renumbered to the arm's own `arm.policy[i - first]…`.
fn arm_key(key: &str, first: usize) -> String {
    let renumbered = key
        .strip_prefix("policy[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, rest)| {
            let i: usize = i.parse().ok()?;
            (i >= first).then(|| format!("arm.policy[{}]{rest}", i - first))
        });
    renumbered.unwrap_or_else(|| key.to_string())
}

/// Parses `key=value` overrides; failures become problems prefixed with `whose`.
pub fn parse_overrides(sets: &[String], whose: &str, problems: &mut Vec<String>) -> Vec<Override> {
    sets.iter()
        .filter_map(|s| {
            Override::parse(s)
                .map_err(|e| problems.push(format!("{whose}: {e}")))
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_by_code_and_by_index_have_one_spelling() {
        let codes = ["USA", "CHN", "SAU"];
        assert_eq!(
            canonical_key("country.SAU.wage_k", &codes),
            "country[2].wage_k"
        );
        assert_eq!(
            canonical_key(" country . 2 .wage_k", &codes),
            "country[2].wage_k"
        );
        assert_eq!(canonical_key("world.agents", &codes), "world.agents");
        assert_eq!(
            canonical_key("policy.0.budget_bn", &codes),
            "policy[0].budget_bn"
        );
        assert_eq!(
            canonical_key("country.XYZ.wage_k", &codes),
            "country.XYZ.wage_k"
        );
    }

    #[test]
    fn arm_policy_keys_are_renumbered_to_the_arm() {
        assert_eq!(arm_key("policy[3].budget_bn", 2), "arm.policy[1].budget_bn");
        assert_eq!(arm_key("policy[1].budget_bn", 2), "policy[1].budget_bn");
        assert_eq!(arm_key("world.years", 2), "world.years");
    }

    #[test]
    fn an_arm_policy_for_an_unknown_country_is_an_error_of_that_arm() {
        let (base, problems) = StudyBase::new("toy3", Path::new("x.toml"), &[]);
        assert!(problems.is_empty());
        let arm: ArmSpec = toml::from_str(
            "name = \"bad\"\n[[policy]]\ncountry = \"XXX\"\nkind = \"wages\"\n\
             from_year = 2025\nto_year = 2030\nbudget_bn = 1.0\n",
        )
        .unwrap();
        let err = base.resolve(Some(&arm), &[]).unwrap_err();
        assert!(
            err.iter()
                .any(|e| e.starts_with("arm `bad`: `arm.policy[0].country`") && e.contains("XXX")),
            "{err:?}"
        );
    }
}

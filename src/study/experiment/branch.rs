//! Branching (`branch_at`, `talentflow experiment --branch-at YEAR`): every replicate's common
//! part is run once, up to the branch year, and every arm continues from that state.
//!
//! # What "differs before the branch year" means
//!
//! Tick t simulates calendar time from `start_year + (t − 1) / tpy`, so the ticks before the
//! branch year Y are 1..=T with T = (Y − start_year) · tpy, and a policy acts during them only if
//! its `from_year` is before Y. The **pre-branch part** of a scenario is the scenario with
//! every policy whose `from_year` ≥ Y removed and every other policy's `to_year` cut to
//! min(`to_year`, Y) (the order of the remaining policies kept: where openness or partnership
//! policies overlap, the later one wins), and with `world.seed` ignored (experiments seed every
//! run from the master seed). The state after tick T is a function of the pre-branch part and the
//! seed alone: initialisation and ticks 1..=T read nothing else (no policy is looked at outside
//! [`crate::model::policy::effects_at`], which keeps the active ones, and the random streams are
//! stateless per tick). So an arm may branch from the burn-in exactly when its pre-branch part
//! equals the burn-in's; any other arm is refused, naming the first key that differs.
//!
//! The burn-in of replicate r is the control arm's scenario (at replicate r's posterior draw
//! with `--posterior`): since every arm's pre-branch part equals it, which arm runs the burn-in
//! does not matter, and each arm's outputs are byte-identical to running it from tick 0.

use serde_json::Value;

use crate::scenario::text::echo;
use crate::scenario::{Policy, Scenario};

/// Where an experiment branches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BranchPlan {
    /// The branch year (the first year in which arms may differ).
    pub year: i64,
    /// Ticks of the common part (the burn-in): 1..=`tick`.
    pub tick: usize,
}

/// The tick the branch year `year` starts after, or why the year is not inside the run.
pub fn branch_tick(s: &Scenario, year: i64) -> Result<usize, String> {
    let w = &s.world;
    let end = w.start_year.saturating_add(w.years);
    if year < w.start_year || year >= end {
        return Err(format!(
            "`branch_at`: {year} is outside the run: it must be a year from the start year {} to \
             the last simulated year {}",
            w.start_year,
            end - 1
        ));
    }
    Ok(((year - w.start_year) * w.ticks_per_year) as usize)
}

/// The scenario's pre-branch part (module documentation).
pub fn pre_branch(s: &Scenario, year: i64) -> Scenario {
    let y = year as f64;
    let mut out = s.clone();
    out.world.seed = 0;
    out.policies = s
        .policies
        .iter()
        .filter(|p| p.from_year < y)
        .map(|p| Policy {
            to_year: p.to_year.min(y),
            ..p.clone()
        })
        .collect();
    out
}

fn describe(p: &Policy) -> String {
    format!(
        "{} policy of {} from {} to {}",
        format!("{:?}", p.kind).to_lowercase(),
        echo(&p.country),
        p.from_year,
        p.to_year
    )
}

/// Why an arm's scenario cannot branch from the burn-in's at `year`, or `None` when it can.
/// `arm` and `burn_in` name the two in the message.
pub fn difference(
    arm_name: &str,
    arm: &Scenario,
    burn_in_name: &str,
    burn_in: &Scenario,
    year: i64,
) -> Option<String> {
    let (a, b) = (pre_branch(arm, year), pre_branch(burn_in, year));
    if a == b {
        return None;
    }
    let head = format!(
        "arm `{}`: with `branch_at` = {year} every arm must equal the burn-in (the control arm `{}`) \
         in everything that acts before {year}, but",
        echo(arm_name),
        echo(burn_in_name)
    );
    // Policies first: the usual way to differ before the branch is a policy starting early.
    let index = |p: &Policy, all: &[Policy]| {
        all.iter()
            .position(|q| q.from_year == p.from_year && q.kind == p.kind && q.country == p.country)
            .unwrap_or(0)
    };
    for i in 0..a.policies.len().max(b.policies.len()) {
        match (a.policies.get(i), b.policies.get(i)) {
            (Some(p), Some(q)) if p == q => continue,
            (Some(p), _) => {
                let i = index(p, &arm.policies);
                return Some(format!(
                    "{head} its `policy[{i}]` ({}) acts from {} and is not the burn-in's \
                     (`from_year` must be at least {year}, or the control arm must have the same \
                     policy)",
                    describe(arm.policies.get(i).unwrap_or(p)),
                    p.from_year,
                ));
            }
            (None, Some(q)) => {
                let i = index(q, &burn_in.policies);
                return Some(format!(
                    "{head} the burn-in's `policy[{i}]` ({}) acts from {} and the arm has no such \
                     policy before {year}",
                    describe(burn_in.policies.get(i).unwrap_or(q)),
                    q.from_year,
                ));
            }
            (None, None) => {}
        }
    }
    let (va, vb) = match (serde_json::to_value(&a), serde_json::to_value(&b)) {
        (Ok(va), Ok(vb)) => (va, vb),
        _ => return Some(format!("{head} their scenarios differ")),
    };
    let (key, x, y) = first_difference(&va, &vb, String::new())
        .unwrap_or_else(|| ("(scenario)".into(), "?".into(), "?".into()));
    Some(format!(
        "{head} `{key}` is {} in the arm and {} in the burn-in",
        clip_value(&x),
        clip_value(&y)
    ))
}

fn clip_value(v: &str) -> String {
    crate::scenario::text::clip(v, 80)
}

/// The first key (in `--set` syntax: countries by code) whose values differ, with both values.
fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_difference(va, vb, p) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, va.to_string(), "absent".into())),
                }
            }
            y.iter()
                .find(|(k, _)| !x.contains_key(*k))
                .map(|(k, v)| (format!("{path}.{k}"), "absent".into(), v.to_string()))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                let label = match (va.get("code"), vb.get("code")) {
                    (Some(Value::String(c)), Some(Value::String(d))) if c == d => c.clone(),
                    _ => i.to_string(),
                };
                let p = if label.chars().all(|c| c.is_ascii_digit()) {
                    format!("{path}[{label}]")
                } else {
                    format!("{path}.{label}")
                };
                if let Some(d) = first_difference(va, vb, p) {
                    return Some(d);
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some((path, a.to_string(), b.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load_str, Override, SourceName, TOY3_TOML};

    fn toy(set: &[&str]) -> Scenario {
        let set: Vec<Override> = set.iter().map(|s| Override::parse(s).unwrap()).collect();
        load_str(TOY3_TOML, &SourceName::Embedded("toy3"), &set)
            .unwrap()
            .into_inner()
    }

    fn policy(s: &mut Scenario, from: f64, to: f64, budget: f64) {
        let mut p = s.policies.first().cloned().unwrap_or_else(|| Policy {
            country: s.countries[0].code.clone(),
            kind: crate::scenario::PolicyKind::Wages,
            from_year: 0.0,
            to_year: 0.0,
            budget_bn: None,
            partner: None,
            strength: None,
            value: None,
        });
        p.kind = crate::scenario::PolicyKind::Wages;
        p.from_year = from;
        p.to_year = to;
        p.budget_bn = Some(budget);
        s.policies.push(p);
    }

    #[test]
    fn the_branch_tick_counts_the_ticks_before_the_year() {
        let s = toy(&["world.years=4"]);
        let start = s.world.start_year;
        let tpy = s.world.ticks_per_year as usize;
        assert_eq!(branch_tick(&s, start), Ok(0));
        assert_eq!(branch_tick(&s, start + 2), Ok(2 * tpy));
        assert!(branch_tick(&s, start + 4)
            .unwrap_err()
            .contains("outside the run"));
        assert!(branch_tick(&s, start - 1).is_err());
    }

    #[test]
    fn only_what_acts_before_the_year_must_agree() {
        let base = toy(&["world.years=6"]);
        let y = base.world.start_year + 3;
        let mut late = base.clone();
        policy(&mut late, y as f64, y as f64 + 2.0, 1.0);
        late.world.seed = 99;
        assert_eq!(difference("late", &late, "c", &base, y), None);

        // A policy running across the branch year: only its part before Y counts.
        let mut across = base.clone();
        policy(&mut across, y as f64 - 1.0, y as f64 + 2.0, 1.0);
        let mut across_longer = base.clone();
        policy(&mut across_longer, y as f64 - 1.0, y as f64 + 5.0, 1.0);
        assert_eq!(difference("a", &across_longer, "c", &across, y), None);
        let msg = difference("early", &across, "control", &base, y).unwrap();
        assert!(msg.contains("arm `early`"), "{msg}");
        assert!(msg.contains(&format!("`branch_at` = {y}")), "{msg}");
        assert!(msg.contains("`policy[0]`"), "{msg}");
        let msg = difference("none", &base, "control", &across, y).unwrap();
        assert!(msg.contains("the burn-in's `policy[0]`"), "{msg}");

        let changed = toy(&["world.years=6", "behaviour.mobility_skill=0.77"]);
        let msg = difference("b", &changed, "control", &base, y).unwrap();
        assert!(msg.contains("`behaviour.mobility_skill` is 0.77"), "{msg}");
        let code = base.countries[1].code.clone();
        let changed = toy(&["world.years=6", &format!("country.{code}.openness=0.123")]);
        let msg = difference("b", &changed, "control", &base, y).unwrap();
        assert!(
            msg.contains(&format!("`country.{code}.openness` is 0.123")),
            "{msg}"
        );
        let changed = toy(&["world.years=7"]);
        let msg = difference("b", &changed, "control", &base, y).unwrap();
        assert!(msg.contains("`world.years` is 7"), "{msg}");
    }
}

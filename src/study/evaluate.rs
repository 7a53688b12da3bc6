//! Batch evaluation: one scenario at many parameter points, each point run with every seed of a
//! list, reduced to a matrix of outcome values.
//!
//! This is the entry point for programs that hold their own design and only need the model as a
//! function of parameters: SALib, EMA workbench, pyABC or black-it through the Python package,
//! and the calibration. Point `i` sets `keys[j] = points[i][j]` on the base scenario, exactly as
//! `--set keys[j]=value` would on its resolved TOML, and is checked like any scenario (the same
//! messages as `talentflow validate`). Every point runs with every seed in `seeds`: when two
//! calls (a policy arm and its control, say) get the same seeds, or one call repeats them across
//! points, the runs with the same seed share their random streams (common random numbers), so
//! differences between arms and points are paired.
//!
//! Runs execute in parallel on the current rayon pool (as [`crate::study::experiment::run`]
//! does) and are collected in plan order, so the result is a pure function of (base scenario,
//! keys, points, outcomes, seeds), whatever the thread count. `stop` is polled between ticks of
//! every run, so an interruption takes effect within one tick.
//!
//! ```
//! use talentflow::load_named;
//! use talentflow::study::evaluate::evaluate;
//!
//! let (base, source) = load_named("toy3", None, &[]).unwrap();
//! let keys = ["world.years".to_string(), "innovation.lambda".to_string()];
//! let points = [vec![1.0, 0.5], vec![1.0, 0.9]];
//! let outcomes = ["hhi@end".to_string()];
//! let result = evaluate(&base, &source, &keys, &points, &outcomes, &[1, 2], &|| false).unwrap();
//! assert_eq!(result.means().len(), 2); // [point][outcome]
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::model::engine::Simulation;
use crate::scenario::{load_str, Override, OverrideError, SourceName, ValidScenario, EMBEDDED};
use crate::study::outcome::{resolve_all, Outcome, OutcomeError, ResolvedOutcome};

/// Problems listed in an [`EvaluateError::Invalid`] before the rest are only counted.
const MAX_LISTED: usize = 10;

/// Why a batch cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The arguments do not fit together (no seeds, a point with the wrong number of values…).
    #[error("evaluate: {0}")]
    Shape(String),
    /// A key is not a key path.
    #[error("evaluate: key `{key}`: {source}")]
    Key {
        /// The key as given.
        key: String,
        /// Why it does not parse.
        source: OverrideError,
    },
    /// An outcome does not parse.
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    /// Some points give invalid scenarios or outcomes that do not fit them; nothing was run.
    #[error("invalid evaluation: {} of {points} points fail\n  {}", problems.len(), problems.join("\n  "))]
    Invalid {
        /// Points in the batch.
        points: usize,
        /// One entry per failing point (the first ten, then a count), each with its values and
        /// the scenario's own messages.
        problems: Vec<String>,
    },
    /// `stop` turned true before every run finished; the finished runs are discarded.
    #[error("evaluation interrupted after {done} of {total} runs")]
    Interrupted {
        /// Runs finished.
        done: usize,
        /// Runs planned.
        total: usize,
    },
}

/// The outcome values of every run of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Points evaluated.
    pub points: usize,
    /// Seeds per point.
    pub seeds: usize,
    /// The outcomes, as written (the columns).
    pub outcomes: Vec<String>,
    /// `[point][seed][outcome]`, flattened: run `r = point × seeds + seed`, then outcome.
    pub values: Vec<f64>,
}

impl Evaluation {
    /// Value of outcome `o` in the run of `point` with seed number `seed`.
    pub fn value(&self, point: usize, seed: usize, o: usize) -> f64 {
        self.values[(point * self.seeds + seed) * self.outcomes.len() + o]
    }

    /// Outcome means over the seeds, `[point][outcome]` flattened. The arithmetic is that of a
    /// sweep's point means (`Σ v / n` in seed order), so a batch given a sweep's points and
    /// replicate seeds reproduces what `talentflow sensitivity` analyses, bit for bit.
    pub fn means(&self) -> Vec<f64> {
        let (k, n) = (self.outcomes.len(), self.seeds);
        let mut out = vec![0.0; self.points * k];
        for p in 0..self.points {
            for s in 0..n {
                for o in 0..k {
                    out[p * k + o] += self.value(p, s, o) / n as f64;
                }
            }
        }
        out
    }
}

/// The TOML text of a point's value. Integral values are written as integers, so integer keys
/// (`world.agents`, `world.years`) take them (float keys accept integers); non-finite values are
/// written as TOML's `nan`/`inf`, so the scenario check names them as it does for `--set`.
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 && v != 0.0 {
        format!("{}", v as i64)
    } else if v == 0.0 {
        // Keep the sign of zero, as `{:?}` does.
        if v.is_sign_negative() { "-0.0" } else { "0" }.into()
    } else {
        format!("{v:?}")
    }
}

/// What a batch runs: the base scenario as text, the overrides of each point, the outcomes.
struct Plan<'a> {
    text: String,
    source: SourceName,
    keys: &'a [String],
    points: &'a [Vec<f64>],
    texts: Vec<String>,
}

impl Plan<'_> {
    fn overrides(&self, p: usize) -> Vec<Override> {
        self.keys
            .iter()
            .zip(&self.points[p])
            .map(|(k, &v)| Override {
                path: k.clone(),
                value: value_text(v),
            })
            .collect()
    }

    /// The scenario of point `p` and its outcomes, or one message naming the point.
    fn resolve(&self, p: usize) -> Result<(ValidScenario, Vec<ResolvedOutcome>), String> {
        let overrides = self.overrides(p);
        let whose = || {
            let values: Vec<String> = overrides.iter().map(ToString::to_string).collect();
            if values.is_empty() {
                format!("point {p}")
            } else {
                format!("point {p} ({})", values.join(", "))
            }
        };
        let scenario = load_str(&self.text, &self.source, &overrides)
            .map_err(|e| format!("{}: {e}", whose()))?;
        let outcomes = resolve_all(&self.texts, &scenario).map_err(|es| {
            let es: Vec<String> = es.iter().map(ToString::to_string).collect();
            format!("{}: {}", whose(), es.join("; "))
        })?;
        Ok((scenario, outcomes))
    }
}

/// The observers a run needs for `outcomes`: the cohort tables when one of them is a cohort
/// outcome, nothing otherwise (so runs without one are exactly as before).
pub fn observe_for(outcomes: &[ResolvedOutcome]) -> crate::model::observe::ObserveOptions {
    crate::model::observe::ObserveOptions {
        panel: None,
        cohorts: outcomes.iter().any(ResolvedOutcome::needs_cohorts),
    }
}

/// The source name the point scenarios are checked under: the base's own where it is a file or
/// an embedded scenario, so messages read as they do for the base with `--set`.
fn source_name(source: &str) -> SourceName {
    for (name, _) in EMBEDDED {
        if source == SourceName::Embedded(name).to_string() {
            return SourceName::Embedded(name);
        }
    }
    if source.is_empty() || source == SourceName::Code.to_string() {
        SourceName::Code
    } else {
        SourceName::File(source.into())
    }
}

/// Evaluates `base` at every point (`points[i][j]` is the value of `keys[j]`) with every seed, on
/// the current rayon pool. `source` names the base in messages (the description the loaders
/// return, e.g. `<embedded world2025>` or a path). Every point is checked before any run starts;
/// `stop` is polled between ticks.
pub fn evaluate(
    base: &ValidScenario,
    source: &str,
    keys: &[String],
    points: &[Vec<f64>],
    outcomes: &[String],
    seeds: &[u64],
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Evaluation, EvaluateError> {
    if seeds.is_empty() {
        return Err(EvaluateError::Shape("no seeds: give at least one".into()));
    }
    if outcomes.is_empty() {
        return Err(EvaluateError::Shape(
            "no outcomes: give at least one, e.g. retention.SAU@2030".into(),
        ));
    }
    for key in keys {
        Override::parse(&format!("{key}=0")).map_err(|source| EvaluateError::Key {
            key: key.clone(),
            source,
        })?;
    }
    if let Some((i, p)) = points
        .iter()
        .enumerate()
        .find(|(_, p)| p.len() != keys.len())
    {
        return Err(EvaluateError::Shape(format!(
            "point {i} has {} values for {} keys",
            p.len(),
            keys.len()
        )));
    }
    // Syntax first (cohort outcomes `stay.…` included), before any point is resolved.
    for o in outcomes {
        Outcome::parse_any(o)?;
    }
    let plan = Plan {
        text: base.to_toml(),
        source: source_name(source),
        keys,
        points,
        texts: outcomes.to_vec(),
    };

    // Check every point before running any: a bad point found after hours of runs wastes them.
    let mut problems: Vec<String> = (0..points.len())
        .into_par_iter()
        .filter_map(|p| plan.resolve(p).err())
        .collect();
    if !problems.is_empty() {
        let failing = problems.len();
        problems.truncate(MAX_LISTED);
        if failing > MAX_LISTED {
            problems.push(format!("… and {} more points", failing - MAX_LISTED));
        }
        return Err(EvaluateError::Invalid {
            points: points.len(),
            problems,
        });
    }

    let total = points.len() * seeds.len();
    let done = AtomicUsize::new(0);
    let runs: Vec<Option<Result<Vec<f64>, String>>> = (0..total)
        .into_par_iter()
        .map(|r| {
            if stop() {
                return None;
            }
            let (p, s) = (r / seeds.len(), r % seeds.len());
            let (scenario, resolved) = match plan.resolve(p) {
                Ok(x) => x,
                Err(e) => return Some(Err(e)),
            };
            // The cohort observer only for points whose outcomes read it.
            let mut sim =
                match Simulation::with_observers(scenario, seeds[s], &observe_for(&resolved)) {
                    Ok(sim) => sim,
                    Err(e) => return Some(Err(e.to_string())),
                };
            while !sim.is_finished() {
                if stop() {
                    return None;
                }
                sim.step();
            }
            let cohorts = sim.take_observers().and_then(|o| o.cohorts);
            let rec = sim.into_recorder();
            done.fetch_add(1, Ordering::Relaxed);
            Some(Ok(resolved
                .iter()
                .map(|o| o.value_in(&rec, cohorts.as_ref()))
                .collect()))
        })
        .collect();
    let mut values = Vec::with_capacity(total * outcomes.len());
    for run in runs {
        match run {
            Some(Ok(v)) => values.extend(v),
            // Checked above; a point cannot fail the second time, but say so if it does.
            Some(Err(e)) => {
                return Err(EvaluateError::Invalid {
                    points: points.len(),
                    problems: vec![e],
                })
            }
            None => {
                return Err(EvaluateError::Interrupted {
                    done: done.load(Ordering::Relaxed),
                    total,
                })
            }
        }
    }
    Ok(Evaluation {
        points: points.len(),
        seeds: seeds.len(),
        outcomes: outcomes.to_vec(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_named;
    use crate::study::experiment::replicate_seed;
    use crate::study::sweep::Sweep;

    fn toy(set: &[&str]) -> (ValidScenario, String) {
        let set: Vec<Override> = set.iter().map(|s| Override::parse(s).unwrap()).collect();
        load_named("toy3", None, &set).unwrap()
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn values_are_those_of_the_runs_the_points_describe() {
        let (base, source) = toy(&["world.years=1", "world.agents=400"]);
        let keys = strings(&["innovation.lambda", "country.NEW.openness"]);
        let points = vec![vec![0.5, 0.2], vec![1.0, 0.8]];
        let outcomes = strings(&["hhi@end", "retention.NEW@end", "inflow.NEW@2025..2026"]);
        let seeds = [3, 11];
        let ev = evaluate(&base, &source, &keys, &points, &outcomes, &seeds, &never).unwrap();
        assert_eq!((ev.points, ev.seeds, ev.values.len()), (2, 2, 12));
        for (p, point) in points.iter().enumerate() {
            // The same run, set up by hand: the base's TOML with `--set`-style overrides.
            let set = [
                Override::parse(&format!("innovation.lambda={}", point[0])).unwrap(),
                Override::parse(&format!("country.NEW.openness={}", point[1])).unwrap(),
            ];
            let s = load_str(&base.to_toml(), &SourceName::Embedded("toy3"), &set).unwrap();
            for (i, &seed) in seeds.iter().enumerate() {
                let mut sim = Simulation::new(s.clone(), seed);
                sim.run(|_| {});
                let rec = sim.into_recorder();
                let expected: Vec<f64> = resolve_all(&outcomes, &s)
                    .unwrap()
                    .iter()
                    .map(|o| o.value(&rec))
                    .collect();
                for (o, e) in expected.iter().enumerate() {
                    assert_eq!(ev.value(p, i, o).to_bits(), e.to_bits());
                }
            }
        }
    }

    #[test]
    fn means_are_sums_of_value_over_n_in_seed_order() {
        let ev = Evaluation {
            points: 2,
            seeds: 3,
            outcomes: strings(&["a", "b"]),
            values: vec![
                0.1, 1.0, 0.2, 2.0, 0.7, 3.0, 5.0, -1.0, 6.0, -2.0, 7.0, -3.0,
            ],
        };
        let m = ev.means();
        assert_eq!(m[0], 0.1 / 3.0 + 0.2 / 3.0 + 0.7 / 3.0);
        assert_eq!(m[1], 1.0 / 3.0 + 2.0 / 3.0 + 3.0 / 3.0);
        assert_eq!(m[2], 5.0 / 3.0 + 6.0 / 3.0 + 7.0 / 3.0);
        assert_eq!(m[3], -1.0 / 3.0 - 2.0 / 3.0 - 3.0 / 3.0);
    }

    #[test]
    fn repeated_seeds_and_points_give_identical_values_whatever_the_threads() {
        let (base, source) = toy(&["world.years=1", "world.agents=400"]);
        let keys = strings(&["behaviour.beta_wage"]);
        let points = vec![vec![2.0], vec![1.5], vec![2.0]];
        let outcomes = strings(&["hhi@end", "talent_share.HUB@end"]);
        let seeds = [7, 7, 8];
        let in_pool = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    evaluate(&base, &source, &keys, &points, &outcomes, &seeds, &never).unwrap()
                })
        };
        let (one, two) = (in_pool(1), in_pool(2));
        assert_eq!(one, two);
        for o in 0..2 {
            // Common random numbers: the same (point, seed) is the same run.
            assert_eq!(one.value(0, 0, o), one.value(0, 1, o));
            assert_eq!(one.value(0, 0, o), one.value(2, 0, o));
            assert_eq!(one.value(0, 2, o), one.value(2, 2, o));
        }
        // A different seed is a different run.
        assert_ne!(one.value(0, 0, 1), one.value(0, 2, 1));
    }

    #[test]
    fn a_batch_on_a_sweeps_points_and_seeds_gives_the_sweeps_results() {
        let text = r#"
name = "t"
base = "toy3"
replicates = 2
master_seed = 9
set = ["world.years=1", "world.agents=300"]
outcomes = ["hhi@end", "retention.NEW@end"]
[design]
kind = "lhs"
n = 3
[[parameter]]
key = "behaviour.beta_wage"
min = 1.0
max = 3.0
[[parameter]]
key = "world.seed"
min = 1
max = 100
integer = true
"#;
        let sweep = Sweep::from_str(text, std::path::Path::new("t.toml")).unwrap();
        let (base, source) = toy(&["world.years=1", "world.agents=300"]);
        let seeds: Vec<u64> = (0..2).map(|r| replicate_seed(9, r)).collect();
        let ev = evaluate(
            &base,
            &source,
            &sweep.parameter_names(),
            &sweep.values,
            &strings(&["hhi@end", "retention.NEW@end"]),
            &seeds,
            &never,
        )
        .unwrap();
        for id in 0..sweep.total_runs() {
            let (point, rep, _) = sweep.run_plan(id);
            let expected = sweep.run_one(id).unwrap();
            for (o, e) in expected.iter().enumerate() {
                assert_eq!(ev.value(point, rep as usize, o).to_bits(), e.to_bits());
            }
        }
    }

    #[test]
    fn bad_points_are_reported_with_the_scenario_checks_messages_before_any_run() {
        let (base, source) = toy(&["world.years=1", "world.agents=300"]);
        let outcomes = strings(&["hhi@end"]);
        let err = evaluate(
            &base,
            &source,
            &strings(&["innovation.lambda"]),
            &[vec![0.5], vec![f64::NAN]],
            &outcomes,
            &[1],
            &never,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("invalid evaluation: 1 of 2 points fail"),
            "{err}"
        );
        assert!(
            err.contains("point 1 (innovation.lambda=nan): invalid scenario <embedded toy3>")
                && err.contains(
                    "--set innovation.lambda=nan: `innovation.lambda`: must be a finite number, found NaN"
                ),
            "{err}"
        );
        let err = evaluate(
            &base,
            &source,
            &strings(&["innovaton.lambda"]),
            &[vec![0.5]],
            &outcomes,
            &[1],
            &never,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown key `innovaton` (did you mean `innovation`?)"),
            "{err}"
        );
        // An integer key takes integral values; a fractional one is refused by the check.
        let err = evaluate(
            &base,
            &source,
            &strings(&["world.agents"]),
            &[vec![500.0], vec![500.5]],
            &outcomes,
            &[1],
            &never,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("1 of 2 points fail") && err.contains("point 1"),
            "{err}"
        );
        // A year outside the run fails the outcome of the point that shortens it.
        let err = evaluate(
            &base,
            &source,
            &strings(&["world.years"]),
            &[vec![1.0], vec![3.0]],
            &strings(&["hhi@2027"]),
            &[1],
            &never,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("point 0 (world.years=1): outcome `hhi@2027`: year 2027 is outside the run (2025 to 2026)"),
            "{err}"
        );
    }

    #[test]
    fn arguments_that_do_not_fit_are_refused() {
        let (base, source) = toy(&["world.years=1"]);
        let k = strings(&["innovation.lambda"]);
        let o = strings(&["hhi@end"]);
        let msg = |r: Result<Evaluation, EvaluateError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(evaluate(&base, &source, &k, &[vec![1.0]], &o, &[], &never)),
            "evaluate: no seeds: give at least one"
        );
        assert_eq!(
            msg(evaluate(
                &base,
                &source,
                &k,
                &[vec![1.0, 2.0]],
                &o,
                &[1],
                &never
            )),
            "evaluate: point 0 has 2 values for 1 keys"
        );
        let unknown = msg(evaluate(
            &base,
            &source,
            &k,
            &[vec![1.0]],
            &strings(&["bogus@end"]),
            &[1],
            &never,
        ));
        // The message lists every world variable (the list grows with the model).
        assert!(
            unknown.starts_with(
                "outcome `bogus@end`: unknown variable `bogus` (world variables: researchers_total, "
            ) && unknown.ends_with("hhi_startups)"),
            "{unknown}"
        );
        assert!(msg(evaluate(
            &base,
            &source,
            &strings(&["a..b"]),
            &[vec![1.0]],
            &o,
            &[1],
            &never
        ))
        .starts_with("evaluate: key `a..b`: "));
    }

    #[test]
    fn a_stop_request_interrupts_between_ticks() {
        let (base, source) = toy(&["world.years=1", "world.agents=300"]);
        let ticks = AtomicUsize::new(0);
        // Stop once a few polls have gone by: the first run is cut between two of its ticks.
        let stop = || ticks.fetch_add(1, Ordering::SeqCst) >= 3;
        let err = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| {
                evaluate(
                    &base,
                    &source,
                    &[],
                    &[vec![], vec![]],
                    &strings(&["hhi@end"]),
                    &[1],
                    &stop,
                )
            })
            .unwrap_err();
        assert!(
            matches!(err, EvaluateError::Interrupted { done: 0, total: 2 }),
            "{err}"
        );
    }

    #[test]
    fn point_values_are_written_as_toml_the_checks_understand() {
        assert_eq!(value_text(3.0), "3");
        assert_eq!(value_text(-2.0), "-2");
        assert_eq!(value_text(0.0), "0");
        assert_eq!(value_text(-0.0), "-0.0");
        assert_eq!(value_text(0.1), "0.1");
        assert_eq!(value_text(1e300), "1e300");
        assert_eq!(value_text(f64::NAN), "nan");
        assert_eq!(value_text(f64::NEG_INFINITY), "-inf");
        for v in [0.1, 1e-7, 123.456, 2.5e17, -0.0, 7.0] {
            let set = [Override::parse(&format!("x={}", value_text(v))).unwrap()];
            let t: toml::Table = toml::from_str(&format!("x = {}", set[0].value)).unwrap();
            let back = t["x"]
                .as_float()
                .or(t["x"].as_integer().map(|i| i as f64))
                .unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
    }
}

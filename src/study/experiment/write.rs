//! Experiment results: `runs.csv` (one row per run), `summary.csv` (one row per arm × outcome),
//! `experiment.toml` (the file as run), `summary.txt` (the printed table) and `experiment.json`
//! (metadata, written last).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::json;

use super::{Experiment, Results};
use crate::rundir::lock;
use crate::rundir::write::{self, write_atomic, OutputError};
use crate::scenario::text::name_problem;
use crate::study::stats::{estimate, paired_effect};

/// The printed table, as written into the experiment directory.
pub const SUMMARY_TXT: &str = "summary.txt";
/// What `talentflow experiment` writes at the top of its directory; `experiment.json` (written
/// last) marks a finished experiment and is removed first by `--force`.
const EXPERIMENT_FILES: &[&str] = &[
    "experiment.json",
    "runs.partial.csv",
    "runs.csv",
    "summary.csv",
    "experiment.toml",
    SUMMARY_TXT,
    "contrasts.csv",
    "dose.csv",
    "cost.csv",
    "precision.csv",
];

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes `dir` ready for an experiment and claims it (see [`write::prepare_dir`]); with
/// `force`, also removes the old experiment's files and the runs it kept under `runs/<arm>/rep…/`,
/// so none of them can be taken for the new experiment's. Only what talentflow writes is
/// removed: a kept run directory loses its run files and is removed only if nothing else is
/// left in it; symlinks are never followed (a `runs` that is one is refused), so nothing
/// outside `dir` is touched.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<lock::DirLock, OutputError> {
    let held = write::prepare_dir(dir, force)?;
    if force {
        for name in EXPERIMENT_FILES {
            let path = dir.join(name);
            if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        // The dose–response figures: `dose_<family>.svg|png`.
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let figure =
                    name.starts_with("dose_") && (name.ends_with(".svg") || name.ends_with(".png"));
                if figure && e.file_type().is_ok_and(|t| t.is_file()) {
                    let path = e.path();
                    fs::remove_file(&path).map_err(io_err(&path))?;
                }
            }
        }
        clear_kept_runs(dir)?;
    }
    Ok(held)
}

/// Removes `dir/runs/<arm>/rep<N>/` run directories (see [`prepare_dir`]).
fn clear_kept_runs(dir: &Path) -> Result<(), OutputError> {
    let runs = dir.join("runs");
    let Ok(meta) = fs::symlink_metadata(&runs) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(io_err(&runs)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is not a directory of kept runs (a symlink or a file); remove it yourself",
        )));
    }
    for arm in fs::read_dir(&runs).map_err(io_err(&runs))? {
        let arm = arm.map_err(io_err(&runs))?;
        let name = arm.file_name().to_string_lossy().into_owned();
        let real_dir = arm.file_type().is_ok_and(|t| t.is_dir());
        if !real_dir || name_problem("", &name).is_some() {
            continue;
        }
        let arm_dir = arm.path();
        for rep in fs::read_dir(&arm_dir).map_err(io_err(&arm_dir))? {
            let rep = rep.map_err(io_err(&arm_dir))?;
            let name = rep.file_name().to_string_lossy().into_owned();
            let is_rep = name
                .strip_prefix("rep")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if is_rep && rep.file_type().is_ok_and(|t| t.is_dir()) {
                write::remove_run_files(&rep.path())?;
                fs::remove_dir(rep.path()).ok();
            }
        }
        fs::remove_dir(&arm_dir).ok();
    }
    fs::remove_dir(&runs).ok();
    Ok(())
}

/// One row of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Arm name.
    pub arm: String,
    /// Outcome text.
    pub outcome: String,
    /// Replicates.
    pub n: usize,
    /// Mean over replicates.
    pub mean: f64,
    /// Standard deviation over replicates.
    pub sd: f64,
    /// 95% CI of the mean.
    pub ci: (Option<f64>, Option<f64>),
    /// Difference to control (`None` for the control arm).
    pub diff: Option<f64>,
    /// 95% CI of the difference (paired by replicate seed).
    pub diff_ci: (Option<f64>, Option<f64>),
    /// Cohen's d against control.
    pub effect_size: Option<f64>,
}

/// Summaries of every arm and outcome, in file order.
pub fn summarise(exp: &Experiment, res: &Results) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for (a, arm) in exp.arms.iter().enumerate() {
        for (o, outcome) in arm.outcomes.iter().enumerate() {
            let x = res.column(exp, a, o);
            let e = estimate(&x);
            let mut row = SummaryRow {
                arm: arm.name.clone(),
                outcome: outcome.text.clone(),
                n: e.n,
                mean: e.mean,
                sd: e.sd,
                ci: (e.ci_low, e.ci_high),
                diff: None,
                diff_ci: (None, None),
                effect_size: None,
            };
            if a != exp.control {
                let eff = paired_effect(&x, &res.column(exp, exp.control, o));
                row.diff = Some(eff.diff);
                row.diff_ci = (eff.ci_low, eff.ci_high);
                row.effect_size = eff.effect_size;
            }
            rows.push(row);
        }
    }
    rows
}

fn num(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> OutputError + '_ {
    move |e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `runs.csv`: arm, replicate, seed and every outcome, one row per run (index, values) given.
pub fn runs_csv<'a>(
    path: &Path,
    exp: &Experiment,
    rows: impl IntoIterator<Item = (usize, &'a [f64])>,
) -> Result<Vec<u8>, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["arm".to_string(), "replicate".into(), "seed".into()];
    header.extend(exp.spec.outcomes.iter().cloned());
    w.write_record(&header).map_err(csv_err(path))?;
    for (i, values) in rows {
        let (a, r, seed) = exp.run_plan(i);
        let mut rec = vec![exp.arms[a].name.clone(), r.to_string(), seed.to_string()];
        rec.extend(values.iter().map(|v| num(Some(*v))));
        w.write_record(&rec).map_err(csv_err(path))?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// `summary.csv`: one row per arm × outcome.
pub fn summary_csv(path: &Path, rows: &[SummaryRow]) -> Result<Vec<u8>, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "arm",
        "outcome",
        "n",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "effect_size",
    ])
    .map_err(csv_err(path))?;
    for r in rows {
        w.write_record([
            r.arm.clone(),
            r.outcome.clone(),
            r.n.to_string(),
            num(Some(r.mean)),
            num(Some(r.sd)),
            num(r.ci.0),
            num(r.ci.1),
            num(r.diff),
            num(r.diff_ci.0),
            num(r.diff_ci.1),
            num(r.effect_size),
        ])
        .map_err(csv_err(path))?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes all result files into `dir` (metadata last) and returns the printed text: the
/// summary table, then the tests (see [`super::tests_out`]). `precision` is what adaptive
/// precision did, if the file asked for it.
pub fn write_results(
    dir: &Path,
    exp: &Experiment,
    res: &Results,
    jobs: usize,
    wall_seconds: f64,
    precision: Option<&super::precision::PrecisionReport>,
) -> Result<String, OutputError> {
    let summary = summarise(exp, res);
    let agents = super::agents_per_country(exp);
    let tests = super::tests_out::write_tests(dir, exp, res, precision, &agents)?;
    let printed = table(exp, &summary) + &tests;
    write_atomic(&dir.join("experiment.toml"), exp.text.as_bytes())?;
    let rows = res
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.as_slice()));
    write_atomic(
        &dir.join("runs.csv"),
        &runs_csv(&dir.join("runs.csv"), exp, rows)?,
    )?;
    write_atomic(
        &dir.join("summary.csv"),
        &summary_csv(&dir.join("summary.csv"), &summary)?,
    )?;
    // The table the command prints, for reading without re-running anything.
    write_atomic(&dir.join(SUMMARY_TXT), printed.as_bytes())?;
    let arms: Vec<_> = exp
        .arms
        .iter()
        .zip(&exp.spec.arms)
        .map(|(a, spec)| {
            json!({
                "name": a.name,
                "description": spec.description,
                "overrides": a.overrides,
                "policies": spec.policies,
                "scenario_hash": a.scenario.hash(),
            })
        })
        .collect();
    let meta = json!({
        "format": "talentflow-experiment/1",
        "talentflow_version": crate::VERSION,
        "model_version": crate::MODEL_VERSION,
        "name": exp.spec.name,
        "description": exp.spec.description,
        "experiment_file": exp.path.display().to_string(),
        "experiment_blake3": blake3::hash(exp.text.as_bytes()).to_hex().to_string(),
        "base": exp.base_source,
        "control": exp.arms[exp.control].name,
        "replicates": exp.spec.replicates,
        "master_seed": exp.spec.master_seed,
        "seeds": (0..exp.spec.replicates).map(|r| super::replicate_seed(exp.spec.master_seed, r)).collect::<Vec<_>>(),
        "outcomes": exp.spec.outcomes,
        "arms": arms,
        "jobs": jobs,
        "wall_seconds": wall_seconds,
        "statistics": "mean ± 95% Student-t CI over replicates; diff = arm − control, paired by replicate seed (common random numbers), 95% t CI of the paired differences; effect_size = Cohen's d (diff / pooled sd of the two arms)",
        "tests": "contrasts.csv: two-sided paired t test of every contrast, p adjusted by Holm (family-wise) and Benjamini–Hochberg (FDR) over all contrasts; with [equivalence] margins, TOST (two one-sided paired t tests against ±margin), adjusted over the TOST family; verdict_holm from the Holm-adjusted p-values: equivalent if p_tost < alpha, else different if p < alpha, else inconclusive",
        "equivalence": exp.spec.equivalence.as_ref().map(|e| json!({"alpha": e.alpha, "margins": e.margins})),
        "dose": exp.spec.doses,
        "cost_interval": format!("ratio of paired mean differences; 95% percentile interval from a paired bootstrap over replicates ({} resamples, seeded from master_seed); none when the 95% t CI of the outcome difference includes 0 or a resample's outcome difference has the other sign", super::dose::BOOTSTRAP_RESAMPLES),
        "precision": precision.map(|p| json!({
            "spec": exp.spec.precision,
            "replicates": p.replicates,
            "batches": p.batches,
            "met": p.met,
            "widest_half_width": p.achieved.iter().map(|a| a.half_width).fold(0.0, f64::max),
        })),
        "branch_at": exp.spec.branch_at,
        "branch_tick": exp.branch_plan().ok().flatten().map(|b| b.tick),
        "agents_at_start": agents.iter().map(|(c, n)| (c.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    let text = serde_json::to_string_pretty(&meta).unwrap_or_default() + "\n";
    write_atomic(&dir.join("experiment.json"), text.as_bytes())?;
    Ok(printed)
}

/// How the printed tables show a number: 4 decimals, 1 from 100 on, scientific outside
/// [1e-3, 1e6).
pub(super) fn fmt(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

fn ci(c: (Option<f64>, Option<f64>)) -> String {
    match c {
        (Some(a), Some(b)) => format!("[{}, {}]", fmt(a), fmt(b)),
        _ => "—".into(),
    }
}

/// The summary as a plain-text table (grouped by outcome).
pub fn table(exp: &Experiment, rows: &[SummaryRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} arms × {} replicates; control `{}`; 95% CIs; d = Cohen's d vs control",
        exp.spec.name,
        exp.arms.len(),
        exp.spec.replicates,
        exp.arms[exp.control].name
    );
    if let Some(note) = &exp.posterior_note {
        let _ = writeln!(out, "{note}");
    }
    if let Some(year) = exp.spec.branch_at {
        let _ = writeln!(
            out,
            "branched at {year}: every replicate's common part before {year} run once (the control arm), every arm continued from it"
        );
    }
    let arm_w = exp
        .arms
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for outcome in &exp.spec.outcomes {
        let _ = writeln!(out, "\n{outcome}");
        let _ = writeln!(
            out,
            "  {:<arm_w$}  {:>10} {:>24}  {:>10} {:>24} {:>7}",
            "arm", "mean", "95% CI", "diff", "95% CI", "d"
        );
        for r in rows.iter().filter(|r| &r.outcome == outcome) {
            let _ = writeln!(
                out,
                "  {:<arm_w$}  {:>10} {:>24}  {:>10} {:>24} {:>7}",
                r.arm,
                fmt(r.mean),
                ci(r.ci),
                r.diff.map(fmt).unwrap_or_else(|| "—".into()),
                ci(r.diff_ci),
                r.effect_size
                    .map(|d| format!("{d:.2}"))
                    .unwrap_or_else(|| "—".into()),
            );
        }
    }
    out
}

//! The tests of an experiment on disk and in print: `contrasts.csv` (every contrast's paired t
//! test and, with margins, its TOST, raw and Holm/BH adjusted), `dose.csv` and `cost.csv`
//! (dose–response families), `precision.csv` (adaptive precision), and the matching sections of
//! the printed table.

use std::fmt::Write as _;
use std::path::Path;

use super::contrasts::{contrasts, Contrast};
use super::dose::{costs, curve, CostRow, DoseRow};
use super::precision::PrecisionReport;
use super::{Experiment, Results};
use crate::rundir::write::{write_atomic, OutputError};

fn num(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// The summary table's number format ([`super::write::fmt`]), with a dash for a value these
/// tables can lack (an undefined cost, a test without variance).
fn fmt(x: f64) -> String {
    if x.is_finite() {
        super::write::fmt(x)
    } else {
        "—".into()
    }
}

fn ci(c: (Option<f64>, Option<f64>)) -> String {
    match c {
        (Some(a), Some(b)) => format!("[{}, {}]", fmt(a), fmt(b)),
        _ => "—".into(),
    }
}

fn csv_bytes(path: &Path, rows: Vec<Vec<String>>) -> Result<Vec<u8>, OutputError> {
    let err = |e: csv::Error| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner().map_err(|e| OutputError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn strings(x: &[&str]) -> Vec<String> {
    x.iter().map(|s| s.to_string()).collect()
}

/// Dose curves of every family.
pub fn dose_rows(exp: &Experiment, res: &Results) -> Vec<DoseRow> {
    let idx = |n: &str| exp.arms.iter().position(|a| a.name == n);
    let col = |a: usize, o: usize| res.column(exp, a, o);
    exp.spec
        .doses
        .iter()
        .flat_map(|d| curve(d, &exp.spec.outcomes, &idx, exp.control, &col))
        .collect()
}

/// Cost rows of every family (bootstrap seeded from the master seed and the family's place).
pub fn cost_rows(exp: &Experiment, res: &Results) -> Vec<CostRow> {
    let idx = |n: &str| exp.arms.iter().position(|a| a.name == n);
    let out_idx = |n: &str| exp.spec.outcomes.iter().position(|o| o == n);
    let col = |a: usize, o: usize| res.column(exp, a, o);
    exp.spec
        .doses
        .iter()
        .enumerate()
        .flat_map(|(k, d)| {
            let seed = exp.spec.master_seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(k as u64 + 1));
            costs(d, &idx, &out_idx, exp.control, &col, seed)
        })
        .collect()
}

/// Writes the files of the tests and returns the printed sections.
pub fn write_tests(
    dir: &Path,
    exp: &Experiment,
    res: &Results,
    precision: Option<&PrecisionReport>,
    agents: &[(String, u64)],
) -> Result<String, OutputError> {
    let mut text = String::new();
    let cs = contrasts(exp, res);
    let path = dir.join("contrasts.csv");
    write_atomic(&path, &csv_bytes(&path, contrasts_table(&cs))?)?;
    contrasts_text(exp, &cs, &mut text);
    if !exp.spec.doses.is_empty() {
        let d = dose_rows(exp, res);
        let path = dir.join("dose.csv");
        write_atomic(&path, &csv_bytes(&path, dose_table(&d))?)?;
        dose_text(exp, &d, &mut text);
        let c = cost_rows(exp, res);
        let path = dir.join("cost.csv");
        write_atomic(&path, &csv_bytes(&path, cost_table(&c))?)?;
        cost_text(&c, &mut text);
    }
    if let Some(p) = precision {
        let path = dir.join("precision.csv");
        write_atomic(&path, &csv_bytes(&path, precision_table(p))?)?;
        precision_text(p, &mut text);
    }
    let _ = writeln!(
        text,
        "\nresearcher agents at t=0 (control arm, replicate 0): {}",
        agents
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(text)
}

fn contrasts_table(cs: &[Contrast]) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "arm",
        "outcome",
        "n",
        "diff",
        "se",
        "p",
        "p_holm",
        "p_bh",
        "margin",
        "p_tost",
        "p_tost_holm",
        "p_tost_bh",
        "verdict_holm",
        "verdict_raw",
    ])];
    for c in cs {
        let pt = c.p_tost.unwrap_or([f64::NAN; 3]);
        rows.push(vec![
            c.arm.clone(),
            c.outcome.clone(),
            c.n.to_string(),
            num(Some(c.diff)),
            num(Some(c.se)),
            num(Some(c.p[0])),
            num(Some(c.p[1])),
            num(Some(c.p[2])),
            num(c.margin),
            num(Some(pt[0])),
            num(Some(pt[1])),
            num(Some(pt[2])),
            c.verdict
                .zip(c.margin)
                .map(|(v, m)| v.describe(m))
                .unwrap_or_default(),
            c.verdict_raw
                .zip(c.margin)
                .map(|(v, m)| v.describe(m))
                .unwrap_or_default(),
        ]);
    }
    rows
}

fn contrasts_text(exp: &Experiment, cs: &[Contrast], out: &mut String) {
    let alpha = exp.spec.equivalence.as_ref().map_or(0.05, |e| e.alpha);
    let sig = |k: usize| cs.iter().filter(|c| c.p[k] < alpha).count();
    let _ = writeln!(
        out,
        "\ntests against control: {} contrasts (paired two-sided t); p < {alpha}: {} raw, {} after Holm, {} after Benjamini–Hochberg (contrasts.csv)",
        cs.len(),
        sig(0),
        sig(1),
        sig(2)
    );
    let eq: Vec<&Contrast> = cs.iter().filter(|c| c.margin.is_some()).collect();
    if eq.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nequivalence (TOST at α = {alpha} against ±margin; {} tests; verdict from Holm-adjusted p-values, TOST and difference families adjusted separately)",
        eq.len()
    );
    let w = eq.iter().map(|c| c.arm.len()).max().unwrap_or(4).max(4);
    for outcome in &exp.spec.outcomes {
        let rows: Vec<&&Contrast> = eq.iter().filter(|c| &c.outcome == outcome).collect();
        let Some(first) = rows.first() else { continue };
        let margin = first.margin.unwrap_or(0.0);
        let _ = writeln!(out, "\n{outcome} (margin ±{margin})");
        let _ = writeln!(
            out,
            "  {:<w$}  {:>10} {:>9} {:>9} {:>9} {:>9}  verdict (raw p)",
            "arm", "diff", "p_diff", "p_holm", "p_tost", "tost_holm"
        );
        for c in rows {
            let pt = c.p_tost.unwrap_or([f64::NAN; 3]);
            let _ = writeln!(
                out,
                "  {:<w$}  {:>10} {:>9.3e} {:>9.3e} {:>9.3e} {:>9.3e}  {} ({})",
                c.arm,
                fmt(c.diff),
                c.p[0],
                c.p[1],
                pt[0],
                pt[1],
                c.verdict.map(|v| v.describe(margin)).unwrap_or_default(),
                c.verdict_raw
                    .map(|v| v.describe(margin))
                    .unwrap_or_default(),
            );
        }
    }
}

fn dose_table(d: &[DoseRow]) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "dose",
        "instrument",
        "country",
        "budget_bn",
        "arm",
        "outcome",
        "n",
        "mean",
        "ci_low",
        "ci_high",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
    ])];
    for r in d {
        rows.push(vec![
            r.dose.clone(),
            r.instrument.clone(),
            r.country.clone(),
            r.budget_bn.to_string(),
            r.arm.clone(),
            r.outcome.clone(),
            r.n.to_string(),
            num(Some(r.mean)),
            num(r.ci.0),
            num(r.ci.1),
            num(Some(r.diff)),
            num(r.diff_ci.0),
            num(r.diff_ci.1),
        ]);
    }
    rows
}

fn dose_text(exp: &Experiment, d: &[DoseRow], out: &mut String) {
    for spec in &exp.spec.doses {
        let _ = writeln!(
            out,
            "\ndose–response {}: {} in {}, {}–{}, $B/yr; diff vs control with 95% CI (dose.csv)",
            spec.prefix(),
            spec.instrument,
            spec.country,
            spec.from_year,
            spec.to_year
        );
        for outcome in &exp.spec.outcomes {
            let rows: Vec<&DoseRow> = d
                .iter()
                .filter(|r| r.dose == spec.prefix() && &r.outcome == outcome)
                .collect();
            let _ = writeln!(out, "  {outcome}");
            for r in rows {
                let _ = writeln!(
                    out,
                    "    {:>8}  {:>10}  {:>10} {:>24}",
                    r.budget_bn,
                    fmt(r.mean),
                    fmt(r.diff),
                    ci(r.diff_ci)
                );
            }
        }
    }
}

fn cost_table(c: &[CostRow]) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "dose",
        "instrument",
        "budget_bn",
        "arm",
        "outcome",
        "unit",
        "spent_diff_bn",
        "outcome_diff",
        "outcome_diff_ci_low",
        "outcome_diff_ci_high",
        "cost_bn_per_unit",
        "cost_ci_low",
        "cost_ci_high",
        "denominator_clear_of_zero",
        "note",
    ])];
    for r in c {
        rows.push(vec![
            r.dose.clone(),
            r.instrument.clone(),
            r.budget_bn.to_string(),
            r.arm.clone(),
            r.outcome.clone(),
            r.unit.clone(),
            num(Some(r.spent_diff_bn)),
            num(Some(r.outcome_diff)),
            num(r.outcome_diff_ci.0),
            num(r.outcome_diff_ci.1),
            num(r.cost_bn),
            num(r.cost_ci.0),
            num(r.cost_ci.1),
            r.denominator_clear_of_zero.to_string(),
            r.note.clone(),
        ]);
    }
    rows
}

fn cost_text(c: &[CostRow], out: &mut String) {
    if c.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\ncost per unit: $B of extra spending per unit of outcome gained, ratio of paired mean differences; 95% paired-bootstrap percentile interval ({} resamples), none when the outcome difference's CI includes 0 (cost.csv)",
        super::dose::BOOTSTRAP_RESAMPLES
    );
    let mut last = String::new();
    for r in c {
        let key = format!("{} / {}", r.dose, r.unit);
        if key != last {
            let _ = writeln!(out, "  {key}");
            last = key;
        }
        let _ = writeln!(
            out,
            "    {:>8}  Δspent {:>10}  Δy {:>10} {:>24}  cost {:>10} {:>24} {}",
            r.budget_bn,
            fmt(r.spent_diff_bn),
            fmt(r.outcome_diff),
            ci(r.outcome_diff_ci),
            r.cost_bn.map(fmt).unwrap_or_else(|| "—".into()),
            ci(r.cost_ci),
            r.note
        );
    }
}

fn precision_table(p: &PrecisionReport) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "arm",
        "outcome",
        "interval",
        "half_width",
        "target",
        "met",
        "replicates",
    ])];
    for a in &p.achieved {
        rows.push(vec![
            a.arm.clone(),
            a.outcome.clone(),
            a.interval.to_string(),
            num(Some(a.half_width)),
            num(Some(a.target)),
            (a.half_width <= a.target).to_string(),
            p.replicates.to_string(),
        ]);
    }
    rows
}

fn precision_text(p: &PrecisionReport, out: &mut String) {
    let widest = p
        .achieved
        .iter()
        .max_by(|a, b| (a.half_width / a.target).total_cmp(&(b.half_width / b.target)));
    let _ = writeln!(
        out,
        "\nprecision: {} after {} replicates per arm (batches: {}); {} targeted intervals (precision.csv)",
        if p.met { "every target met" } else { "NOT every target met (max_replicates reached)" },
        p.replicates,
        p.batches
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        p.achieved.len()
    );
    if let Some(w) = widest {
        let _ = writeln!(
            out,
            "  widest relative to its target: {} {} {}: half-width {} (target {})",
            w.arm,
            w.outcome,
            w.interval,
            fmt(w.half_width),
            fmt(w.target)
        );
    }
}

//! Dose–response figures: for each `[[dose]]` family of an experiment, the difference to
//! control of every outcome against the budget, with its 95% interval (dashed).

use std::path::{Path, PathBuf};

use super::{
    render, Chart, Figure, Format, Layer, LegendEntry, Mark, Panel, Panels, PlotError, Rgb,
};
use crate::rundir::write::write_atomic;
use crate::study::experiment::dose::DoseRow;
use crate::study::experiment::Experiment;

const LINE: Rgb = Rgb(0, 114, 178);

/// One figure per dose family, one panel per outcome.
pub fn dose_figures(exp: &Experiment, rows: &[DoseRow]) -> Vec<Figure> {
    exp.spec
        .doses
        .iter()
        .map(|spec| {
            let prefix = spec.prefix();
            let mut x: Vec<f64> = spec.budgets_bn.clone();
            // The control is the family's zero dose: its difference to itself is 0 exactly, and
            // drawing it shows where the curve starts (a referee asks whether the first dose
            // already jumps).
            if !x.contains(&0.0) {
                x.push(0.0);
            }
            x.sort_by(f64::total_cmp);
            let panels = exp
                .spec
                .outcomes
                .iter()
                .map(|outcome| {
                    let at = |b: f64| {
                        rows.iter()
                            .find(|r| r.dose == prefix && &r.outcome == outcome && r.budget_bn == b)
                    };
                    let series = |f: &dyn Fn(&DoseRow) -> Option<f64>| -> Vec<f64> {
                        x.iter()
                            .map(|&b| match at(b) {
                                Some(row) => f(row).unwrap_or(f64::NAN),
                                None if b == 0.0 => 0.0,
                                None => f64::NAN,
                            })
                            .collect()
                    };
                    Panel {
                        title: outcome.clone(),
                        short_title: String::new(),
                        y_label: "difference to control".into(),
                        format: Format::Number,
                        y_range: None,
                        layers: vec![
                            Layer::Line {
                                color: LINE,
                                values: series(&|r| r.diff_ci.0),
                                dashed: true,
                            },
                            Layer::Line {
                                color: LINE,
                                values: series(&|r| r.diff_ci.1),
                                dashed: true,
                            },
                            Layer::Line {
                                color: LINE,
                                values: series(&|r| Some(r.diff)),
                                dashed: false,
                            },
                        ],
                        ends: Some(2),
                    }
                })
                .collect::<Vec<_>>();
            let n = panels.len();
            Figure {
                name: format!("dose_{prefix}"),
                title: format!(
                    "Dose–response: {} in {}, {}–{}",
                    spec.instrument, spec.country, spec.from_year, spec.to_year
                ),
                caption: format!(
                    "Mean difference to the control arm (solid) and its 95% confidence interval \
                     (dashed, paired by replicate seed) against the budget in $B/year, {} \
                     replicates per budget; the control arm is the point at 0.",
                    exp.spec.replicates
                ),
                notes: Vec::new(),
                chart: Chart::Panels(Panels {
                    cols: n.clamp(1, 3),
                    panel_height: 220,
                    x,
                    x_label: "budget, $B/year".into(),
                    panels,
                    legend: vec![
                        LegendEntry {
                            label: "difference to control".into(),
                            color: LINE,
                            mark: Mark::Line,
                        },
                        LegendEntry {
                            label: "95% CI".into(),
                            color: LINE,
                            mark: Mark::Dashed,
                        },
                    ],
                }),
            }
        })
        .collect()
}

/// Writes every dose figure of `exp` into `dir` as SVG and PNG; returns the files written.
pub fn write_dose_figures(
    dir: &Path,
    exp: &Experiment,
    rows: &[DoseRow],
) -> Result<Vec<PathBuf>, PlotError> {
    let mut written = Vec::new();
    for f in dose_figures(exp, rows) {
        let f = f.cleaned();
        let path = dir.join(format!("{}.svg", f.name));
        write_atomic(&path, render::svg(&f)?.as_bytes())?;
        written.push(path);
        let path = dir.join(format!("{}.png", f.name));
        write_atomic(&path, &render::png(&f)?)?;
        written.push(path);
    }
    Ok(written)
}

//! The figures of a finished calibration ([`CalibrationData`], read back from its directory):
//! marginal posteriors against the priors, pairwise posterior scatter (ABC-SMC), predictive
//! intervals against the observed targets, and the estimator's traces (ABC-SMC: tolerance,
//! acceptance and ESS by generation; SMM: the distance of every evaluation with its restarts).
//!
//! Bounded whatever the calibration holds: at most [`MAX_PAIR_PARAMETERS`] parameters in the
//! scatter, [`XY_PANELS`] panels per figure; what is left out is said on the figure.

use super::{
    Chart, Figure, LegendEntry, Mark, Rgb, XyGrid, XyLayer, XyPanel, BLUE, GREY, OKABE_ITO, OTHERS,
    VERMILLION, XY_PANELS,
};
use crate::study::calibrate::abc::weighted_quantile as abc_quantile;
use crate::study::calibrate::prior::Prior;
use crate::study::calibrate::read::{CalibrationData, MethodResult};
use crate::study::calibrate::spec::Role;

/// Most parameters in the pairwise scatter (15 pairs).
pub const MAX_PAIR_PARAMETERS: usize = 6;
/// Bins of a marginal histogram.
const BINS: usize = 20;
/// Light blue of a histogram or an interval band (Okabe–Ito sky blue, lightened).
const LIGHT: Rgb = Rgb(0xB9, 0xDD, 0xF3);
/// Black, for observed values.
const BLACK: Rgb = Rgb(0, 0, 0);

/// The prior's density on a grid over its support.
fn prior_line(p: &Prior) -> Vec<(f64, f64)> {
    let n = 120;
    (0..=n)
        .map(|i| {
            // Inset by half a step at the ends, where a log-uniform's density is defined but an
            // endpoint could round outside the support.
            let t = (i as f64 + 0.5) / (n as f64 + 1.0);
            let v = p.min + t * (p.max - p.min);
            (v, p.density(v))
        })
        .collect()
}

/// A weighted histogram of `x` over `[lo, hi]` as a density (bars integrate to the weight
/// inside the range).
pub fn weighted_histogram(
    x: &[f64],
    w: &[f64],
    lo: f64,
    hi: f64,
    bins: usize,
) -> Vec<(f64, f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let total: f64 = w.iter().sum();
    let mut mass = vec![0.0; bins];
    if width > 0.0 && total > 0.0 {
        for (&v, &wi) in x.iter().zip(w) {
            if v.is_finite() && (lo..=hi).contains(&v) {
                let b = (((v - lo) / width) as usize).min(bins - 1);
                mass[b] += wi / total;
            }
        }
    }
    mass.iter()
        .enumerate()
        .map(|(b, m)| {
            let a = lo + b as f64 * width;
            (a, a + width, if width > 0.0 { m / width } else { 0.0 })
        })
        .collect()
}

/// The top of a density axis: from 0, with room above the highest bar or curve.
fn density_top(top: f64) -> f64 {
    if top.is_finite() && top > 0.0 {
        top * 1.1
    } else {
        1.0
    }
}

fn cols_for(n: usize) -> usize {
    n.clamp(1, 3)
}

fn height_for(cols: usize, tall: u32) -> u32 {
    // Narrow panels of a three-column grid are a little shorter, so the figure keeps its shape.
    if cols >= 3 {
        tall * 9 / 10
    } else {
        tall
    }
}

/// Every figure of a calibration, in report order.
pub fn calibration_figures(cal: &CalibrationData) -> Vec<Figure> {
    let mut out = vec![marginals(cal)];
    if let Some(f) = pairs(cal) {
        out.push(f);
    }
    out.push(predictive(cal));
    out.push(traces(cal));
    out
}

fn clipped_note(shown: usize, total: usize, what: &str, file: &str) -> Vec<String> {
    if total > shown {
        vec![format!(
            "{shown} of {total} {what} shown; every one is in {file}."
        )]
    } else {
        Vec::new()
    }
}

/// Marginal posterior of each parameter against its prior.
pub fn marginals(cal: &CalibrationData) -> Figure {
    let k = cal.priors.len();
    let cols = cols_for(k);
    let mut panels = Vec::new();
    let (legend, caption) = match &cal.result {
        MethodResult::Abc {
            points, weights, ..
        } => {
            for (i, (key, p)) in cal.keys.iter().zip(&cal.priors).enumerate().take(XY_PANELS) {
                let x: Vec<f64> = points.iter().map(|t| t[i]).collect();
                let median = abc_quantile(&x, weights, 0.5);
                let bars = weighted_histogram(&x, weights, p.min, p.max, BINS);
                let prior = prior_line(p);
                let top = bars
                    .iter()
                    .map(|b| b.2)
                    .chain(prior.iter().map(|q| q.1))
                    .fold(0.0, f64::max);
                panels.push(XyPanel {
                    title: key.clone(),
                    x_label: String::new(),
                    y_label: "density".into(),
                    x_range: Some((p.min, p.max)),
                    y_range: Some((0.0, density_top(top))),
                    y_ticks: true,
                    layers: vec![
                        XyLayer::Bars { color: LIGHT, bars },
                        XyLayer::Line {
                            color: GREY,
                            points: prior,
                            dashed: true,
                        },
                        XyLayer::VLine {
                            color: VERMILLION,
                            x: median,
                            dashed: false,
                        },
                    ],
                });
            }
            (
                vec![
                    LegendEntry {
                        label: "posterior (weighted particles)".into(),
                        color: LIGHT,
                        mark: Mark::Square,
                    },
                    LegendEntry {
                        label: "prior density".into(),
                        color: GREY,
                        mark: Mark::Dashed,
                    },
                    LegendEntry {
                        label: "posterior median".into(),
                        color: VERMILLION,
                        mark: Mark::Line,
                    },
                ],
                format!(
                    "Marginal posterior of each parameter: a histogram ({BINS} bins over the \
                     prior's support) of the last ABC-SMC generation's {} particles, weighted, \
                     as a density; the dashed line is the prior's density. A histogram no \
                     narrower than the prior means the targets say little about the parameter.",
                    points.len()
                ),
            )
        }
        MethodResult::Smm(rows) => {
            for ((key, p), r) in cal.keys.iter().zip(&cal.priors).zip(rows).take(XY_PANELS) {
                let title = if r.se.is_finite() {
                    key.clone()
                } else {
                    format!("{key} (no SE)")
                };
                let prior = prior_line(p);
                let top = prior.iter().map(|q| q.1).fold(0.0, f64::max);
                panels.push(XyPanel {
                    title,
                    x_label: String::new(),
                    y_label: "prior density".into(),
                    x_range: Some((p.min, p.max)),
                    y_range: Some((0.0, density_top(top))),
                    y_ticks: true,
                    layers: vec![
                        XyLayer::Span {
                            color: LIGHT,
                            x0: r.lo,
                            x1: r.hi,
                        },
                        XyLayer::Line {
                            color: GREY,
                            points: prior,
                            dashed: true,
                        },
                        XyLayer::VLine {
                            color: VERMILLION,
                            x: r.estimate,
                            dashed: false,
                        },
                    ],
                });
            }
            (
                vec![
                    LegendEntry {
                        label: "90% interval (estimate \u{00b1} 1.645 SE)".into(),
                        color: LIGHT,
                        mark: Mark::Square,
                    },
                    LegendEntry {
                        label: "SMM estimate".into(),
                        color: VERMILLION,
                        mark: Mark::Line,
                    },
                    LegendEntry {
                        label: "prior density".into(),
                        color: GREY,
                        mark: Mark::Dashed,
                    },
                ],
                "Each parameter's SMM estimate and its 90% interval (estimate \u{00b1} 1.645 \
                 standard errors from the curvature at the estimate, clamped to the prior's \
                 range) over the prior's support and density. A parameter marked \"no SE\" is \
                 not moved by the fit targets: its band is the whole prior range."
                    .to_string(),
            )
        }
    };
    Figure {
        name: "marginals".into(),
        title: format!("{}: parameters, posterior against prior", cal.spec.name),
        caption,
        notes: clipped_note(panels.len(), k, "parameters", "identifiability.csv"),
        chart: Chart::Xy(XyGrid {
            cols,
            panel_height: height_for(cols, 330),
            panels,
            legend,
        }),
    }
}

/// Pairwise posterior scatter (ABC-SMC with at least two parameters).
pub fn pairs(cal: &CalibrationData) -> Option<Figure> {
    let MethodResult::Abc {
        points, weights, ..
    } = &cal.result
    else {
        return None;
    };
    let k = cal.priors.len();
    if k < 2 {
        return None;
    }
    let shown = k.min(MAX_PAIR_PARAMETERS);
    let wmax = weights.iter().copied().fold(0.0, f64::max);
    let mut panels = Vec::new();
    for a in 0..shown {
        for b in a + 1..shown {
            let (pa, pb) = (&cal.priors[a], &cal.priors[b]);
            let pts = points
                .iter()
                .zip(weights)
                .filter(|(_, &w)| w > 0.0)
                .map(|(t, &w)| {
                    let r = if wmax > 0.0 {
                        2.0 + 6.0 * (w / wmax).sqrt()
                    } else {
                        3.0
                    };
                    (t[a], t[b], r)
                })
                .collect();
            panels.push(XyPanel {
                title: format!("{} \u{00d7} {}", cal.keys[a], cal.keys[b]),
                x_label: cal.keys[a].clone(),
                y_label: cal.keys[b].clone(),
                x_range: Some((pa.min, pa.max)),
                y_range: Some((pb.min, pb.max)),
                y_ticks: true,
                layers: vec![XyLayer::Points {
                    color: BLUE,
                    points: pts,
                    filled: true,
                }],
            });
        }
    }
    let cols = cols_for(panels.len());
    let mut notes = Vec::new();
    if k > shown {
        notes.push(format!(
            "Pairs of the first {shown} of {k} parameters; every particle is in posterior.csv."
        ));
    }
    Some(Figure {
        name: "pairs".into(),
        title: format!("{}: pairwise posterior", cal.spec.name),
        caption: "Every pair of parameters over their priors' ranges: each dot is a particle of \
                  the last ABC-SMC generation, its area proportional to its weight (particles \
                  of weight 0 left out). A tilted cloud means the targets pin down a \
                  combination of the two rather than each one."
            .into(),
        notes,
        chart: Chart::Xy(XyGrid {
            cols,
            panel_height: height_for(cols, 380),
            panels,
            legend: vec![LegendEntry {
                label: "particle (dot area proportional to its weight)".into(),
                color: BLUE,
                mark: Mark::Dot,
            }],
        }),
    })
}

/// Predictive intervals against the observations, one panel per target.
pub fn predictive(cal: &CalibrationData) -> Figure {
    let mut panels = Vec::new();
    for r in cal.fit.iter().take(XY_PANELS) {
        let colour = if r.inside { BLUE } else { VERMILLION };
        let role = match r.role {
            Role::Fit => "fit",
            Role::Holdout => "holdout",
        };
        panels.push(XyPanel {
            title: format!(
                "{} \u{00b7} {role}{}",
                r.target,
                if r.inside { "" } else { " \u{00b7} OUTSIDE" }
            ),
            x_label: String::new(),
            y_label: String::new(),
            x_range: None,
            y_range: Some((0.0, 1.0)),
            y_ticks: false,
            layers: vec![
                XyLayer::Segment {
                    color: colour,
                    from: (r.lo, 0.5),
                    to: (r.hi, 0.5),
                    width: 8,
                },
                XyLayer::Points {
                    color: colour,
                    points: vec![(r.median, 0.5, 8.0)],
                    filled: true,
                },
                XyLayer::VLine {
                    color: BLACK,
                    x: r.observed,
                    dashed: false,
                },
            ],
        });
    }
    let cols = cols_for(panels.len()).min(2);
    let outside = cal.fit.iter().filter(|r| !r.inside).count();
    let (what, how) = match cal.result {
        MethodResult::Smm(_) => (
            "at the SMM estimate",
            "the fitted value \u{00b1} 1.645 predictive sd (the estimate's uncertainty through \
             the Jacobian plus the observation's own variance)",
        ),
        MethodResult::Abc { .. } => (
            "of the posterior",
            "the weighted 5\u{2013}95% quantiles of the particles' simulated targets plus one \
             observation error each",
        ),
    };
    Figure {
        name: "predictive".into(),
        title: format!("{}: predictions against the targets", cal.spec.name),
        caption: format!(
            "Each target's 90% predictive interval {what} ({how}) with its median (dot), \
             against the observed value (black line), in the target's own units. Fit targets \
             entered the distance; holdout targets did not, so they test the calibration. \
             {outside} of {} observed values fall outside their interval (drawn in vermillion \
             and marked OUTSIDE); about 1 in 10 would by chance.",
            cal.fit.len()
        ),
        notes: clipped_note(panels.len(), cal.fit.len(), "targets", "fit.csv"),
        chart: Chart::Xy(XyGrid {
            cols,
            panel_height: 170,
            panels,
            legend: vec![
                LegendEntry {
                    label: "90% interval, observed inside".into(),
                    color: BLUE,
                    mark: Mark::Line,
                },
                LegendEntry {
                    label: "observed outside".into(),
                    color: VERMILLION,
                    mark: Mark::Line,
                },
                LegendEntry {
                    label: "predictive median".into(),
                    color: GREY,
                    mark: Mark::Dot,
                },
                LegendEntry {
                    label: "observed".into(),
                    color: BLACK,
                    mark: Mark::Line,
                },
            ],
        }),
    }
}

/// The evaluations of one kind of SMM stage: (order, colour, label, dots).
type StageGroup = (usize, Rgb, String, Vec<(f64, f64, f64)>);

/// The colour of an SMM stage: the start grey, each Nelder–Mead run its own, the Jacobian light.
fn stage_colour(stage: &str) -> (usize, Rgb, String) {
    if stage == "start" {
        (0, GREY, "Latin-hypercube start".into())
    } else if let Some(r) = stage
        .strip_prefix("nm")
        .and_then(|r| r.parse::<usize>().ok())
    {
        (
            1 + r,
            OKABE_ITO[r % OKABE_ITO.len()],
            format!("Nelder\u{2013}Mead run {r}"),
        )
    } else {
        (usize::MAX, OTHERS, "Jacobian at the estimate".into())
    }
}

/// The estimator's traces.
pub fn traces(cal: &CalibrationData) -> Figure {
    match &cal.result {
        MethodResult::Abc { generations, .. } => {
            let later: Vec<_> = generations.iter().filter(|g| g.index > 0).collect();
            let line = |f: &dyn Fn(&crate::study::calibrate::abc::Generation) -> f64, all: bool| {
                let pts: Vec<(f64, f64)> = generations
                    .iter()
                    .filter(|g| all || g.index > 0)
                    .map(|g| (g.index as f64, f(g)))
                    .filter(|(_, v)| v.is_finite())
                    .collect();
                vec![
                    XyLayer::Line {
                        color: BLUE,
                        points: pts.clone(),
                        dashed: false,
                    },
                    XyLayer::Points {
                        color: BLUE,
                        points: pts.iter().map(|&(a, b)| (a, b, 5.0)).collect(),
                        filled: true,
                    },
                ]
            };
            let last = generations.last().map_or(1, |g| g.index.max(1)) as f64;
            let population = cal.spec.abc.as_ref().map_or(1, |a| a.population) as f64;
            let mut tolerance = line(&|g| g.tolerance, false);
            tolerance.insert(
                0,
                XyLayer::Line {
                    color: GREY,
                    points: vec![(0.0, 1.0), (last, 1.0)],
                    dashed: true,
                },
            );
            let panel = |title: &str, y: &str, y_range, layers| XyPanel {
                title: title.into(),
                x_label: "generation".into(),
                y_label: y.into(),
                x_range: Some((-0.2, last + 0.2)),
                y_range,
                y_ticks: true,
                layers,
            };
            let panels = vec![
                panel("tolerance \u{03c4}", "per fit target", None, tolerance),
                panel(
                    "acceptance",
                    "mean kernel",
                    Some((0.0, 1.05)),
                    line(&|g| g.acceptance, true),
                ),
                panel(
                    "effective sample size",
                    "particles",
                    Some((0.0, population * 1.05)),
                    line(&|g| g.ess, true),
                ),
            ];
            let reached = later.last().is_some_and(|g| g.tolerance == 1.0);
            Figure {
                name: "traces".into(),
                title: format!("{}: ABC-SMC generations", cal.spec.name),
                caption: format!(
                    "The tolerance \u{03c4} of each generation (the standardised distance per fit \
                     target the acceptance kernel allows; generation 0 is the prior, \u{03c4} = \
                     \u{221e}), the mean acceptance kernel of its particles, and the effective \
                     sample size of its weights. At \u{03c4} = 1 (dashed) the weighted particles \
                     are the posterior under the targets' standard errors; {}.",
                    if reached {
                        "this run reached it"
                    } else {
                        "this run stopped before reaching it, so the posterior shown is wider than the true one"
                    }
                ),
                notes: Vec::new(),
                chart: Chart::Xy(XyGrid {
                    cols: 3,
                    panel_height: 330,
                    panels,
                    legend: Vec::new(),
                }),
            }
        }
        MethodResult::Smm(_) => {
            // log10 of the distance: a start spans orders of magnitude that the optimum does not.
            let floor = 1e-6;
            let y = |d: f64| libm::log10(d.max(floor));
            let mut groups: Vec<StageGroup> = Vec::new();
            let mut best = f64::INFINITY;
            let mut running = Vec::new();
            for e in &cal.evaluations {
                if !e.distance.is_finite() {
                    continue;
                }
                let (order, colour, label) = stage_colour(&e.stage);
                match groups.iter_mut().find(|g| g.0 == order) {
                    Some(g) => g.3.push((e.id as f64, y(e.distance), 4.0)),
                    None => groups.push((
                        order,
                        colour,
                        label,
                        vec![(e.id as f64, y(e.distance), 4.0)],
                    )),
                }
                if order != usize::MAX {
                    best = best.min(e.distance);
                    running.push((e.id as f64, y(best)));
                }
            }
            groups.sort_by_key(|g| g.0);
            let mut layers = vec![XyLayer::Line {
                color: BLACK,
                points: running,
                dashed: false,
            }];
            let mut legend = vec![LegendEntry {
                label: "best so far".into(),
                color: BLACK,
                mark: Mark::Line,
            }];
            for (_, colour, label, pts) in groups.iter().take(8) {
                layers.push(XyLayer::Points {
                    color: *colour,
                    points: pts.clone(),
                    filled: true,
                });
                legend.push(LegendEntry {
                    label: label.clone(),
                    color: *colour,
                    mark: Mark::Dot,
                });
            }
            Figure {
                name: "traces".into(),
                title: format!("{}: SMM objective", cal.spec.name),
                caption: "The distance (standardised squared distance over the fit targets, \
                          log\u{2081}\u{2080} scale) of every evaluation, in order: the \
                          Latin-hypercube start, then each Nelder\u{2013}Mead run from one of \
                          its best points, then the Jacobian's points at the estimate; the line \
                          is the best distance so far. Runs that end at different distances \
                          point to several local minima."
                    .into(),
                notes: Vec::new(),
                chart: Chart::Xy(XyGrid {
                    cols: 1,
                    panel_height: 420,
                    panels: vec![XyPanel {
                        title: "distance of each evaluation".into(),
                        x_label: "evaluation".into(),
                        // The embedded font has no subscript digits.
                        y_label: "log10(distance)".into(),
                        x_range: None,
                        y_range: None,
                        y_ticks: true,
                        layers,
                    }],
                    legend,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::calibrate::abc::Generation;
    use crate::study::calibrate::prior::PriorKind;
    use crate::study::calibrate::read::FitRow;
    use crate::study::calibrate::spec::Method;
    use crate::viz::plot::render;

    #[test]
    fn a_weighted_histogram_is_a_density_of_the_weights_inside() {
        let x = [0.05, 0.15, 0.15, 0.95, 1.0, 2.0];
        let w = [1.0, 1.0, 2.0, 1.0, 1.0, 4.0];
        let bars = weighted_histogram(&x, &w, 0.0, 1.0, 10);
        assert_eq!(bars.len(), 10);
        let area: f64 = bars.iter().map(|(a, b, h)| (b - a) * h).sum();
        // 6 of the weight 10 is inside [0, 1]; the maximum falls in the last bin.
        assert!((area - 0.6).abs() < 1e-12, "{area}");
        assert!(
            (bars[1].2 - 3.0).abs() < 1e-9 && (bars[9].2 - 2.0).abs() < 1e-9,
            "{bars:?}"
        );
    }

    /// A calibration far larger than any figure shows: 50 parameters, 100 targets, 3000
    /// particles.
    fn huge() -> CalibrationData {
        let k = 50;
        let spec = serde_json::from_value(serde_json::json!({
            "name": "huge",
            "base": "toy3",
            "method": "abc-smc",
        }))
        .unwrap();
        let priors: Vec<Prior> = (0..k)
            .map(|i| Prior {
                kind: if i % 2 == 0 {
                    PriorKind::Uniform
                } else {
                    PriorKind::LogUniform
                },
                min: 0.1,
                max: 10.0,
                mean: 0.0,
                sd: 1.0,
            })
            .collect();
        let points: Vec<Vec<f64>> = (0..3000)
            .map(|p| {
                (0..k)
                    .map(|i| 0.1 + ((p * 7 + i * 13) % 99) as f64 / 10.0)
                    .collect()
            })
            .collect();
        let weights = vec![1.0 / 3000.0; 3000];
        CalibrationData {
            dir: std::path::PathBuf::from("huge"),
            meta: serde_json::Value::Null,
            spec,
            method: Method::AbcSmc,
            keys: (0..k)
                .map(|i| format!("behaviour.parameter_{i}\u{7}"))
                .collect(),
            priors,
            targets: Vec::new(),
            evaluations: Vec::new(),
            result: MethodResult::Abc {
                points,
                weights,
                generations: (0..30)
                    .map(|g| Generation {
                        index: g,
                        tolerance: if g == 0 {
                            f64::INFINITY
                        } else {
                            1e6 / g as f64
                        },
                        ess: 3000.0 / (1 + g) as f64,
                        acceptance: 1.0 / (1 + g) as f64,
                        evaluations: 3000 * (g + 1),
                    })
                    .collect(),
            },
            fit: (0..100)
                .map(|t| FitRow {
                    target: format!("target_{t}"),
                    role: if t % 3 == 0 { Role::Holdout } else { Role::Fit },
                    observed: t as f64,
                    se: 1.0,
                    fitted: t as f64 + 0.5,
                    median: t as f64 + 0.5,
                    lo: t as f64 - 1.0,
                    hi: if t % 2 == 0 { t as f64 + 2.0 } else { f64::NAN },
                    inside: t % 2 == 0,
                })
                .collect(),
            identifiability: Vec::new(),
            summary: String::new(),
        }
    }

    #[test]
    fn figures_of_a_huge_calibration_are_bounded_and_say_what_is_left_out() {
        let cal = huge();
        let figures = calibration_figures(&cal);
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["marginals", "pairs", "predictive", "traces"]);
        for f in &figures {
            let svg = render::svg(f).unwrap();
            let (w, h) = render::size(&f.cleaned());
            assert!(w <= 1200 && h <= 12_000, "{}: {w} × {h}", f.name);
            assert!(svg.len() < 8_000_000, "{}: {} bytes", f.name, svg.len());
            assert!(!svg.contains("NaN") && !svg.contains('\u{7}'), "{}", f.name);
        }
        assert!(figures[0].notes[0].contains("40 of 50 parameters"));
        let pairs = &figures[1];
        assert!(pairs.notes[0].contains("first 6 of 50"));
        let Chart::Xy(g) = &pairs.chart else {
            panic!("pairs is an x–y grid")
        };
        assert_eq!(g.panels.len(), 15);
        assert!(figures[2].notes[0].contains("40 of 100 targets"));
    }
}

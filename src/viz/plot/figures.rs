//! What each figure shows: series, colours, labels and captions, from a run or experiment read
//! back from disk. Drawing is [`super::render`]'s job.

use super::{
    Chart, Figure, Forest, ForestPanel, ForestRow, Format, Heatmap, Layer, LegendEntry, Mark,
    Panel, Panels, Rgb, BLUE, GREY, OKABE_ITO, OTHERS, VERMILLION,
};
use crate::rundir::read::{ExperimentData, RunData, RunDirError};

/// Countries ranked by final talent share, and the colour of each (None: grouped as others).
#[derive(Clone, Debug, PartialEq)]
pub struct CountryColours {
    /// Country indices, most talent at the end first.
    pub ranked: Vec<usize>,
    /// Colour by country index; None for countries grouped as "others".
    pub colour: Vec<Option<Rgb>>,
}

impl CountryColours {
    /// Ranks the countries of `run` and colours the first seven (all, if there are seven or
    /// fewer).
    pub fn of(run: &RunData) -> Result<Self, RunDirError> {
        let last = run.rows() - 1;
        let share: Vec<f64> = (0..run.c())
            .map(|k| run.at("talent_share", last, k))
            .collect::<Result<_, _>>()?;
        let mut ranked: Vec<usize> = (0..run.c()).collect();
        ranked.sort_by(|&a, &b| share[b].total_cmp(&share[a]).then(a.cmp(&b)));
        let mut colour = vec![None; run.c()];
        for (rank, &k) in ranked.iter().enumerate().take(OKABE_ITO.len()) {
            colour[k] = Some(OKABE_ITO[rank]);
        }
        Ok(CountryColours { ranked, colour })
    }

    /// Coloured countries in rank order.
    pub fn coloured(&self) -> Vec<usize> {
        self.ranked
            .iter()
            .copied()
            .filter(|&k| self.colour[k].is_some())
            .collect()
    }

    /// Grouped countries in index order.
    pub fn others(&self) -> Vec<usize> {
        (0..self.colour.len())
            .filter(|&k| self.colour[k].is_none())
            .collect()
    }
}

/// The display name of country `k`: its scenario name, else its code.
pub fn country_name(run: &RunData, k: usize) -> String {
    run.scenario
        .countries
        .get(k)
        .map(|c| c.name.trim())
        .filter(|n| !n.is_empty())
        .map_or_else(|| run.codes[k].clone(), str::to_string)
}

fn others_label(run: &RunData, others: &[usize]) -> String {
    match others {
        [k] => country_name(run, *k),
        _ => format!("{} other countries", others.len()),
    }
}

/// Stacked bands of `variable` (transformed per row by `f`): coloured countries bottom-up in rank
/// order, then the sum of the others.
fn bands(
    run: &RunData,
    colours: &CountryColours,
    variable: &str,
    f: impl Fn(Vec<f64>) -> Vec<f64>,
) -> Result<Vec<(Rgb, Vec<f64>)>, RunDirError> {
    let mut out = Vec::new();
    for k in colours.coloured() {
        out.push((
            colours.colour[k].unwrap_or(OTHERS),
            f(run.series(variable, k)?),
        ));
    }
    let others = colours.others();
    if !others.is_empty() {
        let mut sum = vec![0.0; run.rows()];
        for &k in &others {
            for (s, v) in sum.iter_mut().zip(f(run.series(variable, k)?)) {
                *s += v;
            }
        }
        out.push((OTHERS, sum));
    }
    Ok(out)
}

fn country_legend(run: &RunData, colours: &CountryColours) -> Vec<LegendEntry> {
    let mut legend: Vec<LegendEntry> = colours
        .coloured()
        .into_iter()
        .map(|k| LegendEntry {
            label: country_name(run, k),
            color: colours.colour[k].unwrap_or(OTHERS),
            mark: Mark::Square,
        })
        .collect();
    let others = colours.others();
    if !others.is_empty() {
        legend.push(LegendEntry {
            label: others_label(run, &others),
            color: OTHERS,
            mark: Mark::Square,
        });
    }
    legend
}

fn cumulative(values: Vec<f64>) -> Vec<f64> {
    let mut sum = 0.0;
    values
        .into_iter()
        .map(|v| {
            sum += v;
            sum
        })
        .collect()
}

fn period(run: &RunData) -> String {
    format!(
        "{:.0}\u{2013}{:.0}",
        run.years[0],
        run.years[run.rows() - 1]
    )
}

/// Every figure of a run, in report order.
pub fn run_figures(run: &RunData) -> Result<Vec<Figure>, RunDirError> {
    Ok(vec![
        shares(run)?,
        retention(run)?,
        concentration(run)?,
        compute(run)?,
        startups(run)?,
        migration(run),
    ])
}

fn time_panels(
    run: &RunData,
    cols: usize,
    panel_height: u32,
    panels: Vec<Panel>,
    legend: Vec<LegendEntry>,
) -> Chart {
    Chart::Panels(Panels {
        cols,
        panel_height,
        x: run.years.clone(),
        x_label: "year".into(),
        panels,
        legend,
    })
}

fn shares(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let panel = |title: &str, y_label: &str, variable: &str| -> Result<Panel, RunDirError> {
        Ok(Panel {
            title: title.into(),
            y_label: y_label.into(),
            format: Format::Percent,
            y_range: Some((0.0, 1.0)),
            layers: vec![Layer::Stack {
                bands: bands(run, &colours, variable, |v| v)?,
            }],
        })
    };
    Ok(Figure {
        name: "shares".into(),
        title: format!(
            "Where the world's researchers and talent work, {}",
            period(run)
        ),
        caption:
            "Share of the world's researchers (left) and of its skill-weighted talent (right) \
                  working in each country, stacked. The seven countries with the most talent at \
                  the end of the run are coloured (largest at the bottom), the rest are grouped."
                .into(),
        chart: time_panels(
            run,
            2,
            440,
            vec![
                panel(
                    "Researchers",
                    "share of world researchers (%)",
                    "researcher_share",
                )?,
                panel(
                    "Talent (skill-weighted)",
                    "share of world talent (%)",
                    "talent_share",
                )?,
            ],
            country_legend(run, &colours),
        ),
    })
}

fn grid_cols(n: usize) -> usize {
    n.clamp(1, 5)
}

fn small_panel_height(n: usize) -> u32 {
    if n > 5 {
        240
    } else {
        320
    }
}

fn retention(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let all = run.country_var("retention")?;
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // One range for every panel, on tenths, so countries compare at a glance.
    let (lo, hi) = if lo.is_finite() {
        (
            (lo * 10.0).floor() / 10.0,
            ((hi * 10.0).ceil() / 10.0).max(lo + 0.1),
        )
    } else {
        (0.0, 1.0)
    };
    let mut panels = Vec::new();
    for &k in &colours.ranked {
        let values = run.series("retention", k)?;
        let start = values.first().copied().unwrap_or(0.0);
        panels.push(Panel {
            title: country_name(run, k),
            y_label: "natives at home (%)".into(),
            format: Format::Percent,
            y_range: Some((lo, hi)),
            layers: vec![
                Layer::Line {
                    color: GREY,
                    values: vec![start; values.len()],
                    dashed: true,
                },
                Layer::Line {
                    color: BLUE,
                    values,
                    dashed: false,
                },
            ],
        });
    }
    let n = panels.len();
    Ok(Figure {
        name: "retention".into(),
        title: format!(
            "Retention: share of each country's natives working at home, {}",
            period(run)
        ),
        caption:
            "Each panel is one country (most talent first): the share of the researchers born \
                  there who work there, against its level at the start (dashed). All panels share \
                  one scale."
                .into(),
        chart: time_panels(
            run,
            grid_cols(n),
            small_panel_height(n),
            panels,
            vec![
                LegendEntry {
                    label: "retention".into(),
                    color: BLUE,
                    mark: Mark::Line,
                },
                LegendEntry {
                    label: "level at start".into(),
                    color: GREY,
                    mark: Mark::Dashed,
                },
            ],
        ),
    })
}

fn concentration(run: &RunData) -> Result<Figure, RunDirError> {
    let line = |v: &[f64]| Layer::Line {
        color: BLUE,
        values: v.to_vec(),
        dashed: false,
    };
    let panels = vec![
        Panel {
            title: "Herfindahl\u{2013}Hirschman index".into(),
            y_label: "HHI of talent shares (0\u{2013}1)".into(),
            format: Format::Number,
            y_range: None,
            layers: vec![line(run.world_var("hhi")?)],
        },
        Panel {
            title: "Effective number of hubs".into(),
            y_label: "countries (1 / HHI)".into(),
            format: Format::Number,
            y_range: None,
            layers: vec![line(run.world_var("effective_hubs")?)],
        },
        Panel {
            title: "Top-3 share".into(),
            y_label: "talent in the top 3 countries (%)".into(),
            format: Format::Percent,
            y_range: None,
            layers: vec![line(run.world_var("top3_talent_share")?)],
        },
    ];
    Ok(Figure {
        name: "concentration".into(),
        title: format!("How concentrated the world's talent is, {}", period(run)),
        caption: "World concentration of skill-weighted talent: the Herfindahl–Hirschman index of \
                  country shares (higher = more concentrated), its inverse as an effective number \
                  of equal-sized hubs, and the share held by the three largest countries."
            .into(),
        chart: time_panels(run, 3, 380, panels, Vec::new()),
    })
}

fn compute(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let mut panels = Vec::new();
    let mut idle = Vec::new();
    for &k in &colours.ranked {
        let built = cumulative(run.series("compute_built_gw", k)?);
        let queue = run.series("grid_queue_gw", k)?;
        if built.iter().chain(&queue).all(|&v| v == 0.0) {
            idle.push(k);
            continue;
        }
        panels.push(Panel {
            title: country_name(run, k),
            y_label: "GW".into(),
            format: Format::Number,
            y_range: None,
            layers: vec![
                Layer::Line {
                    color: BLUE,
                    values: built,
                    dashed: false,
                },
                Layer::Line {
                    color: VERMILLION,
                    values: queue,
                    dashed: true,
                },
            ],
        });
    }
    let mut caption = String::from(
        "Each panel is one country (most talent first): AI compute connected to the grid since \
         the start (cumulative) against planned compute waiting in the grid queue for headroom. \
         Each panel has its own scale.",
    );
    if !idle.is_empty() {
        let names: Vec<String> = idle.iter().map(|&k| run.codes[k].clone()).collect();
        caption.push_str(&format!(
            " Not shown (no compute built or queued): {}.",
            names.join(", ")
        ));
    }
    if panels.is_empty() {
        panels.push(Panel {
            title: "World".into(),
            y_label: "GW".into(),
            format: Format::Number,
            y_range: Some((0.0, 1.0)),
            layers: vec![Layer::Line {
                color: BLUE,
                values: vec![0.0; run.rows()],
                dashed: false,
            }],
        });
    }
    let n = panels.len();
    Ok(Figure {
        name: "compute".into(),
        title: format!(
            "Compute built vs. compute stuck in the grid queue, {}",
            period(run)
        ),
        caption,
        chart: time_panels(
            run,
            grid_cols(n),
            small_panel_height(n),
            panels,
            vec![
                LegendEntry {
                    label: "compute connected since start (GW, cumulative)".into(),
                    color: BLUE,
                    mark: Mark::Line,
                },
                LegendEntry {
                    label: "grid queue: planned compute waiting (GW)".into(),
                    color: VERMILLION,
                    mark: Mark::Dashed,
                },
            ],
        ),
    })
}

fn startups(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let panels = vec![
        Panel {
            title: "Live startups".into(),
            y_label: "startups".into(),
            format: Format::Number,
            y_range: None,
            layers: vec![Layer::Stack {
                bands: bands(run, &colours, "startups", |v| v)?,
            }],
        },
        Panel {
            title: "Exits since the start (cumulative)".into(),
            y_label: "startups".into(),
            format: Format::Number,
            y_range: None,
            layers: vec![Layer::Stack {
                bands: bands(run, &colours, "exits", cumulative)?,
            }],
        },
    ];
    Ok(Figure {
        name: "startups".into(),
        title: format!("Startups and exits by country, {}", period(run)),
        caption: "Live AI startups located in each country (left) and the exits they have made \
                  since the start (right), stacked; colours as in the other figures."
            .into(),
        chart: time_panels(run, 2, 420, panels, country_legend(run, &colours)),
    })
}

fn migration(run: &RunData) -> Figure {
    Figure {
        name: "migration".into(),
        title: format!("Net researcher migration, {}", period(run)),
        caption: "Cell (row, column): researchers who moved from the row country to the column \
                  country minus those who moved the other way, over the whole run. Red: the row \
                  country lost researchers to the column country on balance; blue: it gained."
            .into(),
        chart: Chart::Heatmap(Heatmap {
            labels: run.codes.clone(),
            values: run.net_flows(),
            row_title: "from (country of origin of the move)".into(),
            col_title: "to (destination)".into(),
            scale_label: "net researchers moved, row \u{2192} column (persons)".into(),
        }),
    }
}

/// The figures of an experiment: a forest plot of every arm's difference from the control.
pub fn experiment_figures(exp: &ExperimentData) -> Vec<Figure> {
    let control = exp.control().unwrap_or_default();
    let mut panels = Vec::new();
    for outcome in exp.outcomes() {
        let rows: Vec<ForestRow> = exp
            .summary
            .iter()
            .filter(|r| r.outcome == outcome && r.arm != control)
            .filter_map(|r| {
                Some(ForestRow {
                    label: r.arm.clone(),
                    estimate: r.diff?,
                    low: r.diff_ci_low?,
                    high: r.diff_ci_high?,
                })
            })
            .collect();
        if !rows.is_empty() {
            panels.push(ForestPanel {
                title: outcome,
                rows,
            });
        }
    }
    if panels.is_empty() {
        return Vec::new();
    }
    vec![Figure {
        name: "effects".into(),
        title: format!("Effects of each arm vs. the control arm \u{201c}{control}\u{201d}"),
        caption: "For each outcome, the difference between each arm's mean and the control arm's \
                  mean (dot) with its confidence interval (bar), in the outcome's own units. \
                  Filled dots: the interval excludes zero."
            .into(),
        chart: Chart::Forest(Forest {
            panels,
            x_label: "difference from control (arm \u{2212} control, outcome units)".into(),
            legend: vec![
                LegendEntry {
                    label: "interval excludes 0".into(),
                    color: BLUE,
                    mark: Mark::Dot,
                },
                LegendEntry {
                    label: "interval includes 0".into(),
                    color: GREY,
                    mark: Mark::Ring,
                },
            ],
        }),
    }]
}

//! What each figure shows: series, colours, labels and captions, from a run or experiment read
//! back from disk. Drawing is [`super::render`]'s job.
//!
//! Every figure has a bounded size whatever the run holds: small multiples show at most
//! [`MAX_PANELS`] countries (the rest as one "others" panel), the heat map at most [`MAX_HEAT`]
//! rows (the rest grouped), a forest plot at most [`MAX_FOREST_ROWS`] arms; what was grouped or
//! left out is said on the figure.

use super::{
    Alluvial, AlluvialNode, Chart, Figure, Forest, ForestPanel, ForestRow, Format, Heatmap, Layer,
    LegendEntry, Mark, Panel, Panels, Rgb, BLUE, GREY, OKABE_ITO, OTHERS, VERMILLION,
};
use crate::model::record::{self, Kind};
use crate::rundir::read::{ExperimentData, RunData, RunDirError};

/// Estimates resting on fewer agents than this are marked (†) and explained on the figure.
pub const FEW_AGENTS: f64 = 100.0;
/// Most country panels of a small-multiples figure; beyond, the countries with least talent
/// share one "others" panel.
pub const MAX_PANELS: usize = 15;
/// Most rows (and columns) of the migration heat map; beyond, the countries with fewest
/// researchers are grouped into one row and column.
pub const MAX_HEAT: usize = 30;
/// Most arms in one forest plot; beyond, those with the largest differences are shown.
pub const MAX_FOREST_ROWS: usize = 40;
/// Most forest plots (one per outcome) drawn for an experiment.
pub const MAX_FOREST_FIGURES: usize = 60;
/// The bluish green of Okabe–Ito, for additions.
const GREEN: Rgb = Rgb(0x00, 0x9E, 0x73);
/// The mark of an estimate from few agents.
pub const DAGGER: &str = "\u{2020}";

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

/// Real researchers one agent stands for.
pub fn persons_per_agent(run: &RunData) -> f64 {
    run.scenario.world.researchers / run.scenario.world.agents.max(1) as f64
}

/// Agents behind a real-units count of persons (or startups).
fn agents(run: &RunData, persons: f64) -> f64 {
    (persons / persons_per_agent(run)).round()
}

/// The fewest native researcher agents country `k` had at any row: the sample behind its
/// retention. None for a run directory written before `natives` was recorded.
pub fn native_agents(run: &RunData, k: usize) -> Option<f64> {
    let natives = run.series("natives", k).ok()?;
    let fewest = natives.iter().copied().fold(f64::INFINITY, f64::min);
    fewest.is_finite().then(|| agents(run, fewest))
}

/// Researcher agents working in country `k` at the end of the run.
pub fn researcher_agents(run: &RunData, k: usize) -> Result<f64, RunDirError> {
    Ok(agents(run, run.at("researchers", run.rows() - 1, k)?))
}

/// `n = 1,234`, with the few-agents mark when below [`FEW_AGENTS`].
fn n_label(n: f64) -> String {
    let mark = if n < FEW_AGENTS { DAGGER } else { "" };
    format!("n = {}{mark}", super::thousands(n, 0))
}

/// The note explaining the few-agents mark, naming the marked countries.
fn few_agents_note(run: &RunData, what: &str, marked: &[String]) -> Option<String> {
    if marked.is_empty() {
        return None;
    }
    let suggested = (run.scenario.world.agents.max(1) as f64 * 10.0).min(1e9);
    Some(format!(
        "{DAGGER} fewer than {} {what} behind the estimate ({}): expect steps and noise of a few \
         percentage points. Raise the resolution with --agents {} (or world.agents in the \
         scenario, or in the set of an experiment or sweep).",
        FEW_AGENTS,
        marked.join(", "),
        suggested as u64
    ))
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

/// The legend of coloured countries, each with the agents behind it (`agents_of`), and the
/// countries whose count is below [`FEW_AGENTS`].
fn country_legend(
    run: &RunData,
    colours: &CountryColours,
    agents_of: impl Fn(usize) -> Result<f64, RunDirError>,
) -> Result<(Vec<LegendEntry>, Vec<String>), RunDirError> {
    let mut legend = Vec::new();
    let mut few = Vec::new();
    for k in colours.coloured() {
        let n = agents_of(k)?;
        if n < FEW_AGENTS {
            few.push(run.codes[k].clone());
        }
        legend.push(LegendEntry {
            label: format!("{} ({})", country_name(run, k), n_label(n)),
            color: colours.colour[k].unwrap_or(OTHERS),
            mark: Mark::Square,
        });
    }
    let others = colours.others();
    if !others.is_empty() {
        let mut n = 0.0;
        for &k in &others {
            n += agents_of(k)?;
        }
        legend.push(LegendEntry {
            label: format!("{} ({})", others_label(run, &others), n_label(n)),
            color: OTHERS,
            mark: Mark::Square,
        });
        if n < FEW_AGENTS {
            few.push(others_label(run, &others));
        }
    }
    Ok((legend, few))
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

/// `2025–2035`, or with decimals when a run starts or ends within a year.
fn period(run: &RunData) -> String {
    format!(
        "{}\u{2013}{}",
        year(run.years[0]),
        year(run.years[run.rows() - 1])
    )
}

/// A calendar year as a reader writes it: `2030`, or `2030.5` within a year.
pub fn year(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Every figure of a run, in report order.
pub fn run_figures(run: &RunData) -> Result<Vec<Figure>, RunDirError> {
    let mut out = vec![
        shares(run)?,
        retention(run)?,
        concentration(run)?,
        compute(run)?,
        startups(run)?,
        migration(run)?,
    ];
    if let Some(fig) = career_flows(run)? {
        out.push(fig);
    }
    if let Some(fig) = stay_curves(run)? {
        out.push(fig);
    }
    Ok(out)
}

/// Most nodes per stage of the career alluvial: the coloured countries, "other" and "left the
/// field".
pub const MAX_ALLUVIAL_NODES: usize = OKABE_ITO.len() + 2;

/// The career view of a run with `--panel` (from `panel.npz`): every sampled researcher's home →
/// location when first observed → location at the run's end (or "left the field"), the coloured
/// countries each a node and the rest one "other".
fn career_flows(run: &RunData) -> Result<Option<Figure>, RunDirError> {
    let name = crate::rundir::careers::PANEL;
    let Some(bytes) = crate::rundir::read::read_optional(&run.dir, &run.manifest, name)? else {
        return Ok(None);
    };
    let bad = |why: String| RunDirError::Invalid {
        path: run.dir.join(name),
        message: why,
    };
    let col = |c: &str| crate::rundir::npz::read_int(&bytes, c).map_err(|e| bad(e.to_string()));
    let (tick, id, home, loc) = (col("tick")?, col("id")?, col("home")?, col("location")?);
    let n = tick.len();
    if id.len() != n || home.len() != n || loc.len() != n {
        return Err(bad("its columns differ in length".into()));
    }
    let Some(&last) = tick.iter().max() else {
        return Ok(None);
    };
    let c = run.c() as i64;
    // id → (home, first tick, first location, last tick, last location)
    let mut careers: std::collections::BTreeMap<i64, (i64, i64, i64, i64, i64)> =
        std::collections::BTreeMap::new();
    for r in 0..n {
        if !(0..c).contains(&home[r]) || !(0..c).contains(&loc[r]) {
            return Err(bad(format!(
                "row {r}: a country index outside the run's {c}"
            )));
        }
        let e = careers
            .entry(id[r])
            .or_insert((home[r], tick[r], loc[r], tick[r], loc[r]));
        if tick[r] < e.1 {
            (e.1, e.2) = (tick[r], loc[r]);
        }
        if tick[r] >= e.3 {
            (e.3, e.4) = (tick[r], loc[r]);
        }
    }
    let colours = CountryColours::of(run)?;
    let shown = colours.coloured();
    let other = shown.len();
    let left = other + 1;
    let node = |k: i64| shown.iter().position(|&s| s as i64 == k).unwrap_or(other);
    let mut pairs = [
        std::collections::BTreeMap::new(),
        std::collections::BTreeMap::new(),
    ];
    for &(h, _, start, end_tick, end) in careers.values() {
        let (a, b) = (node(h), node(start));
        let z = if end_tick == last { node(end) } else { left };
        *pairs[0].entry((a, b)).or_insert(0.0) += 1.0;
        *pairs[1].entry((b, z)).or_insert(0.0) += 1.0;
    }
    // Only the nodes something flows through, in order (countries by talent, other, left).
    let mut used = vec![vec![false; left + 1]; 3];
    for (s, p) in pairs.iter().enumerate() {
        for &(a, b) in p.keys() {
            used[s][a] = true;
            used[s + 1][b] = true;
        }
    }
    let label = |k: usize| match k {
        k if k < other => country_name(run, shown[k]),
        k if k == other => "other".to_string(),
        _ => "left the field".to_string(),
    };
    let colour = |k: usize| match k {
        k if k < other => colours.colour[shown[k]].unwrap_or(OTHERS),
        k if k == other => OTHERS,
        _ => GREY,
    };
    let index: Vec<Vec<Option<usize>>> = used
        .iter()
        .map(|u| {
            let mut next = 0;
            u.iter()
                .map(|&x| {
                    x.then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        })
        .collect();
    let nodes = used
        .iter()
        .map(|u| {
            (0..u.len())
                .filter(|&k| u[k])
                .map(|k| AlluvialNode {
                    label: label(k),
                    color: colour(k),
                })
                .collect()
        })
        .collect();
    let flows = pairs
        .iter()
        .enumerate()
        .map(|(s, p)| {
            p.iter()
                .filter_map(|(&(a, b), &n)| Some((index[s][a]?, index[s + 1][b]?, n)))
                .collect()
        })
        .collect();
    let sampled = careers.len();
    Ok(Some(Figure {
        name: "careers".into(),
        title: "Careers: where the sampled researchers were born, started and ended".into(),
        caption: format!(
            "Every researcher of the agent panel (panel.npz; {} sampled agents): country of \
             birth, the country they worked in when first observed, and where they worked at \
             the run's end (or that they left the field). Band widths are agent counts; every \
             node has a minimum height so its label fits. The {} countries with most talent at \
             the end are shown by name, the rest as \"other\".",
            super::thousands(sampled as f64, 0),
            shown.len()
        ),
        notes: vec![format!(
            "{} sampled researcher agents (the panel), observed every panel snapshot up to year {}.",
            super::thousands(sampled as f64, 0),
            year(crate::rundir::write::year_of_row(&run.scenario, last.max(0) as usize))
        )],
        chart: Chart::Alluvial(Alluvial {
            stages: vec![
                "born in".into(),
                "first observed in".into(),
                "at the end".into(),
            ],
            nodes,
            flows,
        }),
    }))
}

/// Fewest cohort members at entry for a stay curve to be drawn.
const STAY_MIN_MEMBERS: u64 = 20;

/// Stay curves of a run with `--cohorts` (from `stay.csv`): one panel per start country among the
/// coloured ones, one line per home, pooled over every cohort observed k years on.
fn stay_curves(run: &RunData) -> Result<Option<Figure>, RunDirError> {
    let name = crate::rundir::careers::STAY;
    let Some(bytes) = crate::rundir::read::read_optional(&run.dir, &run.manifest, name)? else {
        return Ok(None);
    };
    let bad = |why: String| RunDirError::Invalid {
        path: run.dir.join(name),
        message: why,
    };
    let years = run.scenario.world.years.max(0) as usize;
    let c = run.c();
    // [home][start][k] → (alive, stayed)
    let mut cells = vec![(0u64, 0u64); c * c * (years + 1)];
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    for rec in reader.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let field = |i: usize| rec.get(i).unwrap_or("");
        let index = |code: &str| {
            run.codes
                .iter()
                .position(|k| k == code)
                .ok_or_else(|| bad(format!("unknown country `{code}`")))
        };
        let num = |i: usize| {
            field(i)
                .parse::<u64>()
                .map_err(|_| bad(format!("`{}` is not a count", field(i))))
        };
        let (k, home, start) = (num(2)? as usize, index(field(3))?, index(field(4))?);
        if k > years {
            return Err(bad(format!("k = {k} is beyond the run's {years} years")));
        }
        let cell = &mut cells[(home * c + start) * (years + 1) + k];
        cell.0 += num(5)?;
        cell.1 += num(6)?;
    }
    let colours = CountryColours::of(run)?;
    let mut panels = Vec::new();
    for start in colours.coloured().into_iter().take(4) {
        let mut layers = Vec::new();
        for home in colours.coloured() {
            let base = (home * c + start) * (years + 1);
            let series = &cells[base..base + years + 1];
            if series[0].0 < STAY_MIN_MEMBERS {
                continue;
            }
            layers.push(Layer::Line {
                color: colours.colour[home].unwrap_or(OTHERS),
                values: series
                    .iter()
                    .map(|&(a, s)| if a == 0 { 0.0 } else { s as f64 / a as f64 })
                    .collect(),
                dashed: home != start,
            });
        }
        if layers.is_empty() {
            continue;
        }
        let mut p = panel(
            &format!("started in {}", country_name(run, start)),
            "still there, never left",
            Format::Percent,
            layers,
        );
        p.y_range = Some((0.0, 1.0));
        p.short_title = run.codes[start].clone();
        panels.push(p);
    }
    if panels.is_empty() {
        return Ok(None);
    }
    let legend = colours
        .coloured()
        .into_iter()
        .map(|k| LegendEntry {
            label: format!("born in {}", country_name(run, k)),
            color: colours.colour[k].unwrap_or(OTHERS),
            mark: Mark::Line,
        })
        .collect();
    Ok(Some(Figure {
        name: "stay_curves".into(),
        title: "Stay curves: share still in the country they started in".into(),
        caption: format!(
            "Of the researchers who started in a country (the initial population and every \
             year's entrants, pooled), the share still in the field k years after their entry \
             who never left it, by country of birth (dashed: foreign-born). From every agent \
             (stay.csv); lines with fewer than {STAY_MIN_MEMBERS} agents at entry are left out."
        ),
        notes: Vec::new(),
        chart: Chart::Panels(Panels {
            cols: 2,
            panel_height: 220,
            x: (0..=years).map(|k| k as f64).collect(),
            x_label: "years since entry".into(),
            panels,
            legend,
        }),
    }))
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

fn panel(title: &str, y_label: &str, format: Format, layers: Vec<Layer>) -> Panel {
    Panel {
        title: title.into(),
        short_title: String::new(),
        y_label: y_label.into(),
        format,
        y_range: None,
        layers,
        ends: None,
    }
}

fn shares(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let stacked = |title: &str, y_label: &str, variable: &str| -> Result<Panel, RunDirError> {
        let mut p = panel(
            title,
            y_label,
            Format::Percent,
            vec![Layer::Stack {
                bands: bands(run, &colours, variable, |v| v)?,
            }],
        );
        p.y_range = Some((0.0, 1.0));
        Ok(p)
    };
    let (legend, few) = country_legend(run, &colours, |k| researcher_agents(run, k))?;
    Ok(Figure {
        name: "shares".into(),
        title: format!(
            "Where the world's researchers and talent work, {}",
            period(run)
        ),
        caption: format!(
            "Share of the world's researchers (left, head counts) and of its skill-weighted \
             talent (right) working in each country, stacked. The seven countries with the most \
             talent at the end of the run are coloured (largest at the bottom), the rest are \
             grouped. n: researcher agents working there at the end (1 agent = {} researchers).",
            super::compact(persons_per_agent(run))
        ),
        notes: few_agents_note(run, "researcher agents", &few)
            .into_iter()
            .collect(),
        chart: time_panels(
            run,
            2,
            440,
            vec![
                stacked(
                    "Researchers (head counts)",
                    "share of world researchers (%)",
                    "researcher_share",
                )?,
                stacked(
                    "Talent (skill-weighted)",
                    "share of world talent (%)",
                    "talent_share",
                )?,
            ],
            legend,
        ),
    })
}

fn grid_cols(n: usize) -> usize {
    n.clamp(1, 5)
}

fn small_panel_height(n: usize) -> u32 {
    if n > 5 {
        250
    } else {
        320
    }
}

/// The countries drawn as panels, most talent first, and those grouped into an "others" panel
/// (empty when every country has its own).
fn panel_countries(colours: &CountryColours) -> (Vec<usize>, Vec<usize>) {
    if colours.ranked.len() <= MAX_PANELS {
        (colours.ranked.clone(), Vec::new())
    } else {
        let (shown, rest) = colours.ranked.split_at(MAX_PANELS - 1);
        let mut rest = rest.to_vec();
        rest.sort_unstable();
        (shown.to_vec(), rest)
    }
}

fn grouped_note(run: &RunData, rest: &[usize], how: &str) -> Option<String> {
    (!rest.is_empty()).then(|| {
        format!(
            "{} countries: the {} with the most talent at the end have a panel each; the other \
             {} are one panel ({how}).",
            run.c(),
            MAX_PANELS - 1,
            rest.len()
        )
    })
}

fn retention(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let all = run.country_var("retention")?;
    let (lo, hi) = all
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    // One range for every panel, on tenths, so countries compare at a glance.
    let (lo, hi) = if lo.is_finite() {
        (
            ((lo * 10.0).floor() / 10.0).max(0.0),
            ((hi * 10.0).ceil() / 10.0).max(lo + 0.1).min(1.0),
        )
    } else {
        (0.0, 1.0)
    };
    let (shown, rest) = panel_countries(&colours);
    let has_natives = run.country_var("natives").is_ok();
    let mut panels = Vec::new();
    let mut few = Vec::new();
    let mut add = |title: String, short: String, values: Vec<f64>, n: Option<f64>| {
        let start = values.first().copied().unwrap_or(0.0);
        let suffix = n.map(|n| format!(" ({})", n_label(n))).unwrap_or_default();
        panels.push(Panel {
            title: format!("{title}{suffix}"),
            short_title: format!("{short}{suffix}"),
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
            ends: Some(1),
        });
    };
    for &k in &shown {
        let n = native_agents(run, k);
        if n.is_some_and(|n| n < FEW_AGENTS) {
            few.push(run.codes[k].clone());
        }
        add(
            country_name(run, k),
            run.codes[k].clone(),
            run.series("retention", k)?,
            n,
        );
    }
    if !rest.is_empty() {
        // Pooled: natives of the group at home over natives of the group (by head count when
        // the run has no `natives`, which only old run directories lack).
        let mut home = vec![0.0; run.rows()];
        let mut base = vec![0.0; run.rows()];
        let mut fewest = 0.0;
        for &k in &rest {
            let r = run.series("retention", k)?;
            let w = if has_natives {
                run.series("natives", k)?
            } else {
                vec![1.0; run.rows()]
            };
            for t in 0..run.rows() {
                home[t] += r[t] * w[t];
                base[t] += w[t];
            }
            fewest += native_agents(run, k).unwrap_or(0.0);
        }
        let pooled = home
            .iter()
            .zip(&base)
            .map(|(h, b)| if *b > 0.0 { h / b } else { 0.0 })
            .collect();
        let label = format!("{} others", rest.len());
        add(label.clone(), label, pooled, has_natives.then_some(fewest));
    }
    let n = panels.len();
    let mut caption = String::from(
        "Each panel is one country (most talent first): the share of the researchers born there \
         who work there, against its level at the start (dashed); the start and end values are \
         labelled on the axis. All panels share one scale.",
    );
    if has_natives {
        caption.push_str(
            " n: the country's native researcher agents (the fewest at any time of the run), \
             the sample behind its curve.",
        );
    }
    let notes = few_agents_note(run, "native agents", &few)
        .into_iter()
        .chain(grouped_note(
            run,
            &rest,
            "their natives at home over their natives",
        ))
        .collect();
    Ok(Figure {
        name: "retention".into(),
        title: format!(
            "Retention: share of each country's natives working at home, {}",
            period(run)
        ),
        caption,
        notes,
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
    let line = |v: &[f64], color: Rgb, dashed: bool| Layer::Line {
        color,
        values: v.to_vec(),
        dashed,
    };
    // Old run directories recorded the head-count HHI only (as `hhi`).
    let talent_hhi = run.world_var("hhi_talent").ok();
    let talent_hubs = run.world_var("effective_hubs_talent").ok();
    let mut hhi = vec![line(run.world_var("hhi_researchers")?, BLUE, false)];
    hhi.extend(talent_hhi.map(|v| line(v, VERMILLION, true)));
    let mut hubs = vec![line(
        run.world_var("effective_hubs_researchers")?,
        BLUE,
        false,
    )];
    hubs.extend(talent_hubs.map(|v| line(v, VERMILLION, true)));
    let mut panels = vec![
        panel(
            "Herfindahl\u{2013}Hirschman index",
            "HHI of country shares (0\u{2013}1)",
            Format::Number,
            hhi,
        ),
        panel(
            "Effective number of hubs",
            "countries (1 / HHI)",
            Format::Number,
            hubs,
        ),
        panel(
            "Top-3 share of talent",
            "talent in the top 3 countries (%)",
            Format::Percent,
            vec![line(run.world_var("top3_talent_share")?, VERMILLION, true)],
        ),
    ];
    for p in &mut panels {
        p.ends = Some(0);
    }
    let mut legend = vec![LegendEntry {
        label: "by researcher head counts".into(),
        color: BLUE,
        mark: Mark::Line,
    }];
    if talent_hhi.is_some() {
        legend.push(LegendEntry {
            label: "by talent (skill-weighted)".into(),
            color: VERMILLION,
            mark: Mark::Dashed,
        });
    }
    Ok(Figure {
        name: "concentration".into(),
        title: format!(
            "How concentrated the world's researchers and talent are, {}",
            period(run)
        ),
        caption: "World concentration across countries: the Herfindahl–Hirschman index of \
                  country shares (higher = more concentrated) of researcher head counts \
                  (`hhi_researchers`) and of skill-weighted talent (`hhi_talent`), its inverse as \
                  an effective number of equal-sized hubs, and the share of talent held by the \
                  three largest countries. Start and end values of the head-count series are \
                  labelled on each axis."
            .into(),
        notes: Vec::new(),
        chart: time_panels(run, 3, 380, panels, legend),
    })
}

fn compute(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let tpy = run.scenario.world.ticks_per_year as f64;
    // Flows per tick → per year; row 0 holds no events, so it is left out of the flow lines.
    let per_year = |v: Vec<f64>| -> Vec<f64> {
        v.iter()
            .enumerate()
            .map(|(t, x)| if t == 0 { f64::NAN } else { x * tpy })
            .collect()
    };
    // Directories written before retirements were recorded show stocks and additions only.
    let has_retired = run.country_var("compute_retired_gw").is_ok();
    let series = |ks: &[usize], variable: &str| -> Result<Vec<f64>, RunDirError> {
        let mut sum = vec![0.0; run.rows()];
        for &k in ks {
            for (s, v) in sum.iter_mut().zip(run.series(variable, k)?) {
                *s += v;
            }
        }
        Ok(sum)
    };
    let (shown, rest) = panel_countries(&colours);
    let mut groups: Vec<(String, String, Vec<usize>)> = shown
        .iter()
        .map(|&k| (country_name(run, k), run.codes[k].clone(), vec![k]))
        .collect();
    if !rest.is_empty() {
        let label = format!("{} others", rest.len());
        groups.push((label.clone(), label, rest.clone()));
    }
    let mut panels = Vec::new();
    let mut idle = Vec::new();
    for (title, short, ks) in groups {
        let installed = series(&ks, "compute_gw")?;
        let queue = series(&ks, "grid_queue_gw")?;
        let added = per_year(series(&ks, "compute_built_gw")?);
        if installed.iter().chain(&queue).all(|&v| v == 0.0) {
            idle.push(short);
            continue;
        }
        let mut layers = vec![
            Layer::Line {
                color: BLUE,
                values: installed,
                dashed: false,
            },
            Layer::Line {
                color: VERMILLION,
                values: queue,
                dashed: true,
            },
            Layer::Line {
                color: GREEN,
                values: added,
                dashed: false,
            },
        ];
        if has_retired {
            layers.push(Layer::Line {
                color: GREY,
                values: per_year(series(&ks, "compute_retired_gw")?),
                dashed: false,
            });
        }
        panels.push(Panel {
            title,
            short_title: short,
            y_label: "GW; flows GW/year".into(),
            format: Format::Number,
            y_range: None,
            layers,
            ends: Some(0),
        });
    }
    let mut caption = String::from(
        "Each panel is one country (most talent first): installed AI compute (GW, start and end \
         labelled on the axis) and planned compute waiting in the grid queue for headroom (GW), \
         with the flows that change the installed stock: additions connected to the grid and \
         retirements of obsolete compute (GW per year). Installed at the end = installed at the \
         start + additions − retirements (the report's end-of-run table adds them up). Each \
         panel has its own scale. Compute follows from spending and the grid alone, so it has no \
         sampling noise.",
    );
    if !idle.is_empty() {
        caption.push_str(&format!(
            " Not shown (no compute installed or queued): {}.",
            idle.join(", ")
        ));
    }
    if panels.is_empty() {
        let mut p = panel(
            "World",
            "GW",
            Format::Number,
            vec![Layer::Line {
                color: BLUE,
                values: vec![0.0; run.rows()],
                dashed: false,
            }],
        );
        p.y_range = Some((0.0, 1.0));
        panels.push(p);
    }
    let n = panels.len();
    let mut legend = vec![
        LegendEntry {
            label: "installed compute (GW)".into(),
            color: BLUE,
            mark: Mark::Line,
        },
        LegendEntry {
            label: "grid queue (GW)".into(),
            color: VERMILLION,
            mark: Mark::Dashed,
        },
        LegendEntry {
            label: "additions (GW/year)".into(),
            color: GREEN,
            mark: Mark::Line,
        },
    ];
    if has_retired {
        legend.push(LegendEntry {
            label: "retirements (GW/year)".into(),
            color: GREY,
            mark: Mark::Line,
        });
    }
    Ok(Figure {
        name: "compute".into(),
        title: format!(
            "Installed compute, the grid queue, additions and retirements, {}",
            period(run)
        ),
        caption,
        notes: grouped_note(run, &rest, "their sum").into_iter().collect(),
        chart: time_panels(run, grid_cols(n), small_panel_height(n), panels, legend),
    })
}

fn startups(run: &RunData) -> Result<Figure, RunDirError> {
    let colours = CountryColours::of(run)?;
    let last = run.rows() - 1;
    let (legend, few) = country_legend(run, &colours, |k| {
        Ok(agents(run, run.at("startups", last, k)?))
    })?;
    let stacked = |title: &str, variable: &str, f: fn(Vec<f64>) -> Vec<f64>| {
        Ok::<_, RunDirError>(panel(
            title,
            "startups",
            Format::Number,
            vec![Layer::Stack {
                bands: bands(run, &colours, variable, f)?,
            }],
        ))
    };
    let panels = vec![
        stacked("Live startups", "startups", |v| v)?,
        stacked("Exits since the start (cumulative)", "exits", cumulative)?,
    ];
    Ok(Figure {
        name: "startups".into(),
        title: format!("Startups and exits by country, {}", period(run)),
        caption: "Live AI startups located in each country (left) and the exits they have made \
                  since the start (right), stacked; colours as in the other figures. n: startup \
                  agents located there at the end."
            .into(),
        notes: few_agents_note(run, "startup agents", &few)
            .into_iter()
            .collect(),
        chart: time_panels(run, 2, 420, panels, legend),
    })
}

/// The rows and columns of the heat map: each shown country alone, in scenario order, and when
/// there are more than [`MAX_HEAT`] countries the ones with fewest researchers at the start as
/// one group (last).
fn heat_groups(run: &RunData) -> Result<Vec<(String, Vec<usize>)>, RunDirError> {
    let c = run.c();
    if c <= MAX_HEAT {
        return Ok((0..c).map(|k| (run.codes[k].clone(), vec![k])).collect());
    }
    let start: Vec<f64> = (0..c)
        .map(|k| run.at("researchers", 0, k))
        .collect::<Result<_, _>>()?;
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by(|&a, &b| start[b].total_cmp(&start[a]).then(a.cmp(&b)));
    let mut shown = order[..MAX_HEAT - 1].to_vec();
    shown.sort_unstable();
    let mut rest = order[MAX_HEAT - 1..].to_vec();
    rest.sort_unstable();
    let mut groups: Vec<(String, Vec<usize>)> = shown
        .into_iter()
        .map(|k| (run.codes[k].clone(), vec![k]))
        .collect();
    groups.push((format!("{} others", rest.len()), rest));
    Ok(groups)
}

/// Researchers moved between the heat map's groups over the whole run, `[g × G + h]`, from the
/// run's total moves (moves within a group are not migration between its rows and columns).
fn grouped_moves(run: &RunData, groups: &[(String, Vec<usize>)]) -> Vec<f64> {
    let c = run.c();
    let g = groups.len();
    let mut of = vec![0usize; c];
    for (i, (_, ks)) in groups.iter().enumerate() {
        for &k in ks {
            of[k] = i;
        }
    }
    let total = run.total_flows();
    let mut out = vec![0.0; g * g];
    for a in 0..c {
        for b in 0..c {
            let (ga, gb) = (of[a], of[b]);
            if ga != gb {
                out[ga * g + gb] += total[a * c + b];
            }
        }
    }
    out
}

/// The heat map's rows (countries, and beyond [`MAX_HEAT`] a group of the rest) and its cells:
/// net researchers moved row → column over the run, `[row × G + column]`.
pub fn migration_matrix(run: &RunData) -> Result<(Vec<String>, Vec<f64>), RunDirError> {
    let groups = heat_groups(run)?;
    let g = groups.len();
    let moves = grouped_moves(run, &groups);
    let mut net = vec![0.0; g * g];
    for a in 0..g {
        for b in 0..g {
            net[a * g + b] = moves[a * g + b] - moves[b * g + a];
        }
    }
    Ok((groups.into_iter().map(|(l, _)| l).collect(), net))
}

fn migration(run: &RunData) -> Result<Figure, RunDirError> {
    let (labels, net) = migration_matrix(run)?;
    let g = labels.len();
    let unit = persons_per_agent(run);
    let mut notes = Vec::new();
    if g < run.c() {
        notes.push(format!(
            "{} countries: the {} with the most researchers at the start have a row and column \
             each; the other {} are grouped (moves within the group are left out). Every pair \
             is in migration.csv.",
            run.c(),
            g - 1,
            run.c() - (g - 1)
        ));
    }
    Ok(Figure {
        name: "migration".into(),
        title: format!("Net researcher migration, {}", period(run)),
        caption: format!(
            "Cell (row, column): researchers who moved from the row country to the column \
             country minus those who moved the other way, over the whole run. Red: the row \
             country lost researchers to the column country on balance; blue: it gained. The \
             colour scale is symmetric-logarithmic (linear up to one agent, {} researchers, \
             logarithmic beyond), so small flows stay visible next to the largest. The numbers \
             are in migration.csv next to the figure (from `talentflow plot`) and in the report.",
            super::compact(unit)
        ),
        notes,
        chart: Chart::Heatmap(Heatmap {
            labels,
            values: net,
            unit,
            row_title: "from (country of origin of the move)".into(),
            col_title: "to (destination)".into(),
            scale_label: "net researchers moved, row \u{2192} column (persons, symmetric log)"
                .into(),
        }),
    })
}

/// `migration.csv`: every ordered pair of countries with a move in either direction:
/// `from,to,moved,moved_back,net` (persons over the whole run).
pub fn migration_csv(run: &RunData) -> Vec<u8> {
    let c = run.c();
    let total = run.total_flows();
    let mut out = String::from("from,to,moved,moved_back,net\n");
    for a in 0..c {
        for b in 0..c {
            let (there, back) = (total[a * c + b], total[b * c + a]);
            if a != b && (there != 0.0 || back != 0.0) {
                out.push_str(&format!(
                    "{},{},{there},{back},{}\n",
                    run.codes[a],
                    run.codes[b],
                    there - back
                ));
            }
        }
    }
    out.into_bytes()
}

/// The unit of an outcome as written (`retention.SAU@2030` → `share`), from the table of
/// recorded variables; a flow summed over a period loses its "per tick". None for names that
/// are not recorded variables.
pub fn outcome_unit(outcome: &str) -> Option<String> {
    let (what, when) = outcome.split_once('@')?;
    let variable = what.split('.').next()?.trim();
    let period = when.contains("..");
    if let Some(i) = record::country_variable(variable) {
        let v = &record::COUNTRY[i];
        let unit = if period && v.kind == Kind::Flow {
            v.units.trim_end_matches(" per tick")
        } else {
            v.units
        };
        return Some(unit.to_string());
    }
    let name = record::replacement(variable).unwrap_or(variable);
    record::world_variable(name).map(|i| record::WORLD[i].units.to_string())
}

/// The interval level of an experiment (0.95 when `experiment.json` does not say).
pub fn ci_level(exp: &ExperimentData) -> f64 {
    exp.meta["ci_level"]
        .as_f64()
        .map(|l| if l > 1.0 { l / 100.0 } else { l })
        .filter(|l| *l > 0.0 && *l < 1.0)
        .unwrap_or(0.95)
}

/// Comparisons with the control in an experiment: the summary rows with a difference.
pub fn comparisons(exp: &ExperimentData) -> usize {
    exp.summary.iter().filter(|r| r.diff.is_some()).count()
}

/// The Bonferroni-adjusted interval of a difference: the same estimate and standard error as
/// its per-comparison interval, at level 1 − (1 − level)/m, so the m intervals of the
/// experiment hold together with the stated probability. None without an interval or with
/// fewer than two replicates.
pub fn bonferroni(diff: f64, high: f64, n: u64, level: f64, m: usize) -> Option<(f64, f64)> {
    use crate::study::stats::t_quantile;
    if n < 2 || m == 0 || !(diff.is_finite() && high.is_finite()) {
        return None;
    }
    let df = (n - 1) as f64;
    let alpha = 1.0 - level;
    let t = t_quantile(1.0 - alpha / 2.0, df);
    let t_adj = t_quantile(1.0 - alpha / (2.0 * m as f64), df);
    if !(t > 0.0 && t_adj.is_finite()) {
        return None;
    }
    let half = (high - diff) / t * t_adj;
    half.is_finite().then_some((diff - half, diff + half))
}

/// The rows of one outcome's forest plot (every arm but the control) and how many arms had a
/// difference; at most [`MAX_FOREST_ROWS`], those with the largest |difference|, in file order.
pub fn forest_rows(exp: &ExperimentData, outcome: &str) -> (Vec<ForestRow>, usize) {
    forest_rows_at_most(exp, outcome, MAX_FOREST_ROWS)
}

/// [`forest_rows`] with another bound (the report's tables list more arms than a figure).
pub fn forest_rows_at_most(
    exp: &ExperimentData,
    outcome: &str,
    most: usize,
) -> (Vec<ForestRow>, usize) {
    let control = exp.control().unwrap_or_default();
    let level = ci_level(exp);
    let m = comparisons(exp);
    let mut rows: Vec<(usize, u64, ForestRow)> = exp
        .summary
        .iter()
        .filter(|r| r.outcome == outcome && r.arm != control)
        .filter_map(|r| {
            let (estimate, low, high) = (r.diff?, r.diff_ci_low?, r.diff_ci_high?);
            Some((
                r.n,
                ForestRow {
                    label: r.arm.clone(),
                    estimate,
                    low,
                    high,
                    adjusted: None,
                },
            ))
        })
        .enumerate()
        .map(|(i, (n, row))| (i, n, row))
        .collect();
    let total = rows.len();
    if total > most {
        let size = |r: &ForestRow| {
            if r.estimate.is_finite() {
                r.estimate.abs()
            } else {
                0.0
            }
        };
        rows.sort_by(|(i, _, a), (j, _, b)| size(b).total_cmp(&size(a)).then(i.cmp(j)));
        rows.truncate(most);
        rows.sort_by_key(|(i, _, _)| *i);
    }
    // Adjusted intervals for the rows kept only: the t quantiles are found iteratively.
    let mut quantiles = std::collections::HashMap::new();
    let rows = rows
        .into_iter()
        .map(|(_, n, mut row)| {
            let factor = *quantiles
                .entry(n)
                .or_insert_with(|| bonferroni(0.0, 1.0, n, level, m).map(|(_, hi)| hi));
            row.adjusted = factor.and_then(|f| {
                let half = (row.high - row.estimate) * f;
                half.is_finite()
                    .then_some((row.estimate - half, row.estimate + half))
            });
            row
        })
        .collect();
    (rows, total)
}

/// A file stem for outcome `i` (`effects_01_retention_SAU_2030`).
fn forest_name(i: usize, outcome: &str) -> String {
    let slug: String = outcome
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(48)
        .collect();
    format!("effects_{:02}_{}", i + 1, slug.trim_matches('_'))
}

/// The figures of an experiment: for each outcome (up to [`MAX_FOREST_FIGURES`]), a forest plot
/// of every arm's difference from the control, in the outcome's unit, with per-comparison and
/// Bonferroni-adjusted intervals.
pub fn experiment_figures(exp: &ExperimentData) -> Vec<Figure> {
    exp.outcomes()
        .iter()
        .enumerate()
        .filter_map(|(i, outcome)| outcome_figure(exp, i, outcome))
        .take(MAX_FOREST_FIGURES)
        .collect()
}

/// The forest plot of outcome `i` (named `outcome`), or None when no arm has a difference.
pub fn outcome_figure(exp: &ExperimentData, i: usize, outcome: &str) -> Option<Figure> {
    let control = exp.control().unwrap_or_default();
    let level = ci_level(exp);
    let m = comparisons(exp);
    let pct = super::thousands(level * 100.0, 0);
    {
        let (rows, total) = forest_rows(exp, outcome);
        if rows.is_empty() {
            return None;
        }
        let unit = outcome_unit(outcome);
        let x_label = match &unit {
            Some(u) => format!("arm \u{2212} control ({u})"),
            None => "arm \u{2212} control (in the outcome's units)".into(),
        };
        let mut notes = vec![format!(
            "Thick bars: {pct}% interval of each comparison alone. Thin whiskers: \
             Bonferroni-adjusted for the {m} comparisons with the control in this experiment \
             (arms \u{00d7} outcomes), jointly {pct}%."
        )];
        if total > rows.len() {
            notes.push(format!(
                "{} of {total} arms shown: those with the largest |difference|; every arm is in \
                 summary.csv.",
                rows.len()
            ));
        }
        Some(Figure {
            name: forest_name(i, outcome),
            title: format!("{outcome}: effect of each arm vs. \u{201c}{control}\u{201d}"),
            caption: format!(
                "Difference between each arm's mean of {outcome} and the control arm's mean \
                 (dot), {}, with its {pct}% interval (thick bar) and the Bonferroni-adjusted \
                 interval for the experiment's {m} comparisons (thin whiskers). Filled dots: \
                 the {pct}% interval excludes zero.",
                unit.as_deref()
                    .map_or("in the outcome's units".into(), |u| format!("in {u}"))
            ),
            notes,
            chart: Chart::Forest(Forest {
                panels: vec![ForestPanel {
                    title: outcome.to_string(),
                    x_label,
                    rows,
                }],
                legend: vec![
                    LegendEntry {
                        label: format!("{pct}% interval excludes 0"),
                        color: BLUE,
                        mark: Mark::Dot,
                    },
                    LegendEntry {
                        label: format!("{pct}% interval includes 0"),
                        color: GREY,
                        mark: Mark::Ring,
                    },
                ],
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_print_as_years() {
        assert_eq!(year(2025.0), "2025");
        assert_eq!(year(2030.5), "2030.5");
        assert_eq!(year(2027.25), "2027.25");
    }

    #[test]
    fn outcome_units_come_from_the_variable_table() {
        assert_eq!(outcome_unit("retention.SAU@2030").as_deref(), Some("share"));
        assert_eq!(outcome_unit("hhi@2035").as_deref(), Some("index [1/C, 1]"));
        assert_eq!(
            outcome_unit("exits.USA@2025..2030").as_deref(),
            Some("startups")
        );
        assert_eq!(
            outcome_unit("exits.USA@2030").as_deref(),
            Some("startups per tick")
        );
        assert_eq!(outcome_unit("talent_share_SAU"), None);
    }

    #[test]
    fn bonferroni_widens_by_the_ratio_of_t_quantiles() {
        // n = 30 (df 29): t(0.975) = 2.045230, t(1 − 0.025/10 = 0.9975) = 3.038 (tables).
        let (lo, hi) = bonferroni(1.0, 1.0 + 2.045230, 30, 0.95, 10).unwrap();
        assert!((hi - 1.0 - 3.0380).abs() < 2e-3, "{hi}");
        assert!((1.0 - lo - 3.0380).abs() < 2e-3, "{lo}");
        // One comparison: the interval itself.
        let (lo, hi) = bonferroni(0.0, 2.0, 30, 0.95, 1).unwrap();
        assert!((lo + 2.0).abs() < 1e-9 && (hi - 2.0).abs() < 1e-9);
        assert_eq!(bonferroni(0.0, 2.0, 1, 0.95, 4), None);
    }
}

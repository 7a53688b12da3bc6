//! Figures of a finished run or experiment, as SVG and PNG.
//!
//! ```text
//! RunData / ExperimentData ──► figures::run_figures / experiment_figures ──► Vec<Figure>
//!   (rundir: read from files)    (what to show: series, colours, labels)        │
//!                                                                                ▼
//!                                            render::svg / render::png (plotters backends)
//! ```
//!
//! A [`Figure`] is plain data (numbers, labels, colours), so one description is drawn by both
//! plotters backends: SVG for the report and for journals, PNG for slides and chat. Text is laid
//! out (and, in PNGs, rasterised) with one embedded font, DejaVu Sans (subset, see
//! `assets/fonts/README.md`), registered with plotters' `ab_glyph` feature: no system font
//! library is involved, and the same bytes come out on every machine. SVG text names the same
//! font, which the report embeds, so the browser draws it with the metrics used for layout.
//!
//! Colours: countries get the Okabe–Ito palette (safe for the common colour-vision
//! deficiencies) by rank of final talent share, the same colour for the same country in every
//! figure; beyond seven countries the rest are grouped as "others" in grey. The migration heat map
//! uses Paul Tol's diverging blue–red scheme, also colour-blind safe.

pub mod calibration;
pub mod dose;
pub mod figures;
pub(crate) mod render;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::rundir::read::{self, DirKind, RunDirError};
use crate::rundir::write::{write_atomic, OutputError};
use crate::study::calibrate::read::CalibrationData;

/// The embedded font: DejaVu Sans, subset to Latin, Greek and common symbols.
pub static FONT_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-subset.ttf");

/// The font family every text element uses. It doubles as the CSS font list written into SVG
/// `font-family` attributes, so a standalone SVG falls back to any sans-serif font.
pub const FONT: &str = "DejaVu Sans, sans-serif";

/// Errors making figures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The embedded font failed to load (a build problem, never user input).
    #[error("the embedded font could not be registered")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing figure `{figure}`: {message}")]
    Draw {
        /// Figure name.
        figure: String,
        /// What failed.
        message: String,
    },
    /// PNG encoding failed.
    #[error("encoding {figure}.png: {message}")]
    Png {
        /// Figure name.
        figure: String,
        /// What failed.
        message: String,
    },
    /// Reading the run or experiment directory failed.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// Reading the calibration directory failed.
    #[error(transparent)]
    Calibration(#[from] crate::study::calibrate::read::ReadError),
    /// Writing a figure failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Registers the embedded font with plotters once per process. Also under plotters' default
/// family name, so no text element can fall through to a missing system font.
pub fn register_font() -> Result<(), PlotError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        [FONT, "sans-serif"].iter().all(|name| {
            plotters::style::register_font(name, plotters::style::FontStyle::Normal, FONT_TTF)
                .is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Okabe & Ito (2008) without black: orange, sky blue, bluish green, blue, vermillion, reddish
/// purple, yellow (last: weakest on white).
pub const OKABE_ITO: [Rgb; 7] = [
    Rgb(0xE6, 0x9F, 0x00),
    Rgb(0x56, 0xB4, 0xE9),
    Rgb(0x00, 0x9E, 0x73),
    Rgb(0x00, 0x72, 0xB2),
    Rgb(0xD5, 0x5E, 0x00),
    Rgb(0xCC, 0x79, 0xA7),
    Rgb(0xF0, 0xE4, 0x42),
];
/// Grey for grouped "other" countries.
pub const OTHERS: Rgb = Rgb(0xBB, 0xBB, 0xBB);
/// The main line colour (Okabe–Ito blue).
pub const BLUE: Rgb = Rgb(0x00, 0x72, 0xB2);
/// The contrasting line colour (Okabe–Ito vermillion).
pub const VERMILLION: Rgb = Rgb(0xD5, 0x5E, 0x00);
/// Reference lines and muted marks.
pub const GREY: Rgb = Rgb(0x77, 0x77, 0x77);
/// Paul Tol's diverging BuRd scheme, from strongly negative to strongly positive.
pub const TOL_BURD: [Rgb; 9] = [
    Rgb(0x21, 0x66, 0xAC),
    Rgb(0x43, 0x93, 0xC3),
    Rgb(0x92, 0xC5, 0xDE),
    Rgb(0xD1, 0xE5, 0xF0),
    Rgb(0xF7, 0xF7, 0xF7),
    Rgb(0xFD, 0xDB, 0xC7),
    Rgb(0xF4, 0xA5, 0x82),
    Rgb(0xD6, 0x60, 0x4D),
    Rgb(0xB2, 0x18, 0x2B),
];

/// The diverging colour of `t` in [-1, 1] (clamped), interpolated along [`TOL_BURD`].
pub fn diverging(t: f64) -> Rgb {
    let t = if t.is_finite() {
        t.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let pos = (t + 1.0) / 2.0 * (TOL_BURD.len() - 1) as f64;
    let i = (pos.floor() as usize).min(TOL_BURD.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (TOL_BURD[i], TOL_BURD[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// How tick labels of a value axis are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// Shares in [0, 1] shown as percent.
    Percent,
    /// Plain numbers with k/M suffixes for large values.
    Number,
}

/// One line or stacked-area layer of a panel.
#[derive(Clone, Debug)]
pub enum Layer {
    /// A line.
    Line {
        /// Colour.
        color: Rgb,
        /// One value per x.
        values: Vec<f64>,
        /// Dashed (a reference rather than data).
        dashed: bool,
    },
    /// Stacked areas, first band at the bottom.
    Stack {
        /// Colour and values (one per x) of each band.
        bands: Vec<(Rgb, Vec<f64>)>,
    },
}

/// One chart with shared x (time).
#[derive(Clone, Debug)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// A shorter title, used when `title` does not fit the panel's width (e.g. the country code
    /// instead of its name); empty: clip `title`.
    pub short_title: String,
    /// Value-axis label, with units.
    pub y_label: String,
    /// Tick label style.
    pub format: Format,
    /// Fixed value range, or None to fit the data.
    pub y_range: Option<(f64, f64)>,
    /// What is drawn, in order.
    pub layers: Vec<Layer>,
    /// The layer whose first and last values are labelled on the value axis (so a reader sees
    /// where the series starts and ends without reading between ticks).
    pub ends: Option<usize>,
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// Filled square (areas).
    Square,
    /// Line.
    Line,
    /// Dashed line.
    Dashed,
    /// Filled circle.
    Dot,
    /// Open circle.
    Ring,
}

/// A legend entry.
#[derive(Clone, Debug)]
pub struct LegendEntry {
    /// Label.
    pub label: String,
    /// Colour.
    pub color: Rgb,
    /// Mark.
    pub mark: Mark,
}

/// A grid of time-series panels.
#[derive(Clone, Debug)]
pub struct Panels {
    /// Columns of the grid.
    pub cols: usize,
    /// Height of each panel, pixels.
    pub panel_height: u32,
    /// Time of each point (calendar years).
    pub x: Vec<f64>,
    /// Time-axis label.
    pub x_label: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Legend below the grid.
    pub legend: Vec<LegendEntry>,
}

/// A square matrix drawn as coloured cells with a colour bar on a symmetric-log scale: linear
/// within ±`unit`, logarithmic beyond, so a few large cells do not wash out the rest.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Row and column labels.
    pub labels: Vec<String>,
    /// Values `[row × n + col]`.
    pub values: Vec<f64>,
    /// Where the scale turns from linear to logarithmic (e.g. one agent's worth of persons).
    pub unit: f64,
    /// Label of the rows (left).
    pub row_title: String,
    /// Label of the columns (top).
    pub col_title: String,
    /// Label of the colour bar, with units.
    pub scale_label: String,
}

/// One row of a forest plot: an estimate and its interval.
#[derive(Clone, Debug)]
pub struct ForestRow {
    /// Label (the arm).
    pub label: String,
    /// Point estimate.
    pub estimate: f64,
    /// Interval, low end.
    pub low: f64,
    /// Interval, high end.
    pub high: f64,
    /// A wider interval drawn as thin whiskers (e.g. adjusted for multiple comparisons).
    pub adjusted: Option<(f64, f64)>,
}

/// One panel of a forest plot (one outcome).
#[derive(Clone, Debug)]
pub struct ForestPanel {
    /// Title (the outcome).
    pub title: String,
    /// Effect-axis label of this panel, with the outcome's unit.
    pub x_label: String,
    /// Rows.
    pub rows: Vec<ForestRow>,
}

/// Effects with intervals against a zero line, one panel per outcome.
#[derive(Clone, Debug)]
pub struct Forest {
    /// Panels.
    pub panels: Vec<ForestPanel>,
    /// Legend below.
    pub legend: Vec<LegendEntry>,
}

/// One layer of an [`XyPanel`], drawn in order (later on top).
#[derive(Clone, Debug)]
pub enum XyLayer {
    /// A vertical band over the panel's whole height (a range: a prior's support, an interval).
    Span {
        /// Colour (a light one: the data are drawn over it).
        color: Rgb,
        /// Left end.
        x0: f64,
        /// Right end.
        x1: f64,
    },
    /// Bars from 0 (a histogram): (left, right, height) each.
    Bars {
        /// Colour.
        color: Rgb,
        /// The bars.
        bars: Vec<(f64, f64, f64)>,
    },
    /// A polyline through the points (non-finite points are left out).
    Line {
        /// Colour.
        color: Rgb,
        /// The points, in drawing order.
        points: Vec<(f64, f64)>,
        /// Dashed (a reference rather than data).
        dashed: bool,
    },
    /// A straight segment (an interval).
    Segment {
        /// Colour.
        color: Rgb,
        /// One end.
        from: (f64, f64),
        /// The other.
        to: (f64, f64),
        /// Stroke width, pixels.
        width: u32,
    },
    /// A vertical line over the panel's whole height (an observed value, an estimate).
    VLine {
        /// Colour.
        color: Rgb,
        /// Where.
        x: f64,
        /// Dashed.
        dashed: bool,
    },
    /// Circles at (x, y), each with its radius in pixels.
    Points {
        /// Colour.
        color: Rgb,
        /// (x, y, radius).
        points: Vec<(f64, f64, f64)>,
        /// Filled (else an outline).
        filled: bool,
    },
}

/// One chart of an [`XyGrid`], with its own axes.
#[derive(Clone, Debug)]
pub struct XyPanel {
    /// Title above the chart.
    pub title: String,
    /// Horizontal-axis label.
    pub x_label: String,
    /// Vertical-axis label.
    pub y_label: String,
    /// Fixed horizontal range, or None to fit the layers.
    pub x_range: Option<(f64, f64)>,
    /// Fixed vertical range, or None to fit the layers.
    pub y_range: Option<(f64, f64)>,
    /// Tick labels on the vertical axis (false: a row with no vertical scale).
    pub y_ticks: bool,
    /// What is drawn.
    pub layers: Vec<XyLayer>,
}

/// A grid of x–y charts, each with its own scales (small multiples of different quantities).
#[derive(Clone, Debug)]
pub struct XyGrid {
    /// Columns.
    pub cols: usize,
    /// Height of each panel, pixels.
    pub panel_height: u32,
    /// The panels, row by row.
    pub panels: Vec<XyPanel>,
    /// Legend below the grid.
    pub legend: Vec<LegendEntry>,
}

/// Most panels of an [`XyGrid`] drawn, and most points of one layer.
pub const XY_PANELS: usize = 40;
/// See [`XY_PANELS`].
pub const XY_POINTS: usize = 20_000;

/// What a figure draws.
#[derive(Clone, Debug)]
pub enum Chart {
    /// Small multiples with their own x–y scales.
    Xy(XyGrid),
    /// Time-series panels.
    Panels(Panels),
    /// A matrix heat map.
    Heatmap(Heatmap),
    /// A forest plot.
    Forest(Forest),
    /// An alluvial (Sankey) diagram of stages.
    Alluvial(Alluvial),
}

/// One node of an alluvial stage.
#[derive(Clone, Debug, PartialEq)]
pub struct AlluvialNode {
    /// Label (a country, "other", "left the field").
    pub label: String,
    /// Colour of the node and of the bands leaving it.
    pub color: Rgb,
}

/// An alluvial diagram: columns of nodes (stages) and the counts flowing between neighbours.
#[derive(Clone, Debug, PartialEq)]
pub struct Alluvial {
    /// Stage titles, left to right.
    pub stages: Vec<String>,
    /// Nodes per stage, top to bottom.
    pub nodes: Vec<Vec<AlluvialNode>>,
    /// Between stage s and s + 1: (node in s, node in s + 1, count).
    pub flows: Vec<Vec<(usize, usize, f64)>>,
}

/// A figure: file name, title, caption (for the report) and what to draw.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File stem (`shares` → `shares.svg`, `shares.png`).
    pub name: String,
    /// Title drawn at the top.
    pub title: String,
    /// One or two sentences on how to read it (used as the report's caption).
    pub caption: String,
    /// Notes printed under the chart, in the image itself (what was grouped or left out, which
    /// estimates rest on few agents), so a figure copied into a slide or paper keeps them.
    pub notes: Vec<String>,
    /// What to draw.
    pub chart: Chart,
}

/// Text as a figure shows it: control characters (not allowed anywhere in XML, so an SVG
/// holding one is not well-formed) and the non-characters U+FFFE/U+FFFF become U+FFFD, and the
/// text is clipped to `max` characters, so no label can make a figure unbounded.
pub fn clean_text(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.pop();
        out.push('\u{2026}');
    }
    out
}

impl Figure {
    /// The figure with every text cleaned and clipped ([`clean_text`]): what the renderers draw.
    pub fn cleaned(&self) -> Figure {
        let c = clean_text;
        let legend = |l: &[LegendEntry]| -> Vec<LegendEntry> {
            l.iter()
                .take(40)
                .map(|e| LegendEntry {
                    label: c(&e.label, 80),
                    ..e.clone()
                })
                .collect()
        };
        let chart = match &self.chart {
            Chart::Panels(p) => Chart::Panels(Panels {
                x_label: c(&p.x_label, 80),
                panels: p
                    .panels
                    .iter()
                    .take(40)
                    .map(|q| Panel {
                        title: c(&q.title, 100),
                        short_title: c(&q.short_title, 40),
                        y_label: c(&q.y_label, 80),
                        ..q.clone()
                    })
                    .collect(),
                legend: legend(&p.legend),
                ..p.clone()
            }),
            Chart::Heatmap(h) => Chart::Heatmap(Heatmap {
                labels: h.labels.iter().map(|l| c(l, 20)).collect(),
                row_title: c(&h.row_title, 80),
                col_title: c(&h.col_title, 80),
                scale_label: c(&h.scale_label, 80),
                ..h.clone()
            }),
            Chart::Alluvial(a) => Chart::Alluvial(Alluvial {
                stages: a.stages.iter().take(8).map(|l| c(l, 60)).collect(),
                nodes: a
                    .nodes
                    .iter()
                    .take(8)
                    .map(|ns| {
                        ns.iter()
                            .take(figures::MAX_ALLUVIAL_NODES)
                            .map(|n| AlluvialNode {
                                label: c(&n.label, 40),
                                ..n.clone()
                            })
                            .collect()
                    })
                    .collect(),
                ..a.clone()
            }),
            Chart::Forest(f) => Chart::Forest(Forest {
                panels: f
                    .panels
                    .iter()
                    .map(|p| ForestPanel {
                        title: c(&p.title, 140),
                        x_label: c(&p.x_label, 120),
                        rows: p
                            .rows
                            .iter()
                            .map(|r| ForestRow {
                                label: c(&r.label, 40),
                                ..r.clone()
                            })
                            .collect(),
                    })
                    .collect(),
                legend: legend(&f.legend),
            }),
            Chart::Xy(g) => Chart::Xy(XyGrid {
                cols: g.cols.clamp(1, 6),
                panel_height: g.panel_height.clamp(60, 900),
                panels: g
                    .panels
                    .iter()
                    .take(XY_PANELS)
                    .map(|p| XyPanel {
                        title: c(&p.title, 100),
                        x_label: c(&p.x_label, 80),
                        y_label: c(&p.y_label, 80),
                        layers: p
                            .layers
                            .iter()
                            .map(|l| match l {
                                XyLayer::Bars { color, bars } => XyLayer::Bars {
                                    color: *color,
                                    bars: bars.iter().take(XY_POINTS).copied().collect(),
                                },
                                XyLayer::Line {
                                    color,
                                    points,
                                    dashed,
                                } => XyLayer::Line {
                                    color: *color,
                                    points: points.iter().take(XY_POINTS).copied().collect(),
                                    dashed: *dashed,
                                },
                                XyLayer::Points {
                                    color,
                                    points,
                                    filled,
                                } => XyLayer::Points {
                                    color: *color,
                                    points: points
                                        .iter()
                                        .take(XY_POINTS)
                                        .map(|&(x, y, r)| (x, y, r.clamp(1.0, 12.0)))
                                        .collect(),
                                    filled: *filled,
                                },
                                other => other.clone(),
                            })
                            .collect(),
                        ..p.clone()
                    })
                    .collect(),
                legend: legend(&g.legend),
            }),
        };
        Figure {
            name: self.name.clone(),
            title: c(&self.title, 200),
            caption: c(&self.caption, 4000),
            notes: self.notes.iter().take(8).map(|n| c(n, 600)).collect(),
            chart,
        }
    }
}

/// The figures of any finished run, experiment or calibration directory.
pub fn figures_for(dir: &Path) -> Result<Vec<Figure>, PlotError> {
    if calibration_dir(dir) {
        return Ok(calibration::calibration_figures(&CalibrationData::read(
            dir,
        )?));
    }
    Ok(match read::kind(dir)? {
        DirKind::Run => figures::run_figures(&read::read_run(dir)?)?,
        DirKind::Experiment => figures::experiment_figures(&read::read_experiment(dir)?),
    })
}

/// Whether `dir` is a calibration directory (`talentflow calibrate`'s `calibration.json`); it
/// is told apart before [`read::kind`], which knows runs and experiments only.
pub fn calibration_dir(dir: &Path) -> bool {
    crate::study::calibrate::read::is_calibration(dir)
}

/// Writes every figure of `dir` as SVG (and PNG unless `svg_only`) into `out` (default
/// `DIR/plots`), atomically, and for a run `migration.csv` (the numbers behind the heat map);
/// returns the files written, in order.
pub fn plot_dir(dir: &Path, out: Option<&Path>, svg_only: bool) -> Result<Vec<PathBuf>, PlotError> {
    let (figures, data) = match read::kind(dir) {
        _ if calibration_dir(dir) => (
            calibration::calibration_figures(&CalibrationData::read(dir)?),
            Vec::new(),
        ),
        Err(e) => return Err(e.into()),
        Ok(DirKind::Run) => {
            let run = read::read_run(dir)?;
            let csv = figures::migration_csv(&run);
            (figures::run_figures(&run)?, vec![("migration.csv", csv)])
        }
        Ok(DirKind::Experiment) => (
            figures::experiment_figures(&read::read_experiment(dir)?),
            Vec::new(),
        ),
    };
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("plots"));
    std::fs::create_dir_all(&out).map_err(|source| OutputError::Io {
        path: out.clone(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, bytes) in &data {
        let path = out.join(name);
        write_atomic(&path, bytes)?;
        written.push(path);
    }
    for f in &figures {
        let path = out.join(format!("{}.svg", f.name));
        write_atomic(&path, render::svg(f)?.as_bytes())?;
        written.push(path);
        if !svg_only {
            let path = out.join(format!("{}.png", f.name));
            write_atomic(&path, &render::png(f)?)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes `v` compactly: `1.2M`, `35k`, `4.1k`, `350`, `0.42`, with a true minus sign.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if !a.is_finite() || a >= 1e12 {
        // Exponent notation keeps the text short at any magnitude.
        return format!("{v:.1e}").replace('-', "\u{2212}");
    }
    let body = if a >= 1e6 {
        format!("{:.1}M", a / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", a / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", a / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{a:.0}")
    } else {
        format!("{a:.2}")
    };
    if v < 0.0 && body.chars().any(|c| matches!(c, '1'..='9')) {
        format!("\u{2212}{body}")
    } else {
        body
    }
}

/// Writes `v` with thousands separators and `decimals` decimals (`12,345.6`).
pub fn thousands(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(i, f)| (i, f));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    let zero = s.chars().all(|c| c == '0' || c == '.');
    if v < 0.0 && !zero {
        format!("\u{2212}{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(1234567.891, 0), "1,234,568");
        assert_eq!(thousands(-1234.5, 1), "\u{2212}1,234.5");
        assert_eq!(thousands(-0.001, 0), "0");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(compact(1_234_567.0), "1.2M");
        assert_eq!(compact(-35_400.0), "\u{2212}35k");
        assert_eq!(compact(4_100.0), "4.1k");
        assert_eq!(compact(350.4), "350");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(-0.2), "\u{2212}0.20");
    }

    #[test]
    fn diverging_scale_ends_and_centre() {
        assert_eq!(diverging(-1.0), TOL_BURD[0]);
        assert_eq!(diverging(0.0), TOL_BURD[4]);
        assert_eq!(diverging(1.0), TOL_BURD[8]);
        assert_eq!(diverging(7.0), TOL_BURD[8]);
        assert_eq!(diverging(f64::NAN), TOL_BURD[4]);
    }

    #[test]
    fn font_registers() {
        register_font().unwrap();
        register_font().unwrap();
    }
}

//! Drawing a [`Figure`] with plotters: the same code draws on the SVG backend (a string) and the
//! bitmap backend (an RGB buffer, encoded to PNG here so the file can be written atomically).
//!
//! Layout is in pixels and depends only on the figure's data and the embedded font's metrics, so
//! the same figure always gives the same bytes. Sizes are bounded whatever the data: text is
//! cleaned and clipped ([`Figure::cleaned`]), the heat map and forest plots draw at most a fixed
//! number of rows, and every axis range is finite.
//!
//! Text in PNGs is laid out by [`text::GlyphBitmap`], not by plotters' bitmap text path, which
//! places each glyph's ink box at the pen position and so drops the side bearings ("talen t");
//! ours places glyphs like a browser does the SVG's `<text>`: same size, same anchors.

mod text;
mod xy;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::{
    compact, diverging, register_font, Alluvial, Chart, Figure, Forest, Format, Heatmap, Layer,
    LegendEntry, Mark, Panel, Panels, PlotError, Rgb, BLUE, FONT, GREY,
};

/// Figure width for panel grids and forest plots, pixels.
const WIDTH: u32 = 1200;
/// Height of the title band.
const TITLE_H: u32 = 58;
/// Title text size.
const TITLE_FONT: f64 = 26.0;
/// Legend text size and row height.
const LEGEND_FONT: f64 = 17.0;
const LEGEND_ROW: u32 = 30;
/// Note text size and line height.
const NOTE_FONT: f64 = 16.0;
const NOTE_LINE: u32 = 21;
/// Most heat-map rows drawn (the figures group beyond [`super::figures::MAX_HEAT`]).
const HEAT_ROWS: usize = 40;
/// Most forest rows drawn per panel and panels per figure.
const FOREST_ROWS: usize = 60;
const FOREST_PANELS: usize = 8;
/// Most lines of notes under a figure.
const NOTE_LINES: usize = 12;
/// Values beyond this magnitude are drawn at it, so every axis range is finite (a span of
/// ±1e308 overflows, and plotters would search for ticks forever).
const AXIS_LIMIT: f64 = 1e300;

trait Ctx<T> {
    fn ctx(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn style(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Width of `s` in pixels at plotters size `size`, as drawn (SVG and PNG alike).
fn text_width(s: &str, size: f64) -> u32 {
    text::advance(s, size).ceil() as u32
}

/// `s` cut (with an ellipsis) to fit `max` pixels at `size`.
fn fit(s: &str, size: f64, max: u32) -> String {
    if text_width(s, size) <= max {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let cut: String = chars[..mid].iter().collect::<String>() + "\u{2026}";
        if text_width(&cut, size) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().collect::<String>() + "\u{2026}"
}

/// Greedy word wrap of `s` to lines of at most `max` pixels at `size`.
fn wrap(s: &str, size: f64, max: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size) <= max || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(|l| fit(&l, size, max)).collect()
}

/// The figure as an SVG document.
pub fn svg(fig: &Figure) -> Result<String, PlotError> {
    register_font()?;
    let fig = fig.cleaned();
    let size = size(&fig);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&fig, &root)
            .and_then(|()| root.present().ctx())
            .map_err(|message| PlotError::Draw {
                figure: fig.name.clone(),
                message,
            })?;
    }
    Ok(out)
}

/// The figure as a PNG image (8-bit RGB).
pub fn png(fig: &Figure) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let fig = fig.cleaned();
    let (w, h) = size(&fig);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = text::GlyphBitmap::new(BitMapBackend::with_buffer(&mut pixels, (w, h)));
        let root = backend.into_drawing_area();
        draw(&fig, &root)
            .and_then(|()| root.present().ctx())
            .map_err(|message| PlotError::Draw {
                figure: fig.name.clone(),
                message,
            })?;
    }
    let err = |e: png::EncodingError| PlotError::Png {
        figure: fig.name.clone(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&pixels).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// The lines of the notes under a figure `width` pixels wide.
fn note_lines(fig: &Figure, width: u32) -> Vec<String> {
    let mut lines: Vec<String> = fig
        .notes
        .iter()
        .flat_map(|n| wrap(n, NOTE_FONT, width.saturating_sub(48)))
        .collect();
    lines.truncate(NOTE_LINES);
    lines
}

fn notes_height(fig: &Figure, width: u32) -> u32 {
    match note_lines(fig, width).len() as u32 {
        0 => 0,
        n => n * NOTE_LINE + 12,
    }
}

/// Pixel size of a figure (of its cleaned text: call on [`Figure::cleaned`]).
pub fn size(fig: &Figure) -> (u32, u32) {
    // Layout measures text with the embedded font; without it every estimate would differ.
    register_font().ok();
    let (w, h) = match &fig.chart {
        Chart::Panels(p) => {
            let rows = p.panels.len().div_ceil(p.cols.max(1)) as u32;
            (
                WIDTH,
                TITLE_H + rows * p.panel_height + legend_height(&p.legend, WIDTH),
            )
        }
        Chart::Heatmap(h) => heatmap_geometry(h).size,
        Chart::Xy(g) => (
            WIDTH,
            TITLE_H + xy::rows(g) * g.panel_height + legend_height(&g.legend, WIDTH),
        ),
        Chart::Alluvial(_) => (WIDTH, TITLE_H + ALLUVIAL_BODY),
        Chart::Forest(f) => (
            WIDTH,
            TITLE_H
                + f.panels
                    .iter()
                    .take(FOREST_PANELS)
                    .map(forest_panel_height)
                    .sum::<u32>()
                + legend_height(&f.legend, WIDTH),
        ),
    };
    (w, h + notes_height(fig, w))
}

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    root.fill(&WHITE).ctx()?;
    let (width, height) = root.dim_in_pixel();
    let notes_h = notes_height(fig, width);
    let (chart, notes) = root.split_vertically(height - notes_h);
    let (title, body) = chart.split_vertically(TITLE_H);
    let mut title_size = TITLE_FONT;
    while title_size > 18.0 && text_width(&fig.title, title_size) + 48 > width {
        title_size -= 1.0;
    }
    title
        .draw(&Text::new(
            fit(&fig.title, title_size, width.saturating_sub(48)),
            (24, 16),
            style(title_size),
        ))
        .ctx()?;
    let chart_h = height - notes_h;
    match &fig.chart {
        Chart::Panels(p) => {
            let legend_h = legend_height(&p.legend, width);
            let (grid, legend) = body.split_vertically(chart_h - TITLE_H - legend_h);
            draw_panels(&grid, p)?;
            draw_legend(&legend, &p.legend)?;
        }
        Chart::Heatmap(h) => draw_heatmap(&chart, h)?,
        Chart::Xy(g) => {
            let legend_h = legend_height(&g.legend, width);
            let (grid, legend) = body.split_vertically(chart_h - TITLE_H - legend_h);
            xy::draw_grid(&grid, g)?;
            draw_legend(&legend, &g.legend)?;
        }
        Chart::Alluvial(a) => draw_alluvial(&body, a)?,
        Chart::Forest(f) => {
            let legend_h = legend_height(&f.legend, width);
            let (panels, legend) = body.split_vertically(chart_h - TITLE_H - legend_h);
            draw_forest(&panels, f)?;
            draw_legend(&legend, &f.legend)?;
        }
    }
    for (i, line) in note_lines(fig, width).into_iter().enumerate() {
        notes
            .draw(&Text::new(
                line,
                (24, 2 + (i as u32 * NOTE_LINE) as i32),
                (FONT, NOTE_FONT).into_font().color(&RGBColor(60, 60, 60)),
            ))
            .ctx()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- legend

const MARK_W: u32 = 30;
const ENTRY_GAP: u32 = 34;

fn entry_width(e: &LegendEntry) -> u32 {
    MARK_W + 8 + text_width(&e.label, LEGEND_FONT) + ENTRY_GAP
}

/// Entries split into rows that fit `width` (minus margins).
fn legend_rows(entries: &[LegendEntry], width: u32) -> Vec<Vec<&LegendEntry>> {
    let mut rows: Vec<Vec<&LegendEntry>> = Vec::new();
    let mut used = 0;
    for e in entries {
        let w = entry_width(e);
        match rows.last_mut() {
            Some(row) if used + w <= width.saturating_sub(60) => {
                row.push(e);
                used += w;
            }
            _ => {
                rows.push(vec![e]);
                used = w;
            }
        }
    }
    rows
}

fn legend_height(entries: &[LegendEntry], width: u32) -> u32 {
    match legend_rows(entries, width).len() as u32 {
        0 => 12,
        n => n * LEGEND_ROW + 24,
    }
}

fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    color: Rgb,
    mark: Mark,
) -> Result<(), String> {
    let c = rgb(color);
    let w = MARK_W as i32;
    match mark {
        Mark::Square => area
            .draw(&Rectangle::new(
                [(x + 4, y - 9), (x + w - 4, y + 9)],
                c.filled(),
            ))
            .ctx(),
        Mark::Line => area
            .draw(&PathElement::new(
                vec![(x, y), (x + w, y)],
                c.stroke_width(3),
            ))
            .ctx(),
        Mark::Dashed => {
            for i in 0..3 {
                let x0 = x + i * 12;
                area.draw(&PathElement::new(
                    vec![(x0, y), (x0 + 7, y)],
                    c.stroke_width(3),
                ))
                .ctx()?;
            }
            Ok(())
        }
        Mark::Dot => area.draw(&Circle::new((x + w / 2, y), 7, c.filled())).ctx(),
        Mark::Ring => {
            area.draw(&Circle::new((x + w / 2, y), 7, WHITE.filled()))
                .ctx()?;
            area.draw(&Circle::new((x + w / 2, y), 7, c.stroke_width(2)))
                .ctx()
        }
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    for (r, row) in legend_rows(entries, width).iter().enumerate() {
        let total: u32 = row.iter().map(|e| entry_width(e)).sum::<u32>() - ENTRY_GAP;
        let mut x = (width.saturating_sub(total) / 2) as i32;
        let y = 10 + (r as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        for e in row {
            draw_mark(area, (x, y), e.color, e.mark)?;
            area.draw(&Text::new(
                fit(&e.label, LEGEND_FONT, width.saturating_sub(60 + MARK_W + 8)),
                (x + MARK_W as i32 + 8, y),
                style(LEGEND_FONT).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .ctx()?;
            x += entry_width(e) as i32;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- axes

/// Decimals that tell apart ticks over a range of `span` (about five ticks).
fn decimals(span: f64) -> usize {
    let step = span / 5.0;
    if step.is_finite() && step > 0.0 {
        (-libm::log10(step).floor()).clamp(0.0, 6.0) as usize
    } else {
        0
    }
}

/// A value-axis tick label.
fn tick_label(v: f64, span: f64, format: Format) -> String {
    if v.abs() < span * 1e-9 {
        return if format == Format::Percent { "0%" } else { "0" }.into();
    }
    let minus = |s: String| s.replace('-', "\u{2212}");
    match format {
        Format::Percent if v.abs() < 1e10 => {
            minus(format!("{:.*}%", decimals(span * 100.0), v * 100.0))
        }
        _ => {
            let big = v.abs().max(span);
            if big >= 1e12 || !big.is_finite() {
                // Exponent notation keeps a label short at any magnitude.
                minus(format!("{v:.2e}"))
            } else if big >= 1e6 {
                minus(format!("{:.*}M", decimals(span / 1e6), v / 1e6))
            } else if big >= 1e4 {
                minus(format!("{:.*}k", decimals(span / 1e3), v / 1e3))
            } else {
                minus(format!("{:.*}", decimals(span), v))
            }
        }
    }
}

/// A time-axis tick label: whole years over long runs, tenths over short ones.
fn year_label(v: f64, span: f64) -> String {
    if span >= 4.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `v` limited to ±[`AXIS_LIMIT`].
fn limited(v: f64) -> f64 {
    v.clamp(-AXIS_LIMIT, AXIS_LIMIT)
}

/// A finite, non-empty range covering `lo..hi`.
fn finite_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (limited(lo), limited(hi));
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        (0.0, 1.0)
    } else if hi == lo {
        let d = (lo.abs() * 0.05).max(1e-9);
        (lo - d, hi + d)
    } else {
        (lo, hi)
    }
}

/// Round tick positions in `lo..=hi`, about `target` of them (1, 2, 2.5 or 5 × 10^k apart).
fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / target.max(1) as f64;
    // 10^k at or below the raw step.
    let magnitude = libm::pow(10.0, libm::log10(raw).floor());
    // No 2.5: every tick of a step 1, 2 or 5 × 10^k reads exactly with the step's decimals.
    // The step whose number of intervals is closest to the target.
    let target = target.max(1) as f64;
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .min_by(|a, b| {
            let miss = |s: f64| (span / s - target).abs();
            miss(*a).total_cmp(&miss(*b))
        })
        .unwrap_or(magnitude);
    let first = (lo / step).ceil();
    let last = (hi / step).floor();
    if !(first.is_finite() && last.is_finite()) || last - first > 50.0 {
        return vec![lo, hi];
    }
    let mut ticks = Vec::new();
    let mut i = first;
    while i <= last {
        // Exactly zero rather than 1e-17, so its label reads "0".
        let v = i * step;
        ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        i += 1.0;
    }
    ticks
}

/// Ticks of a time axis that always include its first and last year: round ticks in between,
/// none closer to an end than 0.6 steps.
fn time_ticks(x0: f64, x1: f64, target: usize) -> Vec<f64> {
    // A round step that divides the run: ticks from the first year to the last.
    let span = x1 - x0;
    for step in [
        0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0,
    ] {
        let intervals = span / step;
        if intervals <= target as f64 + 0.5 && (intervals - intervals.round()).abs() < 1e-9 {
            return (0..=intervals.round() as usize)
                .map(|i| x0 + i as f64 * step)
                .collect();
        }
    }
    let inner = nice_ticks(x0, x1, target);
    let step = match inner.as_slice() {
        [a, b, ..] => b - a,
        _ => x1 - x0,
    };
    let mut ticks = vec![x0];
    ticks.extend(
        inner
            .into_iter()
            .filter(|t| *t - x0 >= 0.6 * step && x1 - *t >= 0.6 * step),
    );
    ticks.push(x1);
    ticks
}

/// The span whose [`decimals`] are those of a tick step (labels read exactly at every tick).
fn label_span(ticks: &[f64], fallback: f64) -> f64 {
    match ticks {
        [a, b, ..] if b > a => (b - a) * 5.0,
        _ => fallback,
    }
}

/// A linear value axis with the tick positions given, instead of plotters' own: the round
/// ticks of [`nice_ticks`] minus those that would crowd the labelled start and end values.
struct TickAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        // As plotters maps an f64 range, so the same figure draws the same.
        let logic = (*v - self.lo) / (self.hi - self.lo);
        let length = limit.1 - limit.0;
        if length == 0 || !logic.is_finite() {
            return if logic < 0.0 { limit.0 } else { limit.1 };
        }
        if length > 0 {
            limit.0 + (length as f64 * logic + 1e-3).floor() as i32
        } else {
            limit.0 + (length as f64 * logic - 1e-3).ceil() as i32
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.max_num_points() == 0 {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn tick_axis(lo: f64, hi: f64, ticks: Vec<f64>) -> TickAxis {
    TickAxis { lo, hi, ticks }
}

// ---------------------------------------------------------------- panels

fn y_range(p: &Panel) -> (f64, f64) {
    if let Some((lo, hi)) = p.y_range {
        return finite_range(lo, hi);
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut stacked = false;
    for layer in &p.layers {
        match layer {
            Layer::Line { values, .. } => {
                for &v in values.iter().filter(|v| v.is_finite()) {
                    lo = lo.min(limited(v));
                    hi = hi.max(limited(v));
                }
            }
            Layer::Stack { bands } => {
                stacked = true;
                let n = bands.first().map_or(0, |(_, v)| v.len());
                for t in 0..n {
                    let top: f64 = bands
                        .iter()
                        .filter_map(|(_, v)| v.get(t))
                        .filter(|v| v.is_finite())
                        .map(|v| limited(*v))
                        .sum();
                    hi = hi.max(limited(top));
                }
                lo = lo.min(0.0);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    // A flat series still gets a visible range; small wiggles are not blown up to full height.
    let pad = ((hi - lo) * 0.08)
        .max(hi.abs().max(lo.abs()) * 0.02)
        .max(1e-9);
    let mut y0 = lo - pad;
    if stacked || (lo >= 0.0 && y0 < 0.0) {
        y0 = y0.max(0.0);
    }
    finite_range(y0, hi + pad)
}

fn draw_panels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panels,
) -> Result<(), String> {
    let cols = p.cols.max(1);
    let rows = p.panels.len().div_ceil(cols);
    let cells = area.split_evenly((rows, cols));
    for (i, (panel, cell)) in p.panels.iter().zip(&cells).enumerate() {
        // Axis titles once per row and column where neighbours repeat them: less ink, same facts.
        let (col, below) = (i % cols, i + cols);
        let y_label = if col > 0 && p.panels[i - 1].y_label == panel.y_label {
            ""
        } else {
            panel.y_label.as_str()
        };
        let x_label = if below < p.panels.len() {
            ""
        } else {
            p.x_label.as_str()
        };
        draw_panel(cell, panel, &p.x, x_label, y_label)?;
    }
    Ok(())
}

/// First and last finite value of a line layer.
fn ends_of(layer: &Layer) -> Option<(f64, f64)> {
    let Layer::Line { values, .. } = layer else {
        return None;
    };
    let mut finite = values.iter().copied().filter(|v| v.is_finite());
    let first = finite.next()?;
    Some((first, finite.next_back().unwrap_or(first)))
}

/// Vertical pixel positions of two labels, pushed apart to at least `gap` if closer.
fn spread(a: f64, b: f64, gap: f64) -> (f64, f64) {
    if (a - b).abs() >= gap {
        return (a, b);
    }
    let mid = (a + b) / 2.0;
    if a <= b {
        (mid - gap / 2.0, mid + gap / 2.0)
    } else {
        (mid + gap / 2.0, mid - gap / 2.0)
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    x: &[f64],
    x_label: &str,
    y_label: &str,
) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let small = w < 420;
    let (caption, labels, desc) = if small {
        (17.0, 13.0, 14.0)
    } else {
        (20.0, 15.0, 16.0)
    };
    let y_area = if small { 64 } else { 92 };
    let x_area = if small { 44 } else { 54 };
    let x0 = x.first().copied().unwrap_or(0.0);
    let mut x1 = x.last().copied().unwrap_or(1.0);
    if x1.partial_cmp(&x0) != Some(std::cmp::Ordering::Greater) {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = y_range(p);
    let y_span = y1 - y0;
    // The title gets its own band, and the plot a margin above it, so a wide title never meets
    // the top tick label (which sits half above the plot's top edge).
    let title_h = (caption * 1.4) as u32 + 4;
    let top_margin = (labels * 0.75) as u32 + 2;
    let (title_band, area) = area.split_vertically(title_h);
    let area = &area;
    let plot_h = h.saturating_sub(title_h + top_margin + 4 + x_area).max(40) as f64;
    let to_px = |v: f64| (y1 - v) / y_span * plot_h;
    let ends = p.ends.and_then(|i| p.layers.get(i)).and_then(ends_of);
    let gap = labels * 1.6;
    let mut ticks = nice_ticks(y0, y1, if small { 5 } else { 7 });
    let y_label_span = label_span(&ticks, y_span);
    if let Some((a, b)) = ends {
        ticks.retain(|t| [a, b].iter().all(|e| (to_px(*t) - to_px(*e)).abs() >= gap));
    }
    let plot_w = w.saturating_sub(y_area + 40);
    let x_ticks = ((plot_w / 64) as usize).clamp(3, 11);
    let title_room = w.saturating_sub(12);
    let title = if text_width(&p.title, caption) <= title_room || p.short_title.is_empty() {
        fit(&p.title, caption, title_room)
    } else {
        fit(&p.short_title, caption, title_room)
    };
    title_band
        .draw(&Text::new(
            title,
            ((w / 2) as i32, 4),
            style(caption).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .ctx()?;
    let mut chart = ChartBuilder::on(area)
        .margin_top(top_margin)
        .margin_left(6)
        .margin_right(if small { 16 } else { 26 })
        .margin_bottom(4)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            tick_axis(x0, x1, time_ticks(x0, x1, x_ticks)),
            tick_axis(y0, y1, ticks),
        )
        .ctx()?;
    let x_span = x1 - x0;
    let xfmt = |v: &f64| year_label(*v, x_span);
    let yfmt = |v: &f64| tick_label(*v, y_label_span, p.format);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(style(labels))
        .axis_desc_style(style(desc))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(80, 80, 80))
        .draw()
        .ctx()?;
    for layer in &p.layers {
        match layer {
            Layer::Stack { bands } => {
                let mut base = vec![0.0; x.len()];
                for (color, values) in bands {
                    let top: Vec<f64> = base
                        .iter()
                        .zip(values)
                        .map(|(b, v)| if v.is_finite() { limited(b + v) } else { *b })
                        .collect();
                    let outline: Vec<(f64, f64)> = x
                        .iter()
                        .zip(&top)
                        .map(|(&a, &b)| (a, b))
                        .chain(x.iter().zip(&base).rev().map(|(&a, &b)| (a, b)))
                        .collect();
                    chart
                        .draw_series(std::iter::once(Polygon::new(outline, rgb(*color).filled())))
                        .ctx()?;
                    // A thin white edge keeps neighbouring bands apart for every reader.
                    chart
                        .draw_series(LineSeries::new(
                            x.iter().zip(&top).map(|(&a, &b)| (a, b)),
                            WHITE.stroke_width(1),
                        ))
                        .ctx()?;
                    base = top;
                }
            }
            Layer::Line {
                color,
                values,
                dashed,
            } => {
                // A missing value (NaN) leaves a point out rather than drawing it at the axis.
                let points = x
                    .iter()
                    .zip(values)
                    .filter(|(_, v)| v.is_finite())
                    .map(|(&a, &b)| (a, limited(b)));
                if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(
                            points,
                            7,
                            5,
                            rgb(*color).stroke_width(2),
                        ))
                        .ctx()?;
                } else {
                    chart
                        .draw_series(LineSeries::new(points, rgb(*color).stroke_width(3)))
                        .ctx()?;
                }
            }
        }
    }
    // The start and end values of the marked series, on the value axis in the series' colour,
    // with one more decimal than the round ticks.
    if let (Some((a, b)), Some(layer)) = (ends, p.ends.and_then(|i| p.layers.get(i))) {
        let colour = match layer {
            Layer::Line { color, .. } => rgb(*color),
            Layer::Stack { .. } => BLACK,
        };
        let base = area.get_base_pixel();
        let (left, ya) = chart.backend_coord(&(x0, limited(a)));
        let (_, yb) = chart.backend_coord(&(x0, limited(b)));
        let (la, lb) = spread(ya as f64, yb as f64, gap);
        let values = if a == b {
            vec![(a, ya, la)]
        } else {
            vec![(a, ya, la), (b, yb, lb)]
        };
        for (v, at, label_y) in values {
            let (px, py) = (left - base.0, at - base.1);
            area.draw(&PathElement::new(
                vec![(px - 6, py), (px, py)],
                colour.stroke_width(2),
            ))
            .ctx()?;
            area.draw(&Text::new(
                tick_label(v, y_label_span / 10.0, p.format),
                (px - 9, label_y as i32 - base.1),
                (FONT, labels)
                    .into_font()
                    .color(&colour)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .ctx()?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- heat map

struct HeatGeometry {
    size: (u32, u32),
    n: usize,
    cell: u32,
    left: u32,
    top: u32,
    bar_x: u32,
}

fn heatmap_geometry(h: &Heatmap) -> HeatGeometry {
    let n = h.labels.len().clamp(1, HEAT_ROWS);
    let cell = (680 / n as u32).clamp(30, 64);
    let code_w = h
        .labels
        .iter()
        .take(n)
        .map(|l| text_width(l, 15.0))
        .max()
        .unwrap_or(30);
    let left = 60 + code_w + 12;
    let top = TITLE_H + 70;
    let bar_x = left + n as u32 * cell + 48;
    let scale_lines = scale_label_lines(h, n as u32 * cell);
    let width = (bar_x + 28 + 110 + 50 + 20 * (scale_lines.len() as u32).saturating_sub(1))
        .max(text_width(&h.col_title, 17.0) + left + 40)
        .max(760);
    HeatGeometry {
        size: (width, top + n as u32 * cell + 36),
        n,
        cell,
        left,
        top,
        bar_x,
    }
}

/// The colour bar's label in lines as long as the bar (a heat map of three countries is short).
fn scale_label_lines(h: &Heatmap, span: u32) -> Vec<String> {
    let mut lines = wrap(&h.scale_label, 15.0, span.max(100));
    lines.truncate(3);
    lines
}

/// Position of `v` on the symmetric-log scale, in [-1, 1]: linear within ±`unit`, logarithmic
/// beyond, with ±`vmax` at the ends.
fn symlog(v: f64, unit: f64, vmax: f64) -> f64 {
    let f = |x: f64| x.signum() * libm::log1p(x.abs() / unit);
    let top = f(vmax);
    if top > 0.0 && v.is_finite() {
        (f(limited(v)) / top).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Colour-bar ticks: 0, ±unit × 10^k up to the largest value, and ±the largest value.
fn symlog_ticks(unit: f64, vmax: f64) -> Vec<f64> {
    let mut ticks = vec![0.0, vmax, -vmax];
    let mut v = unit;
    while v < vmax * 0.6 && ticks.len() < 16 {
        ticks.push(v);
        ticks.push(-v);
        v *= 10.0;
    }
    ticks
}

// ---------------------------------------------------------------- alluvial

/// Height of an alluvial's body (stage titles, nodes, bottom margin).
const ALLUVIAL_BODY: u32 = ALLUVIAL_TOP + ALLUVIAL_H + 24;
const ALLUVIAL_TOP: u32 = 40;
const ALLUVIAL_H: u32 = 520;
/// Smallest node height, so every node's label has room (labels are 15 px).
const ALLUVIAL_MIN_NODE: f64 = 20.0;
const ALLUVIAL_GAP: f64 = 8.0;
const ALLUVIAL_BAR: i32 = 22;
/// Room for the first stage's labels (left) and the last stage's (right).
const ALLUVIAL_SIDE: i32 = 250;

/// Per node of one stage: (top, height) in pixels from the top of the node area. Every node
/// gets at least [`ALLUVIAL_MIN_NODE`]; the rest of the height is shared in proportion to the
/// counts.
fn alluvial_nodes(totals: &[f64]) -> Vec<(f64, f64)> {
    let n = totals.len() as f64;
    let sum: f64 = totals.iter().sum();
    let free =
        (ALLUVIAL_H as f64 - ALLUVIAL_GAP * (n - 1.0).max(0.0) - ALLUVIAL_MIN_NODE * n).max(0.0);
    let mut y = 0.0;
    totals
        .iter()
        .map(|&t| {
            let share = if sum > 0.0 { t / sum } else { 0.0 };
            let h = ALLUVIAL_MIN_NODE + free * share;
            let at = (y, h);
            y += h + ALLUVIAL_GAP;
            at
        })
        .collect()
}

fn draw_alluvial<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    a: &Alluvial,
) -> Result<(), String> {
    let (width, _) = root.dim_in_pixel();
    let stages = a.nodes.len();
    if stages < 2 {
        return Ok(());
    }
    let span = width as i32 - 2 * ALLUVIAL_SIDE - ALLUVIAL_BAR;
    let x = |s: usize| ALLUVIAL_SIDE + span * s as i32 / (stages as i32 - 1);
    let top = ALLUVIAL_TOP as f64;
    // Node totals per stage: what flows in (stage > 0) or out (stage 0).
    let mut totals: Vec<Vec<f64>> = a.nodes.iter().map(|ns| vec![0.0; ns.len()]).collect();
    for (s, flows) in a.flows.iter().enumerate().take(stages - 1) {
        for &(i, j, n) in flows {
            if s == 0 {
                if let Some(t) = totals[0].get_mut(i) {
                    *t += n;
                }
            }
            if let Some(t) = totals[s + 1].get_mut(j) {
                *t += n;
            }
        }
    }
    let layout: Vec<Vec<(f64, f64)>> = totals.iter().map(|t| alluvial_nodes(t)).collect();
    // Bands, stacked within each node in the order of the node at the other end.
    for (s, flows) in a.flows.iter().enumerate().take(stages - 1) {
        let mut out_used = vec![0.0; a.nodes[s].len()];
        let mut in_used = vec![0.0; a.nodes[s + 1].len()];
        let mut order: Vec<&(usize, usize, f64)> = flows.iter().collect();
        order.sort_by_key(|f| (f.0, f.1));
        let mut starts = Vec::new();
        for f in &order {
            let (i, _, n) = **f;
            let (Some(&(y0, h0)), Some(&t0)) = (layout[s].get(i), totals[s].get(i)) else {
                continue;
            };
            let th = if t0 > 0.0 { n / t0 * h0 } else { 0.0 };
            starts.push(Some((y0 + out_used[i], th)));
            out_used[i] += th;
        }
        let mut by_target: Vec<usize> = (0..order.len()).collect();
        by_target.sort_by_key(|&k| (order[k].1, order[k].0));
        let mut ends = vec![None; order.len()];
        for k in by_target {
            let (_, j, n) = *order[k];
            let (Some(&(y1, h1)), Some(&t1)) = (layout[s + 1].get(j), totals[s + 1].get(j)) else {
                continue;
            };
            let th = if t1 > 0.0 { n / t1 * h1 } else { 0.0 };
            ends[k] = Some((y1 + in_used[j], th));
            in_used[j] += th;
        }
        let (x0, x1) = ((x(s) + ALLUVIAL_BAR) as f64, x(s + 1) as f64);
        for (k, f) in order.iter().enumerate() {
            let (Some(Some((ya, ta))), Some((yb, tb))) = (starts.get(k), ends[k]) else {
                continue;
            };
            let color = a.nodes[s].get(f.0).map_or(GREY, |n| n.color);
            let steps = 24;
            let mut pts: Vec<(i32, i32)> = Vec::with_capacity(2 * steps + 2);
            for e in 0..=steps {
                let u = e as f64 / steps as f64;
                let w = u * u * (3.0 - 2.0 * u);
                let y = ya + (yb - ya) * w;
                pts.push(((x0 + (x1 - x0) * u) as i32, (top + y) as i32));
            }
            for e in (0..=steps).rev() {
                let u = e as f64 / steps as f64;
                let w = u * u * (3.0 - 2.0 * u);
                let y = ya + ta + (yb + tb - ya - ta) * w;
                pts.push(((x0 + (x1 - x0) * u) as i32, (top + y).ceil() as i32));
            }
            root.draw(&Polygon::new(pts, rgb(color).mix(0.42).filled()))
                .ctx()?;
        }
    }
    // Nodes and labels: the first stage's on the left, every other stage's on the right.
    for (s, nodes) in a.nodes.iter().enumerate() {
        let xs = x(s);
        let anchor = if s == 0 { HPos::Right } else { HPos::Left };
        if let Some(title) = a.stages.get(s) {
            root.draw(&Text::new(
                fit(title, 17.0, 2 * ALLUVIAL_SIDE as u32 - 20),
                (xs + ALLUVIAL_BAR / 2, 8),
                style(17.0).pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .ctx()?;
        }
        for (i, node) in nodes.iter().enumerate() {
            let Some(&(y, h)) = layout[s].get(i) else {
                continue;
            };
            let (y0, y1) = ((top + y) as i32, (top + y + h) as i32);
            root.draw(&Rectangle::new(
                [(xs, y0), (xs + ALLUVIAL_BAR, y1)],
                rgb(node.color).filled(),
            ))
            .ctx()?;
            let label = format!("{} {}", node.label, super::thousands(totals[s][i], 0));
            let lx = if s == 0 {
                xs - 8
            } else {
                xs + ALLUVIAL_BAR + 8
            };
            root.draw(&Text::new(
                fit(&label, 15.0, ALLUVIAL_SIDE as u32 - 16),
                (lx, (y0 + y1) / 2),
                style(15.0).pos(Pos::new(anchor, VPos::Center)),
            ))
            .ctx()?;
        }
    }
    Ok(())
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &Heatmap,
) -> Result<(), String> {
    let g = heatmap_geometry(h);
    let n = g.n;
    if h.values.len() < n * n {
        return Err(format!(
            "heat map of {n} rows has {} values",
            h.values.len()
        ));
    }
    let full = h.labels.len();
    let value = |r: usize, c: usize| h.values[r * full + c];
    let (cell, left, top) = (g.cell as i32, g.left as i32, g.top as i32);
    let span = n as i32 * cell;
    let mut vmax = 0.0f64;
    for r in 0..n {
        for c in 0..n {
            let v = value(r, c);
            if v.is_finite() {
                vmax = vmax.max(limited(v).abs());
            }
        }
    }
    let unit = if h.unit.is_finite() && h.unit > 0.0 {
        h.unit
    } else {
        1.0
    };
    let vmax = if vmax > 0.0 { vmax } else { unit };

    root.draw(&Text::new(
        h.col_title.clone(),
        (left + span / 2, top - 64),
        style(17.0).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .ctx()?;
    root.draw(&Text::new(
        h.row_title.clone(),
        (24, top + span / 2),
        style(17.0)
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate270),
    ))
    .ctx()?;
    for (i, label) in h.labels.iter().take(n).enumerate() {
        let centre = i as i32 * cell + cell / 2;
        // Column labels rotate when they would not fit their cell.
        let column = if text_width(label, 15.0) + 4 > g.cell {
            style(15.0)
                .pos(Pos::new(HPos::Left, VPos::Center))
                .transform(FontTransform::Rotate270)
        } else {
            style(15.0).pos(Pos::new(HPos::Center, VPos::Bottom))
        };
        root.draw(&Text::new(
            fit(label, 15.0, 52),
            (left + centre, top - 10),
            column,
        ))
        .ctx()?;
        root.draw(&Text::new(
            label.clone(),
            (left - 10, top + centre),
            style(15.0).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .ctx()?;
    }
    let font = (cell as f64 / 3.4).min(14.0);
    for r in 0..n {
        for c in 0..n {
            let v = value(r, c);
            let (x, y) = (left + c as i32 * cell, top + r as i32 * cell);
            let t = symlog(v, unit, vmax);
            let fill = if r == c {
                RGBColor(235, 235, 235)
            } else {
                rgb(diverging(t))
            };
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                fill.filled(),
            ))
            .ctx()?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                WHITE.stroke_width(1),
            ))
            .ctx()?;
            let label = compact(v);
            let annotate = r != c && text_width(&label, font) + 4 <= g.cell && cell >= 34;
            if annotate {
                let colour = if t.abs() > 0.55 {
                    WHITE
                } else if v == 0.0 {
                    RGBColor(150, 150, 150)
                } else {
                    BLACK
                };
                root.draw(&Text::new(
                    label,
                    (x + cell / 2, y + cell / 2),
                    (FONT, font)
                        .into_font()
                        .color(&colour)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))
                .ctx()?;
            }
        }
    }

    // Colour bar: +max at the top, −max at the bottom, on the cells' scale.
    let bx = g.bar_x as i32;
    let steps = 120;
    for s in 0..steps {
        let y0 = top + span * s / steps;
        let y1 = top + span * (s + 1) / steps;
        let t = 1.0 - 2.0 * (s as f64 + 0.5) / steps as f64;
        root.draw(&Rectangle::new(
            [(bx, y0), (bx + 28, y1.max(y0 + 1))],
            rgb(diverging(t)).filled(),
        ))
        .ctx()?;
    }
    root.draw(&Rectangle::new(
        [(bx, top), (bx + 28, top + span)],
        RGBColor(80, 80, 80).stroke_width(1),
    ))
    .ctx()?;
    let mut ticks: Vec<(i32, f64)> = symlog_ticks(unit, vmax)
        .into_iter()
        .map(|v| {
            let t = symlog(v, unit, vmax);
            (top + ((1.0 - t) / 2.0 * span as f64).round() as i32, v)
        })
        .collect();
    // The ends and zero first, then the decades that do not crowd a label already placed.
    ticks.sort_by_key(|(_, v)| (*v != 0.0 && v.abs() != vmax, v.abs().to_bits()));
    let mut placed: Vec<(i32, f64)> = Vec::new();
    for (y, v) in ticks {
        if placed.iter().all(|(p, _)| (p - y).abs() >= 18) {
            placed.push((y, v));
        }
    }
    for (y, v) in placed {
        let label = if v > 0.0 {
            format!("+{}", compact(v))
        } else {
            compact(v)
        };
        root.draw(&PathElement::new(
            vec![(bx + 28, y), (bx + 34, y)],
            RGBColor(80, 80, 80).stroke_width(1),
        ))
        .ctx()?;
        root.draw(&Text::new(
            label,
            (bx + 38, y),
            style(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .ctx()?;
    }
    // Rotated clockwise, so the first line is the rightmost.
    let lines = scale_label_lines(h, span.max(0) as u32);
    let count = lines.len() as i32;
    for (i, line) in lines.into_iter().enumerate() {
        root.draw(&Text::new(
            line,
            (bx + 120 + 20 * (count - 1 - i as i32), top + span / 2),
            style(15.0)
                .pos(Pos::new(HPos::Center, VPos::Center))
                .transform(FontTransform::Rotate90),
        ))
        .ctx()?;
    }
    Ok(())
}

// ---------------------------------------------------------------- forest plot

fn forest_panel_height(p: &super::ForestPanel) -> u32 {
    44 + 40 * p.rows.len().min(FOREST_ROWS) as u32 + 92
}

fn draw_forest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    f: &Forest,
) -> Result<(), String> {
    let label_w = f
        .panels
        .iter()
        .take(FOREST_PANELS)
        .flat_map(|p| {
            p.rows
                .iter()
                .take(FOREST_ROWS)
                .map(|r| text_width(&r.label, 16.0))
        })
        .max()
        .unwrap_or(60)
        + 36;
    let mut rest = area.clone();
    for p in f.panels.iter().take(FOREST_PANELS) {
        let (panel, below) = rest.split_vertically(forest_panel_height(p));
        rest = below;
        let rows = &p.rows[..p.rows.len().min(FOREST_ROWS)];
        let n = rows.len();
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for r in rows {
            let adjusted = r.adjusted.map_or([f64::NAN; 2], |(a, b)| [a, b]);
            for v in [r.low, r.high, r.estimate].into_iter().chain(adjusted) {
                if v.is_finite() {
                    lo = lo.min(limited(v));
                    hi = hi.max(limited(v));
                }
            }
        }
        let pad = ((hi - lo) * 0.08).max(1e-9);
        let (x0, x1) = finite_range(lo - pad, hi + pad);
        let span = x1 - x0;
        let mut chart = ChartBuilder::on(&panel)
            .caption(fit(&p.title, 19.0, WIDTH - 40), style(19.0))
            .margin_left(10)
            .margin_right(36)
            .margin_top(4)
            .margin_bottom(22)
            .x_label_area_size(62)
            .y_label_area_size(label_w)
            .build_cartesian_2d(
                tick_axis(x0, x1, nice_ticks(x0, x1, 8)),
                -0.5..(n as f64 - 0.5),
            )
            .ctx()?;
        let x_label_span = label_span(&nice_ticks(x0, x1, 8), span);
        let xfmt = |v: &f64| tick_label(*v, x_label_span, Format::Number);
        let yfmt = |_: &f64| String::new();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2)
            .y_label_formatter(&yfmt)
            .x_label_formatter(&xfmt)
            .x_desc(&p.x_label)
            .label_style(style(15.0))
            .axis_desc_style(style(16.0))
            .bold_line_style(RGBColor(228, 228, 228))
            .light_line_style(TRANSPARENT)
            .axis_style(RGBColor(80, 80, 80))
            .draw()
            .ctx()?;
        if x0 <= 0.0 && 0.0 <= x1 {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                    6,
                    5,
                    rgb(GREY).stroke_width(2),
                ))
                .ctx()?;
        }
        let base = panel.get_base_pixel();
        for (i, r) in rows.iter().enumerate() {
            // First arm at the top.
            let y = (n - 1 - i) as f64;
            let excludes_zero = r.low > 0.0 || r.high < 0.0;
            let colour = rgb(if excludes_zero { BLUE } else { GREY });
            let (low, high, estimate) = (limited(r.low), limited(r.high), limited(r.estimate));
            if let Some((a, b)) = r.adjusted {
                let (a, b) = (limited(a), limited(b));
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(a, y), (b, y)],
                        colour.stroke_width(1),
                    )))
                    .ctx()?;
                for end in [a, b] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(end, y - 0.12), (end, y + 0.12)],
                            colour.stroke_width(1),
                        )))
                        .ctx()?;
                }
            }
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(low, y), (high, y)],
                    colour.stroke_width(4),
                )))
                .ctx()?;
            if excludes_zero {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (estimate, y),
                        7,
                        colour.filled(),
                    )))
                    .ctx()?;
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (estimate, y),
                        7,
                        WHITE.filled(),
                    )))
                    .ctx()?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (estimate, y),
                        7,
                        colour.stroke_width(2),
                    )))
                    .ctx()?;
            }
            let (px, py) = chart.backend_coord(&(x0, y));
            panel
                .draw(&Text::new(
                    r.label.clone(),
                    (px - base.0 - 14, py - base.1),
                    style(16.0).pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .ctx()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_resolve_the_range() {
        assert_eq!(tick_label(0.25, 1.0, Format::Percent), "25%");
        assert_eq!(tick_label(0.825, 0.02, Format::Percent), "82.5%");
        assert_eq!(tick_label(125_000.0, 200_000.0, Format::Number), "125k");
        assert_eq!(tick_label(2_500_000.0, 3e6, Format::Number), "2.5M");
        assert_eq!(tick_label(0.15, 0.1, Format::Number), "0.15");
        assert_eq!(tick_label(3.4, 0.9, Format::Number), "3.4");
        assert_eq!(tick_label(0.0, 20_000.0, Format::Number), "0");
        assert_eq!(tick_label(-3.0, 20.0, Format::Number), "\u{2212}3");
        assert_eq!(tick_label(1e300, 2e300, Format::Number), "1.00e300");
        assert_eq!(year_label(2030.0, 10.0), "2030");
        assert_eq!(year_label(2025.5, 2.0), "2025.5");
    }

    #[test]
    fn nice_ticks_are_round_and_bounded() {
        let close = |a: Vec<f64>, b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        assert!(close(
            nice_ticks(0.0, 1.0, 5),
            &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        ));
        assert!(close(nice_ticks(2.75, 3.75, 5), &[2.8, 3.0, 3.2, 3.4, 3.6]));
        // 0.1 wide with about five ticks: 0.02 apart (2.5 steps are never used).
        assert!(close(
            nice_ticks(0.265, 0.37, 5),
            &[0.28, 0.30, 0.32, 0.34, 0.36]
        ));
        assert_eq!(
            time_ticks(2025.0, 2035.0, 7),
            [2025.0, 2027.0, 2029.0, 2031.0, 2033.0, 2035.0]
        );
        assert_eq!(
            time_ticks(2025.0, 2032.0, 3),
            [2025.0, 2028.0, 2030.0, 2032.0]
        );
        assert_eq!(time_ticks(2025.0, 2035.0, 3), [2025.0, 2030.0, 2035.0]);
        let huge = nice_ticks(-1e300, 1e300, 7);
        assert!(
            huge.len() <= 12 && huge.iter().all(|v| v.is_finite()),
            "{huge:?}"
        );
        assert_eq!(finite_range(-f64::MAX, f64::MAX), (-AXIS_LIMIT, AXIS_LIMIT));
        assert_eq!(finite_range(f64::NAN, 1.0), (0.0, 1.0));
    }

    #[test]
    fn symlog_is_linear_near_zero_and_reaches_the_ends() {
        assert_eq!(symlog(0.0, 25.0, 40_000.0), 0.0);
        assert_eq!(symlog(40_000.0, 25.0, 40_000.0), 1.0);
        assert_eq!(symlog(-40_000.0, 25.0, 40_000.0), -1.0);
        // One agent's worth (25) sits at ln 2 / ln(1 + 1600) of the way: about 9%, where a
        // linear scale would put it at 0.06%.
        let t = symlog(25.0, 25.0, 40_000.0);
        assert!(
            (t - libm::log(2.0) / libm::log(1601.0)).abs() < 1e-12,
            "{t}"
        );
    }

    #[test]
    fn text_is_fitted_and_wrapped_to_the_width() {
        register_font().unwrap();
        let long = "word ".repeat(200);
        let lines = wrap(&long, 16.0, 400);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| text_width(l, 16.0) <= 400));
        let cut = fit(&"x".repeat(10_000), 16.0, 300);
        assert!(text_width(&cut, 16.0) <= 300 && cut.ends_with('\u{2026}'));
    }

    #[test]
    fn legend_wraps_to_the_width() {
        let e = |s: &str| LegendEntry {
            label: s.into(),
            color: BLUE,
            mark: Mark::Square,
        };
        let entries: Vec<LegendEntry> =
            (0..12).map(|i| e(&format!("Country number {i}"))).collect();
        register_font().unwrap();
        let rows = legend_rows(&entries, WIDTH);
        assert!(rows.len() > 1);
        for row in &rows {
            let w: u32 = row.iter().map(|e| entry_width(e)).sum();
            assert!(w <= WIDTH - 60 || row.len() == 1);
        }
        assert_eq!(rows.iter().map(Vec::len).sum::<usize>(), 12);
    }
}

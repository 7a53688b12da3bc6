//! Drawing a [`Figure`] with plotters: the same code draws on the SVG backend (a string) and the
//! bitmap backend (an RGB buffer, encoded to PNG here so the file can be written atomically).
//!
//! Layout is in pixels and depends only on the figure's data and the embedded font's metrics, so
//! the same figure always gives the same bytes.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::{
    compact, diverging, register_font, Chart, Figure, Forest, Format, Heatmap, Layer, LegendEntry,
    Mark, Panel, Panels, PlotError, Rgb, BLUE, FONT, GREY,
};

/// Figure width for panel grids and forest plots, pixels.
const WIDTH: u32 = 1200;
/// Height of the title band.
const TITLE_H: u32 = 58;
/// Legend text size and row height.
const LEGEND_FONT: f64 = 17.0;
const LEGEND_ROW: u32 = 30;

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

fn text(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Width of `s` in pixels at `size`, from the embedded font's metrics.
fn text_width(s: &str, size: f64) -> u32 {
    (FONT, size)
        .into_font()
        .box_size(s)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| (s.chars().count() as f64 * size * 0.6) as u32)
}

/// The figure as an SVG document.
pub fn svg(fig: &Figure) -> Result<String, PlotError> {
    register_font()?;
    let size = size(fig);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(fig, &root)
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
    let (w, h) = size(fig);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(fig, &root)
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

/// Pixel size of a figure.
pub fn size(fig: &Figure) -> (u32, u32) {
    // Layout measures text with the embedded font; without it every estimate would differ.
    register_font().ok();
    match &fig.chart {
        Chart::Panels(p) => {
            let rows = p.panels.len().div_ceil(p.cols.max(1)) as u32;
            (
                WIDTH,
                TITLE_H + rows * p.panel_height + legend_height(&p.legend, WIDTH),
            )
        }
        Chart::Heatmap(h) => heatmap_geometry(h).size,
        Chart::Forest(f) => (
            WIDTH,
            TITLE_H
                + f.panels.iter().map(forest_panel_height).sum::<u32>()
                + legend_height(&f.legend, WIDTH),
        ),
    }
}

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    root.fill(&WHITE).ctx()?;
    let (width, height) = root.dim_in_pixel();
    let (title, body) = root.split_vertically(TITLE_H);
    title
        .draw(&Text::new(fig.title.clone(), (24, 16), text(26.0)))
        .ctx()?;
    match &fig.chart {
        Chart::Panels(p) => {
            let legend_h = legend_height(&p.legend, width);
            let (grid, legend) = body.split_vertically(height - TITLE_H - legend_h);
            draw_panels(&grid, p)?;
            draw_legend(&legend, &p.legend)
        }
        Chart::Heatmap(h) => draw_heatmap(root, h),
        Chart::Forest(f) => {
            let legend_h = legend_height(&f.legend, width);
            let (panels, legend) = body.split_vertically(height - TITLE_H - legend_h);
            draw_forest(&panels, f)?;
            draw_legend(&legend, &f.legend)
        }
    }
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
                e.label.clone(),
                (x + MARK_W as i32 + 8, y),
                text(LEGEND_FONT).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .ctx()?;
            x += entry_width(e) as i32;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- axis labels

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
        Format::Percent => minus(format!("{:.*}%", decimals(span * 100.0), v * 100.0)),
        Format::Number => {
            let big = v.abs().max(span);
            if big >= 1e6 {
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
    if span >= 4.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

// ---------------------------------------------------------------- panels

fn y_range(p: &Panel) -> (f64, f64) {
    if let Some(r) = p.y_range {
        return r;
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut stacked = false;
    for layer in &p.layers {
        match layer {
            Layer::Line { values, .. } => {
                for &v in values.iter().filter(|v| v.is_finite()) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
            Layer::Stack { bands } => {
                stacked = true;
                let n = bands.first().map_or(0, |(_, v)| v.len());
                for t in 0..n {
                    let top: f64 = bands
                        .iter()
                        .map(|(_, v)| v[t])
                        .filter(|v| v.is_finite())
                        .sum();
                    hi = hi.max(top);
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
    (y0, hi + pad)
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

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    x: &[f64],
    x_label: &str,
    y_label: &str,
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let small = w < 420;
    let (caption, labels, desc) = if small {
        (17.0, 13.0, 14.0)
    } else {
        (20.0, 15.0, 16.0)
    };
    let y_area = if small { 64 } else { 92 };
    let x0 = x.first().copied().unwrap_or(0.0);
    let mut x1 = x.last().copied().unwrap_or(1.0);
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = y_range(p);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, text(caption))
        .margin_top(4)
        .margin_left(6)
        .margin_right(if small { 16 } else { 26 })
        .margin_bottom(4)
        .x_label_area_size(if small { 44 } else { 54 })
        .y_label_area_size(y_area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .ctx()?;
    let plot_w = w.saturating_sub(y_area + 40);
    let x_ticks = ((plot_w / 64) as usize).clamp(3, 11);
    let (x_span, y_span) = (x1 - x0, y1 - y0);
    let xfmt = |v: &f64| year_label(*v, x_span);
    let yfmt = |v: &f64| tick_label(*v, y_span, p.format);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_labels(x_ticks)
        .y_labels(if small { 5 } else { 7 })
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(text(labels))
        .axis_desc_style(text(desc))
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
                        .map(|(b, v)| if v.is_finite() { b + v } else { *b })
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
                    .map(|(&a, &b)| (a, b));
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
    Ok(())
}

// ---------------------------------------------------------------- heat map

struct HeatGeometry {
    size: (u32, u32),
    cell: u32,
    left: u32,
    top: u32,
    bar_x: u32,
}

fn heatmap_geometry(h: &Heatmap) -> HeatGeometry {
    let n = h.labels.len().max(1) as u32;
    let cell = (680 / n).clamp(30, 64);
    let code_w = h
        .labels
        .iter()
        .map(|l| text_width(l, 15.0))
        .max()
        .unwrap_or(30);
    let left = 60 + code_w + 12;
    let top = TITLE_H + 70;
    let bar_x = left + n * cell + 48;
    let width = (bar_x + 28 + 110 + 50)
        .max(text_width(&h.col_title, 26.0) + 80)
        .max(760);
    HeatGeometry {
        size: (width, top + n * cell + 36),
        cell,
        left,
        top,
        bar_x,
    }
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &Heatmap,
) -> Result<(), String> {
    let g = heatmap_geometry(h);
    let n = h.labels.len();
    let (cell, left, top) = (g.cell as i32, g.left as i32, g.top as i32);
    let span = n as i32 * cell;
    let vmax = h.values.iter().fold(
        0.0f64,
        |m, v| if v.is_finite() { m.max(v.abs()) } else { m },
    );
    let scale = if vmax > 0.0 { vmax } else { 1.0 };

    root.draw(&Text::new(
        h.col_title.clone(),
        (left + span / 2, top - 64),
        text(17.0).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .ctx()?;
    root.draw(&Text::new(
        h.row_title.clone(),
        (24, top + span / 2),
        text(17.0)
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate270),
    ))
    .ctx()?;
    for (i, label) in h.labels.iter().enumerate() {
        let centre = i as i32 * cell + cell / 2;
        root.draw(&Text::new(
            label.clone(),
            (left + centre, top - 10),
            text(15.0).pos(Pos::new(HPos::Center, VPos::Bottom)),
        ))
        .ctx()?;
        root.draw(&Text::new(
            label.clone(),
            (left - 10, top + centre),
            text(15.0).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .ctx()?;
    }
    let annotate = cell >= 34;
    let font = (cell as f64 / 3.4).min(14.0);
    for r in 0..n {
        for c in 0..n {
            let v = h.values[r * n + c];
            let (x, y) = (left + c as i32 * cell, top + r as i32 * cell);
            let fill = if r == c {
                RGBColor(235, 235, 235)
            } else {
                rgb(diverging(v / scale))
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
            if annotate && r != c {
                let strong = (v / scale).abs() > 0.55;
                let colour = if strong {
                    WHITE
                } else if v == 0.0 {
                    RGBColor(150, 150, 150)
                } else {
                    BLACK
                };
                root.draw(&Text::new(
                    compact(v),
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

    // Colour bar: +max at the top, −max at the bottom.
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
    for i in 0..=4 {
        let t = 1.0 - i as f64 / 2.0;
        let y = top + span * i / 4;
        let v = t * vmax;
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
            text(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .ctx()?;
    }
    root.draw(&Text::new(
        h.scale_label.clone(),
        (bx + 120, top + span / 2),
        text(15.0)
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate90),
    ))
    .ctx()?;
    Ok(())
}

// ---------------------------------------------------------------- forest plot

fn forest_panel_height(p: &super::ForestPanel) -> u32 {
    44 + 40 * p.rows.len() as u32 + 92
}

fn draw_forest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    f: &Forest,
) -> Result<(), String> {
    let label_w = f
        .panels
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| text_width(&r.label, 16.0)))
        .max()
        .unwrap_or(60)
        + 36;
    let heights: Vec<u32> = f.panels.iter().map(forest_panel_height).collect();
    let mut rest = area.clone();
    for (p, h) in f.panels.iter().zip(heights) {
        let (panel, below) = rest.split_vertically(h);
        rest = below;
        let n = p.rows.len();
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for r in &p.rows {
            for v in [r.low, r.high, r.estimate] {
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        let pad = ((hi - lo) * 0.08).max(1e-9);
        let (x0, x1) = (lo - pad, hi + pad);
        let mut chart = ChartBuilder::on(&panel)
            .caption(&p.title, text(19.0))
            .margin_left(10)
            .margin_right(36)
            .margin_top(4)
            .margin_bottom(22)
            .x_label_area_size(62)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x0..x1, -0.5..(n as f64 - 0.5))
            .ctx()?;
        let span = x1 - x0;
        let xfmt = |v: &f64| tick_label(*v, span, Format::Number);
        let yfmt = |_: &f64| String::new();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(2)
            .y_label_formatter(&yfmt)
            .x_labels(9)
            .x_label_formatter(&xfmt)
            .x_desc(&f.x_label)
            .label_style(text(15.0))
            .axis_desc_style(text(16.0))
            .bold_line_style(RGBColor(228, 228, 228))
            .light_line_style(TRANSPARENT)
            .axis_style(RGBColor(80, 80, 80))
            .draw()
            .ctx()?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                6,
                5,
                rgb(GREY).stroke_width(2),
            ))
            .ctx()?;
        let base = panel.get_base_pixel();
        for (i, r) in p.rows.iter().enumerate() {
            // First arm at the top.
            let y = (n - 1 - i) as f64;
            let excludes_zero = r.low > 0.0 || r.high < 0.0;
            let colour = rgb(if excludes_zero { BLUE } else { GREY });
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(r.low, y), (r.high, y)],
                    colour.stroke_width(3),
                )))
                .ctx()?;
            for end in [r.low, r.high] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(end, y - 0.18), (end, y + 0.18)],
                        colour.stroke_width(3),
                    )))
                    .ctx()?;
            }
            if excludes_zero {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (r.estimate, y),
                        7,
                        colour.filled(),
                    )))
                    .ctx()?;
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (r.estimate, y),
                        7,
                        WHITE.filled(),
                    )))
                    .ctx()?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (r.estimate, y),
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
                    text(16.0).pos(Pos::new(HPos::Right, VPos::Center)),
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
        assert_eq!(year_label(2030.0, 10.0), "2030");
        assert_eq!(year_label(2025.5, 2.0), "2025.5");
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

//! Small multiples with their own x–y scales ([`XyGrid`]): the calibration figures (marginal
//! posteriors against priors, pairwise scatter, predictive intervals, traces). Laid out like the
//! time-series panels (title band, round ticks, the same fonts), but both axes are value axes
//! fitted to each panel's layers. Every coordinate is clamped to the panel's range before it is
//! drawn, so no mark can leave its panel whatever the data.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    finite_range, fit, label_span, limited, nice_ticks, rgb, style, tick_axis, tick_label, Ctx,
};
use crate::viz::plot::{Format, XyGrid, XyLayer, XyPanel};

/// Rows of the grid.
pub(super) fn rows(g: &XyGrid) -> u32 {
    g.panels.len().div_ceil(g.cols.max(1)) as u32
}

fn extend(r: &mut (f64, f64), v: f64) {
    if v.is_finite() {
        let v = limited(v);
        r.0 = r.0.min(v);
        r.1 = r.1.max(v);
    }
}

/// The ranges a panel shows: its fixed ranges, or its layers' extent padded.
fn ranges(p: &XyPanel) -> ((f64, f64), (f64, f64)) {
    let mut x = (f64::INFINITY, f64::NEG_INFINITY);
    let mut y = (f64::INFINITY, f64::NEG_INFINITY);
    let mut from_zero = false;
    for l in &p.layers {
        match l {
            XyLayer::Span { x0, x1, .. } => {
                extend(&mut x, *x0);
                extend(&mut x, *x1);
            }
            XyLayer::Bars { bars, .. } => {
                from_zero = true;
                for &(a, b, h) in bars {
                    extend(&mut x, a);
                    extend(&mut x, b);
                    extend(&mut y, h);
                    extend(&mut y, 0.0);
                }
            }
            XyLayer::Line { points, .. } => {
                for &(a, b) in points {
                    if a.is_finite() && b.is_finite() {
                        extend(&mut x, a);
                        extend(&mut y, b);
                    }
                }
            }
            XyLayer::Segment { from, to, .. } => {
                for (a, b) in [from, to] {
                    extend(&mut x, *a);
                    extend(&mut y, *b);
                }
            }
            XyLayer::VLine { x: v, .. } => extend(&mut x, *v),
            XyLayer::Points { points, .. } => {
                for &(a, b, _) in points {
                    if a.is_finite() && b.is_finite() {
                        extend(&mut x, a);
                        extend(&mut y, b);
                    }
                }
            }
        }
    }
    let pad = |(lo, hi): (f64, f64), share: f64, floor_zero: bool| {
        if !(lo.is_finite() && hi.is_finite()) {
            return (0.0, 1.0);
        }
        let d = ((hi - lo) * share)
            .max(hi.abs().max(lo.abs()) * 0.02)
            .max(1e-9);
        let lo2 = if floor_zero && lo >= 0.0 {
            (lo - d).max(0.0)
        } else {
            lo - d
        };
        finite_range(lo2, hi + d)
    };
    let x = match p.x_range {
        Some((a, b)) => finite_range(a, b),
        None => pad(x, 0.04, false),
    };
    let y = match p.y_range {
        Some((a, b)) => finite_range(a, b),
        None => pad(y, 0.08, from_zero),
    };
    (x, y)
}

pub(super) fn draw_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    g: &XyGrid,
) -> Result<(), String> {
    let cols = g.cols.max(1);
    let cells = area.split_evenly((rows(g) as usize, cols));
    for (i, (panel, cell)) in g.panels.iter().zip(&cells).enumerate() {
        // Axis titles once where the neighbour repeats them.
        let y_label = if i % cols > 0 && g.panels[i - 1].y_label == panel.y_label {
            ""
        } else {
            panel.y_label.as_str()
        };
        draw_panel(cell, panel, y_label)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &XyPanel,
    y_label: &str,
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let small = w < 420;
    let (caption, labels, desc) = if small {
        (17.0, 13.0, 14.0)
    } else {
        (20.0, 15.0, 16.0)
    };
    let y_area = match (p.y_ticks, small) {
        (false, _) => 14,
        (true, true) => 70,
        (true, false) => 92,
    };
    let x_area = if small { 46 } else { 54 };
    let ((x0, x1), (y0, y1)) = ranges(p);
    let title_h = (caption * 1.4) as u32 + 4;
    let top_margin = (labels * 0.75) as u32 + 2;
    let (title_band, area) = area.split_vertically(title_h);
    let right = if small { 22 } else { 28 };
    let plot_w = w.saturating_sub(y_area + right + 6);
    // Room for the widest label between ticks: fewer ticks on narrow panels.
    let x_ticks = nice_ticks(x0, x1, ((plot_w / 90) as usize).clamp(2, 8));
    let y_ticks = nice_ticks(y0, y1, if small { 4 } else { 6 });
    let x_span = label_span(&x_ticks, x1 - x0);
    let y_span = label_span(&y_ticks, y1 - y0);
    title_band
        .draw(&Text::new(
            fit(&p.title, caption, w.saturating_sub(12)),
            ((w / 2) as i32, 4),
            style(caption).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .ctx()?;
    let mut chart = ChartBuilder::on(&area)
        .margin_top(top_margin)
        .margin_left(6)
        .margin_right(right)
        .margin_bottom(4)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(tick_axis(x0, x1, x_ticks), tick_axis(y0, y1, y_ticks))
        .ctx()?;
    let xfmt = |v: &f64| tick_label(*v, x_span, Format::Number);
    let yfmt = |v: &f64| {
        if p.y_ticks {
            tick_label(*v, y_span, Format::Number)
        } else {
            String::new()
        }
    };
    let (_, h) = area.dim_in_pixel();
    let plot_h = h.saturating_sub(top_margin + x_area + 4);
    let y_desc = if p.y_ticks {
        fit(y_label, desc, plot_h)
    } else {
        String::new()
    };
    // An axis title that does not fit the plot is cut rather than drawn over its neighbours.
    let x_desc = fit(&p.x_label, desc, plot_w);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(style(labels))
        .axis_desc_style(style(desc))
        .bold_line_style(RGBColor(228, 228, 228))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(80, 80, 80));
    if !p.y_ticks {
        mesh.disable_y_mesh().y_labels(0);
    }
    mesh.draw().ctx()?;
    let cx = |v: f64| limited(v).clamp(x0, x1);
    let cy = |v: f64| limited(v).clamp(y0, y1);
    for layer in &p.layers {
        match layer {
            XyLayer::Span {
                color,
                x0: a,
                x1: b,
            } => {
                if a.is_finite() && b.is_finite() {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(cx(*a), y0), (cx(*b), y1)],
                            rgb(*color).filled(),
                        )))
                        .ctx()?;
                }
            }
            XyLayer::Bars { color, bars } => {
                let finite = bars
                    .iter()
                    .filter(|(a, b, h)| a.is_finite() && b.is_finite() && h.is_finite());
                chart
                    .draw_series(finite.map(|&(a, b, h)| {
                        Rectangle::new([(cx(a), cy(0.0)), (cx(b), cy(h))], rgb(*color).filled())
                    }))
                    .ctx()?;
                // A thin white edge keeps neighbouring bars apart.
                chart
                    .draw_series(
                        bars.iter()
                            .filter(|(a, b, h)| a.is_finite() && b.is_finite() && h.is_finite())
                            .map(|&(a, b, h)| {
                                Rectangle::new(
                                    [(cx(a), cy(0.0)), (cx(b), cy(h))],
                                    WHITE.stroke_width(1),
                                )
                            }),
                    )
                    .ctx()?;
            }
            XyLayer::Line {
                color,
                points,
                dashed,
            } => {
                let pts: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|(a, b)| a.is_finite() && b.is_finite())
                    .map(|&(a, b)| (cx(a), cy(b)))
                    .collect();
                if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(
                            pts,
                            7,
                            5,
                            rgb(*color).stroke_width(2),
                        ))
                        .ctx()?;
                } else {
                    chart
                        .draw_series(LineSeries::new(pts, rgb(*color).stroke_width(3)))
                        .ctx()?;
                }
            }
            XyLayer::Segment {
                color,
                from,
                to,
                width,
            } => {
                if [from.0, from.1, to.0, to.1].iter().all(|v| v.is_finite()) {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(cx(from.0), cy(from.1)), (cx(to.0), cy(to.1))],
                            rgb(*color).stroke_width((*width).clamp(1, 12)),
                        )))
                        .ctx()?;
                }
            }
            XyLayer::VLine { color, x, dashed } => {
                if x.is_finite() && (x0..=x1).contains(x) {
                    let pts = vec![(*x, y0), (*x, y1)];
                    if *dashed {
                        chart
                            .draw_series(DashedLineSeries::new(
                                pts,
                                6,
                                5,
                                rgb(*color).stroke_width(2),
                            ))
                            .ctx()?;
                    } else {
                        chart
                            .draw_series(LineSeries::new(pts, rgb(*color).stroke_width(3)))
                            .ctx()?;
                    }
                }
            }
            XyLayer::Points {
                color,
                points,
                filled,
            } => {
                let inside = points.iter().filter(|(a, b, r)| {
                    (x0..=x1).contains(a) && (y0..=y1).contains(b) && r.is_finite()
                });
                let c = rgb(*color);
                if *filled {
                    chart
                        .draw_series(inside.map(|&(a, b, r)| {
                            Circle::new((a, b), r.round() as i32, c.mix(0.75).filled())
                        }))
                        .ctx()?;
                } else {
                    chart
                        .draw_series(inside.map(|&(a, b, r)| {
                            Circle::new((a, b), r.round() as i32, c.stroke_width(2))
                        }))
                        .ctx()?;
                }
            }
        }
    }
    Ok(())
}

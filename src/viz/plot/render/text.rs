//! Text in PNGs, laid out as a browser lays out the SVG's `<text>`.
//!
//! plotters' bitmap text path (`ab_glyph` feature) puts the left edge of each glyph's ink box at
//! the pen position, ignoring the glyph's left side bearing and the pen's sub-pixel position, so
//! letters with small bearings crowd and others drift apart ("talen t"). It also draws text at a
//! larger size than the SVG backend writes (`font-size` = size / 1.24). [`GlyphBitmap`] wraps
//! plotters' bitmap backend and draws text itself: glyphs at the pen position plus their
//! bearing, rasterised at their sub-pixel offset, kerned, at the SVG's size and with the SVG's
//! anchors (`text-anchor`, and `dy` of 0.76em, 0.5ex or −0.5ex). Everything else is drawn by the
//! wrapped backend unchanged.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use super::super::FONT_TTF;

/// plotters' SVG backend writes `font-size` = size / 1.24; the PNG uses the same em.
const EM_PER_SIZE: f32 = 1.0 / 1.24;
/// The x-height of DejaVu Sans (OS/2 sxHeight 1120 of 2048 units per em): a browser's `ex`.
const X_HEIGHT_EM: f32 = 1120.0 / 2048.0;

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_TTF).ok())
        .as_ref()
}

/// The ab_glyph scale whose em is `size` × [`EM_PER_SIZE`] pixels (ab_glyph scales by the
/// ascent − descent height, not the em).
fn scale(font: &FontRef<'_>, size: f64) -> PxScale {
    let em = size as f32 * EM_PER_SIZE;
    let units = font.units_per_em().unwrap_or(2048.0);
    PxScale::from(em * font.height_unscaled() / units)
}

/// Pen positions of each glyph of `text` from 0, and the advance of the whole line.
fn layout(font: &FontRef<'_>, size: f64, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(scale(font, size));
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, pen)
}

/// Width in pixels of `text` at plotters size `size`, as drawn in SVG and PNG.
pub fn advance(text: &str, size: f64) -> f64 {
    match font() {
        Some(f) => f64::from(layout(f, size, text).1),
        None => text.chars().count() as f64 * size * 0.5,
    }
}

/// plotters' bitmap backend with browser-like text placement (see the module docs).
pub struct GlyphBitmap<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> GlyphBitmap<'a> {
    /// Wraps `inner`.
    pub fn new(inner: BitMapBackend<'a>) -> Self {
        GlyphBitmap { inner }
    }
}

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for GlyphBitmap<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), Error<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let Some(font) = font() else {
            return Ok(());
        };
        let size = style.size();
        let em = size as f32 * EM_PER_SIZE;
        let (glyphs, width) = layout(font, size, text);
        let x0 = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match style.anchor().v_pos {
            VPos::Top => 0.76 * em,
            VPos::Center => 0.5 * X_HEIGHT_EM * em,
            VPos::Bottom => -0.5 * X_HEIGHT_EM * em,
        };
        let scale = scale(font, size);
        let transform = style.transform();
        // Coverage per pixel first: neighbouring glyphs may touch the same pixel, and blending
        // each glyph separately would darken the shared pixels twice.
        let mut coverage: std::collections::BTreeMap<(i32, i32), f32> =
            std::collections::BTreeMap::new();
        for (id, pen) in glyphs {
            let glyph = id.with_scale_and_position(scale, point(x0 + pen, baseline));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|x, y, c| {
                    let cell = coverage
                        .entry((bx + x as i32, by + y as i32))
                        .or_insert(0.0);
                    *cell = (*cell + c).min(1.0);
                });
            }
        }
        for ((x, y), c) in coverage {
            if c <= 0.0 {
                continue;
            }
            let (dx, dy) = transform.transform(x, y);
            self.inner.draw_pixel(
                (pos.0 + dx, pos.1 + dy),
                BackendColor {
                    alpha: color.alpha * f64::from(c),
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_advance_by_their_width_not_their_ink() {
        // "l" has a narrow ink box and wide bearings: plotters' bitmap path packs "ll" by ink
        // width; the advance keeps the font's spacing.
        let font = font().expect("font");
        let (glyphs, width) = layout(font, 24.0, "ll");
        let scaled = font.as_scaled(scale(font, 24.0));
        let one = scaled.h_advance(scaled.glyph_id('l'));
        assert_eq!(glyphs[1].1, one);
        assert_eq!(width, 2.0 * one);
        // Em size as the SVG writes it: 24 / 1.24 px; DejaVu's "l" advances 569/2048 em.
        assert!((one - 24.0 / 1.24 * 569.0 / 2048.0).abs() < 0.01, "{one}");
    }

    /// Columns holding ink in a `w × h` RGB buffer painted white, then `text` drawn at (0, 0).
    fn ink_columns(text: &str, size: f64, (w, h): (u32, u32)) -> Vec<bool> {
        use plotters::prelude::*;
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        {
            let mut b = GlyphBitmap::new(BitMapBackend::with_buffer(&mut pixels, (w, h)));
            let style = TextStyle::from((super::super::super::FONT, size).into_font());
            b.draw_text(text, &style, (0, 0)).unwrap();
        }
        (0..w as usize)
            .map(|x| (0..h as usize).any(|y| pixels[(y * w as usize + x) * 3] < 128))
            .collect()
    }

    #[test]
    fn each_glyph_is_drawn_at_its_pen_position_plus_its_side_bearing() {
        // plotters' bitmap path puts the ink of "l" right at the pen (after "a"), dropping its
        // left side bearing: ~9 px at this size, the "talen t" spacing of the issue.
        super::super::super::register_font().unwrap();
        let font = font().unwrap();
        let size = 124.0;
        let scaled = font.as_scaled(scale(font, size));
        let (a, l) = (scaled.glyph_id('a'), scaled.glyph_id('l'));
        let expected = scaled.h_advance(a) + scaled.kern(a, l) + scaled.h_side_bearing(l);
        assert!(
            scaled.h_side_bearing(l) > 5.0,
            "a visible bearing at this size"
        );
        let ink = ink_columns("al", size, (220, 140));
        // The last run of inked columns is the "l".
        let end = ink.iter().rposition(|&i| i).unwrap();
        let start = (0..=end).rev().take_while(|&x| ink[x]).last().unwrap();
        assert!(
            (start as f32 - expected).abs() <= 1.0,
            "\"l\" ink starts at {start}, expected {expected}"
        );
    }
}

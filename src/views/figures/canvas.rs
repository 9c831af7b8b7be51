//! Where figures are drawn: a plotters drawing area of the requested size in PNG or SVG,
//! the embedded font, point-based sizes, and raster tiles (faces, attention maps) placed
//! after the vector drawing.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::contract::codec::base64_encode;
use crate::views::Error;

/// The font every figure uses, compiled into the binary (egui's Ubuntu Light), so figures
/// look the same on machines without system fonts. SVGs name the generic `sans-serif`.
const FONT_FAMILY: &str = "sans-serif";
static FONT: Once = Once::new();

fn register_embedded_font() {
    // plotters keeps its fonts in a process-wide registry; registering once is enough.
    FONT.call_once(|| {
        register_font(
            FONT_FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .unwrap_or_else(|_| panic!("the embedded Ubuntu Light font is a valid TrueType font"));
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
        }
    }

    /// The format a file name asks for by its extension.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path
            .extension()?
            .to_string_lossy()
            .to_ascii_lowercase()
            .as_str()
        {
            "png" => Some(Self::Png),
            "svg" => Some(Self::Svg),
            _ => None,
        }
    }
}

/// A figure's physical size; PNGs get `dpi` pixels per inch, SVGs 96 user units per inch
/// (CSS pixels), so both print at the same size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureSize {
    pub width_in: f64,
    pub height_in: f64,
    pub dpi: u32,
}

impl Default for FigureSize {
    fn default() -> Self {
        Self {
            width_in: 6.4,
            height_in: 4.8,
            dpi: 200,
        }
    }
}

/// SVG user units per inch.
const SVG_UNITS_PER_INCH: f64 = 96.0;

impl FigureSize {
    /// Parses `WIDTHxHEIGHT` in inches, e.g. `6.4x4.8`.
    pub fn parse_inches(text: &str, dpi: u32) -> Result<Self, Error> {
        let (w, h) = text
            .split_once(['x', 'X'])
            .ok_or_else(|| Error::Draw(format!("size `{text}` must look like 6.4x4.8 (inches)")))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| *v > 0.5 && *v <= 40.0)
                .ok_or_else(|| {
                    Error::Draw(format!(
                        "size `{text}`: `{v}` is not a width or height in inches between 0.5 and 40"
                    ))
                })
        };
        if !(36..=1200).contains(&dpi) {
            return Err(Error::Draw(format!("dpi {dpi} is outside 36..=1200")));
        }
        Ok(Self {
            width_in: parse(w)?,
            height_in: parse(h)?,
            dpi,
        })
    }

    /// Backend units per inch for `format`.
    fn units_per_inch(&self, format: ImageFormat) -> f64 {
        match format {
            ImageFormat::Png => self.dpi as f64,
            ImageFormat::Svg => SVG_UNITS_PER_INCH,
        }
    }

    /// The size in backend units (pixels of a PNG, user units of an SVG).
    pub fn units(&self, format: ImageFormat) -> (u32, u32) {
        let k = self.units_per_inch(format);
        (
            (self.width_in * k).round() as u32,
            (self.height_in * k).round() as u32,
        )
    }
}

/// Sizes in points (1/72 inch), turned into backend units.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    units_per_pt: f64,
}

impl Style {
    pub fn new(size: FigureSize, format: ImageFormat) -> Self {
        Self {
            units_per_pt: size.units_per_inch(format) / 72.0,
        }
    }

    /// `pt` points in backend units.
    pub fn pt(&self, pt: f64) -> i32 {
        (pt * self.units_per_pt).round() as i32
    }

    pub fn upt(&self, pt: f64) -> u32 {
        self.pt(pt).max(1) as u32
    }

    pub fn font(&self, pt: f64) -> FontDesc<'static> {
        (FONT_FAMILY, pt * self.units_per_pt).into_font()
    }

    pub fn text(&self, pt: f64) -> TextStyle<'static> {
        self.font(pt).color(&BLACK)
    }

    pub fn title(&self) -> FontDesc<'static> {
        self.font(11.0)
    }

    pub fn label(&self) -> FontDesc<'static> {
        self.font(9.0)
    }

    pub fn tick(&self) -> FontDesc<'static> {
        self.font(8.0)
    }
}

/// A raster image (a face, a face with its attention map) placed in the figure: drawn into
/// a PNG's pixels with bilinear scaling, or embedded in an SVG as a PNG `<image>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    /// Source pixels, RGB.
    pub source_width: u32,
    pub source_height: u32,
    pub rgb: Vec<u8>,
}

/// A figure's errors: what failed.
pub type FigureResult<T> = Result<T, Error>;

/// A plotters (or PNG encoder) failure as the views' error.
pub fn err<E: std::fmt::Display>(e: E) -> Error {
    Error::Draw(e.to_string())
}

/// The largest PNG drawn: 200 megapixels (a 600 MB canvas; a 7 x 5 in figure at 1200 dpi
/// is 50). Beyond it the canvas would not fit in memory, and plotters' bitmap indexing
/// overflows its 32-bit offsets from about 1,430 megapixels.
pub const MAX_PNG_PIXELS: u64 = 200_000_000;

/// Draws with `draw` onto a white canvas of `size` and encodes the result.
pub fn render<F>(size: FigureSize, format: ImageFormat, draw: F) -> FigureResult<Vec<u8>>
where
    F: FnOnce(&Style, Areas<'_, '_>) -> FigureResult<Vec<Tile>>,
{
    register_embedded_font();
    let style = Style::new(size, format);
    let (w, h) = size.units(format);
    match format {
        ImageFormat::Png => {
            let pixels = w as u64 * h as u64;
            if pixels > MAX_PNG_PIXELS {
                return Err(Error::Draw(format!(
                    "a {:.1} x {:.1} in PNG at {} dpi is {w} x {h} pixels ({} megapixels); \
                     the limit is {}: lower the dpi or the size, or export SVG",
                    size.width_in,
                    size.height_in,
                    size.dpi,
                    pixels / 1_000_000,
                    MAX_PNG_PIXELS / 1_000_000
                )));
            }
            let mut rgb = vec![255u8; w as usize * h as usize * 3];
            let tiles = {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                let tiles = draw(&style, Areas::Png(&root))?;
                root.present().map_err(err)?;
                tiles
            };
            for t in &tiles {
                blit(&mut rgb, w, h, t);
            }
            encode_png(&rgb, w, h, size.dpi)
        }
        ImageFormat::Svg => {
            let mut svg = String::new();
            let tiles = {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(err)?;
                let tiles = draw(&style, Areas::Svg(&root))?;
                root.present().map_err(err)?;
                tiles
            };
            embed_tiles(&mut svg, &tiles)?;
            Ok(svg.into_bytes())
        }
    }
}

/// The drawing area of either backend (already white); figures are generic over the
/// backend and reach it through `with_area!`, which expands the figure's closure once per
/// backend.
pub enum Areas<'a, 'b> {
    Png(&'a DrawingArea<BitMapBackend<'b>, Shift>),
    Svg(&'a DrawingArea<SVGBackend<'b>, Shift>),
}

/// Calls a generic figure function with the concrete drawing area.
#[macro_export]
macro_rules! with_area {
    ($areas:expr, $f:expr) => {
        match $areas {
            $crate::views::figures::canvas::Areas::Png(a) => $f(a),
            $crate::views::figures::canvas::Areas::Svg(a) => $f(a),
        }
    };
}

/// Writes `tile` into the `w`×`h` RGB canvas, scaled bilinearly.
fn blit(canvas: &mut [u8], w: u32, h: u32, t: &Tile) {
    let (sw, sh) = (t.source_width as usize, t.source_height as usize);
    if sw == 0 || sh == 0 || t.rgb.len() != sw * sh * 3 {
        return;
    }
    for ty in 0..t.height as i32 {
        let y = t.y + ty;
        if y < 0 || y >= h as i32 {
            continue;
        }
        let (y0, y1, wy) = source_position(ty, t.height, sh);
        for tx in 0..t.width as i32 {
            let x = t.x + tx;
            if x < 0 || x >= w as i32 {
                continue;
            }
            let (x0, x1, wx) = source_position(tx, t.width, sw);
            let at = |yy: usize, xx: usize, c: usize| t.rgb[(yy * sw + xx) * 3 + c] as f32;
            let out = (y as usize * w as usize + x as usize) * 3;
            for c in 0..3 {
                let top = at(y0, x0, c) * (1.0 - wx) + at(y0, x1, c) * wx;
                let bottom = at(y1, x0, c) * (1.0 - wx) + at(y1, x1, c) * wx;
                canvas[out + c] = (top * (1.0 - wy) + bottom * wy).round() as u8;
            }
        }
    }
}

/// The two source pixels around target pixel `i` of `n_target` (centres mapped into a
/// source of `n_source` pixels) and the weight of the second.
fn source_position(i: i32, n_target: u32, n_source: usize) -> (usize, usize, f32) {
    let f = ((i as f32 + 0.5) * n_source as f32 / n_target as f32 - 0.5)
        .clamp(0.0, (n_source - 1) as f32);
    let i0 = f.floor() as usize;
    (i0, (i0 + 1).min(n_source - 1), f - f.floor())
}

/// Inserts each tile as a PNG data `<image>` before the SVG's closing tag.
fn embed_tiles(svg: &mut String, tiles: &[Tile]) -> FigureResult<()> {
    if tiles.is_empty() {
        return Ok(());
    }
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| Error::Draw("the SVG backend wrote no closing tag".into()))?;
    let mut images = String::new();
    for t in tiles {
        let png = encode_png(&t.rgb, t.source_width, t.source_height, 72)?;
        images.push_str(&format!(
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,{}\"/>\n",
            t.x,
            t.y,
            t.width,
            t.height,
            base64_encode(&png)
        ));
    }
    svg.insert_str(end, &images);
    Ok(())
}

/// RGB pixels to a PNG carrying its resolution (pHYs), so it prints at the chosen size.
pub fn encode_png(rgb: &[u8], w: u32, h: u32, dpi: u32) -> FigureResult<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let per_metre = (dpi as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_inches_and_dpi() {
        let s = FigureSize::parse_inches("3.5x2", 300).unwrap();
        assert_eq!(s.units(ImageFormat::Png), (1050, 600));
        assert_eq!(s.units(ImageFormat::Svg), (336, 192));
        assert!(FigureSize::parse_inches("3.5", 300).is_err());
        assert!(FigureSize::parse_inches("0x2", 300).is_err());
        assert!(FigureSize::parse_inches("3x2", 5000).is_err());
    }

    #[test]
    fn a_png_beyond_the_pixel_limit_is_refused_before_drawing() {
        // 40 x 40 in at 1200 dpi: 48,000 x 48,000 pixels, once 7 GB and a panic.
        let huge = FigureSize::parse_inches("40x40", 1200).unwrap();
        let e = render(huge, ImageFormat::Png, |_, _| panic!("must not draw"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("48000 x 48000") && e.contains("lower the dpi"),
            "{e}"
        );
        // The same size as SVG has no pixels to bound.
        let svg = render(huge, ImageFormat::Svg, |_, _| Ok(Vec::new())).unwrap();
        assert!(!svg.is_empty());
    }

    #[test]
    fn bilinear_blit_keeps_flat_colours_and_scales() {
        let mut canvas = vec![255u8; 8 * 8 * 3];
        let tile = Tile {
            x: 2,
            y: 2,
            width: 4,
            height: 4,
            source_width: 2,
            source_height: 1,
            rgb: vec![0, 0, 0, 200, 200, 200],
        };
        blit(&mut canvas, 8, 8, &tile);
        let px = |x: usize, y: usize| canvas[(y * 8 + x) * 3];
        assert_eq!(px(2, 2), 0);
        assert_eq!(px(5, 5), 200);
        assert!(px(3, 3) > 0 && px(3, 3) < px(4, 3));
        assert_eq!(px(1, 1), 255);
        assert_eq!(px(6, 6), 255);
    }
}

//! The window's icon, `assets/icon.png`: one of ferlab's own synthetic faces (a happy one,
//! straight on, evenly lit) on a blue tile, rendered by the same code as the built-in data.
//! The file is checked against the renderer by a test; after changing the renderer,
//! `FERLAB_WRITE_ASSETS=1 cargo test --release --lib icon` writes it again.

use crate::compute::data::synthetic::expression::prototype;
use crate::compute::data::synthetic::identity::Identity;
use crate::compute::data::synthetic::render::{Shot, render};
use crate::contract::seed;

/// The icon as the window bundles it.
pub const ICON_PNG: &[u8] = include_bytes!("../../../assets/icon.png");

/// Side of the icon in pixels.
pub const ICON_SIZE: u32 = 64;

/// Class 3 of the canonical order: happiness.
const HAPPINESS: usize = 3;

/// Renders the icon: the face's grey levels tint a blue tile, with transparent corners.
pub fn render_icon() -> image::RgbaImage {
    let size = ICON_SIZE as usize;
    let mut rng = seed::rng(7, &[0x1c0]);
    let person = Identity::sample(&mut rng);
    let straight = Shot {
        rotation_deg: 0.0,
        shift: (0.0, 0.0),
        scale: 1.0,
        light: 0.0,
        light_dir: 0.0,
    };
    let grey = render(
        &person,
        &prototype(HAPPINESS),
        &straight,
        size,
        0.0,
        &mut rng,
    );
    let radius = size as f32 * 0.18;
    image::RgbaImage::from_fn(ICON_SIZE, ICON_SIZE, |x, y| {
        let g = grey[y as usize * size + x as usize];
        // Blue (31, 119, 180) in the shadows to white in the highlights.
        let mix = |c: f32| (c + (255.0 - c) * g).round() as u8;
        [
            mix(31.0),
            mix(119.0),
            mix(180.0),
            corner_alpha(x, y, size as f32, radius),
        ]
        .into()
    })
}

/// Rounded corners: transparent outside a quarter circle of `radius` at each corner.
fn corner_alpha(x: u32, y: u32, size: f32, radius: f32) -> u8 {
    let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
    let cx = px.clamp(radius, size - radius);
    let cy = py.clamp(radius, size - radius);
    let outside = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() - radius;
    (255.0 * (0.5 - outside).clamp(0.0, 1.0)).round() as u8
}

/// The bundled icon for the window; None if the file cannot be decoded (the window then
/// opens without one).
pub fn window_icon() -> Option<egui::IconData> {
    let img = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png)
        .ok()?
        .into_rgba8();
    Some(egui::IconData {
        width: img.width(),
        height: img.height(),
        rgba: img.into_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_icon_is_the_rendered_face() {
        let rendered = render_icon();
        if std::env::var_os("FERLAB_WRITE_ASSETS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/icon.png");
            rendered.save(path).expect("write assets/icon.png");
        }
        let icon = window_icon().expect("assets/icon.png decodes");
        assert_eq!((icon.width, icon.height), (ICON_SIZE, ICON_SIZE));
        assert_eq!(
            icon.rgba,
            rendered.into_raw(),
            "assets/icon.png is not what the renderer draws; FERLAB_WRITE_ASSETS=1 rewrites it"
        );
    }
}

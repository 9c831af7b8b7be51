//! Image decoding into ferlab's planar u8 layout (`C × S × S`).

use std::path::Path;

use image::{DynamicImage, GrayImage, imageops::FilterType};

use crate::compute::Error;

/// Decodes an image file, converts it to `channels` (1 = grey, 3 = RGB) and resizes it to
/// `size × size`.
pub fn decode_file(path: &Path, size: usize, channels: usize) -> Result<Vec<u8>, Error> {
    let img = image::open(path).map_err(|e| Error::file(path, e))?;
    Ok(to_planar(img, size, channels))
}

/// Like `decode_file`, after cropping to the box `(x, y, width, height)` (clamped to the
/// image; an empty box after clamping is an error).
pub fn decode_file_cropped(
    path: &Path,
    crop: (u32, u32, u32, u32),
    size: usize,
    channels: usize,
) -> Result<Vec<u8>, Error> {
    let img = image::open(path).map_err(|e| Error::file(path, e))?;
    let (x, y) = (crop.0.min(img.width()), crop.1.min(img.height()));
    let w = crop.2.min(img.width() - x);
    let h = crop.3.min(img.height() - y);
    if w == 0 || h == 0 {
        return Err(Error::file(
            path,
            format!(
                "face box {crop:?} lies outside the {}×{} image",
                img.width(),
                img.height()
            ),
        ));
    }
    Ok(to_planar(img.crop_imm(x, y, w, h), size, channels))
}

/// Greyscale pixels (row-major `w × h`) into the planar layout at `size`.
pub fn from_gray(pixels: Vec<u8>, w: u32, h: u32, size: usize, channels: usize) -> Vec<u8> {
    let gray = GrayImage::from_raw(w, h, pixels).expect("pixel count equals w · h");
    to_planar(DynamicImage::ImageLuma8(gray), size, channels)
}

fn to_planar(img: DynamicImage, size: usize, channels: usize) -> Vec<u8> {
    let s = size as u32;
    let img = if img.width() != s || img.height() != s {
        img.resize_exact(s, s, FilterType::Triangle)
    } else {
        img
    };
    if channels == 1 {
        img.to_luma8().into_raw()
    } else {
        let rgb = img.to_rgb8();
        let plane = size * size;
        let mut out = vec![0u8; 3 * plane];
        for (i, px) in rgb.pixels().enumerate() {
            out[i] = px[0];
            out[plane + i] = px[1];
            out[2 * plane + i] = px[2];
        }
        out
    }
}

/// Writes planar u8 pixels (`channels × height × width`) as a PNG, atomically: a full disk
/// or a kill leaves the file that was there, never a truncated one.
pub fn save_png(
    path: &Path,
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> Result<(), Error> {
    let (w, h) = (width as u32, height as u32);
    let mut bytes = std::io::Cursor::new(Vec::new());
    let result = if channels == 1 {
        GrayImage::from_raw(w, h, pixels.to_vec())
            .expect("pixel count equals width · height")
            .write_to(&mut bytes, image::ImageFormat::Png)
    } else {
        let plane = width * height;
        let mut rgb = Vec::with_capacity(3 * plane);
        for i in 0..plane {
            rgb.extend_from_slice(&[pixels[i], pixels[plane + i], pixels[2 * plane + i]]);
        }
        image::RgbImage::from_raw(w, h, rgb)
            .expect("pixel count equals 3 · width · height")
            .write_to(&mut bytes, image::ImageFormat::Png)
    };
    result.map_err(|e| Error::file(path, e))?;
    crate::contract::run::atomic::write(path, bytes.get_ref())
        .map_err(|e| Error::io("cannot write", path, e))
}

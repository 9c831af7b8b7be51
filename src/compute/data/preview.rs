//! Pictures of a split: a grid of faces, one row per class.

use super::Split;

/// A planar u8 image (`channels × height × width`).
pub struct Grid {
    pub pixels: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

const GAP: usize = 2;

/// The first `per_class` faces of each class (by given label), one row per class, on a
/// white background; as wide as the fullest row (no empty columns when the classes hold
/// fewer faces than asked for).
pub fn class_grid(split: &Split, num_classes: usize, per_class: usize) -> Grid {
    let mut counts = vec![0usize; num_classes];
    for &l in &split.labels {
        counts[l as usize] += 1;
    }
    let per_class = per_class
        .min(counts.iter().copied().max().unwrap_or(0))
        .max(1);
    let s = split.size;
    let (width, height) = (per_class * (s + GAP) + GAP, num_classes * (s + GAP) + GAP);
    let ch = split.channels;
    let mut pixels = vec![255u8; ch * width * height];
    let mut filled = vec![0usize; num_classes];
    for i in 0..split.len() {
        let class = split.labels[i] as usize;
        let col = filled[class];
        if col >= per_class {
            continue;
        }
        filled[class] += 1;
        let (x0, y0) = (GAP + col * (s + GAP), GAP + class * (s + GAP));
        let img = split.image(i);
        for c in 0..ch {
            for y in 0..s {
                let src = &img[(c * s + y) * s..(c * s + y + 1) * s];
                let dst = (c * height + y0 + y) * width + x0;
                pixels[dst..dst + s].copy_from_slice(src);
            }
        }
        if filled.iter().all(|&f| f >= per_class) {
            break;
        }
    }
    Grid {
        pixels,
        width,
        height,
        channels: ch,
    }
}

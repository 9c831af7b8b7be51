//! Attention snapshots: class activation maps of validation faces and their flip
//! consistency, measured during evaluation and sent to the attention panel.

use crate::compute::model::cam::{normalize_unit, upsample_bilinear};
use crate::contract::event::attention::{AttentionFace, AttentionSnapshot};
use crate::contract::seed::{self, purpose};
use rand::seq::SliceRandom;

/// Which map of a face: its own, or its mirror image's flipped back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Row {
    Original,
    FlippedBack,
}

/// The "jet" colour map CAM figures use: blue (low) through green to red (high).
pub fn jet(v: f32) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0);
    let channel = |center: f32| ((1.5 - (4.0 * v - center).abs()).clamp(0.0, 1.0) * 255.0) as u8;
    [channel(3.0), channel(2.0), channel(1.0)]
}

/// The face in gray as RGB bytes (side `image_size`), with class map `map` upsampled to the
/// face and coloured by `jet` on top at `opacity`. `shared_scale` puts every map of the face
/// (both rows, all classes) on one range, so their strengths compare; otherwise each map is
/// scaled to [0, 1] on its own. None when the face's data is malformed.
pub fn overlay_rgb(
    snap: &AttentionSnapshot,
    face: &AttentionFace,
    map: Option<(usize, Row)>,
    opacity: f32,
    shared_scale: bool,
) -> Option<Vec<u8>> {
    let s = snap.image_size;
    let pixels = face.pixels().ok()?;
    if pixels.len() != s * s {
        return None;
    }
    let Some((class, row)) = map else {
        return Some(pixels.iter().flat_map(|&g| [g, g, g]).collect());
    };
    let (h, w) = (snap.map_height, snap.map_width);
    let original = face.maps().ok()?;
    let flipped = face.flipped_back().ok()?;
    let plane = h * w;
    let source = match row {
        Row::Original => &original,
        Row::FlippedBack => &flipped,
    };
    let cells = source.get(class * plane..(class + 1) * plane)?;
    let mut up = upsample_bilinear(cells, h, w, s, s);
    if shared_scale {
        let (lo, hi) = original
            .iter()
            .chain(&flipped)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let span = (hi - lo).max(f32::EPSILON);
        up.iter_mut().for_each(|v| *v = (*v - lo) / span);
    } else {
        normalize_unit(&mut up);
    }
    Some(
        pixels
            .iter()
            .zip(&up)
            .flat_map(|(&g, &v)| {
                let c = jet(v);
                let mix = |ch: u8| ((1.0 - opacity) * g as f32 + opacity * ch as f32) as u8;
                [mix(c[0]), mix(c[1]), mix(c[2])]
            })
            .collect(),
    )
}

/// The fixed gallery: up to `size` validation indices, taken from each class in turn
/// (seeded), so every class is shown and the same faces come back every evaluation.
pub fn gallery_indices(labels: &[u8], num_classes: usize, size: usize, seed: u64) -> Vec<usize> {
    let mut rng = seed::rng(seed, &[purpose::METHOD, 100]);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    for members in &mut by_class {
        members.shuffle(&mut rng);
    }
    let mut chosen = Vec::with_capacity(size);
    let mut round = 0;
    while chosen.len() < size && by_class.iter().any(|m| m.len() > round) {
        for members in &by_class {
            if chosen.len() < size
                && let Some(&i) = members.get(round)
            {
                chosen.push(i);
            }
        }
        round += 1;
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallery_takes_every_class_in_turn() {
        let labels = [0u8, 0, 0, 0, 1, 2, 2];
        let g = gallery_indices(&labels, 3, 4, 7);
        assert_eq!(g.len(), 4);
        let classes: Vec<u8> = g.iter().map(|&i| labels[i]).collect();
        assert_eq!(classes.iter().filter(|&&c| c == 1).count(), 1);
        assert_eq!(classes.iter().filter(|&&c| c == 2).count(), 1);
        assert_eq!(g, gallery_indices(&labels, 3, 4, 7));
        assert_eq!(gallery_indices(&labels, 3, 100, 7).len(), 7);
    }

    #[test]
    fn jet_runs_blue_to_red() {
        assert_eq!(jet(0.0), [0, 0, 127]);
        assert_eq!(jet(1.0), [127, 0, 0]);
        let mid = jet(0.5);
        assert_eq!(mid[1], 255);
    }
}

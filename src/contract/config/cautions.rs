//! Settings that run but undo what their method is for: not problems (the run starts), but
//! said beside their field in the editor and logged when a run starts.

use super::schema::Methods;
use super::validate::Problem;
use super::{Backbone, DEGENERATE_MAP_SIDE, Experiment, ModelConfig, face_resnet_map_side};

/// The side of the class activation maps (the last feature map) of `model` for square data
/// of `data_size` pixels, or `None` where the input is too small for the backbone.
pub fn cam_side(model: &ModelConfig, data_size: usize) -> Option<usize> {
    let half_up = |s: usize| (s.max(1) - 1) / 2 + 1;
    match model.backbone {
        // Three 2×2 max pools.
        Backbone::SmallCnn => Some(data_size / 8).filter(|&s| s > 0),
        // torchvision's: 7×7/2 pad 3, 3×3/2 pad 1 max pool, three stride-2 stages.
        Backbone::Resnet18 => Some((0..5).fold(data_size, |s, _| half_up(s))),
        Backbone::FaceResnet => face_resnet_map_side(
            model.effective_input_size(data_size),
            model.stride_one_blocks,
        ),
    }
}

/// Every caution for `e`, each with the field to change.
pub fn cautions(e: &Experiment, methods: &dyn Methods) -> Vec<Problem> {
    let mut out = Vec::new();
    let flips = methods
        .get(&e.method.name)
        .is_some_and(|m| m.flip_consistency);
    if let Some(side) = cam_side(&e.model, e.data.image_size)
        && flips
        && side <= DEGENERATE_MAP_SIDE
    {
        let (path, fix) = match e.model.backbone {
            Backbone::FaceResnet => (
                "model.stride_one_blocks",
                "model.stride_one_blocks gives larger maps (2: 6×6 at 112 px, 7×7 at 120), but changes the pretrained network (README: 2.2 points after a three-epoch fine-tune); with model.stride_one_dilated the later convolutions keep their receptive fields",
            ),
            _ => ("data.image_size", "give the backbone larger faces"),
        };
        out.push(Problem {
            path: path.into(),
            message: format!(
                "{}'s flip consistency is degenerate on {side}×{side} class activation maps (a 1×1 map is its own mirror; a 2×2 one has one column a side): {fix}",
                e.method.name.to_uppercase()
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_sides_of_every_backbone() {
        let mut m = ModelConfig::default();
        assert_eq!(cam_side(&m, 48), Some(6));
        m.backbone = Backbone::Resnet18;
        assert_eq!(cam_side(&m, 224), Some(7));
        assert_eq!(cam_side(&m, 112), Some(4));
        assert_eq!(cam_side(&m, 48), Some(2));
        m.backbone = Backbone::FaceResnet;
        m.input_size = 112;
        assert_eq!(cam_side(&m, 48), Some(1));
        m.stride_one_blocks = 2;
        assert_eq!(cam_side(&m, 48), Some(6));
    }
}

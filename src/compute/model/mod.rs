//! Backbones and the classifier head (global average pooling + linear), built so that class
//! activation maps come straight from the last feature map and the head's weights.

pub mod cam;
pub mod descriptor;
pub mod embedding_head;
pub mod face_resnet;
pub mod layers;
pub mod pretrained;
pub mod resnet;
pub mod small_cnn;
pub mod tfjs;

use std::collections::HashMap;

use candle_core::{Device, Result, Tensor, Var};

use crate::contract::config::{Backbone as BackboneKind, Experiment, ModelConfig};
use crate::contract::seed::{self, purpose};
use embedding_head::EmbeddingHead;
use face_resnet::{FaceResNet, InputAdapter};
pub use layers::{Collector, Mode};
use layers::{Linear, dropout};
use resnet::ResNet18;
use small_cnn::SmallCnn;

pub enum Backbone {
    SmallCnn(SmallCnn),
    Resnet18(ResNet18),
    FaceResnet(FaceResNet),
}

impl Backbone {
    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        match self {
            Self::SmallCnn(m) => m.forward(x, mode),
            Self::Resnet18(m) => m.forward(x, mode),
            Self::FaceResnet(m) => m.forward(x, mode),
        }
    }

    pub fn out_channels(&self) -> usize {
        match self {
            Self::SmallCnn(m) => m.out_channels,
            Self::Resnet18(m) => m.out_channels,
            Self::FaceResnet(m) => m.out_channels,
        }
    }

    fn collect(&self, c: &mut Collector) {
        match self {
            Self::SmallCnn(m) => m.collect("", c),
            Self::Resnet18(m) => m.collect("", c),
            Self::FaceResnet(m) => m.collect("", c),
        }
    }

    /// Tells a backbone that needs it how the data normalised its pixels:
    /// `(x − mean) / std` (the face ResNet undoes it for its own normalisation).
    pub fn set_input_norm(&mut self, mean: f32, std: f32) {
        if let Self::FaceResnet(m) = self {
            m.input.mean = mean;
            m.input.std = std;
        }
    }
}

/// What one forward pass yields.
pub struct Output {
    /// The last feature map, N × F × h × w.
    pub fmap: Tensor,
    /// Globally average-pooled features, N × F (before dropout).
    pub features: Tensor,
    /// What `fc` read: the pooled features after dropout (training mode), or the
    /// embedding. Modules that sit beside `fc` (SCN's and SOFT's importance branch) read
    /// this, as their official code does.
    pub head_input: Tensor,
    /// Class scores, N × K.
    pub logits: Tensor,
}

/// What the classifier `fc` reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeadSpec {
    /// Globally average-pooled features after dropout (the CAM-friendly default).
    Pooled,
    /// An embedding head of width `dim` with its own dropout on the flattened feature map
    /// (RUL's official head). The experiment's method says which (`method::head_of`).
    Embedding { dim: usize, dropout: f32 },
}

/// A FER classifier: backbone, global average pooling, dropout, linear head `fc` — or,
/// with an embedding head, backbone, embedding head, linear `fc`.
pub struct FerModel {
    pub backbone: Backbone,
    pub embedding: Option<EmbeddingHead>,
    pub fc: Linear,
    pub dropout: f32,
    pub num_classes: usize,
}

/// What loading named tensors into a model did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadReport {
    pub loaded: usize,
    /// Model tensors the file did not have.
    pub missing: Vec<String>,
    /// File tensors the model does not have.
    pub unexpected: Vec<String>,
    /// `name: file shape vs model shape`.
    pub mismatched: Vec<String>,
}

impl FerModel {
    pub fn new(
        cfg: &ModelConfig,
        in_channels: usize,
        num_classes: usize,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let mut rng = seed::rng(seed, &[purpose::INIT]);
        let backbone = match cfg.backbone {
            BackboneKind::SmallCnn => Backbone::SmallCnn(SmallCnn::new(
                in_channels,
                cfg.width,
                cfg.convs_per_stage,
                cfg.kernels,
                &mut rng,
                device,
            )?),
            BackboneKind::Resnet18 => {
                Backbone::Resnet18(ResNet18::new(in_channels, cfg.kernels, &mut rng, device)?)
            }
            BackboneKind::FaceResnet => {
                let defaults = crate::contract::config::AugmentConfig::default();
                let input = InputAdapter {
                    // Its side never depends on the data's (0 = native 150).
                    size: cfg.effective_input_size(0),
                    mean: defaults.mean,
                    std: defaults.std,
                };
                Backbone::FaceResnet(FaceResNet::new(
                    input,
                    cfg.stride_one_blocks,
                    cfg.stride_one_dilated,
                    cfg.scale_affine,
                    cfg.kernels,
                    &mut rng,
                    device,
                )?)
            }
        };
        let fc = Linear::new(backbone.out_channels(), num_classes, &mut rng, device)?;
        Ok(Self {
            backbone,
            embedding: None,
            fc,
            dropout: cfg.dropout,
            num_classes,
        })
    }

    /// The model of an experiment: its backbone, and the `head` its method asks for
    /// (`method::head_of`).
    pub fn for_experiment(
        exp: &Experiment,
        head: HeadSpec,
        num_classes: usize,
        device: &Device,
    ) -> Result<Self> {
        let mut model = Self::new(&exp.model, exp.data.channels, num_classes, device, exp.seed)?;
        model
            .backbone
            .set_input_norm(exp.augment.mean, exp.augment.std);
        if let HeadSpec::Embedding { dim, dropout } = head {
            let s = exp.data.image_size;
            let probe = Tensor::zeros(
                (1, exp.data.channels, s, s),
                candle_core::DType::F32,
                device,
            )?;
            let (_, c, h, w) = model.backbone.forward(&probe, Mode::Eval)?.dims4()?;
            let mut rng = seed::rng(exp.seed, &[purpose::INIT, 1]);
            let head =
                EmbeddingHead::new((c, h, w), dim, dropout, exp.model.kernels, &mut rng, device)?;
            model.fc = Linear::new(dim, num_classes, &mut rng, device)?;
            model.embedding = Some(head);
        }
        Ok(model)
    }

    /// The names of the backbone's trainable parameters (what `model.backbone_lr_scale`
    /// and `model.freeze_backbone_epochs` apply to; the head's are the rest).
    pub fn backbone_parameter_names(&self) -> std::collections::HashSet<String> {
        let mut c = Collector::default();
        self.backbone.collect(&mut c);
        c.params.into_iter().map(|(n, _)| n).collect()
    }

    pub fn num_classes(&self) -> usize {
        self.fc.weight.as_tensor().dims()[0]
    }

    pub fn feature_dim(&self) -> usize {
        self.backbone.out_channels()
    }

    pub fn forward(&self, x: &Tensor, mode: Mode) -> Result<Output> {
        let fmap = self.backbone.forward(x, mode)?;
        let features = fmap.mean((2, 3))?;
        if let Some(head) = &self.embedding {
            let embedding = head.forward(&fmap, mode, 0)?;
            let logits = self.fc.forward(&embedding)?;
            return Ok(Output {
                fmap,
                features,
                head_input: embedding,
                logits,
            });
        }
        let dropped = match mode {
            Mode::Train { seed } => dropout(&features, self.dropout, seed)?,
            Mode::Eval => features.clone(),
        };
        let logits = self.fc.forward(&dropped)?;
        Ok(Output {
            fmap,
            features,
            head_input: dropped,
            logits,
        })
    }

    /// Class activation maps (Zhou et al. 2016) of every class: `M_k = Σ_f w_kf · A_f`,
    /// N × K × h × w, from a feature map of this model (evaluation mode). With an
    /// embedding head, each cell's contribution to the logit (see `embedding_head`).
    pub fn class_maps(&self, fmap: &Tensor) -> Result<Tensor> {
        match &self.embedding {
            Some(head) => head.class_maps(fmap, self.fc.weight.as_tensor()),
            None => cam::class_maps(fmap, self.fc.weight.as_tensor()),
        }
    }

    pub fn collect(&self) -> Collector {
        let mut c = Collector::default();
        self.backbone.collect(&mut c);
        if let Some(head) = &self.embedding {
            head.collect("embedding", &mut c);
        }
        self.fc.collect("fc", &mut c);
        c
    }

    /// Trainable parameters in a fixed order.
    pub fn parameters(&self) -> Vec<(String, Var)> {
        self.collect().params
    }

    pub fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Parameters and buffers, as stored in a checkpoint.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let c = self.collect();
        c.params.into_iter().chain(c.buffers).collect()
    }

    /// Copies matching tensors from `tensors` into the model; reports what did not match.
    pub fn load(&self, tensors: &HashMap<String, Tensor>) -> Result<LoadReport> {
        load_into(&self.named_vars(), tensors)
    }
}

/// Copies `tensors` into `vars` by name; shape mismatches and absences are reported.
pub fn load_into(vars: &[(String, Var)], tensors: &HashMap<String, Tensor>) -> Result<LoadReport> {
    let mut report = LoadReport::default();
    for (name, var) in vars {
        match tensors.get(name) {
            None => report.missing.push(name.clone()),
            Some(t) if t.dims() != var.dims() => report.mismatched.push(format!(
                "{name}: file {:?} vs model {:?}",
                t.dims(),
                var.dims()
            )),
            Some(t) => {
                var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
                report.loaded += 1;
            }
        }
    }
    let known: std::collections::HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    let mut unexpected: Vec<String> = tensors
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    unexpected.sort();
    report.unexpected = unexpected;
    Ok(report)
}

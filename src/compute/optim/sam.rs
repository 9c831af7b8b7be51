//! Sharpness-aware minimisation (Foret et al., ICLR 2021) around any [`Optimizer`]: the
//! gradient is taken at the worst nearby point w + ρ·g/‖g‖ and applied at w.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

use super::Optimizer;

/// SAM's neighbourhood radius (ρ = 0.05 in the paper and RMFER).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sam {
    pub rho: f64,
}

impl Default for Sam {
    fn default() -> Self {
        Self { rho: 0.05 }
    }
}

/// The perturbation added to each parameter, to take back after the second pass.
pub struct Perturbation {
    moved: Vec<(Var, Tensor)>,
}

impl Sam {
    /// Moves every parameter with a gradient by e = ρ·g/‖g‖, ‖g‖ the norm over all of them.
    pub fn perturb(&self, params: &[(String, Var)], grads: &GradStore) -> Result<Perturbation> {
        let mut squares = 0.0f64;
        for (_, var) in params {
            if let Some(g) = grads.get(var.as_tensor()) {
                squares += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        let scale = self.rho / (squares.sqrt() + 1e-12);
        let mut moved = Vec::new();
        for (_, var) in params {
            if let Some(g) = grads.get(var.as_tensor()) {
                let e = (g * scale)?;
                var.set(&(var.as_tensor() + &e)?)?;
                moved.push((var.clone(), e));
            }
        }
        Ok(Perturbation { moved })
    }

    /// The gradient SAM applies: `loss` (the training loss at the current weights, with the
    /// same batch and randomness as the one that gave `grads`) differentiated at
    /// w + ρ·g/‖g‖. The weights are back at w afterwards, also when `loss` fails. Returns
    /// that loss and its gradients.
    pub fn sharp_gradients(
        &self,
        params: &[(String, Var)],
        grads: &GradStore,
        loss: impl FnOnce() -> Result<Tensor>,
    ) -> Result<(Tensor, GradStore)> {
        let perturbation = self.perturb(params, grads)?;
        let sharp = loss().and_then(|l| {
            let g = l.backward()?;
            Ok((l, g))
        });
        perturbation.restore()?;
        sharp
    }

    /// One SAM step: `loss` computes the training loss at the current weights (it is called
    /// twice); the base optimiser applies the gradient of the perturbed weights' loss.
    /// Returns the loss at w and at w + e.
    pub fn step(
        &self,
        optimizer: &mut Optimizer,
        lr: f64,
        mut loss: impl FnMut() -> Result<Tensor>,
    ) -> Result<(f32, f32)> {
        let first = loss()?;
        let grads = first.backward()?;
        let (second, sharp_grads) = self.sharp_gradients(optimizer.params(), &grads, loss)?;
        optimizer.step(&sharp_grads, lr)?;
        Ok((first.to_scalar::<f32>()?, second.to_scalar::<f32>()?))
    }
}

impl Perturbation {
    /// Puts every parameter back where it was before [`Sam::perturb`].
    pub fn restore(self) -> Result<()> {
        for (var, e) in self.moved {
            var.set(&(var.as_tensor() - &e)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::config::{Kernels, OptimizerConfig, OptimizerKind};
    use candle_core::Device;

    /// L(w) = ½·Σ a_i·w_i², so ∇L = a ⊙ w.
    fn quadratic(w: &Var, a: &Tensor) -> Result<Tensor> {
        (w.as_tensor().sqr()? * a)?.sum_all()? * 0.5
    }

    #[test]
    fn sam_steps_with_the_gradient_at_the_perturbed_point() {
        let dev = Device::Cpu;
        let a = Tensor::new(&[1.0f32, 4.0], &dev).unwrap();
        let w = Var::new(&[3.0f32, 1.0], &dev).unwrap();
        let cfg = OptimizerConfig {
            kind: OptimizerKind::Sgd,
            momentum: 0.0,
            weight_decay: 0.0,
            ..OptimizerConfig::default()
        };
        for kernels in [Kernels::Auto, Kernels::Candle] {
            w.set(&Tensor::new(&[3.0f32, 1.0], &dev).unwrap()).unwrap();
            let mut opt = Optimizer::new(&cfg, vec![("w".into(), w.clone())], kernels);
            let sam = Sam { rho: 0.5 };
            let lr = 0.1;
            let (l0, l1) = sam.step(&mut opt, lr, || quadratic(&w, &a)).unwrap();
            // By hand: g = (3, 4), ‖g‖ = 5, e = 0.5·g/5 = (0.3, 0.4); w + e = (3.3, 1.4);
            // g' = a ⊙ (w + e) = (3.3, 5.6); w ← w − 0.1·g' = (2.67, 0.44).
            assert!((l0 - 6.5).abs() < 1e-5, "{l0}");
            assert!(
                (l1 - 0.5 * (3.3f32 * 3.3 + 4.0 * 1.4 * 1.4)).abs() < 1e-4,
                "{l1}"
            );
            assert!(l1 > l0, "the perturbed point is uphill");
            let got = w.as_tensor().to_vec1::<f32>().unwrap();
            assert!(
                (got[0] - 2.67).abs() < 1e-5 && (got[1] - 0.44).abs() < 1e-5,
                "{got:?}"
            );
        }
    }

    /// A 3-parameter quadratic: its scale `a`, the weights, their values and gradient.
    fn three_weights() -> (Tensor, Var, Vec<f32>, GradStore) {
        let dev = Device::Cpu;
        let a = Tensor::new(&[2.0f32, 0.5, 1.0], &dev).unwrap();
        let w = Var::new(&[1.0f32, -2.0, 0.25], &dev).unwrap();
        let before = w.as_tensor().to_vec1::<f32>().unwrap();
        let grads = quadratic(&w, &a).unwrap().backward().unwrap();
        (a, w, before, grads)
    }

    #[test]
    fn perturbation_is_undone_exactly() {
        let (_, w, before, grads) = three_weights();
        let p = Sam { rho: 0.05 }
            .perturb(&[("w".into(), w.clone())], &grads)
            .unwrap();
        let moved = w.as_tensor().to_vec1::<f32>().unwrap();
        let step: f32 = moved
            .iter()
            .zip(&before)
            .map(|(m, b)| (m - b).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!((step - 0.05).abs() < 1e-6, "‖e‖ = ρ, got {step}");
        p.restore().unwrap();
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), before);
    }

    #[test]
    fn weights_are_restored_when_the_perturbed_loss_fails() {
        let (a, w, before, grads) = three_weights();
        let params = [("w".to_string(), w.clone())];
        let failed = Sam { rho: 0.05 }.sharp_gradients(&params, &grads, || {
            Err(candle_core::Error::Msg("the second pass failed".into()))
        });
        assert!(failed.is_err());
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), before);
        // And the gradient it returns is the one at w + e.
        let (_, sharp) = Sam { rho: 0.05 }
            .sharp_gradients(&params, &grads, || quadratic(&w, &a))
            .unwrap();
        assert_eq!(w.as_tensor().to_vec1::<f32>().unwrap(), before);
        let g = grads.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let gs = sharp.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        assert_ne!(g, gs);
    }
}

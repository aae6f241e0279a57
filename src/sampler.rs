//! The flow-matching ODE sampler: integrates the velocity field from noise (r = 0) to data (r = 1),
//! keeping the observed latent slots clamped to their encoded values (docs/bundle-format.md).

use ndarray::{ArrayD, Axis, Zip};

use crate::bundle::{limits, Manifest, SamplerMethod};
use crate::err;
use crate::error::Result;
use crate::noise::SplitMix64;

/// Latent tensors are `[B, Z, S, (lz,) ly, lx]`: slots are axis 2.
const SLOT_AXIS: usize = 2;

/// What the sampler needs from the model: the velocity at `(z, r)`.
pub trait Velocity {
    fn velocity(&mut self, z: &ArrayD<f32>, r: f32) -> Result<ArrayD<f32>>;
}

impl<F: FnMut(&ArrayD<f32>, f32) -> Result<ArrayD<f32>>> Velocity for F {
    fn velocity(&mut self, z: &ArrayD<f32>, r: f32) -> Result<ArrayD<f32>> {
        self(z, r)
    }
}

/// Integration settings.
#[derive(Debug, Clone, Copy)]
pub struct Sampler {
    pub method: SamplerMethod,
    pub steps: usize,
}

impl Sampler {
    /// The bundle's sampler, with a user's or host's `steps` and `method` where given. `steps` is
    /// checked against [`limits::STEPS`]; `key` names the setting in the message (`--steps`,
    /// `steps`). The manifest's own steps were checked when the bundle was opened.
    pub fn with_overrides(m: &Manifest, steps: Option<usize>, method: Option<SamplerMethod>, key: &str) -> Result<Sampler> {
        if let Some(steps) = steps {
            limits::check(key, steps, &limits::STEPS).map_err(|e| err!(Usage, "{e}"))?;
        }
        Ok(Sampler { method: method.unwrap_or(m.sampler.method), steps: steps.unwrap_or(m.sampler.steps) })
    }

    /// Draw the starting noise (shape of `observed`) from `rng` and integrate to r = 1.
    /// `observed_slots[s]` marks slots whose value is fixed to `observed`.
    pub fn sample(
        &self,
        velocity: &mut impl Velocity,
        observed: &ArrayD<f32>,
        observed_slots: &[bool],
        rng: &mut SplitMix64,
        on_step: impl FnMut(usize),
    ) -> Result<ArrayD<f32>> {
        self.sample_batch(velocity, observed, observed_slots, std::slice::from_mut(rng), on_step)
    }

    /// [`Sampler::sample`] for a batch of `rngs.len()` members along axis 0 of `observed`: member k's
    /// noise is drawn from `rngs[k]` alone, so it is the noise a batch-1 run seeded like `rngs[k]`
    /// draws, and an ensemble member equals that single run (to the graph's batching round-off).
    pub fn sample_batch(
        &self,
        velocity: &mut impl Velocity,
        observed: &ArrayD<f32>,
        observed_slots: &[bool],
        rngs: &mut [SplitMix64],
        mut on_step: impl FnMut(usize),
    ) -> Result<ArrayD<f32>> {
        assert_eq!(observed.shape()[0], rngs.len(), "one noise stream per batch member");
        let mut z = ArrayD::<f32>::zeros(observed.raw_dim());
        let per_member = z.len() / rngs.len().max(1);
        let noise = z.as_slice_mut().expect("fresh arrays are contiguous");
        for (chunk, rng) in noise.chunks_mut(per_member.max(1)).zip(rngs.iter_mut()) {
            rng.fill_normal(chunk);
        }
        let clamp = |z: &mut ArrayD<f32>| clamp_slots(z, observed, observed_slots);
        let h = 1.0 / self.steps as f32;
        for i in 0..self.steps {
            let r = i as f32 * h;
            clamp(&mut z);
            let dz = match self.method {
                SamplerMethod::Euler => velocity.velocity(&z, r)?,
                SamplerMethod::Midpoint => {
                    let k1 = velocity.velocity(&z, r)?;
                    let mut mid = axpy(&z, 0.5 * h, &k1);
                    clamp(&mut mid);
                    velocity.velocity(&mid, r + 0.5 * h)?
                }
                SamplerMethod::Rk4 => rk4_increment(velocity, &z, r, h, &clamp)?,
            };
            z = axpy(&z, h, &dz);
            on_step(i + 1);
        }
        clamp(&mut z);
        Ok(z)
    }
}

/// The RK4 average slope `(k1 + 2 k2 + 2 k3 + k4) / 6`, each stage's input clamped.
fn rk4_increment(velocity: &mut impl Velocity, z: &ArrayD<f32>, r: f32, h: f32, clamp: &impl Fn(&mut ArrayD<f32>)) -> Result<ArrayD<f32>> {
    let stage = |base: &ArrayD<f32>, a: f32, k: &ArrayD<f32>| {
        let mut s = axpy(base, a, k);
        clamp(&mut s);
        s
    };
    let k1 = velocity.velocity(z, r)?;
    let k2 = velocity.velocity(&stage(z, 0.5 * h, &k1), r + 0.5 * h)?;
    let k3 = velocity.velocity(&stage(z, 0.5 * h, &k2), r + 0.5 * h)?;
    let k4 = velocity.velocity(&stage(z, h, &k3), r + h)?;
    let mut sum = k1;
    Zip::from(&mut sum).and(&k2).and(&k3).and(&k4).for_each(|a, &b, &c, &d| *a = (*a + 2.0 * b + 2.0 * c + d) / 6.0);
    Ok(sum)
}

/// `x + a * y`.
fn axpy(x: &ArrayD<f32>, a: f32, y: &ArrayD<f32>) -> ArrayD<f32> {
    let mut out = x.clone();
    Zip::from(&mut out).and(y).for_each(|o, &v| *o += a * v);
    out
}

/// Overwrite the observed slots of `z` with `observed`.
pub fn clamp_slots(z: &mut ArrayD<f32>, observed: &ArrayD<f32>, observed_slots: &[bool]) {
    for (s, _) in observed_slots.iter().enumerate().filter(|(_, &o)| o) {
        z.index_axis_mut(Axis(SLOT_AXIS), s).assign(&observed.index_axis(Axis(SLOT_AXIS), s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn latent(slots: usize) -> ArrayD<f32> {
        ArrayD::from_shape_fn(IxDyn(&[1, 2, slots, 3, 3]), |ix| (ix[1] + 10 * ix[2] + ix[3] * ix[4]) as f32 * 0.1)
    }

    /// The rectified-flow velocity toward a fixed target: z(1) must equal the target exactly, since
    /// the true trajectory is a straight line. (RK4's last stage sits at r = 1, where this velocity
    /// is singular; its accuracy is covered by `convergence_orders`.)
    #[test]
    fn straight_line_flow_reaches_target() {
        let target = latent(3);
        for method in [SamplerMethod::Euler, SamplerMethod::Midpoint] {
            let mut v = |z: &ArrayD<f32>, r: f32| Ok((&target - z) / (1.0 - r));
            let out = Sampler { method, steps: 8 }.sample(&mut v, &ArrayD::zeros(target.raw_dim()), &[false; 3], &mut SplitMix64::new(1), |_| {}).unwrap();
            let err = (&out - &target).iter().fold(0.0f32, |m, d| m.max(d.abs()));
            assert!(err < 1e-4, "{method:?}: max error {err}");
        }
    }

    /// Exponential decay dz/dr = -z: the global error must shrink at the method's order.
    #[test]
    fn convergence_orders() {
        let z0 = SplitMix64::new(3).normal();
        for (method, order) in [(SamplerMethod::Euler, 1.0), (SamplerMethod::Midpoint, 2.0), (SamplerMethod::Rk4, 4.0)] {
            let err = |steps| {
                let obs = ArrayD::zeros(IxDyn(&[1, 1, 1, 1, 1]));
                let mut v = |z: &ArrayD<f32>, _r: f32| Ok(z.mapv(|x| -x));
                let out = Sampler { method, steps }.sample(&mut v, &obs, &[false], &mut SplitMix64::new(3), |_| {}).unwrap();
                (out[[0, 0, 0, 0, 0]] as f64 - z0 as f64 * (-1.0f64).exp()).abs()
            };
            let (coarse, fine) = (err(4), err(8));
            let observed = (coarse / fine).log2();
            assert!(observed > order - 0.3, "{method:?}: observed order {observed:.2}, expected {order}");
        }
    }

    #[test]
    fn observed_slots_stay_clamped_and_others_move() {
        let observed = latent(3);
        let mut v = |z: &ArrayD<f32>, _r: f32| Ok(z.mapv(|x| x + 1.0));
        let out =
            Sampler { method: SamplerMethod::Midpoint, steps: 5 }.sample(&mut v, &observed, &[true, false, true], &mut SplitMix64::new(7), |_| {}).unwrap();
        for s in [0, 2] {
            assert_eq!(out.index_axis(Axis(2), s), observed.index_axis(Axis(2), s));
        }
        assert_ne!(out.index_axis(Axis(2), 1), observed.index_axis(Axis(2), 1));
    }

    #[test]
    fn same_seed_same_bits_other_seed_differs() {
        let observed = latent(2);
        let run = |seed| {
            let mut v = |z: &ArrayD<f32>, r: f32| Ok(z.mapv(|x| (x * r).sin()));
            Sampler { method: SamplerMethod::Rk4, steps: 3 }.sample(&mut v, &observed, &[true, false], &mut SplitMix64::new(seed), |_| {}).unwrap()
        };
        let (a, b, c) = (run(5), run(5), run(6));
        assert!(a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_ne!(a, c);
    }

    /// A batch draws member k's noise from `rngs[k]` alone: with a velocity that treats every
    /// element on its own, each member is bit for bit the batch-1 run with that stream.
    #[test]
    fn batch_members_are_the_single_runs() {
        let one = latent(2);
        let both = ndarray::concatenate(Axis(0), &[one.view(), one.view()]).unwrap();
        let v = |z: &ArrayD<f32>, r: f32| Ok(z.mapv(|x| (x * (1.0 + r)).cos()));
        let sampler = Sampler { method: SamplerMethod::Midpoint, steps: 3 };
        let batch = sampler.sample_batch(&mut v.clone(), &both, &[true, false], &mut [SplitMix64::new(5), SplitMix64::new(9)], |_| {}).unwrap();
        for (k, seed) in [5, 9].into_iter().enumerate() {
            let single = sampler.sample(&mut v.clone(), &one, &[true, false], &mut SplitMix64::new(seed), |_| {}).unwrap();
            let member = batch.index_axis(Axis(0), k);
            assert!(member.iter().zip(single.index_axis(Axis(0), 0).iter()).all(|(a, b)| a.to_bits() == b.to_bits()), "member {k}");
        }
    }

    #[test]
    fn step_callback_counts_steps() {
        let observed = latent(1);
        let mut seen = vec![];
        let mut v = |z: &ArrayD<f32>, _r: f32| Ok(z.clone());
        Sampler { method: SamplerMethod::Euler, steps: 4 }.sample(&mut v, &observed, &[false], &mut SplitMix64::new(0), |i| seen.push(i)).unwrap();
        assert_eq!(seen, vec![1, 2, 3, 4]);
    }
}

//! A fake [`Graphs`] for unit tests: cheap, deterministic arithmetic whose results can be traced
//! back to the inputs, and a log of what every call received.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use crate::bundle::Manifest;
use crate::error::Result;
use crate::model::Graphs;

/// What the fake saw, per call.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Rows per lift call.
    pub lift_rows: Vec<usize>,
    /// Per encode call: the batch and, per frame, whether the frame holds any non-zero value.
    pub encoded: Vec<(usize, Vec<bool>)>,
    /// Per encode call, per member and frame: channel 0 averaged over the nodes.
    pub encoded_means: Vec<Vec<Vec<f32>>>,
    /// Per velocity call: the batch, the slot mask and the parameters.
    pub velocity: Vec<(usize, Vec<f32>, Option<Vec<f32>>)>,
    pub decodes: usize,
    /// Rows per query call.
    pub query_rows: Vec<usize>,
}

/// The shipped 2D bundle's manifest (32 x 32 periodic grid, 9 frames, slots [0], [1..4], [5..8])
/// with fake graphs:
/// - lift: feature f of a node is the mean of its masked neighbours' channel 0, plus f;
/// - encoder: slot s of the latent is the mean over the slot's frames of their channel 0 (mean
///   over nodes), constant over latent channels and nodes;
/// - velocity: `observed - z` (toward the conditioning), plus the first parameter;
/// - decoder: frame t, channel c is the latent's channel 0 mean over its slot, times (c + 1);
/// - query: the mean over the stencil of feature 0.
pub struct Fake {
    pub manifest: Manifest,
    pub log: Arc<Mutex<Log>>,
    /// While set, the decoder fails (after the sampler has drawn its noise).
    pub fail_decode: Arc<AtomicBool>,
}

impl Fake {
    pub fn new() -> Fake {
        let manifest: Manifest = serde_json::from_str(include_str!("../../onnx/bundles/ns2d-vorticity/manifest.json")).expect("the shipped manifest");
        Fake { manifest, log: Arc::default(), fail_decode: Arc::default() }
    }

    fn slot_of(&self, t: usize) -> usize {
        self.manifest.time.slots.iter().position(|s| s.contains(&t)).expect("every frame has a slot")
    }
}

impl Graphs for Fake {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn lift(&mut self, values: ArrayViewD<f32>, _offsets: ArrayViewD<f32>, mask: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        let (m, k, f) = (values.shape()[0], values.shape()[1], self.manifest.lift_features());
        self.log.lock().unwrap().lift_rows.push(m);
        Ok(ArrayD::from_shape_fn(IxDyn(&[m, f]), |ix| {
            let (sum, n) = (0..k).fold((0.0, 0.0), |(s, n), j| (s + mask[[ix[0], j]] * values[[ix[0], j, 0]], n + mask[[ix[0], j]]));
            sum / f32::max(n, 1.0) + ix[1] as f32
        }))
    }

    fn encode(&mut self, frames: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        let (b, t) = (frames.shape()[0], frames.shape()[2]);
        let nonzero = (0..t).map(|t| frames.index_axis(Axis(2), t).iter().any(|&v| v != 0.0)).collect();
        // means[b][t]: channel 0 of frame t, averaged over the nodes.
        let means: Vec<Vec<f32>> =
            (0..b).map(|k| (0..t).map(|t| frames.index_axis(Axis(0), k).index_axis(Axis(0), 0).index_axis(Axis(0), t).mean().unwrap()).collect()).collect();
        let mut log = self.log.lock().unwrap();
        log.encoded.push((b, nonzero));
        log.encoded_means.push(means.clone());
        let m = &self.manifest;
        let mut shape = vec![b, m.latent.channels, m.time.slots.len()];
        shape.extend(m.latent.shape.iter().rev());
        Ok(ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
            let slot = &m.time.slots[ix[2]];
            slot.iter().map(|&t| means[ix[0]][t]).sum::<f32>() / slot.len() as f32
        }))
    }

    fn velocity(&mut self, z: &ArrayD<f32>, observed: &ArrayD<f32>, slot_mask: &[f32], _r: f32, params: Option<&[f32]>) -> Result<ArrayD<f32>> {
        self.log.lock().unwrap().velocity.push((z.shape()[0], slot_mask.to_vec(), params.map(<[f32]>::to_vec)));
        let p = params.map_or(0.0, |p| p[0]);
        Ok(observed - z + p)
    }

    fn decode(&mut self, latent: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        if self.fail_decode.load(Ordering::SeqCst) {
            return Err(crate::err!(Inference, "the fake decoder fails on purpose"));
        }
        self.log.lock().unwrap().decodes += 1;
        let m = &self.manifest;
        let b = latent.shape()[0];
        let mut shape = vec![b, m.decoder_channels(), m.time.frames];
        shape.extend(m.latent_grid.shape.iter().rev());
        Ok(ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
            let slot = latent.index_axis(Axis(0), ix[0]).index_axis(Axis(0), 0).index_axis(Axis(0), self.slot_of(ix[2])).mean().unwrap();
            slot * (ix[1] + 1) as f32
        }))
    }

    fn query(&mut self, features: ArrayViewD<f32>, _offsets: ArrayViewD<f32>) -> Result<ArrayD<f32>> {
        let (m, k) = (features.shape()[0], features.shape()[1]);
        self.log.lock().unwrap().query_rows.push(m);
        let c = self.manifest.channels();
        Ok(ArrayD::from_shape_fn(IxDyn(&[m, c]), |ix| (0..k).map(|j| features[[ix[0], j, 0]]).sum::<f32>() / k as f32))
    }
}

//! Mesh -> grid without a model (`lift.kind = "kernel"`): each covered node gets a normalised
//! weighted average of its gathered neighbours; uncovered nodes get 0 (and coverage 0).
//!
//! Weights depend on geometry only, so [`kernel_weights`] is computed once per mesh and
//! [`apply_weights`] once per frame.

use rayon::prelude::*;

use super::gather::{check_point_values, coverage, gather_grid_neighbours, Neighbours, PAD};
use super::index::PointIndex;
use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Default [`Kernel::Gaussian`] sharpness: σ = radius / 2, so a neighbour at the edge of the
/// radius weighs e⁻² ≈ 0.14 of one on the node.
pub const DEFAULT_GAUSSIAN_SHARPNESS: f64 = 2.0;

/// Distances (in grid spacings) below this count as "on the node" for inverse-distance weighting,
/// whose weight would otherwise be infinite. Offsets are f32, so smaller is noise anyway.
const ON_NODE: f64 = 1e-6;

/// How the neighbours of a node are weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// The nearest neighbour's value (ties by point index).
    Nearest,
    /// Shepard weights `1 / d^power` (`power >= 0`; 2 is usual). Neighbours closer than 1e-6
    /// spacings to the node share all the weight equally.
    InverseDistance { power: f64 },
    /// `exp(-d² / (2 σ²))` with `σ = radius / sharpness` (`sharpness > 0`, see
    /// [`DEFAULT_GAUSSIAN_SHARPNESS`]): larger is more local, smaller smooths more.
    Gaussian { sharpness: f64 },
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::Gaussian { sharpness: DEFAULT_GAUSSIAN_SHARPNESS }
    }
}

impl Kernel {
    fn check(self) -> Result<()> {
        let ok = match self {
            Kernel::Nearest => true,
            Kernel::InverseDistance { power } => power.is_finite() && power >= 0.0,
            Kernel::Gaussian { sharpness } => sharpness.is_finite() && sharpness > 0.0,
        };
        if ok { Ok(()) } else { Err(err!(Usage, "invalid kernel parameters {self:?}")) }
    }

    /// Unnormalised weights of one node's neighbours at distances `dist` (spacings, nearest first).
    fn row(self, dist: &[f64], radius: f64, w: &mut [f64]) {
        let d0 = dist[0];
        let pairs = w.iter_mut().zip(dist);
        match self {
            Kernel::Nearest => w[0] = 1.0,
            Kernel::InverseDistance { .. } if d0 < ON_NODE => pairs.for_each(|(w, &d)| *w = f64::from(u8::from(d < ON_NODE))),
            // Scaled by the nearest's weight so large powers cannot overflow.
            Kernel::InverseDistance { power } => pairs.for_each(|(w, &d)| *w = (d0 / d).powf(power)),
            Kernel::Gaussian { sharpness } => {
                // Shifted by the nearest distance so a sharp kernel cannot underflow to 0 / 0.
                let two_s2 = (2.0 * (radius / sharpness).powi(2)).max(f64::MIN_POSITIVE);
                pairs.for_each(|(w, &d)| *w = (-(d * d - d0 * d0) / two_s2).exp());
            }
        }
    }
}

/// Normalised weights `[M, K]` (each covered row sums to 1, padding 0) for `neigh`.
///
/// Errors: invalid kernel parameters (`Usage`).
pub fn kernel_weights(neigh: &Neighbours, kernel: Kernel) -> Result<Vec<f32>> {
    kernel.check()?;
    let (k, dim) = (neigh.k, neigh.dim);
    let mut out = vec![0.0f32; neigh.index.len()];
    if k == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(k).zip(neigh.offsets.par_chunks(k * dim)).zip(neigh.mask.par_chunks(k)).for_each(|((out, off), mask)| {
        let n = mask.iter().take_while(|&&m| m > 0.0).count();
        if n == 0 {
            return;
        }
        let dist: Vec<f64> = off.chunks(dim).take(n).map(|o| o.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()).collect();
        let mut w = vec![0.0; n];
        kernel.row(&dist, neigh.radius_spacings, &mut w);
        let total: f64 = w.iter().sum();
        out.iter_mut().zip(&w).for_each(|(o, w)| *o = (w / total) as f32);
    });
    Ok(out)
}

/// Grid values `[C][M]` = weighted sums of the neighbours' point-major `values[p * C + c]`.
///
/// Errors: `weights` not `[M, K]` (`Usage`), `values` of the wrong length (`FieldShape`) or not
/// finite (`NonFinite`).
pub fn apply_weights(neigh: &Neighbours, weights: &[f32], values: &[f32], channels: usize) -> Result<Vec<f32>> {
    if weights.len() != neigh.index.len() {
        return Err(err!(Usage, "{} kernel weights for {} neighbour slots", weights.len(), neigh.index.len()));
    }
    check_point_values(values, neigh.points, channels)?;
    let (m, k) = (neigh.len(), neigh.k);
    let mut out = vec![0.0f32; channels * m];
    if m == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(m).enumerate().for_each(|(c, plane)| {
        plane.iter_mut().enumerate().for_each(|(node, o)| {
            let slots = node * k..(node + 1) * k;
            let sum: f64 = neigh.index[slots.clone()].iter().zip(&weights[slots]).filter(|(&p, _)| p != PAD)
                .map(|(&p, &w)| f64::from(w) * f64::from(values[p as usize * channels + c]))
                .sum();
            *o = sum as f32;
        });
    });
    Ok(out)
}

/// Mesh -> grid in one call: `([C][nodes] values, [nodes] coverage)` for the whole grid.
/// Gathers neighbours and weights on every call; [`super::Resampler`] keeps them across frames.
///
/// Errors: those of [`gather_grid_neighbours`], [`kernel_weights`] and [`apply_weights`].
pub fn kernel_to_grid(
    index: &PointIndex,
    grid: &Grid,
    values: &[f32],
    channels: usize,
    k: usize,
    radius_spacings: f64,
    kernel: Kernel,
) -> Result<(Vec<f32>, Vec<f32>)> {
    check_point_values(values, index.len(), channels)?;
    let neigh = gather_grid_neighbours(index, grid, k, radius_spacings, 0..grid.len())?;
    let weights = kernel_weights(&neigh, kernel)?;
    Ok((apply_weights(&neigh, &weights, values, channels)?, coverage(&neigh)))
}

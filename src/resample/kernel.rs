//! Mesh -> grid by kernels over scattered points (`lift.kind = "kernel"`, VTK's point
//! interpolator): each covered node gets a normalised weighted average of the points in its
//! [`Footprint`]; uncovered nodes get what [`Outside`] says (and coverage 0).
//!
//! Weights depend on geometry only: [`kernel_grid_weights`] computes them once per mesh, and
//! [`Weights::apply`] maps each frame.

use super::gather::check_point_values;
use super::index::{KthEstimate, PointIndex};
use super::weights::{Outside, Weights};
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
    /// The nearest neighbour's value (ties by point index): Voronoi cells, VTK's `vtkVoronoiKernel`.
    Nearest,
    /// Shepard weights `1 / d^power` (`power >= 0`; 2 is usual, VTK's `vtkShepardKernel`).
    /// Neighbours closer than 1e-6 spacings to the node share all the weight equally.
    InverseDistance { power: f64 },
    /// `exp(-d² / (2 σ²))` with `σ = radius / sharpness` (`sharpness > 0`, see
    /// [`DEFAULT_GAUSSIAN_SHARPNESS`]; the footprint's radius must be finite): larger is more
    /// local, smaller smooths more. VTK's `vtkGaussianKernel` weighs `exp(-(S d / R)²)`: the same
    /// kernel with `sharpness = √2 S` and the same radius.
    Gaussian { sharpness: f64 },
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::Gaussian { sharpness: DEFAULT_GAUSSIAN_SHARPNESS }
    }
}

/// Which points a node's kernel sees. Radii are in grid spacings ([`Grid::min_spacing`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Footprint {
    /// The `n` closest points within `radius` (VTK `N_CLOSEST` when the radius is infinite).
    Closest { n: usize, radius: f64 },
    /// Every point within `radius` (VTK `RADIUS`).
    Radius(f64),
}

impl Footprint {
    /// The search radius in grid spacings.
    pub fn radius(self) -> f64 {
        match self {
            Footprint::Closest { radius, .. } | Footprint::Radius(radius) => radius,
        }
    }
}

impl Kernel {
    /// Errors (`Usage`): parameters out of range, a Gaussian without a finite radius, a radius
    /// that is negative or NaN.
    pub(crate) fn check(self, footprint: Footprint) -> Result<()> {
        let r = footprint.radius();
        let ok = r >= 0.0
            && match self {
                Kernel::Nearest => true,
                Kernel::InverseDistance { power } => power.is_finite() && power >= 0.0,
                Kernel::Gaussian { sharpness } => sharpness.is_finite() && sharpness > 0.0 && r.is_finite() && r > 0.0,
            };
        if ok {
            return Ok(());
        }
        Err(err!(Usage, "invalid kernel parameters {self:?} with footprint {footprint:?}")
            .with_hint("the Gaussian needs sharpness > 0 and a finite radius > 0 (its width is radius / sharpness); inverse distance needs power >= 0"))
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

/// Kernel weights of every grid node over the indexed points; a node is covered when its footprint
/// holds a point (point clouds).
///
/// Errors: invalid kernel parameters (`Usage`), an index built for another grid (`Usage`).
pub fn kernel_grid_weights(index: &PointIndex, grid: &Grid, footprint: Footprint, kernel: Kernel, outside: Outside) -> Result<Weights> {
    kernel_grid_weights_inside(index, grid, footprint, kernel, outside, None)
}

/// [`kernel_grid_weights`] with the coverage given by geometry: with `inside` (`[nodes]`, e.g.
/// [`super::cells::inside_cells`]) a node is covered exactly when it is inside, whatever its
/// footprint holds. Nodes outside get [`Outside`] even with points in their footprint (so an
/// obstacle's mask is the obstacle); nodes inside with an empty footprint (a mesh coarser than
/// the footprint, far from a body on a graded mesh) take the footprint's number of nearest points
/// at any distance (at least one), so no covered node goes without values.
///
/// Errors: those of [`kernel_grid_weights`]; `inside` of another length than the grid (`Usage`).
pub fn kernel_grid_weights_inside(
    index: &PointIndex,
    grid: &Grid,
    footprint: Footprint,
    kernel: Kernel,
    outside: Outside,
    inside: Option<&[bool]>,
) -> Result<Weights> {
    if inside.is_some_and(|m| m.len() != grid.len()) {
        return Err(err!(Usage, "an inside mask of {} nodes for a grid of {}", inside.map_or(0, <[bool]>::len), grid.len()));
    }
    kernel.check(footprint)?;
    super::gather::check_compatible(index, grid, footprint.radius(), &(0..grid.len()))?;
    let h = grid.min_spacing();
    let radius = footprint.radius();
    let r2 = (radius * h).powi(2);
    let null = match outside {
        Outside::Null(v) => v,
        Outside::Closest => 0.0,
    };
    // Points per node of a `Closest` footprint (the nearest kernel needs one).
    let k = match footprint {
        Footprint::Closest { n, .. } if kernel == Kernel::Nearest => n.min(1),
        Footprint::Closest { n, .. } => n,
        Footprint::Radius(_) => 0,
    };
    // Per task: the search buffer, distances, weights, and the running k-th distance (a hint).
    let init = || (Vec::new(), Vec::new(), Vec::new(), KthEstimate::new(k), grid.cursor());
    Weights::build(grid.len(), index.len(), null, init, |(found, dist, w, kth, nodes), node, out| {
        let q = nodes.position(node);
        let covered = inside.map(|m| m[node]);
        if covered == Some(false) {
            if outside == Outside::Closest {
                out.push(index.closest(&q).0, 1.0);
            }
            return false;
        }
        match footprint {
            Footprint::Closest { .. } => {
                index.nearest_into_hinted(&q, k, r2, kth.hint2(), found);
                kth.update(found);
            }
            Footprint::Radius(_) => index.within_into(&q, r2, found),
        }
        if found.is_empty() && covered == Some(true) {
            // (Not through the hint: these rare searches would spoil it for the others.)
            index.nearest_into(&q, k.max(1), f64::INFINITY, found);
        }
        if found.is_empty() {
            if outside == Outside::Closest {
                out.push(index.closest(&q).0, 1.0);
            }
            return false;
        }
        if kernel == Kernel::Nearest {
            out.push(found[0].0, 1.0);
            return true;
        }
        dist.clear();
        dist.extend(found.iter().map(|&(_, d2)| d2.sqrt() / h));
        w.clear();
        w.resize(found.len(), 0.0);
        kernel.row(dist, radius, w);
        let total: f64 = w.iter().sum();
        found.iter().zip(w.iter()).filter(|(_, &w)| w > 0.0).for_each(|(&(p, _), &w)| out.push(p, (w / total) as f32));
        true
    })
}

/// Mesh -> grid in one call: `([C][nodes] values, [nodes] coverage)` for the whole grid with the
/// `k` closest points within `radius_spacings`, 0 where uncovered. [`super::Resampler`] keeps the
/// weights across frames.
///
/// Errors: those of [`kernel_grid_weights`] and [`Weights::apply`].
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
    let weights = kernel_grid_weights(index, grid, Footprint::Closest { n: k, radius: radius_spacings }, kernel, Outside::default())?;
    Ok((weights.apply(values, channels)?, weights.coverage().to_vec()))
}

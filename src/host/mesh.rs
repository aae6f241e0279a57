//! The host's mesh as a [`super::Surrogate`] sees it, and the per-rank steps of the distributed
//! protocol on it ([`crate::distributed`] runs them in order over a
//! [`crate::distributed::Communicator`]; a serial host runs them with one rank):
//!
//! 1. every rank: [`HostMesh::set_local`] with its own points and their global ids. It keeps the
//!    *candidates*: the local points among the `lift.neighbours` nearest of some latent grid node
//!    (within the lift radius; at any distance with `lift.footprint` adaptive, searched no farther
//!    than the least K-th distance within the radius that any rank has:
//!    [`HostMesh::candidate_bounds`], [`HostMesh::bound_candidates`]).
//! 2. the candidates (points, ids) of every rank go to one rank, the *master*, which builds the
//!    neighbour lists from them ([`HostMesh::set_cloud`]); the others only evaluate
//!    ([`HostMesh::set_evaluation_only`]). With `lift.footprint` adaptive a node is covered by the
//!    local spacing `s(p)` at its nearest point `p` over the whole mesh: the master sends those
//!    points (the *probes*) to every rank, each measures the distances from them to its own nearest
//!    points ([`HostMesh::local_spacings`]), and the master merges these into the exact `s(p)`
//!    ([`HostMesh::set_spacings`]). Per snapshot, the ranks' values at their candidates
//!    ([`HostMesh::candidate_values`]) go to the master.
//! 3. every rank evaluates the decoded frames at its own points ([`HostMesh::output`]).
//!
//! This is exact: each node's K nearest points over the whole mesh (ties broken by global id) are
//! among the union of every rank's K nearest, the `s(p)`-th nearest distance over the mesh is the
//! same rank's over the union of every rank's nearest distances, so the master's neighbour lists,
//! coverage and lifted frames are those of a serial run on the whole mesh, and evaluating the
//! decoded grid at a point does not depend on the other points.

use crate::bundle::{LiftFootprint, LiftKind, Manifest};
use crate::err;
use crate::error::Result;
use crate::grid::Grid;
use crate::resample::{
    lift_candidates, merge_spacings, nearest_distances2, spacing_probes, spacing_rank, Geometry, Input, LiftCandidates, PointIndex, Probe, ToPoints, PAD,
};

/// The local part of the mesh: the host's points, in the host's order.
struct Local {
    points: Vec<[f64; 3]>,
    ids: Vec<i64>,
    /// Local indices of the candidates, ordered by global id.
    candidates: Vec<usize>,
    inside: usize,
    /// `lift.footprint` adaptive: the candidates until the ranks agree on bounds.
    pending: Option<LiftCandidates>,
}

/// What the master keeps about the reduced cloud.
pub(crate) struct Cloud {
    /// `order[i]`: position in the caller's cloud arrays of the i-th point by global id.
    pub(crate) order: Vec<usize>,
    pub(crate) points: Vec<[f64; 3]>,
    /// The cloud's global ids, ascending.
    ids: Vec<i64>,
    /// `lift.footprint` adaptive, until the spacings arrive: the cloud points (indices in id
    /// order) that are some node's nearest, whose local spacing the ranks measure.
    probes: Vec<u32>,
}

/// The registered mesh: this rank's locations and candidates, the master's cloud, and the cached
/// geometry (the lift from the cloud on the master, the evaluation at this rank's locations).
#[derive(Default)]
pub(crate) struct HostMesh {
    grid: Option<Grid>,
    local: Option<Local>,
    pub(crate) cloud: Option<Cloud>,
    geometry: Option<Geometry>,
}

impl HostMesh {
    /// Every rank: register this rank's locations with their global ids (unique over the ranks;
    /// they break ties between equidistant points, like point indices in a serial run). `lo`/`hi`
    /// is the bounding box of the whole mesh, used only when the bundle's grid box is fitted.
    pub(crate) fn set_local(&mut self, m: &Manifest, points: &[[f64; 3]], ids: &[i64], lo: [f64; 3], hi: [f64; 3]) -> Result<()> {
        if ids.len() != points.len() {
            return Err(err!(Usage, "{} global ids for {} points", ids.len(), points.len()));
        }
        let grid = m.grid(Some((lo, hi)))?;
        let inside = grid.inside_count(points);
        let (candidates, pending) =
            if needs_spacings(m) { (vec![], Some(LiftCandidates::new(m, &grid, points, ids)?)) } else { (lift_candidates(m, &grid, points, ids)?, None) };
        self.grid = Some(grid);
        self.local = Some(Local { points: points.to_vec(), ids: ids.to_vec(), candidates, inside, pending });
        self.geometry = None;
        self.cloud = None;
        Ok(())
    }

    fn local(&self) -> Result<&Local> {
        self.local.as_ref().ok_or_else(|| err!(Usage, "no mesh registered: call set_mesh or set_mesh_on first"))
    }

    /// `lift.footprint` adaptive, every rank: per latent node, the squared distance of its K-th
    /// nearest local point within the lift radius (+inf if none); the least over the ranks bounds
    /// the node's K-th nearest over the mesh ([`HostMesh::bound_candidates`]).
    pub(crate) fn candidate_bounds(&self) -> Result<Vec<f64>> {
        let local = self.local()?;
        let pending = local.pending.as_ref().ok_or_else(|| err!(Usage, "no candidates wait for bounds (lift.footprint adaptive, after set_local)"))?;
        Ok(pending.kth2.clone())
    }

    /// `lift.footprint` adaptive, every rank: the least of every rank's
    /// [`HostMesh::candidate_bounds`] per node; selects this rank's candidates.
    pub(crate) fn bound_candidates(&mut self, bounds: &[f64]) -> Result<()> {
        let grid = self.grid.as_ref().ok_or_else(|| err!(Usage, "call set_local before bound_candidates"))?;
        check_len("candidate bounds", bounds.len(), grid.len())?;
        let local = self.local.as_mut().ok_or_else(|| err!(Usage, "no mesh registered"))?;
        let pending = local.pending.take().ok_or_else(|| err!(Usage, "no candidates wait for bounds (lift.footprint adaptive, after set_local)"))?;
        local.candidates = pending.finish(grid, Some(bounds));
        Ok(())
    }

    /// Number of local locations inside the latent grid's box (to reduce over ranks).
    pub(crate) fn inside_count(&self) -> Result<usize> {
        Ok(self.local()?.inside)
    }

    /// Local candidates: their locations and global ids, ordered by global id.
    pub(crate) fn candidates(&self) -> Result<(Vec<[f64; 3]>, Vec<i64>)> {
        let local = self.local()?;
        Ok((local.candidates.iter().map(|&i| local.points[i]).collect(), local.candidates.iter().map(|&i| local.ids[i]).collect()))
    }

    /// Number of local candidates.
    pub(crate) fn candidate_count(&self) -> Result<usize> {
        Ok(self.local()?.candidates.len())
    }

    /// One snapshot's values at the local candidates (`[candidates][C]`), from the values at all
    /// local locations (`[N][C]`, physical units).
    pub(crate) fn candidate_values(&self, values: &[f64], channels: usize) -> Result<Vec<f64>> {
        let local = self.local()?;
        let c = channels;
        check_len("snapshot values", values.len(), local.points.len() * c)?;
        Ok(local.candidates.iter().flat_map(|&i| values[i * c..(i + 1) * c].iter().copied()).collect())
    }

    /// Master: the candidates of every rank (any order; `ids` unique), the total number of
    /// locations and how many of them lie inside the grid's box, over all ranks. Builds the
    /// neighbour lists of the latent grid (once) and the evaluation at this rank's locations.
    ///
    /// With `lift.footprint` adaptive the neighbour lists wait for the local spacings of the
    /// returned *probes* (the cloud points that are some node's nearest, with a bound on their
    /// spacing's distance from the cloud), which
    /// every rank measures on its own points ([`HostMesh::local_spacings`]) and
    /// [`HostMesh::set_spacings`] merges; radius returns no probes.
    pub(crate) fn set_cloud(&mut self, m: &Manifest, points: &[[f64; 3]], ids: &[i64], total_points: usize, total_inside: usize) -> Result<Vec<Probe>> {
        check_len("cloud ids", ids.len(), points.len())?;
        let grid = self.grid.clone().ok_or_else(|| err!(Usage, "call set_local before set_cloud"))?;
        if total_points == 0 {
            return Err(err!(OutsideGrid, "the mesh has no locations to resample onto the latent grid"));
        }
        grid.check_covered(total_inside, total_points, "mesh locations")?;
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|&i| ids[i]);
        if order.windows(2).any(|w| ids[w[0]] == ids[w[1]]) {
            return Err(err!(Usage, "the cloud's global ids are not unique"));
        }
        let cloud: Vec<[f64; 3]> = order.iter().map(|&i| points[i]).collect();
        let sorted_ids = order.iter().map(|&i| ids[i]).collect();
        self.geometry = None;
        if needs_spacings(m) && !cloud.is_empty() {
            let index = PointIndex::new(&cloud, &grid)?;
            let (points, probes) = spacing_probes(&index, &grid)?;
            self.cloud = Some(Cloud { order, points: cloud, ids: sorted_ids, probes: points });
            return Ok(probes);
        }
        let geometry = Geometry::new(m, &grid, Some(&cloud), &self.local()?.points)?;
        self.geometry = Some(geometry);
        self.cloud = Some(Cloud { order, points: cloud, ids: sorted_ids, probes: vec![] });
        Ok(vec![])
    }

    /// Every rank: the squared distances from each probe of [`HostMesh::set_cloud`] to its
    /// nearest points among this rank's locations within its bound (`rank` per probe, ascending,
    /// padded with +inf;
    /// `rank` = [`spacing_rank`]), this rank's part of the probes' local spacings.
    pub(crate) fn local_spacings(&self, probes: &[Probe]) -> Result<Vec<f64>> {
        let grid = self.grid.as_ref().ok_or_else(|| err!(Usage, "call set_local before local_spacings"))?;
        let points = &self.local()?.points;
        let index = if points.is_empty() { None } else { Some(PointIndex::new(points, grid)?) };
        Ok(nearest_distances2(index.as_ref(), probes, spacing_rank(grid.dim)))
    }

    /// Master: every rank's [`HostMesh::local_spacings`], concatenated. Merges them into the
    /// probes' spacings over the whole mesh and builds the neighbour lists with them.
    pub(crate) fn set_spacings(&mut self, m: &Manifest, parts: &[f64]) -> Result<()> {
        let grid = self.grid.clone().ok_or_else(|| err!(Usage, "call set_local before set_spacings"))?;
        let cloud = self.cloud.as_mut().ok_or_else(|| err!(Usage, "this rank holds no cloud: set spacings on the master (set_cloud)"))?;
        let rank = spacing_rank(grid.dim);
        let probes = std::mem::take(&mut cloud.probes);
        if probes.is_empty() || parts.len() % (probes.len() * rank) != 0 {
            return Err(err!(Usage, "{} local spacings for {} probes", parts.len(), probes.len()));
        }
        // Points that are no node's nearest are never read.
        let mut spacing = vec![f64::NAN; cloud.points.len()];
        for (&p, s) in probes.iter().zip(merge_spacings(parts, probes.len(), rank)) {
            spacing[p as usize] = s;
        }
        let output = &self.local.as_ref().ok_or_else(|| err!(Usage, "no mesh registered"))?.points;
        let geometry = Geometry::with_spacing(m, &grid, Some(&cloud.points), Some(&spacing), output)?;
        self.geometry = Some(geometry);
        Ok(())
    }

    /// Master: `[nodes]` 1 where a latent grid node is covered by the mesh (the encoder's coverage
    /// channel), in the grid's flat node order; `None` on other ranks or before the mesh is set.
    pub(crate) fn coverage(&self) -> Option<&[f32]> {
        self.geometry.as_ref()?.input.as_ref().map(|input| input.to_grid.coverage())
    }

    /// Master, learned lift: the global ids of every node's lift neighbours (`[nodes][K]`, nearest
    /// first, -1 for padding), to compare a distributed run's lift with a serial one.
    pub(crate) fn lift_neighbour_ids(&self) -> Option<Vec<i64>> {
        let cloud = self.cloud.as_ref()?;
        let neighbours = self.geometry.as_ref()?.input.as_ref()?.to_grid.resampler().neighbours()?;
        Some(neighbours.index.iter().map(|&p| if p == PAD { -1 } else { cloud.ids[p as usize] }).collect())
    }

    /// Ranks other than the master: only evaluate decoded frames at this rank's locations.
    pub(crate) fn set_evaluation_only(&mut self, m: &Manifest) -> Result<()> {
        let grid = self.grid.clone().ok_or_else(|| err!(Usage, "call set_local before set_evaluation_only"))?;
        self.geometry = Some(Geometry::output_only(m, &grid, &self.local()?.points)?);
        self.cloud = None;
        Ok(())
    }

    /// The latent grid fixed by the registered mesh.
    pub(crate) fn grid(&self) -> Result<&Grid> {
        self.grid.as_ref().ok_or_else(|| err!(Usage, "no mesh registered: call set_mesh first"))
    }

    /// The evaluation of decoded frames at this rank's locations.
    pub(crate) fn output(&self) -> Result<&ToPoints> {
        Ok(self.geometry.as_ref().ok_or_else(|| err!(Usage, "no mesh registered: call set_mesh (serial) or set_mesh_on"))?.output())
    }

    /// Master: the lift from the cloud onto the latent grid.
    pub(crate) fn input(&self) -> Result<&Input> {
        self.geometry
            .as_ref()
            .and_then(|g| g.input.as_ref())
            .ok_or_else(|| err!(Usage, "this rank holds no cloud: run the task on the master (or call set_mesh first, a serial host)"))
    }

    /// Whether this rank's cloud is its own candidates only (a serial host's).
    pub(crate) fn is_serial(&self) -> Result<bool> {
        Ok(self.cloud.as_ref().map(|c| c.order.len()) == Some(self.local()?.candidates.len()))
    }
}

/// Whether the neighbour lists need the local spacings of [`HostMesh::set_cloud`]'s probes
/// (the same on every rank: it is the bundle's `lift`).
pub(crate) fn needs_spacings(m: &Manifest) -> bool {
    m.lift.footprint == LiftFootprint::Adaptive && m.lift.kind == LiftKind::Learned
}

pub(crate) fn check_len(what: &str, got: usize, expected: usize) -> Result<()> {
    if got != expected {
        return Err(err!(FieldShape, "{what}: expected {expected} values, got {got}"));
    }
    Ok(())
}

//! The distributed protocol of [`crate::host`] in the core: rank-local candidate selection, gather
//! on the master, a single inference there, broadcast of the decoded frames (with an ensemble,
//! every member's: see [`crate::host`]), evaluation on every rank. A host implements [`Communicator`] (MPI in the OpenFOAM function object; [`SingleRank`]
//! for serial hosts) and calls the same [`Surrogate`] methods on every rank, in the same order:
//! [`Surrogate::set_mesh_on`], per snapshot [`Surrogate::push_snapshot_on`], then
//! [`Surrogate::forecast_on`] or [`Surrogate::generate_on`], then [`Surrogate::prediction`] at its
//! own locations. Serial hosts take the same path with one rank ([`Surrogate::set_mesh`],
//! [`Surrogate::push_snapshot`]), so serial and distributed runs compute the same numbers.
//!
//! A failure on any rank fails the step on every rank (no rank is left waiting in a collective
//! call): the failing rank returns its own error, the others an error of the same kind with the
//! rank and its message.

use crate::error::{Error, ErrorKind, Result};
use crate::grid::bounding_box;
use crate::host::{needs_spacings, Surrogate};
use crate::resample::Probe;

/// The collective moves of the protocol. Every rank calls them in the same order; values are
/// `f64` (ids and single-precision frames travel exactly).
pub trait Communicator {
    /// This process's rank: 0 (the master) .. `ranks() - 1`.
    fn rank(&self) -> usize;
    fn ranks(&self) -> usize;
    /// Every rank's `local`, concatenated in rank order, on the master; empty elsewhere.
    fn gather(&mut self, local: &[f64]) -> Vec<f64>;
    /// The master's `data` on every rank (what the others pass is ignored).
    fn broadcast(&mut self, data: &[f64]) -> Vec<f64>;
}

/// A serial host: one rank, which is the master.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleRank;

impl Communicator for SingleRank {
    fn rank(&self) -> usize {
        0
    }
    fn ranks(&self) -> usize {
        1
    }
    fn gather(&mut self, local: &[f64]) -> Vec<f64> {
        local.to_vec()
    }
    fn broadcast(&mut self, data: &[f64]) -> Vec<f64> {
        data.to_vec()
    }
}

/// Make every rank agree on a step's outcome: all ranks succeed, or all fail. The failing rank
/// returns its own error; the others (when several fail: the first in rank order) an error of the
/// same kind, `rank R: <its message>`.
fn agree<T>(comm: &mut dyn Communicator, local: Result<T>) -> Result<T> {
    // Per rank: [ok, kind, message length, message bytes...].
    let mut status = vec![1.0, 0.0, 0.0];
    if let Err(e) = &local {
        let message = e.to_string();
        let kind = ErrorKind::ALL.iter().position(|&a| a == e.kind()).expect("every kind is listed");
        status = vec![0.0, kind as f64, message.len() as f64];
        status.extend(message.bytes().map(f64::from));
    }
    let all = comm.gather(&status);
    let mut verdict = vec![-1.0];
    let (mut at, mut rank) = (0, 0);
    while at < all.len() {
        let len = all[at + 2] as usize;
        if all[at] == 0.0 {
            verdict = vec![rank as f64, all[at + 1]];
            verdict.extend(&all[at + 3..at + 3 + len]);
            break;
        }
        (at, rank) = (at + 3 + len, rank + 1);
    }
    let verdict = comm.broadcast(&verdict);
    match (local, verdict[0] < 0.0) {
        (local, true) | (local @ Err(_), false) => local,
        (Ok(_), false) => {
            let message: Vec<u8> = verdict[2..].iter().map(|&b| b as u8).collect();
            Err(Error::new(ErrorKind::ALL[verdict[1] as usize], format!("rank {}: {}", verdict[0], String::from_utf8_lossy(&message))))
        }
    }
}

impl Surrogate {
    /// Every rank: register this rank's locations with their global ids (unique over the ranks;
    /// they break ties between equidistant points, like point indices in a serial run). The ranks
    /// agree on the whole mesh's bounding box, select their candidates, and the master builds the
    /// lift geometry from all of them (with `lift.footprint` adaptive, the ranks first agree on a
    /// bound for each node's K-th nearest distance, and a last round measures the local spacings
    /// at the nodes' nearest points on every rank); every rank caches the evaluation at its own
    /// locations.
    pub fn set_mesh_on(&mut self, comm: &mut dyn Communicator, points: &[[f64; 3]], ids: &[i64]) -> Result<()> {
        let (lo, hi) = bounding_box(points);
        let boxes = comm.gather(&[lo, hi].concat());
        let whole = if comm.rank() == 0 {
            let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            for b in boxes.chunks(6) {
                for a in 0..3 {
                    lo[a] = lo[a].min(b[a]);
                    hi[a] = hi[a].max(b[3 + a]);
                }
            }
            [lo, hi].concat()
        } else {
            vec![]
        };
        let whole = comm.broadcast(&whole);
        let (lo, hi) = ([whole[0], whole[1], whole[2]], [whole[3], whole[4], whole[5]]);
        self.clear_snapshots();
        let adaptive = needs_spacings(self.manifest());
        let local = self.mesh.set_local(&self.bundle.manifest, points, ids, lo, hi);
        agree(comm, local)?;
        if adaptive {
            // lift.footprint adaptive keeps every node's K nearest at any distance. A rank far from
            // a node searches no farther than the least K-th distance within the lift radius that
            // any rank has (a bound on the node's K-th nearest over the mesh).
            let mine = self.mesh.candidate_bounds()?;
            let nodes = mine.len();
            let all = comm.gather(&mine);
            let least = if comm.rank() == 0 {
                (0..nodes).map(|n| all.iter().skip(n).step_by(nodes.max(1)).copied().fold(f64::INFINITY, f64::min)).collect()
            } else {
                vec![]
            };
            let bounds = comm.broadcast(&least);
            let bounded = self.mesh.bound_candidates(&bounds);
            agree(comm, bounded)?;
        }

        let (cloud, cloud_ids) = self.mesh.candidates()?;
        let counts = comm.gather(&[points.len() as f64, self.mesh.inside_count()? as f64]);
        let cloud = comm.gather(&cloud.concat());
        let cloud_ids = comm.gather(&cloud_ids.iter().map(|&i| i as f64).collect::<Vec<_>>());
        let built = if comm.rank() == 0 {
            let cloud: Vec<[f64; 3]> = cloud.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
            let ids: Vec<i64> = cloud_ids.iter().map(|&i| i as i64).collect();
            let (total, inside) = counts.chunks(2).fold((0, 0), |(n, i), c| (n + c[0] as usize, i + c[1] as usize));
            self.mesh.set_cloud(&self.bundle.manifest, &cloud, &ids, total, inside)
        } else {
            self.mesh.set_evaluation_only(&self.bundle.manifest).map(|()| vec![])
        };
        let probes = agree(comm, built)?;
        if !adaptive {
            return Ok(());
        }
        // lift.footprint adaptive: whether a node is covered depends on the local spacing at its
        // nearest point, over the whole mesh. The master's cloud holds every node's nearest point
        // (the probes) but not their neighbourhoods: every rank measures the distances from each
        // probe to its own nearest points, and the master merges them into the exact spacings.
        let probes = Probe::unflatten(&comm.broadcast(&Probe::flatten(&probes)));
        let local = self.mesh.local_spacings(&probes);
        let local = agree(comm, local)?;
        let parts = comm.gather(&local);
        let built = if comm.rank() == 0 { self.mesh.set_spacings(&self.bundle.manifest, &parts) } else { Ok(()) };
        agree(comm, built)
    }

    /// Every rank: a snapshot at `time` (the same on every rank), values `[N][C]` at this rank's
    /// locations, physical units. The master keeps the bundle's `context_frames` most recent; a
    /// schedule ([`Surrogate::set_schedule`]) records the snapshot.
    pub fn push_snapshot_on(&mut self, comm: &mut dyn Communicator, time: f64, values: &[f64]) -> Result<()> {
        let local = self.mesh.candidate_values(values, self.channels());
        let local = agree(comm, local)?;
        let all = comm.gather(&local);
        let pushed = if comm.rank() == 0 { self.push_cloud_snapshot(time, &all) } else { Ok(()) };
        agree(comm, pushed)?;
        if let Some(s) = self.schedule.as_mut() {
            s.snapshot_taken(time);
        }
        Ok(())
    }

    /// Every rank: forecast `horizon` frames (0: one segment) on the master and hand the decoded
    /// frames to every rank. Returns the number of predicted frames; a schedule records the
    /// forecast's origin (the last snapshot).
    pub fn forecast_on(&mut self, comm: &mut dyn Communicator, horizon: usize) -> Result<usize> {
        let done = if comm.rank() == 0 { self.forecast(horizon).map(drop) } else { Ok(()) };
        let frames = self.share_decoded(comm, done)?;
        if let Some(s) = self.schedule.as_mut() {
            s.forecast_made();
        }
        Ok(frames)
    }

    /// Every rank: generate one segment on the master, frames at `t0 + k dt`, and hand the decoded
    /// frames to every rank. Returns the number of frames.
    pub fn generate_on(&mut self, comm: &mut dyn Communicator, t0: f64) -> Result<usize> {
        let done = if comm.rank() == 0 { self.generate(t0).map(drop) } else { Ok(()) };
        self.share_decoded(comm, done)
    }

    /// Broadcast the master's times and decoded frames, every ensemble member's (after it ran, with
    /// `done` its outcome). Every rank must have set the same ensemble size.
    fn share_decoded(&mut self, comm: &mut dyn Communicator, done: Result<()>) -> Result<usize> {
        agree(comm, done)?;
        let data = if comm.rank() == 0 {
            let times = self.predicted_times();
            let mut data = vec![times.len() as f64];
            data.extend(times);
            data.extend(self.decoded().iter().map(|&v| f64::from(v)));
            data
        } else {
            vec![]
        };
        let data = comm.broadcast(&data);
        let n = data[0] as usize;
        let set = if comm.rank() == 0 {
            Ok(())
        } else {
            let decoded: Vec<f32> = data[1 + n..].iter().map(|&v| v as f32).collect();
            self.set_decoded(&data[1..1 + n], &decoded)
        };
        agree(comm, set)?;
        Ok(n)
    }
}

//! [`PointIndex`]: a static point locator over the input sample locations, built once per mesh and
//! reused for every frame (the "cached geometry").
//!
//! Points are counting-sorted into uniform bins over the grid's box (about [`POINTS_PER_BIN`] per
//! bin), like VTK's `vtkStaticPointLocator`, and stored by bin with interleaved coordinates, so a
//! row of bins is one contiguous run of points.
//!
//! A k-nearest query first collects the points in a ball around it, of a radius guessed from the
//! previous queries (the bins overlapping the ball's box: a few contiguous runs, a tight loop): if
//! the ball holds `k` points, the `k` nearest are among them. Otherwise the ball grows, and far
//! from every point (sparse regions, far queries) the search visits rings of bins until no
//! unvisited bin can hold anything closer. Either way the result is exact.
//!
//! Periodic axes wrap bin indices and distances are nearest-image ([`Grid::delta`]), so searches
//! are exact at any radius without ghost copies. On other axes points outside the box are clamped
//! into the edge bins; the lower bounds stay valid because such points are only farther away.
//! Nothing here depends on coordinates being distinct: lattices, duplicates and a single point are
//! ordinary inputs (k-d tree buckets, in contrast, overflow when many points share a coordinate).

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::err;
use crate::error::Result;
use crate::grid::Grid;

/// Target bin occupancy. Measured with the ring search (10^6 random points, 8 nearest of each node
/// of a 1024^2 grid, one thread): 1.5 per bin 0.96 s, 3.5 0.73 s, 7 0.63 s; with the ball search
/// (k = 1 and 8, onto 256^2 and 1024^2): 3, 6 and 12 per bin within the machine's noise.
const POINTS_PER_BIN: f64 = 6.0;

/// Balls tried (each with twice the radius of the last) before a k-nearest search visits rings of bins.
const BALL_TRIES: usize = 3;

/// Relative shrink of lower bounds (in bin widths), so rounding can never stop a search early.
const SLACK: f64 = 1e-9;

/// Static point locator over input points, aware of the grid's periodic axes.
pub struct PointIndex {
    grid: Grid,
    /// Bins per axis (1 on unused axes) and their width.
    bins: [usize; 3],
    width: [f64; 3],
    /// `1 / width` (bin of a coordinate by one multiplication).
    inv_width: [f64; 3],
    /// `bins - 1` per axis, as a float (bin indices are clamped before conversion).
    last_bin: [f64; 3],
    /// Smallest bin width over the used axes: ring `r` is at least `(r - 1) * min_width` away.
    min_width: f64,
    /// Whether a used axis is periodic (distances then take the nearest-image path).
    periodic: bool,
    /// `start[b]..start[b + 1]` are bin `b`'s entries in `coords` / `ids`.
    start: Vec<u32>,
    /// The points' coordinates on the used axes (wrapped into the box on periodic axes),
    /// interleaved (`dim` per entry: one cache line per point when sorting), grouped by bin.
    coords: Vec<f64>,
    /// Original index of each entry, ascending within a bin.
    ids: Vec<u32>,
    /// Original index -> entry, made on first use (only the learned lift's offsets need it).
    slot: OnceLock<Vec<u32>>,
}

/// A candidate as one sortable key: the squared distance's bits (non-negative, so they order like
/// the values) above the point index, so "closer, ties by index" is one integer comparison and
/// selections need no branches.
#[inline(always)]
fn key(id: u32, d: f64) -> u128 {
    (u128::from(d.to_bits()) << 32) | u128::from(id)
}

impl PointIndex {
    /// Index `points` (only the first `grid.dim` coordinates are used) for searches around `grid`'s box.
    ///
    /// Errors: no points (`OutsideGrid`), a NaN/Inf coordinate (`NonFinite`), more points than a
    /// `u32` can index (`MeshFormat`).
    pub fn new(points: &[[f64; 3]], grid: &Grid) -> Result<PointIndex> {
        if points.is_empty() {
            return Err(
                err!(OutsideGrid, "the mesh has no points to resample onto the latent grid").with_hint("check that the input file holds a non-empty mesh")
            );
        }
        if points.len() >= u32::MAX as usize {
            return Err(err!(MeshFormat, "{} points are more than this runtime can index (at most {})", points.len(), u32::MAX - 1));
        }
        let (bins, width) = bin_layout(grid, points.len());
        let min_width = (0..grid.dim).map(|a| width[a]).fold(f64::INFINITY, f64::min);
        let inv_width = std::array::from_fn(|a| 1.0 / width[a]);
        let periodic = grid.periodic[..grid.dim].iter().any(|&p| p);
        let mut index = PointIndex {
            grid: grid.clone(),
            bins,
            width,
            inv_width,
            min_width,
            periodic,
            last_bin: bins.map(|b| (b - 1) as f64),
            start: vec![],
            coords: vec![],
            ids: vec![],
            slot: OnceLock::new(),
        };
        index.sort_into_bins(points)?;
        Ok(index)
    }

    /// Counting sort of the (wrapped) points by bin; stable, so ids ascend within a bin. Parallel
    /// over contiguous chunks of points: per-chunk histograms, one prefix sum over (bin, chunk) so
    /// chunk `c`'s entries of a bin follow those of earlier chunks, then a scatter per chunk into
    /// disjoint slots. Non-finite coordinates are found on the way (refused before anything is kept).
    fn sort_into_bins(&mut self, points: &[[f64; 3]]) -> Result<()> {
        let (n, dim, nbins) = (points.len(), self.grid.dim, self.bins.iter().product::<usize>());
        // A chunk per thread (histograms are nbins long each), at least 2^16 points per chunk.
        let chunks = rayon::current_num_threads().min(n.div_ceil(1 << 16)).max(1);
        let per = n.div_ceil(chunks);
        let mut counts = vec![0u32; chunks * nbins];
        // Each point's bin, kept for the scatter (measured 20% faster than computing it again).
        let mut bin = vec![0u32; n];
        let finite = points
            .par_chunks(per)
            .zip(counts.par_chunks_mut(nbins))
            .zip(bin.par_chunks_mut(per))
            .map(|((pts, count), bins)| {
                let mut ok = true;
                for (p, b) in pts.iter().zip(bins) {
                    // 0 * x is 0 for finite x, NaN for NaN and infinities.
                    ok &= p[..dim].iter().fold(0.0, |s, &x| s + 0.0 * x) == 0.0;
                    *b = self.flat_bin_of(p) as u32;
                    count[*b as usize] += 1;
                }
                ok
            })
            .reduce(|| true, |a, b| a & b);
        if !finite {
            let p = points.iter().position(|p| p[..dim].iter().any(|x| !x.is_finite())).unwrap_or(0);
            return Err(err!(NonFinite, "point {p} has a non-finite coordinate {:?}", &points[p][..dim]).with_hint("fix or remove the point in the mesh"));
        }
        // counts[c * nbins + b] becomes chunk c's first slot in bin b.
        let mut start = vec![0u32; nbins + 1];
        let mut acc = 0u32;
        for b in 0..nbins {
            start[b] = acc;
            for c in 0..chunks {
                let k = &mut counts[c * nbins + b];
                (*k, acc) = (acc, acc + *k);
            }
        }
        start[nbins] = acc;
        let mut coords = vec![0.0; n * dim];
        let mut ids = vec![0u32; n];
        let dst = Scatter { coords: coords.as_mut_ptr(), ids: ids.as_mut_ptr() };
        let dst = &dst;
        points.par_chunks(per).zip(counts.par_chunks_mut(nbins)).zip(bin.par_chunks(per)).enumerate().for_each(|(c, ((pts, next), bins))| {
            for (i, (p, &b)) in pts.iter().zip(bins).enumerate() {
                let b = b as usize;
                let s = next[b] as usize;
                next[b] += 1;
                // SAFETY: `s < n`, and every slot is taken by exactly one point: chunk c's
                // range of each bin is disjoint from the other chunks' (the prefix sum above).
                unsafe {
                    for (a, &x) in p.iter().take(dim).enumerate() {
                        *dst.coords.add(s * dim + a) = self.grid.wrap(a, x);
                    }
                    *dst.ids.add(s) = (c * per + i) as u32;
                }
            }
        });
        (self.start, self.coords, self.ids) = (start, coords, ids);
        Ok(())
    }

    /// Flat bin of a point (wrapped first on periodic axes; outside the box, the nearest edge bin).
    #[inline(always)]
    fn flat_bin_of(&self, p: &[f64; 3]) -> usize {
        let axis = |a: usize| self.bin_of(a, if self.periodic { self.grid.wrap(a, p[a]) } else { p[a] });
        match self.grid.dim {
            1 => axis(0),
            2 => axis(1) * self.bins[0] + axis(0),
            _ => (axis(2) * self.bins[1] + axis(1)) * self.bins[0] + axis(0),
        }
    }

    /// Number of input points.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Never true: construction refuses empty inputs.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Input point `i` as indexed (wrapped into the box on periodic axes).
    pub fn point(&self, i: usize) -> [f64; 3] {
        let slot = self.slot.get_or_init(|| {
            let mut slot = vec![0u32; self.ids.len()];
            self.ids.iter().enumerate().for_each(|(s, &id)| slot[id as usize] = s as u32);
            slot
        });
        self.entry(slot[i] as usize)
    }

    /// Coordinates of entry `s` (0 on unused axes).
    #[inline(always)]
    fn entry(&self, s: usize) -> [f64; 3] {
        let dim = self.grid.dim;
        std::array::from_fn(|a| if a < dim { self.coords[s * dim + a] } else { 0.0 })
    }

    /// The grid whose box and periodicity the index was built for.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Bytes held by the index (for memory accounting).
    pub fn bytes(&self) -> usize {
        self.start.len() * 4 + self.coords.len() * 8 + self.ids.len() * 4 + self.slot.get().map_or(0, |s| s.len() * 4)
    }

    /// Squared nearest-image distance from point `p` to `q`.
    pub fn dist2(&self, p: usize, q: &[f64; 3]) -> f64 {
        dist2(&self.grid, &self.point(p), q)
    }

    /// The `k` nearest points to `q` with squared distance `<= r2` (world units), as
    /// `(point, squared distance)` sorted by distance, ties by point index.
    pub fn nearest(&self, q: &[f64; 3], k: usize, r2: f64) -> Vec<(u32, f64)> {
        let mut out = Vec::with_capacity(k);
        self.nearest_into(q, k, r2, &mut out);
        out
    }

    /// [`PointIndex::nearest`] into a reused buffer (cleared first): no allocation per query.
    pub fn nearest_into(&self, q: &[f64; 3], k: usize, r2: f64, out: &mut Vec<(u32, f64)>) {
        self.nearest_into_hinted(q, k, r2, f64::INFINITY, out)
    }

    /// [`PointIndex::nearest_into`] starting from a ball of squared radius `hint2` (a guess from
    /// the previous queries: [`KthEstimate`]; infinite or 0: from the average density). The search
    /// first collects the points in that ball: when it holds `k` of them, the `k` nearest are
    /// among them (every point within the ball is seen), so the result is exact. Otherwise the
    /// ball grows, and after a few tries (queries far from every point) the search visits rings of
    /// bins. Any hint gives the same result.
    pub fn nearest_into_hinted(&self, q: &[f64; 3], k: usize, r2: f64, hint2: f64, out: &mut Vec<(u32, f64)>) {
        out.clear();
        // (A negative or NaN radius admits nothing; keys would admit everything.)
        if k == 0 || r2.is_nan() || r2 < 0.0 {
            return;
        }
        let mut ball2 = if hint2 > 0.0 && hint2.is_finite() { hint2 } else { self.typical_dist2(k) * ball_spread(k) };
        for _ in 0..BALL_TRIES {
            let limit = if ball2 < r2 { ball2 } else { r2 };
            out.clear();
            self.collect_ball(q, limit, out);
            if out.len() >= k || limit == r2 {
                keep_nearest(out, k);
                return;
            }
            ball2 *= 4.0;
        }
        self.nearest_by_rings(q, k, r2, out);
    }

    /// Squared distance of the `k`-th nearest point at the average density (the box's volume
    /// over the number of points): the first guess of a search without a hint.
    fn typical_dist2(&self, k: usize) -> f64 {
        let g = &self.grid;
        let volume: f64 = (0..g.dim).map(|a| g.hi[a] - g.lo[a]).product();
        let per_point = volume * k as f64 / self.len() as f64;
        let d2 = match g.dim {
            1 => (0.5 * per_point).powi(2),
            2 => per_point / std::f64::consts::PI,
            _ => (per_point / (4.0 / 3.0 * std::f64::consts::PI)).powf(2.0 / 3.0),
        };
        if d2 > 0.0 && d2.is_finite() {
            d2
        } else {
            f64::MIN_POSITIVE
        }
    }

    /// The ring search: visit rings of bins until the next cannot hold anything better.
    fn nearest_by_rings(&self, q: &[f64; 3], k: usize, r2: f64, out: &mut Vec<(u32, f64)>) {
        out.clear();
        let order = |a: &(u32, f64), b: &(u32, f64)| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0));
        let keep_best = |found: &mut Vec<(u32, f64)>| {
            if found.len() > k {
                found.select_nth_unstable_by(k - 1, order);
                found.truncate(k);
            }
        };
        self.search(
            q,
            |found| {
                keep_best(found);
                if found.len() == k {
                    found.iter().map(|f| f.1).fold(0.0, f64::max)
                } else {
                    r2
                }
            },
            |found, id, d2| {
                if d2 <= r2 {
                    found.push((id, d2))
                }
            },
            out,
        );
        keep_best(out);
        out.sort_unstable_by(order);
    }

    /// Every point within squared distance `r2` of `q`, sorted by distance, ties by index.
    pub fn within_into(&self, q: &[f64; 3], r2: f64, out: &mut Vec<(u32, f64)>) {
        out.clear();
        if r2 >= 0.0 {
            self.collect_ball(q, r2, out);
        }
        out.sort_unstable_by_key(|&(id, d)| key(id, d));
    }

    /// The closest point to `q` (ties by index), at any distance.
    pub fn closest(&self, q: &[f64; 3]) -> (u32, f64) {
        let mut out = Vec::with_capacity(1);
        self.nearest_into(q, 1, f64::INFINITY, &mut out);
        out[0]
    }

    /// Append every point within squared distance `limit` of `q` to `out`, unsorted, without
    /// branches: each candidate of a run is written to the next free slot, and counted if within
    /// the limit.
    fn collect_ball(&self, q: &[f64; 3], limit: f64, out: &mut Vec<(u32, f64)>) {
        let g = &self.grid;
        self.ball_runs(q, limit, |run| {
            out.reserve(run.len());
            let len = out.len();
            let spare = &mut out.spare_capacity_mut()[..run.len()];
            let last = run.len().saturating_sub(1);
            let ids = &self.ids[run.clone()];
            let mut n = 0;
            let mut put = |id: u32, d: f64| {
                spare[n.min(last)].write((id, d));
                n += usize::from(d <= limit);
            };
            if !self.periodic && g.dim == 2 {
                for (p, &id) in self.coords[2 * run.start..2 * run.end].chunks_exact(2).zip(ids) {
                    let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
                    put(id, dx * dx + dy * dy);
                }
            } else if !self.periodic && g.dim == 3 {
                for (p, &id) in self.coords[3 * run.start..3 * run.end].chunks_exact(3).zip(ids) {
                    let (dx, dy, dz) = (p[0] - q[0], p[1] - q[1], p[2] - q[2]);
                    put(id, dx * dx + dy * dy + dz * dz);
                }
            } else {
                for (s, &id) in run.zip(ids) {
                    put(id, dist2(g, &self.entry(s), q));
                }
            }
            // SAFETY: the first `n` spare slots were written (slot `n` before each count).
            unsafe { out.set_len(len + n) };
        })
    }

    /// Call `f` with the runs of entries (one per row of bins) of the bins that can hold a point
    /// within squared distance `limit` of `q`: per axis, the bins from that of `q - r` to that of
    /// `q + r` (bin assignment is monotone in the coordinate; points outside the box sit in the
    /// edge bins, and a periodic interval wraps), with `r` widened for rounding.
    #[inline(always)]
    fn ball_runs(&self, q: &[f64; 3], limit: f64, mut f: impl FnMut(Range<usize>)) {
        let g = &self.grid;
        // Per axis up to two intervals of bins (a periodic interval may wrap around).
        let mut spans = [[(0usize, 0usize); 2]; 3];
        let mut count = [1usize; 3];
        let reach = limit.sqrt() * (1.0 + SLACK);
        for a in 0..g.dim {
            let (n, x) = (self.bins[a], if self.periodic { g.wrap(a, q[a]) } else { q[a] });
            // Rounding of coordinates, bin edges and bin assignment, in world units.
            let tol = SLACK * self.width[a] + 16.0 * f64::EPSILON * (g.lo[a].abs() + g.hi[a].abs() + q[a].abs());
            let r = reach + tol;
            if !g.periodic[a] {
                spans[a][0] = (self.bin_of(a, x - r), self.bin_of(a, x + r));
            } else if 2.0 * r * self.inv_width[a] + 2.0 >= n as f64 {
                spans[a][0] = (0, n - 1);
            } else {
                let lo = ((x - r - g.lo[a]) * self.inv_width[a]).floor() as i64;
                let hi = ((x + r - g.lo[a]) * self.inv_width[a]).floor() as i64;
                let n = n as i64;
                (spans[a], count[a]) = if lo < 0 {
                    ([((lo + n) as usize, n as usize - 1), (0, hi.min(n - 1) as usize)], 2)
                } else if hi >= n {
                    ([(lo as usize, n as usize - 1), (0, (hi - n) as usize)], 2)
                } else {
                    ([(lo as usize, hi as usize), (0, 0)], 1)
                };
            }
        }
        for &(z0, z1) in &spans[2][..count[2]] {
            for z in z0..=z1 {
                for &(y0, y1) in &spans[1][..count[1]] {
                    for y in y0..=y1 {
                        let row = (z * self.bins[1] + y) * self.bins[0];
                        for &(x0, x1) in &spans[0][..count[0]] {
                            f(self.start[row + x0] as usize..self.start[row + x1 + 1] as usize);
                        }
                    }
                }
            }
        }
    }

    /// Visit bins in rings of growing Chebyshev radius around `q`'s bin, offering every point to
    /// `offer`, until the next ring is farther than `bound(found)` (a squared distance).
    fn search<F, O>(&self, q: &[f64; 3], mut bound: F, mut offer: O, found: &mut Vec<(u32, f64)>)
    where
        F: FnMut(&mut Vec<(u32, f64)>) -> f64,
        O: FnMut(&mut Vec<(u32, f64)>, u32, f64),
    {
        let home = self.bin_ijk(&wrap_point(&self.grid, q));
        // Per axis, the offsets that reach distinct bins: all of them on a periodic axis (a window
        // of `bins` around home), those inside the box otherwise.
        let window: [(i64, i64); 3] = std::array::from_fn(|a| {
            let (n, h) = (self.bins[a] as i64, home[a] as i64);
            if a < self.grid.dim && self.grid.periodic[a] {
                (-(n - 1) / 2, n / 2)
            } else {
                (-h, n - 1 - h)
            }
        });
        let last_ring = window.iter().map(|&(lo, hi)| lo.abs().max(hi)).max().unwrap_or(0);
        for r in 0..=last_ring {
            self.visit_ring(home, r, &window, |b| {
                for s in self.start[b] as usize..self.start[b + 1] as usize {
                    offer(found, self.ids[s], dist2(&self.grid, &self.entry(s), q));
                }
            });
            let next = r as f64 * self.min_width * (1.0 - SLACK);
            if next * next > bound(found) {
                break;
            }
        }
    }

    /// Call `f` with every bin at Chebyshev offset exactly `r` from `home`, within `window`.
    fn visit_ring(&self, home: [usize; 3], r: i64, window: &[(i64, i64); 3], mut f: impl FnMut(usize)) {
        let span = |a: usize| (window[a].0.max(-r), window[a].1.min(r));
        // Offsets stay within one period of home, so one correction wraps them (no division).
        let bin = |a: usize, o: i64| {
            let (b, n) = (home[a] as i64 + o, self.bins[a] as i64);
            (if b < 0 {
                b + n
            } else if b >= n {
                b - n
            } else {
                b
            }) as usize
        };
        let ((z0, z1), (y0, y1), (x0, x1)) = (span(2), span(1), span(0));
        for oz in z0..=z1 {
            for oy in y0..=y1 {
                let row = (bin(2, oz) * self.bins[1] + bin(1, oy)) * self.bins[0];
                if oz.abs() == r || oy.abs() == r {
                    (x0..=x1).for_each(|ox| f(row + bin(0, ox)));
                } else {
                    [-r, r].into_iter().filter(|&ox| ox >= x0 && ox <= x1).for_each(|ox| f(row + bin(0, ox)));
                }
            }
        }
    }

    /// Bin along axis `a` of a wrapped coordinate; outside the box (non-periodic axes) the edge bin.
    #[inline(always)]
    fn bin_of(&self, a: usize, x: f64) -> usize {
        // Clamped into [0, bins - 1] (NaN to 0) first, so truncation is floor and fits a u32.
        let u = ((x - self.grid.lo[a]) * self.inv_width[a]).max(0.0).min(self.last_bin[a]);
        u as u32 as usize
    }

    /// Bin of a wrapped point; outside the box (non-periodic axes) the nearest edge bin.
    fn bin_ijk(&self, p: &[f64; 3]) -> [usize; 3] {
        std::array::from_fn(|a| if a < self.grid.dim { self.bin_of(a, p[a]) } else { 0 })
    }
}

/// Keep the `k` smallest of `found` by (distance, index), sorted. Usually `found` is a ball's
/// few candidates: the `k`-th smallest distance first (without branches for common `k`), then
/// those within it (all ties at the cut), each moved to its rank by (distance, index).
fn keep_nearest(found: &mut Vec<(u32, f64)>, k: usize) {
    const RANKED: usize = 64;
    if found.len() > k {
        let cut = match k {
            1 => found.iter().fold(f64::INFINITY, |m, f| min(m, f.1)),
            4 => kth_smallest::<4>(found),
            8 => kth_smallest::<8>(found),
            16 => kth_smallest::<16>(found),
            _ => f64::INFINITY,
        };
        let mut kept = 0;
        for r in 0..found.len() {
            let e = found[r];
            found[kept] = e;
            kept += usize::from(e.1 <= cut);
        }
        found.truncate(kept);
    }
    if found.len() <= RANKED {
        // Keys are distinct (indices are), so the ranks are a permutation.
        let mut keys = [0u128; RANKED];
        let keys = &mut keys[..found.len()];
        keys.iter_mut().zip(found.iter()).for_each(|(c, &(id, d))| *c = key(id, d));
        for &c in keys.iter() {
            let rank = keys.iter().map(|&o| usize::from(o < c)).sum::<usize>();
            found[rank] = (c as u32, f64::from_bits((c >> 32) as u64));
        }
    } else {
        let order = |&(id, d): &(u32, f64)| key(id, d);
        if found.len() > k {
            found.select_nth_unstable_by_key(k - 1, order);
        }
        found.truncate(k);
        found.sort_unstable_by_key(order);
    }
    found.truncate(k);
}

/// The `K`-th smallest distance of `found` (infinite when fewer): a sorted array of the `K`
/// smallest so far, updated by every candidate without branches (`min`/`max` per slot: a slot
/// keeps its value, takes the candidate, or takes its lower neighbour's value).
#[inline(always)]
fn kth_smallest<const K: usize>(found: &[(u32, f64)]) -> f64 {
    let mut top = [f64::INFINITY; K];
    for &(_, d) in found {
        for i in (1..K).rev() {
            top[i] = min(top[i], max(top[i - 1], d));
        }
        top[0] = min(top[0], d);
    }
    top[K - 1]
}

/// `min` / `max` without NaN handling (distances are never NaN): one instruction each.
#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

#[inline(always)]
fn max(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// The first ball of a `k`-nearest search: a running estimate of the `k`-th nearest squared
/// distance over consecutive queries (nodes of a grid row), padded so that the ball usually holds
/// `k` points. A mean over the last few queries follows the local density of graded meshes, and a
/// bad guess only costs a second look.
#[derive(Debug, Clone, Copy)]
pub struct KthEstimate {
    k: usize,
    /// Mean k-th squared distance (infinite before any query).
    mean: f64,
    /// Area (volume) factor of the first ball over the mean: about k + 3 sqrt(k) points expected.
    spread: f64,
}

impl KthEstimate {
    pub fn new(k: usize) -> KthEstimate {
        KthEstimate { k, mean: f64::INFINITY, spread: ball_spread(k) }
    }

    /// The squared radius of the next query's first ball (infinite before any query).
    pub fn hint2(&self) -> f64 {
        self.mean * self.spread
    }

    /// Record a query's result: its `k`-th squared distance when it found `k` points.
    pub fn update(&mut self, found: &[(u32, f64)]) {
        if self.k > 0 && found.len() == self.k {
            let d2 = found[self.k - 1].1;
            self.mean = if self.mean.is_finite() { 0.75 * self.mean + 0.25 * d2 } else { d2 };
        }
    }
}

/// [`KthEstimate`]'s padding: the first ball's area over the mean `k`-th squared distance's, so
/// that it holds about `k + 3 sqrt(k)` points at a locally uniform density.
fn ball_spread(k: usize) -> f64 {
    1.0 + 3.0 / (k.max(1) as f64).sqrt()
}

/// Destinations of the parallel scatter in [`PointIndex::sort_into_bins`].
struct Scatter {
    coords: *mut f64,
    ids: *mut u32,
}

// SAFETY: the scatter's writers never touch the same slot (see its use).
unsafe impl Sync for Scatter {}

/// Squared nearest-image distance; the same arithmetic as the brute-force oracles' sum of
/// `delta.powi(2)` (adding to 0 first is exact), so ties are bit-identical.
#[inline]
pub(crate) fn dist2(grid: &Grid, p: &[f64; 3], q: &[f64; 3]) -> f64 {
    let mut s = 0.0;
    for a in 0..grid.dim {
        let d = grid.delta(a, p[a], q[a]);
        s += d * d;
    }
    s
}

/// Bins per axis and their widths: about [`POINTS_PER_BIN`] points per bin, roughly cubic bins.
fn bin_layout(grid: &Grid, points: usize) -> ([usize; 3], [f64; 3]) {
    let len: Vec<f64> = (0..grid.dim).map(|a| grid.hi[a] - grid.lo[a]).collect();
    let target = (points as f64 / POINTS_PER_BIN).max(1.0);
    let side = (len.iter().product::<f64>() / target).powf(1.0 / grid.dim as f64);
    let mut bins = [1usize; 3];
    let mut width = [1.0; 3];
    for a in 0..grid.dim {
        // Capped so that a very flat box cannot ask for more bins than points on one axis.
        bins[a] = ((len[a] / side).round() as usize).clamp(1, points.max(1));
        width[a] = len[a] / bins[a] as f64;
    }
    (bins, width)
}

pub(crate) fn wrap_point(grid: &Grid, p: &[f64; 3]) -> [f64; 3] {
    let mut w = [0.0; 3];
    for a in 0..grid.dim {
        w[a] = grid.wrap(a, p[a]);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_at_the_cut_are_broken_by_index() {
        let g = Grid::new(&[4, 4], &[0.0, 0.0], &[1.0, 1.0], &[false, false]).unwrap();
        // Eight points at exactly the same (dyadic) distance from the query, each twice.
        let ring = [[0.625, 0.5, 0.0], [0.5, 0.375, 0.0], [0.375, 0.5, 0.0], [0.5, 0.625, 0.0]];
        let pts: Vec<[f64; 3]> = ring.iter().chain(&ring).copied().collect();
        let index = PointIndex::new(&pts, &g).unwrap();
        for k in 1..=9 {
            let found = index.nearest(&[0.5, 0.5, 0.0], k, 1.0);
            let ids: Vec<u32> = found.iter().map(|f| f.0).collect();
            assert_eq!(ids, (0..k.min(8) as u32).collect::<Vec<_>>());
            assert!(found.iter().all(|f| f.1 == 0.015625));
        }
        assert!(index.nearest(&[0.5, 0.5, 0.0], 0, 1.0).is_empty());
        assert_eq!(index.closest(&[0.9, 0.5, 0.0]).0, 0);
    }

    /// The ball search against the ring search alone, on clustered clouds with duplicates,
    /// periodic and open axes, 2D and 3D, queries inside and outside the box, every k and radius
    /// regime, and hints from useless to exact (so balls that hold enough, too few, and the
    /// fallback to rings all run).
    #[test]
    fn ball_search_matches_ring_search() {
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for case in 0..24 {
            let dim = 2 + case % 2;
            let periodic: Vec<bool> = (0..dim).map(|a| (case / 2 + a) % 3 == 0).collect();
            let g = Grid::new(&vec![9; dim], &vec![-1.0; dim], &vec![2.0; dim], &periodic).unwrap();
            let n = [1, 7, 300, 2000][case % 4];
            let mut pts: Vec<[f64; 3]> = (0..n)
                .map(|i| {
                    // Half the points in a small cluster, a few far outside, some duplicated.
                    let (c, s) = if i % 2 == 0 { (0.3, 0.05) } else { (0.5, 3.2) };
                    std::array::from_fn(|a| if a < dim { -1.0 + 3.0 * c + s * (rand() - 0.5) } else { 0.0 })
                })
                .collect();
            pts.extend_from_within(..n / 10);
            let index = PointIndex::new(&pts, &g).unwrap();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            for qi in 0..200 {
                let q: [f64; 3] = std::array::from_fn(|a| if a < dim { -2.0 + 5.0 * rand() } else { 0.0 });
                let k = [1, 2, 8, 40][qi % 4];
                let r = [0.05, 0.3, 1.0, f64::INFINITY][(qi / 4) % 4];
                index.nearest_into(&q, k, r * r, &mut fast);
                index.nearest_by_rings(&q, k, r * r, &mut slow);
                assert_eq!(fast, slow, "case {case} query {q:?} k {k} r {r}");
                // Any first ball gives the same result: none, far too small, too few, exact, loose, huge.
                let kth = slow.last().map_or(1.0, |f| f.1);
                for hint2 in [0.0, 1e-30, 0.25 * kth, kth, 4.0 * kth + 0.1, 1e6] {
                    index.nearest_into_hinted(&q, k, r * r, hint2, &mut fast);
                    assert_eq!(fast, slow, "hinted {hint2}: case {case} query {q:?} k {k} r {r}");
                }
                if r.is_finite() {
                    index.within_into(&q, r * r, &mut fast);
                    slow.clear();
                    index.search(
                        &q,
                        |_| r * r,
                        |f, id, d2| {
                            if d2 <= r * r {
                                f.push((id, d2))
                            }
                        },
                        &mut slow,
                    );
                    slow.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                    assert_eq!(fast, slow, "within: case {case} query {q:?} r {r}");
                }
            }
        }
    }

    #[test]
    fn far_queries_and_far_points_are_found() {
        let g = Grid::new(&[4, 4, 4], &[0.0; 3], &[1.0; 3], &[false, true, false]).unwrap();
        let pts = [[5.0, 0.5, 0.5], [-3.0, 7.25, 0.5]];
        let index = PointIndex::new(&pts, &g).unwrap();
        assert_eq!(index.closest(&[2.0, 0.5, 0.5]).0, 0);
        assert_eq!(index.closest(&[-20.0, 0.25, 0.5]).0, 1);
        assert_eq!(index.point(1), [-3.0, 0.25, 0.5]);
    }
}

//! Oracle tests for mesh <-> grid resampling: the k-d tree paths are compared against brute force
//! over seeded random inputs, interpolation against analytic fields and convergence orders.

use echo_onnx::grid::Grid;
use echo_onnx::resample::*;
use echo_onnx::ErrorKind;

/// SplitMix64, as in docs/bundle-format.md: no extra crates, reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn grid(shape: &[usize], lo: &[f64], hi: &[f64], periodic: &[bool]) -> Grid {
    Grid::new(shape, lo, hi, periodic).unwrap()
}

fn unit_grid(n: usize, dim: usize, periodic: bool) -> Grid {
    grid(&vec![n; dim], &vec![0.0; dim], &vec![1.0; dim], &vec![periodic; dim])
}

/// Random points in the grid's box widened by `margin` of its size on every side.
fn random_points(rng: &mut Rng, g: &Grid, n: usize, margin: f64) -> Vec<[f64; 3]> {
    (0..n)
        .map(|_| {
            std::array::from_fn(|a| {
                let len = g.hi[a] - g.lo[a];
                if a < g.dim { rng.range(g.lo[a] - margin * len, g.hi[a] + margin * len) } else { 0.0 }
            })
        })
        .collect()
}

fn dist2(g: &Grid, p: &[f64; 3], q: &[f64; 3]) -> f64 {
    (0..g.dim).map(|a| g.delta(a, p[a], q[a]).powi(2)).sum()
}

/// Brute force: all points by (nearest-image distance, index), within the radius, first k.
fn brute_neighbours(g: &Grid, points: &[[f64; 3]], node: &[f64; 3], k: usize, radius_spacings: f64) -> Vec<u32> {
    let r2 = (radius_spacings * g.min_spacing()).powi(2);
    let wrapped: Vec<[f64; 3]> = points.iter().map(|p| std::array::from_fn(|a| if a < g.dim { g.wrap(a, p[a]) } else { 0.0 })).collect();
    let mut all: Vec<(f64, u32)> = wrapped.iter().enumerate().map(|(i, p)| (dist2(g, p, node), i as u32)).filter(|&(d, _)| d <= r2).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Gather the whole grid and compare every node with brute force: identical indices, offsets to
/// 1e-5 spacings, mask and padding consistent.
fn check_against_brute_force(g: &Grid, points: &[[f64; 3]], k: usize, radius: f64) {
    let index = PointIndex::new(points, g).unwrap();
    let neigh = gather_grid_neighbours(&index, g, k, radius, 0..g.len()).unwrap();
    let h = g.min_spacing();
    for node in 0..g.len() {
        let q = g.node(g.ijk(node));
        let want = brute_neighbours(g, points, &q, k, radius);
        let row = &neigh.index[node * k..(node + 1) * k];
        assert_eq!(&row[..want.len()], &want[..], "node {node} of {g:?}, k {k}, radius {radius}");
        assert!(row[want.len()..].iter().all(|&i| i == PAD));
        for (slot, &p) in row.iter().enumerate() {
            let m = neigh.mask[node * k + slot];
            assert_eq!(m, if p == PAD { 0.0 } else { 1.0 });
            for a in 0..g.dim {
                let got = neigh.offsets[(node * k + slot) * g.dim + a] as f64;
                let expect = if p == PAD { 0.0 } else { g.delta(a, points[p as usize][a], q[a]) / h };
                assert!((got - expect).abs() < 1e-5, "offset of node {node} slot {slot} axis {a}: {got} vs {expect}");
            }
        }
    }
}

#[test]
fn neighbours_match_brute_force_on_random_clouds() {
    let mut rng = Rng(7);
    for case in 0..48 {
        let dim = 2 + case % 2;
        let periodic: Vec<bool> = (0..dim).map(|_| rng.coin()).collect();
        // Small shapes too, where the radius exceeds half a period and images of one point collide.
        let shape: Vec<usize> = (0..dim).map(|_| 2 + rng.below(if dim == 2 { 12 } else { 6 })).collect();
        let lo: Vec<f64> = (0..dim).map(|_| rng.range(-2.0, 2.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|l| l + rng.range(0.5, 3.0)).collect();
        let g = grid(&shape, &lo, &hi, &periodic);
        let n = 1 + rng.below(2000);
        let points = random_points(&mut rng, &g, n, 0.1);
        let k = 1 + rng.below(12);
        let radius = rng.range(0.3, 3.5);
        check_against_brute_force(&g, &points, k, radius);
    }
}

#[test]
fn neighbours_on_lattices_with_shared_coordinates() {
    for periodic in [false, true] {
        // 41 x 41 lattice: 41 points on every line (> 32, the mutable tree's bucket limit), grid
        // nodes exactly on lattice points, and massive distance ties.
        let g = unit_grid(11, 2, periodic);
        let lattice: Vec<[f64; 3]> = (0..41 * 41).map(|i| [(i % 41) as f64 / 40.0, (i / 41) as f64 / 40.0, 0.0]).collect();
        for k in [1, 4, 5, 9, 13] {
            check_against_brute_force(&g, &lattice, k, 1.0);
        }
        let g3 = unit_grid(5, 3, periodic);
        let lattice3: Vec<[f64; 3]> = (0..13 * 13 * 13).map(|i| [(i % 13) as f64 / 12.0, (i / 13 % 13) as f64 / 12.0, (i / 169) as f64 / 12.0]).collect();
        for k in [1, 6, 7, 27] {
            check_against_brute_force(&g3, &lattice3, k, 1.5);
        }
    }
}

#[test]
fn duplicates_single_points_and_nodes() {
    let mut rng = Rng(11);
    for periodic in [false, true] {
        let g = unit_grid(6, 2, periodic);
        // 100 copies of one point among others: ties broken by index.
        let mut points = random_points(&mut rng, &g, 50, 0.0);
        points.extend(vec![[0.4, 0.6, 0.0]; 100]);
        check_against_brute_force(&g, &points, 8, 2.0);
        // A single point, on a node.
        check_against_brute_force(&g, &[[0.2, 0.4, 0.0]], 3, 1.5);
        // All points exactly on nodes.
        check_against_brute_force(&g, &g.nodes(), 5, 1.0);
    }
}

#[test]
fn outside_points_are_wrapped_or_nobodys_neighbour() {
    let g = unit_grid(5, 2, false);
    let far = [[3.0, 0.5, 0.0], [-1.0, -1.0, 0.0]];
    let index = PointIndex::new(&far, &g).unwrap();
    let neigh = gather_grid_neighbours(&index, &g, 4, 2.0, 0..g.len()).unwrap();
    assert!(coverage(&neigh).iter().all(|&c| c == 0.0));
    // Just outside the box is still a neighbour of the boundary nodes.
    check_against_brute_force(&g, &[[1.1, 0.5, 0.0], [-0.05, 0.2, 0.0]], 2, 1.0);

    let p = unit_grid(5, 2, true);
    let shifted = [[1.3, -0.9, 0.0]];
    let a = gather_grid_neighbours(&PointIndex::new(&shifted, &p).unwrap(), &p, 1, 1.0, 0..p.len()).unwrap();
    let b = gather_grid_neighbours(&PointIndex::new(&[[0.3, 0.1, 0.0]], &p).unwrap(), &p, 1, 1.0, 0..p.len()).unwrap();
    assert_eq!(a.index, b.index);
    assert!(a.offsets.iter().zip(&b.offsets).all(|(x, y)| (x - y).abs() < 1e-6));
}

#[test]
fn periodic_neighbour_across_the_boundary() {
    let g = unit_grid(10, 2, true);
    let index = PointIndex::new(&[[0.98, 0.5, 0.0]], &g).unwrap();
    let node = g.index([0, 5, 0]);
    let neigh = gather_grid_neighbours(&index, &g, 2, 1.0, node..node + 1).unwrap();
    assert_eq!(neigh.index, vec![0, PAD]);
    assert_eq!(neigh.mask, vec![1.0, 0.0]);
    assert!((neigh.offsets[0] + 0.2).abs() < 1e-6 && neigh.offsets[1].abs() < 1e-6, "{:?}", neigh.offsets);
    // Not periodic: too far.
    let open = unit_grid(10, 2, false);
    let index = PointIndex::new(&[[0.98, 0.5, 0.0]], &open).unwrap();
    let node = open.index([0, 5, 0]);
    assert_eq!(gather_grid_neighbours(&index, &open, 2, 1.0, node..node + 1).unwrap().mask, vec![0.0, 0.0]);
}

#[test]
fn gather_values_follows_the_neighbour_index() {
    let mut rng = Rng(3);
    let g = unit_grid(7, 2, true);
    let points = random_points(&mut rng, &g, 300, 0.0);
    let values: Vec<f32> = (0..points.len() * 2).map(|i| i as f32).collect();
    let index = PointIndex::new(&points, &g).unwrap();
    let neigh = gather_grid_neighbours(&index, &g, 6, 2.0, 10..30).unwrap();
    let gathered = gather_values(&neigh, &values, 2).unwrap();
    assert_eq!(gathered.len(), 20 * 6 * 2);
    for (slot, &p) in neigh.index.iter().enumerate() {
        let expect = if p == PAD { [0.0, 0.0] } else { [values[p as usize * 2], values[p as usize * 2 + 1]] };
        assert_eq!(&gathered[slot * 2..slot * 2 + 2], &expect);
    }
    // The cached path gives the same.
    let r = Resampler::new(&g, &points, 6, 2.0, None).unwrap();
    assert_eq!(&r.neighbours().unwrap().index[10 * 6..30 * 6], &neigh.index[..]);
    assert_eq!(&r.lift_values(&values, 2).unwrap()[10 * 12..30 * 12], &gathered[..]);
}

fn wave(p: &[f64; 3], dim: usize) -> f64 {
    use std::f64::consts::TAU;
    let f = (TAU * p[0]).sin() * (TAU * p[1]).cos();
    if dim == 3 { f * (TAU * p[2]).cos() } else { f }
}

fn sample_grid(g: &Grid, f: impl Fn(&[f64; 3]) -> f64) -> Vec<f32> {
    g.nodes().iter().map(|p| f(p) as f32).collect()
}

/// RMS rather than max: the max over more nodes of a random-cloud error grows with their number.
fn rms_err(got: &[f32], points: &[[f64; 3]], f: impl Fn(&[f64; 3]) -> f64) -> f64 {
    (got.iter().zip(points).map(|(&v, p)| (v as f64 - f(p)).powi(2)).sum::<f64>() / got.len() as f64).sqrt()
}

#[test]
fn linear_interpolation_is_exact_on_linear_fields() {
    let mut rng = Rng(5);
    for dim in [2, 3] {
        let g = grid(&[5, 7, 4][..dim], &[-1.0, 0.0, 2.0][..dim], &[1.0, 3.0, 2.5][..dim], &[false; 3][..dim]);
        let f = |p: &[f64; 3]| 1.0 + 2.0 * p[0] - 3.0 * p[1] + 0.5 * p[2];
        let values: Vec<f32> = [sample_grid(&g, f), sample_grid(&g, |p| -f(p))].concat();
        let points = random_points(&mut rng, &g, 500, 0.0);
        let got = interpolate_linear(&g, &values, 2, &points).unwrap();
        for (i, p) in points.iter().enumerate() {
            assert!((got[2 * i] as f64 - f(p)).abs() < 1e-5 && (got[2 * i + 1] as f64 + f(p)).abs() < 1e-5);
        }
        // Outside the box: clamped to the boundary.
        let mut out = [g.hi[0] + 0.7, g.lo[1] - 2.0, 0.0];
        out[2] = if dim == 3 { g.hi[2] } else { 0.0 };
        let clamped = [g.hi[0], g.lo[1], out[2]];
        let got = interpolate_linear(&g, &values, 2, &[out]).unwrap();
        assert!((got[0] as f64 - f(&clamped)).abs() < 1e-5);
    }
}

/// Observed orders log2(e(h) / e(h/2)) of an error measured on grids of n, 2n, 4n nodes per axis.
fn orders(errors: &[f64]) -> Vec<f64> {
    errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect()
}

#[test]
fn linear_interpolation_converges_at_second_order() {
    let mut rng = Rng(9);
    for (dim, sizes) in [(2, [16, 32, 64]), (3, [8, 16, 32])] {
        let unit = unit_grid(4, dim, true);
        // Points anywhere, including outside the box (wrapped).
        let points = random_points(&mut rng, &unit, 4000, 0.5);
        let f = |p: &[f64; 3]| wave(p, dim);
        let errors: Vec<f64> = sizes
            .iter()
            .map(|&n| {
                let g = unit_grid(n, dim, true);
                rms_err(&interpolate_linear(&g, &sample_grid(&g, f), 1, &points).unwrap(), &points, f)
            })
            .collect();
        let o = orders(&errors);
        assert!(o.iter().all(|&o| o > 1.8), "{dim}D errors {errors:?}, orders {o:?}");
    }
}

#[test]
fn periodic_interpolation_wraps() {
    let g = unit_grid(8, 2, true);
    let values = sample_grid(&g, |p| wave(p, 2));
    let pts = [[0.97, 0.3, 0.0], [1.97, -0.7, 0.0], [-0.03, 5.3, 0.0]];
    let got = interpolate_linear(&g, &values, 1, &pts).unwrap();
    assert!((got[0] - got[1]).abs() < 1e-6 && (got[0] - got[2]).abs() < 1e-6);
    // Between the last node and the first one: the average of both at the midpoint.
    let mid = interpolate_linear(&g, &values, 1, &[[0.9375, 0.25, 0.0]]).unwrap()[0];
    let (a, b) = (values[g.index([7, 2, 0])], values[g.index([0, 2, 0])]);
    assert!((mid - 0.5 * (a + b)).abs() < 1e-6);
}

/// Kernel lift of a smooth periodic field sampled on a random cloud with a fixed number of
/// points per cell; the max error over the grid nodes for n, 2n, 4n.
fn kernel_errors(kernel: Kernel, points_per_cell: usize, k: usize) -> Vec<f64> {
    let mut rng = Rng(21);
    [16, 32, 64]
        .iter()
        .map(|&n| {
            let g = unit_grid(n, 2, true);
            let points = random_points(&mut rng, &g, points_per_cell * n * n, 0.0);
            let values: Vec<f32> = points.iter().map(|p| wave(p, 2) as f32).collect();
            let index = PointIndex::new(&points, &g).unwrap();
            let (grid_values, cov) = kernel_to_grid(&index, &g, &values, 1, k, 2.0, kernel).unwrap();
            assert!(cov.iter().all(|&c| c == 1.0));
            rms_err(&grid_values, &g.nodes(), |p| wave(p, 2))
        })
        .collect()
}

#[test]
fn kernel_lift_converges_on_dense_clouds() {
    // Observed RMS errors (seed 21, 8 points per cell, K = 16, radius 2, n = 16, 32, 64):
    // Gaussian (sharpness 2): 0.028, 0.014, 0.0067, orders 0.96, 1.08;
    // inverse distance (power 2): 0.019, 0.010, 0.0049, orders 0.92, 1.04.
    // First order, as expected: on a random cloud the K nearest are not symmetric around the
    // node, so the weighted average picks up (local imbalance) x (gradient) ~ h.
    for kernel in [Kernel::default(), Kernel::InverseDistance { power: 2.0 }] {
        let errors = kernel_errors(kernel, 8, 16);
        let o = orders(&errors);
        assert!(errors.windows(2).all(|e| e[1] < e[0]) && errors[2] < 0.05, "{kernel:?}: errors {errors:?}, orders {o:?}");
        assert!(o.iter().all(|&o| o > 0.8), "{kernel:?}: errors {errors:?}, orders {o:?}");
    }
}

#[test]
fn kernels_reproduce_values_on_nodes_and_leave_holes_empty() {
    let g = unit_grid(9, 2, false);
    // Points on the left half's nodes only (x <= 0.375); the radius reaches 0.1875 further.
    let points: Vec<[f64; 3]> = g.nodes().into_iter().filter(|p| p[0] < 0.45).collect();
    let values: Vec<f32> = points.iter().flat_map(|p| [p[0] as f32, 2.0 * p[1] as f32]).collect();
    let index = PointIndex::new(&points, &g).unwrap();
    for kernel in [Kernel::Nearest, Kernel::InverseDistance { power: 2.0 }] {
        let (gv, cov) = kernel_to_grid(&index, &g, &values, 2, 4, 1.5, kernel).unwrap();
        for (node, p) in g.nodes().iter().enumerate() {
            let covered = p[0] < 0.6;
            assert_eq!(cov[node], if covered { 1.0 } else { 0.0 }, "node {node}");
            if p[0] < 0.45 {
                assert!((gv[node] as f64 - p[0]).abs() < 1e-6 && (gv[g.len() + node] as f64 - 2.0 * p[1]).abs() < 1e-6);
            } else if !covered {
                assert_eq!((gv[node], gv[g.len() + node]), (0.0, 0.0));
            }
        }
    }
    // The cached path agrees with the one-shot one.
    let r = Resampler::new(&g, &points, 4, 1.5, Some(Kernel::default())).unwrap();
    let (gv, cov) = kernel_to_grid(&index, &g, &values, 2, 4, 1.5, Kernel::default()).unwrap();
    assert_eq!(r.to_grid(&values, 2).unwrap(), gv);
    assert_eq!(r.coverage(), &cov[..]);
}

#[test]
fn stencil_of_two_is_the_cell_corners() {
    let g = unit_grid(11, 2, false);
    let p = [0.33, 0.47, 0.0];
    let s = gather_stencil(&g, &[p], 2).unwrap();
    assert_eq!(s.k, 4);
    let corners = [[3, 4], [4, 4], [3, 5], [4, 5]].map(|[i, j]| g.index([i, j, 0]) as u32);
    assert_eq!(s.nodes, corners);
    let expect = [-0.3, -0.7, 0.7, -0.7, -0.3, 0.3, 0.7, 0.3];
    assert!(s.offsets.iter().zip(expect).all(|(o, e)| (*o as f64 - e).abs() < 1e-5), "{:?}", s.offsets);

    // Random points: offsets are the true node positions minus the point; features follow.
    let mut rng = Rng(13);
    for (dim, periodic, stencil) in [(2, false, 2), (3, false, 2), (2, true, 4), (3, true, 2)] {
        let g = grid(&[6, 5, 4][..dim], &[0.0, -1.0, 1.0][..dim], &[1.0, 1.0, 2.0][..dim], &vec![periodic; dim]);
        let points = random_points(&mut rng, &g, 200, 0.0);
        let s = gather_stencil(&g, &points, stencil).unwrap();
        assert_eq!((s.k, s.len()), (stencil.pow(dim as u32), 200));
        let values: Vec<f32> = (0..3 * g.len()).map(|i| i as f32).collect();
        let feats = gather_node_features(&s, &values, 3).unwrap();
        for (m, p) in points.iter().enumerate() {
            for slot in 0..s.k {
                let node = s.nodes[m * s.k + slot] as usize;
                let pos = g.node(g.ijk(node));
                for a in 0..dim {
                    let off = s.offsets[(m * s.k + slot) * dim + a] as f64 * g.min_spacing();
                    assert!(g.delta(a, pos[a] - off, p[a]).abs() < 1e-5, "point {m} slot {slot} axis {a}");
                    if stencil == 2 {
                        assert!(off.abs() <= g.spacing(a) * (1.0 + 1e-6));
                    }
                }
                for c in 0..3 {
                    assert_eq!(feats[(m * s.k + slot) * 3 + c], values[c * g.len() + node]);
                }
            }
        }
    }
}

#[test]
fn stencil_wraps_and_clamps_at_the_edges() {
    let h = 0.1;
    // Periodic: the cell between node 9 and node 0 (at x = 1).
    let g = unit_grid(10, 2, true);
    let s = gather_stencil(&g, &[[0.95, 0.05, 0.0]], 2).unwrap();
    assert_eq!(s.nodes, [[9, 0], [0, 0], [9, 1], [0, 1]].map(|[i, j]| g.index([i, j, 0]) as u32));
    let expect = [-0.05, -0.05, 0.05, -0.05, -0.05, 0.05, 0.05, 0.05].map(|x| x / h);
    assert!(s.offsets.iter().zip(expect).all(|(o, e)| (*o as f64 - e).abs() < 1e-5), "{:?}", s.offsets);

    // Not periodic: indices clamp, offsets say where the nodes really are.
    let g = unit_grid(11, 2, false);
    let s = gather_stencil(&g, &[[1.0, 0.05, 0.0]], 4).unwrap();
    let xs: Vec<usize> = s.nodes[..4].iter().map(|&n| g.ijk(n as usize)[0]).collect();
    let ys: Vec<usize> = s.nodes.iter().step_by(4).map(|&n| g.ijk(n as usize)[1]).collect();
    assert_eq!((xs, ys), (vec![9, 10, 10, 10], vec![0, 0, 1, 2]));
    let x_offsets: Vec<f32> = (0..4).map(|slot| s.offsets[slot * 2]).collect();
    assert!(x_offsets.iter().zip([-1.0, 0.0, 0.0, 0.0]).all(|(o, e)| (o - e).abs() < 1e-5), "{x_offsets:?}");
}

#[test]
fn errors_have_specific_kinds() {
    let g = unit_grid(4, 2, false);
    let kind = |r: echo_onnx::Result<()>| r.unwrap_err().kind();
    assert_eq!(kind(PointIndex::new(&[], &g).map(drop)), ErrorKind::OutsideGrid);
    let mut pts = vec![[0.5, 0.5, 0.0]; 5];
    pts[3][1] = f64::NAN;
    let e = PointIndex::new(&pts, &g).map(drop).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NonFinite);
    assert!(e.message().contains("point 3"), "{e}");
    // z is ignored in 2D.
    pts[3] = [0.5, 0.5, f64::INFINITY];
    let index = PointIndex::new(&pts, &g).unwrap();

    let mut values = vec![1.0f32; 10];
    values[7] = f32::NAN;
    let e = kernel_to_grid(&index, &g, &values, 2, 2, 1.0, Kernel::Nearest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NonFinite);
    assert!(e.message().contains("point 3, channel 1"), "{e}");
    let neigh = gather_grid_neighbours(&index, &g, 2, 1.0, 0..g.len()).unwrap();
    assert_eq!(gather_values(&neigh, &values, 2).unwrap_err().kind(), ErrorKind::NonFinite);
    assert_eq!(gather_values(&neigh, &values[..9], 2).unwrap_err().kind(), ErrorKind::FieldShape);
    assert_eq!(kind(gather_grid_neighbours(&index, &g, 2, -1.0, 0..4).map(drop)), ErrorKind::Usage);
    assert_eq!(kind(gather_grid_neighbours(&index, &g, 2, 1.0, 0..17).map(drop)), ErrorKind::Usage);
    let other = unit_grid(4, 2, true);
    assert_eq!(kind(gather_grid_neighbours(&index, &other, 2, 1.0, 0..4).map(drop)), ErrorKind::Usage);
    let gaussian = |sharpness, radius| kernel_grid_weights(&index, &g, Footprint::Closest { n: 2, radius }, Kernel::Gaussian { sharpness }, Outside::default()).map(drop);
    assert_eq!(kind(gaussian(0.0, 1.0)), ErrorKind::Usage);
    assert_eq!(kind(gaussian(2.0, f64::INFINITY)), ErrorKind::Usage);

    assert_eq!(kind(interpolate_linear(&g, &[0.0; 16], 1, &[[f64::NAN, 0.0, 0.0]]).map(drop)), ErrorKind::NonFinite);
    assert_eq!(kind(interpolate_linear(&g, &[0.0; 15], 1, &[[0.0; 3]]).map(drop)), ErrorKind::FieldShape);
    assert_eq!(kind(gather_stencil(&g, &[[0.0; 3]], 3).map(drop)), ErrorKind::Usage);
    assert_eq!(kind(gather_stencil(&g, &[[0.0, f64::NAN, 0.0]], 2).map(drop)), ErrorKind::NonFinite);
    let s = gather_stencil(&g, &[[0.0; 3]], 2).unwrap();
    assert_eq!(kind(gather_node_features(&s, &[0.0; 15], 1).map(drop)), ErrorKind::FieldShape);
}

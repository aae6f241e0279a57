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
                if a < g.dim {
                    rng.range(g.lo[a] - margin * len, g.hi[a] + margin * len)
                } else {
                    0.0
                }
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
                let expect = if p == PAD { 0.0 } else { g.delta(a, points[p as usize][a], q[a]) / g.spacing(a) };
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
    if dim == 3 {
        f * (TAU * p[2]).cos()
    } else {
        f
    }
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
                    let off = s.offsets[(m * s.k + slot) * dim + a] as f64 * g.spacing(a);
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
    let gaussian =
        |sharpness, radius| kernel_grid_weights(&index, &g, Footprint::Closest { n: 2, radius }, Kernel::Gaussian { sharpness }, Outside::default()).map(drop);
    assert_eq!(kind(gaussian(0.0, 1.0)), ErrorKind::Usage);
    assert_eq!(kind(gaussian(2.0, f64::INFINITY)), ErrorKind::Usage);

    assert_eq!(kind(interpolate_linear(&g, &[0.0; 16], 1, &[[f64::NAN, 0.0, 0.0]]).map(drop)), ErrorKind::NonFinite);
    assert_eq!(kind(interpolate_linear(&g, &[0.0; 15], 1, &[[0.0; 3]]).map(drop)), ErrorKind::FieldShape);
    assert_eq!(kind(gather_stencil(&g, &[[0.0; 3]], 3).map(drop)), ErrorKind::Usage);
    assert_eq!(kind(gather_stencil(&g, &[[0.0, f64::NAN, 0.0]], 2).map(drop)), ErrorKind::NonFinite);
    let s = gather_stencil(&g, &[[0.0; 3]], 2).unwrap();
    assert_eq!(kind(gather_node_features(&s, &[0.0; 15], 1).map(drop)), ErrorKind::FieldShape);
}

// ---- Footprints, outside strategies, linear interpolation inside cells ----

use echo_onnx::mesh::{Association, Cells};

/// Brute force: every point within the radius (nearest image), by (distance, index).
fn brute_within(g: &Grid, points: &[[f64; 3]], node: &[f64; 3], radius_spacings: f64) -> Vec<u32> {
    brute_neighbours(g, points, node, usize::MAX, radius_spacings)
}

#[test]
fn radius_and_unbounded_footprints_match_brute_force() {
    let mut rng = Rng(17);
    for case in 0..24 {
        let dim = 2 + case % 2;
        let periodic: Vec<bool> = (0..dim).map(|_| rng.coin()).collect();
        let shape: Vec<usize> = (0..dim).map(|_| 2 + rng.below(if dim == 2 { 10 } else { 5 })).collect();
        let g = grid(&shape, &vec![0.0; dim], &vec![1.0 + rng.uniform(); dim], &periodic);
        let n = 1 + rng.below(600);
        let points = random_points(&mut rng, &g, n, 0.2);
        let index = PointIndex::new(&points, &g).unwrap();
        let radius = rng.range(0.2, 2.5);
        // Power 0: equal weights, so a row lists exactly the points in the footprint.
        let flat = Kernel::InverseDistance { power: 0.0 };
        let within = kernel_grid_weights(&index, &g, Footprint::Radius(radius), flat, Outside::default()).unwrap();
        let k = 1 + rng.below(9);
        let closest = kernel_grid_weights(&index, &g, Footprint::Closest { n: k, radius: f64::INFINITY }, flat, Outside::default()).unwrap();
        for node in 0..g.len() {
            let q = g.node(g.ijk(node));
            let ids = |w: &Weights| w.row(node).iter().map(|e| e.0).collect::<Vec<u32>>();
            assert_eq!(ids(&within), brute_within(&g, &points, &q, radius), "radius {radius}, node {node} of {g:?}");
            assert_eq!(ids(&closest), brute_neighbours(&g, &points, &q, k, f64::INFINITY), "k {k}, node {node} of {g:?}");
            assert_eq!(closest.coverage()[node], 1.0);
        }
    }
}

#[test]
fn outside_nodes_get_null_or_the_closest_value() {
    let mut rng = Rng(19);
    let g = unit_grid(12, 2, false);
    // Points in the lower-left quarter only.
    let points: Vec<[f64; 3]> = (0..200).map(|_| [rng.range(0.0, 0.4), rng.range(0.0, 0.4), 0.0]).collect();
    let values: Vec<f32> = points.iter().map(|p| (p[0] + 10.0 * p[1]) as f32).collect();
    let index = PointIndex::new(&points, &g).unwrap();
    let footprint = Footprint::Closest { n: 4, radius: 1.0 };
    let null = kernel_grid_weights(&index, &g, footprint, Kernel::Nearest, Outside::Null(-7.0)).unwrap();
    let closest = kernel_grid_weights(&index, &g, footprint, Kernel::Nearest, Outside::Closest).unwrap();
    let (a, b) = (null.apply(&values, 1).unwrap(), closest.apply(&values, 1).unwrap());
    assert_eq!(null.coverage(), closest.coverage());
    for node in 0..g.len() {
        let q = g.node(g.ijk(node));
        let nearest = brute_neighbours(&g, &points, &q, 1, f64::INFINITY)[0] as usize;
        if null.coverage()[node] == 0.0 {
            assert_eq!(a[node], -7.0);
            assert_eq!(b[node], values[nearest], "node {node}");
        } else {
            assert_eq!(a[node], values[nearest]);
            assert_eq!(a[node], b[node]);
        }
    }
    assert!(null.coverage().contains(&0.0) && null.coverage().contains(&1.0));
}

/// VTK cell types used below.
const TRIANGLE: u8 = 5;
const POLYGON: u8 = 7;
const QUAD: u8 = 9;
const TETRA: u8 = 10;
const HEXAHEDRON: u8 = 12;
const WEDGE: u8 = 13;
const PYRAMID: u8 = 14;
const POLYHEDRON: u8 = 42;

/// A structured mesh of `n` cells per axis over [0, 1]^dim with interior points jittered by up to
/// `jitter` cells (the boundary stays straight), cut into cells of `cell_type`.
fn lattice_mesh(rng: &mut Rng, dim: usize, n: usize, jitter: f64, cell_type: u8) -> (Vec<[f64; 3]>, Cells) {
    let m = n + 1;
    let count = m.pow(dim as u32);
    let points: Vec<[f64; 3]> = (0..count)
        .map(|i| {
            let ijk = [i % m, i / m % m, i / (m * m)];
            std::array::from_fn(|a| {
                if a >= dim {
                    return 0.0;
                }
                let inner = ijk[a] > 0 && ijk[a] < n;
                (ijk[a] as f64 + if inner { rng.range(-jitter, jitter) } else { 0.0 }) / n as f64
            })
        })
        .collect();
    let id = |i: usize, j: usize, k: usize| (k * m + j) * m + i;
    let mut cells = Cells { offsets: vec![0], ..Default::default() };
    let mut push = |ids: &[usize], t: u8| {
        cells.connectivity.extend_from_slice(ids);
        cells.offsets.push(cells.connectivity.len());
        cells.types.push(t);
    };
    for k in 0..if dim == 3 { n } else { 1 } {
        for j in 0..n {
            for i in 0..n {
                let c = [id(i, j, k), id(i + 1, j, k), id(i + 1, j + 1, k), id(i, j + 1, k)];
                if dim == 2 {
                    match cell_type {
                        TRIANGLE => {
                            push(&[c[0], c[1], c[2]], TRIANGLE);
                            push(&[c[0], c[2], c[3]], TRIANGLE);
                        }
                        t => push(&c, t),
                    }
                    continue;
                }
                let t = [id(i, j, k + 1), id(i + 1, j, k + 1), id(i + 1, j + 1, k + 1), id(i, j + 1, k + 1)];
                let h = [c[0], c[1], c[2], c[3], t[0], t[1], t[2], t[3]];
                match cell_type {
                    TETRA => {
                        [[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]].iter().for_each(|s| push(&s.map(|v| h[v]), TETRA))
                    }
                    WEDGE => {
                        push(&[h[0], h[1], h[2], h[4], h[5], h[6]], WEDGE);
                        push(&[h[0], h[2], h[3], h[4], h[6], h[7]], WEDGE);
                    }
                    PYRAMID => {
                        // Six pyramids on the faces, apex at an extra centre point: use the
                        // hexahedron's corner 6 as apex of the three faces not touching it.
                        push(&[h[0], h[1], h[2], h[3], h[6]], PYRAMID);
                        push(&[h[0], h[1], h[5], h[4], h[6]], PYRAMID);
                        push(&[h[0], h[4], h[7], h[3], h[6]], PYRAMID);
                    }
                    t => push(&h, t),
                }
            }
        }
    }
    (points, cells)
}

fn linear_field(p: &[f64; 3]) -> f64 {
    0.5 + 2.0 * p[0] - 3.0 * p[1] + 1.5 * p[2]
}

#[test]
fn linear_in_cells_is_exact_on_linear_fields_for_every_cell_type() {
    let mut rng = Rng(23);
    let cases = [(2, TRIANGLE), (2, QUAD), (2, POLYGON), (3, TETRA), (3, HEXAHEDRON), (3, WEDGE), (3, PYRAMID), (3, POLYHEDRON)];
    for (dim, cell_type) in cases {
        // Pyramids and wedges need planar faces: no jitter for them.
        let jitter = if matches!(cell_type, WEDGE | PYRAMID | POLYHEDRON) { 0.0 } else { 0.2 };
        let (points, cells) = lattice_mesh(&mut rng, dim, 5, jitter, cell_type);
        let values: Vec<f32> = points.iter().flat_map(|p| [linear_field(p) as f32, -linear_field(p) as f32]).collect();
        for periodic in [false, true] {
            let g = grid(&[13, 11, 9][..dim], &vec![0.0; dim], &vec![1.0; dim], &vec![periodic; dim]);
            let w = linear_grid_weights(&g, &points, &cells, Association::Point, Outside::default()).unwrap();
            let got = w.apply(&values, 2).unwrap();
            for (node, q) in g.nodes().iter().enumerate() {
                assert_eq!(w.coverage()[node], 1.0, "type {cell_type}: node {node} at {q:?} not covered");
                let total: f32 = w.row(node).iter().map(|e| e.1).sum();
                assert!((total - 1.0).abs() < 1e-5);
                let want = linear_field(q);
                assert!(
                    (got[node] as f64 - want).abs() < 1e-5 && (got[g.len() + node] as f64 + want).abs() < 1e-5,
                    "type {cell_type}, periodic {periodic}, node {node} at {q:?}: {} vs {want}",
                    got[node]
                );
            }
        }
    }
}

#[test]
fn linear_in_cells_converges_at_second_order() {
    use std::f64::consts::TAU;
    let f = |p: &[f64; 3]| (TAU * p[0]).sin() * (TAU * p[1]).cos() + p[2];
    for (dim, cell_type, sizes) in [(2, TRIANGLE, [8, 16, 32]), (2, QUAD, [8, 16, 32]), (3, TETRA, [6, 12, 24]), (3, HEXAHEDRON, [6, 12, 24])] {
        let g = unit_grid(if dim == 2 { 50 } else { 20 }, dim, false);
        let errors: Vec<f64> = sizes
            .iter()
            .map(|&n| {
                let mut rng = Rng(29);
                let (points, cells) = lattice_mesh(&mut rng, dim, n, 0.15, cell_type);
                let values: Vec<f32> = points.iter().map(|p| f(p) as f32).collect();
                let w = linear_grid_weights(&g, &points, &cells, Association::Point, Outside::default()).unwrap();
                rms_err(&w.apply(&values, 1).unwrap(), &g.nodes(), f)
            })
            .collect();
        let o = orders(&errors);
        assert!(o.iter().all(|&o| o > 1.8), "type {cell_type}: errors {errors:?}, orders {o:?}");
    }
}

#[test]
fn non_convex_domains_leave_holes_with_a_coverage_mask() {
    let mut rng = Rng(31);
    // An L-shaped domain: the unit square's triangles minus the upper-right quarter.
    let (points, all) = lattice_mesh(&mut rng, 2, 8, 0.0, TRIANGLE);
    let mut cells = Cells { offsets: vec![0], ..Default::default() };
    let mut kept = vec![];
    for c in 0..all.len() {
        let ids = all.cell(c);
        let centre = ids.iter().fold([0.0; 2], |s, &p| [s[0] + points[p][0] / 3.0, s[1] + points[p][1] / 3.0]);
        if centre[0] < 0.5 || centre[1] < 0.5 {
            cells.connectivity.extend_from_slice(ids);
            cells.offsets.push(cells.connectivity.len());
            cells.types.push(TRIANGLE);
            kept.push(c);
        }
    }
    let g = unit_grid(17, 2, false);
    let values: Vec<f32> = points.iter().map(|p| linear_field(p) as f32).collect();
    let null = linear_grid_weights(&g, &points, &cells, Association::Point, Outside::Null(f32::MAX)).unwrap();
    let closest = linear_grid_weights(&g, &points, &cells, Association::Point, Outside::Closest).unwrap();
    let (a, b) = (null.apply(&values, 1).unwrap(), closest.apply(&values, 1).unwrap());
    for (node, q) in g.nodes().iter().enumerate() {
        let inside = q[0] <= 0.5 || q[1] <= 0.5;
        assert_eq!(null.coverage()[node], if inside { 1.0 } else { 0.0 }, "node {node} at {q:?}");
        if inside {
            assert!((a[node] as f64 - linear_field(q)).abs() < 1e-5);
        } else {
            assert_eq!(a[node], f32::MAX);
            let nearest = brute_neighbours(&g, &points, q, 1, f64::INFINITY)[0] as usize;
            assert_eq!(b[node], values[nearest], "node {node}");
        }
    }
    // Cell data: constant per cell, the value of the containing cell.
    let cell_values: Vec<f32> = (0..cells.len()).map(|c| c as f32).collect();
    let w = linear_grid_weights(&g, &points, &cells, Association::Cell, Outside::Null(-1.0)).unwrap();
    let on_grid = w.apply(&cell_values, 1).unwrap();
    for (node, q) in g.nodes().iter().enumerate() {
        if w.coverage()[node] == 1.0 {
            let c = on_grid[node] as usize;
            let mut one = Cells { offsets: vec![0, 3], connectivity: cells.cell(c).to_vec(), types: vec![TRIANGLE] };
            one.offsets[1] = 3;
            let inside = linear_grid_weights(&g, &points, &one, Association::Point, Outside::default()).unwrap().coverage()[node];
            assert_eq!(inside, 1.0, "node {node} at {q:?} is not in cell {c}");
        } else {
            assert_eq!(on_grid[node], -1.0);
        }
    }
}

#[test]
fn resampler_build_covers_methods_and_associations() {
    let mut rng = Rng(37);
    let (points, cells) = lattice_mesh(&mut rng, 2, 10, 0.2, QUAD);
    let g = unit_grid(21, 2, true);
    let centres = cells.centres(&points);
    let cell_values: Vec<f32> = centres.iter().map(|p| linear_field(p) as f32).collect();
    let source = Source { points: &points, cells: &cells, association: Association::Cell };
    let kernel = ResampleMethod::Kernel { kernel: Kernel::Nearest, footprint: Footprint::Closest { n: 1, radius: f64::INFINITY } };
    let r = Resampler::build(&g, &source, kernel, Outside::default()).unwrap();
    let got = r.to_grid(&cell_values, 1).unwrap();
    for (node, q) in g.nodes().iter().enumerate() {
        let nearest = brute_neighbours(&g, &centres, q, 1, f64::INFINITY)[0] as usize;
        assert_eq!(got[node], cell_values[nearest]);
    }
    assert!(r.neighbours().is_none() && r.lift_values(&cell_values, 1).is_err());
    // Point data, linear: exact on a linear field.
    let values: Vec<f32> = points.iter().map(|p| linear_field(p) as f32).collect();
    let point_source = Source { association: Association::Point, ..source };
    let r = Resampler::build(&g, &point_source, ResampleMethod::Linear, Outside::Closest).unwrap();
    let got = r.to_grid(&values, 1).unwrap();
    assert!(g.nodes().iter().zip(&got).all(|(q, &v)| (v as f64 - linear_field(q)).abs() < 1e-5));
    // Errors: linear without cells, cell data without cells, NaN.
    let none = Cells::default();
    let cloud = Source { points: &points, cells: &none, association: Association::Point };
    let kind = |r: echo_onnx::Result<Resampler>| r.map(drop).unwrap_err().kind();
    assert_eq!(kind(Resampler::build(&g, &cloud, ResampleMethod::Linear, Outside::default())), ErrorKind::MeshFormat);
    assert_eq!(kind(Resampler::build(&g, &Source { association: Association::Cell, ..cloud }, kernel, Outside::default())), ErrorKind::MeshFormat);
    let mut bad = points.clone();
    bad[7][0] = f64::NAN;
    assert_eq!(kind(Resampler::build(&g, &Source { points: &bad, ..point_source }, ResampleMethod::Linear, Outside::default())), ErrorKind::NonFinite);
    assert_eq!(kind(Resampler::build(&g, &Source { points: &bad, ..point_source }, kernel, Outside::default())), ErrorKind::NonFinite);
    assert_eq!(kind(Resampler::build(&g, &Source { points: &[], ..cloud }, kernel, Outside::default())), ErrorKind::OutsideGrid);
}

#[test]
fn chunks_of_query_points_give_the_same_values() {
    let mut rng = Rng(41);
    let g = unit_grid(9, 3, true);
    let values: Vec<f32> = (0..2 * g.len()).map(|_| rng.uniform() as f32).collect();
    let points = random_points(&mut rng, &g, 1000, 0.3);
    let whole = interpolate_linear(&g, &values, 2, &points).unwrap();
    let chunked: Vec<f32> = points.chunks(77).flat_map(|c| interpolate_linear(&g, &values, 2, c).unwrap()).collect();
    assert_eq!(whole, chunked);
    let stencil = gather_stencil(&g, &points, 2).unwrap();
    let parts: Vec<u32> = points.chunks(77).flat_map(|c| gather_stencil(&g, c, 2).unwrap().nodes).collect();
    assert_eq!(stencil.nodes, parts);
}

/// The 2D mesh `(points, cells)` extruded into a slab one cell thick in z over `[z0, z0 + dz]`:
/// quads become hexahedra, triangles wedges, polygons polyhedra. Each cell's VTK point order is
/// scrambled the ways exporters differ (which plane comes first, which corner starts, the
/// direction), as foamToVTK's follow OpenFOAM's block orientations.
fn extrude(rng: &mut Rng, points: &[[f64; 3]], cells: &Cells, z0: f64, dz: f64) -> (Vec<[f64; 3]>, Cells) {
    let n = points.len();
    let slab: Vec<[f64; 3]> = points.iter().map(|p| [p[0], p[1], z0]).chain(points.iter().map(|p| [p[0], p[1], z0 + dz])).collect();
    let mut out = Cells { offsets: vec![0], ..Default::default() };
    for c in 0..cells.len() {
        let mut face = cells.cell(c).to_vec();
        let start = rng.below(face.len());
        face.rotate_left(start);
        if rng.coin() {
            face.reverse();
        }
        let (first, second) = if rng.coin() { (0, n) } else { (n, 0) };
        let t = match (cells.types[c], face.len()) {
            (TRIANGLE, _) => WEDGE,
            (_, 4) if cells.types[c] != POLYGON => HEXAHEDRON,
            _ => POLYHEDRON,
        };
        out.connectivity.extend(face.iter().map(|&p| p + first).chain(face.iter().map(|&p| p + second)));
        out.offsets.push(out.connectivity.len());
        out.types.push(t);
    }
    (slab, out)
}

#[test]
fn one_cell_thick_meshes_interpolate_as_their_cross_sections() {
    let mut rng = Rng(43);
    for case in 0..12 {
        let cell_type = [QUAD, TRIANGLE, POLYGON][case % 3];
        let n = 3 + rng.below(6);
        let jitter = if cell_type == POLYGON { 0.0 } else { 0.2 };
        let (points, cells) = lattice_mesh(&mut rng, 2, n, jitter, cell_type);
        // (Exporters write float32: rounded alike in 2D and in the slab.)
        let round = |p: &[f64; 3]| p.map(|x| f64::from(x as f32));
        let points: Vec<[f64; 3]> = points.iter().map(round).collect();
        // Thin and far from z = 0 (float32 rounding of z is then most of the tolerance), or thick.
        let (z0, dz) = if case % 2 == 0 { (100.0, 1e-3) } else { (rng.range(-1.0, 1.0), rng.range(0.1, 3.0)) };
        let (slab_points, slab_cells) = extrude(&mut rng, &points, &cells, z0, dz);
        let slab_points: Vec<[f64; 3]> = slab_points.iter().map(round).collect();
        let slab = slab_cells.slab(&slab_points).expect("an extruded mesh is a slab");
        assert_eq!((slab.axis, slab.sections.len()), (2, cells.len()), "case {case}");
        let g = grid(&[5 + rng.below(20), 5 + rng.below(20)], &[0.0, 0.0], &[1.0, 1.0], &[rng.coin(), false]);
        let values: Vec<f32> = slab_points.iter().map(|p| linear_field(&[p[0], p[1], 0.0]) as f32).collect();
        // The first plane's points are the 2D mesh's, in order.
        let flat = values[..points.len()].to_vec();
        for assoc in [Association::Point, Association::Cell] {
            let want = linear_grid_weights(&g, &points, &cells, assoc, Outside::Null(-7.0)).unwrap();
            let got = linear_grid_weights(&g, &slab_points, &slab_cells, assoc, Outside::Null(-7.0)).unwrap();
            assert_eq!(got.coverage(), want.coverage(), "case {case}, {assoc}");
            let (src_got, src_want): (Vec<f32>, Vec<f32>) = match assoc {
                Association::Point => (values.clone(), flat.clone()),
                Association::Cell => ((0..cells.len()).map(|c| c as f32).collect(), (0..cells.len()).map(|c| c as f32).collect()),
            };
            let (a, b) = (got.apply(&src_got, 1).unwrap(), want.apply(&src_want, 1).unwrap());
            // Cell data: the same cell (the section of cell i is cell i; ties go to the lowest id).
            let tol = if assoc == Association::Point { 1e-5 } else { 0.0 };
            for (node, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!((x - y).abs() <= tol, "case {case}, {assoc}, node {node}: {x} vs {y}");
            }
        }
        // Not one cell thick: a point off both planes by more than the tolerance, or two layers.
        let mut off = slab_points.clone();
        let p = slab_cells.cell(0)[0];
        off[p][2] = f64::from((off[p][2] + 0.3 * dz) as f32);
        assert!(slab_cells.slab(&off).is_none(), "case {case}");
        let two: Vec<[f64; 3]> = slab_points.iter().map(|p| [p[0], p[1], if p[2] > z0 + dz / 2.0 { z0 + 2.0 * dz } else { z0 }]).collect();
        let mut stacked = slab_cells.clone();
        let mut layer = slab_cells.clone();
        let mut shifted = two.clone();
        shifted.extend(two.iter().map(|p| [p[0], p[1], p[2] + 2.0 * dz]));
        layer.connectivity.iter_mut().for_each(|p| *p += two.len());
        let base = stacked.connectivity.len();
        stacked.connectivity.extend(&layer.connectivity);
        stacked.offsets.extend(layer.offsets[1..].iter().map(|o| o + base));
        stacked.types.extend(&layer.types);
        assert!(stacked.slab(&shifted).is_none(), "case {case}: two layers");
        let err = linear_grid_weights(&g, &shifted, &stacked, Association::Point, Outside::default()).map(drop).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MeshFormat);
        // The same slab turned on its side (thin in x) is a slab, but not one a 2D grid can use.
        let side: Vec<[f64; 3]> = slab_points.iter().map(|p| [p[2], p[0], p[1]]).collect();
        assert_eq!(slab_cells.slab(&side).map(|s| s.axis), Some(0));
        let err = linear_grid_weights(&g, &side, &slab_cells, Association::Point, Outside::default()).map(drop).unwrap_err();
        assert!(err.kind() == ErrorKind::MeshFormat && err.to_string().contains("along x"), "{err}");
    }
    // No panic on user input: ids out of range, no cells, mixed dimensions.
    let (points, cells) = lattice_mesh(&mut rng, 2, 2, 0.0, QUAD);
    let (sp, sc) = extrude(&mut rng, &points, &cells, 0.0, 1.0);
    let mut bad = sc.clone();
    bad.connectivity[0] = sp.len();
    assert!(bad.slab(&sp).is_none() && Cells::default().slab(&sp).is_none() && cells.slab(&points).is_none());
    // One cell is one cell thick along every axis: z is preferred.
    let one = Cells { connectivity: (0..8).collect(), offsets: vec![0, 8], types: vec![HEXAHEDRON] };
    let cube: Vec<[f64; 3]> = (0..8).map(|i| [[0.0, 1.0, 1.0, 0.0][i % 4], [0.0, 0.0, 1.0, 1.0][i % 4], (i / 4) as f64]).collect();
    assert_eq!(one.slab(&cube).map(|s| (s.axis, s.sections.cell(0).len())), Some((2, 4)));
    // A NaN z is on no plane along z (the cell is still one thick in y, where z does not count).
    let mut nan = cube.clone();
    nan[5][2] = f64::NAN;
    assert_eq!(one.slab(&nan).map(|s| s.axis), Some(1));
}

#[test]
fn kernels_on_meshes_with_cells_cover_the_cells_exactly() {
    let mut rng = Rng(47);
    for case in 0..6 {
        // An L-shaped domain (the unit square less its upper-right quarter) of coarse cells, and a
        // fine grid: footprints of 1.5 spacings find no point far from the mesh's points, and
        // reach into the missing quarter from its edges.
        let n = 4 + 2 * rng.below(3);
        let (points, all) = lattice_mesh(&mut rng, 2, n, 0.1, [QUAD, TRIANGLE][case % 2]);
        let mut cells = Cells { offsets: vec![0], ..Default::default() };
        for c in 0..all.len() {
            let ids = all.cell(c);
            let k = ids.len() as f64;
            let centre = ids.iter().fold([0.0; 2], |s, &p| [s[0] + points[p][0] / k, s[1] + points[p][1] / k]);
            if centre[0] < 0.5 || centre[1] < 0.5 {
                cells.connectivity.extend_from_slice(ids);
                cells.offsets.push(cells.connectivity.len());
                cells.types.push(all.types[c]);
            }
        }
        let g = unit_grid(8 * n + 1 + rng.below(8), 2, false);
        let values: Vec<f32> = points.iter().map(|p| linear_field(p) as f32).collect();
        let linear = linear_grid_weights(&g, &points, &cells, Association::Point, Outside::default()).unwrap();
        let inside = inside_cells(&g, &points, &cells).unwrap().unwrap();
        assert!(inside.iter().zip(linear.coverage()).all(|(&i, &c)| f32::from(u8::from(i)) == c));
        for kernel in [Kernel::default(), Kernel::Nearest, Kernel::InverseDistance { power: 2.0 }] {
            for footprint in [Footprint::Closest { n: 4, radius: 1.5 }, Footprint::Radius(1.5)] {
                for (assoc, sources) in [(Association::Point, points.len()), (Association::Cell, cells.len())] {
                    let source = Source { points: &points, cells: &cells, association: assoc };
                    let r = Resampler::build(&g, &source, ResampleMethod::Kernel { kernel, footprint }, Outside::Null(-7.0)).unwrap();
                    assert_eq!(r.coverage(), linear.coverage(), "case {case}, {kernel:?}, {footprint:?}, {assoc}");
                    let w = r.weights().unwrap();
                    for (node, &inside) in inside.iter().enumerate() {
                        let row = w.row(node);
                        assert_eq!(!row.is_empty(), inside, "case {case}, node {node}: covered nodes have neighbours, others none");
                        assert!(row.iter().all(|&(s, _)| (s as usize) < sources));
                    }
                    if assoc == Association::Point {
                        let got = r.to_grid(&values, 1).unwrap();
                        assert!(got.iter().zip(&inside).all(|(&v, &i)| i != (v == -7.0)));
                    }
                }
            }
        }
        // Outside the cells, `closest` still gives the closest point's value (with coverage 0).
        let source = Source { points: &points, cells: &cells, association: Association::Point };
        let r =
            Resampler::build(&g, &source, ResampleMethod::Kernel { kernel: Kernel::default(), footprint: Footprint::Radius(1.5) }, Outside::Closest).unwrap();
        let got = r.to_grid(&values, 1).unwrap();
        for (node, q) in g.nodes().iter().enumerate().filter(|(n, _)| !inside[*n]) {
            let nearest = brute_neighbours(&g, &points, q, 1, f64::INFINITY)[0] as usize;
            assert_eq!(got[node], values[nearest], "node {node}");
        }
    }
    // Point clouds keep the footprint rule.
    let g = unit_grid(9, 2, false);
    let points = [[0.0, 0.0, 0.0]];
    let cloud = Source { points: &points, cells: &Cells::default(), association: Association::Point };
    let r = Resampler::build(&g, &cloud, ResampleMethod::Kernel { kernel: Kernel::default(), footprint: Footprint::Radius(1.5) }, Outside::default()).unwrap();
    assert_eq!(r.coverage().iter().filter(|&&c| c > 0.0).count(), 4);
}

// ---- lift.footprint "adaptive" (docs/bundle-format.md): coverage follows the local point spacing.

/// Brute force of the adaptive rule: all points by (distance, index); the node is covered when its
/// nearest point p lies within max(radius x spacing, 2 s(p)), s(p) the distance from p to its
/// (2 dim + 1)-th nearest point counting itself (the farthest when there are fewer); a covered
/// node keeps its k nearest at any distance.
fn brute_adaptive(g: &Grid, points: &[[f64; 3]], node: &[f64; 3], k: usize, radius_spacings: f64) -> Vec<u32> {
    let wrapped: Vec<[f64; 3]> = points.iter().map(|p| std::array::from_fn(|a| if a < g.dim { g.wrap(a, p[a]) } else { 0.0 })).collect();
    let by_distance = |q: &[f64; 3]| {
        let mut all: Vec<(f64, u32)> = wrapped.iter().enumerate().map(|(i, p)| (dist2(g, p, q), i as u32)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all
    };
    let all = by_distance(node);
    let (d2, nearest) = all[0];
    let around = by_distance(&wrapped[nearest as usize]);
    let spacing = around[(2 * g.dim).min(around.len() - 1)].0.sqrt();
    let reach = (radius_spacings * g.min_spacing()).max(2.0 * spacing) * (1.0 + ADAPTIVE_SLACK_FOR_TESTS);
    if d2.sqrt() > reach {
        return vec![];
    }
    all.into_iter().take(k).map(|(_, i)| i).collect()
}

const ADAPTIVE_SLACK_FOR_TESTS: f64 = 1e-9;

#[test]
fn adaptive_constants_are_the_documented_ones() {
    // docs/bundle-format.md and onnx/echo_onnx/grid.py state these; a change is a format change.
    assert_eq!((SPACING_RANK_PER_DIM, SPACING_FACTOR, ADAPTIVE_SLACK), (2, 2.0, ADAPTIVE_SLACK_FOR_TESTS));
}

fn check_adaptive_against_brute_force(g: &Grid, points: &[[f64; 3]], k: usize, radius: f64) -> Neighbours {
    let index = PointIndex::new(points, g).unwrap();
    let neigh = gather_grid_neighbours_adaptive(&index, g, k, radius, 0..g.len()).unwrap();
    assert_eq!(neigh.footprint, LiftFootprint::Adaptive);
    let plain = gather_grid_neighbours(&index, g, k, radius, 0..g.len()).unwrap();
    let (cov, cov_plain) = (coverage(&neigh), coverage(&plain));
    for node in 0..g.len() {
        let q = g.node(g.ijk(node));
        let want = brute_adaptive(g, points, &q, k, radius);
        let row = &neigh.index[node * k..(node + 1) * k];
        assert_eq!(&row[..want.len()], &want[..], "node {node} of {g:?}, k {k}, radius {radius}, {} points", points.len());
        assert!(row[want.len()..].iter().all(|&i| i == PAD));
        // Every covered node has k neighbours (or all points), and the adaptive rule only adds
        // coverage to the radius rule's.
        if cov[node] == 1.0 {
            assert_eq!(want.len(), k.min(points.len()), "covered node {node} short of neighbours");
        }
        assert!(cov[node] >= cov_plain[node], "node {node} covered by the radius, not adaptively");
        for (slot, &p) in row.iter().enumerate() {
            assert_eq!(neigh.mask[node * k + slot], if p == PAD { 0.0 } else { 1.0 });
            for a in 0..g.dim {
                let got = neigh.offsets[(node * k + slot) * g.dim + a] as f64;
                let expect = if p == PAD { 0.0 } else { g.delta(a, points[p as usize][a], q[a]) / g.spacing(a) };
                assert!((got - expect).abs() < 1e-5 * expect.abs().max(1.0), "offset of node {node} slot {slot} axis {a}: {got} vs {expect}");
            }
        }
    }
    neigh
}

/// A jittered lattice graded along x (cells grow `ratio` times from x = 0 to x = 1, like a CFD
/// far field) over the unit square or cube, without the points inside the ball of `hole_radius`
/// around `hole` (an obstacle).
fn graded_cloud(rng: &mut Rng, dim: usize, n: usize, ratio: f64, hole: [f64; 3], hole_radius: f64) -> Vec<[f64; 3]> {
    // x_i = (r^(i/n) - 1) / (r - 1): geometric growth of the spacing.
    let xs: Vec<f64> = (0..=n).map(|i| (ratio.powf(i as f64 / n as f64) - 1.0) / (ratio - 1.0)).collect();
    let us: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
    let layers = if dim == 3 { n + 1 } else { 1 };
    let mut out = Vec::new();
    for l in 0..layers {
        for j in 0..=n {
            for i in 0..=n {
                let h = if i < n { xs[i + 1] - xs[i] } else { xs[n] - xs[n - 1] };
                let mut p = [xs[i] + 0.1 * h * rng.range(-1.0, 1.0), us[j] + 0.1 / n as f64 * rng.range(-1.0, 1.0), 0.0];
                if dim == 3 {
                    p[2] = us[l] + 0.1 / n as f64 * rng.range(-1.0, 1.0);
                }
                let r2: f64 = (0..dim).map(|a| (p[a] - hole[a]).powi(2)).sum();
                if r2 > hole_radius * hole_radius {
                    out.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn adaptive_neighbours_match_brute_force_on_random_graded_clouds() {
    let mut rng = Rng(23);
    for case in 0..24 {
        let dim = 2 + case % 2;
        let periodic: Vec<bool> = (0..dim).map(|_| rng.coin()).collect();
        let shape: Vec<usize> = (0..dim).map(|_| 2 + rng.below(if dim == 2 { 14 } else { 6 })).collect();
        let g = grid(&shape, &vec![0.0; dim], &vec![1.0; dim], &periodic);
        let n = if dim == 2 { 4 + rng.below(30) } else { 3 + rng.below(8) };
        let hole = [rng.range(0.2, 0.8), rng.range(0.2, 0.8), rng.range(0.2, 0.8)];
        let (ratio, hole_radius) = (rng.range(1.0001, 30.0), rng.range(0.0, 0.3));
        let points = graded_cloud(&mut rng, dim, n, ratio, hole, hole_radius);
        let k = 1 + rng.below(12);
        let radius = rng.range(0.2, 2.5);
        check_adaptive_against_brute_force(&g, &points, k, radius);
    }
    // Random clouds (not lattices), fewer points than k, a single point, duplicates.
    for case in 0..12 {
        let dim = 2 + case % 2;
        let g = unit_grid(3 + rng.below(6), dim, rng.coin());
        let n = 1 + rng.below(if case < 4 { 5 } else { 600 });
        let mut points = random_points(&mut rng, &g, n, 0.1);
        if case % 3 == 0 {
            points.extend(vec![points[0]; 20]);
        }
        check_adaptive_against_brute_force(&g, &points, 1 + rng.below(10), rng.range(0.2, 2.0));
    }
}

/// On a graded lattice whose far-field cells outgrow the lift radius, the radius rule leaves nodes
/// inside the cloud without neighbours (false holes); the adaptive rule covers every node inside it
/// with k neighbours, and nodes deeper inside the obstacle than a coarse cell stay uncovered.
#[test]
fn adaptive_covers_graded_far_fields_and_keeps_obstacles_uncovered() {
    let mut rng = Rng(31);
    // (dim, lattice steps per axis, x grading ratio, hole centre and radius, grid nodes per axis,
    // lift radius in grid spacings)
    let cases = [(2, 40, 20.0, [0.35, 0.5, 0.0], 0.2, 33, 0.6), (3, 24, 4.0, [0.4, 0.5, 0.5], 0.3, 17, 0.3)];
    for (dim, n, ratio, hole, hole_radius, nodes, radius) in cases {
        let points = graded_cloud(&mut rng, dim, n, ratio, hole, hole_radius);
        let g = unit_grid(nodes, dim, false);
        let k = 8;
        let neigh = check_adaptive_against_brute_force(&g, &points, k, radius);
        let index = PointIndex::new(&points, &g).unwrap();
        let plain = gather_grid_neighbours(&index, &g, k, radius, 0..g.len()).unwrap();
        let (cov, cov_plain) = (coverage(&neigh), coverage(&plain));
        let x_at = |t: f64| (ratio.powf(t) - 1.0) / (ratio - 1.0);
        // The coarsest lattice step (at x = 1) bounds how far a node inside the cloud is from a
        // point; the step at the hole's far side, how far the wall points' spacing reaches into it
        // (twice the step for the spacing factor, twice again for wall points missing neighbours).
        let coarse = 1.0 - x_at((n - 1) as f64 / n as f64);
        let t_wall = (((hole[0] + hole_radius) * (ratio - 1.0) + 1.0).ln() / ratio.ln() * n as f64).ceil() / n as f64;
        let wall = 4.0 * (x_at(t_wall) - x_at(t_wall - 1.0 / n as f64)).max(1.0 / n as f64);
        let (mut false_holes, mut inside, mut deep) = (0, 0, 0);
        for node in 0..g.len() {
            let q = g.node(g.ijk(node));
            let from_hole = (0..dim).map(|a| (q[a] - hole[a]).powi(2)).sum::<f64>().sqrt() - hole_radius;
            if from_hole > coarse {
                inside += 1;
                assert_eq!(cov[node], 1.0, "{dim}D: node {node} at {q:?} in the cloud is uncovered");
                assert_eq!(neigh.mask[node * k..(node + 1) * k].iter().sum::<f32>(), k as f32);
                false_holes += (cov_plain[node] == 0.0) as usize;
            } else if from_hole < -wall {
                deep += 1;
                assert_eq!(cov[node], 0.0, "{dim}D: node {node} at {q:?} inside the obstacle is covered");
            }
        }
        // The case bites: the radius rule alone leaves many nodes in the cloud uncovered, and
        // some nodes lie deep inside the obstacle.
        assert!(false_holes * 5 > inside, "{dim}D: only {false_holes} of {inside} nodes uncovered by the radius rule");
        assert!(deep > 0, "{dim}D: no node deep inside the obstacle (margin {wall})");
    }
}

#[test]
fn resampler_with_footprint() {
    let mut rng = Rng(41);
    let g = unit_grid(9, 2, false);
    let points = random_points(&mut rng, &g, 300, 0.0);
    let a = Resampler::new(&g, &points, 5, 1.0, None).unwrap();
    let b = Resampler::with_footprint(&g, &points, 5, 1.0, LiftFootprint::Radius, None).unwrap();
    assert_eq!(a.neighbours(), b.neighbours());
    let c = Resampler::with_footprint(&g, &points, 5, 1.0, LiftFootprint::Adaptive, None).unwrap();
    let index = PointIndex::new(&points, &g).unwrap();
    assert_eq!(c.neighbours(), Some(&gather_grid_neighbours_adaptive(&index, &g, 5, 1.0, 0..g.len()).unwrap()));
    assert_eq!(c.coverage(), &coverage(c.neighbours().unwrap())[..]);
    // The kernel path has no adaptive rule: refused, never silently the radius rule.
    let kernel = Resampler::with_footprint(&g, &points, 5, 1.0, LiftFootprint::Adaptive, Some(Kernel::default()));
    assert_eq!(kernel.err().map(|e| e.kind()), Some(ErrorKind::Usage));
}

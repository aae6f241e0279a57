//! The host API (`echo_onnx::host`): a serial host gets what the CLI path computes, and the
//! distributed protocol (candidates -> master -> decoded frames -> every rank) gets exactly what
//! the serial host gets, whatever the split of the points over ranks.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};

use echo_onnx::bundle::Bundle;
use echo_onnx::distributed::Communicator;
use echo_onnx::engine::{Engine, Prediction};
use echo_onnx::fields::{self, FieldSelection};
use echo_onnx::host::Surrogate;
use echo_onnx::mesh::read::read_series;
use echo_onnx::model::Model;
use echo_onnx::resample::Geometry;
use echo_onnx::runtime::{self, Device};
use echo_onnx::sampler::Sampler;
use echo_onnx::tasks;

/// The example's locations and its frames in physical units, point-major.
fn example() -> (Vec<[f64; 3]>, Vec<f64>, Vec<Vec<f64>>) {
    let frames = read_series(&common::example().join("input.pvd")).unwrap();
    let points = frames[0].mesh.points.clone();
    let times = frames.iter().map(|f| f.time).collect();
    let values = frames.iter().map(|f| f.mesh.point_data.iter().find(|d| d.name == "vorticity").unwrap().values.clone()).collect();
    (points, times, values)
}

fn open(variant: &str) -> Surrogate {
    open_at(&common::bundle(variant))
}

fn open_at(bundle: &Path) -> Surrogate {
    let mut s = Surrogate::open(bundle, "cpu", Some(1), None).unwrap();
    s.set_sampler(4, "").unwrap();
    s.set_seed(7);
    s
}

/// Serial host: register the points, push every snapshot, forecast `horizon` frames; their count.
fn forecast_serially(s: &mut Surrogate, (points, times, values): &Data, horizon: usize) -> usize {
    s.set_mesh(points).unwrap();
    for (t, v) in times.iter().zip(values) {
        s.push_snapshot(*t, v).unwrap();
    }
    s.forecast(horizon).unwrap()
}

/// Serial host: forecast `horizon` from the last snapshot; every predicted frame at the points.
fn serial(variant: &str, horizon: usize) -> Vec<Vec<f64>> {
    let mut s = open(variant);
    let n = forecast_serially(&mut s, &example(), horizon);
    (0..n).map(|f| s.prediction(f).unwrap()).collect()
}

/// The CLI path's inputs for `variant`: the bundle's manifest, the example as a series, the model
/// and the latent grid.
fn cli_inputs(variant: &str) -> (echo_onnx::bundle::Manifest, fields::Series, Model, echo_onnx::grid::Grid) {
    let bundle = Bundle::open(&common::bundle(variant)).unwrap();
    let m = bundle.manifest.clone();
    let frames = read_series(&common::example().join("input.pvd")).unwrap();
    let series = fields::extract(&frames, &m, &FieldSelection::default()).unwrap();
    runtime::init(None, Device::Cpu).unwrap();
    let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
    let grid = bundle.grid(None).unwrap();
    (m, series, model, grid)
}

#[test]
fn serial_host_matches_the_cli_path() {
    for variant in ["2d", "2d-kernel-linear"] {
        let got = serial(variant, 12);
        // The CLI's path: all points as input and output, the same seed and settings.
        let (m, series, model, grid) = cli_inputs(variant);
        let want = cli_path(model, &grid, &series, 12, m.time.context_frames);
        assert_eq!(want.members[0].len(), got.len());
        for (w, g) in want.members[0].iter().zip(&got) {
            let w: Vec<f64> = fields::to_fields(&w.0, &m)[0].values.clone();
            assert_eq!(&w, g, "{variant}: serial host differs from the CLI path");
        }
    }
}

/// The CLI's path: the series' locations as input and output, seed 7, 4 steps.
fn cli_path(model: Model, grid: &echo_onnx::grid::Grid, series: &fields::Series, horizon: usize, context: usize) -> Prediction {
    let m = model.bundle.manifest.clone();
    let geometry = Geometry::new(&m, grid, Some(&series.locations), &series.locations).unwrap();
    let mut e = Engine::builder(model).with_sampler(Sampler { method: m.sampler.method, steps: 4 }).with_seed(7).build().unwrap();
    let frames = tasks::forecast(&mut e, geometry.input.as_ref().unwrap(), series, horizon, context).unwrap();
    e.evaluate_frames(geometry.output(), &frames).unwrap()
}

type Data = (Vec<[f64; 3]>, Vec<f64>, Vec<Vec<f64>>);

#[test]
fn distributed_protocol_equals_serial_bit_for_bit() {
    for variant in ["2d", "2d-kernel-linear"] {
        let want = serial(variant, 12);
        let (points, _, _) = example();
        // Slabs (like a simple decomposition), an interleaved deal, and a scatter over 3 ranks.
        let slabs = protocol_in_the_core(variant, 2, |i| usize::from(points[i][0] >= 0.5), 12);
        let dealt = protocol_in_the_core(variant, 2, |i| i % 2, 12);
        let scattered = protocol_in_the_core(variant, 3, |i| (i * 7919) % 3, 12);
        for got in [slabs, dealt, scattered] {
            assert_eq!(want, got, "{variant}: distributed differs from serial");
        }
    }
}

#[test]
fn generate_and_checks() {
    let (points, _, _) = example();
    let mut s = open("2d");
    s.set_mesh(&points).unwrap();
    s.set_parameters(&["viscosity=1e-4".to_string()]).unwrap();
    assert_eq!(s.generate(0.0).unwrap(), 9);
    let v = s.prediction(0).unwrap();
    assert_eq!(v.len(), points.len());
    assert!(v.iter().all(|x| x.is_finite()));
    // Out-of-range parameters, wrong fields and wrong dimension are refused with their reason.
    let e = s.set_parameters(&["viscosity=1".to_string()]).unwrap_err();
    assert!(e.message().contains("outside the bundle's range"), "{e}");
    let e = s.check_case(&["T".to_string()], &[1], 2).unwrap_err();
    assert!(e.message().contains("has fields [vorticity (1 comp.)], but the case gives [T (1 comp.)]"), "{e}");
    let e = s.check_case(&["vorticity".to_string()], &[1], 3).unwrap_err();
    assert!(e.message().contains("is 2D, but the case's mesh is 3D"), "{e}");
    s.check_case(&["vorticity".to_string()], &[1], 2).unwrap();
    // Forecasting needs the context snapshots.
    let e = s.forecast(0).unwrap_err();
    assert!(e.message().contains("needs 1 snapshots"), "{e}");
}

/// A mesh much finer than the latent grid (a jittered 120 x 120 lattice, with exact duplicates and
/// lattice points equidistant from grid nodes): only some points are candidates, and the
/// distributed result still equals the serial one bit for bit.
#[test]
fn fine_mesh_gathers_a_subset_and_still_equals_serial() {
    let m = 120;
    let mut points = vec![];
    for j in 0..m {
        for i in 0..m {
            let jitter = if (i * 7 + j * 3) % 5 == 0 { 0.0 } else { 1e-3 * (((i * 31 + j * 17) % 11) as f64 - 5.0) / 5.0 };
            points.push([(i as f64 + 0.5) / m as f64 + jitter, (j as f64 + 0.5) / m as f64, 0.0]);
        }
    }
    points.extend_from_within(..50); // exact duplicates
    let f = |p: &[f64; 3], t: f64| (6.0 * p[0] + t).sin() * (4.0 * p[1]).cos();
    let times = vec![0.0, 0.1];
    let values: Vec<Vec<f64>> = times.iter().map(|&t| points.iter().map(|p| f(p, t)).collect()).collect();
    for variant in ["2d", "2d-kernel-linear"] {
        let mut s = open(variant);
        let frames = forecast_serially(&mut s, &(points.clone(), times.clone(), values.clone()), 10);
        let want: Vec<Vec<f64>> = (0..frames).map(|k| s.prediction(k).unwrap()).collect();
        assert!(s.candidate_count().unwrap() < points.len(), "every point is a candidate: the test proves nothing");
        // The CLI's path on every point gives the same: dropping non-candidates changes nothing.
        let bundle = Bundle::open(&common::bundle(variant)).unwrap();
        let m = bundle.manifest.clone();
        let (mean, std) = (m.fields[0].mean[0], m.fields[0].std[0]);
        let series = fields::Series {
            locations: points.clone(),
            times: times.clone(),
            values: values.iter().map(|v| v.iter().map(|x| ((x - mean) / std) as f32).collect()).collect(),
            association: echo_onnx::mesh::Association::Point,
        };
        let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
        let cli = cli_path(model, &bundle.grid(None).unwrap(), &series, 10, 1);
        let cli: Vec<Vec<f64>> = cli.members[0].iter().map(|v| fields::to_fields(&v.0, &m)[0].values.clone()).collect();
        assert_eq!(want, cli, "{variant}: the candidate cloud differs from all points");
        let data = (points.clone(), times.clone(), values.clone());
        let got = protocol_on(data, &common::bundle(variant), 2, |i| usize::from(points[i][1] >= 0.37), 10);
        assert!(got.gathered < points.len());
        assert_eq!(want, got.frames, "{variant}: 2 ranks differ from serial");
        let data = (points.clone(), times.clone(), values.clone());
        let got = protocol_on(data, &common::bundle(variant), 3, |i| (i / 97) % 3, 10);
        assert_eq!(want, got.frames, "{variant}: 3 ranks differ from serial");
    }
}

#[test]
fn a_one_cell_thick_case_is_its_2d_mesh() {
    // An OpenFOAM 2D case hands over cell centres mid-slab (z = thickness / 2, anywhere): on a 2D
    // grid only x and y count, so the host gets exactly what the 2D points get.
    let want = serial("2d", 4);
    let (points, times, values) = example();
    for z in [0.05, -3.0] {
        let slab: Vec<[f64; 3]> = points.iter().map(|p| [p[0], p[1], z]).collect();
        let mut s = open("2d");
        s.set_mesh(&slab).unwrap();
        for (t, v) in times.iter().zip(&values) {
            s.push_snapshot(*t, v).unwrap();
        }
        let n = s.forecast(4).unwrap();
        let got: Vec<Vec<f64>> = (0..n).map(|f| s.prediction(f).unwrap()).collect();
        assert_eq!(got, want, "z = {z}");
    }
}

/// Ranks as threads for [`Communicator`]: gather and broadcast through shared slots, with a
/// barrier on either side of each move.
struct Threads {
    rank: usize,
    ranks: usize,
    shared: Arc<(Barrier, Mutex<Vec<Vec<f64>>>)>,
}

impl Communicator for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn ranks(&self) -> usize {
        self.ranks
    }
    fn gather(&mut self, local: &[f64]) -> Vec<f64> {
        let (barrier, slots) = &*self.shared;
        slots.lock().unwrap()[self.rank] = local.to_vec();
        barrier.wait();
        let out = if self.rank == 0 { slots.lock().unwrap().concat() } else { vec![] };
        barrier.wait();
        out
    }
    fn broadcast(&mut self, data: &[f64]) -> Vec<f64> {
        let (barrier, slots) = &*self.shared;
        if self.rank == 0 {
            slots.lock().unwrap()[0] = data.to_vec();
        }
        barrier.wait();
        let out = slots.lock().unwrap()[0].clone();
        barrier.wait();
        out
    }
}

/// Run `f` on `ranks` threads, each with its rank's communicator; results in rank order.
fn on_ranks<T: Send>(ranks: usize, f: impl Fn(&mut Threads) -> T + Sync) -> Vec<T> {
    let shared = Arc::new((Barrier::new(ranks), Mutex::new(vec![vec![]; ranks])));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..ranks)
            .map(|rank| {
                let (shared, f) = (shared.clone(), &f);
                scope.spawn(move || f(&mut Threads { rank, ranks, shared }))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The protocol as the core runs it (set_mesh_on, push_snapshot_on, forecast_on), every rank
/// evaluating at its own points; every frame reassembled in global order.
fn protocol_in_the_core(variant: &str, ranks: usize, owner: impl Fn(usize) -> usize + Sync, horizon: usize) -> Vec<Vec<f64>> {
    protocol_on(example(), &common::bundle(variant), ranks, owner, horizon).frames
}

/// What a run of the protocol gives: the frames at every point (global order), and the master's
/// lift (neighbours' global ids, coverage).
struct Run {
    frames: Vec<Vec<f64>>,
    neighbour_ids: Option<Vec<i64>>,
    coverage: Vec<f32>,
    /// Candidates gathered on the master (over all ranks).
    gathered: usize,
}

/// [`protocol_in_the_core`] on given data and bundle.
fn protocol_on(data: Data, bundle: &Path, ranks: usize, owner: impl Fn(usize) -> usize + Sync, horizon: usize) -> Run {
    let (points, times, values) = data;
    let n = points.len();
    let local_of: Vec<Vec<usize>> = (0..ranks).map(|r| (0..n).filter(|&i| owner(i) == r).collect()).collect();
    let per_rank = on_ranks(ranks, |comm| {
        let local = &local_of[comm.rank()];
        let mut s = open_at(bundle);
        let pts: Vec<[f64; 3]> = local.iter().map(|&i| points[i]).collect();
        let ids: Vec<i64> = local.iter().map(|&i| i as i64).collect();
        s.set_mesh_on(comm, &pts, &ids).unwrap();
        for (t, v) in times.iter().zip(&values) {
            let v: Vec<f64> = local.iter().map(|&i| v[i]).collect();
            s.push_snapshot_on(comm, *t, &v).unwrap();
        }
        let frames = s.forecast_on(comm, horizon).unwrap();
        let lift = (s.lift_neighbour_ids(), s.coverage().map(<[f32]>::to_vec), s.candidate_count().unwrap());
        ((0..frames).map(|f| s.prediction(f).unwrap()).collect::<Vec<_>>(), lift)
    });
    let frames = (0..per_rank[0].0.len())
        .map(|f| {
            let mut out = vec![f64::NAN; n];
            for (r, (frames, _)) in per_rank.iter().enumerate() {
                for (&i, &v) in local_of[r].iter().zip(&frames[f]) {
                    out[i] = v;
                }
            }
            out
        })
        .collect();
    let gathered = per_rank.iter().map(|(_, lift)| lift.2).sum();
    assert!(per_rank[1..].iter().all(|(_, lift)| lift.0.is_none() && lift.1.is_none()), "only the master holds the lift");
    let (neighbour_ids, coverage, _) = per_rank.into_iter().next().unwrap().1;
    Run { frames, neighbour_ids, coverage: coverage.expect("the master holds the coverage"), gathered }
}

#[test]
fn the_protocol_in_the_core_equals_serial_bit_for_bit() {
    for variant in ["2d", "2d-kernel-linear"] {
        let want = serial(variant, 12);
        let (points, _, _) = example();
        assert_eq!(want, protocol_in_the_core(variant, 2, |i| usize::from(points[i][0] >= 0.5), 12), "{variant}: 2 slabs");
        assert_eq!(want, protocol_in_the_core(variant, 3, |i| (i * 7919) % 3, 12), "{variant}: 3 ranks, scattered");
    }
}

#[test]
fn a_failure_on_one_rank_fails_the_step_on_every_rank() {
    let (points, _, _) = example();
    let errors = on_ranks(2, |comm| {
        let mut s = open("2d");
        let rank = comm.rank();
        let mine: Vec<[f64; 3]> = points.iter().copied().skip(rank).step_by(2).collect();
        let mut ids: Vec<i64> = (0..mine.len()).map(|i| (2 * i + rank) as i64).collect();
        if rank == 1 {
            ids.pop(); // one id short
        }
        s.set_mesh_on(comm, &mine, &ids).unwrap_err()
    });
    assert!(errors[1].message().contains("global ids for"), "{}", errors[1]);
    assert_eq!(errors[0].kind(), errors[1].kind());
    assert!(errors[0].message().starts_with("rank 1: ") && errors[0].message().contains("global ids for"), "{}", errors[0]);
}

/// The 2D test bundle with `lift.footprint` "adaptive" and `lift.radius` 0.5 (the same random
/// weights: only the lift's neighbour rule changes), in a temporary directory.
fn adaptive_bundle(dir: &Path) -> PathBuf {
    let b = dir.join("bundle-adaptive");
    common::copy_dir(&common::bundle("2d"), &b);
    let path = b.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["lift"]["footprint"] = serde_json::json!("adaptive");
    // A small floor (half a spacing), so that coverage near the dense rings hangs on the exact
    // local spacing s(p) rather than on the radius.
    m["lift"]["radius"] = serde_json::json!(0.5);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    b
}

/// A graded cloud like a CFD mesh around a body: rings around (0.5, 0.5) growing 1.35x from r =
/// 0.12 (the body) to 0.4, fewer points around the outer rings, with jitter and exact duplicates
/// (ties), and an analytic field at two times. On the bundle's periodic 32 x 32 grid (lift radius
/// 2 spacings = 0.0625) the outer rings are coarser than the radius: false holes with "radius",
/// covered with "adaptive"; the body stays uncovered.
fn graded_cloud() -> Data {
    let mut points = vec![];
    let mut r = 0.12;
    for (ring, around) in [256, 160, 64, 48, 32].into_iter().enumerate() {
        for k in 0..around {
            let jitter = if (ring * 7 + k) % 5 == 0 { 0.0 } else { 2e-3 * (((ring * 31 + k * 17) % 11) as f64 - 5.0) / 5.0 };
            let a = std::f64::consts::TAU * (k as f64 + 0.5 * (ring % 2) as f64) / around as f64;
            points.push([0.5 + (r + jitter) * a.cos(), 0.5 + r * a.sin(), 0.0]);
        }
        r *= 1.35;
    }
    points.extend_from_within(100..130); // exact duplicates
    let f = |p: &[f64; 3], t: f64| (6.0 * p[0] + t).sin() * (4.0 * p[1]).cos();
    let times = vec![0.0, 0.1];
    let values = times.iter().map(|&t| points.iter().map(|p| f(p, t)).collect()).collect();
    (points, times, values)
}

/// lift.footprint "adaptive" through the host API: the serial host (one rank of the protocol, on
/// its candidates) has the CLI's neighbour lists and coverage bit for bit (the CLI searches the
/// spacings among all points, the host merges them from every rank), and predicts what the CLI
/// path predicts; and the graded cloud really is a case where the rules differ.
#[test]
fn adaptive_footprint_serial_host_equals_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let b = adaptive_bundle(dir.path());
    let (points, times, values) = graded_cloud();
    let mut s = open_at(&b);
    let frames = forecast_serially(&mut s, &(points.clone(), times.clone(), values.clone()), 10);
    let got: Vec<Vec<f64>> = (0..frames).map(|k| s.prediction(k).unwrap()).collect();

    let bundle = Bundle::open(&b).unwrap();
    let m = bundle.manifest.clone();
    let grid = bundle.grid(None).unwrap();
    let cli = Geometry::new(&m, &grid, Some(&points), &points).unwrap();
    let cli_lift = cli.input.as_ref().unwrap().to_grid.resampler();
    let cli_ids: Vec<i64> = cli_lift.neighbours().unwrap().index.iter().map(|&p| if p == echo_onnx::resample::PAD { -1 } else { i64::from(p) }).collect();
    assert_eq!(s.lift_neighbour_ids().unwrap(), cli_ids, "neighbour lists differ from the CLI's");
    assert_eq!(s.coverage().unwrap(), cli_lift.coverage(), "coverage differs from the CLI's");

    let covered = |c: &[f32]| c.iter().filter(|&&c| c > 0.0).count();
    let adaptive = covered(cli_lift.coverage());
    let mut radius = open("2d");
    radius.set_mesh(&points).unwrap();
    let radius = covered(radius.coverage().unwrap());
    assert!(radius < adaptive && adaptive < grid.len(), "radius covers {radius}, adaptive {adaptive} of {} nodes: the case proves nothing", grid.len());
    assert!(s.candidate_count().unwrap() < points.len(), "every point is a candidate");

    let (mean, std) = (m.fields[0].mean[0], m.fields[0].std[0]);
    let series = fields::Series {
        locations: points.clone(),
        times: times.clone(),
        values: values.iter().map(|v| v.iter().map(|x| ((x - mean) / std) as f32).collect()).collect(),
        association: echo_onnx::mesh::Association::Point,
    };
    let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
    let want = cli_path(model, &grid, &series, 10, 1);
    let want: Vec<Vec<f64>> = want.members[0].iter().map(|v| fields::to_fields(&v.0, &m)[0].values.clone()).collect();
    assert_eq!(got, want, "the serial host's prediction differs from the CLI path's");
}

/// lift.footprint "adaptive" in the distributed protocol: 1 rank == 2 or 3 ranks bit for bit
/// (neighbour lists, coverage, predictions), with splits that cut the spacing neighbourhoods of the
/// nodes' nearest points (slabs, sectors by angle, a scatter; a rank without points).
#[test]
fn adaptive_footprint_distributed_equals_serial_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let b = adaptive_bundle(dir.path());
    let data = graded_cloud();
    let points = data.0.clone();
    let serial = protocol_on(data.clone(), &b, 1, |_| 0, 10);
    let sector = |i: usize| ((points[i][1] - 0.5).atan2(points[i][0] - 0.5) + std::f64::consts::PI) as usize % 3;
    let runs = [
        ("2 slabs", protocol_on(data.clone(), &b, 2, |i| usize::from(points[i][0] >= 0.5), 10)),
        ("3 sectors", protocol_on(data.clone(), &b, 3, sector, 10)),
        ("3 scattered", protocol_on(data.clone(), &b, 3, |i| (i * 7919) % 3, 10)),
        ("2 slabs and an empty rank", protocol_on(data.clone(), &b, 3, |i| usize::from(points[i][1] >= 0.5), 10)),
    ];
    for (name, got) in runs {
        assert_eq!(serial.neighbour_ids, got.neighbour_ids, "{name}: neighbour lists differ from 1 rank");
        assert_eq!(serial.coverage, got.coverage, "{name}: coverage differs from 1 rank");
        assert_eq!(serial.frames, got.frames, "{name}: predictions differ from 1 rank");
        assert!(got.gathered >= serial.gathered, "{name}: fewer candidates than one rank has");
    }
}

/// Serial host with an ensemble of `members`: every frame's (mean, std) at the example's points.
fn serial_ensemble(variant: &str, members: usize, horizon: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut s = open(variant);
    s.set_ensemble(members).unwrap();
    let n = forecast_serially(&mut s, &example(), horizon);
    (0..n).map(|f| s.prediction_stats(f).unwrap()).collect()
}

/// The host's ensemble mean and std are the CLI's `--ensemble 4` fields (same members, seeds and
/// statistics) bit for bit; the members differ (std > 0 everywhere the model is not constant).
#[test]
fn serial_host_ensemble_matches_the_cli_ensemble() {
    for variant in ["2d", "2d-kernel-linear"] {
        let got = serial_ensemble(variant, 4, 12);
        let (m, series, model, grid) = cli_inputs(variant);
        let geometry = Geometry::new(&m, &grid, Some(&series.locations), &series.locations).unwrap();
        let mut e = Engine::builder(model).with_sampler(Sampler { method: m.sampler.method, steps: 4 }).with_seed(7).with_members(4).build().unwrap();
        let predicted = tasks::forecast(&mut e, geometry.input.as_ref().unwrap(), &series, 12, m.time.context_frames).unwrap();
        let want = e.evaluate_frames(geometry.output(), &predicted).unwrap();
        assert_eq!(want.members.len(), 4);
        assert_eq!(got.len(), want.times.len());
        for (i, (mean, std)) in got.iter().enumerate() {
            let members: Vec<Vec<echo_onnx::mesh::Field>> = want.members.iter().map(|f| fields::to_fields(&f[i].0, &m)).collect();
            let stats = fields::ensemble_fields(&members.iter().map(Vec::as_slice).collect::<Vec<_>>(), &[]);
            assert_eq!(stats[0].name, "vorticity");
            assert_eq!(&stats[0].values, mean, "{variant}: frame {i}: host mean differs from the CLI's");
            assert_eq!(&stats[1].values, std, "{variant}: frame {i}: host std differs from the CLI's");
            assert!(std.iter().all(|s| s.is_finite() && *s >= 0.0), "{variant}: std is finite, >= 0");
            assert!(std.iter().filter(|&&s| s > 0.0).count() > std.len() / 2, "{variant}: frame {i}: the members do not differ");
        }
    }
}

/// Ensemble 1 is today's prediction: set_ensemble(1) changes nothing, its mean is the
/// prediction and its std 0; member 0 of an ensemble is the one-member run (the seed's member),
/// to the batch's round-off.
#[test]
fn ensemble_of_one_is_the_plain_prediction() {
    let want = serial("2d", 12);
    let one = serial_ensemble("2d", 1, 12);
    for (w, (mean, std)) in want.iter().zip(&one) {
        assert_eq!(w, mean);
        assert!(std.iter().all(|&s| s == 0.0));
    }
    let mut s = open("2d");
    s.set_ensemble(4).unwrap();
    assert_eq!(s.ensemble(), 4);
    assert_eq!(forecast_serially(&mut s, &example(), 12), want.len());
    for (f, want) in want.iter().enumerate() {
        let member0 = s.prediction(f).unwrap();
        let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let worst = member0.iter().zip(want).fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
        assert!(worst <= 1e-4 * scale, "frame {f}: member 0 differs from the one-member run by {worst} (scale {scale})");
    }
}

/// Every member's decoded frames go to every rank, which takes the statistics at its own points:
/// the distributed mean and std equal the serial ones bit for bit.
#[test]
fn distributed_ensemble_equals_serial_bit_for_bit() {
    for variant in ["2d", "2d-kernel-linear"] {
        let want = serial_ensemble(variant, 4, 12);
        let (points, times, values) = example();
        let n = points.len();
        for (ranks, owner) in
            [(2, Box::new(|i: usize| usize::from(points[i][0] >= 0.5)) as Box<dyn Fn(usize) -> usize + Sync>), (3, Box::new(|i| (i * 7919) % 3))]
        {
            let local_of: Vec<Vec<usize>> = (0..ranks).map(|r| (0..n).filter(|&i| owner(i) == r).collect()).collect();
            let per_rank = on_ranks(ranks, |comm| {
                let local = &local_of[comm.rank()];
                let mut s = open(variant);
                s.set_ensemble(4).unwrap();
                let pts: Vec<[f64; 3]> = local.iter().map(|&i| points[i]).collect();
                let ids: Vec<i64> = local.iter().map(|&i| i as i64).collect();
                s.set_mesh_on(comm, &pts, &ids).unwrap();
                for (t, v) in times.iter().zip(&values) {
                    let v: Vec<f64> = local.iter().map(|&i| v[i]).collect();
                    s.push_snapshot_on(comm, *t, &v).unwrap();
                }
                let frames = s.forecast_on(comm, 12).unwrap();
                (0..frames).map(|f| s.prediction_stats(f).unwrap()).collect::<Vec<_>>()
            });
            for (f, (mean, std)) in want.iter().enumerate() {
                let (mut gm, mut gs) = (vec![f64::NAN; n], vec![f64::NAN; n]);
                for (r, frames) in per_rank.iter().enumerate() {
                    for (j, &i) in local_of[r].iter().enumerate() {
                        (gm[i], gs[i]) = (frames[f].0[j], frames[f].1[j]);
                    }
                }
                assert_eq!(mean, &gm, "{variant}: {ranks} ranks: frame {f}: mean differs from serial");
                assert_eq!(std, &gs, "{variant}: {ranks} ranks: frame {f}: std differs from serial");
            }
        }
    }
}

/// The ranks must agree on the ensemble: a rank set to another size cannot take the master's
/// members, and every rank fails the step.
#[test]
fn ranks_with_different_ensembles_fail_together() {
    let (points, times, values) = example();
    let errors = on_ranks(2, |comm| {
        let rank = comm.rank();
        let mut s = open("2d");
        s.set_ensemble(if rank == 0 { 4 } else { 2 }).unwrap();
        let mine: Vec<usize> = (rank..points.len()).step_by(2).collect();
        let pts: Vec<[f64; 3]> = mine.iter().map(|&i| points[i]).collect();
        let ids: Vec<i64> = mine.iter().map(|&i| i as i64).collect();
        s.set_mesh_on(comm, &pts, &ids).unwrap();
        for (t, v) in times.iter().zip(&values) {
            let v: Vec<f64> = mine.iter().map(|&i| v[i]).collect();
            s.push_snapshot_on(comm, *t, &v).unwrap();
        }
        s.forecast_on(comm, 4).unwrap_err()
    });
    assert!(errors[1].message().contains("decoded frames (2 member(s))"), "{}", errors[1]);
    assert!(errors[0].message().starts_with("rank 1: "), "{}", errors[0]);
}

#[test]
fn ensemble_settings_are_checked() {
    use echo_onnx::host::check_ensemble;
    check_ensemble(1, None).unwrap();
    check_ensemble(16, Some(0.2)).unwrap();
    let message = |r: echo_onnx::error::Result<()>| r.unwrap_err().message().to_string();
    assert!(message(check_ensemble(0, None)).contains("ensemble = 0 is out of range 1..=1024"));
    assert!(message(check_ensemble(1025, None)).contains("ensemble = 1025 is out of range 1..=1024"));
    assert!(message(check_ensemble(4, Some(-1.0))).contains("maxSpread = -1 must be a number > 0"));
    assert!(message(check_ensemble(4, Some(0.0))).contains("maxSpread = 0 must be a number > 0"));
    assert!(message(check_ensemble(4, Some(f64::NAN))).contains("must be a number > 0"));
    assert!(message(check_ensemble(1, Some(0.2))).contains("maxSpread needs an ensemble"));
    let mut s = open("2d");
    assert!(s.set_ensemble(0).is_err());
    assert_eq!(s.ensemble(), 1, "a refused size leaves the ensemble as it was");
}

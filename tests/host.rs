//! The host API (`echo_onnx::host`): a serial host gets what the CLI path computes, and the
//! distributed protocol (candidates -> master -> decoded frames -> every rank) gets exactly what
//! the serial host gets, whatever the split of the points over ranks.

mod common;

use std::sync::{Arc, Barrier, Mutex};

use echo_onnx::bundle::Bundle;
use echo_onnx::distributed::Communicator;
use echo_onnx::engine::{Engine, Prediction};
use echo_onnx::fields::{self, FieldSelection};
use echo_onnx::grid::bounding_box;
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
    let mut s = Surrogate::open(&common::bundle(variant), "cpu", Some(1), None).unwrap();
    s.set_sampler(4, "").unwrap();
    s.set_seed(7);
    s
}

/// Serial host: forecast `horizon` from the last snapshot; every predicted frame at the points.
fn serial(variant: &str, horizon: usize) -> Vec<Vec<f64>> {
    let (points, times, values) = example();
    let mut s = open(variant);
    s.set_mesh(&points).unwrap();
    for (t, v) in times.iter().zip(&values) {
        s.push_snapshot(*t, v).unwrap();
    }
    let n = s.forecast(horizon).unwrap();
    (0..n).map(|f| s.prediction(f).unwrap()).collect()
}

#[test]
fn serial_host_matches_the_cli_path() {
    for variant in ["2d", "2d-kernel-linear"] {
        let got = serial(variant, 12);
        // The CLI's path: all points as input and output, the same seed and settings.
        let bundle = Bundle::open(&common::bundle(variant)).unwrap();
        let m = bundle.manifest.clone();
        let frames = read_series(&common::example().join("input.pvd")).unwrap();
        let series = fields::extract(&frames, &m, &FieldSelection::default()).unwrap();
        runtime::init(None, Device::Cpu).unwrap();
        let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
        let grid = bundle.grid(None).unwrap();
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

/// Run the distributed protocol with the points dealt to `ranks` ranks by `owner`.
fn distributed(variant: &str, ranks: usize, owner: impl Fn(usize) -> usize, horizon: usize) -> Vec<Vec<f64>> {
    distributed_on(example(), variant, ranks, owner, horizon).0
}

/// The same on given data; also returns how many candidates reached the master.
fn distributed_on(data: Data, variant: &str, ranks: usize, owner: impl Fn(usize) -> usize, horizon: usize) -> (Vec<Vec<f64>>, usize) {
    let (points, times, values) = data;
    let n = points.len();
    let (lo, hi) = bounding_box(&points);
    let local_of: Vec<Vec<usize>> = (0..ranks).map(|r| (0..n).filter(|&i| owner(i) == r).collect()).collect();
    let mut rank: Vec<Surrogate> = (0..ranks).map(|_| open(variant)).collect();
    let (mut cloud_points, mut cloud_ids, mut total_inside) = (vec![], vec![], 0);
    for (r, s) in rank.iter_mut().enumerate() {
        let pts: Vec<[f64; 3]> = local_of[r].iter().map(|&i| points[i]).collect();
        let ids: Vec<i64> = local_of[r].iter().map(|&i| i as i64).collect();
        s.set_local_mesh(&pts, &ids, lo, hi).unwrap();
        let (p, i) = s.candidates().unwrap();
        cloud_points.extend(p);
        cloud_ids.extend(i);
        total_inside += s.inside_count().unwrap();
    }
    // The master (rank 0) gets the cloud gathered rank by rank, the others evaluate only.
    let gathered = cloud_ids.len();
    let (master, others) = rank.split_at_mut(1);
    master[0].set_cloud(&cloud_points, &cloud_ids, n, total_inside).unwrap();
    for s in others.iter_mut() {
        s.set_evaluation_only().unwrap();
    }
    for (t, v) in times.iter().zip(&values) {
        let mut gathered = vec![];
        for (r, s) in master.iter().chain(others.iter()).enumerate() {
            let local: Vec<f64> = local_of[r].iter().map(|&i| v[i]).collect();
            gathered.extend(s.candidate_values(&local).unwrap());
        }
        master[0].push_cloud_snapshot(*t, &gathered).unwrap();
    }
    let frames = master[0].forecast(horizon).unwrap();
    let (times, data) = (master[0].predicted_times().to_vec(), master[0].decoded());
    for s in others.iter_mut() {
        s.set_decoded(&times, &data).unwrap();
    }
    // Reassemble every frame in global order.
    let out = (0..frames)
        .map(|f| {
            let mut out = vec![f64::NAN; n];
            for (r, s) in rank.iter_mut().enumerate() {
                for (&i, v) in local_of[r].iter().zip(s.prediction(f).unwrap()) {
                    out[i] = v;
                }
            }
            out
        })
        .collect();
    (out, gathered)
}

#[test]
fn distributed_protocol_equals_serial_bit_for_bit() {
    for variant in ["2d", "2d-kernel-linear"] {
        let want = serial(variant, 12);
        let (points, _, _) = example();
        // Slabs (like a simple decomposition), an interleaved deal, and a scatter over 3 ranks.
        let slabs = distributed(variant, 2, |i| usize::from(points[i][0] >= 0.5), 12);
        let dealt = distributed(variant, 2, |i| i % 2, 12);
        let scattered = distributed(variant, 3, |i| (i * 7919) % 3, 12);
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
        s.set_mesh(&points).unwrap();
        for (t, v) in times.iter().zip(&values) {
            s.push_snapshot(*t, v).unwrap();
        }
        let frames = s.forecast(10).unwrap();
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
        let (got, gathered) = distributed_on(data, variant, 2, |i| usize::from(points[i][1] >= 0.37), 10);
        assert!(gathered < points.len());
        assert_eq!(want, got, "{variant}: 2 ranks differ from serial");
        let data = (points.clone(), times.clone(), values.clone());
        let (got, _) = distributed_on(data, variant, 3, |i| (i / 97) % 3, 10);
        assert_eq!(want, got, "{variant}: 3 ranks differ from serial");
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

/// lift.footprint "adaptive" needs the local spacing at a node's nearest point, which the
/// per-rank candidates do not carry: the host API refuses it, naming the key, rather than lift
/// differently from training.
#[test]
fn adaptive_footprint_is_refused_by_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("bundle");
    common::copy_dir(&common::bundle("2d"), &b);
    let path = b.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["lift"]["footprint"] = serde_json::json!("adaptive");
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let mut s = Surrogate::open(&b, "cpu", Some(1), None).unwrap();
    let (points, _, _) = example();
    let e = s.set_mesh(&points).unwrap_err();
    assert_eq!(e.kind(), echo_onnx::ErrorKind::Manifest);
    assert!(e.to_string().contains("lift.footprint"), "{e}");
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
    let (points, times, values) = example();
    let n = points.len();
    let local_of: Vec<Vec<usize>> = (0..ranks).map(|r| (0..n).filter(|&i| owner(i) == r).collect()).collect();
    let per_rank = on_ranks(ranks, |comm| {
        let local = &local_of[comm.rank()];
        let mut s = open(variant);
        let pts: Vec<[f64; 3]> = local.iter().map(|&i| points[i]).collect();
        let ids: Vec<i64> = local.iter().map(|&i| i as i64).collect();
        s.set_mesh_on(comm, &pts, &ids).unwrap();
        for (t, v) in times.iter().zip(&values) {
            let v: Vec<f64> = local.iter().map(|&i| v[i]).collect();
            s.push_snapshot_on(comm, *t, &v).unwrap();
        }
        let frames = s.forecast_on(comm, horizon).unwrap();
        (0..frames).map(|f| s.prediction(f).unwrap()).collect::<Vec<_>>()
    });
    (0..per_rank[0].len())
        .map(|f| {
            let mut out = vec![f64::NAN; n];
            for (r, frames) in per_rank.iter().enumerate() {
                for (&i, &v) in local_of[r].iter().zip(&frames[f]) {
                    out[i] = v;
                }
            }
            out
        })
        .collect()
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

/// Serial host with an ensemble of `members`: every frame's (mean, std) at the example's points.
fn serial_ensemble(variant: &str, members: usize, horizon: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let (points, times, values) = example();
    let mut s = open(variant);
    s.set_ensemble(members).unwrap();
    s.set_mesh(&points).unwrap();
    for (t, v) in times.iter().zip(&values) {
        s.push_snapshot(*t, v).unwrap();
    }
    let n = s.forecast(horizon).unwrap();
    (0..n).map(|f| s.prediction_stats(f).unwrap()).collect()
}

/// The host's ensemble mean and std are the CLI's `--ensemble 4` fields (same members, seeds and
/// statistics) bit for bit; the members differ (std > 0 everywhere the model is not constant).
#[test]
fn serial_host_ensemble_matches_the_cli_ensemble() {
    for variant in ["2d", "2d-kernel-linear"] {
        let got = serial_ensemble(variant, 4, 12);
        let bundle = Bundle::open(&common::bundle(variant)).unwrap();
        let m = bundle.manifest.clone();
        let frames = read_series(&common::example().join("input.pvd")).unwrap();
        let series = fields::extract(&frames, &m, &FieldSelection::default()).unwrap();
        runtime::init(None, Device::Cpu).unwrap();
        let model = Model::load(bundle.clone(), Device::Cpu, Some(1)).unwrap();
        let grid = bundle.grid(None).unwrap();
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
    let (points, times, values) = example();
    let mut s = open("2d");
    s.set_ensemble(4).unwrap();
    assert_eq!(s.ensemble(), 4);
    s.set_mesh(&points).unwrap();
    for (t, v) in times.iter().zip(&values) {
        s.push_snapshot(*t, v).unwrap();
    }
    assert_eq!(s.forecast(12).unwrap(), want.len());
    assert_eq!(s.decoded_len(), s.decoded().len());
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

//! The tasks on a fake model ([`super::fake::Fake`]): which frames and slots each task observes,
//! how a forecast chains its segments, the ensembles' members, the noise streams and parameters.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::fake::{Fake, Log};
use super::*;
use crate::fields::Series;
use crate::grid::Grid;
use crate::mesh::Association;
use crate::resample::geometry::{Geometry, Input};
use crate::tasks;

fn engine(seed: u64, members: usize) -> (Engine, Arc<Mutex<Log>>) {
    let fake = Fake::new();
    let log = fake.log.clone();
    let sampler = Sampler::with_overrides(&fake.manifest, Some(4), None, "steps").unwrap();
    (Engine::builder(fake).with_sampler(sampler).with_seed(seed).with_members(members).build().unwrap(), log)
}

fn grid(e: &Engine) -> Grid {
    e.manifest().grid(None).unwrap()
}

/// A 24 x 24 lattice over the unit square (the fake bundle's periodic grid box).
fn points() -> Vec<[f64; 3]> {
    (0..24 * 24).map(|i| [((i % 24) as f64 + 0.5) / 24.0, ((i / 24) as f64 + 0.5) / 24.0, 0.0]).collect()
}

fn input(e: &Engine) -> Input {
    Input::new(e.manifest(), &grid(e), &points()).unwrap()
}

/// Frames of constant values `values[i]` at `times[i]`.
fn series(times: &[f64], values: &[f32]) -> Series {
    let n = points().len();
    Series { locations: points(), times: times.to_vec(), values: values.iter().map(|&v| vec![v; n]).collect(), association: Association::Point }
}

fn bits(frames: &[GridFrame]) -> Vec<Vec<u32>> {
    frames.iter().map(|f| f.0.iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn generate_observes_nothing_and_puts_the_segment_on_the_lattice() {
    let (mut e, log) = engine(3, 1);
    let out = tasks::generate(&mut e, 1.0).unwrap();
    assert_eq!(out.times, (0..9).map(|k| 1.0 + 0.25 * k as f64).collect::<Vec<_>>());
    assert_eq!((out.members.len(), out.members[0].len(), out.segments), (1, 9, 1));
    // [G][nodes] per frame: 24 decoder channels on the 32 x 32 grid.
    assert_eq!(out.members[0][0].0.len(), 24 * 32 * 32);
    let log = log.lock().unwrap();
    assert!(log.encoded.is_empty(), "nothing observed, nothing encoded");
    assert_eq!(log.velocity.len(), 4, "Euler, 4 steps");
    assert!(log.velocity.iter().all(|(b, mask, params)| *b == 1 && mask == &[0.0, 0.0, 0.0] && params.is_none()));
    assert_eq!(log.decodes, 1);
}

#[test]
fn forecast_chains_segments_from_its_own_last_frames() {
    let (mut e, log) = engine(5, 1);
    let input = input(&e);
    let out = tasks::forecast(&mut e, &input, &series(&[0.0, 0.25], &[0.3, 0.7]), 12, 1).unwrap();
    // 8 new frames per segment with 1 context frame: 12 frames take 2 segments.
    assert_eq!(out.segments, 2);
    assert_eq!(out.times, (1..=12).map(|k| 0.25 + 0.25 * k as f64).collect::<Vec<_>>());
    let prediction = e.evaluate_frames(&input.at_input, &out).unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.encoded.len(), 2);
    for (batch, nonzero) in &log.encoded {
        assert_eq!(*batch, 1);
        assert_eq!(nonzero, &[true, false, false, false, false, false, false, false, false], "only frame 0 (the context) is observed");
    }
    assert!(log.velocity.iter().all(|(_, mask, _)| mask == &[1.0, 0.0, 0.0]));
    // Segment 1 starts from the last input frame; segment 2 from segment 1's last frame (the
    // 8th predicted), evaluated at the input locations and lifted again.
    assert!((log.encoded_means[0][0][0] - 0.7).abs() < 1e-5, "{}", log.encoded_means[0][0][0]);
    let last_of_first = prediction.members[0][7].0[0];
    assert!((log.encoded_means[1][0][0] - last_of_first).abs() < 1e-5, "{} vs {last_of_first}", log.encoded_means[1][0][0]);
}

#[test]
fn inverse_observes_the_input_at_the_end_of_the_segment() {
    let (mut e, log) = engine(1, 1);
    let input = input(&e);
    let times = [2.0, 2.25, 2.5, 2.75];
    let out = tasks::inverse(&mut e, &input.to_grid, &series(&times, &[0.1, 0.2, 0.3, 0.4])).unwrap();
    // Frames 5..8 observed (slot 2 complete), frames 0..4 generated before t = 2.
    assert_eq!(out.times, vec![0.75, 1.0, 1.25, 1.5, 1.75]);
    let log = log.lock().unwrap();
    assert_eq!(log.encoded[0].1, [false, false, false, false, false, true, true, true, true]);
    assert!(log.velocity.iter().all(|(_, mask, _)| mask == &[0.0, 0.0, 1.0]));
}

#[test]
fn interpolate_places_frames_by_time_and_fills_the_gaps() {
    let (mut e, log) = engine(1, 1);
    let input = input(&e);
    let out = tasks::interpolate(&mut e, &input.to_grid, &series(&[0.0, 1.0], &[0.1, 0.5])).unwrap();
    assert_eq!(out.times, vec![0.25, 0.5, 0.75]);
    {
        let log = log.lock().unwrap();
        assert_eq!(log.encoded[0].1, [true, false, false, false, true, false, false, false, false]);
        // Slot 1 (frames 1..4) is not complete: only slot 0 is clamped.
        assert!(log.velocity.iter().all(|(_, mask, _)| mask == &[1.0, 0.0, 0.0]));
    }
    let mut usage = |s: &Series| tasks::interpolate(&mut e, &input.to_grid, s).unwrap_err().kind();
    assert_eq!(usage(&series(&[0.0, 0.25], &[0.1, 0.2])), crate::ErrorKind::Usage, "no gap");
    assert_eq!(usage(&series(&[0.0, 0.3], &[0.1, 0.2])), crate::ErrorKind::Usage, "off the lattice");
    assert_eq!(usage(&series(&[0.0, 2.25], &[0.1, 0.2])), crate::ErrorKind::Usage, "beyond one segment");
}

#[test]
fn ensemble_members_are_the_single_runs_with_their_seeds() {
    let seeds = member_seeds(7, 3);
    let (mut batch, log) = engine(7, 3);
    let input = input(&batch);
    let s = series(&[0.0], &[0.4]);
    let generated = tasks::generate(&mut batch, 0.0).unwrap();
    let forecast = tasks::forecast(&mut batch, &input, &s, 12, 1).unwrap();
    assert!(log.lock().unwrap().velocity.iter().all(|(b, _, _)| *b == 3), "the members run as one batch");
    for (k, &seed) in seeds.iter().enumerate() {
        let (mut single, _) = engine(seed, 1);
        assert_eq!(bits(&generated.members[k]), bits(&tasks::generate(&mut single, 0.0).unwrap().members[0]), "generate, member {k}");
        assert_eq!(bits(&forecast.members[k]), bits(&tasks::forecast(&mut single, &input, &s, 12, 1).unwrap().members[0]), "forecast, member {k}");
    }
    // Evaluating the members together gives each member's own evaluation.
    let together = batch.evaluate_frames(&input.at_input, &forecast).unwrap();
    for (k, member) in forecast.members.iter().enumerate() {
        for (i, frame) in member.iter().enumerate() {
            assert_eq!(together.members[k][i].0, batch.evaluate(&input.at_input, &frame.0).unwrap());
        }
    }
}

#[test]
fn noise_streams_advance_per_call_restart_with_the_seed_and_survive_a_failure() {
    let (mut e, _) = engine(11, 1);
    let first = tasks::generate(&mut e, 0.0).unwrap();
    let second = tasks::generate(&mut e, 0.0).unwrap();
    assert_ne!(bits(&first.members[0]), bits(&second.members[0]), "the second call draws new noise");
    e.set_seed(11);
    assert_eq!(bits(&first.members[0]), bits(&tasks::generate(&mut e, 0.0).unwrap().members[0]));
    // A call that fails after sampling leaves the streams where they were.
    let fake = Fake::new();
    let fail = fake.fail_decode.clone();
    let mut e = Engine::builder(fake).with_sampler(e.sampler()).with_seed(11).build().unwrap();
    fail.store(true, Ordering::SeqCst);
    assert_eq!(tasks::generate(&mut e, 0.0).unwrap_err().kind(), crate::ErrorKind::Inference);
    fail.store(false, Ordering::SeqCst);
    assert_eq!(bits(&first.members[0]), bits(&tasks::generate(&mut e, 0.0).unwrap().members[0]));
}

#[test]
fn parameters_reach_the_velocity_and_are_checked() {
    let fake = Fake::new();
    let log = fake.log.clone();
    let params = tasks::resolve_params(&fake.manifest, &["viscosity=1e-3".to_string()]).unwrap();
    assert_eq!(params, Some(vec![1.0]));
    let mut e = Engine::builder(fake).with_parameters(params).build().unwrap();
    tasks::generate(&mut e, 0.0).unwrap();
    assert!(log.lock().unwrap().velocity.iter().all(|(_, _, p)| p.as_deref() == Some(&[1.0][..])));
    assert_eq!(e.sampler().steps, 10, "the bundle's steps by default");
    assert_eq!(e.set_parameters(Some(vec![0.5, 0.5])).unwrap_err().kind(), crate::ErrorKind::Usage);
    assert_eq!(Engine::builder(Fake::new()).with_members(0).build().err().map(|e| e.kind()), Some(crate::ErrorKind::Usage));
}

#[test]
fn geometry_shares_the_input_evaluation_when_the_output_is_the_input() {
    let (e, _) = engine(0, 1);
    let (m, g, p) = (e.manifest(), grid(&e), points());
    let same = Geometry::new(m, &g, Some(&p), &p).unwrap();
    assert!(std::ptr::eq(same.output(), &same.input.as_ref().unwrap().at_input));
    let other = Geometry::new(m, &g, Some(&p), &p[..10]).unwrap();
    assert_eq!(other.output().len(), 10);
    // A mesh mostly outside the grid's box is refused, naming it.
    let far: Vec<[f64; 3]> = p.iter().map(|q| [q[0] + 5.0, q[1], 0.0]).collect();
    let nonperiodic = Grid::new(&[32, 32], &[0.0, 0.0], &[1.0, 1.0], &[false, false]).unwrap();
    let err = Input::new(m, &nonperiodic, &far).err().unwrap();
    assert_eq!(err.kind(), crate::ErrorKind::OutsideGrid);
    assert!(err.message().contains("input points lie outside"), "{err}");
}

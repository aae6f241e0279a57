//! The `cxx` bridge between the echo-onnx core ([`echo_onnx::host`]) and C++ hosts.
//!
//! Hosts do not include the generated header: they include `include/echo_onnx.hpp`, whose
//! implementation (`src/echo_onnx.cpp`) is compiled into this static library and is the only user
//! of the generated bindings. Every function returns `Result`, which `cxx` turns into a C++
//! exception (`rust::Error`, rethrown by the facade as `echo::Error`) carrying the core's error
//! kind and message as `"<kind>\x1f<message>"` ([`ErrorKind::name`]; the facade splits them into
//! `echo::ErrorKind` and `what()`). Panics are caught here and reported the same way, as kind
//! `internal`: nothing unwinds into C++.

// `cxx` passes C++ `rust::Vec` references as `&Vec`.
#![allow(clippy::ptr_arg)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::pin::Pin;

use echo_onnx::distributed::Communicator;

use echo_onnx::monitor;
use echo_onnx::settings::Settings;
use echo_onnx::{host, ErrorKind};

#[cxx::bridge(namespace = "echo::ffi")]
mod ffi {
    unsafe extern "C++" {
        include!("echo-onnx-cxx/src/comm.h");

        /// The host's `echo::Communicator` (MPI in the OpenFOAM function object).
        type Comm;
        fn rank(self: &Comm) -> usize;
        fn ranks(self: &Comm) -> usize;
        fn gather(self: Pin<&mut Comm>, local: &[f64]) -> Vec<f64>;
        fn broadcast(self: Pin<&mut Comm>, data: &[f64]) -> Vec<f64>;
    }

    /// A host's settings as read (`echo::Settings`; [`echo_onnx::settings::Settings`], an absent
    /// option with its `has_` flag false).
    struct HostSettings {
        device: String,
        method: String,
        threads: i64,
        horizon: i64,
        steps: i64,
        seed: i64,
        warm_start_frame: i64,
        ensemble: i64,
        has_interval: bool,
        interval: f64,
        has_max_spread: bool,
        max_spread: f64,
        warm_start: bool,
        warm_start_time: f64,
        end_time: f64,
        time_step: f64,
        frames: usize,
    }

    /// The first bad setting: its name (empty: none), the error kind's name and the message.
    struct SettingProblem {
        setting: String,
        kind: String,
        message: String,
    }

    /// The monitor's numbers at one predicted time ([`echo_onnx::monitor::Scores`]), the log's
    /// summary and the reason to stop (empty: none).
    struct HostScores {
        errors: Vec<f64>,
        spreads: Vec<f64>,
        summary: String,
        stop: String,
    }

    extern "Rust" {
        type Surrogate;

        fn open(bundle: &str, device: &str, threads: usize, ort_lib: &str) -> Result<Box<Surrogate>>;
        fn check_settings(device: &str, method: &str, steps: usize, horizon: usize, threads: usize) -> Result<()>;
        fn check_host_settings(settings: &HostSettings) -> Result<SettingProblem>;

        fn name(&self) -> String;
        fn dim(&self) -> usize;
        fn field_names(&self) -> Vec<String>;
        fn field_components(&self) -> Vec<usize>;
        fn frames(&self) -> usize;
        fn context_frames(&self) -> usize;
        fn dt(&self) -> f64;
        fn parameter_names(&self) -> Vec<String>;

        fn set_sampler(&mut self, steps: usize, method: &str) -> Result<()>;
        fn set_seed(&mut self, seed: u64);
        fn set_parameters(&mut self, given: &Vec<String>) -> Result<()>;
        fn check_case(&self, names: &Vec<String>, components: &Vec<usize>, dim: usize) -> Result<()>;

        fn set_mesh(&mut self, xyz: &[f64]) -> Result<()>;
        fn push_snapshot(&mut self, time: f64, values: &[f64]) -> Result<()>;

        fn set_mesh_on(&mut self, comm: Pin<&mut Comm>, xyz: &[f64], ids: &[i64]) -> Result<()>;
        fn push_snapshot_on(&mut self, comm: Pin<&mut Comm>, time: f64, values: &[f64]) -> Result<()>;
        fn forecast_on(&mut self, comm: Pin<&mut Comm>, horizon: usize) -> Result<usize>;
        fn generate_on(&mut self, comm: Pin<&mut Comm>, t0: f64) -> Result<usize>;

        fn candidate_count(&self) -> Result<usize>;
        fn covered_nodes(&self) -> usize;
        fn snapshots(&self) -> usize;
        fn clear_snapshots(&mut self);

        fn forecast(&mut self, horizon: usize) -> Result<usize>;
        fn generate(&mut self, t0: f64) -> Result<usize>;
        fn predicted_times(&self) -> Vec<f64>;
        fn prediction(&mut self, frame: usize, out: &mut [f64]) -> Result<()>;

        // Ensembles
        fn check_ensemble(members: usize, max_spread: f64, has_max_spread: bool) -> Result<()>;
        fn set_ensemble(&mut self, members: usize) -> Result<()>;
        fn ensemble(&self) -> usize;
        fn prediction_stats(&mut self, frame: usize, mean: &mut [f64], std: &mut [f64]) -> Result<()>;
        // The time loop of a host next to a solver
        fn set_schedule(&mut self, start: f64, end_time: f64, time_step: f64, interval: f64, has_interval: bool, horizon: usize) -> Vec<String>;
        fn snapshot_due(&self, t: f64, time_step: f64) -> bool;
        fn frames_at(&self, t: f64, time_step: f64) -> Vec<usize>;
        fn forecast_due(&self, t: f64, time_step: f64) -> bool;
        fn stop_schedule(&mut self);
        // The accuracy monitor (score_on: every rank, collective)
        fn score_title(&self) -> String;
        fn score_columns(&self) -> Vec<String>;
        #[allow(clippy::too_many_arguments)]
        fn score_on(
            &self,
            comm: Pin<&mut Comm>,
            t: f64,
            lead: f64,
            solver: &[f64],
            has_solver: bool,
            predicted: &[f64],
            std: &[f64],
            has_std: bool,
            max_spread: f64,
        ) -> Result<HostScores>;
        // The bundle's parameters in full, and the serial tasks of a visualisation filter.
        fn parameter_mins(&self) -> Vec<f64>;
        fn parameter_maxs(&self) -> Vec<f64>;
        fn parameter_defaults(&self) -> Vec<f64>;
        fn parameter_units(&self) -> Vec<String>;
        fn inverse_from(&mut self, times: &[f64], values: &[f64]) -> Result<usize>;
        fn interpolate_from(&mut self, times: &[f64], values: &[f64]) -> Result<usize>;
        fn predictions_at(&mut self, xyz: &[f64], out: &mut [f64]) -> Result<()>;
    }
}

/// The host's communicator as the core's [`Communicator`].
struct HostComm<'a>(Pin<&'a mut ffi::Comm>);

impl Communicator for HostComm<'_> {
    fn rank(&self) -> usize {
        self.0.rank()
    }
    fn ranks(&self) -> usize {
        self.0.ranks()
    }
    fn gather(&mut self, local: &[f64]) -> Vec<f64> {
        self.0.as_mut().gather(local)
    }
    fn broadcast(&mut self, data: &[f64]) -> Vec<f64> {
        self.0.as_mut().broadcast(data)
    }
}

/// The core's host API behind an opaque type.
pub struct Surrogate(host::Surrogate);

/// Separates the kind from the message in an error crossing into C++ (ASCII unit separator).
const KIND_SEPARATOR: char = '\x1f';

/// An error as it crosses into C++: the kind's name, [`KIND_SEPARATOR`], the message.
fn tagged(kind: &str, message: impl std::fmt::Display) -> String {
    format!("{kind}{KIND_SEPARATOR}{message}")
}

/// Run `f`, turning a panic into an error of kind `internal` (a panic must not unwind into C++).
fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
        Err(tagged("internal", format!("internal error in echo-onnx (please report): {what}")))
    })
}

/// The core's error: its kind, and one message (message + hint).
fn msg(e: echo_onnx::Error) -> String {
    tagged(e.kind().name(), e)
}

fn points(xyz: &[f64]) -> Result<Vec<[f64; 3]>, String> {
    if xyz.len() % 3 != 0 {
        return Err(tagged(ErrorKind::Usage.name(), format!("{} coordinates is not a whole number of 3D points", xyz.len())));
    }
    Ok(xyz.chunks(3).map(|p| [p[0], p[1], p[2]]).collect())
}

fn copy_into<T: Copy>(what: &str, from: &[T], to: &mut [T]) -> Result<(), String> {
    if from.len() != to.len() {
        return Err(tagged(ErrorKind::FieldShape.name(), format!("{what}: the caller's array holds {} values, {} are needed", to.len(), from.len())));
    }
    to.copy_from_slice(from);
    Ok(())
}

fn open(bundle: &str, device: &str, threads: usize, ort_lib: &str) -> Result<Box<Surrogate>, String> {
    guard(|| {
        let ort = (!ort_lib.is_empty()).then(|| Path::new(ort_lib));
        let threads = (threads > 0).then_some(threads);
        host::Surrogate::open(Path::new(bundle), device, threads, ort).map(|s| Box::new(Surrogate(s))).map_err(msg)
    })
}

fn check_settings(device: &str, method: &str, steps: usize, horizon: usize, threads: usize) -> Result<(), String> {
    guard(|| host::check_settings(device, method, steps, horizon, threads).map_err(msg))
}

fn check_ensemble(members: usize, max_spread: f64, has_max_spread: bool) -> Result<(), String> {
    guard(|| host::check_ensemble(members, has_max_spread.then_some(max_spread)).map_err(msg))
}

fn check_host_settings(s: &ffi::HostSettings) -> Result<ffi::SettingProblem, String> {
    let settings = Settings {
        device: s.device.clone(),
        method: s.method.clone(),
        threads: s.threads,
        horizon: s.horizon,
        steps: s.steps,
        seed: s.seed,
        warm_start_frame: s.warm_start_frame,
        ensemble: s.ensemble,
        interval: s.has_interval.then_some(s.interval),
        max_spread: s.has_max_spread.then_some(s.max_spread),
        warm_start: s.warm_start,
        warm_start_time: s.warm_start_time,
        end_time: s.end_time,
        time_step: s.time_step,
        frames: s.frames,
    };
    guard(|| {
        Ok(match settings.check() {
            Ok(()) => ffi::SettingProblem { setting: String::new(), kind: String::new(), message: String::new() },
            Err(e) => ffi::SettingProblem { setting: e.setting.into(), kind: e.error.kind().name().into(), message: e.error.to_string() },
        })
    })
}

impl Surrogate {
    fn name(&self) -> String {
        self.0.manifest().name.clone()
    }
    fn dim(&self) -> usize {
        self.0.manifest().latent_grid.dim
    }
    fn field_names(&self) -> Vec<String> {
        self.0.manifest().fields.iter().map(|f| f.name.clone()).collect()
    }
    fn field_components(&self) -> Vec<usize> {
        self.0.manifest().fields.iter().map(|f| f.components).collect()
    }
    fn frames(&self) -> usize {
        self.0.manifest().time.frames
    }
    fn context_frames(&self) -> usize {
        self.0.manifest().time.context_frames
    }
    fn dt(&self) -> f64 {
        self.0.manifest().time.dt
    }
    fn parameter_names(&self) -> Vec<String> {
        self.0.manifest().parameters.iter().map(|p| p.name.clone()).collect()
    }
    fn set_sampler(&mut self, steps: usize, method: &str) -> Result<(), String> {
        guard(|| self.0.set_sampler(steps, method).map_err(msg))
    }
    fn set_seed(&mut self, seed: u64) {
        self.0.set_seed(seed);
    }
    fn set_parameters(&mut self, given: &Vec<String>) -> Result<(), String> {
        guard(|| self.0.set_parameters(given).map_err(msg))
    }
    fn check_case(&self, names: &Vec<String>, components: &Vec<usize>, dim: usize) -> Result<(), String> {
        guard(|| self.0.check_case(names, components, dim).map_err(msg))
    }
    fn set_mesh(&mut self, xyz: &[f64]) -> Result<(), String> {
        guard(|| self.0.set_mesh(&points(xyz)?).map_err(msg))
    }
    fn push_snapshot(&mut self, time: f64, values: &[f64]) -> Result<(), String> {
        guard(|| self.0.push_snapshot(time, values).map_err(msg))
    }
    fn set_mesh_on(&mut self, comm: Pin<&mut ffi::Comm>, xyz: &[f64], ids: &[i64]) -> Result<(), String> {
        guard(|| self.0.set_mesh_on(&mut HostComm(comm), &points(xyz)?, ids).map_err(msg))
    }
    fn push_snapshot_on(&mut self, comm: Pin<&mut ffi::Comm>, time: f64, values: &[f64]) -> Result<(), String> {
        guard(|| self.0.push_snapshot_on(&mut HostComm(comm), time, values).map_err(msg))
    }
    fn forecast_on(&mut self, comm: Pin<&mut ffi::Comm>, horizon: usize) -> Result<usize, String> {
        guard(|| self.0.forecast_on(&mut HostComm(comm), horizon).map_err(msg))
    }
    fn generate_on(&mut self, comm: Pin<&mut ffi::Comm>, t0: f64) -> Result<usize, String> {
        guard(|| self.0.generate_on(&mut HostComm(comm), t0).map_err(msg))
    }
    fn candidate_count(&self) -> Result<usize, String> {
        guard(|| self.0.candidate_count().map_err(msg))
    }
    fn covered_nodes(&self) -> usize {
        self.0.coverage().map_or(0, |c| c.iter().filter(|&&v| v > 0.0).count())
    }
    fn snapshots(&self) -> usize {
        self.0.snapshots()
    }
    fn clear_snapshots(&mut self) {
        self.0.clear_snapshots()
    }
    fn forecast(&mut self, horizon: usize) -> Result<usize, String> {
        guard(|| self.0.forecast(horizon).map_err(msg))
    }
    fn generate(&mut self, t0: f64) -> Result<usize, String> {
        guard(|| self.0.generate(t0).map_err(msg))
    }
    fn predicted_times(&self) -> Vec<f64> {
        self.0.predicted_times().to_vec()
    }
    fn prediction(&mut self, frame: usize, out: &mut [f64]) -> Result<(), String> {
        guard(|| copy_into("prediction", &self.0.prediction(frame).map_err(msg)?, out))
    }
    fn set_ensemble(&mut self, members: usize) -> Result<(), String> {
        guard(|| self.0.set_ensemble(members).map_err(msg))
    }
    fn ensemble(&self) -> usize {
        self.0.ensemble()
    }
    fn prediction_stats(&mut self, frame: usize, mean: &mut [f64], std: &mut [f64]) -> Result<(), String> {
        guard(|| {
            let (m, s) = self.0.prediction_stats(frame).map_err(msg)?;
            copy_into("ensemble mean", &m, mean)?;
            copy_into("ensemble std", &s, std)
        })
    }
    fn set_schedule(&mut self, start: f64, end_time: f64, time_step: f64, interval: f64, has_interval: bool, horizon: usize) -> Vec<String> {
        self.0.set_schedule(start, end_time, has_interval.then_some(interval), horizon).warnings(time_step)
    }
    fn snapshot_due(&self, t: f64, time_step: f64) -> bool {
        self.0.schedule().is_some_and(|s| s.snapshot_due(t, time_step))
    }
    fn frames_at(&self, t: f64, time_step: f64) -> Vec<usize> {
        self.0.frames_at(t, time_step)
    }
    fn forecast_due(&self, t: f64, time_step: f64) -> bool {
        self.0.schedule().is_some_and(|s| s.forecast_due(t, time_step))
    }
    fn stop_schedule(&mut self) {
        self.0.stop_schedule()
    }
    fn score_title(&self) -> String {
        monitor::table_title(self.0.ensemble())
    }
    fn score_columns(&self) -> Vec<String> {
        let fields: Vec<String> = self.0.manifest().fields.iter().map(|f| f.name.clone()).collect();
        monitor::table_columns(&fields, self.0.ensemble())
    }
    #[allow(clippy::too_many_arguments)]
    fn score_on(
        &self,
        comm: Pin<&mut ffi::Comm>,
        t: f64,
        lead: f64,
        solver: &[f64],
        has_solver: bool,
        predicted: &[f64],
        std: &[f64],
        has_std: bool,
        max_spread: f64,
    ) -> Result<ffi::HostScores, String> {
        guard(|| {
            let s = self.0.score_on(&mut HostComm(comm), has_solver.then_some(solver), predicted, has_std.then_some(std)).map_err(msg)?;
            let summary = if has_solver { s.summary(t, lead) } else { String::new() };
            let stop = s.stop_reason(t, max_spread).unwrap_or_default();
            Ok(ffi::HostScores { errors: s.errors, spreads: s.spreads, summary, stop })
        })
    }
}

/// Per-snapshot values from one concatenated array (`times.len()` snapshots of equal length).
fn snapshots(times: &[f64], values: &[f64]) -> Result<Vec<Vec<f64>>, String> {
    if times.is_empty() || values.len() % times.len() != 0 {
        return Err(tagged(ErrorKind::FieldShape.name(), format!("{} values are not {} snapshots of equal length", values.len(), times.len())));
    }
    Ok(values.chunks(values.len() / times.len()).map(<[f64]>::to_vec).collect())
}

/// The bundle's parameters in full, and the serial tasks of a visualisation filter.
impl Surrogate {
    fn parameter_mins(&self) -> Vec<f64> {
        self.0.manifest().parameters.iter().map(|p| p.min).collect()
    }
    fn parameter_maxs(&self) -> Vec<f64> {
        self.0.manifest().parameters.iter().map(|p| p.max).collect()
    }
    fn parameter_defaults(&self) -> Vec<f64> {
        self.0.manifest().parameters.iter().map(|p| p.default).collect()
    }
    fn parameter_units(&self) -> Vec<String> {
        self.0.manifest().parameters.iter().map(|p| p.units.clone()).collect()
    }
    fn inverse_from(&mut self, times: &[f64], values: &[f64]) -> Result<usize, String> {
        guard(|| {
            let v = snapshots(times, values)?;
            self.0.inverse_from(times, &v).map_err(msg)
        })
    }
    fn interpolate_from(&mut self, times: &[f64], values: &[f64]) -> Result<usize, String> {
        guard(|| {
            let v = snapshots(times, values)?;
            self.0.interpolate_from(times, &v).map_err(msg)
        })
    }
    fn predictions_at(&mut self, xyz: &[f64], out: &mut [f64]) -> Result<(), String> {
        guard(|| {
            let p = points(xyz)?;
            copy_into("predictions_at", &self.0.predictions_at(&p).map_err(msg)?, out)
        })
    }
}

//! The time loop of a host that runs next to a solver (the OpenFOAM function object in surrogate
//! mode): which solver times are snapshots, when a forecast is due, which predicted frames a
//! solver time is compared with, and when the surrogate stops. Bookkeeping only: the host asks,
//! does the work, and reports what succeeded.
//!
//! Snapshots lie on the bundle's time lattice `start + k dt`: a solver time is a snapshot when it
//! is within half a solver time step of a lattice time whose index is after the last snapshot's
//! (so a time step that does not divide `dt` takes the nearest time steps). A forecast is due after
//! a snapshot once the bundle's context frames are held, `interval` (rounded up to the lattice)
//! after the last forecast's origin, and not at the end of the run, where no solver time is left to
//! compare it with. Every rank of a distributed host keeps the same schedule.

use crate::bundle::TimeSpec;
use crate::monitor::g6;

/// One solver run's schedule for one bundle.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: f64,
    dt: f64,
    context: usize,
    horizon: usize,
    interval: f64,
    end_time: f64,
    /// Lattice index of the last snapshot and of the last forecast's origin.
    last_snapshot: Option<i64>,
    last_forecast: Option<i64>,
    snapshots: usize,
    stopped: bool,
}

impl Schedule {
    /// A run from `start` to `end_time` with the bundle's `time`: forecasts of `horizon` frames
    /// (0: one segment's, `frames - context_frames`) every `interval` (`None`: every `horizon`
    /// frames).
    pub fn new(time: &TimeSpec, start: f64, end_time: f64, interval: Option<f64>, horizon: usize) -> Schedule {
        let horizon = if horizon == 0 { time.frames - time.context_frames } else { horizon };
        Schedule {
            start,
            dt: time.dt,
            context: time.context_frames,
            horizon,
            interval: interval.unwrap_or(horizon as f64 * time.dt),
            end_time,
            last_snapshot: None,
            last_forecast: None,
            snapshots: 0,
            stopped: false,
        }
    }

    /// Frames per forecast.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// What the user should know before the run: a time step that does not divide `dt` (snapshots
    /// are then the nearest time steps), an interval that is not a multiple of `dt` (forecasts
    /// start at snapshots, so they come a little further apart than asked for).
    pub fn warnings(&self, time_step: f64) -> Vec<String> {
        let (dt, interval) = (self.dt, self.interval);
        let mut out = vec![];
        let steps_per_frame = dt / time_step;
        if (steps_per_frame - steps_per_frame.round()).abs() > 1e-6 * steps_per_frame {
            out.push(format!(
                "the time step {} does not divide the bundle's dt {}; snapshots are taken at the time steps nearest to start + k dt",
                g6(time_step),
                g6(dt)
            ));
        }
        let per_snapshot = interval / dt;
        if (per_snapshot - per_snapshot.round()).abs() > 1e-6 * per_snapshot.max(1.0) {
            let every = self.frames_between_forecasts() as f64 * dt;
            out.push(format!("interval {} is not a multiple of the bundle's dt {}; forecasts start at snapshots, every {}", g6(interval), g6(dt), g6(every)));
        }
        out
    }

    /// Index `k` of the lattice time `start + k dt` within half a time step of `t`, if any.
    pub fn lattice_index(&self, t: f64, time_step: f64) -> Option<i64> {
        let k = self.nearest_index(t);
        (k >= 0 && (t - (self.start + k as f64 * self.dt)).abs() <= 0.5 * time_step).then_some(k)
    }

    fn nearest_index(&self, t: f64) -> i64 {
        ((t - self.start) / self.dt + 0.5).floor() as i64
    }

    /// Whether `t` is a snapshot: a lattice time after the last snapshot's, and not stopped.
    pub fn snapshot_due(&self, t: f64, time_step: f64) -> bool {
        match self.lattice_index(t, time_step) {
            Some(k) => !self.stopped && self.last_snapshot.map_or(true, |last| k > last),
            None => false,
        }
    }

    /// The snapshot at `t` (a time [`Schedule::snapshot_due`] said yes to) was taken.
    pub fn snapshot_taken(&mut self, t: f64) {
        self.last_snapshot = Some(self.nearest_index(t));
        self.snapshots += 1;
    }

    /// After the snapshot at `t`: whether a forecast from it is due.
    pub fn forecast_due(&self, t: f64, time_step: f64) -> bool {
        let half = 0.5 * time_step;
        let (Some(k), false) = (self.last_snapshot, self.stopped) else { return false };
        self.snapshots >= self.context && t < self.end_time - half && self.last_forecast.map_or(true, |origin| k - origin >= self.frames_between_forecasts())
    }

    /// Lattice steps from one forecast's origin to the next: `interval` rounded up to the lattice
    /// (forecasts start at snapshots), the round-off of `interval / dt` forgiven.
    fn frames_between_forecasts(&self) -> i64 {
        (self.interval / self.dt - 1e-6).ceil().max(1.0) as i64
    }

    /// A forecast from the last snapshot was made.
    pub fn forecast_made(&mut self) {
        self.last_forecast = self.last_snapshot;
    }

    /// No more snapshots or forecasts (the ensemble disagreed: `maxSpread`).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }
}

/// The frames of a prediction (`times`) that the solver time `t` is compared with: those within
/// half a time step of it.
pub fn frames_at(times: &[f64], t: f64, time_step: f64) -> Vec<usize> {
    (0..times.len()).filter(|&i| (times[i] - t).abs() < 0.5 * time_step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(frames: usize, context: usize, dt: f64) -> TimeSpec {
        TimeSpec { frames, context_frames: context, dt, slots: vec![] }
    }

    /// Run a solver from 0 to `end` in steps of `step`; the times of snapshots and forecasts.
    fn run(s: &mut Schedule, step: f64, end: f64) -> (Vec<f64>, Vec<f64>) {
        let (mut snapshots, mut forecasts) = (vec![], vec![]);
        let n = (end / step).round() as usize;
        for i in 0..=n {
            let t = i as f64 * step;
            if !s.snapshot_due(t, step) {
                continue;
            }
            s.snapshot_taken(t);
            snapshots.push(t);
            if s.forecast_due(t, step) {
                s.forecast_made();
                forecasts.push(t);
            }
        }
        (snapshots, forecasts)
    }

    #[test]
    fn snapshots_on_the_lattice_and_one_forecast_per_segment() {
        // dt 0.1, 3 steps per frame, 9 frames with 1 of context: forecasts of 8 frames, every 0.8.
        let mut s = Schedule::new(&time(9, 1, 0.1), 0.0, 2.0, None, 0);
        assert_eq!(s.horizon(), 8);
        assert!(s.warnings(0.1 / 3.0).is_empty());
        let (snapshots, forecasts) = run(&mut s, 0.1 / 3.0, 2.0);
        assert_eq!(snapshots.len(), 21, "0, 0.1, .. 2.0");
        for (k, t) in snapshots.iter().enumerate() {
            assert!((t - k as f64 * 0.1).abs() < 1e-9, "snapshot {k} at {t}");
        }
        // Not at the end time: nothing would be left to compare with.
        let expected = [0.0, 0.8, 1.6];
        assert_eq!(forecasts.len(), expected.len(), "{forecasts:?}");
        for (f, e) in forecasts.iter().zip(expected) {
            assert!((f - e).abs() < 1e-9, "{forecasts:?}");
        }
    }

    #[test]
    fn forecasts_wait_for_the_context_and_follow_the_interval() {
        let mut s = Schedule::new(&time(8, 3, 0.5), 1.0, 10.0, Some(1.0), 2);
        assert_eq!(s.horizon(), 2);
        let (_, forecasts) = run(&mut s, 0.25, 10.0);
        // The third snapshot (t = 2) completes the context; then every 1.0 until before the end.
        let expected: Vec<f64> = (0..8).map(|i| 2.0 + i as f64).collect();
        assert_eq!(forecasts, expected);
    }

    #[test]
    fn a_time_step_that_does_not_divide_dt_takes_the_nearest_steps() {
        // dt 0.1 and steps of 0.03: the lattice times are met within half a step (0.015).
        let s = Schedule::new(&time(9, 1, 0.1), 0.0, 1.0, None, 0);
        let w = s.warnings(0.03);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("the time step 0.03 does not divide the bundle's dt 0.1"), "{}", w[0]);
        assert_eq!(s.lattice_index(0.09, 0.03), Some(1));
        assert_eq!(s.lattice_index(0.12, 0.03), None);
        assert_eq!(s.lattice_index(-0.1, 0.03), None, "before the start");
        let mut s = s;
        let (snapshots, _) = run(&mut s, 0.03, 1.0);
        assert_eq!(snapshots.len(), 11, "one per lattice time: {snapshots:?}");
    }

    #[test]
    fn an_interval_off_the_lattice_is_a_warning_and_rounds_up() {
        let mut s = Schedule::new(&time(9, 1, 0.1), 0.0, 3.0, Some(0.25), 0);
        let w = s.warnings(0.1);
        assert_eq!(w, ["interval 0.25 is not a multiple of the bundle's dt 0.1; forecasts start at snapshots, every 0.3"]);
        let (_, forecasts) = run(&mut s, 0.1, 3.0);
        let gaps: Vec<i64> = forecasts.windows(2).map(|w| ((w[1] - w[0]) / 0.1).round() as i64).collect();
        assert!(gaps.iter().all(|&g| g == 3), "{forecasts:?}");
    }

    #[test]
    fn a_failed_step_is_retried_and_a_stop_ends_the_schedule() {
        let mut s = Schedule::new(&time(4, 2, 1.0), 0.0, 10.0, None, 0);
        assert!(s.snapshot_due(0.0, 0.5));
        // The snapshot failed (not reported): the same time is still due, no forecast.
        assert!(s.snapshot_due(0.0, 0.5) && !s.forecast_due(0.0, 0.5));
        s.snapshot_taken(0.0);
        assert!(!s.snapshot_due(0.0, 0.5), "once taken, not again");
        assert!(!s.forecast_due(0.0, 0.5), "one snapshot of a context of two");
        s.snapshot_taken(1.0);
        assert!(s.forecast_due(1.0, 0.5));
        // The forecast failed: the next snapshot tries again.
        s.snapshot_taken(2.0);
        assert!(s.forecast_due(2.0, 0.5));
        s.stop();
        assert!(s.stopped() && !s.snapshot_due(3.0, 0.5) && !s.forecast_due(2.0, 0.5));
    }

    #[test]
    fn frames_within_half_a_step_are_compared() {
        let times = [0.1, 0.2, 0.3];
        assert_eq!(frames_at(&times, 0.2, 0.01), [1]);
        assert_eq!(frames_at(&times, 0.204, 0.01), [1]);
        assert!(frames_at(&times, 0.206, 0.01).is_empty());
        assert!(frames_at(&[], 0.2, 0.01).is_empty());
    }
}

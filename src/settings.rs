//! The settings a host reads from its user (the OpenFOAM function object's dictionary entries),
//! checked in one place before a bundle is opened, so that a bad value stops the run before
//! anything is computed. The host only reads the values and passes them here: the bounds are
//! [`crate::bundle::limits`]'s (through [`check_settings`] and [`check_ensemble`], the CLI's), and
//! the messages are worded here, so every host reports a bad value the same way.

use crate::bundle::{limits, SamplerMethod};
use crate::err;
use crate::error::{Error, Result};
use crate::monitor::g6;
use crate::runtime::Device;

/// A host's settings as read, before any bundle is open. 0 (and "" for `method`) means the
/// default: the bundle's steps and method, one segment, ONNX Runtime's threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `cpu`, `cuda`, `cuda:N`.
    pub device: String,
    /// Sampler method (`euler`, `midpoint`, `rk4`).
    pub method: String,
    // The counts are signed, as a host reads them (OpenFOAM's labels): a negative value is
    // reported as such instead of wrapping around on its way to an unsigned size (steps -3 once
    // became 18446744073709551613).
    pub threads: i64,
    pub horizon: i64,
    pub steps: i64,
    pub seed: i64,
    pub warm_start_frame: i64,
    pub ensemble: i64,
    /// Time between forecasts (absent: one segment).
    pub interval: Option<f64>,
    /// Threshold on the ensemble's relative spread (absent: none).
    pub max_spread: Option<f64>,
    /// The host replaces its fields with a generated state at `warm_start_time`.
    pub warm_start: bool,
    pub warm_start_time: f64,
    /// The host's run: its end time and time step (a warm start after the end would never happen).
    pub end_time: f64,
    pub time_step: f64,
    /// Frames per segment, once the bundle is open (0 before): bounds `warm_start_frame`.
    pub frames: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            device: "cpu".into(),
            method: String::new(),
            threads: 0,
            horizon: 0,
            steps: 0,
            seed: 0,
            warm_start_frame: 0,
            ensemble: 1,
            interval: None,
            max_spread: None,
            warm_start: false,
            warm_start_time: 0.0,
            end_time: f64::INFINITY,
            time_step: 0.0,
            frames: 0,
        }
    }
}

/// The first bad setting: its name (the OpenFOAM function object's entry) and what is wrong.
#[derive(Debug, Clone)]
pub struct SettingError {
    pub setting: &'static str,
    pub error: Error,
}

/// `Err` with the setting's name and a usage error.
fn bad(setting: &'static str, error: Error) -> Result<(), SettingError> {
    Err(SettingError { setting, error })
}

impl Settings {
    /// The first bad setting, in the order the function object has always checked them: signs,
    /// `interval`, `warmStartTime`, then the runtime's bounds and names, then (once the bundle's
    /// `frames` are known) the warm start's frame.
    pub fn check(&self) -> Result<(), SettingError> {
        self.check_signs()?;
        self.check_times()?;
        self.check_bounds()?;
        self.check_frame()
    }

    fn check_frame(&self) -> Result<(), SettingError> {
        let (frame, frames) = (self.warm_start_frame, self.frames as i64);
        if self.warm_start && frames > 0 && frame >= frames {
            return bad("warmStartFrame", err!(Usage, "{frame} is not a frame of the generated segment (0 .. {})", frames - 1));
        }
        Ok(())
    }

    fn check_signs(&self) -> Result<(), SettingError> {
        let counts = [
            ("threads", self.threads),
            ("horizon", self.horizon),
            ("steps", self.steps),
            ("seed", self.seed),
            ("warmStartFrame", self.warm_start_frame),
            ("ensemble", self.ensemble),
        ];
        for (name, value) in counts {
            if value < 0 {
                return bad(name, err!(Usage, "{value} is negative"));
            }
        }
        Ok(())
    }

    fn check_times(&self) -> Result<(), SettingError> {
        if let Some(i) = self.interval {
            if !(i.is_finite() && i > 0.0) {
                return bad("interval", err!(Usage, "{} must be a time > 0", g6(i)));
            }
        }
        if !self.warm_start_time.is_finite() {
            return bad("warmStartTime", err!(Usage, "is not a finite time"));
        }
        // Half a time step of slack: the host's time steps round off.
        if self.warm_start && self.warm_start_time > self.end_time + 0.5 * self.time_step {
            let (t, end) = (g6(self.warm_start_time), g6(self.end_time));
            return bad("warmStartTime", err!(Usage, "{t} is after endTime {end}: the warm start would never happen"));
        }
        Ok(())
    }

    /// The runtime's bounds and names (the CLI's), each checked alone so that the error names the
    /// right setting. The signs are checked first, so the counts convert exactly.
    fn check_bounds(&self) -> Result<(), SettingError> {
        let size = |v: i64| v as usize;
        let checks: [(&'static str, &dyn Fn() -> Result<()>); 7] = [
            ("device", &|| check_settings(&self.device, "", 0, 0, 0)),
            ("method", &|| check_settings("cpu", &self.method, 0, 0, 0)),
            ("steps", &|| check_settings("cpu", "", size(self.steps), 0, 0)),
            ("horizon", &|| check_settings("cpu", "", 0, size(self.horizon), 0)),
            ("threads", &|| check_settings("cpu", "", 0, 0, size(self.threads))),
            ("ensemble", &|| check_ensemble(size(self.ensemble), None)),
            ("maxSpread", &|| self.max_spread.map_or(Ok(()), |s| check_ensemble(size(self.ensemble), Some(s)))),
        ];
        for (name, check) in checks {
            if let Err(e) = check() {
                return bad(name, e);
            }
        }
        Ok(())
    }
}

/// Check a host's settings without a bundle (a host checks all of its settings at once with
/// [`Settings::check`], which applies this one setting at a time). Each message
/// starts with the setting's name, which is also the function object's entry. 0 (and "" for
/// `method`) means the default: the bundle's steps and method, one segment, ONNX Runtime's threads.
pub fn check_settings(device: &str, method: &str, steps: usize, horizon: usize, threads: usize) -> Result<()> {
    Device::parse(device).map_err(|e| err!(Usage, "device: {}", e.message()).with_hint("use cpu, cuda or cuda:N"))?;
    if !method.is_empty() && SamplerMethod::from_name(method).is_none() {
        return Err(err!(Usage, "method '{method}' is not a sampler method").with_hint(format!("use one of {}", SamplerMethod::NAMES.join(", "))));
    }
    let usage = |e: String| err!(Usage, "{e}");
    for (name, value, range) in [("steps", steps, &limits::STEPS), ("horizon", horizon, &limits::HORIZON), ("threads", threads, &limits::THREADS)] {
        if value != 0 {
            limits::check(name, value, range).map_err(usage)?;
        }
    }
    Ok(())
}

/// Check a host's ensemble settings without a bundle, as [`check_settings`]: `members` in
/// 1 ..= 1024 (the CLI's `--ensemble`), and `max_spread` (a threshold on the ensemble's relative
/// spread), when given, a number > 0 that needs an ensemble of 2 or more members. Each message
/// starts with the setting's name (the OpenFOAM function object's entries `ensemble`, `maxSpread`).
pub fn check_ensemble(members: usize, max_spread: Option<f64>) -> Result<()> {
    limits::check("ensemble", members, &limits::ENSEMBLE).map_err(|e| err!(Usage, "{e}").with_hint("1 is a single prediction; 16 is a usual ensemble"))?;
    if let Some(s) = max_spread {
        if !(s.is_finite() && s > 0.0) {
            return Err(err!(Usage, "maxSpread = {s} must be a number > 0").with_hint("a relative spread: 0.2 stops at 20 % of the mean's RMS"));
        }
        if members < 2 {
            return Err(err!(Usage, "maxSpread needs an ensemble (ensemble = {members})").with_hint("add ensemble N with N >= 2 (e.g. 8)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The setting and the message (with its hint) of `s`'s first problem.
    fn problem(s: Settings) -> (&'static str, String) {
        let e = s.check().unwrap_err();
        (e.setting, e.error.to_string())
    }

    #[test]
    fn defaults_and_good_values_pass() {
        Settings::default().check().unwrap();
        let s = Settings {
            device: "cuda:1".into(),
            method: "rk4".into(),
            threads: 4,
            horizon: 100,
            steps: 10,
            seed: 7,
            ensemble: 16,
            interval: Some(0.5),
            max_spread: Some(0.2),
            warm_start: true,
            warm_start_time: 1.6,
            end_time: 1.6,
            time_step: 0.01,
            ..Settings::default()
        };
        s.check().unwrap();
    }

    #[test]
    fn negative_counts_are_named() {
        assert_eq!(problem(Settings { steps: -3, ..Settings::default() }), ("steps", "-3 is negative".into()));
        assert_eq!(problem(Settings { horizon: -1, ..Settings::default() }).0, "horizon");
        assert_eq!(problem(Settings { seed: -1, ..Settings::default() }).0, "seed");
        assert_eq!(problem(Settings { warm_start_frame: -1, ..Settings::default() }).0, "warmStartFrame");
        assert_eq!(problem(Settings { ensemble: -2, ..Settings::default() }), ("ensemble", "-2 is negative".into()));
        // Signs come before the runtime's bounds.
        assert_eq!(problem(Settings { device: "gpu".into(), threads: -1, ..Settings::default() }).0, "threads");
    }

    #[test]
    fn times_are_checked() {
        assert_eq!(problem(Settings { interval: Some(-0.5), ..Settings::default() }), ("interval", "-0.5 must be a time > 0".into()));
        assert_eq!(problem(Settings { interval: Some(0.0), ..Settings::default() }).0, "interval");
        assert_eq!(problem(Settings { interval: Some(f64::NAN), ..Settings::default() }).1, "nan must be a time > 0");
        assert_eq!(problem(Settings { warm_start_time: f64::INFINITY, ..Settings::default() }), ("warmStartTime", "is not a finite time".into()));
        let late = Settings { warm_start: true, warm_start_time: 5.0, end_time: 1.6, time_step: 0.01, ..Settings::default() };
        assert_eq!(problem(late.clone()), ("warmStartTime", "5 is after endTime 1.6: the warm start would never happen".into()));
        // Within half a time step of the end, and without a warm start, it is fine.
        Settings { warm_start_time: 1.604, ..late.clone() }.check().unwrap();
        Settings { warm_start: false, ..late }.check().unwrap();
    }

    #[test]
    fn the_runtimes_bounds_name_the_setting() {
        let cases = [
            (Settings { device: "gpu".into(), ..Settings::default() }, "device", "device: unknown device 'gpu'"),
            (Settings { method: "heun".into(), ..Settings::default() }, "method", "method 'heun' is not a sampler method"),
            (Settings { steps: 20_000, ..Settings::default() }, "steps", "steps = 20000 is out of range 1..=10000"),
            (Settings { horizon: 1_000_000, ..Settings::default() }, "horizon", "horizon = 1000000 is out of range 1..=100000"),
            (Settings { threads: 5000, ..Settings::default() }, "threads", "threads = 5000 is out of range 1..=1024"),
            (Settings { ensemble: 0, ..Settings::default() }, "ensemble", "ensemble = 0 is out of range 1..=1024"),
            (Settings { ensemble: 4, max_spread: Some(-1.0), ..Settings::default() }, "maxSpread", "maxSpread = -1 must be a number > 0"),
            (Settings { max_spread: Some(0.2), ..Settings::default() }, "maxSpread", "maxSpread needs an ensemble (ensemble = 1)"),
        ];
        for (s, setting, message) in cases {
            let (got, text) = problem(s);
            assert_eq!(got, setting, "{text}");
            assert!(text.starts_with(message), "{setting}: {text}");
        }
    }

    #[test]
    fn the_warm_start_frame_lies_in_the_segment_once_it_is_known() {
        let warm = Settings { warm_start: true, warm_start_frame: 9, ..Settings::default() };
        warm.check().unwrap();
        let known = Settings { frames: 9, ..warm.clone() };
        assert_eq!(problem(known.clone()), ("warmStartFrame", "9 is not a frame of the generated segment (0 .. 8)".into()));
        Settings { warm_start_frame: 8, ..known.clone() }.check().unwrap();
        // Only a warm start reads the frame.
        Settings { warm_start: false, ..known }.check().unwrap();
    }
}

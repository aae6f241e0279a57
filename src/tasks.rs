//! The tasks ECHO serves, each posed as "which frames of a segment are observed"
//! (docs/bundle-format.md). Inputs are a [`Series`] already normalised, lifted with the input's
//! cached geometry; outputs are the predicted [`GridFrames`] of every ensemble member, which a
//! host evaluates where it wants them ([`Engine::evaluate_frames`]).

use crate::bundle::Manifest;
use crate::engine::{member_frame, Engine, GridFrame, GridFrames, Observed};
use crate::err;
use crate::error::Result;
use crate::fields::Series;
use crate::resample::geometry::{Input, ToGrid};

pub use crate::engine::{member_seeds, PointFrame, Prediction};

/// Frames per segment and the time between frames.
fn time_lattice(e: &Engine) -> (usize, f64) {
    let t = &e.manifest().time;
    (t.frames, t.dt)
}

/// Sampler steps (velocity evaluations) a run of `segments` segments takes, for progress bars.
pub fn progress_total(e: &Engine, segments: usize) -> u64 {
    (segments * e.sampler().steps) as u64
}

/// Segments a forecast of `horizon` frames needs with `context` observed frames per segment.
pub fn forecast_segments(m: &Manifest, horizon: usize, context: usize) -> usize {
    horizon.div_ceil(m.time.frames - context)
}

/// Forecast `horizon` frames after the last input frame, for every member of the engine's ensemble
/// (run as one batch). The last `context` input frames are the observed start of the first
/// segment; longer horizons chain segments, the last `context` frames of one (evaluated at the
/// input locations and lifted again, per member) starting the next.
pub fn forecast(e: &mut Engine, input: &Input, series: &Series, horizon: usize, context: usize) -> Result<GridFrames> {
    e.atomically(|e| forecast_frames(e, input, series, horizon, context))
}

fn forecast_frames(e: &mut Engine, input: &Input, series: &Series, horizon: usize, context: usize) -> Result<GridFrames> {
    let (frames, dt) = time_lattice(e);
    if context == 0 || context >= frames {
        return Err(err!(Usage, "--context {context} must be between 1 and {} (frames per segment - 1)", frames - 1));
    }
    if series.values.len() < context {
        return Err(err!(Usage, "forecasting needs {context} input frames (the bundle's context); the input has {}", series.values.len())
            .with_hint("give a longer series, or a smaller --context"));
    }
    if horizon == 0 {
        return Err(err!(Usage, "--horizon must be at least 1 frame"));
    }
    let n = e.members();
    let t_last = *series.times.last().expect("non-empty series");
    // The first segment's context is the input, which every member shares: lifted once.
    let mut contexts: Vec<Vec<Vec<f32>>> = vec![series.values[series.values.len() - context..].to_vec()];
    let mut out = GridFrames { times: vec![], members: vec![vec![]; n], segments: 0 };
    while out.times.len() < horizon {
        // Frame by frame, all members in one lift call (a single member's calls stay a plain run's).
        let mut observed: Vec<Observed> = vec![Observed::none(frames); contexts.len()];
        for t in 0..context {
            let members: Vec<&[f32]> = contexts.iter().map(|member| member[t].as_slice()).collect();
            for (o, lifted) in observed.iter_mut().zip(e.lift_many(&input.to_grid, &members)?) {
                o.set(t, lifted);
            }
        }
        let decoded = e.segment(Some(&input.to_grid), &observed)?;
        out.segments += 1;
        for t in context..frames {
            if out.times.len() == horizon {
                break;
            }
            for (k, member) in out.members.iter_mut().enumerate() {
                member.push(member_frame(&decoded, k, t));
            }
            out.times.push(t_last + (out.times.len() + 1) as f64 * dt);
        }
        if out.times.len() < horizon {
            contexts = (0..n)
                .map(|k| (frames - context..frames).map(|t| e.evaluate(&input.at_input, &member_frame(&decoded, k, t).0)).collect::<Result<_>>())
                .collect::<Result<_>>()?;
        }
    }
    Ok(out)
}

/// Frames `slots` of every member of a decoded segment.
fn segment_frames(decoded: &ndarray::ArrayD<f32>, members: usize, slots: &[usize], times: Vec<f64>) -> GridFrames {
    let members = (0..members).map(|k| slots.iter().map(|&t| member_frame(decoded, k, t)).collect::<Vec<GridFrame>>()).collect();
    GridFrames { times, members, segments: 1 }
}

/// Recover the frames before the input: the input frames (at most `frames - 1`, the last ones)
/// are observed at the end of one segment; the frames before them are generated.
pub fn inverse(e: &mut Engine, input: &ToGrid, series: &Series) -> Result<GridFrames> {
    e.atomically(|e| {
        let (frames, dt) = time_lattice(e);
        let n_obs = series.values.len().min(frames - 1);
        let first = series.values.len() - n_obs;
        let mut observed = Observed::none(frames);
        for i in 0..n_obs {
            observed.set(frames - n_obs + i, e.lift(input, &series.values[first + i])?);
        }
        let decoded = e.segment(Some(input), &[observed])?;
        let t_first = series.times[first];
        let generated = frames - n_obs;
        let slots: Vec<usize> = (0..generated).collect();
        let times = slots.iter().map(|&t| t_first - (generated - t) as f64 * dt).collect();
        Ok(segment_frames(&decoded, e.members(), &slots, times))
    })
}

/// Fill the frames missing between observed ones. Input frames are placed in one segment by their
/// times (`(t - t0) / dt` must be a whole number below `frames`); the missing frames between the
/// first and last input frames are generated.
pub fn interpolate(e: &mut Engine, input: &ToGrid, series: &Series) -> Result<GridFrames> {
    e.atomically(|e| {
        let (frames, dt) = time_lattice(e);
        let t0 = series.times[0];
        let mut observed = Observed::none(frames);
        for (time, values) in series.times.iter().zip(&series.values) {
            let slot = slot_of(*time, t0, dt, frames)?;
            if observed.is_observed(slot) {
                return Err(err!(Usage, "two input frames fall on frame {slot} of the segment (t = {time})"));
            }
            observed.set(slot, e.lift(input, values)?);
        }
        let last = (0..frames).rev().find(|&t| observed.is_observed(t)).expect("non-empty series");
        let missing: Vec<usize> = (0..last).filter(|&t| !observed.is_observed(t)).collect();
        if missing.is_empty() {
            return Err(err!(Usage, "no frame is missing between the input frames (t = {t0} .. {})", t0 + last as f64 * dt)
                .with_hint("interpolation fills gaps: give frames with gaps between them, spaced by multiples of the bundle's dt"));
        }
        let decoded = e.segment(Some(input), &[observed])?;
        let times = missing.iter().map(|&t| t0 + t as f64 * dt).collect();
        Ok(segment_frames(&decoded, e.members(), &missing, times))
    })
}

/// The frame index of time `t` in a segment starting at `t0`.
fn slot_of(t: f64, t0: f64, dt: f64, frames: usize) -> Result<usize> {
    let k = (t - t0) / dt;
    let slot = k.round();
    if (k - slot).abs() > 1e-3 || slot < 0.0 || slot >= frames as f64 {
        return Err(err!(Usage, "input frame at t = {t} is not on the bundle's time lattice t0 + k dt (t0 = {t0}, dt = {dt}, k < {frames})")
            .with_hint("interpolation works inside one segment; frame times must be multiples of dt apart"));
    }
    Ok(slot as usize)
}

/// Which observed frames [`reconstruct`] uses for the field at a time t.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pose {
    /// The frame at t itself, observed as frame 0 of a segment; the decoded frame 0 is the result.
    /// The sampler keeps observed latent slots fixed, so this is the autoencoder's reconstruction of
    /// the sparse values: every ensemble member's is the same (std 0).
    Same,
    /// The frame at t - dt as a forecast's context; t is the generated frame after it.
    Before,
    /// The frames at t + dt .. t + k dt (k: the frames of the last latent slot) observed at the end of
    /// a segment, as `inverse` poses them; t is the generated frame before them.
    After,
}

impl Pose {
    /// The input times that reconstructing time `t` needs.
    pub fn needs(self, m: &Manifest, t: f64) -> Vec<f64> {
        let dt = m.time.dt;
        match self {
            Pose::Same => vec![t],
            Pose::Before => vec![t - dt],
            Pose::After => (1..=Self::after_frames(m)).map(|i| t + i as f64 * dt).collect(),
        }
    }

    /// The name of the pose as `--from` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Pose::Same => "same",
            Pose::Before => "before",
            Pose::After => "after",
        }
    }

    fn after_frames(m: &Manifest) -> usize {
        m.time.slots.last().map_or(0, Vec::len).min(m.time.frames - 1)
    }
}

/// The index of the series frame at time `t` (within 1e-3 dt), if any.
pub fn frame_at(series: &Series, t: f64, dt: f64) -> Option<usize> {
    series.times.iter().position(|&s| (s - t).abs() <= 1e-3 * dt)
}

/// Reconstruct the full field at each of `targets` from sparse values (probes), one segment per
/// target, observing the frames `pose` names (each must be in `series`, see [`Pose::needs`]).
/// With [`Pose::Before`] and [`Pose::After`] the target frame is generated, so an ensemble's members
/// differ and their spread is an error bar; with [`Pose::Same`] they are identical.
pub fn reconstruct(e: &mut Engine, input: &ToGrid, series: &Series, targets: &[f64], pose: Pose) -> Result<GridFrames> {
    e.atomically(|e| {
        let m = e.manifest().clone();
        let (frames, dt) = (m.time.frames, m.time.dt);
        let mut out = GridFrames { times: vec![], members: vec![vec![]; e.members()], segments: 0 };
        for &t in targets {
            let needs = pose.needs(&m, t);
            let first_slot = match pose {
                Pose::Same => 0,
                Pose::Before => 0,
                Pose::After => frames - needs.len(),
            };
            let mut observed = Observed::none(frames);
            for (i, &s) in needs.iter().enumerate() {
                let k = frame_at(series, s, dt).ok_or_else(|| {
                    err!(Usage, "reconstructing t = {t} (--from {}) needs the input frame at t = {s}; the input has none", pose.name()).with_hint(
                        "give frames every bundle dt around the times to reconstruct (probes written at least that often), or choose another --from (same needs only t)",
                    )
                })?;
                observed.set(first_slot + i, e.lift(input, &series.values[k])?);
            }
            let decoded = e.segment(Some(input), &[observed])?;
            out.segments += 1;
            let slot = match pose {
                Pose::Same => 0,
                Pose::Before => 1,
                Pose::After => first_slot - 1,
            };
            for (k, member) in out.members.iter_mut().enumerate() {
                member.push(member_frame(&decoded, k, slot));
            }
            out.times.push(t);
        }
        Ok(out)
    })
}

/// Generate a whole segment from nothing (or only parameters): frames at `t0 + k dt`.
pub fn generate(e: &mut Engine, t0: f64) -> Result<GridFrames> {
    e.atomically(|e| {
        let (frames, dt) = time_lattice(e);
        let decoded = e.segment(None, &[Observed::none(frames)])?;
        let slots: Vec<usize> = (0..frames).collect();
        let times = slots.iter().map(|&t| t0 + t as f64 * dt).collect();
        Ok(segment_frames(&decoded, e.members(), &slots, times))
    })
}

/// Parse `NAME=VALUE` parameters, check them against the manifest's ranges and normalise them to
/// [0, 1]. No parameters: `None` (unconditional). Parameters not given take their default.
pub fn resolve_params(m: &Manifest, given: &[String]) -> Result<Option<Vec<f32>>> {
    if given.is_empty() {
        return Ok(None);
    }
    if m.parameters.is_empty() {
        return Err(err!(Usage, "the bundle '{}' takes no parameters, but --param was given", m.name));
    }
    let mut values: Vec<f64> = m.parameters.iter().map(|p| p.default).collect();
    let names: Vec<&str> = m.parameters.iter().map(|p| p.name.as_str()).collect();
    for item in given {
        let (name, value) = item.split_once('=').ok_or_else(|| err!(Usage, "--param '{item}' is not NAME=VALUE"))?;
        let i = names
            .iter()
            .position(|n| *n == name.trim())
            .ok_or_else(|| err!(Usage, "unknown parameter '{name}'").with_hint(format!("the bundle's parameters are {names:?}")))?;
        let v: f64 = value.trim().parse().map_err(|_| err!(Usage, "--param {name}: '{value}' is not a number"))?;
        let spec = &m.parameters[i];
        if !(v.is_finite() && v >= spec.min && v <= spec.max) {
            return Err(err!(Usage, "parameter {name} = {v} is outside the bundle's range [{}, {}]", spec.min, spec.max)
                .with_hint("the model was trained on that range only; extrapolation is refused"));
        }
        values[i] = v;
    }
    Ok(Some(m.parameters.iter().zip(values).map(|(p, v)| p.normalise(v) as f32).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::SplitMix64;

    #[test]
    fn member_seeds_start_at_the_seed_and_are_distinct() {
        let seeds = member_seeds(7, 16);
        assert_eq!(seeds[0], 7);
        assert_eq!(seeds[1], SplitMix64::new(7).next_u64());
        let mut sorted = seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 16);
        // Neighbouring seeds share no member (seed + k would share 15 of 16).
        assert!(member_seeds(8, 16).iter().all(|s| !seeds.contains(s)));
        assert_eq!(member_seeds(7, 1), vec![7]);
    }
}

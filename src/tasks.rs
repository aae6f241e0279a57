//! The tasks ECHO serves, each posed as "which frames of a segment are observed"
//! (docs/bundle-format.md). Inputs are a [`Series`] already normalised; outputs are predicted frames
//! at the pipeline's output points, still normalised.

use crate::bundle::Manifest;
use crate::err;
use crate::error::Result;
use crate::fields::Series;
use crate::noise::SplitMix64;
use crate::pipeline::Pipeline;

/// Frames per segment and the time between frames.
fn time_lattice(p: &Pipeline) -> (usize, f64) {
    let t = &p.model.bundle.manifest.time;
    (t.frames, t.dt)
}

/// Predicted frames of an ensemble: `members[k][i]` is member k's point-major `[N_out][C]` frame
/// at `times[i]`. One member is a plain prediction.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub times: Vec<f64>,
    pub members: Vec<Vec<Vec<f32>>>,
    /// Segments the model generated (per member; the members run as one batch).
    pub segments: usize,
}

/// Sampler steps (velocity evaluations) a run of `segments` segments takes, for progress bars.
pub fn progress_total(p: &Pipeline, segments: usize) -> u64 {
    (segments * p.sampler.steps) as u64
}

/// Segments a forecast of `horizon` frames needs with `context` observed frames per segment.
pub fn forecast_segments(m: &Manifest, horizon: usize, context: usize) -> usize {
    horizon.div_ceil(m.time.frames - context)
}

/// The seeds of an ensemble's members: member 0 uses `seed` itself (so a one-member ensemble is
/// a plain run), member k >= 1 the k-th output of SplitMix64(`seed`). Mixed outputs rather than
/// `seed + k`: neighbouring seeds then share no members, and no member's noise stream is a shifted
/// copy of another's (SplitMix64 seeded with `seed + k * gamma` would be exactly that).
pub fn member_seeds(seed: u64, members: usize) -> Vec<u64> {
    let mut mix = SplitMix64::new(seed);
    (0..members).map(|k| if k == 0 { seed } else { mix.next_u64() }).collect()
}

/// Forecast `horizon` frames after the last input frame, for every member (one noise stream each in
/// `rngs`, run as one batch). The last `context` input frames are the observed start of the first
/// segment; longer horizons chain segments, the last `context` frames of one (evaluated at the
/// input points and lifted again, per member) starting the next.
pub fn forecast(p: &mut Pipeline, series: &Series, horizon: usize, context: usize, rngs: &mut [SplitMix64]) -> Result<Prediction> {
    let grids = forecast_member_grids(p, series, horizon, context, rngs)?;
    let by_frame = (0..grids.times.len()).map(|i| grids.frames.iter().map(|member| member[i].as_slice()).collect());
    Ok(Prediction { times: grids.times.clone(), members: evaluate_by_frame(p, by_frame, rngs.len())?, segments: grids.segments })
}

/// Predicted frames as decoded grid values, before evaluation at any point set (hosts that
/// evaluate them elsewhere, e.g. on other MPI ranks): `frames[i]` is `[G][nodes]` at `times[i]`.
#[derive(Debug, Clone)]
pub struct GridPrediction {
    pub times: Vec<f64>,
    pub frames: Vec<Vec<f32>>,
    pub segments: usize,
}

/// [`forecast`] of one member up to the decoded grids: the same segments, draws and chaining.
pub fn forecast_grids(p: &mut Pipeline, series: &Series, horizon: usize, context: usize, rng: &mut SplitMix64) -> Result<GridPrediction> {
    let mut out = forecast_member_grids(p, series, horizon, context, std::slice::from_mut(rng))?;
    Ok(GridPrediction { times: out.times, frames: out.frames.swap_remove(0), segments: out.segments })
}

/// Decoded grids of every member: `frames[k][i]`.
struct MemberGrids {
    times: Vec<f64>,
    frames: Vec<Vec<Vec<f32>>>,
    segments: usize,
}

fn forecast_member_grids(p: &mut Pipeline, series: &Series, horizon: usize, context: usize, rngs: &mut [SplitMix64]) -> Result<MemberGrids> {
    let (frames, dt) = time_lattice(p);
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
    let n = rngs.len();
    let t_last = *series.times.last().expect("non-empty series");
    // The first segment's context is the input, which every member shares: lifted once.
    let mut contexts: Vec<Vec<Vec<f32>>> = vec![series.values[series.values.len() - context..].to_vec()];
    let mut out = MemberGrids { times: vec![], frames: vec![vec![]; n], segments: 0 };
    while out.times.len() < horizon {
        // Frame by frame, all members in one lift call (a single member's calls stay a plain run's).
        let mut observed: Vec<Vec<Option<Vec<f32>>>> = vec![vec![None; frames]; contexts.len()];
        for t in 0..context {
            let members: Vec<&[f32]> = contexts.iter().map(|member| member[t].as_slice()).collect();
            for (o, lifted) in observed.iter_mut().zip(p.lift_many(&members)?) {
                o[t] = Some(lifted);
            }
        }
        let decoded = p.segment_batch(&observed, rngs)?;
        out.segments += 1;
        for t in context..frames {
            if out.times.len() == horizon {
                break;
            }
            for (k, member) in out.frames.iter_mut().enumerate() {
                member.push(crate::pipeline::member_frame_slice(&decoded, k, t));
            }
            out.times.push(t_last + (out.times.len() + 1) as f64 * dt);
        }
        if out.times.len() < horizon {
            contexts =
                (0..n).map(|k| (frames - context..frames).map(|t| p.evaluate_member_input(&decoded, k, t)).collect::<Result<_>>()).collect::<Result<_>>()?;
        }
    }
    Ok(out)
}

/// Evaluate frames `slots` of every member of `decoded` at the output points.
fn evaluate_members(p: &mut Pipeline, decoded: &ndarray::ArrayD<f32>, members: usize, slots: &[usize]) -> Result<Vec<Vec<Vec<f32>>>> {
    let grids: Vec<Vec<Vec<f32>>> = slots.iter().map(|&t| (0..members).map(|k| crate::pipeline::member_frame_slice(decoded, k, t)).collect()).collect();
    evaluate_by_frame(p, grids.iter().map(|frame| frame.iter().map(Vec::as_slice).collect()), members)
}

/// Evaluate each frame's members together (one query call for all members where they fit) and
/// regroup by member. Frames are never mixed in one call: a single member's calls, and so its
/// numbers, stay those of a plain run.
fn evaluate_by_frame<'a>(p: &mut Pipeline, frames: impl Iterator<Item = Vec<&'a [f32]>>, members: usize) -> Result<Vec<Vec<Vec<f32>>>> {
    let mut out: Vec<Vec<Vec<f32>>> = vec![vec![]; members];
    for grids in frames {
        for (member, values) in out.iter_mut().zip(p.evaluate_output_grids(&grids)?) {
            member.push(values);
        }
    }
    Ok(out)
}

/// Recover the frames before the input: the input frames (at most `frames - 1`, the last ones)
/// are observed at the end of one segment; the frames before them are generated.
pub fn inverse(p: &mut Pipeline, series: &Series, rngs: &mut [SplitMix64]) -> Result<Prediction> {
    let (frames, dt) = time_lattice(p);
    let n_obs = series.values.len().min(frames - 1);
    let first = series.values.len() - n_obs;
    let mut observed: Vec<Option<Vec<f32>>> = vec![None; frames];
    for i in 0..n_obs {
        observed[frames - n_obs + i] = Some(p.lift(&series.values[first + i])?);
    }
    let decoded = p.segment_batch(&[observed], rngs)?;
    let t_first = series.times[first];
    let generated = frames - n_obs;
    let slots: Vec<usize> = (0..generated).collect();
    let times = slots.iter().map(|&t| t_first - (generated - t) as f64 * dt).collect();
    Ok(Prediction { times, members: evaluate_members(p, &decoded, rngs.len(), &slots)?, segments: 1 })
}

/// Fill the frames missing between observed ones. Input frames are placed in one segment by their
/// times (`(t - t0) / dt` must be a whole number below `frames`); the missing frames between the
/// first and last input frames are generated.
pub fn interpolate(p: &mut Pipeline, series: &Series, rngs: &mut [SplitMix64]) -> Result<Prediction> {
    let (frames, dt) = time_lattice(p);
    let t0 = series.times[0];
    let mut observed: Vec<Option<Vec<f32>>> = vec![None; frames];
    for (time, values) in series.times.iter().zip(&series.values) {
        let slot = slot_of(*time, t0, dt, frames)?;
        if observed[slot].is_some() {
            return Err(err!(Usage, "two input frames fall on frame {slot} of the segment (t = {time})"));
        }
        observed[slot] = Some(p.lift(values)?);
    }
    let last = observed.iter().rposition(Option::is_some).expect("non-empty series");
    let missing: Vec<usize> = (0..last).filter(|&t| observed[t].is_none()).collect();
    if missing.is_empty() {
        return Err(err!(Usage, "no frame is missing between the input frames (t = {t0} .. {})", t0 + last as f64 * dt)
            .with_hint("interpolation fills gaps: give frames with gaps between them, spaced by multiples of the bundle's dt"));
    }
    let decoded = p.segment_batch(&[observed], rngs)?;
    let times = missing.iter().map(|&t| t0 + t as f64 * dt).collect();
    Ok(Prediction { times, members: evaluate_members(p, &decoded, rngs.len(), &missing)?, segments: 1 })
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

/// Generate a whole segment from nothing (or only parameters): frames at `t0 + k dt`.
pub fn generate(p: &mut Pipeline, t0: f64, rngs: &mut [SplitMix64]) -> Result<Prediction> {
    let (frames, dt) = time_lattice(p);
    let decoded = p.segment_batch(&[vec![None; frames]], rngs)?;
    let slots: Vec<usize> = (0..frames).collect();
    let times = slots.iter().map(|&t| t0 + t as f64 * dt).collect();
    Ok(Prediction { times, members: evaluate_members(p, &decoded, rngs.len(), &slots)?, segments: 1 })
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
    Ok(Some(m.parameters.iter().zip(values).map(|(p, v)| ((v - p.min) / (p.max - p.min)) as f32).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

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

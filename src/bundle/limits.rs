//! The admissible range of every number a bundle or a user can set, in one place. The manifest
//! check ([`super::Bundle::open`], so also `doctor`), the CLI's flags and the host API (and through
//! it the OpenFOAM function object) all take their bounds from here, so a value that passes
//! `doctor` is accepted by every command, and the messages agree on the range.
//!
//! The upper bounds are not physical: they keep an absurd value (a typo, a corrupt manifest) from
//! exhausting memory or time before anything useful happens, while leaving room far beyond any
//! bundle trained so far (the largest: a 32x32 grid, 9 frames, 10 steps).

use std::fmt::Display;
use std::ops::RangeInclusive;

/// ODE steps of the sampler (`sampler.steps`, `--steps`, the host's `steps`).
pub const STEPS: RangeInclusive<usize> = 1..=10_000;

/// Frames per segment (`time.frames`): a segment has at least one context and one predicted frame.
pub const FRAMES: RangeInclusive<usize> = 2..=1024;

/// Frames one forecast may ask for (`--horizon`, the host's `horizon`); longer horizons chain
/// segments and keep every predicted frame in memory.
pub const HORIZON: RangeInclusive<usize> = 1..=100_000;

/// Members of one ensemble (`--ensemble`, the host's `ensemble`): far beyond calibration needs,
/// and it bounds the batch's memory.
pub const ENSEMBLE: RangeInclusive<usize> = 1..=1024;

/// Threads per ONNX Runtime session (`--threads`, the host's `threads`).
pub const THREADS: RangeInclusive<usize> = 1..=1024;

/// Nodes per axis of the latent grid (`latent_grid.shape[a]`).
pub const GRID_AXIS: RangeInclusive<usize> = 2..=65_536;

/// Nodes of the whole latent grid (2^26: 8192^2 or about 406^3).
pub const GRID_NODES: usize = 1 << 26;

/// Elements of one float32 tensor the manifest implies for one sample (encoder input, decoder
/// output, latent): 2^30 elements are 4 GiB.
pub const TENSOR_ELEMENTS: usize = 1 << 30;

/// Channels: latent channels, lift features, decoder channels, the sum of the field components.
pub const CHANNELS: RangeInclusive<usize> = 1..=4096;

/// Entries of `fields` and of `parameters`.
pub const LIST_ENTRIES: usize = 256;

/// Nearest input points per latent grid node (`lift.neighbours`).
pub const NEIGHBOURS: RangeInclusive<usize> = 1..=1024;

/// Lift radius in grid spacings (`lift.radius`; must also be > 0).
pub const MAX_RADIUS: f64 = 1e3;

/// Nodes per axis around a query point (`query.stencil`; must also be even).
pub const STENCIL: RangeInclusive<usize> = 2..=16;

/// `Err("{key} = {value} is out of range {lo}..={hi}")` unless `value` lies in `range`.
pub fn check<T: PartialOrd + Display>(key: &str, value: T, range: &RangeInclusive<T>) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!("{key} = {value} is out of range {}..={}", range.start(), range.end()))
    }
}

/// `Err("{key} = {value} ...")` unless `value` is finite (and > 0 with `positive`).
pub fn check_finite(key: &str, value: f64, positive: bool) -> Result<(), String> {
    match (value.is_finite(), positive && value <= 0.0) {
        (false, _) => Err(format!("{key} = {value} is not a finite number")),
        (true, true) => Err(format!("{key} = {value} must be > 0")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_key_and_the_range() {
        assert_eq!(check("sampler.steps", 1_000_000, &STEPS).unwrap_err(), "sampler.steps = 1000000 is out of range 1..=10000");
        assert!(check("sampler.steps", 10_000, &STEPS).is_ok());
        assert!(check("sampler.steps", 0, &STEPS).is_err());
        assert_eq!(check_finite("time.dt", 0.0, true).unwrap_err(), "time.dt = 0 must be > 0");
        assert_eq!(check_finite("x", f64::NAN, false).unwrap_err(), "x = NaN is not a finite number");
        assert!(check_finite("x", -1.0, false).is_ok());
    }
}

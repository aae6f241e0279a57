//! [`Weights`]: a sparse linear map from source values (points or cells) to grid nodes, the cached
//! result of every mesh -> grid method. Building it is the expensive, geometry-only part; applying
//! it to a frame is one sparse product per channel.
//!
//! Rows are built and stored in fixed-size blocks: building needs no second pass and no
//! concatenation (the peak is the result itself), and applying parallelises over blocks.

use rayon::prelude::*;

use super::gather::check_point_values;
use crate::err;
use crate::error::Result;

/// Rows per block: enough work per task to amortise scheduling, small enough to balance 2-64 cores.
pub(crate) const BLOCK: usize = 4096;

/// What a grid node that no method covers (outside every cell, no neighbour within the
/// footprint) gets, as VTK's point interpolator's null-point strategies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outside {
    /// A fixed value (VTK `NULL_VALUE`; with 0 and the coverage channel it is VTK `MASK_POINTS`).
    Null(f32),
    /// The value of the closest source, at any distance (VTK `CLOSEST_POINT`).
    Closest,
}

impl Default for Outside {
    fn default() -> Self {
        Outside::Null(0.0)
    }
}

struct Block {
    /// Local row offsets into `cols` / `vals` (`rows + 1` entries).
    offsets: Vec<u32>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

/// Sparse `[rows x sources]` weights stored by row blocks, with the coverage of each row.
pub struct Weights {
    rows: usize,
    sources: usize,
    blocks: Vec<Block>,
    /// `[rows]` 1 where the method covered the row (a containing cell, a neighbour in the footprint).
    coverage: Vec<f32>,
    /// Value of rows without entries.
    null: f32,
}

/// One row under construction: entries pushed by a row builder.
pub(crate) struct RowOut<'a> {
    cols: &'a mut Vec<u32>,
    vals: &'a mut Vec<f32>,
}

impl RowOut<'_> {
    pub(crate) fn push(&mut self, col: u32, val: f32) {
        self.cols.push(col);
        self.vals.push(val);
    }
}

impl Weights {
    /// Build `rows` rows in parallel: `row(scratch, r, out)` pushes row `r`'s entries and returns
    /// whether the row is covered. `scratch` is one per task, from `init`.
    pub(crate) fn build<S, I, F>(rows: usize, sources: usize, null: f32, init: I, row: F) -> Result<Weights>
    where
        I: Fn() -> S + Sync,
        F: Fn(&mut S, usize, &mut RowOut) -> bool + Sync,
    {
        let mut coverage = vec![0.0f32; rows];
        let blocks: Vec<Block> = coverage
            .par_chunks_mut(BLOCK)
            .enumerate()
            .map_init(&init, |scratch, (b, cov)| {
                let mut block = Block { offsets: Vec::with_capacity(cov.len() + 1), cols: vec![], vals: vec![] };
                block.offsets.push(0);
                let rows = cov.len();
                for (i, c) in cov.iter_mut().enumerate() {
                    let mut out = RowOut { cols: &mut block.cols, vals: &mut block.vals };
                    *c = f32::from(u8::from(row(scratch, b * BLOCK + i, &mut out)));
                    block.offsets.push(block.cols.len() as u32);
                    if i == 0 {
                        // Rows of one method have similar lengths: one allocation instead of doublings.
                        let guess = rows * (block.cols.len() + 1);
                        block.cols.reserve(guess);
                        block.vals.reserve(guess);
                    }
                }
                block
            })
            .collect();
        if blocks.iter().any(|b| b.cols.len() >= u32::MAX as usize) {
            return Err(err!(Usage, "more than {} weights in one block of {BLOCK} grid nodes", u32::MAX).with_hint("use fewer neighbours or a smaller radius"));
        }
        Ok(Weights { rows, sources, blocks, coverage, null })
    }

    /// Number of rows (grid nodes).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of sources (points or cells) the weights expect values for.
    pub fn sources(&self) -> usize {
        self.sources
    }

    /// `[rows]` 1 where covered, 0 elsewhere (the encoder's coverage channel).
    pub fn coverage(&self) -> &[f32] {
        &self.coverage
    }

    /// Number of stored weights.
    pub fn entries(&self) -> usize {
        self.blocks.iter().map(|b| b.cols.len()).sum()
    }

    /// Bytes held (for memory accounting).
    pub fn bytes(&self) -> usize {
        self.blocks.iter().map(|b| 4 * (b.offsets.capacity() + b.cols.capacity() + b.vals.capacity())).sum::<usize>() + 4 * self.coverage.len()
    }

    /// Row `r`'s `(source, weight)` entries (for tests and inspection).
    pub fn row(&self, r: usize) -> Vec<(u32, f32)> {
        let b = &self.blocks[r / BLOCK];
        let (s, e) = (b.offsets[r % BLOCK] as usize, b.offsets[r % BLOCK + 1] as usize);
        b.cols[s..e].iter().copied().zip(b.vals[s..e].iter().copied()).collect()
    }

    /// Channel-major `[C][rows]` from point-major source `values[s * C + c]`; rows without
    /// entries get the null value.
    ///
    /// Errors: wrong length (`FieldShape`), NaN/Inf in `values` (`NonFinite`).
    pub fn apply(&self, values: &[f32], channels: usize) -> Result<Vec<f32>> {
        check_point_values(values, self.sources, channels)?;
        let mut out = vec![0.0f32; channels * self.rows];
        if self.rows == 0 || channels == 0 {
            return Ok(out);
        }
        // Block b's slice of every channel plane, so blocks can be written in parallel.
        let mut parts: Vec<Vec<&mut [f32]>> = self.blocks.iter().map(|_| Vec::with_capacity(channels)).collect();
        for plane in out.chunks_mut(self.rows) {
            plane.chunks_mut(BLOCK).zip(parts.iter_mut()).for_each(|(chunk, part)| part.push(chunk));
        }
        parts.into_par_iter().zip(&self.blocks).for_each(|(mut planes, b)| {
            if channels == 1 {
                // (The common case, without the per-row channel loops.)
                for (r, out) in planes[0].iter_mut().enumerate() {
                    let (s, e) = (b.offsets[r] as usize, b.offsets[r + 1] as usize);
                    let dot = b.cols[s..e].iter().zip(&b.vals[s..e]).map(|(&c, &w)| f64::from(w) * f64::from(values[c as usize])).sum::<f64>();
                    *out = if s == e { self.null } else { dot as f32 };
                }
                return;
            }
            let mut acc = vec![0.0f64; channels];
            for r in 0..b.offsets.len() - 1 {
                let (s, e) = (b.offsets[r] as usize, b.offsets[r + 1] as usize);
                if s == e {
                    planes.iter_mut().for_each(|p| p[r] = self.null);
                    continue;
                }
                acc.iter_mut().for_each(|a| *a = 0.0);
                for (&col, &w) in b.cols[s..e].iter().zip(&b.vals[s..e]) {
                    let v = &values[col as usize * channels..(col as usize + 1) * channels];
                    acc.iter_mut().zip(v).for_each(|(a, &v)| *a += f64::from(w) * f64::from(v));
                }
                planes.iter_mut().zip(&acc).for_each(|(p, &a)| p[r] = a as f32);
            }
        });
        Ok(out)
    }
}

//! The inner loop the convolution and the dense layer share: a tile of `R` sources (output pixels
//! or batch rows) by `4·V` outputs (channels or features), summed over taps in registers.
//!
//! Weights are packed once per model, by tile: `[tile][tap][4·V]`, zero past the last output, so
//! each tap is `V` vector loads; each source value is one broadcast load.
//!
//! The packed weights (and the tables) are shared (`Arc`): tract clones ops as it optimises a model,
//! and a clone must not copy a layer's weights (GPT-2's head is 51 MB).

use super::lanes::{quad, quad_mut, F32x4};
use std::sync::Arc;

/// Packed weights (or biases), shared. An `Arc` of the `Vec` they were packed into: making an
/// `Arc<[f32]>` of it would copy it once more (GPT-2's head is 51 MB).
pub type Packed = Arc<Vec<f32>>;

/// Packs `outputs` × `taps` weights, output `o`'s tap `t` at `weights[o * taps + t]`, into tiles
/// of `L` outputs, and `bias` (empty, one value, or one per output) alongside:
/// `(packed, bias)`. `taps_first` reads them at `weights[t * outputs + o]` instead (a `[k, o]`
/// matrix, as a `MatMul` by a weight stores it).
pub fn pack<const L: usize>(weights: &[f32], taps_first: bool, bias: &[f32], outputs: usize, taps: usize) -> (Packed, Packed) {
    let tiles = outputs.div_ceil(L);
    let packed = if taps_first {
        // Tile by tile, tap by tap: `L` values from each row of the matrix, appended in order.
        // (Writing a group of tiles per tap instead puts each write a tile apart, the same cache
        // set when a tile is a power of two: 4 ms instead of 0.5 for a 1024 × 1000 matrix.)
        let mut packed = Vec::with_capacity(tiles * taps * L);
        for tile in 0..tiles {
            let (first, here) = (tile * L, (outputs - tile * L).min(L));
            for row in weights.chunks_exact(outputs).take(taps) {
                match <&[f32; L]>::try_from(&row[first..first + here]) {
                    Ok(whole) => packed.extend_from_slice(whole),
                    Err(_) => {
                        packed.extend_from_slice(&row[first..first + here]);
                        packed.resize(packed.len() + L - here, 0.0);
                    }
                }
            }
        }
        packed
    } else {
        // Tile by tile, in blocks of taps: each output's taps read in one run, written `L` apart
        // within a block that stays in the first-level cache (a whole tile of 1024 taps does not).
        const TAPS_BLOCK: usize = 64;
        let mut packed = vec![0f32; tiles * taps * L];
        for (tile, tile_weights) in packed.chunks_exact_mut(taps * L).enumerate() {
            let (first, here) = (tile * L, (outputs - tile * L).min(L));
            for (block, to) in tile_weights.chunks_mut(TAPS_BLOCK * L).enumerate() {
                let t0 = block * TAPS_BLOCK;
                for lane in 0..here {
                    let from = &weights[(first + lane) * taps + t0..(first + lane + 1) * taps];
                    for (w, &v) in to[lane..].iter_mut().step_by(L).zip(from) {
                        *w = v;
                    }
                }
            }
        }
        packed
    };
    let tile_bias = (0..tiles * L)
        .map(|o| match bias.len() {
            _ if o >= outputs => 0.0,
            0 => 0.0,
            1 => bias[0],
            _ => bias[o],
        })
        .collect();
    (Arc::new(packed), Arc::new(tile_bias))
}

/// Where each tap reads, relative to a source's start, with the largest offset kept beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taps {
    offsets: Arc<[usize]>,
    last: usize,
}

impl Taps {
    pub fn new(offsets: Vec<usize>) -> Taps {
        let last = offsets.iter().copied().max().unwrap_or(0);
        Taps { offsets: offsets.into(), last }
    }

    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }
}

/// The sums of one tile: for each source `r` (values at `src[starts[r] + tap]`), `4·V` outputs
/// over every tap from `bias` (`weights`: this tile's `[tap][4·V]`).
///
/// Panics unless every read lies inside `src`, checked once for the tile.
#[inline(always)]
pub fn sums<const R: usize, const V: usize>(src: &[f32], taps: &Taps, weights: &[f32], starts: &[usize; R], bias: &[f32]) -> [[F32x4; V]; R] {
    sums_from(src, taps, weights, starts, [std::array::from_fn(|v| F32x4::load(quad(&bias[4 * v..]))); R])
}

/// [`sums`] from `acc` instead of the bias (the sums of the taps before these).
#[inline(always)]
pub fn sums_from<const R: usize, const V: usize>(src: &[f32], taps: &Taps, weights: &[f32], starts: &[usize; R], mut acc: [[F32x4; V]; R]) -> [[F32x4; V]; R] {
    let reach = starts.iter().max().map_or(0, |s| s + taps.last);
    assert!(taps.is_empty() || reach < src.len(), "tile reads offset {reach} of {}", src.len());
    for (&tap, w) in taps.offsets.iter().zip(weights.chunks_exact(4 * V)) {
        let w: [F32x4; V] = std::array::from_fn(|v| F32x4::load(quad(&w[4 * v..])));
        for r in 0..R {
            // SAFETY: starts[r] + tap <= max(starts) + taps.last < src.len(), checked above.
            // Unchecked because a bounds check per tap and source makes V8 spill the
            // accumulators (3 GFLOP/s instead of 15 on the 5x5 convolutions of `cnn`).
            let x = F32x4::splat(unsafe { *src.get_unchecked(starts[r] + tap) });
            for v in 0..V {
                acc[r][v] = acc[r][v].mul_add(w[v], x);
            }
        }
    }
    acc
}

/// What a kernel applies to its sums as it stores them: the ReLU that followed it (negatives and
/// NaN as zero), then the upper bound that followed that (ReLU6's 6: ONNX's `Clip(x, 0, 6)`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Activation {
    pub relu: bool,
    pub max: Option<f32>,
}

/// One source's `4·V` sums, written to `out[..4·V]` with `act` applied.
#[inline(always)]
pub fn spill<const V: usize>(sums: &[F32x4; V], act: Activation, out: &mut [f32]) {
    let zero = F32x4::splat(0.0);
    let max = F32x4::splat(act.max.unwrap_or(0.0));
    for (v, &s) in sums.iter().enumerate() {
        let s = if act.relu { zero.pmax(s) } else { s };
        let s = if act.max.is_some() { s.pmin(max) } else { s };
        s.store(quad_mut(&mut out[4 * v..]));
    }
}

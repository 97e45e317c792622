//! A dense layer for float models run on a few rows at a time (`DirectDense`):
//! `out[n, o] = x[n, k…] · W[o, k…] (+ bias[o]) (+ ReLU)`, as torch's `Linear` exports to an
//! ONNX `Gemm` and tract declutters into an `EinSum` and an `Add`.
//!
//! tract multiplies with an 8×8 kernel, so a batch of 1 or 2 rows leaves most of it idle. Here
//! each tile is up to 4 rows by 8 outputs (`tile::sums`), the row count chosen per run.

use super::tile::{self, Taps};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

/// Outputs per tile, in vectors of 4.
const VECTORS: usize = 2;
const LANES: usize = 4 * VECTORS;
/// The most rows taken: more rows fill tract's kernel.
const MAX_ROWS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct DirectDense {
    input: TVec<usize>,
    outputs: usize,
    /// `0, 1, … k-1`: a row's values in order.
    taps: Taps,
    /// Weights by tile of 8 outputs: `[tile][k][8]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    pub relu: bool,
}

impl DirectDense {
    /// Our op for tract's `einsum` at `node` when it is `x[n, k…] · W[o, k…]` with `W` constant,
    /// floats, concrete shapes and `n <= 4`; `bias` (one value per output) is added.
    pub fn for_node(model: &TypedModel, node: &TypedNode, einsum: &EinSum, bias: Option<&[f32]>) -> TractResult<Option<DirectDense>> {
        if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            return Ok(None);
        }
        let x = model.outlet_fact(node.inputs[0])?;
        let Some(w) = model.outlet_fact(node.inputs[1])?.konst.clone() else { return Ok(None) };
        let Some(input) = x.shape.as_concrete().map(TVec::from) else { return Ok(None) };
        let rank = input.len();
        if x.datum_type != f32::datum_type()
            || w.datum_type() != f32::datum_type()
            || rank < 2
            || w.rank() != rank
            || w.shape()[1..] != input[1..]
            || !(1..=MAX_ROWS).contains(&input[0])
            || input.iter().chain(w.shape()).any(|&d| d == 0)
            || !is_dense(einsum, rank)
        {
            return Ok(None);
        }
        let outputs = w.shape()[0];
        let k: usize = input[1..].iter().product();
        if bias.is_some_and(|b| b.len() != outputs) {
            return Ok(None);
        }
        let (weights, bias) = tile::pack(w.try_as_plain_ram()?.as_slice::<f32>()?, bias.unwrap_or(&[]), outputs, k, LANES);
        Ok(Some(DirectDense { input, outputs, taps: Taps::new((0..k).collect()), weights, bias, relu: false }))
    }

    fn output_shape(&self) -> [usize; 2] {
        [self.input[0], self.outputs]
    }

    /// All rows, `R` at a time (the last group repeats the last row).
    fn rows<const R: usize>(&self, x: &[f32], out: &mut [f32]) {
        let (n, k, o) = (self.input[0], self.taps.len(), self.outputs);
        for r0 in (0..n).step_by(R) {
            let starts: [usize; R] = std::array::from_fn(|r| (r0 + r).min(n - 1) * k);
            for (block, (weights, bias)) in self.weights.chunks_exact(k * LANES).zip(self.bias.chunks_exact(LANES)).enumerate() {
                let acc = tile::sums::<R, VECTORS>(x, &self.taps, weights, &starts, bias);
                let lanes = (o - block * LANES).min(LANES);
                for (r, a) in acc.iter().enumerate().take(n - r0) {
                    let mut sums = [0f32; LANES];
                    tile::spill(a, self.relu, &mut sums);
                    let at = (r0 + r) * o + block * LANES;
                    out[at..at + lanes].copy_from_slice(&sums[..lanes]);
                }
            }
        }
    }
}

/// Whether `einsum` reads `x[n, k…], W[o, k…] -> [n, o]`: `n` and `o` kept, every other axis
/// summed, in the same order in both inputs.
fn is_dense(einsum: &EinSum, rank: usize) -> bool {
    let axes = &einsum.axes;
    if axes.input_count() != 2 || axes.output_count() != 1 {
        return false;
    }
    let at = |positions: &TVec<usize>| -> Option<usize> {
        match positions.as_slice() {
            [] => None,
            [p] => Some(*p),
            _ => Some(usize::MAX),
        }
    };
    let mut seen = 0;
    for axis in axes.iter_all_axes() {
        let (x, w, out) = (at(&axis.inputs[0]), at(&axis.inputs[1]), at(&axis.outputs[0]));
        let fits = match (x, w, out) {
            (Some(0), None, Some(0)) | (None, Some(0), Some(1)) => true,
            (Some(a), Some(b), None) => a == b && a >= 1 && a < rank,
            _ => false,
        };
        if !fits {
            return false;
        }
        seen += 1;
    }
    seen == rank + 1
}

impl Op for DirectDense {
    fn name(&self) -> StaticName {
        "DirectDense".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("input {:?} -> {:?}, relu: {}", self.input, self.output_shape(), self.relu)])
    }

    op_as_typed_op!();
}

/// See `DirectConv`'s: a NaN weight only forgoes a merge of identical nodes.
impl Eq for DirectDense {}

impl EvalOp for DirectDense {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::eval_f32("DirectDense", inputs, &self.input, &self.output_shape(), |x, out| match self.input[0] {
            1 => self.rows::<1>(x, out),
            2 => self.rows::<2>(x, out),
            3 => self.rows::<3>(x, out),
            _ => self.rows::<MAX_ROWS>(x, out),
        })
    }
}

impl TypedOp for DirectDense {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::output_fact_f32(inputs, &self.input, &self.output_shape())
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let macs = self.input[0] * self.outputs * self.taps.len();
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.to_dim())))
    }

    as_op!();
}

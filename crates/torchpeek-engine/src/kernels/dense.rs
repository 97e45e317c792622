//! A float product by a constant weight matrix (`DirectDense`): `out[…, o] = x[…, k] · W (+ bias[o])
//! (+ ReLU)`, as torch's `Linear` exports to an ONNX `Gemm` or a `MatMul` by a weight and tract
//! declutters into an `EinSum` and an `Add`. Two forms:
//!
//! - `x[n, k…] · W[o, k…]` on 1 to 4 rows (a classifier, a batch of 1 or 2): tract multiplies
//!   with an 8×8 kernel, so a batch of 1 or 2 rows leaves most of it idle.
//! - `x[…, m, k] · W[o, k]` or `W[k, o]` on any number of rows (a transformer's projections and
//!   a language model's head): tract's 8×8 wasm kernel keeps 16 accumulators, more than V8 has
//!   vector registers on x86-64 with its operands, and spills; ours keeps 8 (GPT-2's steady run
//!   1.24x to 1.09x onnxruntime-web's, BERT 1.06x to 0.88x, ViT-tiny 1.07x to 0.93x; README).
//!
//! Each tile is up to 4 rows by 8 outputs (`tile::sums`), the row count chosen per run; each tile
//! of weights is read from memory once per run, whatever the number of rows.

use super::tile::{self, Taps};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

/// Outputs per tile, in vectors of 4.
const VECTORS: usize = 2;
const LANES: usize = 4 * VECTORS;
/// Rows per tile, and the most the first form takes.
const MAX_ROWS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct DirectDense {
    input: TVec<usize>,
    output: TVec<usize>,
    /// The input's rows: what `k` is summed over for each.
    rows: usize,
    outputs: usize,
    /// `0, 1, … k-1`: a row's values in order.
    taps: Taps,
    /// Weights by tile of 8 outputs: `[tile][k][8]`.
    weights: tile::Packed,
    bias: tile::Packed,
    /// What follows it in the model, applied as the output is stored.
    pub act: tile::Activation,
}

impl DirectDense {
    /// Our op for tract's `einsum` at `node` when it multiplies float rows by a constant float
    /// matrix, with concrete shapes: `x[n, k…] · W[o, k…] -> [n, o]` with `n <= 4` (a `Gemm` or
    /// a flattened classifier), or `x[…, m, k] · W -> [… , m, o]` with `W` either `[o, k]` or
    /// `[k, o]` and any number of rows (a `MatMul` by a weight, as a language model's head);
    /// `bias` (one value per output) is added.
    pub fn for_node(model: &TypedModel, node: &TypedNode, einsum: &EinSum, bias: Option<&[f32]>) -> TractResult<Option<DirectDense>> {
        if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            return Ok(None);
        }
        let x = model.outlet_fact(node.inputs[0])?;
        let Some((w, transposed)) = super::constant_weight(model, node.inputs[1])? else { return Ok(None) };
        // The weight as the product reads it (`w` transposed when it goes through a transpose).
        let shape: TVec<usize> = if transposed { w.shape().iter().rev().copied().collect() } else { w.shape().into() };
        let Some(input) = x.shape.as_concrete().map(TVec::from) else { return Ok(None) };
        let rank = input.len();
        if x.datum_type != f32::datum_type() || w.datum_type() != f32::datum_type() || rank < 2 || input.iter().chain(&shape).any(|&d| d == 0) {
            return Ok(None);
        }
        let values = w.try_as_plain_ram()?.as_slice::<f32>()?;
        let (rows, k, outputs, k_first, output) = if shape.len() == rank && shape[1..] == input[1..] && (1..=MAX_ROWS).contains(&input[0]) && is_dense(einsum, rank) {
            (input[0], input[1..].iter().product(), shape[0], false, tvec![input[0], shape[0]])
        } else if let Some(k_first) = super::weight_axes(einsum, &input)
            .filter(|a| shape.len() == 2 && a.k_axis + 1 == rank && a.o_axis + 1 == einsum.axes.rank(InOut::Out(0)))
            .map(|a| a.k_first)
        {
            let (k, o) = if k_first { (shape[0], shape[1]) } else { (shape[1], shape[0]) };
            if k != input[rank - 1] {
                return Ok(None);
            }
            let Some(output) = model.outlet_fact(OutletId::new(node.id, 0))?.shape.as_concrete().map(TVec::from) else { return Ok(None) };
            (input[..rank - 1].iter().product(), k, o, k_first, output)
        } else {
            return Ok(None);
        };
        if bias.is_some_and(|b| b.len() != outputs) {
            return Ok(None);
        }
        // Stored transposed, the taps come first where the product reads them second.
        let (weights, bias) = tile::pack::<LANES>(values, k_first != transposed, bias.unwrap_or(&[]), outputs, k);
        Ok(Some(DirectDense { input, output, rows, outputs, taps: Taps::new((0..k).collect()), weights, bias, act: tile::Activation::default() }))
    }

    /// All rows, `R` at a time (the last group repeats the last row), for each tile of outputs in
    /// turn: a tile's weights are read from memory once, whatever the number of rows.
    fn rows<const R: usize>(&self, x: &[f32], out: &mut [f32]) {
        let (n, k, o) = (self.rows, self.taps.len(), self.outputs);
        for (block, (weights, bias)) in self.weights.chunks_exact(k * LANES).zip(self.bias.chunks_exact(LANES)).enumerate() {
            let lanes = (o - block * LANES).min(LANES);
            for r0 in (0..n).step_by(R) {
                let starts: [usize; R] = std::array::from_fn(|r| (r0 + r).min(n - 1) * k);
                let acc = tile::sums::<R, VECTORS>(x, &self.taps, weights, &starts, bias);
                for (r, a) in acc.iter().enumerate().take(n - r0) {
                    let mut sums = [0f32; LANES];
                    tile::spill(a, self.act, &mut sums);
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
        Ok(vec![format!("input {:?} -> {:?}, {:?}", self.input, self.output, self.act)])
    }

    op_as_typed_op!();
}

/// See `DirectConv`'s: a NaN weight only forgoes a merge of identical nodes.
impl Eq for DirectDense {}

impl EvalOp for DirectDense {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::eval_f32("DirectDense", inputs, &self.input, &self.output, |x, out| match self.rows {
            1 => self.rows::<1>(x, out),
            2 => self.rows::<2>(x, out),
            3 => self.rows::<3>(x, out),
            _ => self.rows::<MAX_ROWS>(x, out),
        })
    }
}

impl TypedOp for DirectDense {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::output_fact_f32(inputs, &self.input, &self.output)
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let macs = self.rows * self.outputs * self.taps.len();
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.to_dim())))
    }

    as_op!();
}

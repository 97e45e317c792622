//! A 2-D max-pool for NCHW float models (`DirectMaxPool`): each output is the largest input in
//! its window, padding ignored (as ONNX says). Per output row, the rows of its window are
//! reduced into one line (padded with `f32::MIN`), the line's sliding maxima over the kernel
//! width are taken four columns at a time, and every stride-th of those is the output: no
//! branch per value, so the time does not depend on the data.

use super::lanes::{quad, quad_mut, F32x4};
use super::{nchw_f32, Window};
use std::ops::Range;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::MaxPool;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectMaxPool {
    input: [usize; 4],
    output: [usize; 2],
    /// The input rows each output row's window covers (dilation 1: a contiguous range).
    rows: Vec<Range<usize>>,
    kernel_width: usize,
    stride: usize,
    pad_left: usize,
}

impl DirectMaxPool {
    /// Our op for tract's `pool` at `node`, or None when it is not one we take: float NCHW with
    /// concrete shapes, no dilation, no index output.
    pub fn for_node(model: &TypedModel, node: &TypedNode, pool: &MaxPool) -> TractResult<Option<DirectMaxPool>> {
        if pool.with_index_outputs.is_some() || node.inputs.len() != 1 {
            return Ok(None);
        }
        let Some(input) = nchw_f32(model, node.inputs[0], &pool.pool_spec)? else { return Ok(None) };
        let [_, _, h, w] = input;
        let Some(window) = Window::of(&pool.pool_spec, [h, w]) else { return Ok(None) };
        if window.dilation != [1, 1] {
            return Ok(None);
        }
        let rows = (0..window.output[0])
            .map(|o| {
                let (start, pad) = (window.start(0, o), window.pad_before[0]);
                start.saturating_sub(pad).min(h)..(start + window.kernel[0]).saturating_sub(pad).min(h)
            })
            .collect::<Vec<_>>();
        if rows.iter().any(|r| r.is_empty()) {
            return Ok(None);
        }
        Ok(Some(DirectMaxPool {
            input,
            output: window.output,
            rows,
            kernel_width: window.kernel[1],
            stride: window.stride[1],
            pad_left: window.pad_before[1],
        }))
    }

    fn output_shape(&self) -> [usize; 4] {
        [self.input[0], self.input[1], self.output[0], self.output[1]]
    }

    /// Every plane of `x` (`[n][c][h][w]`) pooled into `out` (`[n][c][oh][ow]`).
    fn pool(&self, x: &[f32], out: &mut [f32]) {
        let [_, _, h, w] = self.input;
        let [oh, ow] = self.output;
        let (kw, pl) = (self.kernel_width, self.pad_left);
        // Window starts 0, stride, 2 stride ...: the sliding maxima are taken at every position
        // up to the last start, four at a time.
        let positions = ((ow - 1) * self.stride + 1).next_multiple_of(4);
        let mut line = vec![f32::MIN; (positions + kw - 1).max(pl + w)];
        let mut sliding = vec![0f32; positions];
        for (plane, out) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
            for (rows, out) in self.rows.iter().zip(out.chunks_exact_mut(ow)) {
                let inner = &mut line[pl..pl + w];
                let mut lines = plane[rows.start * w..rows.end * w].chunks_exact(w);
                inner.copy_from_slice(lines.next().expect("a window row"));
                for row in lines {
                    let (mut m, mut v) = (inner.chunks_exact_mut(4), row.chunks_exact(4));
                    for (m, v) in (&mut m).zip(&mut v) {
                        let m = quad_mut(m);
                        F32x4::load(m).pmax(F32x4::load(quad(v))).store(m);
                    }
                    for (m, &v) in m.into_remainder().iter_mut().zip(v.remainder()) {
                        if *m < v {
                            *m = v;
                        }
                    }
                }
                for (i, s) in sliding.chunks_exact_mut(4).enumerate() {
                    let m = (1..kw).fold(F32x4::load(quad(&line[4 * i..])), |m, k| m.pmax(F32x4::load(quad(&line[4 * i + k..]))));
                    m.store(quad_mut(s));
                }
                for (o, &m) in out.iter_mut().zip(sliding.iter().step_by(self.stride)) {
                    *o = m;
                }
            }
        }
    }
}

impl Op for DirectMaxPool {
    fn name(&self) -> StaticName {
        "DirectMaxPool".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("input {:?} -> {:?}", self.input, self.output_shape())])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectMaxPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::eval_f32("DirectMaxPool", inputs, &self.input, &self.output_shape(), |x, out| self.pool(x, out))
    }
}

impl TypedOp for DirectMaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::output_fact_f32(inputs, &self.input, &self.output_shape())
    }

    as_op!();
}

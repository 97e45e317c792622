//! A direct depthwise 2-D convolution for NCHW float models (`DirectDepthwise`): one filter per
//! channel, one output channel per input channel (a convolution with as many groups as channels),
//! as the separable blocks of MobileNets and EfficientNets have.
//!
//! Each channel is copied into a zero-bordered plane (its padding, and room on the right for the
//! last block's reads), then each output row is computed in blocks of 8 columns: two vectors of
//! sums in registers, fed per kernel tap by one broadcast weight and 8 input values (read
//! contiguously at stride 1, as the even values of 16 at stride 2, one by one otherwise). Bias
//! and a following ReLU are applied as each block is stored.

use super::lanes::F32x4;
use super::{conv_parts, tile, ConvParts, Window};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::Conv;

/// Output columns per block, in vectors of 4.
const VECTORS: usize = 2;
const BLOCK: usize = 4 * VECTORS;

#[derive(Debug, Clone, PartialEq)]
pub struct DirectDepthwise {
    input: [usize; 4],
    window: Window,
    /// The plane each channel is copied into: `[rows, columns]`.
    padded: [usize; 2],
    /// Weights by channel: `[c][kh][kw]`.
    weights: Arc<[f32]>,
    /// Bias by channel.
    bias: Arc<[f32]>,
    /// What follows it in the model, applied as the output is stored.
    pub act: tile::Activation,
}

impl DirectDepthwise {
    /// Our op for tract's `conv` at `node`, or None when it is not one we take: float NCHW with
    /// concrete shapes, as many groups as input and output channels, OIHW constant weights and a
    /// constant bias.
    pub fn for_node(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<DirectDepthwise>> {
        let Some(ConvParts { input, kernel, bias, window }) = conv_parts(model, node, conv)? else { return Ok(None) };
        let [_, c, h, w] = input;
        if conv.group != c || conv.pool_spec.output_channels != c {
            return Ok(None);
        }
        let kw = window.kernel[1];
        // Every block reads `BLOCK` outputs' windows, the last one past the last output: up to the
        // next whole block, and one value more at stride 2 (whose reads are 8 values from each of
        // its 4 outputs' start).
        let sx = window.stride[1];
        let blocks = window.output[1].div_ceil(BLOCK) * BLOCK;
        let reach = (blocks - 1) * sx + (kw - 1) * window.dilation[1] + 1 + usize::from(sx == 2);
        let padded = [window.reach(0).max(window.pad_before[0] + h), reach.max(window.pad_before[1] + w)];
        let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?;
        let bias: Arc<[f32]> = (0..c).map(|ch| bias.get(ch).or(bias.first()).copied().unwrap_or(0.0)).collect();
        Ok(Some(DirectDepthwise {
            input,
            window,
            padded,
            weights: kernel.try_as_plain_ram()?.as_slice::<f32>()?.into(),
            bias,
            act: tile::Activation::default(),
        }))
    }

    fn output_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.window.output;
        [self.input[0], self.input[1], oh, ow]
    }

    /// Every plane of `x` (`[n][c][h][w]`) into `out` (`[n][c][oh][ow]`).
    fn planes(&self, x: &[f32], out: &mut [f32]) {
        let [_, c, h, w] = self.input;
        let [oh, ow] = self.window.output;
        let columns = self.padded[1];
        let taps = self.window.kernel[0] * self.window.kernel[1];
        // Borders stay zero: each channel writes the same inner rectangle.
        let mut plane = vec![0f32; self.padded[0] * columns];
        for (i, (x, out)) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)).enumerate() {
            self.window.copy_padded(x, w, &mut plane, columns);
            let ch = i % c;
            let (weights, bias) = (&self.weights[ch * taps..(ch + 1) * taps], self.bias[ch]);
            match self.window.stride[1] {
                1 => self.plane::<1>(&plane, weights, bias, out),
                2 => self.plane::<2>(&plane, weights, bias, out),
                _ => self.plane::<0>(&plane, weights, bias, out),
            }
        }
    }

    /// One channel: `plane` its padded input, `out` its output (`[oh][ow]`). `S`: the column
    /// stride when it is 1 or 2 (contiguous or even reads), 0 for any other.
    #[inline(always)]
    fn plane<const S: usize>(&self, plane: &[f32], weights: &[f32], bias: f32, out: &mut [f32]) {
        let Window { kernel: [kh, kw], stride: [sy, sx], dilation: [dy, dx], output: [oh, ow], .. } = self.window;
        let columns = self.padded[1];
        // Every read below lies inside the plane: rows up to `(oh - 1)·sy + (kh - 1)·dy` and
        // columns up to the last block's reach, which `for_node` sized `padded` for. Checked
        // here once; unchecked reads in the loop, as in `tile::sums` (a check per read made this
        // loop a third of MobileNetV2's run).
        assert!(plane.len() >= self.padded[0] * columns && (oh - 1) * sy + (kh - 1) * dy < self.padded[0], "depthwise plane too small");
        assert!(weights.len() >= kh * kw);
        let read = |start: usize| -> F32x4 {
            // SAFETY: see above; `start` + 8 (or + 3·sx + 1) is at most the reach `for_node` made
            // room for.
            unsafe {
                match S {
                    1 => F32x4::load(&*(plane.as_ptr().add(start) as *const [f32; 4])),
                    2 => F32x4::evens(&*(plane.as_ptr().add(start) as *const [f32; 8])),
                    _ => F32x4::from_array(std::array::from_fn(|j| *plane.get_unchecked(start + j * sx))),
                }
            }
        };
        let bias = F32x4::splat(bias);
        for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
            for x0 in (0..ow).step_by(BLOCK) {
                let mut acc = [bias; VECTORS];
                for ky in 0..kh {
                    let row = (oy * sy + ky * dy) * columns + x0 * sx;
                    for kx in 0..kw {
                        let wv = F32x4::splat(weights[ky * kw + kx]);
                        let at = row + kx * dx;
                        for (v, acc) in acc.iter_mut().enumerate() {
                            *acc = acc.mul_add(wv, read(at + 4 * v * sx));
                        }
                    }
                }
                if x0 + BLOCK <= ow {
                    tile::spill(&acc, self.act, &mut out[x0..]);
                } else {
                    let mut sums = [0f32; BLOCK];
                    tile::spill(&acc, self.act, &mut sums);
                    out[x0..].copy_from_slice(&sums[..ow - x0]);
                }
            }
        }
    }
}

/// tract compares ops to merge identical nodes; a NaN weight only makes two ops unequal, which
/// forgoes a merge.
impl Eq for DirectDepthwise {}

impl Op for DirectDepthwise {
    fn name(&self) -> StaticName {
        "DirectDepthwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("input {:?} -> {:?}, {:?}, {:?}", self.input, self.output_shape(), self.window, self.act)])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectDepthwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::eval_f32("DirectDepthwise", inputs, &self.input, &self.output_shape(), |x, out| self.planes(x, out))
    }
}

impl TypedOp for DirectDepthwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::output_fact_f32(inputs, &self.input, &self.output_shape())
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let macs = self.output_shape().iter().product::<usize>() * self.window.kernel[0] * self.window.kernel[1];
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.to_dim())))
    }

    as_op!();
}

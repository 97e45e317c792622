//! A direct 2-D convolution for NCHW float models (`DirectConv`), of any width, with one group;
//! and 1×1 convolutions that tract already decluttered into a product by the weights
//! (`DirectConv::for_pointwise`).
//!
//! The output is computed in tiles of 8 output channels by 4 output pixels (`tile::sums`: 32
//! accumulators that stay in registers, eight 128-bit vectors in wasm), fed per kernel tap by 8
//! packed weights and 4 input values. The input is read where it lies (copied once into a
//! zero-bordered plane when the convolution pads), through a table of tap offsets, so there is no
//! im2col copy. Weights are packed when the model is prepared; bias and a fused ReLU are applied
//! as each tile is stored. A kernel of more than `BLOCK_TAPS` taps is summed in blocks of taps.

use super::lanes::{quad, F32x4};
use super::tile::{self, Taps};
use super::{conv_parts, weight_axes, ConvParts, WeightAxes, Window};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::einsum::EinSum;

/// Output channels per tile, in vectors of 4.
const CO_VECTORS: usize = 2;
const CO: usize = 4 * CO_VECTORS;
/// Output pixels per tile.
const PX: usize = 4;
/// Most taps (input channels × kernel height × kernel width) summed in one pass over the output:
/// the packed weights of one tile for them (`taps × 8` floats) stay in the first-level cache.
/// A bigger kernel (ResNet's 3×3 convolutions of 256 and 512 channels) is summed in blocks of
/// taps, the partial sums kept between blocks.
const BLOCK_TAPS: usize = 1152;

#[derive(Debug, Clone, PartialEq)]
pub struct DirectConv {
    /// The input's and the output's shapes in the model (a 1×1 convolution's may have dropped or
    /// added axes of size 1: the values lie as `input` and `output_shape` say).
    shapes: [TVec<usize>; 2],
    input: [usize; 4],
    output_channels: usize,
    window: Window,
    /// The input plane with its padding: `[rows, columns]`.
    padded: [usize; 2],
    /// Offset of each tap (input channel, kernel row, kernel column) in the padded input, by
    /// block of at most `BLOCK_TAPS`: `(the block's first tap, its taps)`.
    blocks: Vec<(usize, Taps)>,
    /// Where each output pixel's window starts in the padded input, padded to whole tiles by
    /// repeating the last pixel.
    starts: Arc<[usize]>,
    /// Weights by tile of 8 output channels: `[tile][tap][8]`, zero past the last channel.
    weights: tile::Packed,
    /// Bias by tile: `[tile][8]`.
    bias: tile::Packed,
    /// What follows it in the model, applied as the output is stored.
    pub act: tile::Activation,
}

impl DirectConv {
    /// Our op for tract's `conv` at `node`, or None when it is not one we take: float NCHW,
    /// one group, OIHW constant weights, a constant bias, concrete shapes.
    pub fn for_node(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<DirectConv>> {
        let Some(ConvParts { input, kernel, bias, window }) = conv_parts(model, node, conv)?.filter(|_| conv.group == 1) else { return Ok(None) };
        let [_, c, h, w] = input;
        let co = conv.pool_spec.output_channels;
        let [kh, kw] = window.kernel;
        let taps = c * kh * kw;
        let padded = [0, 1].map(|a| window.reach(a).max(window.pad_before[a] + [h, w][a]));
        let mut offsets = Vec::with_capacity(taps);
        for ci in 0..c {
            for y in 0..kh {
                for x in 0..kw {
                    offsets.push((ci * padded[0] + y * window.dilation[0]) * padded[1] + x * window.dilation[1]);
                }
            }
        }
        let (weights, bias) =
            tile::pack::<CO>(kernel.try_as_plain_ram()?.as_slice::<f32>()?, false, bias.try_as_plain_ram()?.as_slice::<f32>()?, co, taps);
        let [oh, ow] = window.output;
        let pixels = oh * ow;
        let starts = (0..pixels.next_multiple_of(PX))
            .map(|p| {
                let p = p.min(pixels - 1);
                window.start(0, p / ow) * padded[1] + window.start(1, p % ow)
            })
            .collect();
        let shapes = [input.into(), tvec![input[0], co, window.output[0], window.output[1]]];
        Ok(Some(DirectConv {
            shapes,
            input,
            output_channels: co,
            window,
            padded,
            blocks: blocks(offsets),
            starts,
            weights,
            bias,
            act: tile::Activation::default(),
        }))
    }

    /// Our op for tract's `einsum` at `node` when `pointwise` says it is a 1×1 convolution, with
    /// float values, concrete shapes and few enough input channels; `bias` (one value per output
    /// channel) is added.
    pub fn for_pointwise(model: &TypedModel, node: &TypedNode, einsum: &EinSum, pointwise: &WeightAxes, bias: Option<&[f32]>) -> TractResult<Option<DirectConv>> {
        let x = model.outlet_fact(node.inputs[0])?;
        let Some(w) = model.outlet_fact(node.inputs[1])?.konst.clone() else { return Ok(None) };
        let y = model.outlet_fact(OutletId::new(node.id, 0))?;
        let (Some(xs), Some(ys)) = (x.shape.as_concrete(), y.shape.as_concrete()) else { return Ok(None) };
        if einsum.operating_dt != f32::datum_type() || x.datum_type != f32::datum_type() || w.datum_type() != f32::datum_type() {
            return Ok(None);
        }
        let WeightAxes { k_axis, k_first, o_axis, .. } = *pointwise;
        let (c, co) = (xs[k_axis], ys[o_axis]);
        let (images, pixels) = (xs[..k_axis].iter().product::<usize>(), xs[k_axis + 1..].iter().product::<usize>());
        let want = if k_first { [c, co] } else { [co, c] };
        if w.shape() != want || [c, co, images, pixels].contains(&0) || bias.is_some_and(|b| b.len() != co) {
            return Ok(None);
        }
        let window = Window { kernel: [1, 1], stride: [1, 1], dilation: [1, 1], pad_before: [0, 0], output: [1, pixels] };
        let (weights, bias) = tile::pack::<CO>(w.try_as_plain_ram()?.as_slice::<f32>()?, k_first, bias.unwrap_or(&[]), co, c);
        Ok(Some(DirectConv {
            shapes: [xs.into(), ys.into()],
            input: [images, c, 1, pixels],
            output_channels: co,
            window,
            padded: [1, pixels],
            blocks: blocks((0..c).map(|ci| ci * pixels).collect()),
            starts: (0..pixels.next_multiple_of(PX)).map(|p| p.min(pixels - 1)).collect(),
            weights,
            bias,
            act: tile::Activation::default(),
        }))
    }

    fn output_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.window.output;
        [self.input[0], self.output_channels, oh, ow]
    }

    /// How many taps in all (input channels × kernel area).
    fn taps(&self) -> usize {
        self.blocks.iter().map(|(_, taps)| taps.len()).sum()
    }

    /// Every image of `x` (`[n][c][h][w]`) into `out` (`[n][co][oh][ow]`), each copied into a
    /// zero-bordered plane first when the convolution pads.
    fn images(&self, x: &[f32], out: &mut [f32]) {
        let [_, c, h, w] = self.input;
        let unpadded = self.padded == [h, w];
        let mut plane = if unpadded { Vec::new() } else { vec![0f32; c * self.padded[0] * self.padded[1]] };
        let [_, co, oh, ow] = self.output_shape();
        for (image, out) in x.chunks_exact(c * h * w).zip(out.chunks_exact_mut(co * oh * ow)) {
            if unpadded {
                self.image(image, out);
                continue;
            }
            let [rows, columns] = self.padded;
            for (channel, to) in image.chunks_exact(h * w).zip(plane.chunks_exact_mut(rows * columns)) {
                self.window.copy_padded(channel, w, to, columns);
            }
            self.image(&plane, out);
        }
    }

    /// One image: `plane` is its padded input (`[c][rows][columns]`), `out` its output
    /// (`[co][oh][ow]`).
    fn image(&self, plane: &[f32], out: &mut [f32]) {
        let [(_, taps)] = self.blocks.as_slice() else { return self.image_in_blocks(plane, out) };
        let pixels = self.window.output[0] * self.window.output[1];
        for (tile, (weights, bias)) in self.weights.chunks_exact(self.taps() * CO).zip(self.bias.chunks_exact(CO)).enumerate() {
            for (p0, starts) in (0..pixels).step_by(PX).zip(self.starts.chunks_exact(PX)) {
                let starts = starts.try_into().expect("whole tiles");
                let acc = tile::sums::<PX, CO_VECTORS>(plane, taps, weights, starts, bias);
                self.store(&acc, tile, p0, out);
            }
        }
    }

    /// [`Self::image`] for a kernel of more than `BLOCK_TAPS` taps: each tile's sums over a block
    /// of taps kept (`[pixel][8]`) for the next block to start from.
    fn image_in_blocks(&self, plane: &[f32], out: &mut [f32]) {
        let pixels = self.window.output[0] * self.window.output[1];
        let mut partial = vec![0f32; pixels.next_multiple_of(PX) * CO];
        for (tile, (weights, bias)) in self.weights.chunks_exact(self.taps() * CO).zip(self.bias.chunks_exact(CO)).enumerate() {
            for (b, (first, taps)) in self.blocks.iter().enumerate() {
                let weights = &weights[first * CO..(first + taps.len()) * CO];
                for (p0, starts) in (0..pixels).step_by(PX).zip(self.starts.chunks_exact(PX)) {
                    let starts = starts.try_into().expect("whole tiles");
                    let acc = if b == 0 {
                        tile::sums::<PX, CO_VECTORS>(plane, taps, weights, starts, bias)
                    } else {
                        let from = std::array::from_fn(|j| std::array::from_fn(|v| F32x4::load(quad(&partial[(p0 + j) * CO + 4 * v..]))));
                        tile::sums_from::<PX, CO_VECTORS>(plane, taps, weights, starts, from)
                    };
                    if b + 1 == self.blocks.len() {
                        self.store(&acc, tile, p0, out);
                    } else {
                        for (j, a) in acc.iter().enumerate() {
                            tile::spill(a, tile::Activation::default(), &mut partial[(p0 + j) * CO..]);
                        }
                    }
                }
            }
        }
    }

    /// The sums of tile `tile` for the pixels from `p0`, with the ReLU if any, into `out`
    /// (`[co][pixels]`), leaving out the channels and pixels past the last.
    #[inline(always)]
    fn store(&self, acc: &[[F32x4; CO_VECTORS]; PX], tile: usize, p0: usize, out: &mut [f32]) {
        let pixels = self.window.output[0] * self.window.output[1];
        let lanes = (self.output_channels - tile * CO).min(CO);
        let out = &mut out[tile * CO * pixels..];
        for (j, a) in acc.iter().enumerate().take(pixels - p0) {
            let mut sums = [0f32; CO];
            tile::spill(a, self.act, &mut sums);
            for (lane, &v) in sums.iter().enumerate().take(lanes) {
                out[lane * pixels + p0 + j] = v;
            }
        }
    }
}

/// Tap offsets in blocks of at most `BLOCK_TAPS`: `(the block's first tap, its taps)`.
fn blocks(offsets: Vec<usize>) -> Vec<(usize, Taps)> {
    offsets.chunks(BLOCK_TAPS).enumerate().map(|(i, block)| (i * BLOCK_TAPS, Taps::new(block.to_vec()))).collect()
}

/// Whether tract's `einsum` at `node` reads `x[…, k, pixels…] · W -> [… , o, pixels…]` with `W` a
/// constant matrix (`[o, k]` or `[k, o]`) and at least one pixel axis: a 1×1 convolution as tract
/// declutters one (see [`WeightAxes`]).
pub fn pointwise_axes(model: &TypedModel, node: &TypedNode, einsum: &EinSum) -> TractResult<Option<WeightAxes>> {
    if einsum.q_params.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let w = model.outlet_fact(node.inputs[1])?;
    let Some(x) = model.outlet_fact(node.inputs[0])?.shape.as_concrete() else { return Ok(None) };
    if w.konst.is_none() || w.rank() != 2 {
        return Ok(None);
    }
    Ok(weight_axes(einsum, x).filter(|a| a.pixels))
}

/// tract compares ops to merge identical nodes; a NaN weight only makes two ops unequal, which
/// forgoes a merge.
impl Eq for DirectConv {}

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "DirectConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("input {:?} -> {:?}, {:?}, {:?}", self.input, self.output_shape(), self.window, self.act)])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::eval_f32("DirectConv", inputs, &self.shapes[0], &self.shapes[1], |x, out| self.images(x, out))
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        super::output_fact_f32(inputs, &self.shapes[0], &self.shapes[1])
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let macs = self.output_shape().iter().product::<usize>() * self.taps();
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.to_dim())))
    }

    as_op!();
}

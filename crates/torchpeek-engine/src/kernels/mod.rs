//! Our own typed ops for the float convolutions, max-pools and products by a weight matrix of
//! vision models and transformers.
//!
//! tract lowers a convolution to im2col and a matrix product; in wasm its im2col copy and its
//! 2-D max-pool are scalar, and on LeNet-sized layers (few channels, 28–32 pixel images) they
//! cost more than the arithmetic. `swap_in` replaces, in a typed model with concrete shapes and
//! before tract optimises it, each eligible `Conv` by a [`conv::DirectConv`] (weights packed once,
//! padding and bias and a following ReLU done in the one pass) or, with one group per channel, a
//! [`depthwise::DirectDepthwise`], each eligible `MaxPool` by a [`pool::DirectMaxPool`], and each
//! product by a constant weight matrix (a dense layer on up to 4 rows, or a transformer's
//! projections on any number) by a [`dense::DirectDense`]. Anything else (quantised, other
//! groupings, layouts and types, symbolic shapes, big batches) stays tract's. `tests/kernels.rs`
//! checks ours against tract's on the same models.
//!
//! `swap_in` runs twice: before tract's declutter passes (`crate::declutter`: the nodes it takes
//! are never rewritten by tract), then on the decluttered model (what those passes made eligible,
//! such as a product whose weight they folded).

mod conv;
mod dense;
mod depthwise;
mod lanes;
mod pool;
mod tile;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::cnn::conv::KernelFormat;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, PoolSpec};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::{Add, Max, Min};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Replaces tract's `Conv`, `MaxPool` and by-a-weight `EinSum` nodes by ours where
/// [`conv::DirectConv::for_node`], [`depthwise::DirectDepthwise::for_node`],
/// [`pool::DirectMaxPool::for_node`] and [`dense::DirectDense::for_node`] take them, with the
/// bias `Add`, the ReLU and the ReLU6 bound that follow folded in (`activation_after`). Returns how
/// many nodes were replaced.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        // `last`: the node whose output ours replaces; `act`: what follows the op, folded in.
        let (op, last): (Box<dyn TypedOp>, usize) = if let Some(conv) = node.op_as::<Conv>() {
            let (act, after) = activation_after(model, id)?;
            let op: Box<dyn TypedOp> = if let Some(mut op) = conv::DirectConv::for_node(model, node, conv)? {
                op.act = act;
                Box::new(op)
            } else if let Some(mut op) = depthwise::DirectDepthwise::for_node(model, node, conv)? {
                op.act = act;
                Box::new(op)
            } else {
                continue;
            };
            (op, after.unwrap_or(id))
        } else if let Some(einsum) = node.op_as::<EinSum>() {
            // A 1×1 convolution, as tract declutters one (channels first, then pixels), or a
            // product by a weight (rows, then features).
            let pointwise = conv::pointwise_axes(model, node, einsum)?;
            let rank = model.outlet_fact(OutletId::new(id, 0))?.rank();
            let bias = bias_after(model, id, pointwise.map_or(rank.saturating_sub(1), |p| p.o_axis))?;
            let values = bias.as_ref().map(|b| &b.0[..]);
            let (act, after) = activation_after(model, bias.as_ref().map_or(id, |b| b.1))?;
            let op: Box<dyn TypedOp> = if let Some(pointwise) = &pointwise {
                let Some(mut op) = conv::DirectConv::for_pointwise(model, node, einsum, pointwise, values)? else { continue };
                op.act = act;
                Box::new(op)
            } else {
                let Some(mut op) = dense::DirectDense::for_node(model, node, einsum, values)? else { continue };
                op.act = act;
                Box::new(op)
            };
            (op, after.or(bias.map(|b| b.1)).unwrap_or(id))
        } else if let Some(pool) = node.op_as::<MaxPool>() {
            let Some(op) = pool::DirectMaxPool::for_node(model, node, pool)? else { continue };
            (Box::new(op), id)
        } else {
            continue;
        };
        let mut patch = TypedModelPatch::new(format!("torchpeek {}", op.name()));
        let x = patch.tap_model(model, node.inputs[0])?;
        let wire = patch.wire_node(&node.name, op, &[x])?[0];
        patch.shunt_outside(model, OutletId::new(last, 0), wire)?;
        patch.apply(model)?;
        swapped += 1;
    }
    Ok(swapped)
}

/// The one node reading node `id`'s only output, when `id`'s output is not a model output and
/// that node is the binary op `B` with a constant float operand of the same shape as what it
/// outputs or broadcast to it: `(the node, the constant)`.
fn binary_after<B: BinMiniOp>(model: &TypedModel, id: usize) -> TractResult<Option<(usize, Arc<Tensor>)>> {
    let node = model.node(id);
    let outlet = OutletId::new(id, 0);
    let [succ] = node.outputs[0].successors.as_slice() else { return Ok(None) };
    if node.outputs.len() != 1 || model.output_outlets()?.contains(&outlet) {
        return Ok(None);
    }
    let next = model.node(succ.node);
    let Some(bin) = next.op_as::<TypedBinOp>() else { return Ok(None) };
    if !bin.0.is::<B>() || bin.1.is_some() || next.inputs.len() != 2 {
        return Ok(None);
    }
    let Some(konst) = model.outlet_fact(next.inputs[1 - succ.slot])?.konst.clone() else { return Ok(None) };
    let fact = model.outlet_fact(OutletId::new(succ.node, 0))?;
    let same_shape = fact.shape == model.outlet_fact(outlet)?.shape;
    Ok((same_shape && konst.datum_type() == f32::datum_type()).then_some((succ.node, konst)))
}

/// The node computing `max(x, 0)` of node `id`'s output (see [`binary_after`]).
fn relu_after(model: &TypedModel, id: usize) -> TractResult<Option<usize>> {
    let Some((relu, zero)) = binary_after::<Max>(model, id)? else { return Ok(None) };
    let zero = zero.len() == 1 && zero.try_as_plain_ram()?.as_slice::<f32>()? == [0.0];
    Ok(zero.then_some(relu))
}

/// The ReLU after node `id`'s output, and the `min(x, c)` by one constant after that (ReLU6, as
/// ONNX's `Clip(x, 0, 6)` imports): what a kernel folds in, and the last node folded.
fn activation_after(model: &TypedModel, id: usize) -> TractResult<(tile::Activation, Option<usize>)> {
    let Some(relu) = relu_after(model, id)? else { return Ok((tile::Activation::default(), None)) };
    if let Some((min, c)) = binary_after::<Min>(model, relu)? {
        if let [max] = c.try_as_plain_ram()?.as_slice::<f32>()? {
            if !max.is_nan() {
                return Ok((tile::Activation { relu: true, max: Some(*max) }, Some(min)));
            }
        }
    }
    Ok((tile::Activation { relu: true, max: None }, Some(relu)))
}

/// Where the values lie in tract's `einsum` for `x · W`, `W` a matrix: the summed axis is x's
/// `k_axis` and W's first (`k_first`) or second, the output's `o_axis` is W's other one. x's other
/// axes keep their order in the output and stay on the same side of `k` as of `o` there (axes of
/// size 1 may be dropped from x or added to the output: the values lie the same in memory);
/// `pixels`: one of them comes after `k` (a 1×1 convolution's pixels, where a product by a weight
/// has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightAxes {
    pub k_axis: usize,
    pub k_first: bool,
    pub o_axis: usize,
    pub pixels: bool,
}

/// [`WeightAxes`] of `einsum` over an input of shape `input`; None when it is not such a product.
fn weight_axes(einsum: &EinSum, input: &[usize]) -> Option<WeightAxes> {
    let axes = &einsum.axes;
    if axes.input_count() != 2 || axes.output_count() != 1 {
        return None;
    }
    let one = |positions: &TVec<usize>| -> Option<Option<usize>> {
        match positions.as_slice() {
            [] => Some(None),
            [p] => Some(Some(*p)),
            _ => None,
        }
    };
    let (mut k, mut o, mut kept) = (None, None, Vec::new());
    for axis in axes.iter_all_axes() {
        match (one(&axis.inputs[0])?, one(&axis.inputs[1])?, one(&axis.outputs[0])?) {
            (Some(a), None, Some(b)) => kept.push((a, b)),
            (Some(a), None, None) if input.get(a) == Some(&1) => {}
            (None, None, Some(_)) => {}
            (Some(a), Some(b), None) if b < 2 => k = Some((a, b == 0)),
            (None, Some(b), Some(c)) if b < 2 => o = Some(c),
            _ => return None,
        }
    }
    let ((k_axis, k_first), o_axis) = k.zip(o)?;
    kept.sort();
    let in_order = kept.windows(2).all(|p| p[0].1 < p[1].1);
    let sides = kept.iter().all(|&(a, b)| (a < k_axis) == (b < o_axis));
    let pixels = kept.iter().any(|&(a, _)| a > k_axis);
    (in_order && sides).then_some(WeightAxes { k_axis, k_first, o_axis, pixels })
}

/// The constant weight at `outlet`: a constant, or a 2-D constant transposed (a tied embedding
/// read as a language model's head: `MatMul(x, Transpose(table))`, where the table has other
/// readers and tract does not fold the transpose); `(the constant, transposed)`.
fn constant_weight(model: &TypedModel, outlet: OutletId) -> TractResult<Option<(Arc<Tensor>, bool)>> {
    if let Some(konst) = model.outlet_fact(outlet)?.konst.clone() {
        return Ok(Some((konst, false)));
    }
    let node = model.node(outlet.node);
    let swaps = matches!(node.op_as::<AxisOp>(), Some(AxisOp::Move(0, 1) | AxisOp::Move(1, 0)));
    let Some(input) = node.inputs.first().filter(|_| swaps && node.inputs.len() == 1) else { return Ok(None) };
    Ok(model.outlet_fact(*input)?.konst.clone().filter(|k| k.rank() == 2).map(|k| (k, true)))
}

/// The bias added to node `id`'s output along its `axis`, one value per output there (the
/// constant's other axes of size 1; see [`binary_after`]): `(the values, the Add node)`.
fn bias_after(model: &TypedModel, id: usize, axis: usize) -> TractResult<Option<(Vec<f32>, usize)>> {
    let Some((add, bias)) = binary_after::<Add>(model, id)? else { return Ok(None) };
    let out = model.outlet_fact(OutletId::new(id, 0))?;
    // The constant's axes, aligned on the output's last ones.
    let lead = out.rank().checked_sub(bias.rank());
    let per_output = lead.is_some_and(|lead| {
        (0..out.rank()).all(|a| {
            let d = if a < lead { 1 } else { bias.shape()[a - lead] };
            if a == axis { out.shape[a] == d.to_dim() } else { d == 1 }
        })
    });
    per_output.then(|| bias.try_as_plain_ram()?.as_slice::<f32>().map(|b| (b.to_vec(), add))).transpose()
}

/// The eval every kernel shares: checks the float input has the `input` shape the op was
/// prepared for, and runs `f` on it and on a zeroed float output of `output` shape.
fn eval_f32(
    op: &str,
    inputs: TVec<TValue>,
    input: &[usize],
    output: &[usize],
    f: impl FnOnce(&[f32], &mut [f32]),
) -> TractResult<TVec<TValue>> {
    let x = args_1!(inputs);
    ensure!(x.shape() == input, "{op}: input shape {:?}, prepared for {:?}", x.shape(), input);
    let mut result = Tensor::zero::<f32>(output)?;
    f(x.try_as_plain_ram()?.as_slice::<f32>()?, result.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?);
    Ok(tvec!(result.into_tvalue()))
}

/// The output fact every kernel shares: one input of the concrete `input` shape the op was
/// prepared for, one float output of `output` shape.
fn output_fact_f32(inputs: &[&TypedFact], input: &[usize], output: &[usize]) -> TractResult<TVec<TypedFact>> {
    ensure!(inputs.len() == 1 && inputs[0].shape.as_concrete() == Some(input));
    Ok(tvec!(f32::datum_type().fact(output)))
}

/// What every convolution kernel of ours reads from tract's `Conv`: the concrete `[n, c, h, w]`
/// of its float NCHW input, its OIHW float kernel (`[co, c / group, kh, kw]`) and float bias
/// (empty, one value, or one per output channel), both constant, and its window.
struct ConvParts {
    input: [usize; 4],
    kernel: Arc<Tensor>,
    bias: Arc<Tensor>,
    window: Window,
}

/// [`ConvParts`] of tract's `conv` at `node`, or None when it is not a float convolution of
/// constant weights that our kernels could take (quantised, another layout, symbolic shapes).
fn conv_parts(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<ConvParts>> {
    if conv.q_params.is_some() || conv.kernel_fmt != KernelFormat::OIHW || node.inputs.len() != 3 {
        return Ok(None);
    }
    let Some(input) = nchw_f32(model, node.inputs[0], &conv.pool_spec)? else { return Ok(None) };
    let [_, c, h, w] = input;
    let (Some(kernel), Some(bias)) =
        (model.outlet_fact(node.inputs[1])?.konst.clone(), model.outlet_fact(node.inputs[2])?.konst.clone())
    else {
        return Ok(None);
    };
    let Some(window) = Window::of(&conv.pool_spec, [h, w]) else { return Ok(None) };
    let ([kh, kw], co, group) = (window.kernel, conv.pool_spec.output_channels, conv.group);
    if group == 0
        || c % group != 0
        || c != conv.pool_spec.input_channels
        || kernel.datum_type() != f32::datum_type()
        || kernel.shape() != [co, c / group, kh, kw]
        || bias.datum_type() != f32::datum_type()
        || ![0, 1, co].contains(&bias.len())
    {
        return Ok(None);
    }
    Ok(Some(ConvParts { input, kernel, bias, window }))
}

/// The concrete `[n, c, h, w]` of an NCHW float input with no empty dimension, or None.
fn nchw_f32(model: &TypedModel, outlet: OutletId, spec: &PoolSpec) -> TractResult<Option<[usize; 4]>> {
    let fact = model.outlet_fact(outlet)?;
    if fact.datum_type != f32::datum_type() || spec.data_format != DataFormat::NCHW || spec.kernel_shape.len() != 2 {
        return Ok(None);
    }
    let Some(shape) = fact.shape.as_concrete() else { return Ok(None) };
    Ok(<[usize; 4]>::try_from(shape).ok().filter(|s| s.iter().all(|&d| d > 0)))
}

/// Where a 2-D window op reads: kernel, strides, dilations, padding before, output size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pad_before: [usize; 2],
    output: [usize; 2],
}

impl Window {
    fn of(spec: &PoolSpec, hw: [usize; 2]) -> Option<Window> {
        let computed = spec.computed_padding(&hw);
        let (stride, dilation) = (spec.strides(), spec.dilations());
        let window = Window {
            kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
            stride: [stride[0], stride[1]],
            dilation: [dilation[0], dilation[1]],
            pad_before: [computed[0].pad_before, computed[1].pad_before],
            output: [computed[0].convoluted, computed[1].convoluted],
        };
        let sane = window.kernel.iter().chain(&window.stride).chain(&window.dilation).chain(&window.output).all(|&d| d > 0);
        sane.then_some(window)
    }

    /// The first input row (axis 0) or column (axis 1) output `o`'s window touches, in padded
    /// coordinates (add `pad_before` to an input index to get there).
    fn start(&self, axis: usize, o: usize) -> usize {
        o * self.stride[axis]
    }

    /// One channel (`[h][w]`, rows of `w`) copied into its zero-bordered plane (rows of
    /// `columns`), where the padding before puts it.
    fn copy_padded(&self, channel: &[f32], w: usize, plane: &mut [f32], columns: usize) {
        let [pt, pl] = self.pad_before;
        for (y, row) in channel.chunks_exact(w).enumerate() {
            let at = (pt + y) * columns + pl;
            plane[at..at + w].copy_from_slice(row);
        }
    }

    /// How far the last window reaches, in padded coordinates, plus one.
    fn reach(&self, axis: usize) -> usize {
        self.start(axis, self.output[axis] - 1) + (self.kernel[axis] - 1) * self.dilation[axis] + 1
    }
}

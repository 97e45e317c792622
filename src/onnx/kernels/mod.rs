//! Our own typed ops for the small NCHW float convolutions and max-pools of vision models.
//!
//! tract lowers a convolution to im2col and a matrix product; in wasm its im2col copy and its
//! 2-D max-pool are scalar, and on LeNet-sized layers (few channels, 28–32 pixel images) they
//! cost more than the arithmetic. `swap_in` replaces, in a typed model with concrete shapes and
//! before tract optimises it, each eligible `Conv` by a [`conv::DirectConv`] (weights packed once,
//! padding and bias and a following ReLU done in the one pass) and each eligible `MaxPool` by a
//! [`pool::DirectMaxPool`]. Anything else (quantised, grouped, other layouts and types, symbolic
//! shapes) stays tract's.

mod conv;
mod lanes;
mod tile;
mod pool;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, PoolSpec};
use tract_onnx::tract_core::ops::math::Max;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Replaces tract's `Conv` and `MaxPool` nodes by ours where [`conv::DirectConv::for_node`] and
/// [`pool::DirectMaxPool::for_node`] take them. Returns how many nodes were replaced.
pub fn swap_in(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let (op, output): (Box<dyn TypedOp>, OutletId) = if let Some(conv) = node.op_as::<Conv>() {
            let Some(mut op) = conv::DirectConv::for_node(model, node, conv)? else { continue };
            // A ReLU that alone reads the convolution runs inside it.
            let output = match relu_after(model, id)? {
                Some(relu) => {
                    op.relu = true;
                    OutletId::new(relu, 0)
                }
                None => OutletId::new(id, 0),
            };
            (Box::new(op), output)
        } else if let Some(pool) = node.op_as::<MaxPool>() {
            let Some(op) = pool::DirectMaxPool::for_node(model, node, pool)? else { continue };
            (Box::new(op), OutletId::new(id, 0))
        } else {
            continue;
        };
        let mut patch = TypedModelPatch::new(format!("torchpeek {}", op.name()));
        let x = patch.tap_model(model, node.inputs[0])?;
        let wire = patch.wire_node(&node.name, op, &[x])?[0];
        patch.shunt_outside(model, output, wire)?;
        patch.apply(model)?;
        swapped += 1;
    }
    Ok(swapped)
}

/// The node computing `max(x, 0)` of node `id`'s only output, when nothing else reads it and it
/// is not itself a model output.
fn relu_after(model: &TypedModel, id: usize) -> TractResult<Option<usize>> {
    let node = model.node(id);
    let outlet = OutletId::new(id, 0);
    let [succ] = node.outputs[0].successors.as_slice() else { return Ok(None) };
    if model.output_outlets()?.contains(&outlet) {
        return Ok(None);
    }
    let next = model.node(succ.node);
    let Some(bin) = next.op_as::<TypedBinOp>() else { return Ok(None) };
    if !bin.0.is::<Max>() || bin.1.is_some() || next.inputs.len() != 2 {
        return Ok(None);
    }
    let other = next.inputs[1 - succ.slot];
    let zero = model.outlet_fact(other)?.konst.as_ref().is_some_and(|k| {
        k.datum_type() == f32::datum_type()
            && k.len() == 1
            && k.try_as_plain_ram().ok().and_then(|v| v.as_slice::<f32>().ok().map(|s| s[0] == 0.0)) == Some(true)
    });
    let fact = model.outlet_fact(OutletId::new(succ.node, 0))?;
    let same_shape = fact.shape == model.outlet_fact(outlet)?.shape;
    Ok((zero && same_shape).then_some(succ.node))
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

    /// How far the last window reaches, in padded coordinates, plus one.
    fn reach(&self, axis: usize) -> usize {
        self.start(axis, self.output[axis] - 1) + (self.kernel[axis] - 1) * self.dilation[axis] + 1
    }
}

#[cfg(test)]
mod tests;

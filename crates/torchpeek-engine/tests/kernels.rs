//! torchpeek's own kernels (`onnx::kernels`) against tract's ops on the same models: convolutions and max-pools over a spread of
//! kernels, strides, dilations, paddings, channel and batch counts.
//!
//! Natively this tests the kernels' portable scalar path (`src/kernels/lanes.rs`); the same tests
//! also run as wasm32 with `simd128` under Node (scripts/test-wasm-kernels.sh), the build the page
//! ships, which tests the SIMD path.

use torchpeek_engine::kernels::swap_in;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::conv::KernelFormat;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::{add, max};
use tract_onnx::tract_core::ops::nn::DataFormat;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

/// tract finds its kernels in `inventory` lists that static constructors fill. The shipped engine
/// wasm runs them once at start (`torchpeek-engine-wasm`'s `start`); this test binary, linked as a
/// wasm "command" (it has a `main`), gets a call to them at the top of every export, which
/// inventory makes idempotent. Checked here so the wasm run cannot silently differ from the page's.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn tract_kernels_are_registered() {
    use tract_onnx::tract_core::tract_linalg::routines;
    assert!(routines::declared().count() > 0, "tract's inventory of kernels is empty: static constructors did not run");
}

/// Deterministic values in [-1, 1).
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn spec(kernel: [usize; 2], stride: [usize; 2], dilation: [usize; 2], padding: PaddingSpec, c: usize, co: usize) -> PoolSpec {
    PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: kernel.into_iter().collect(),
        padding,
        dilations: Some(dilation.into_iter().collect()),
        strides: Some(stride.into_iter().collect()),
        input_channels: c,
        output_channels: co,
    }
}

/// Runs `model` optimised by tract alone and with our ops swapped in; returns the largest
/// absolute difference and how many nodes were swapped.
fn compare(model: TypedModel, input: Tensor) -> (f32, usize) {
    let theirs = model.clone().into_optimized().unwrap().into_runnable().unwrap();
    let mut ours = model;
    let swapped = swap_in(&mut ours).unwrap();
    let ours = ours.into_optimized().unwrap().into_runnable().unwrap();
    let a = theirs.run(tvec!(input.clone().into_tvalue())).unwrap();
    let b = ours.run(tvec!(input.into_tvalue())).unwrap();
    (max_diff(&a, &b), swapped)
}

/// The largest absolute difference between two lists of float tensors of the same shapes.
fn max_diff(a: &[TValue], b: &[TValue]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut diff = 0f32;
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a.shape(), b.shape());
        let (a, b) = (a.try_as_plain_ram().unwrap(), b.try_as_plain_ram().unwrap());
        let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(diff, f32::max);
    }
    diff
}

fn conv_model(shape: [usize; 4], co: usize, spec: PoolSpec, relu: bool) -> TypedModel {
    grouped_conv_model(shape, co, 1, spec, relu)
}

/// A convolution of `group` groups (the kernel's input channels are `c / group`).
fn grouped_conv_model(shape: [usize; 4], co: usize, group: usize, spec: PoolSpec, relu: bool) -> TypedModel {
    let ci = shape[1] / group;
    let [kh, kw] = [spec.kernel_shape[0], spec.kernel_shape[1]];
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    let kernel = Tensor::from_shape(&[co, ci, kh, kw], &values(7, co * ci * kh * kw)).unwrap();
    let kernel = model.add_const("kernel", kernel).unwrap();
    let bias = model.add_const("bias", Tensor::from_shape(&[co], &values(11, co)).unwrap()).unwrap();
    let conv = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
    let mut y = model.wire_node("conv", conv, &[x, kernel, bias]).unwrap();
    if relu {
        let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
        y = model.wire_node("relu", max(), &[y[0], zero]).unwrap();
    }
    model.select_output_outlets(&y).unwrap();
    model
}

fn input(shape: [usize; 4]) -> Tensor {
    Tensor::from_shape(&shape, &values(3, shape.iter().product())).unwrap()
}

/// Input shape, output channels, kernel, stride, dilation, padding, ReLU after.
type ConvCase = ([usize; 4], usize, [usize; 2], [usize; 2], [usize; 2], PaddingSpec, bool);
/// Input shape, kernel, stride, padding.
type PoolCase = ([usize; 4], [usize; 2], [usize; 2], PaddingSpec);

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn convolutions_match_tract() {
    use PaddingSpec::*;
    let cases: Vec<ConvCase> = vec![
        ([2, 3, 32, 32], 6, [5, 5], [1, 1], [1, 1], Valid, true),
        ([1, 6, 14, 14], 16, [5, 5], [1, 1], [1, 1], Valid, false),
        ([1, 1, 28, 28], 8, [3, 3], [1, 1], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), true),
        ([3, 8, 14, 14], 17, [3, 3], [1, 1], [1, 1], SameUpper, false),
        ([1, 5, 11, 9], 3, [3, 2], [2, 1], [1, 1], Explicit(tvec![2, 0], tvec![1, 3]), true),
        ([2, 4, 13, 15], 9, [3, 3], [2, 2], [2, 1], SameLower, false),
        ([1, 2, 7, 7], 1, [1, 1], [1, 1], [1, 1], Valid, false),
        ([1, 7, 6, 5], 12, [7, 7], [3, 1], [1, 1], Explicit(tvec![3, 3], tvec![3, 3]), false),
        // 1×1 kernels take any number of output channels, strided or not.
        ([1, 6, 5, 5], 300, [1, 1], [1, 1], [1, 1], Valid, true),
        ([2, 4, 7, 7], 260, [1, 1], [2, 2], [1, 1], Valid, false),
        // Wide layers, and kernels of more taps than one pass sums (1152): in two and three blocks.
        ([1, 4, 6, 6], 300, [3, 3], [1, 1], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), true),
        ([1, 160, 5, 5], 20, [3, 3], [1, 1], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), true),
        ([2, 300, 6, 5], 9, [3, 3], [2, 2], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), false),
        ([1, 1200, 3, 3], 10, [1, 1], [1, 1], [1, 1], Valid, false),
    ];
    for (i, (shape, co, kernel, stride, dilation, padding, relu)) in cases.into_iter().enumerate() {
        let spec = spec(kernel, stride, dilation, padding, shape[1], co);
        let (diff, swapped) = compare(conv_model(shape, co, spec, relu), input(shape));
        assert_eq!(swapped, 1, "case {i}: the convolution was not swapped");
        // Sums of more terms round further apart in another order (values in [-1, 1)).
        let taps = shape[1] * kernel[0] * kernel[1];
        let tolerance = 1e-5 * (taps as f32 / 1000.0).max(1.0);
        assert!(diff <= tolerance, "case {i}: max abs difference {diff}");
    }
}

/// Depthwise convolutions (one group per channel), as MobileNets and EfficientNets have them:
/// 3×3 and 5×5, strides 1, 2 and 3, paddings, a dilation, widths that are not whole blocks of 8
/// outputs, a batch of 2.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn depthwise_convolutions_match_tract() {
    use PaddingSpec::*;
    let cases: Vec<ConvCase> = vec![
        ([1, 8, 14, 14], 8, [3, 3], [1, 1], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), true),
        ([1, 5, 15, 13], 5, [3, 3], [2, 2], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), false),
        ([2, 3, 17, 19], 3, [5, 5], [2, 2], [1, 1], Explicit(tvec![2, 2], tvec![2, 2]), true),
        ([1, 4, 9, 23], 4, [5, 5], [1, 1], [1, 1], SameUpper, false),
        ([1, 2, 12, 12], 2, [3, 3], [3, 3], [1, 1], Valid, false),
        ([1, 3, 11, 11], 3, [3, 2], [1, 2], [2, 1], Explicit(tvec![0, 1], tvec![2, 0]), true),
        ([1, 6, 1, 1], 6, [3, 3], [1, 1], [1, 1], Explicit(tvec![1, 1], tvec![1, 1]), false),
    ];
    for (i, (shape, co, kernel, stride, dilation, padding, relu)) in cases.into_iter().enumerate() {
        let spec = spec(kernel, stride, dilation, padding, shape[1], co);
        let (diff, swapped) = compare(grouped_conv_model(shape, co, shape[1], spec, relu), input(shape));
        assert_eq!(swapped, 1, "case {i}: the convolution was not swapped");
        assert!(diff <= 1e-5, "case {i}: max abs difference {diff}");
    }
    // Two groups of two channels: not depthwise, stays with tract.
    let mut model = grouped_conv_model([1, 4, 6, 6], 4, 2, spec([3, 3], [1, 1], [1, 1], Valid, 4, 4), false);
    assert_eq!(swap_in(&mut model).unwrap(), 0);
}

/// ReLU6 (`Clip(x, 0, 6)`: a max by 0 then a min by 6) after a convolution and a depthwise one is
/// folded into the kernel, on sums that reach past 6.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn relu6_is_folded() {
    use tract_onnx::tract_core::ops::math::min;
    for group in [1, 6] {
        let shape = [1, 6, 9, 9];
        let mut model = grouped_conv_model(shape, 6, group, spec([5, 5], [1, 1], [1, 1], PaddingSpec::Valid, 6, 6), true);
        let relu = model.node_by_name("relu").unwrap().id;
        let six = model.add_const("six", tensor4(&[[[[6f32]]]])).unwrap();
        let y = model.wire_node("relu6", min(), &[OutletId::new(relu, 0), six]).unwrap();
        model.select_output_outlets(&y).unwrap();
        // Inputs scaled so that some sums pass 6 and some stay under 0.
        let input = Tensor::from_shape(&shape, &values(3, 486).iter().map(|v| v * 4.0).collect::<Vec<_>>()).unwrap();
        let theirs = model.clone().into_optimized().unwrap().into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        assert_eq!(swap_in(&mut model).unwrap(), 1);
        assert!(!model.nodes().iter().any(|n| n.name == "relu6" || n.name == "relu"), "group {group}: the clamp was not folded");
        let out = theirs[0].try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec();
        assert!(out.contains(&6.0) && out.contains(&0.0), "group {group}: the test's sums do not reach both bounds");
        let ours = model.into_optimized().unwrap().into_runnable().unwrap().run(tvec!(input.into_tvalue())).unwrap();
        assert!(max_diff(&theirs, &ours) <= 1e-5, "group {group}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn a_relu_read_elsewhere_is_not_fused() {
    let shape = [1, 2, 6, 6];
    let mut model = conv_model(shape, 3, spec([3, 3], [1, 1], [1, 1], PaddingSpec::Valid, 2, 3), true);
    let conv = model.node_by_name("conv").unwrap().id;
    let relu = model.node_by_name("relu").unwrap().id;
    model.select_output_outlets(&[OutletId::new(relu, 0), OutletId::new(conv, 0)]).unwrap();
    let theirs = model.clone().into_optimized().unwrap().into_runnable().unwrap();
    assert_eq!(swap_in(&mut model).unwrap(), 1);
    assert!(model.nodes().iter().any(|n| n.name == "relu"), "the ReLU was fused although the convolution is an output");
    let ours = model.into_optimized().unwrap().into_runnable().unwrap();
    let a = theirs.run(tvec!(input(shape).into_tvalue())).unwrap();
    let b = ours.run(tvec!(input(shape).into_tvalue())).unwrap();
    assert!(max_diff(&a, &b) <= 1e-5);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn max_pools_match_tract() {
    use PaddingSpec::*;
    let cases: Vec<PoolCase> = vec![
        ([2, 6, 28, 28], [2, 2], [2, 2], Valid),
        ([1, 8, 28, 28], [2, 2], [2, 2], Valid),
        ([1, 3, 15, 17], [3, 3], [2, 2], Explicit(tvec![1, 1], tvec![1, 1])),
        ([2, 2, 9, 10], [2, 3], [2, 2], ExplicitOnnxPool(tvec![0, 1], tvec![0, 1], true)),
        ([1, 4, 7, 7], [3, 3], [1, 1], SameUpper),
        ([1, 1, 5, 5], [5, 5], [1, 1], Valid),
    ];
    for (i, (shape, kernel, stride, padding)) in cases.into_iter().enumerate() {
        let c = shape[1];
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let pool = MaxPool { pool_spec: spec(kernel, stride, [1, 1], padding, c, c), with_index_outputs: None };
        let y = model.wire_node("pool", pool, &[x]).unwrap();
        model.select_output_outlets(&y).unwrap();
        let (diff, swapped) = compare(model, input(shape));
        assert_eq!(swapped, 1, "case {i}: the max-pool was not swapped");
        assert_eq!(diff, 0.0, "case {i}");
    }
}

/// `x[n, k…] · W[o, k…]` as tract declutters a Gemm (`axes` names x's axes, then W's), with
/// a bias `Add` and a ReLU after it when asked.
fn dense_model(x_shape: &[usize], o: usize, axes: &str, bias: bool, relu: bool) -> TypedModel {
    let mut w_shape = x_shape.to_vec();
    w_shape[0] = o;
    product_model(x_shape, &w_shape, o, axes, bias.then_some(1), relu)
}

/// `x · W` by a constant `W` of `w_shape` (`axes` names x's axes, W's, the output's), with a bias
/// `Add` of `o` values along the output axis `bias` names and a ReLU after it when asked.
fn product_model(x_shape: &[usize], w_shape: &[usize], o: usize, axes: &str, bias: Option<usize>, relu: bool) -> TypedModel {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(x_shape)).unwrap();
    let w = Tensor::from_shape(w_shape, &values(5, w_shape.iter().product())).unwrap();
    let w = model.add_const("w", w).unwrap();
    let einsum = EinSum::new(axes.parse().unwrap(), f32::datum_type());
    let mut y = model.wire_node("product", einsum, &[x, w]).unwrap();
    let rank = model.outlet_fact(y[0]).unwrap().rank();
    if let Some(axis) = bias {
        let mut b_shape = vec![1; rank];
        b_shape[axis] = o;
        let b = model.add_const("b", Tensor::from_shape(&b_shape, &values(9, o)).unwrap()).unwrap();
        y = model.wire_node("bias", add(), &[y[0], b]).unwrap();
    }
    if relu {
        let zero = model.add_const("zero", Tensor::from_shape(&vec![1; rank], &[0f32]).unwrap()).unwrap();
        y = model.wire_node("relu", max(), &[y[0], zero]).unwrap();
    }
    model.select_output_outlets(&y).unwrap();
    model
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn dense_layers_match_tract() {
    let cases: Vec<(Vec<usize>, usize, &str, bool, bool)> = vec![
        (vec![2, 16, 5, 5], 120, "nabc,oabc->no", true, true),
        (vec![2, 120], 84, "nk,ok->no", true, true),
        (vec![2, 84], 10, "nk,ok->no", true, false),
        (vec![1, 16], 10, "nk,ok->no", true, false),
        (vec![3, 33], 17, "nk,ok->no", false, true),
        (vec![4, 7], 1, "nk,ok->no", false, false),
    ];
    for (i, (shape, o, axes, bias, relu)) in cases.into_iter().enumerate() {
        let input = Tensor::from_shape(&shape, &values(3, shape.iter().product())).unwrap();
        let (diff, swapped) = compare(dense_model(&shape, o, axes, bias, relu), input);
        assert_eq!(swapped, 1, "case {i}: the dense layer was not swapped");
        assert!(diff <= 1e-5, "case {i}: max abs difference {diff}");
    }
}

/// Products by a weight over many rows, as a language model's layers and head export: `W` as
/// `[o, k]` or `[k, o]`, size-1 axes dropped from x or added to the output, rows not a multiple
/// of the 4 a tile takes, outputs not a multiple of its 8.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn matrix_products_by_a_weight_match_tract() {
    /// x's shape, W's shape, outputs, axes, bias.
    type Case = (Vec<usize>, Vec<usize>, usize, &'static str, bool);
    let cases: Vec<Case> = vec![
        (vec![1, 6, 8], vec![13, 8], 13, "amk,nk->amn", true),
        (vec![1, 6, 8], vec![8, 13], 13, "amk,kn->amn", false),
        (vec![6, 8], vec![8, 13], 13, "mk,kn->amn", true),
        (vec![1, 9, 8], vec![8, 13], 13, "amk,kn->mn", true),
        (vec![2, 3, 8], vec![8, 5], 5, "abk,kn->abn", false),
        (vec![5, 8], vec![6, 8], 6, "nk,ok->no", true),
        (vec![64, 40], vec![40, 24], 24, "mk,kn->mn", true),
    ];
    for (i, (x, w, o, axes, bias)) in cases.into_iter().enumerate() {
        let input = Tensor::from_shape(&x, &values(3, x.iter().product())).unwrap();
        let rank = axes.split("->").nth(1).unwrap().len();
        let (diff, swapped) = compare(product_model(&x, &w, o, axes, bias.then_some(rank - 1), false), input);
        assert_eq!(swapped, 1, "case {i} ({axes}): the product was not swapped");
        assert!(diff <= 1e-5, "case {i} ({axes}): max abs difference {diff}");
    }
}

/// A product by a transposed weight that tract has not folded (a tied embedding read as a language
/// model's head: `MatMul(x, Transpose(table))`, the table also read by a `Gather`).
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn a_transposed_weight_is_read_where_it_lies() {
    use tract_onnx::tract_core::ops::change_axes::AxisOp;
    let (m, k, o) = (5, 8, 13);
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([1, m, k])).unwrap();
    let table = model.add_const("table", Tensor::from_shape(&[o, k], &values(5, o * k)).unwrap()).unwrap();
    let w = model.wire_node("transpose", AxisOp::Move(1, 0), &[table]).unwrap();
    let einsum = EinSum::new("amk,kn->amn".parse().unwrap(), f32::datum_type());
    let y = model.wire_node("head", einsum, &[x, w[0]]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let input = Tensor::from_shape(&[1, m, k], &values(3, m * k)).unwrap();
    let (diff, swapped) = compare(model, input);
    assert_eq!(swapped, 1, "the product was not swapped");
    assert!(diff <= 1e-5, "max abs difference {diff}");
}

/// 1×1 convolutions as tract declutters them (channels, then pixels; the batch axis dropped or
/// kept), with a bias per output channel and a ReLU; more output channels than a 3×3 takes.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn pointwise_convolutions_match_tract() {
    /// x's shape, W's shape, output channels, axes, the bias's output axis, ReLU.
    type Case = (Vec<usize>, Vec<usize>, usize, &'static str, Option<usize>, bool);
    let cases: Vec<Case> = vec![
        (vec![6, 5, 7], vec![10, 6], 10, "IHW,OI->OHW", Some(0), true),
        (vec![1, 6, 5, 7], vec![10, 6], 10, "NIHW,OI->OHW", Some(0), false),
        (vec![2, 6, 3, 3], vec![6, 300], 300, "NIHW,IO->NOHW", Some(1), true),
        (vec![1, 9, 11], vec![3, 9], 3, "NIP,OI->NOP", None, false),
    ];
    for (i, (x, w, o, axes, bias, relu)) in cases.into_iter().enumerate() {
        let input = Tensor::from_shape(&x, &values(3, x.iter().product())).unwrap();
        let (diff, swapped) = compare(product_model(&x, &w, o, axes, bias, relu), input);
        assert_eq!(swapped, 1, "case {i} ({axes}): the convolution was not swapped");
        assert!(diff <= 1e-5, "case {i} ({axes}): max abs difference {diff}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn other_products_stay_with_tract() {
    // A transposed output; summed axes in different orders.
    for (shape, axes) in [(vec![2, 8], "nk,ok->on"), (vec![2, 3, 3], "nab,oba->no")] {
        let mut model = dense_model(&shape, 6, axes, true, true);
        assert_eq!(swap_in(&mut model).unwrap(), 0, "{axes} on {shape:?}");
    }
    let mut model = dense_model(&[2, 3, 3], 6, "nab,oab->no", true, true);
    assert_eq!(swap_in(&mut model).unwrap(), 1);
    // Rows in another order in the output; a summed axis of x that is not of size 1; a weight
    // with a batch axis.
    for (x, w, axes) in [(vec![2, 3, 8], vec![8, 5], "abk,kn->ban"), (vec![2, 3, 8], vec![8, 5], "amk,kn->mn"), (vec![2, 3, 8], vec![2, 8, 5], "amk,akn->amn")] {
        let mut model = product_model(&x, &w, 5, axes, None, false);
        assert_eq!(swap_in(&mut model).unwrap(), 0, "{axes} on {x:?}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn symbolic_shapes_stay_with_tract() {
    let mut model = TypedModel::default();
    let n = model.symbols.sym("n");
    let x = model.add_source("x", f32::fact([n.to_dim(), 2.to_dim(), 8.to_dim(), 8.to_dim()])).unwrap();
    let pool = MaxPool { pool_spec: spec([2, 2], [2, 2], [1, 1], PaddingSpec::Valid, 2, 2), with_index_outputs: None };
    let y = model.wire_node("pool", pool, &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    assert_eq!(swap_in(&mut model).unwrap(), 0);
}

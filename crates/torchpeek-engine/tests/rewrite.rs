//! The graph rewrites run before tract optimises (`torchpeek_engine::rewrite`): each keeps the
//! model's outputs, and does what it is there for (no `powf` left for `x^3`; a weight shared by a
//! `Gather` and a matrix product packed when the plan is built, not at every run).

use torchpeek_engine::rewrite::rewrite;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::Gather;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::pow_const;

/// Deterministic values in [-2, 2).
fn values(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0).collect()
}

/// Optimises `model` with and without the rewrites; runs both: (how many rewrites, the outputs of
/// tract alone, ours, the optimised model with the rewrites).
fn both(model: TypedModel, inputs: TVec<TValue>) -> (usize, TVec<TValue>, TVec<TValue>, TypedModel) {
    let theirs = model.clone().into_optimized().unwrap();
    let mut ours = model;
    let n = rewrite(&mut ours).unwrap();
    let ours = ours.into_optimized().unwrap();
    let a = theirs.clone().into_runnable().unwrap().run(inputs.clone()).unwrap();
    let b = ours.clone().into_runnable().unwrap().run(inputs).unwrap();
    (n, a, b, ours)
}

fn f32s(v: &TValue) -> Vec<f32> {
    v.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()
}

fn ops(model: &TypedModel) -> Vec<String> {
    model.nodes().iter().map(|n| format!("{:?}", n.op())).collect()
}

#[test]
fn cubes_become_products() {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([4, 33])).unwrap();
    let y = model.wire_node("pow", pow_const(3.0), &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let input = Tensor::from_shape(&[4, 33], &values(132)).unwrap();
    let (n, theirs, ours, optimized) = both(model, tvec!(input.into_tvalue()));
    assert_eq!(n, 1);
    assert!(!ops(&optimized).iter().any(|o| o.contains("PowConst")), "{:?}", ops(&optimized));
    for (a, b) in f32s(&theirs[0]).iter().zip(f32s(&ours[0])) {
        assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} against {b}");
    }
}

#[test]
fn other_powers_stay() {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([3])).unwrap();
    let y = model.wire_node("pow", pow_const(2.5), &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    assert_eq!(rewrite(&mut model).unwrap(), 0);
}

/// A tied embedding: `table` is both what token ids index and the weight of the product after.
/// Over 4 MiB: tract folds smaller shared constants anyway (`CONST_FOLD_MEM_BUDGET`).
fn tied_model() -> TypedModel {
    let mut model = TypedModel::default();
    let ids = model.add_source("ids", i64::fact([1, 5])).unwrap();
    let table = Tensor::from_shape(&[1030, 1024], &values(1030 * 1024)).unwrap();
    let table = model.add_const("table", table).unwrap();
    let h = model.wire_node("embed", Gather::new(0), &[table, ids]).unwrap();
    let einsum = EinSum::new("bsk,vk->bsv".parse().unwrap(), f32::datum_type());
    let y = model.wire_node("lm_head", einsum, &[h[0], table]).unwrap();
    model.select_output_outlets(&y).unwrap();
    model
}

/// The optimised model's nodes that pack a matrix for a product at run time.
fn packs(model: &TypedModel) -> usize {
    ops(model).iter().filter(|o| o.contains("OptMatMulPack")).count()
}

#[test]
fn a_tied_weight_is_packed_once() {
    let ids = tensor2(&[[3i64, 0, 1029, 7, 7]]).into_tvalue();
    let untouched = packs(&tied_model().into_optimized().unwrap());
    let (n, theirs, ours, optimized) = both(tied_model(), tvec!(ids));
    assert_eq!(n, 1, "one more Const node");
    assert!(packs(&optimized) < untouched, "packs at run time: {} with the rewrite, {untouched} without", packs(&optimized));
    assert_eq!(f32s(&theirs[0]), f32s(&ours[0]));
}

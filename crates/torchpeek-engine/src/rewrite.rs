//! Graph rewrites run on a typed model before tract optimises it, for what tract's own passes
//! leave slow in a plan:
//!
//! - `x^3` (GPT-2's `gelu_new`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`). tract turns `Pow`
//!   by a constant 3 into `PowConst`, which calls `powf` per element (about 65 ns each in wasm,
//!   a tenth of a GPT-2 run), and it does so before its GELU pattern could match. It becomes
//!   `Square(x)·x`.
//! - Constants read by several nodes (a tied embedding: GPT-2's token table is both the `Gather`'s
//!   table and the LM head's weight). tract folds an op on constants only when each constant has
//!   one reader (or is small), so the LM head's weight was transposed and packed for the matrix
//!   product on every run. Each reader gets its own `Const` node, sharing the same tensor (no
//!   copy), and the weight is packed once, when the plan is built.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::math::{mul, square, PowConst};

/// Both rewrites; returns how many nodes were rewritten (cubes) or added (constants).
pub fn rewrite(model: &mut TypedModel) -> TractResult<usize> {
    Ok(cubes(model)? + unshare_constants(model)?)
}

/// Replaces each float `PowConst` by 3 with `Square(x)·x`.
fn cubes(model: &mut TypedModel) -> TractResult<usize> {
    let mut rewritten = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let is_cube = node
            .op_as::<ElementWiseOp>()
            .and_then(|ew| ew.0.downcast_ref::<PowConst>())
            .is_some_and(|p| p.exponent == 3.0);
        if !is_cube || model.outlet_fact(node.inputs[0])?.datum_type != f32::datum_type() {
            continue;
        }
        let mut patch = TypedModelPatch::new("torchpeek cube");
        let x = patch.tap_model(model, node.inputs[0])?;
        let squared = patch.wire_node(format!("{}.square", node.name), square(), &[x])?[0];
        let cubed = patch.wire_node(format!("{}.cube", node.name), mul(), &[squared, x])?[0];
        patch.shunt_outside(model, OutletId::new(id, 0), cubed)?;
        patch.apply(model)?;
        rewritten += 1;
    }
    Ok(rewritten)
}

/// Gives every reader of a constant but the first its own `Const` node over the same tensor.
fn unshare_constants(model: &mut TypedModel) -> TractResult<usize> {
    let mut added = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(konst) = node.op_as::<Const>() else { continue };
        let [_, others @ ..] = node.outputs[0].successors.as_slice() else { continue };
        let (others, konst, fact, name) = (others.to_vec(), konst.clone(), node.outputs[0].fact.clone(), node.name.clone());
        for (i, reader) in others.into_iter().enumerate() {
            let copy = model.add_node(format!("{name}.{}", i + 1), konst.clone(), tvec!(fact.clone()))?;
            model.add_edge(OutletId::new(copy, 0), reader)?;
            added += 1;
        }
    }
    Ok(added)
}

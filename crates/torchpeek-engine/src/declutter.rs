//! Decluttering a typed model: our convolution and max-pool kernels swapped in first, then tract's
//! declutter passes, less `ChangeAxes` where it cannot pay.
//!
//! The kernels go in as soon as constants are folded (the ONNX importer casts each bias, for
//! one), where the shapes are known: tract's passes then never rewrite those nodes (see
//! `kernels::swap_in_windows`).
//!
//! `ChangeAxes` tries to remove or move every axis it may, starting with every size-1 axis of
//! every value (the batch axis of a batch-1 network, on each of its hundreds of nodes), and
//! explores the graph from each. In a convolution network it finds nothing worth changing and is
//! most of a load: natively, 40 of MobileNetV3-small's 57 ms of decluttering, 90 of
//! EfficientNet-B0's 112 ms, with the same run time without it. In attention it takes the axis
//! shuffles out from around the matrix products (GPT-2 ran 2.2x slower without it), so a model
//! with a Softmax keeps it.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::Softmax;
use tract_onnx::tract_core::optim::Optimizer;

/// tract's `ChangeAxes` pass, known by its Debug name (its type is private to tract).
fn is_change_axes(pass: &dyn std::fmt::Debug) -> bool {
    format!("{pass:?}") == "ChangeAxes"
}

/// Declutters `model` in place (see the module's doc for which passes run).
pub fn declutter(model: &mut TypedModel) -> TractResult<()> {
    Optimizer::prop_consts().optimize(model)?;
    crate::kernels::swap_in_windows(model)?;
    let mut optimizer = Optimizer::declutter();
    if !model.nodes().iter().any(|n| n.op_is::<Softmax>()) {
        optimizer.passes.retain(|p| !is_change_axes(p));
    }
    optimizer.optimize(model)
}

#[cfg(test)]
mod tests {
    /// A tract that renamed the pass would keep it silently (a slow load, not a wrong one).
    #[test]
    fn change_axes_is_found_by_name() {
        let passes = tract_onnx::tract_core::optim::Optimizer::declutter().passes;
        assert_eq!(passes.iter().filter(|p| super::is_change_axes(p)).count(), 1);
    }
}

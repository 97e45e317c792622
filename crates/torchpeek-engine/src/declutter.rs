//! Decluttering a typed model: constants folded, our kernels swapped in, then tract's declutter
//! passes less `ChangeAxes`.
//!
//! The kernels go in as soon as constants are folded (the ONNX importer casts each bias, for
//! one), where the shapes are known: tract's passes then never rewrite the nodes they take
//! (see `kernels`). Rewriting a 1×1 convolution as a product copied its weights, lowering the
//! other convolutions built im2col and depthwise plans, and exploring the axes around every
//! projection of a transformer was most of its load.
//!
//! `ChangeAxes` tries to remove or move every axis it may, starting with every size-1 axis of
//! every value (the batch axis of a batch-1 network, on each of its hundreds of nodes), and
//! explores the graph from each. It was most of a load: natively, 40 of MobileNetV3-small's 57
//! ms of decluttering, 24 of ViT-tiny's 47 ms. In attention it used to pay for itself, taking
//! axis shuffles out from around the matrix products (GPT-2 ran 2.2x slower without it); with
//! the projections swapped in first it no longer does: GPT-2's steady run is the same without
//! it, and its load, ViT-tiny's and BERT's are shorter (README, "Engine benchmark set").

use tract_onnx::prelude::*;
use tract_onnx::tract_core::optim::Optimizer;

/// tract's `ChangeAxes` pass, known by its Debug name (its type is private to tract).
fn is_change_axes(pass: &dyn std::fmt::Debug) -> bool {
    format!("{pass:?}") == "ChangeAxes"
}

/// Declutters `model` in place (see the module's doc for what runs).
pub fn declutter(model: &mut TypedModel) -> TractResult<()> {
    Optimizer::prop_consts().optimize(model)?;
    crate::kernels::swap_in(model)?;
    let mut optimizer = Optimizer::declutter();
    optimizer.passes.retain(|p| !is_change_axes(p));
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

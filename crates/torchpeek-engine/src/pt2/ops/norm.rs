//! Normalisations in inference form: batch norm with its running statistics
//! (`BatchNormalization`), layer norm (`LayerNormalization`).

use super::{known_dims, Translate};
use crate::pt2::{attr_f, attr_i, Builder, Call, Fail};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.batch_norm.default" | "aten.native_batch_norm.default" | "aten._native_batch_norm_legit_no_training.default" => {
            batch_norm
        }
        "aten.layer_norm.default" | "aten.native_layer_norm.default" => layer_norm,
        _ => return None,
    })
}

/// `weight` or, when the call has none, a constant of `value` over `dims`.
fn or_fill(b: &mut Builder, given: Option<&str>, value: f64, like: &str, dims: &[i64]) -> Result<String, Fail> {
    match given {
        Some(t) => Ok(t.to_string()),
        None => {
            let dtype = b.dtype(like)?;
            b.fill(value, dtype, dims)
        }
    }
}

fn batch_norm(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    if c.bool("training", false)? {
        return Err("batch norm on the batch's statistics (training mode: export the model after model.eval(), with running statistics)".into());
    }
    let x = c.tensor(b, "input")?;
    let (mean, var) = (c.tensor(b, "running_mean")?, c.tensor(b, "running_var")?);
    let channels = known_dims(b, mean, 0)?;
    let (w, bias) = (c.opt_tensor(b, "weight")?, c.opt_tensor(b, "bias")?);
    let scale = or_fill(b, w, 1.0, x, &channels)?;
    let shift = or_fill(b, bias, 0.0, x, &channels)?;
    let eps = c.float("eps", 1e-5)?;
    b.node("BatchNormalization", &[x, &scale, &shift, mean, var], &[c.out(0)?], vec![attr_f("epsilon", eps as f32)]);
    Ok(())
}

fn layer_norm(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "input")?;
    let shape = c.ints("normalized_shape", &[])?;
    if shape.is_empty() {
        return Err("an empty normalized_shape".into());
    }
    let (w, bias) = (c.opt_tensor(b, "weight")?, c.opt_tensor(b, "bias")?);
    let scale = or_fill(b, w, 1.0, x, &shape)?;
    let mut inputs = vec![x, scale.as_str()];
    inputs.extend(bias);
    let attrs = vec![attr_i("axis", -(shape.len() as i64)), attr_f("epsilon", c.float("eps", 1e-5)? as f32)];
    b.node("LayerNormalization", &inputs, &[c.out(0)?], attrs);
    Ok(())
}

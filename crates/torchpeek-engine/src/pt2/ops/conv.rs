//! Convolutions (`Conv`, `ConvTranspose`) and pooling (`MaxPool`, `AveragePool`, global pools).

use super::{known_dims, spatial, Translate};
use crate::pt2::{attr_i, attr_ints, Builder, Call, Fail};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.conv1d.default" | "aten.conv2d.default" | "aten.conv3d.default" | "aten.conv1d.padding" | "aten.conv2d.padding"
        | "aten.conv3d.padding" | "aten.convolution.default" => conv,
        "aten.conv_transpose1d.default" | "aten.conv_transpose2d.input" | "aten.conv_transpose3d.input" => conv_transpose,
        "aten.max_pool1d.default" | "aten.max_pool2d.default" | "aten.max_pool3d.default" | "aten.max_pool2d_with_indices.default"
        | "aten.max_pool3d_with_indices.default" => max_pool,
        "aten.avg_pool1d.default" | "aten.avg_pool2d.default" | "aten.avg_pool3d.default" => avg_pool,
        "aten.adaptive_avg_pool1d.default" | "aten.adaptive_avg_pool2d.default" | "aten.adaptive_avg_pool3d.default"
        | "aten._adaptive_avg_pool2d.default" | "aten._adaptive_avg_pool3d.default" => adaptive_avg_pool,
        "aten.adaptive_max_pool1d.default" | "aten.adaptive_max_pool2d.default" | "aten.adaptive_max_pool3d.default" => adaptive_max_pool,
        _ => return None,
    })
}

/// The number of spatial dimensions of a weight (`[C_out, C_in/groups, k...]`).
fn spatial_rank(b: &Builder, w: &str) -> Result<usize, Fail> {
    match b.rank(w)? {
        r if r >= 3 => Ok(r - 2),
        r => Err(format!("a weight of rank {r}")),
    }
}

/// ONNX pads (`[begin..., end...]`) from torch's symmetric padding.
fn pads(padding: &[i64]) -> Vec<i64> {
    [padding, padding].concat()
}

/// The input and (if any) bias of a convolution, with the weight: the node's ONNX inputs.
fn conv_inputs<'a>(b: &Builder, c: &Call<'a>) -> Result<Vec<&'a str>, Fail> {
    let mut inputs = vec![c.tensor(b, "input")?, c.tensor(b, "weight")?];
    inputs.extend(c.opt_tensor(b, "bias")?);
    Ok(inputs)
}

fn conv(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    if c.bool("transposed", false)? {
        return conv_transpose(b, c);
    }
    let inputs = conv_inputs(b, c)?;
    let n = spatial_rank(b, inputs[1])?;
    if b.rank(inputs[0])? != n + 2 {
        return Err(format!("an input of rank {} (only batched inputs are supported)", b.rank(inputs[0])?));
    }
    let dilations = spatial(c, "dilation", n, 1)?;
    let pads = match c.str("padding") {
        None => pads(&spatial(c, "padding", n, 0)?),
        Some("valid") => vec![0; 2 * n],
        Some("same") => {
            // torch pads `d·(k-1)` per dimension, the odd one at the end.
            let kernel = known_dims(b, inputs[1], 2)?;
            let total: Vec<i64> = kernel.iter().zip(&dilations).map(|(k, d)| d.saturating_mul(k.saturating_sub(1))).collect();
            let begin: Vec<i64> = total.iter().map(|t| t / 2).collect();
            let end: Vec<i64> = total.iter().zip(&begin).map(|(t, s)| t - s).collect();
            [begin, end].concat()
        }
        Some(other) => return Err(format!("padding {other:?}")),
    };
    let attrs = vec![
        attr_ints("strides", spatial(c, "stride", n, 1)?),
        attr_ints("pads", pads),
        attr_ints("dilations", dilations),
        attr_i("group", c.int("groups", 1)?),
    ];
    b.node("Conv", &inputs, &[c.out(0)?], attrs);
    Ok(())
}

fn conv_transpose(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let inputs = conv_inputs(b, c)?;
    let n = spatial_rank(b, inputs[1])?;
    let attrs = vec![
        attr_ints("strides", spatial(c, "stride", n, 1)?),
        attr_ints("pads", pads(&spatial(c, "padding", n, 0)?)),
        attr_ints("output_padding", spatial(c, "output_padding", n, 0)?),
        attr_ints("dilations", spatial(c, "dilation", n, 1)?),
        attr_i("group", c.int("groups", 1)?),
    ];
    b.node("ConvTranspose", &inputs, &[c.out(0)?], attrs);
    Ok(())
}

/// A pooling call's kernel and strides (an empty stride is the kernel), over `n` spatial dimensions.
fn window(b: &Builder, c: &Call, x: &str) -> Result<(usize, Vec<i64>, Vec<i64>), Fail> {
    let n = b.rank(x)?.checked_sub(2).filter(|&n| n > 0).ok_or("an unbatched input (only batched inputs are supported)")?;
    let kernel = spatial(c, "kernel_size", n, 1)?;
    let stride = c.ints("stride", &[])?;
    let strides = if stride.is_empty() { kernel.clone() } else { spatial(c, "stride", n, 1)? };
    Ok((n, kernel, strides))
}

fn max_pool(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let (n, kernel, strides) = window(b, c, x)?;
    let attrs = vec![
        attr_ints("kernel_shape", kernel),
        attr_ints("strides", strides),
        attr_ints("pads", pads(&spatial(c, "padding", n, 0)?)),
        attr_ints("dilations", spatial(c, "dilation", n, 1)?),
        attr_i("ceil_mode", c.bool("ceil_mode", false)? as i64),
    ];
    b.node("MaxPool", &[x], &[c.out(0)?], attrs);
    Ok(())
}

fn avg_pool(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    if c.opt_int("divisor_override")?.is_some() {
        return Err("divisor_override is not supported".into());
    }
    let (n, kernel, strides) = window(b, c, x)?;
    let attrs = vec![
        attr_ints("kernel_shape", kernel),
        attr_ints("strides", strides),
        attr_ints("pads", pads(&spatial(c, "padding", n, 0)?)),
        attr_i("ceil_mode", c.bool("ceil_mode", false)? as i64),
        attr_i("count_include_pad", c.bool("count_include_pad", true)? as i64),
    ];
    b.node("AveragePool", &[x], &[c.out(0)?], attrs);
    Ok(())
}

/// An adaptive pool as a global pool (every output size 1) or, where each input size is a multiple
/// of its output size, as a plain pool with kernel = stride = input / output.
fn adaptive(b: &mut Builder, c: &Call, global: &str, plain: &str) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let n = b.rank(x)?.checked_sub(2).filter(|&n| n > 0).ok_or("an unbatched input (only batched inputs are supported)")?;
    let out = spatial(c, "output_size", n, 1)?;
    if out.iter().all(|&o| o == 1) {
        b.node(global, &[x], &[c.out(0)?], vec![]);
        return Ok(());
    }
    let size = known_dims(b, x, 2)?;
    if size.iter().zip(&out).any(|(&s, &o)| o <= 0 || s % o != 0) {
        return Err(format!("output size {out:?} does not divide input size {size:?}"));
    }
    let kernel: Vec<i64> = size.iter().zip(&out).map(|(s, o)| s / o).collect();
    b.node(plain, &[x], &[c.out(0)?], vec![attr_ints("kernel_shape", kernel.clone()), attr_ints("strides", kernel)]);
    Ok(())
}

fn adaptive_avg_pool(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    adaptive(b, c, "GlobalAveragePool", "AveragePool")
}

fn adaptive_max_pool(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    adaptive(b, c, "GlobalMaxPool", "MaxPool")
}

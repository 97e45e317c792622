//! Activations and elementwise functions of one tensor: `relu`, `gelu` (exact or tanh), `silu`,
//! `sigmoid`, `tanh`, `softmax`/`log_softmax` over a dimension, the clipped and leaky variants,
//! and the unary math functions (`exp`, `sqrt`, `rsqrt` ...).

use super::Translate;
use crate::pt2::{attr_f, attr_i, attr_s, Builder, Call, Fail};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.relu.default" => |b, c| unary(b, c, "Relu"),
        "aten.sigmoid.default" => |b, c| unary(b, c, "Sigmoid"),
        "aten.tanh.default" => |b, c| unary(b, c, "Tanh"),
        "aten.exp.default" => |b, c| unary(b, c, "Exp"),
        "aten.log.default" => |b, c| unary(b, c, "Log"),
        "aten.sqrt.default" => |b, c| unary(b, c, "Sqrt"),
        "aten.reciprocal.default" => |b, c| unary(b, c, "Reciprocal"),
        "aten.neg.default" => |b, c| unary(b, c, "Neg"),
        "aten.abs.default" => |b, c| unary(b, c, "Abs"),
        "aten.erf.default" => |b, c| unary(b, c, "Erf"),
        "aten.sin.default" => |b, c| unary(b, c, "Sin"),
        "aten.cos.default" => |b, c| unary(b, c, "Cos"),
        "aten.floor.default" => |b, c| unary(b, c, "Floor"),
        "aten.ceil.default" => |b, c| unary(b, c, "Ceil"),
        "aten.hardswish.default" => |b, c| unary(b, c, "HardSwish"),
        "aten.rsqrt.default" => rsqrt,
        "aten.silu.default" => silu,
        "aten.gelu.default" => gelu,
        "aten.hardsigmoid.default" => hardsigmoid,
        "aten.leaky_relu.default" => leaky_relu,
        "aten.elu.default" => elu,
        "aten.hardtanh.default" => |b, c| clip(b, c, c.float("min_val", -1.0)?, c.float("max_val", 1.0)?),
        "aten.relu6.default" => |b, c| clip(b, c, 0.0, 6.0),
        "aten.clamp.default" => |b, c| clip(b, c, c.opt_float("min")?.unwrap_or(f64::NEG_INFINITY), c.opt_float("max")?.unwrap_or(f64::INFINITY)),
        "aten.softmax.int" | "aten._softmax.default" => |b, c| softmax(b, c, "Softmax"),
        "aten.log_softmax.int" | "aten._log_softmax.default" => |b, c| softmax(b, c, "LogSoftmax"),
        _ => return None,
    })
}

/// One ONNX operator over `self`.
fn unary(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    b.node(op, &[c.tensor(b, "self")?], &[c.out(0)?], vec![]);
    Ok(())
}

fn rsqrt(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let root = b.op("Sqrt", &[c.tensor(b, "self")?], vec![]);
    b.node("Reciprocal", &[&root], &[c.out(0)?], vec![]);
    Ok(())
}

/// `x·sigmoid(x)`.
fn silu(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let s = b.op("Sigmoid", &[x], vec![]);
    b.node("Mul", &[x, &s], &[c.out(0)?], vec![]);
    Ok(())
}

fn gelu(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let attrs = match c.str("approximate").unwrap_or("none") {
        "none" => vec![],
        "tanh" => vec![attr_s("approximate", "tanh")],
        other => return Err(format!("approximate={other:?}")),
    };
    b.node("Gelu", &[c.tensor(b, "self")?], &[c.out(0)?], attrs);
    Ok(())
}

/// torch's hardsigmoid: `relu6(x + 3) / 6`.
fn hardsigmoid(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let attrs = vec![attr_f("alpha", 1.0 / 6.0), attr_f("beta", 0.5)];
    b.node("HardSigmoid", &[c.tensor(b, "self")?], &[c.out(0)?], attrs);
    Ok(())
}

fn leaky_relu(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let attrs = vec![attr_f("alpha", c.float("negative_slope", 0.01)? as f32)];
    b.node("LeakyRelu", &[c.tensor(b, "self")?], &[c.out(0)?], attrs);
    Ok(())
}

fn elu(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    if c.float("scale", 1.0)? != 1.0 || c.float("input_scale", 1.0)? != 1.0 {
        return Err("elu with a scale (selu) is not supported".into());
    }
    b.node("Elu", &[c.tensor(b, "self")?], &[c.out(0)?], vec![attr_f("alpha", c.float("alpha", 1.0)? as f32)]);
    Ok(())
}

/// `x` clipped to `[min, max]`.
fn clip(b: &mut Builder, c: &Call, min: f64, max: f64) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dtype = b.dtype(x)?;
    let (lo, hi) = (b.scalar(min, dtype)?, b.scalar(max, dtype)?);
    b.node("Clip", &[x, &lo, &hi], &[c.out(0)?], vec![]);
    Ok(())
}

/// Softmax or log-softmax over `dim`, in the dtype asked for (`dtype` argument) if any.
fn softmax(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dtype = c.out_meta(0)?.dtype.ok_or("the output's dtype is unknown")?;
    let x = b.cast_to(x, dtype)?;
    b.node(op, &[&x], &[c.out(0)?], vec![attr_i("axis", c.int("dim", -1)?)]);
    Ok(())
}

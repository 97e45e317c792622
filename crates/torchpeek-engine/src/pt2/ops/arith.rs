//! Elementwise arithmetic and comparisons of two operands (tensors or literal numbers, numpy
//! broadcasting as torch's), `where`, and the arithmetic of symbolic sizes (`_operator.mul` ...).
//!
//! torch promotes operand types; here every operand is cast to the dtype the program records for
//! the result (for comparisons, to the dtype of the first tensor operand), and a literal becomes a
//! constant of that dtype.

use super::Translate;
use crate::pt2::{number, Builder, Call, Fail};
use torchpeek::container::pt2::program::Arg;
use torchpeek::dtype::DType;

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.add.Tensor" | "aten.add.Scalar" => |b, c| binary(b, c, "Add"),
        "aten.sub.Tensor" | "aten.sub.Scalar" => |b, c| binary(b, c, "Sub"),
        "aten.mul.Tensor" | "aten.mul.Scalar" => |b, c| binary(b, c, "Mul"),
        "aten.div.Tensor" | "aten.div.Scalar" => |b, c| binary(b, c, "Div"),
        "aten.pow.Tensor_Scalar" | "aten.pow.Tensor_Tensor" => |b, c| binary(b, c, "Pow"),
        "aten.maximum.default" => |b, c| binary(b, c, "Max"),
        "aten.minimum.default" => |b, c| binary(b, c, "Min"),
        "aten.rsub.Tensor" | "aten.rsub.Scalar" => rsub,
        "aten.div.Tensor_mode" => div_mode,
        "aten.eq.Tensor" | "aten.eq.Scalar" => |b, c| compare(b, c, "Equal", false),
        "aten.ne.Tensor" | "aten.ne.Scalar" => |b, c| compare(b, c, "Equal", true),
        "aten.lt.Tensor" | "aten.lt.Scalar" => |b, c| compare(b, c, "Less", false),
        "aten.le.Tensor" | "aten.le.Scalar" => |b, c| compare(b, c, "LessOrEqual", false),
        "aten.gt.Tensor" | "aten.gt.Scalar" => |b, c| compare(b, c, "Greater", false),
        "aten.ge.Tensor" | "aten.ge.Scalar" => |b, c| compare(b, c, "GreaterOrEqual", false),
        "aten.where.self" => where_,
        "aten.logical_not.default" => logical_not,
        "_operator.add" => |b, c| sym(b, c, "Add"),
        "_operator.sub" => |b, c| sym(b, c, "Sub"),
        "_operator.mul" => |b, c| sym(b, c, "Mul"),
        // Sizes are not negative: the integer division rounds toward zero and down alike.
        "_operator.floordiv" => |b, c| sym(b, c, "Div"),
        _ => return None,
    })
}

/// Operand `name` (a tensor, a literal number or a symbol) as a value of `dtype`.
fn operand(b: &mut Builder, c: &Call, name: &str, dtype: DType) -> Result<String, Fail> {
    match c.arg(name) {
        Some(Arg::Tensor(_)) => {
            let t = c.tensor(b, name)?;
            b.cast_to(t, dtype)
        }
        Some(Arg::Literal(v)) => b.scalar(number(v).ok_or_else(|| format!("argument {name:?} is not a number: {v}"))?, dtype),
        Some(Arg::Symbol(s)) => {
            let to = crate::io::elem_type(dtype).ok_or("no ONNX type for the result")?;
            let cast = b.op("Cast", &[s], vec![crate::pt2::attr_i("to", to as i64)]);
            let axes = b.ints(&[0]);
            Ok(b.op("Squeeze", &[&cast, &axes], vec![]))
        }
        other => Err(format!("argument {name:?} is {other:?}, not an operand")),
    }
}

/// The dtype the program records for the call's result.
fn result_dtype(c: &Call) -> Result<DType, Fail> {
    c.out_meta(0)?.dtype.ok_or_else(|| "the result's dtype is unknown".to_string())
}

/// `self op (alpha·other)` (`pow` calls its second operand `exponent`).
fn binary(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    let dtype = result_dtype(c)?;
    let x = operand(b, c, "self", dtype)?;
    let second = if c.arg("exponent").is_some() { "exponent" } else { "other" };
    let mut y = operand(b, c, second, dtype)?;
    if let Some(alpha) = c.opt_float("alpha")?.filter(|&a| a != 1.0) {
        let a = b.scalar(alpha, dtype)?;
        y = b.op("Mul", &[&y, &a], vec![]);
    }
    b.node(op, &[&x, &y], &[c.out(0)?], vec![]);
    Ok(())
}

/// `other - alpha·self`.
fn rsub(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let dtype = result_dtype(c)?;
    let mut x = operand(b, c, "self", dtype)?;
    let y = operand(b, c, "other", dtype)?;
    if let Some(alpha) = c.opt_float("alpha")?.filter(|&a| a != 1.0) {
        let a = b.scalar(alpha, dtype)?;
        x = b.op("Mul", &[&x, &a], vec![]);
    }
    b.node("Sub", &[&y, &x], &[c.out(0)?], vec![]);
    Ok(())
}

/// Division rounded as `rounding_mode` asks: none, `floor`, or `trunc` (integers).
fn div_mode(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let dtype = result_dtype(c)?;
    let x = operand(b, c, "self", dtype)?;
    let y = operand(b, c, "other", dtype)?;
    match (c.str("rounding_mode"), dtype.is_float()) {
        (None, _) | (Some("trunc"), false) => b.node("Div", &[&x, &y], &[c.out(0)?], vec![]),
        (Some("floor"), true) => {
            let q = b.op("Div", &[&x, &y], vec![]);
            b.node("Floor", &[&q], &[c.out(0)?], vec![]);
        }
        (mode, _) => return Err(format!("rounding_mode {mode:?} on {}", dtype.name())),
    }
    Ok(())
}

/// A comparison (negated for `ne`), its operands in the first tensor operand's dtype.
fn compare(b: &mut Builder, c: &Call, op: &str, negate: bool) -> Result<(), Fail> {
    let first = c.opt_tensor(b, "self")?.map_or_else(|| c.tensor(b, "other"), Ok)?;
    let dtype = b.dtype(first)?;
    let x = operand(b, c, "self", dtype)?;
    let y = operand(b, c, "other", dtype)?;
    if negate {
        let eq = b.op(op, &[&x, &y], vec![]);
        b.node("Not", &[&eq], &[c.out(0)?], vec![]);
    } else {
        b.node(op, &[&x, &y], &[c.out(0)?], vec![]);
    }
    Ok(())
}

fn where_(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let dtype = result_dtype(c)?;
    let cond = c.tensor(b, "condition")?;
    let cond = b.cast_to(cond, DType::Bool)?;
    let x = operand(b, c, "self", dtype)?;
    let y = operand(b, c, "other", dtype)?;
    b.node("Where", &[&cond, &x, &y], &[c.out(0)?], vec![]);
    Ok(())
}

fn logical_not(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let x = b.cast_to(x, DType::Bool)?;
    b.node("Not", &[&x], &[c.out(0)?], vec![]);
    Ok(())
}

/// Arithmetic on symbolic sizes, as 1-element int64 values.
fn sym(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    let x = b.int_value(c.arg("a").ok_or("no operand a")?)?;
    let y = b.int_value(c.arg("b").ok_or("no operand b")?)?;
    b.node(op, &[&x, &y], &[c.out(0)?], vec![]);
    Ok(())
}

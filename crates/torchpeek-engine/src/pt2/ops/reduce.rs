//! Reductions: `mean` and `sum` over dimensions (all of them when none are given), `any` (the
//! maximum of the values as 0/1).

use super::Translate;
use crate::io::elem_type;
use crate::pt2::{attr_i, axis, Builder, Call, Fail};
use torchpeek::dtype::DType;

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.mean.dim" | "aten.mean.default" => |b, c| reduce(b, c, "ReduceMean"),
        "aten.sum.dim_IntList" | "aten.sum.default" => |b, c| reduce(b, c, "ReduceSum"),
        "aten.any.dim" | "aten.any.dims" | "aten.any.default" => any,
        _ => return None,
    })
}

/// `op` over the call's dimensions of `x` into `out`.
fn reduce_into(b: &mut Builder, c: &Call, op: &str, x: &str, out: &str) -> Result<(), Fail> {
    let rank = b.rank(c.tensor(b, "self")?)?;
    let dims = c.ints(if c.arg("dims").is_some() { "dims" } else { "dim" }, &[])?;
    let axes: Vec<i64> = if dims.is_empty() { (0..rank as i64).collect() } else { dims.iter().map(|&d| axis(d, rank)).collect::<Result<_, _>>()? };
    let axes = b.ints(&axes);
    b.node(op, &[x, &axes], &[out], vec![attr_i("keepdims", c.bool("keepdim", false)? as i64)]);
    Ok(())
}

fn reduce(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    // In the dtype asked for (`dtype=`), which the result has.
    let dtype = c.out_meta(0)?.dtype.ok_or("the result's dtype is unknown")?;
    let x = c.tensor(b, "self")?;
    let x = b.cast_to(x, dtype)?;
    reduce_into(b, c, op, &x, c.out(0)?)
}

fn any(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let bits = b.cast_to(x, DType::Bool)?;
    let to = |d: DType| attr_i("to", elem_type(d).expect("int32 and bool have ONNX types") as i64);
    let ints = b.op("Cast", &[&bits], vec![to(DType::Int32)]);
    let max = format!("{}.max", c.out(0)?);
    reduce_into(b, c, "ReduceMax", &ints, &max)?;
    b.node("Cast", &[&max], &[c.out(0)?], vec![to(DType::Bool)]);
    Ok(())
}

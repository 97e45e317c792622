//! Reductions: `mean` and `sum` over dimensions (all of them when none are given).

use super::Translate;
use crate::pt2::{attr_i, axis, Builder, Call, Fail};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.mean.dim" | "aten.mean.default" => |b, c| reduce(b, c, "ReduceMean"),
        "aten.sum.dim_IntList" | "aten.sum.default" => |b, c| reduce(b, c, "ReduceSum"),
        _ => return None,
    })
}

fn reduce(b: &mut Builder, c: &Call, op: &str) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let rank = b.rank(x)?;
    let dims = c.ints("dim", &[])?;
    let keep = c.bool("keepdim", false)?;
    // The dtype asked for (`dtype=`), or the result's.
    let dtype = c.out_meta(0)?.dtype.ok_or("the result's dtype is unknown")?;
    let x = b.cast_to(x, dtype)?;
    let axes: Vec<i64> = if dims.is_empty() { (0..rank as i64).collect() } else { dims.iter().map(|&d| axis(d, rank)).collect::<Result<_, _>>()? };
    let axes = b.ints(&axes);
    b.node(op, &[&x, &axes], &[c.out(0)?], vec![attr_i("keepdims", keep as i64)]);
    Ok(())
}

//! Shapes, indexing and copies: `view`/`reshape`/`flatten`/`unflatten` (`Reshape`), `permute`/
//! `transpose`/`t` (`Transpose`), `squeeze`/`unsqueeze`, `cat`/`stack` (`Concat`), `select`,
//! `slice`, `expand`, `embedding` (`Gather`), `tril`/`triu` (`Trilu`); filled tensors (`full`,
//! `ones`, `zeros`, `full_like`) as a broadcast constant; copies (`contiguous`, `clone`, dropout in eval mode)
//! as `Identity`, dtype conversions as `Cast`; symbolic sizes (`sym_size`) from `Shape`; the
//! assertions torch.export records as no-ops.

use super::Translate;
use crate::io::elem_type;
use crate::pt2::{attr_i, attr_ints, axis, Builder, Call, Fail};
use torchpeek::container::pt2::program::{Arg, Dim};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.view.default" | "aten.reshape.default" | "aten._unsafe_view.default" => reshape,
        "aten.flatten.using_ints" => flatten,
        "aten.unflatten.int" => unflatten,
        "aten.permute.default" => permute,
        "aten.transpose.int" => transpose,
        "aten.t.default" => t,
        "aten.squeeze.dim" | "aten.squeeze.dims" | "aten.squeeze.default" => squeeze,
        "aten.unsqueeze.default" => unsqueeze,
        "aten.cat.default" | "aten.concat.default" => cat,
        "aten.stack.default" => stack,
        "aten.select.int" => select,
        "aten.slice.Tensor" => slice,
        "aten.expand.default" => expand,
        "aten.embedding.default" => embedding,
        "aten.full_like.default" => |b, c| {
            let x = c.tensor(b, "self")?;
            let shape = b.shape_of(x, 0, None);
            filled(b, c, shape)
        },
        "aten.full.default" | "aten.ones.default" | "aten.zeros.default" => |b, c| {
            let shape = b.int_list_value(c.arg("size").ok_or("no size")?)?;
            filled(b, c, shape)
        },
        "aten.tril.default" => |b, c| triangle(b, c, false),
        "aten.triu.default" => |b, c| triangle(b, c, true),
        "aten.contiguous.default" | "aten.clone.default" | "aten.detach.default" | "aten.alias.default"
        | "aten.lift_fresh_copy.default" => identity,
        "aten.dropout.default" | "aten.feature_dropout.default" | "aten.alpha_dropout.default" => dropout,
        "aten._to_copy.default" | "aten.to.dtype" | "aten.to.dtype_layout" | "aten.type_as.default" => to_dtype,
        "aten.sym_size.int" => sym_size,
        "aten._assert_tensor_metadata.default" | "aten._assert_scalar.default" | "aten.sym_constrain_range_for_size.default" => {
            |_, _| Ok(())
        }
        _ => return None,
    })
}

fn reshape(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let size = c.arg("size").or_else(|| c.arg("shape")).ok_or("no size")?;
    let shape = b.int_list_value(size)?;
    b.node("Reshape", &[x, &shape], &[c.out(0)?], vec![]);
    Ok(())
}

/// `x` reshaped to its dimensions `..start`, then `middle`, then its dimensions `end + 1..`.
fn reshape_around(b: &mut Builder, c: &Call, x: &str, start: usize, middle: String, end: usize) -> Result<(), Fail> {
    let rank = b.rank(x)?;
    let mut parts = Vec::new();
    if start > 0 {
        parts.push(b.shape_of(x, 0, Some(start as i64)));
    }
    parts.push(middle);
    if end + 1 < rank {
        parts.push(b.shape_of(x, end as i64 + 1, None));
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let shape = b.op("Concat", &parts, vec![attr_i("axis", 0)]);
    b.node("Reshape", &[x, &shape], &[c.out(0)?], vec![]);
    Ok(())
}

fn flatten(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let rank = b.rank(x)?;
    if rank == 0 {
        let one = b.ints(&[1]);
        b.node("Reshape", &[x, &one], &[c.out(0)?], vec![]);
        return Ok(());
    }
    let (start, end) = (axis(c.int("start_dim", 0)?, rank)? as usize, axis(c.int("end_dim", -1)?, rank)? as usize);
    if start > end {
        return Err(format!("start_dim {start} after end_dim {end}"));
    }
    let all = b.ints(&[-1]);
    reshape_around(b, c, x, start, all, end)
}

fn unflatten(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dim = axis(c.int("dim", 0)?, b.rank(x)?)? as usize;
    let sizes = b.int_list_value(c.arg("sizes").ok_or("no sizes")?)?;
    reshape_around(b, c, x, dim, sizes, dim)
}

fn transposed(b: &mut Builder, c: &Call, x: &str, perm: Vec<i64>) -> Result<(), Fail> {
    b.node("Transpose", &[x], &[c.out(0)?], vec![attr_ints("perm", perm)]);
    Ok(())
}

fn permute(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let rank = b.rank(x)?;
    let perm = c.ints("dims", &[])?.into_iter().map(|d| axis(d, rank)).collect::<Result<Vec<_>, _>>()?;
    if perm.len() != rank {
        return Err(format!("{} dims for rank {rank}", perm.len()));
    }
    transposed(b, c, x, perm)
}

/// The identity permutation of `rank` with `a` and `b` swapped.
pub(super) fn swap(rank: usize, a: i64, b: i64) -> Result<Vec<i64>, Fail> {
    let (a, b) = (axis(a, rank)? as usize, axis(b, rank)? as usize);
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(a, b);
    Ok(perm)
}

fn transpose(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let perm = swap(b.rank(x)?, c.int("dim0", 0)?, c.int("dim1", 1)?)?;
    transposed(b, c, x, perm)
}

fn t(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    match b.rank(x)? {
        2 => transposed(b, c, x, vec![1, 0]),
        _ => identity(b, c),
    }
}

/// torch squeezes only dimensions of size 1 (and leaves the others silently).
fn squeeze(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let meta = b.meta(x)?;
    let rank = meta.shape.len();
    let asked = match c.arg("dim").or_else(|| c.arg("dims")) {
        None => (0..rank as i64).collect(),
        Some(_) => c.ints(if c.arg("dim").is_some() { "dim" } else { "dims" }, &[])?,
    };
    let mut axes = Vec::new();
    for d in asked {
        let d = axis(d, rank)?;
        if meta.shape.get(d as usize) == Some(&Dim::Int(1)) && !axes.contains(&d) {
            axes.push(d);
        }
    }
    if axes.is_empty() {
        return identity(b, c);
    }
    let axes = b.ints(&axes);
    b.node("Squeeze", &[x, &axes], &[c.out(0)?], vec![]);
    Ok(())
}

fn unsqueeze(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dim = axis(c.int("dim", 0)?, b.rank(x)? + 1)?;
    let axes = b.ints(&[dim]);
    b.node("Unsqueeze", &[x, &axes], &[c.out(0)?], vec![]);
    Ok(())
}

fn cat(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let tensors = c.tensors(b, "tensors")?;
    let dim = axis(c.int("dim", 0)?, c.out_meta(0)?.shape.len())?;
    b.node("Concat", &tensors, &[c.out(0)?], vec![attr_i("axis", dim)]);
    Ok(())
}

fn stack(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let tensors = c.tensors(b, "tensors")?;
    let dim = axis(c.int("dim", 0)?, c.out_meta(0)?.shape.len())?;
    let axes = b.ints(&[dim]);
    let parts: Vec<String> = tensors.iter().map(|t| b.op("Unsqueeze", &[t, &axes], vec![])).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    b.node("Concat", &parts, &[c.out(0)?], vec![attr_i("axis", dim)]);
    Ok(())
}

/// `x[..., index, ...]` along `dim`, that dimension removed.
fn select(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dim = axis(c.int("dim", 0)?, b.rank(x)?)?;
    let index = b.int_value(c.arg("index").ok_or("no index")?)?;
    let picked = b.op("Gather", &[x, &index], vec![attr_i("axis", dim)]);
    let axes = b.ints(&[dim]);
    b.node("Squeeze", &[&picked, &axes], &[c.out(0)?], vec![]);
    Ok(())
}

fn slice(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dim = axis(c.int("dim", 0)?, b.rank(x)?)?;
    let start = match c.arg("start") {
        Some(a) => b.int_value(a)?,
        None => b.ints(&[0]),
    };
    let end = match c.arg("end") {
        Some(a) => b.int_value(a)?,
        None => b.ints(&[i64::MAX]),
    };
    let (axes, steps) = (b.ints(&[dim]), b.ints(&[c.int("step", 1)?]));
    b.node("Slice", &[x, &start, &end, &axes, &steps], &[c.out(0)?], vec![]);
    Ok(())
}

/// torch's `-1` keeps a dimension: ONNX's broadcasting keeps it for a 1. New leading dimensions
/// are added as 1s first: tract's optimiser drops a broadcast before a matrix product, which is
/// only right when the broadcast keeps the rank.
fn expand(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let (rank, size) = (b.rank(x)?, c.arg("size").ok_or("no size")?);
    let new_rank = match size {
        Arg::List(items) => items.len(),
        _ => c.ints("size", &[])?.len(),
    };
    let size = match size {
        Arg::Literal(_) => {
            let sizes: Vec<i64> = c.ints("size", &[])?.into_iter().map(|s| if s == -1 { 1 } else { s }).collect();
            b.ints(&sizes)
        }
        list => b.int_list_value(list)?,
    };
    let x = match new_rank.checked_sub(rank) {
        Some(0) => x.to_string(),
        Some(added) => {
            let axes = b.ints(&(0..added as i64).collect::<Vec<_>>());
            b.op("Unsqueeze", &[x, &axes], vec![])
        }
        None => return Err(format!("{new_rank} sizes for rank {rank}")),
    };
    b.node("Expand", &[&x, &size], &[c.out(0)?], vec![]);
    Ok(())
}

fn embedding(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let (table, ids) = (c.tensor(b, "weight")?, c.tensor(b, "indices")?);
    b.node("Gather", &[table, ids], &[c.out(0)?], vec![attr_i("axis", 0)]);
    Ok(())
}

/// A tensor of `shape` filled with `fill_value` (`ones`: 1, `zeros`: 0), in the result's dtype.
fn filled(b: &mut Builder, c: &Call, shape: String) -> Result<(), Fail> {
    let dtype = c.out_meta(0)?.dtype.ok_or("the result's dtype is unknown")?;
    let value = match c.node.target.as_str() {
        "aten.ones.default" => 1.0,
        "aten.zeros.default" => 0.0,
        _ => match c.arg("fill_value") {
            Some(Arg::Literal(v)) => crate::pt2::number(v).ok_or("fill_value is not a number")?,
            _ => return Err("fill_value is not a literal number".into()),
        },
    };
    let value = b.scalar(value, dtype)?;
    b.node("Expand", &[&value, &shape], &[c.out(0)?], vec![]);
    Ok(())
}

/// The lower (`tril`) or upper (`triu`) triangle of the last two dimensions, from `diagonal`.
fn triangle(b: &mut Builder, c: &Call, upper: bool) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let k = b.ints(&[c.int("diagonal", 0)?]);
    let axes = b.ints(&[0]);
    let k = b.op("Squeeze", &[&k, &axes], vec![]);
    b.node("Trilu", &[x, &k], &[c.out(0)?], vec![attr_i("upper", upper as i64)]);
    Ok(())
}

fn identity(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.opt_tensor(b, "self")?.map_or_else(|| c.tensor(b, "input"), Ok)?;
    b.node("Identity", &[x], &[c.out(0)?], vec![]);
    Ok(())
}

fn dropout(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    if c.bool("train", false)? && c.float("p", 0.0)? > 0.0 {
        return Err("dropout in training mode (export the model after model.eval())".into());
    }
    identity(b, c)
}

fn to_dtype(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dtype = c.out_meta(0)?.dtype.ok_or("the result's dtype is unknown")?;
    if b.dtype(x)? == dtype {
        return identity(b, c);
    }
    let to = elem_type(dtype).ok_or_else(|| format!("no ONNX type for {}", dtype.name()))?;
    b.node("Cast", &[x], &[c.out(0)?], vec![attr_i("to", to as i64)]);
    Ok(())
}

/// A dimension's size, as a 1-element int64 value.
fn sym_size(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let x = c.tensor(b, "self")?;
    let dim = axis(c.int("dim", 0)?, b.rank(x)?)?;
    b.node("Shape", &[x], &[c.out(0)?], vec![attr_i("start", dim), attr_i("end", dim + 1)]);
    Ok(())
}

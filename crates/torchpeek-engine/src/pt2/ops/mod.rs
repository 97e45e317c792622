//! The ATen operators the engine translates, one file per family; `lookup` finds a target's
//! translation. Each translation reads the call's arguments by their schema names (defaults as
//! torch's schema gives them) and writes ONNX nodes whose outputs carry the call's output names.

mod activation;
mod arith;
mod attention;
mod conv;
mod linear;
mod norm;
mod reduce;
mod shape;

use super::{Builder, Call, Fail};

/// A translation: writes the nodes computing a call's outputs.
pub(crate) type Translate = fn(&mut Builder, &Call) -> Result<(), Fail>;

/// The translation of a call target (`aten.conv2d.default`), if the engine has one.
pub(super) fn lookup(target: &str) -> Option<Translate> {
    conv::lookup(target)
        .or_else(|| linear::lookup(target))
        .or_else(|| norm::lookup(target))
        .or_else(|| activation::lookup(target))
        .or_else(|| arith::lookup(target))
        .or_else(|| shape::lookup(target))
        .or_else(|| reduce::lookup(target))
        .or_else(|| attention::lookup(target))
}

/// A per-spatial-dimension list argument (`stride`, `padding` ...): one value stands for all `n`.
fn spatial(c: &Call, name: &str, n: usize, default: i64) -> Result<Vec<i64>, Fail> {
    let v = c.ints(name, &[default])?;
    match v.len() {
        0 => Ok(vec![default; n]),
        1 => Ok(vec![v[0]; n]),
        len if len == n => Ok(v),
        len => Err(format!("argument {name:?} has {len} values for {n} spatial dimensions")),
    }
}

/// The known sizes of a value's dimensions `from..` (an error for a symbolic one).
fn known_dims(b: &Builder, x: &str, from: usize) -> Result<Vec<i64>, Fail> {
    b.meta(x)?
        .shape
        .iter()
        .skip(from)
        .map(|d| match d {
            torchpeek::container::pt2::program::Dim::Int(i) => Ok(*i),
            torchpeek::container::pt2::program::Dim::Sym { expr, .. } => Err(format!("{x:?} has a symbolic size {expr} where a fixed one is needed")),
        })
        .collect()
}

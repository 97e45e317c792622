//! Linear layers and matrix products: `aten.linear` as `MatMul` by the transposed weight plus the
//! bias, `matmul`/`mm`/`bmm` as `MatMul`, `addmm` as `Gemm`.

use super::Translate;
use crate::pt2::{attr_f, attr_ints, Builder, Call, Fail};

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.linear.default" => linear,
        "aten.matmul.default" | "aten.mm.default" | "aten.bmm.default" => matmul,
        "aten.addmm.default" => addmm,
        _ => return None,
    })
}

fn linear(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let (x, w, bias) = (c.tensor(b, "input")?, c.tensor(b, "weight")?, c.opt_tensor(b, "bias")?);
    if b.rank(w)? != 2 {
        return Err(format!("a weight of rank {}", b.rank(w)?));
    }
    let wt = b.op("Transpose", &[w], vec![attr_ints("perm", vec![1, 0])]);
    match bias {
        None => b.node("MatMul", &[x, &wt], &[c.out(0)?], vec![]),
        Some(bias) => {
            let y = b.op("MatMul", &[x, &wt], vec![]);
            b.node("Add", &[&y, bias], &[c.out(0)?], vec![]);
        }
    }
    Ok(())
}

fn matmul(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let other = c.opt_tensor(b, "other")?.map_or_else(|| c.tensor(b, "mat2"), Ok)?;
    b.node("MatMul", &[c.tensor(b, "self")?, other], &[c.out(0)?], vec![]);
    Ok(())
}

/// `beta·self + alpha·(mat1 @ mat2)`.
fn addmm(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let inputs = [c.tensor(b, "mat1")?, c.tensor(b, "mat2")?, c.tensor(b, "self")?];
    let attrs = vec![attr_f("alpha", c.float("alpha", 1.0)? as f32), attr_f("beta", c.float("beta", 1.0)? as f32)];
    b.node("Gemm", &inputs, &[c.out(0)?], attrs);
    Ok(())
}

//! `aten.scaled_dot_product_attention` in its mathematical form:
//! `softmax(q·kᵀ·scale + mask)·v`, with `scale` = 1/√(q's last size) unless given, a boolean mask
//! as `where(mask, scores, -inf)`, a float mask added, `is_causal` as a lower-triangular mask.

use super::{known_dims, shape::swap, Translate};
use crate::pt2::{attr_i, Builder, Call, Fail};
use torchpeek::dtype::DType;

pub(super) fn lookup(target: &str) -> Option<Translate> {
    Some(match target {
        "aten.scaled_dot_product_attention.default" => sdpa,
        _ => return None,
    })
}

fn sdpa(b: &mut Builder, c: &Call) -> Result<(), Fail> {
    let (q, k, v) = (c.tensor(b, "query")?, c.tensor(b, "key")?, c.tensor(b, "value")?);
    if c.float("dropout_p", 0.0)? != 0.0 {
        return Err("dropout_p > 0 (attention dropout)".into());
    }
    if c.bool("enable_gqa", false)? {
        return Err("enable_gqa".into());
    }
    let (rank, k_rank) = (b.rank(q)?, b.rank(k)?);
    if rank < 2 || k_rank < 2 {
        return Err(format!("query and key of rank {rank} and {k_rank} (at least 2)"));
    }
    let qd = known_dims(b, q, rank - 1)?;
    let dtype = b.dtype(q)?;
    let scale = match c.opt_float("scale")? {
        Some(s) => s,
        None => 1.0 / (qd[0] as f64).sqrt(),
    };
    let kt = b.op("Transpose", &[k], vec![crate::pt2::attr_ints("perm", swap(k_rank, -2, -1)?)]);
    let scores = b.op("MatMul", &[q, &kt], vec![]);
    let s = b.scalar(scale, dtype)?;
    let mut scores = b.op("Mul", &[&scores, &s], vec![]);
    if c.bool("is_causal", false)? {
        let (l, s) = (known_dims(b, q, rank - 2)?[0], known_dims(b, k, k_rank - 2)?[0]);
        if l.saturating_mul(s) as u64 > torchpeek::limits::MAX_ENGINE_TENSOR_BYTES as u64 || l < 0 || s < 0 {
            return Err(format!("a causal mask of {l}x{s}"));
        }
        let mask: Vec<u8> = (0..l).flat_map(|i| (0..s).map(move |j| (j <= i) as u8)).collect();
        let mask = b.constant(DType::Bool, vec![l, s], mask)?;
        let inf = b.scalar(f64::NEG_INFINITY, dtype)?;
        scores = b.op("Where", &[&mask, &scores, &inf], vec![]);
    }
    if let Some(mask) = c.opt_tensor(b, "attn_mask")? {
        if b.dtype(mask)? == DType::Bool {
            let inf = b.scalar(f64::NEG_INFINITY, dtype)?;
            scores = b.op("Where", &[mask, &scores, &inf], vec![]);
        } else {
            scores = b.op("Add", &[&scores, mask], vec![]);
        }
    }
    let weights = b.op("Softmax", &[&scores], vec![attr_i("axis", -1)]);
    b.node("MatMul", &[&weights, v], &[c.out(0)?], vec![]);
    Ok(())
}

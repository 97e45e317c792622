//! Torch's rebuild functions, read as descriptions: which storage, dtype, shape, strides and
//! offset a pickled tensor has. Only these known functions are interpreted; nothing is called.

use crate::document::{Layout, Quantization};
use crate::dtype::DType;
use crate::limits;
use crate::pickle::{Arena, Id, Value};

/// A storage as a persistent id names it.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub key: String,
    pub dtype: DType,
    /// Elements the storage holds, as declared.
    pub numel: u64,
    /// Elements to skip (legacy view storages).
    pub view_offset: u64,
}

/// A tensor as its rebuild call describes it, before it gets a place in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDesc {
    pub storage: Option<StorageRef>,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub stride: Vec<i64>,
    pub storage_offset: u64,
    pub requires_grad: bool,
    pub is_parameter: bool,
    pub layout: Layout,
    pub quantization: Option<Quantization>,
    /// Per-channel scales and zero points are tensors themselves; read once storages are located.
    pub qparam_tensors: Option<(Box<TensorDesc>, Box<TensorDesc>)>,
}

/// Rebuild functions torchpeek interprets.
pub const REBUILD_FUNCTIONS: &[&str] = &[
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._tensor._rebuild_from_type_v2",
    "torch._utils._rebuild_sparse_tensor",
];

/// True when `id` is a call of one of the rebuild functions.
pub fn is_rebuild(arena: &Arena, id: Id) -> bool {
    match arena.get(id) {
        Value::Object(o) => arena.global_name(o.callable).is_some_and(|n| REBUILD_FUNCTIONS.contains(&n.as_str())),
        _ => false,
    }
}

/// Reads the tensor a rebuild call describes. Errors are plain messages; the caller adds the path.
pub fn rebuild(arena: &Arena, id: Id, depth: usize) -> Result<TensorDesc, String> {
    if depth > 8 {
        return Err("rebuild calls nested too deeply".into());
    }
    let Value::Object(o) = arena.get(id) else { return Err("not a rebuild call".into()) };
    let func = arena.global_name(o.callable).unwrap_or_default();
    let args = arena.seq(o.args).ok_or("rebuild arguments are not a tuple")?;
    rebuild_with(arena, &func, args, depth)
}

/// `func(*args)` for one of the rebuild functions.
fn rebuild_with(arena: &Arena, func: &str, args: &[Id], depth: usize) -> Result<TensorDesc, String> {
    let arg = |i: usize| args.get(i).copied().ok_or_else(|| format!("{func} needs more than {i} arguments"));
    match func {
        "torch._utils._rebuild_tensor" | "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor_v3" => {
            let storage = storage_ref(arena, arg(0)?)?;
            let mut t = strided(arena, storage, arg(1)?, arg(2)?, arg(3)?)?;
            if func.ends_with("_v3") {
                // v3: (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata]) over an
                // untyped storage.
                if let Some(d) = args.get(6).and_then(|&d| dtype_of(arena, d)) {
                    t.dtype = d;
                }
            }
            if func != "torch._utils._rebuild_tensor" {
                t.requires_grad = args.get(4).and_then(|&r| arena.as_int(r)).unwrap_or(0) != 0;
            }
            Ok(t)
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            let mut t = rebuild(arena, arg(0)?, depth + 1)?;
            t.requires_grad = args.get(1).and_then(|&r| arena.as_int(r)).unwrap_or(1) != 0;
            t.is_parameter = true;
            Ok(t)
        }
        "torch._tensor._rebuild_from_type_v2" => {
            // (func, new_type, args, state): rebuild with func(*args), then the subclass.
            let inner_func = arena.global_name(arg(0)?).ok_or("rebuild function is not a global")?;
            let new_type = arena.global_name(arg(1)?).unwrap_or_default();
            let inner_args = arena.seq(arg(2)?).ok_or("rebuild arguments are not a tuple")?;
            let mut t = rebuild_with(arena, &inner_func, inner_args, depth + 1)?;
            if new_type.ends_with(".Parameter") {
                t.is_parameter = true;
            }
            Ok(t)
        }
        "torch._utils._rebuild_qtensor" => {
            let storage = storage_ref(arena, arg(0)?)?;
            let mut t = strided(arena, storage, arg(1)?, arg(2)?, arg(3)?)?;
            t.layout = Layout::Quantized;
            t.requires_grad = args.get(5).and_then(|&r| arena.as_int(r)).unwrap_or(0) != 0;
            let q = arena.seq(arg(4)?).ok_or("quantizer parameters are not a tuple")?;
            let scheme = q
                .first()
                .and_then(|&s| arena.global_name(s).or_else(|| arena.as_str(s).map(str::to_string)))
                .ok_or("quantizer parameters name no scheme")?;
            let scheme = scheme.strip_prefix("torch.").unwrap_or(&scheme).to_string();
            match scheme.as_str() {
                "per_tensor_affine" | "per_tensor_symmetric" => {
                    let scale = q.get(1).and_then(|&s| arena.as_f64(s)).ok_or("no quantizer scale")?;
                    let zero_point = q.get(2).and_then(|&z| arena.as_int(z)).ok_or("no quantizer zero point")?;
                    t.quantization = Some(Quantization::PerTensor { scheme: format!("torch.{scheme}"), scale, zero_point });
                }
                "per_channel_affine" | "per_channel_affine_float_qparams" | "per_channel_symmetric" => {
                    let scales = rebuild(arena, *q.get(1).ok_or("no per-channel scales")?, depth + 1)?;
                    let zps = rebuild(arena, *q.get(2).ok_or("no per-channel zero points")?, depth + 1)?;
                    let axis = q.get(3).and_then(|&a| arena.as_int(a)).ok_or("no per-channel axis")?;
                    t.quantization = Some(Quantization::PerChannel {
                        scheme: format!("torch.{scheme}"),
                        scales: Vec::new(),
                        zero_points: Vec::new(),
                        axis,
                    });
                    t.qparam_tensors = Some((Box::new(scales), Box::new(zps)));
                }
                other => return Err(format!("unknown quantization scheme {other}")),
            }
            Ok(t)
        }
        "torch._utils._rebuild_meta_tensor_no_storage" => {
            let dtype = dtype_of(arena, arg(0)?).ok_or("meta tensor without a dtype")?;
            let shape = ints(arena, arg(1)?)?.into_iter().map(|v| v as u64).collect();
            let stride = ints(arena, arg(2)?)?;
            Ok(TensorDesc {
                storage: None,
                dtype,
                shape,
                stride,
                storage_offset: 0,
                requires_grad: args.get(3).and_then(|&r| arena.as_int(r)).unwrap_or(0) != 0,
                is_parameter: false,
                layout: Layout::Strided,
                quantization: None,
                qparam_tensors: None,
            })
        }
        "torch._utils._rebuild_sparse_tensor" => {
            // (layout, (indices, values, size[, is_coalesced])): shown by its values' storage.
            let data = arena.seq(arg(1)?).ok_or("sparse tensor data is not a tuple")?;
            let values = rebuild(arena, *data.get(1).ok_or("sparse tensor without values")?, depth + 1)?;
            let size = ints(arena, *data.get(2).ok_or("sparse tensor without a size")?)?;
            Ok(TensorDesc { layout: Layout::SparseCoo, shape: size.into_iter().map(|v| v as u64).collect(), ..values })
        }
        other => Err(format!("{other} is not a known rebuild function")),
    }
}

/// A dtype named by a global (`torch.float32`) or a string.
pub fn dtype_of(arena: &Arena, id: Id) -> Option<DType> {
    match arena.get(id) {
        Value::Global { module, name } if module == "torch" => DType::from_torch_name(name),
        Value::Str(s) => DType::from_torch_name(s),
        _ => None,
    }
}

/// Integers of a tuple, list or `torch.Size(...)`.
pub fn ints(arena: &Arena, id: Id) -> Result<Vec<i64>, String> {
    let items = match arena.get(id) {
        Value::Object(o) if arena.global_name(o.callable).as_deref() == Some("torch.Size") => {
            let a = arena.seq(o.args).and_then(|a| a.first().copied()).ok_or("torch.Size without a tuple")?;
            arena.seq(a).ok_or("torch.Size of something that is not a tuple")?
        }
        _ => arena.seq(id).ok_or("sizes and strides must be tuples")?,
    };
    if items.len() > limits::MAX_RANK {
        return Err(format!("rank {} is more than the limit of {}", items.len(), limits::MAX_RANK));
    }
    items.iter().map(|&i| arena.as_int(i).ok_or_else(|| "sizes and strides must be integers".to_string())).collect()
}

fn strided(arena: &Arena, storage: StorageRef, offset: Id, size: Id, stride: Id) -> Result<TensorDesc, String> {
    let shape = ints(arena, size)?;
    let stride = ints(arena, stride)?;
    if shape.len() != stride.len() {
        return Err(format!("{} sizes but {} strides", shape.len(), stride.len()));
    }
    if let Some(bad) = shape.iter().find(|&&d| d < 0) {
        return Err(format!("negative size {bad}"));
    }
    let offset = arena.as_int(offset).ok_or("storage offset is not an integer")?;
    if offset < 0 {
        return Err(format!("negative storage offset {offset}"));
    }
    Ok(TensorDesc {
        dtype: storage.dtype,
        storage_offset: offset as u64 + storage.view_offset,
        storage: Some(storage),
        shape: shape.into_iter().map(|v| v as u64).collect(),
        stride,
        requires_grad: false,
        is_parameter: false,
        layout: Layout::Strided,
        quantization: None,
        qparam_tensors: None,
    })
}

/// Reads a persistent id: `('storage', StorageType, key, location, numel[, view_metadata])`.
pub fn storage_ref(arena: &Arena, id: Id) -> Result<StorageRef, String> {
    let Value::PersistentId(pid) = arena.get(id) else {
        return Err("tensor storage is not a persistent id".into());
    };
    persistent_storage(arena, *pid)
}

/// Reads the tuple of a storage persistent id.
pub fn persistent_storage(arena: &Arena, pid: Id) -> Result<StorageRef, String> {
    let t = arena.seq(pid).ok_or("persistent id is not a tuple")?;
    if t.len() < 5 || arena.as_str(t[0]) != Some("storage") {
        return Err("persistent id is not a ('storage', ...) tuple".into());
    }
    let class = arena.global_name(t[1]).ok_or("storage type is not a global")?;
    let dtype = if class == "torch.UntypedStorage" || class == "torch.storage.UntypedStorage" {
        DType::UInt8
    } else {
        DType::from_storage_class(&class)
            .or_else(|| dtype_of(arena, t[1]))
            .ok_or_else(|| format!("unknown storage type {class}"))?
    };
    let key = match arena.get(t[2]) {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        _ => return Err("storage key is not a string".into()),
    };
    let numel = arena.as_int(t[4]).filter(|&n| n >= 0).ok_or("storage size is not a non-negative integer")? as u64;
    let mut r = StorageRef { key, dtype, numel, view_offset: 0 };
    // Legacy view storages: (view_key, offset, view_size) into the root storage.
    if let Some(&view) = t.get(5) {
        if let Some(v) = arena.seq(view) {
            if let Some(off) = v.get(1).and_then(|&o| arena.as_int(o)) {
                r.view_offset = off.max(0) as u64;
            }
        }
    }
    Ok(r)
}

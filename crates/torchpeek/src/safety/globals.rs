//! What a pickle's global is, for the verdict. Default-deny: a global is harmless only when it is
//! on one of the two lists here, or is a pickled model's own class rebuilt the standard way;
//! everything else, whatever its name, is `dangerous`.
//!
//! - **Allowed** (`safe`): torch 2.15's `weights_only` allow-list, read from torch itself
//!   (`weights_only_allowed_globals.json`).
//! - **Harmless** (`unsafe_but_known`): [`HARMLESS`] and [`HARMLESS_CLASSES_UNDER`] below, each
//!   known to only build data when imported and called: torch's tensor, storage and dtype
//!   rebuilds; `torch.nn` module and `torch.optim` classes, and pure tensor functions a model keeps
//!   as values (`torch.nn.functional.relu`); TorchScript's `torch.jit._pickle`
//!   helpers; `collections.OrderedDict`, `argparse.Namespace` and other plain containers and
//!   values of the standard library; numpy's array reconstruction, scalars and dtypes.
//! - **Model class** (`unsafe_but_known` when only named, or built with NEWOBJ / INST / OBJ and
//!   no arguments, or through `copyreg._reconstructor`): a global whose top-level module is not a
//!   library (`library_modules.txt`: Python's standard library and packages that can reach the
//!   system) — `__main__.Net`, `mypackage.models.Net`. Called any other way it is `dangerous`.
//! - **Denied** (`dangerous`): the rest, including every global of a library module not listed.

use std::collections::HashSet;
use std::sync::OnceLock;

/// What one global is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Allowed,
    Harmless,
    ModelClass,
    Denied,
}

#[derive(serde::Deserialize)]
struct AllowList {
    torch: String,
    globals: HashSet<String>,
}

fn allow_list() -> &'static AllowList {
    static LIST: OnceLock<AllowList> = OnceLock::new();
    LIST.get_or_init(|| serde_json::from_str(include_str!("weights_only_allowed_globals.json")).expect("the allow-list is valid JSON"))
}

/// The torch version whose `weights_only` rules are mirrored (`2.15.0`).
pub fn mirrored_torch() -> &'static str {
    &allow_list().torch
}

/// Whether torch's `weights_only` unpickler accepts GLOBAL `full` (`module.name`).
pub fn weights_only_allows(full: &str) -> bool {
    allow_list().globals.contains(full)
}

/// Globals known to only build data, outside torch's allow-list.
pub const HARMLESS: &[&str] = &[
    // torch's own tensors, storages and values (with `torch::tensor::REBUILD_FUNCTIONS`)
    "torch._utils._rebuild_sparse_csr",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_xla_tensor",
    "torch._utils._rebuild_mtia_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._tensor._rebuild_from_type",
    "torch.nn.parameter.Buffer",
    "torch.nn.parameter.UninitializedParameter",
    "torch.nn.parameter.UninitializedBuffer",
    "torch.serialization._get_layout",
    "torch.strided",
    "torch.sparse_coo",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.preserve_format",
    // TorchScript's own pickle helpers (`restore_type_tag` in traced archives' data.pkl)
    "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.restore_type_tag",
    // plain containers and values of the standard library
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.deque",
    "collections.Counter",
    "argparse.Namespace",
    "copyreg._reconstructor",
    "builtins.object",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.set",
    "builtins.frozenset",
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.bool",
    "builtins.str",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.slice",
    "builtins.range",
    "_codecs.encode",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    // numpy's arrays, scalars and dtypes (numpy 1 `numpy.core`, numpy 2 `numpy._core`)
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
];

/// Module prefixes whose classes (a name starting with a capital, after any underscores) are
/// harmless: `torch.nn.modules.linear.Linear`, `torch.optim.adam.Adam`, `numpy.dtypes.Float32DType`.
pub const HARMLESS_CLASSES_UNDER: &[&str] = &["torch.nn.modules.", "torch.nn.utils.", "torch.optim.", "numpy.dtypes."];

/// Modules whose every global is a pure tensor function (a module keeps `F.relu` as its activation).
pub const HARMLESS_FUNCTIONS_UNDER: &[&str] = &["torch.nn.functional", "torch.nn.init"];

/// torch's own pure tensor functions that models keep as values (`activation=torch.tanh`).
pub const HARMLESS_TORCH_FUNCTIONS: &[&str] = &[
    "relu", "relu_", "tanh", "sigmoid", "softmax", "log_softmax", "exp", "log", "sin", "cos", "abs", "neg", "sqrt",
    "rsqrt", "square", "erf", "sign", "clamp", "add", "sub", "mul", "div", "matmul", "mean", "sum", "max", "min",
    "cat", "stack", "flatten", "transpose", "permute", "reshape", "squeeze", "unsqueeze",
];

fn library_modules() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| include_str!("library_modules.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect())
}

/// What the global `module.name` is.
pub fn classify(module: &str, name: &str) -> Class {
    if module.is_empty() || name.is_empty() {
        return Class::Denied;
    }
    // Python 2 names (`__builtin__.set`) as torch and Python 3 read them.
    let module = crate::pickle::python2_module(module).unwrap_or(module);
    let full = format!("{module}.{name}");
    if weights_only_allows(&full) {
        return Class::Allowed;
    }
    if HARMLESS.contains(&full.as_str()) || crate::torch::tensor::REBUILD_FUNCTIONS.contains(&full.as_str()) || torch_dtype(&full).is_some() || storage_type_dtype(&full).is_some() || is_tensor_class(&full) {
        return Class::Harmless;
    }
    let pure_function = HARMLESS_FUNCTIONS_UNDER.iter().any(|p| module == *p || module.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
        || module == "torch" && HARMLESS_TORCH_FUNCTIONS.contains(&name);
    if pure_function && !name.contains('.') {
        return Class::Harmless;
    }
    if is_class_name(name) && !name.contains('.') && HARMLESS_CLASSES_UNDER.iter().any(|p| module.starts_with(p) || module == p.trim_end_matches('.')) {
        return Class::Harmless;
    }
    let top = module.split('.').next().unwrap_or(module);
    // `__main__` is the script that saved the model, `__torch__` TorchScript's own class names.
    let library = top.starts_with('_') && top != "__main__" && top != "__torch__" || library_modules().contains(top);
    if library || name.contains('.') || !is_class_name(name) {
        // A function, a nested attribute (`os.path.join` spelled `os`, `path.join`), or a class of a library.
        return Class::Denied;
    }
    Class::ModelClass
}

/// A name that reads as a class: its first letter after leading underscores is a capital.
fn is_class_name(name: &str) -> bool {
    name.trim_start_matches('_').chars().next().is_some_and(char::is_uppercase)
}

/// A torch dtype by its global name (`torch.float32`): (floating point or complex, itemsize).
pub fn torch_dtype(full: &str) -> Option<(bool, u64, &'static str)> {
    let name = full.strip_prefix("torch.")?;
    if let Some(d) = crate::dtype::DType::from_torch_name(name) {
        return Some((d.is_float() || d.is_complex(), d.itemsize(), d.name()));
    }
    // dtypes torch has and torchpeek does not read: bit-packed, sub-byte and shell types.
    let (float, size) = match name {
        "float4_e2m1fn_x2" | "float8_e8m0fnu" => (true, 1),
        "bits8" | "bits1x8" | "bits2x4" | "bits4x2" => (false, 1),
        "bits16" => (false, 2),
        n if (n.starts_with("uint") || n.starts_with("int")) && n.trim_start_matches(['u', 'i', 'n', 't']).parse::<u8>().is_ok_and(|b| (1..=7).contains(&b)) => (false, 1),
        _ => return None,
    };
    Some((float, size, "other"))
}

/// The dtype of a legacy storage class (`torch.FloatStorage`, `torch.cuda.HalfStorage`): (name, itemsize).
pub fn storage_type_dtype(full: &str) -> Option<(String, u64)> {
    let short = full.strip_prefix("torch.cuda.").or_else(|| full.strip_prefix("torch."))?;
    if short.contains('.') {
        return None;
    }
    crate::dtype::DType::from_storage_class(short).map(|d| (d.name().to_string(), d.itemsize()))
}

/// torch's legacy tensor classes (`torch.FloatTensor`, `torch.cuda.sparse.HalfTensor`, `torch.Tensor`).
pub fn is_tensor_class(full: &str) -> bool {
    let short = ["torch.cuda.sparse.", "torch.sparse.", "torch.cuda.", "torch."].iter().find_map(|p| full.strip_prefix(p));
    short.is_some_and(|s| !s.contains('.') && s.ends_with("Tensor") && s.len() > "Tensor".len() || s == "Tensor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_deny() {
        assert_eq!(classify("torch._utils", "_rebuild_tensor_v2"), Class::Allowed);
        assert_eq!(classify("collections", "OrderedDict"), Class::Allowed);
        assert_eq!(classify("torch", "bcomplex32"), Class::Allowed);
        assert_eq!(classify("torch._utils", "_rebuild_nested_tensor"), Class::Harmless, "left torch 2.15's list");
        assert_eq!(classify("argparse", "Namespace"), Class::Harmless);
        assert_eq!(classify("torch.nn.modules.linear", "Linear"), Class::Harmless);
        assert_eq!(classify("torch.jit._pickle", "restore_type_tag"), Class::Harmless);
        assert_eq!(classify("numpy.dtypes", "Float32DType"), Class::Harmless);
        assert_eq!(classify("torch.nn.functional", "relu"), Class::Harmless);
        assert_eq!(classify("torch", "tanh"), Class::Harmless);
        assert_eq!(classify("__main__", "Net"), Class::ModelClass);
        assert_eq!(classify("my_project.models", "ResNet"), Class::ModelClass);
        for (m, n) in [
            ("posix", "system"),
            ("requests.api", "get"),
            ("logging", "FileHandler"),
            ("pydoc", "pipepager"),
            ("uuid", "_get_command_stdout"),
            ("venv", "create"),
            ("ensurepip", "_run_pip"),
            ("imaplib", "IMAP4_stream"),
            ("numpy.f2py", "compile"),
            ("cloudpickle.cloudpickle", "_make_function"),
            ("torch.storage", "_load_from_bytes"),
            ("torch", "compile"),
            ("torch.utils.collect_env", "run"),
            ("nobody_heard_of", "do_it"),
            ("builtins", "getattr"),
            ("torch.nn.modules.module", "register_module_forward_hook"),
            ("", ""),
        ] {
            assert_eq!(classify(m, n), Class::Denied, "{m}.{n}");
        }
    }

    #[test]
    fn dtypes_and_storages() {
        assert_eq!(torch_dtype("torch.bcomplex32"), Some((true, 4, "bcomplex32")));
        assert_eq!(torch_dtype("torch.uint4").map(|d| d.1), Some(1));
        assert_eq!(storage_type_dtype("torch.cuda.HalfStorage"), Some(("float16".into(), 2)));
        assert!(is_tensor_class("torch.cuda.sparse.FloatTensor") && is_tensor_class("torch.Tensor"));
        assert!(!is_tensor_class("torch.nn.Tensor"));
    }
}

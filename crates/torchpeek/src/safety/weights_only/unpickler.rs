//! `_weights_only_unpickler.Unpickler.load` of torch 2.15, opcode by opcode with Python's stack
//! and MARK semantics: values are described (`V`), never built; the allowed calls check what
//! torch's rebuilds check. `Storages` is the loader's `persistent_load`.

use super::super::globals;
use super::{broken, Refusal};
use crate::limits;
use std::collections::HashMap;

/// What `persistent_load` hands back for one persistent id.
pub(super) trait Storages {
    fn load(&mut self, m: &mut Machine, pid: Id) -> Result<V, String>;
}

/// `persistent_load` of the pickles before and after the object: torch gives them none.
pub(super) struct NoStorages;

impl Storages for NoStorages {
    fn load(&mut self, _: &mut Machine, _: Id) -> Result<V, String> {
        Err("unsupported persistent id encountered".into())
    }
}


/// `numel * element_size` as torch makes a storage of it: a C `int64_t`, not negative.
pub(super) fn storage_bytes(numel: i128, itemsize: u64) -> Result<u64, String> {
    match numel.checked_mul(itemsize as i128) {
        Some(n) if n > i64::MAX as i128 => Err(format!("storage of {numel} elements: Overflow when unpacking long long")),
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(format!("storage of {numel} elements: negative or overflowing size")),
    }
}


pub(super) type Id = usize;

/// A value as the weights-only unpickler would hold it.
#[derive(Debug, Clone)]
pub(super) enum V {
    None,
    Bool(bool),
    Int(i128),
    /// An int too big for i128 (LONG1 of up to 255 bytes).
    BigInt,
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(DictKind, Vec<(String, Id)>),
    Set,
    /// An allowed global (a function, class, dtype or storage type), by its dotted name.
    Global(String),
    /// A typed storage; `slot` names a resizable one (the legacy format's, or one made by
    /// `UntypedStorage(n)`), whose bytes `Machine::slots` holds and `set_` may grow.
    Storage { dtype: String, itemsize: u64, nbytes: u64, slot: Option<usize> },
    Tensor { float: bool, parameter: bool },
    /// What an allowed call returns that nothing here looks into (a device, a layout ...).
    Other(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DictKind {
    Dict,
    Ordered,
    Counter,
}

impl V {
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            V::None => "NoneType",
            V::Bool(_) => "bool",
            V::Int(_) | V::BigInt => "int",
            V::Float(_) => "float",
            V::Str(_) => "str",
            V::Bytes(_) => "bytes",
            V::Tuple(_) => "tuple",
            V::List(_) => "list",
            V::Dict(DictKind::Dict, _) => "dict",
            V::Dict(DictKind::Ordered, _) => "collections.OrderedDict",
            V::Dict(DictKind::Counter, _) => "collections.Counter",
            V::Set => "set",
            V::Global(_) => "a global",
            V::Storage { .. } => "torch.storage.TypedStorage",
            V::Tensor { parameter: true, .. } => "torch.nn.parameter.Parameter",
            V::Tensor { .. } => "torch.Tensor",
            V::Other(t) => t,
        }
    }
}

pub(super) struct Machine<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) op_pos: usize,
    pub(super) member: &'a str,
    pub(super) values: Vec<V>,
    pub(super) stack: Vec<Id>,
    /// Stack heights at each MARK: Python's metastack, where the stack a MARK leaves behind is
    /// the part below its height (8 bytes a MARK, however many a file holds).
    pub(super) marks: Vec<usize>,
    pub(super) memo: HashMap<u64, Id>,
    /// A read came back short: the data ended (the caller may have more of the file).
    pub(super) short: bool,
    /// Calls made inside a call (`_rebuild_from_type_v2` runs its function), bounded.
    pub(super) nested_calls: usize,
    /// The bytes of each resizable storage.
    pub(super) slots: Vec<u64>,
}

impl<'a> Machine<'a> {
    pub(super) fn new(data: &'a [u8], start: usize, member: &'a str) -> Self {
        Machine { data, pos: start, op_pos: start, member, values: Vec::new(), stack: Vec::new(), marks: Vec::new(), memo: HashMap::new(), short: false, nested_calls: 0, slots: Vec::new() }
    }

    pub(super) fn get(&self, id: Id) -> &V {
        &self.values[id]
    }

    pub(super) fn refuse(&self, reason: impl Into<String>) -> Refusal {
        broken(self.member, self.op_pos as u64, reason)
    }

    /// Python's `file.read(n)`: fewer bytes at the end, never an error.
    pub(super) fn read(&mut self, n: usize) -> &'a [u8] {
        let data: &'a [u8] = self.data;
        let end = self.pos.saturating_add(n).min(data.len());
        self.short |= end - self.pos < n;
        let s = &data[self.pos..end];
        self.pos = end;
        s
    }

    pub(super) fn read_exact<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Refusal> {
        let b = self.read(N);
        b.try_into().map_err(|_| self.refuse(format!("{what}: unpack requires a buffer of {N} bytes, the pickle ends")))
    }

    pub(super) fn byte(&mut self, what: &str) -> Result<u8, Refusal> {
        self.read_exact::<1>(what).map(|b| b[0])
    }

    pub(super) fn readline(&mut self) -> &'a [u8] {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').map_or_else(
            || {
                self.short = true;
                rest.len()
            },
            |i| i + 1,
        );
        self.pos += n;
        &rest[..n]
    }

    pub(super) fn new_slot(&mut self, bytes: u64) -> usize {
        self.slots.push(bytes);
        self.slots.len() - 1
    }

    pub(super) fn push(&mut self, v: V) -> Result<(), Refusal> {
        let id = self.new_value(v)?;
        self.stack.push(id);
        Ok(())
    }

    pub(super) fn new_value(&mut self, v: V) -> Result<Id, Refusal> {
        if self.values.len() >= limits::MAX_PICKLE_NODES {
            return Err(self.refuse("more values than torchpeek follows"));
        }
        self.values.push(v);
        Ok(self.values.len() - 1)
    }

    /// Items since the last MARK: the stack Python's unpickler sees.
    pub(super) fn depth(&self) -> usize {
        self.stack.len() - self.marks.last().copied().unwrap_or(0)
    }

    pub(super) fn pop(&mut self) -> Result<Id, Refusal> {
        if self.depth() == 0 {
            return Err(self.refuse("pop from empty list (the stack is empty)"));
        }
        Ok(self.stack.pop().expect("depth > 0"))
    }

    pub(super) fn top(&self) -> Result<Id, Refusal> {
        if self.depth() == 0 {
            return Err(self.refuse("list index out of range (the stack is empty)"));
        }
        Ok(*self.stack.last().expect("depth > 0"))
    }

    pub(super) fn pop_mark(&mut self) -> Result<Vec<Id>, Refusal> {
        let mark = self.marks.pop().ok_or_else(|| self.refuse("pop from empty list (no MARK)"))?;
        Ok(self.stack.split_off(mark))
    }

    /// Runs to STOP and returns what it pops.
    pub(super) fn run(&mut self, storages: &mut dyn Storages) -> Result<Id, Refusal> {
        loop {
            self.op_pos = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                self.short = true;
                return Err(self.refuse("the pickle ends before STOP (EOFError)"));
            };
            self.pos += 1;
            match op {
                b'c' => {
                    let module = self.readline();
                    let name = self.readline();
                    let text = |b: &[u8]| std::str::from_utf8(&b[..b.len().saturating_sub(1)]).map(str::to_string);
                    let (Ok(module), Ok(name)) = (text(module), text(name)) else {
                        return Err(self.refuse("a GLOBAL name is not UTF-8"));
                    };
                    let module = crate::pickle::python2_module(&module).map_or(module, str::to_string);
                    let full = format!("{module}.{name}");
                    if !globals::weights_only_allows(&full) {
                        return Err(self.refuse(format!("unsupported global: GLOBAL {full} is not an allowed global by default")));
                    }
                    self.push(V::Global(full))?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let result = self.newobj(cls, args)?;
                    self.push(result)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.top()?;
                    let result = self.reduce(func, args)?;
                    let top = self.stack.len() - 1; // `func` is on top (checked by `top`)
                    self.stack[top] = self.new_value(result)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let inst = self.top()?;
                    self.build(inst, state)?;
                }
                b'a' => {
                    let item = self.pop()?;
                    let target = self.top()?;
                    match &mut self.values[target] {
                        V::List(items) => items.push(item),
                        other => {
                            let t = other.type_name();
                            return Err(self.refuse(format!("can only append to lists, but got {t}")));
                        }
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    match &mut self.values[target] {
                        V::List(v) => v.extend(items),
                        other => {
                            let t = other.type_name();
                            return Err(self.refuse(format!("can only extend lists, but got {t}")));
                        }
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items("SETITEM", vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items("SETITEMS", items)?;
                }
                b'(' => {
                    if self.marks.len() >= limits::MAX_MARKS {
                        return Err(self.refuse("more open MARKs than torchpeek follows"));
                    }
                    self.marks.push(self.stack.len());
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(V::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.depth() < n {
                        return Err(self.refuse("list index out of range (TUPLE with too few items on the stack)"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(V::Tuple(items))?;
                }
                b'N' => self.push(V::None)?,
                0x89 => self.push(V::Bool(false))?,
                0x88 => self.push(V::Bool(true))?,
                b')' => self.push(V::Tuple(Vec::new()))?,
                b']' => self.push(V::List(Vec::new()))?,
                b'}' => self.push(V::Dict(DictKind::Dict, Vec::new()))?,
                0x8f => self.push(V::Set)?,
                b'J' => {
                    let b = self.read_exact::<4>("BININT")?;
                    self.push(V::Int(i32::from_le_bytes(b) as i128))?
                }
                b'K' => {
                    let b = self.byte("BININT1")?;
                    self.push(V::Int(b as i128))?
                }
                b'M' => {
                    let b = self.read_exact::<2>("BININT2")?;
                    self.push(V::Int(u16::from_le_bytes(b) as i128))?
                }
                b'G' => {
                    let b = self.read_exact::<8>("BINFLOAT")?;
                    self.push(V::Float(f64::from_be_bytes(b)))?
                }
                b'X' => {
                    let n = u32::from_le_bytes(self.read_exact::<4>("BINUNICODE")?) as usize;
                    let b = self.read(n);
                    let s = utf8_surrogatepass(b).ok_or_else(|| self.refuse("BINUNICODE is not UTF-8 (even with surrogates allowed)"))?;
                    self.push(V::Str(s))?
                }
                b'U' => {
                    let n = self.byte("SHORT_BINSTRING")? as usize;
                    let b = self.read(n);
                    let s = std::str::from_utf8(b).map_err(|_| self.refuse("SHORT_BINSTRING is not UTF-8"))?.to_string();
                    self.push(V::Str(s))?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    match self.get(pid) {
                        V::Tuple(items) => {
                            let first = items.first().and_then(|&i| self.ascii(i));
                            if !items.is_empty() && first.as_deref() != Some("storage") {
                                return Err(self.refuse("only persistent_load of storage is allowed"));
                            }
                        }
                        V::Int(_) | V::BigInt => {}
                        other => {
                            return Err(self.refuse(format!("persistent_load id must be tuple or int, but got {}", other.type_name())));
                        }
                    }
                    let v = storages.load(self, pid).map_err(|e| self.refuse(e))?;
                    self.push(v)?
                }
                b'h' | b'j' => {
                    let key = if op == b'h' { self.byte("BINGET")? as u64 } else { u32::from_le_bytes(self.read_exact::<4>("LONG_BINGET")?) as u64 };
                    let id = *self.memo.get(&key).ok_or_else(|| self.refuse(format!("memo key {key} was never stored (KeyError)")))?;
                    self.stack.push(id);
                }
                b'q' | b'r' => {
                    let key = if op == b'q' { self.byte("BINPUT")? as u64 } else { u32::from_le_bytes(self.read_exact::<4>("LONG_BINPUT")?) as u64 };
                    let top = self.top()?;
                    if self.memo.len() >= limits::MAX_MEMO_ENTRIES && !self.memo.contains_key(&key) {
                        return Err(self.refuse("a memo bigger than torchpeek follows"));
                    }
                    self.memo.insert(key, top);
                }
                0x8a => {
                    let n = self.byte("LONG1")? as usize;
                    let b = self.read(n);
                    let v = if b.len() <= 16 { V::Int(le_signed(b)) } else { V::BigInt };
                    self.push(v)?
                }
                0x80 => {
                    self.byte("PROTO")?;
                }
                b'.' => return self.pop(),
                other => {
                    let name = crate::pickle::opcode_name(other);
                    return Err(self.refuse(format!("unsupported operand {other} ({name}): the weights-only unpickler refuses it")));
                }
            }
        }
    }

    pub(super) fn set_items(&mut self, opcode: &str, items: Vec<Id>) -> Result<(), Refusal> {
        let target = self.top()?;
        if !matches!(self.get(target), V::Dict(..)) {
            let t = self.get(target).type_name();
            return Err(self.refuse(format!("can only {opcode} for dict, collections.OrderedDict, collections.Counter, but got {t}")));
        }
        if items.len() % 2 == 1 {
            return Err(self.refuse(format!("{opcode}: list index out of range (an odd number of items)")));
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        for c in items.chunks(2) {
            let key = self.hash_key(c[0]).map_err(|e| self.refuse(e))?;
            pairs.push((key, c[1]));
        }
        if let V::Dict(_, entries) = &mut self.values[target] {
            for (k, v) in pairs {
                match entries.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(e) => e.1 = v,
                    None => entries.push((k, v)),
                }
            }
        }
        Ok(())
    }

    pub(super) fn newobj(&mut self, cls: Id, args: Id) -> Result<V, Refusal> {
        let V::Global(name) = self.get(cls).clone() else {
            return Err(self.refuse(format!("can only create new object for nn.Parameter or allow-listed classes, but got {}", self.get(cls).type_name())));
        };
        let args = self.args(args)?;
        match name.as_str() {
            "torch.nn.parameter.Parameter" => self.parameter(&args),
            "collections.OrderedDict" => Ok(V::Dict(DictKind::Ordered, Vec::new())),
            "collections.Counter" => Ok(V::Dict(DictKind::Counter, Vec::new())),
            "builtins.set" => Ok(V::Set),
            n if globals::is_tensor_class(n) => self.legacy_tensor(n, &args),
            n if is_callable_class(n) => Ok(V::Other("object")),
            n => Err(self.refuse(format!("{n}.__new__ cannot be called: it is not a class"))),
        }
    }

    /// The call's arguments: a tuple (Python's `func(*args)` takes any iterable; torch's files hold tuples).
    pub(super) fn args(&self, args: Id) -> Result<Vec<Id>, Refusal> {
        self.iterate(args).map_err(|e| self.refuse(format!("argument after * must be an iterable: {e}")))
    }

    pub(super) fn reduce(&mut self, func: Id, args: Id) -> Result<V, Refusal> {
        let V::Global(name) = self.get(func).clone() else {
            return Err(self.refuse(format!("trying to call reduce for unrecognized function {}", self.get(func).type_name())));
        };
        let args = self.args(args)?;
        let n = args.len();
        let arity = |lo: usize, hi: usize| -> Result<(), Refusal> {
            if n < lo || n > hi {
                Err(self.refuse(format!("{name}() takes {lo} to {hi} arguments ({n} given)")))
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "torch._utils._rebuild_tensor" => {
                arity(4, 4)?;
                let (float, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_tensor_v2" => {
                arity(6, 7)?;
                let (float, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[4], float)?;
                if let Some(&meta) = args.get(6) {
                    self.metadata(meta)?;
                }
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_tensor_v3" => {
                arity(7, 8)?;
                if matches!(self.get(args[4]), V::Bool(true)) {
                    // It sets requires_grad before an in-place set_ on a leaf: torch always fails.
                    return Err(self.refuse("a leaf Variable that requires grad is being used in an in-place operation (_rebuild_tensor_v3 with requires_grad=True)"));
                }
                let (_, _, nbytes, slot) = self.storage_of(args[0])?;
                let (dtype_float, itemsize) = self.dtype(args[6])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[4], dtype_float)?;
                if let Some(&meta) = args.get(7) {
                    self.metadata(meta)?;
                }
                Ok(V::Tensor { float: dtype_float, parameter: false })
            }
            "torch.nn.parameter.Parameter" => {
                arity(0, 2)?;
                self.parameter(&args)
            }
            "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
                arity(if name.ends_with("state") { 4 } else { 3 }, if name.ends_with("state") { 4 } else { 3 })?;
                self.parameter(&args[..2])
            }
            "collections.OrderedDict" | "collections.Counter" => {
                arity(0, 1)?;
                let kind = if name == "collections.Counter" { DictKind::Counter } else { DictKind::Ordered };
                let mut entries = Vec::new();
                if let Some(&init) = args.first() {
                    entries = self.dict_init(init, kind)?;
                }
                Ok(V::Dict(kind, entries))
            }
            "builtins.set" => {
                arity(0, 1)?;
                if let Some(&items) = args.first() {
                    for i in self.iterate(items).map_err(|e| self.refuse(e))? {
                        self.hash_key(i).map_err(|e| self.refuse(e))?;
                    }
                }
                Ok(V::Set)
            }
            "_codecs.encode" => {
                arity(1, 3)?;
                // The codecs a torch file names (bytes are pickled as `encode(text, "latin1")`).
                if let Some(&enc) = args.get(1) {
                    let name = self.ascii(enc).map(|n| n.to_ascii_lowercase().replace(['-', '_'], ""));
                    if !matches!(name.as_deref(), Some("latin1" | "iso88591" | "l1" | "utf8" | "ascii" | "usascii")) {
                        return Err(self.refuse("_codecs.encode: unknown encoding"));
                    }
                }
                match self.get(args[0]) {
                    V::Str(s) => Ok(V::Bytes(s.chars().map(|c| c as u32 as u8).collect())),
                    other => Err(self.refuse(format!("_codecs.encode of {}", other.type_name()))),
                }
            }
            "builtins.bytearray" => {
                arity(0, 3)?;
                if args.len() == 1 && matches!(self.get(args[0]), V::Str(_)) {
                    return Err(self.refuse("bytearray(): string argument without an encoding"));
                }
                Ok(V::Other("bytearray"))
            }
            "builtins.complex" => {
                arity(0, 2)?;
                let number = |a: Id| self.number(a).is_some();
                let ok = match args[..] {
                    [] => true,
                    [a] => number(a) || matches!(self.get(a), V::Str(t) if t.trim().parse::<f64>().is_ok()),
                    [a, b] => number(a) && number(b),
                    _ => false,
                };
                if !ok {
                    return Err(self.refuse("complex() of these arguments (a string takes no second argument)"));
                }
                Ok(V::Other("complex"))
            }
            "torch.Size" => {
                arity(0, 1)?;
                let items = match args.first() {
                    Some(&a) => self.iterate(a).map_err(|e| self.refuse(e))?,
                    None => Vec::new(),
                };
                if items.iter().any(|&i| self.int(i).is_none()) {
                    return Err(self.refuse("torch.Size() takes an iterable of 'int'"));
                }
                Ok(V::Tuple(items))
            }
            "torch.storage.UntypedStorage" | "torch.storage.TypedStorage" => {
                arity(0, 2)?;
                let nbytes = match args.first().map(|&a| self.get(a)) {
                    None => 0,
                    Some(V::Int(n)) if (0..=i64::MAX as i128).contains(n) => *n as u64,
                    Some(other) => return Err(self.refuse(format!("UntypedStorage({})", other.type_name()))),
                };
                let slot = self.new_slot(nbytes);
                Ok(V::Storage { dtype: "uint8".into(), itemsize: 1, nbytes, slot: Some(slot) })
            }
            "torch.device" => {
                arity(1, 2)?;
                match self.get(args[0]) {
                    V::Str(d) if Machine::device_ok(d) => Ok(V::Other("torch.device")),
                    V::Int(i) if *i >= 0 => Ok(V::Other("torch.device")),
                    other => Err(self.refuse(format!("torch.device of {}", other.type_name()))),
                }
            }
            "torch.serialization._get_layout" => {
                arity(1, 1)?;
                match self.get(args[0]) {
                    V::Str(s) if matches!(s.as_str(), "torch.strided" | "torch.sparse_coo" | "torch.sparse_csr" | "torch.sparse_csc" | "torch.sparse_bsr" | "torch.sparse_bsc" | "torch._mkldnn" | "torch.jagged") => {
                        Ok(V::Other("torch.layout"))
                    }
                    _ => Err(self.refuse("_get_layout of an unknown layout name")),
                }
            }
            "torch._utils._rebuild_qtensor" => {
                arity(7, 7)?;
                self.quantizer(args[4])?;
                if !matches!(self.get(args[0]), V::Storage { dtype, .. } if crate::dtype::DType::from_torch_name(dtype).is_some_and(|d| d.is_quantized())) {
                    return Err(self.refuse("creation of a quantized tensor requires a quantized dtype like torch.quint8"));
                }
                let (_, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])?;
                self.requires_grad(args[5], false)?;
                Ok(V::Tensor { float: false, parameter: false })
            }
            "torch._utils._rebuild_meta_tensor_no_storage" => {
                arity(4, 4)?;
                let (float, _) = self.dtype(args[0])?;
                // `torch.empty_strided(size, stride, device="meta")`: the shape's checks, no storage.
                self.shape(None, args[1], args[2])?;
                self.requires_grad(args[3], float)?;
                Ok(V::Tensor { float, parameter: false })
            }
            "torch._utils._rebuild_sparse_tensor" => {
                arity(2, 2)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._utils._rebuild_wrapper_subclass" => {
                arity(8, 8)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._utils._rebuild_device_tensor_from_cpu_tensor" | "torch._utils._rebuild_device_tensor_from_numpy" => {
                arity(4, 4)?;
                Ok(V::Tensor { float: true, parameter: false })
            }
            "torch._tensor._rebuild_from_type_v2" => {
                // `(func, new_type, args, state)`: `func(*args)`, then the type and state.
                arity(4, 4)?;
                if self.nested_calls >= limits::MAX_NESTED_PICKLES * 16 {
                    return Err(self.refuse("_rebuild_from_type_v2 calls nested deeper than torchpeek follows"));
                }
                self.nested_calls += 1;
                let result = self.reduce(args[0], args[2]);
                self.nested_calls -= 1;
                result
            }
            n if globals::is_tensor_class(n) => self.legacy_tensor(n, &args),
            n => Err(self.refuse(format!("{n} is not callable"))),
        }
    }

    pub(super) fn build(&mut self, inst: Id, state: Id) -> Result<(), Refusal> {
        match self.get(inst).clone() {
            V::Tensor { parameter: false, .. } => {
                // Legacy unpickling: `inst.set_(*state)`.
                let args = self.args(state)?;
                if args.len() != 4 {
                    return Err(self.refuse("Tensor.set_ from BUILD takes a storage, an offset, sizes and strides"));
                }
                let (_, itemsize, nbytes, slot) = self.storage_of(args[0])?;
                self.set_(itemsize, nbytes, slot, Some(args[1]), args[2], args[3])
            }
            V::Tensor { parameter: true, .. } => Ok(()),
            V::Dict(DictKind::Ordered, _) => match self.get(state) {
                V::Dict(..) => Ok(()),
                _ => self.dict_init(state, DictKind::Ordered).map(|_| ()),
            },
            V::Dict(DictKind::Dict, _) => Err(self.refuse("can only build Tensor, Parameter, OrderedDict or allow-listed types, but got dict")),
            inst @ (V::Dict(DictKind::Counter, _) | V::Set | V::Other(_) | V::Storage { .. }) => {
                // An allowed type without `__setstate__`: pickle's `load_build`: a (state,
                // slotstate) pair, `__dict__.update(state)`, `setattr` for each slot.
                let (state, slots) = match self.get(state) {
                    V::Tuple(pair) if pair.len() == 2 => (Some(pair[0]), Some(pair[1])),
                    _ => (Some(state), None),
                };
                let has_dict = matches!(inst, V::Dict(DictKind::Counter, _) | V::Storage { .. });
                for part in [state, slots].into_iter().flatten() {
                    if self.truthy(part) && !(has_dict && matches!(self.get(part), V::Dict(..))) {
                        return Err(self.refuse(format!("BUILD on {}: it cannot take that state", inst.type_name())));
                    }
                }
                Ok(())
            }
            other => Err(self.refuse(format!("can only build Tensor, Parameter, OrderedDict or allow-listed types, but got {}", other.type_name()))),
        }
    }

    /// `_rebuild_qtensor`'s quantizer parameters: `(per_tensor_affine, scale, zero_point)` or
    /// `(per_channel_affine[_float_qparams], scales, zero_points, axis)`.
    fn quantizer(&self, params: Id) -> Result<(), Refusal> {
        let items = self.sequence(params).unwrap_or_default();
        let scheme = items.first().map(|&q| self.get(q));
        let ok = match scheme {
            Some(V::Global(q)) if q == "torch.per_tensor_affine" => items.len() == 3,
            Some(V::Global(q)) if q == "torch.per_channel_affine" || q == "torch.per_channel_affine_float_qparams" => items.len() == 4,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.refuse("can't deserialize a quantized tensor with this qscheme"))
        }
    }

    /// `torch.Tensor(*sizes)` / `torch.FloatTensor(...)`, the legacy constructors: nothing, sizes,
    /// one sequence of numbers (the data), or one storage.
    pub(super) fn legacy_tensor(&self, name: &str, args: &[Id]) -> Result<V, Refusal> {
        let sizes = args.iter().all(|&a| self.int(a).is_some_and(|n| (0..=i32::MAX as i128).contains(&n)));
        let data = matches!(args, [one] if self.numbers(*one, 0) || matches!(self.get(*one), V::Storage { .. }));
        if sizes || data {
            Ok(V::Tensor { float: !matches!(name, "torch.LongTensor" | "torch.IntTensor" | "torch.ShortTensor" | "torch.CharTensor" | "torch.ByteTensor" | "torch.BoolTensor") && !name.contains(".cuda.Long"), parameter: false })
        } else {
            Err(self.refuse(format!("{name}() / new() received an invalid combination of arguments")))
        }
    }

    pub(super) fn parameter(&mut self, args: &[Id]) -> Result<V, Refusal> {
        let float = match args.first().map(|&a| self.get(a)) {
            Some(V::Tensor { float, .. }) => *float,
            None => true, // Parameter() is an empty float tensor.
            Some(other) => return Err(self.refuse(format!("Parameter of {}, not a tensor", other.type_name()))),
        };
        if let Some(&rg) = args.get(1) {
            self.requires_grad(rg, float)?;
        } else if !float {
            return Err(self.refuse("only Tensors of floating point and complex dtype can require gradients"));
        }
        Ok(V::Tensor { float, parameter: true })
    }

    pub(super) fn requires_grad(&self, v: Id, float: bool) -> Result<(), Refusal> {
        match self.get(v) {
            V::Bool(true) if !float => Err(self.refuse("only Tensors of floating point and complex dtype can require gradients")),
            V::Bool(_) => Ok(()),
            other => Err(self.refuse(format!("requires_grad must be a bool, got {}", other.type_name()))),
        }
    }

    /// `set_tensor_metadata` when the metadata is truthy: torch takes a dict (or a sequence of pairs).
    pub(super) fn metadata(&self, v: Id) -> Result<(), Refusal> {
        match self.get(v) {
            V::Dict(..) | V::Tuple(_) | V::List(_) => Ok(()),
            _ if !self.truthy(v) => Ok(()),
            other => Err(self.refuse(format!("tensor metadata must be a dict, got {}", other.type_name()))),
        }
    }

    /// A typed storage's (floating point, itemsize, bytes now, resizable slot).
    pub(super) fn storage_of(&self, v: Id) -> Result<(bool, u64, u64, Option<usize>), Refusal> {
        match self.get(v) {
            V::Storage { dtype, itemsize, nbytes, slot } => Ok((dtype_is_float(dtype), *itemsize, slot.map_or(*nbytes, |s| self.slots[s]), *slot)),
            other => Err(self.refuse(format!("a tensor rebuilt from {}, not a storage", other.type_name()))),
        }
    }

    /// A view's shape as torch takes it: int sizes and strides of equal length, each an int64
    /// SymInt, no negative size or offset, a numel within int64. (offset, sizes, strides, numel).
    #[allow(clippy::type_complexity)]
    pub(super) fn shape(&self, offset: Option<Id>, size: Id, stride: Id) -> Result<(i128, Vec<i128>, Vec<i128>, i128), Refusal> {
        let offset = match offset.map(|o| self.get(o)) {
            None => 0,
            Some(V::Int(o)) => *o,
            Some(V::Bool(b)) => *b as i128,
            Some(other) => return Err(self.refuse(format!("set_() storage offset of {}", other.type_name()))),
        };
        let ints = |id: Id| -> Option<Vec<i128>> {
            let items = match self.get(id) {
                V::Tuple(v) | V::List(v) => v,
                _ => return None,
            };
            items.iter().map(|&i| if let V::Int(n) = self.get(i) { Some(*n) } else { None }).collect()
        };
        let (Some(size), Some(stride)) = (ints(size), ints(stride)) else {
            return Err(self.refuse("set_() received an invalid combination of arguments (sizes and strides must be tuples of ints)"));
        };
        // Each becomes an int64 SymInt; below -2^62 one is heap-allocated, which set_ refuses.
        if size.iter().chain(&stride).chain([&offset]).any(|&v| v > i64::MAX as i128 || v < -(1i128 << 62)) {
            return Err(self.refuse(format!("sizes {size:?}, strides {stride:?} or offset {offset}: not an int64 torch can take")));
        }
        if size.len() != stride.len() {
            return Err(self.refuse(format!("unequal size length ({}) and stride length ({})", size.len(), stride.len())));
        }
        if size.len() > limits::MAX_RANK {
            return Err(self.refuse(format!("a tensor of {} dimensions", size.len())));
        }
        if offset < 0 {
            return Err(self.refuse(format!("Tensor: invalid storage offset {offset}")));
        }
        let mut numel: i128 = 1;
        for &d in &size {
            numel = numel.checked_mul(d).filter(|n| (0..=i64::MAX as i128).contains(n)).ok_or_else(|| self.refuse("numel: integer multiplication overflow"))?;
        }
        if size.iter().any(|&d| d < 0) {
            return Err(self.refuse("numel: a negative dimension"));
        }
        Ok((offset, size, stride, numel))
    }

    /// `Tensor.set_(storage, offset, size, stride)`: the shape's checks, then the bytes the view
    /// spans (torch multiplies unsigned: a negative stride over more than one element overflows)
    /// inside the storage, which must not need to grow; a resizable one (`slot`) grows instead.
    pub(super) fn set_(&mut self, itemsize: u64, nbytes: u64, slot: Option<usize>, offset: Option<Id>, size: Id, stride: Id) -> Result<(), Refusal> {
        let (offset, size, stride, numel) = self.shape(offset, size, stride)?;
        if numel == 0 {
            return Ok(());
        }
        let overflow = || self.refuse(format!("Storage size calculation overflowed with sizes={size:?} and strides={stride:?}"));
        let mut last: i128 = 0;
        for (&d, &s) in size.iter().zip(&stride) {
            if s < 0 && d > 1 {
                return Err(overflow());
            }
            last = s.checked_mul(d - 1).and_then(|x| x.checked_add(last)).filter(|&x| x <= i64::MAX as i128).ok_or_else(overflow)?;
        }
        let needed = (offset + last + 1).checked_mul(itemsize as i128).filter(|&x| x <= i64::MAX as i128).ok_or_else(overflow)?;
        if needed > nbytes as i128 {
            if let Some(slot) = slot {
                self.slots[slot] = needed as u64;
                return Ok(());
            }
            return Err(self.refuse(format!(
                "a view of sizes {size:?}, strides {stride:?} and storage offset {offset} needs {needed} bytes of a storage of {nbytes} (trying to resize storage that is not resizable)"
            )));
        }
        Ok(())
    }

    /// `collections.OrderedDict(init)` / `Counter(init)`: a mapping or an iterable of pairs.
    pub(super) fn dict_init(&self, init: Id, kind: DictKind) -> Result<Vec<(String, Id)>, Refusal> {
        match self.get(init) {
            V::Dict(_, entries) => Ok(entries.clone()),
            _ => {
                let items = self.iterate(init).map_err(|e| self.refuse(e))?;
                let mut out = Vec::new();
                for i in items {
                    if kind == DictKind::Counter {
                        out.push((self.hash_key(i).map_err(|e| self.refuse(e))?, i));
                        continue;
                    }
                    let pair = self.iterate(i).map_err(|e| self.refuse(e))?;
                    let [k, v] = pair[..] else { return Err(self.refuse("dictionary update sequence element has the wrong length")) };
                    out.push((self.hash_key(k).map_err(|e| self.refuse(e))?, v));
                }
                Ok(out)
            }
        }
    }

    pub(super) fn dtype(&self, v: Id) -> Result<(bool, u64), Refusal> {
        match self.get(v) {
            V::Global(n) => globals::torch_dtype(n).map(|(f, s, _)| (f, s)).ok_or_else(|| self.refuse(format!("{n} is not a dtype"))),
            other => Err(self.refuse(format!("dtype of {}", other.type_name()))),
        }
    }

    // --- what persistent_load reads of its arguments

    /// A storage's persistent id `('storage', ...)` as `persistent_load` unpacks it: the `N`
    /// fields after the typename.
    pub(super) fn storage_pid<const N: usize>(&self, pid: Id) -> Result<[Id; N], String> {
        let items = match self.get(pid) {
            V::Tuple(items) => items.clone(),
            other => return Err(format!("saved_id must be a tuple, got {}", other.type_name())),
        };
        let typename = items.first().map(|&i| self.ascii(i)).ok_or("tuple index out of range")?;
        if typename.as_deref() != Some("storage") {
            return Err(format!("unknown typename for persistent_load, expected 'storage' but got {typename:?}"));
        }
        items[1..].try_into().map_err(|_| format!("the storage id has {} fields, torch unpacks {N}", items.len() - 1))
    }

    /// `_maybe_decode_ascii`: a str, or bytes decoded as ASCII.
    pub(super) fn ascii(&self, v: Id) -> Option<String> {
        match self.get(v) {
            V::Str(s) => Some(s.clone()),
            V::Bytes(b) if b.is_ascii() => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// `storage_type.dtype`: (name, itemsize).
    pub(super) fn storage_dtype(&self, v: Id) -> Result<(String, u64), String> {
        match self.get(v) {
            V::Global(n) if n == "torch.storage.UntypedStorage" => Ok(("uint8".into(), 1)),
            V::Global(n) => globals::storage_type_dtype(n).ok_or_else(|| format!("{n} has no dtype (not a storage type)")),
            other => Err(format!("a storage type was expected, got {}", other.type_name())),
        }
    }

    /// Where torch restores a storage: `cpu` and `meta` anywhere; an accelerator (`cuda:0`, `mps`,
    /// `xpu`, `hpu`) on a machine that has it (a CPU-only one refuses it without `map_location`).
    /// A quantized storage cannot be restored to `meta`.
    pub(super) fn location(&self, v: Id, dtype: &str) -> Result<(), String> {
        let Some(loc) = self.ascii(v) else { return Err("the storage location is not a string".into()) };
        if loc == "meta" && crate::dtype::DType::from_torch_name(dtype).is_some_and(|d| d.is_quantized()) {
            return Err("a quantized storage on meta: aten::_empty_affine_quantized has no QuantizedMeta backend".into());
        }
        if Machine::device_ok(&loc) {
            Ok(())
        } else {
            Err(format!("don't know how to restore data location {loc:?}"))
        }
    }

    pub(super) fn device_ok(loc: &str) -> bool {
        let (device, index) = loc.split_once(':').map_or((loc, None), |(d, i)| (d, Some(i)));
        let index_ok = index.is_none_or(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        matches!(loc, "cpu" | "meta") || matches!(device, "cuda" | "mps" | "xpu" | "hpu") && index_ok
    }

    /// A (nested) list or tuple of numbers, as tensor data.
    pub(super) fn numbers(&self, v: Id, depth: usize) -> bool {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => depth < limits::MAX_RANK && items.iter().all(|&i| self.numbers(i, depth + 1)),
            V::Int(_) | V::Float(_) | V::Bool(_) => depth > 0,
            _ => false,
        }
    }

    /// Python's truth value.
    pub(super) fn truthy(&self, v: Id) -> bool {
        match self.get(v) {
            V::None => false,
            V::Bool(b) => *b,
            V::Int(n) => *n != 0,
            V::Float(f) => *f != 0.0,
            V::Str(s) => !s.is_empty(),
            V::Bytes(b) => !b.is_empty(),
            V::Tuple(v) | V::List(v) => !v.is_empty(),
            V::Dict(_, e) => !e.is_empty(),
            _ => true,
        }
    }

    pub(super) fn int(&self, v: Id) -> Option<i128> {
        match self.get(v) {
            V::Int(n) => Some(*n),
            V::Bool(b) => Some(*b as i128),
            _ => None,
        }
    }

    pub(super) fn number(&self, v: Id) -> Option<f64> {
        match self.get(v) {
            V::Float(f) => Some(*f),
            _ => self.int(v).map(|n| n as f64),
        }
    }

    pub(super) fn sequence(&self, v: Id) -> Option<Vec<Id>> {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => Some(items.clone()),
            _ => None,
        }
    }

    /// Python's iteration of a value (for `func(*args)`, `for key in keys`).
    pub(super) fn iterate(&self, v: Id) -> Result<Vec<Id>, String> {
        match self.get(v) {
            V::Tuple(items) | V::List(items) => Ok(items.clone()),
            V::Dict(_, entries) => Ok(entries.iter().map(|e| e.1).collect()),
            other => Err(format!("'{}' object is not iterable here", other.type_name())),
        }
    }

    /// A dict key as Python hashes and compares it (`1 == 1.0 == True`), or the TypeError.
    pub(super) fn hash_key(&self, v: Id) -> Result<String, String> {
        Ok(match self.get(v) {
            V::None => "None".into(),
            V::Bool(b) => format!("i{}", *b as i32),
            V::Int(n) => format!("i{n}"),
            V::BigInt => format!("big{v}"),
            V::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => format!("i{}", *f as i128),
            V::Float(f) => format!("f{f:?}"),
            V::Str(s) => format!("s{s}"),
            V::Bytes(b) => format!("b{b:?}"),
            V::Tuple(items) => {
                let parts = items.iter().map(|&i| self.hash_key(i)).collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(","))
            }
            V::List(_) | V::Dict(..) | V::Set => return Err(format!("unhashable type: '{}'", self.get(v).type_name())),
            V::Global(n) => format!("g{n}"),
            _ => format!("id{v}"),
        })
    }

    /// `f"data/{key}"` of a storage key.
    pub(super) fn format_key(&self, v: Id) -> Result<String, String> {
        match self.get(v) {
            V::Str(s) => Ok(s.clone()),
            V::Int(n) => Ok(n.to_string()),
            V::Bool(b) => Ok(if *b { "True" } else { "False" }.into()),
            V::None => Ok("None".into()),
            other => Err(format!("a storage key of type {}", other.type_name())),
        }
    }
}

fn dtype_is_float(name: &str) -> bool {
    globals::torch_dtype(&format!("torch.{name}")).is_some_and(|d| d.0)
}

/// A class one may call `__new__` on (`torch.device`, `torch.Size` ...); functions and dtypes are not.
fn is_callable_class(name: &str) -> bool {
    matches!(name, "torch.Size" | "torch.device" | "builtins.bytearray" | "builtins.complex" | "torch.storage.TypedStorage" | "torch.storage.UntypedStorage")
}

/// Python's `str(b, "utf-8", "surrogatepass")`: UTF-8 that may also encode lone surrogates
/// (`ED A0..BF xx`), which Rust's strings cannot hold: each becomes U+FFFD.
fn utf8_surrogatepass(b: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return Some(out);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).expect("valid up to here"));
                let surrogate = bad.len() >= 3 && bad[0] == 0xed && (0xa0..=0xbf).contains(&bad[1]) && (0x80..=0xbf).contains(&bad[2]);
                if !surrogate {
                    return None;
                }
                out.push('\u{fffd}');
                rest = &bad[3..];
            }
        }
    }
}

/// A little-endian two's-complement integer of up to 16 bytes.
fn le_signed(b: &[u8]) -> i128 {
    if b.is_empty() {
        return 0;
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let mut buf = [if neg { 0xff } else { 0 }; 16];
    buf[..b.len()].copy_from_slice(b);
    i128::from_le_bytes(buf)
}



#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_outside_the_list_are_refused_with_their_offset() {
        let mut m = Machine::new(b"\x80\x02]2.", 0, "p");
        let e = m.run(&mut NoStorages).unwrap_err();
        assert!(e.reason.contains("DUP") && e.offset == 3, "{e:?}");
        let mut m = Machine::new(b"\x80\x02\x8f.", 0, "p");
        assert!(m.run(&mut NoStorages).is_ok(), "EMPTY_SET is accepted by torch 2.15");
    }

    #[test]
    fn python_stack_semantics() {
        // TUPLE2 right after a MARK sees an empty stack.
        let mut m = Machine::new(b"K\x01(K\x02\x86.", 0, "p");
        assert!(m.run(&mut NoStorages).is_err());
        // STOP ignores an unclosed MARK below the top.
        let mut m = Machine::new(b"(K\x01.", 0, "p");
        assert!(m.run(&mut NoStorages).is_ok());
        // An unset memo slot.
        let mut m = Machine::new(b"h\x05.", 0, "p");
        assert!(m.run(&mut NoStorages).unwrap_err().reason.contains("memo key 5"));
        // Item-setting on a list.
        let mut m = Machine::new(b"]K\x00K\x01s.", 0, "p");
        assert!(m.run(&mut NoStorages).unwrap_err().reason.contains("SETITEM"));
    }

}

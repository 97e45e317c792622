//! What a pickle does, opcode by opcode, as the safety scan needs it: every global it names (with
//! the opcode and byte offset), every call it asks for, and which protocol features it uses.

use serde::Serialize;

/// One place a pickle names a global.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalUse {
    /// `module.name`, or a description when the pickle hides the name (`<extension 12>`).
    pub global: String,
    pub module: String,
    pub name: String,
    /// GLOBAL, STACK_GLOBAL, INST, EXT1 ...
    pub opcode: &'static str,
    pub offset: u64,
}

/// One call the pickle asks for (REDUCE, NEWOBJ, BUILD ...), with what is called when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallUse {
    pub opcode: &'static str,
    pub offset: u64,
    /// The callable's global name, or `None` when the callable is not a plain global.
    pub callable: Option<String>,
    /// NEWOBJ / INST / OBJ with no arguments (a class rebuilt the standard way), or BUILD on an
    /// object the pickle made; `false` for every other call and a BUILD on anything else.
    pub plain: bool,
}

/// Everything the safety scan reads of one pickle.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub protocol: u8,
    pub globals: Vec<GlobalUse>,
    pub calls: Vec<CallUse>,
    /// The first offset of each opcode beyond protocol 2 that appears (FRAME, MEMOIZE ...).
    pub newer_opcodes: Vec<(&'static str, u64)>,
    /// Byte offset just past STOP.
    pub end: u64,
    /// Persistent ids seen (torch storages).
    pub persistent_ids: u64,
    /// Bytes handed to a loader (`pickle.loads(b'...')`, `torch.load(io.BytesIO(b'...'))`): a
    /// nested pickle the scan must read too.
    pub nested: Vec<Nested>,
    /// Shapes no pickler writes, used to attack or fool loaders and scanners: a DUP, a PROTO past
    /// the start, an opcode straddling its FRAME's end, a MARK-less TUPLE, an unhashable key, a
    /// value that expands to far more than the pickle holds (billion laughs, self-containment).
    pub anomalies: Vec<Anomaly>,
}

/// One hostile shape in a pickle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub offset: u64,
    pub what: String,
}

/// Bytes a call hands to something that loads data (its name ends in `load` or `loads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nested {
    pub loader: String,
    /// Offset of the call's opcode.
    pub offset: u64,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Whether a global loads data it is handed (pickle.loads, torch.load, dill.load, marshal.loads ...).
pub fn is_loader(global: &str) -> bool {
    let name = global.rsplit('.').next().unwrap_or(global);
    matches!(name, "load" | "loads" | "_load" | "_loads" | "Unpickler" | "_load_from_bytes")
}

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
}

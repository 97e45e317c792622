//! The data-only pickle machine. `machine` runs opcodes into a value graph (`value`) and records
//! what the pickle asked for (`trace`); nothing from a file is ever imported or executed.

pub mod machine;
pub mod trace;
pub mod value;

pub use machine::{opcode_name, parse, python2_module, scan, Pickle};
pub use trace::{Anomaly, CallUse, GlobalUse, Nested, Trace};
pub use value::{Arena, How, Id, Object, Value};

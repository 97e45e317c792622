//! The pickle machine: runs every opcode of protocols 0-5 over a byte slice and builds the value
//! graph (`value.rs`) and the trace (`trace.rs`). Nothing is imported or called: GLOBAL pushes a
//! name, REDUCE/NEWOBJ/INST/OBJ push a description of the call, BUILD records the state.

use super::trace::{is_loader, Anomaly, CallUse, GlobalUse, Nested, Trace};
use super::value::{Arena, How, Id, Object, Value};
use crate::error::{Error, Location, Result};
use crate::limits;
use std::collections::HashMap;

/// One parsed pickle: the values, the one STOP returned, and what it did.
#[derive(Debug, Clone)]
pub struct Pickle {
    pub arena: Arena,
    pub root: Id,
    pub trace: Trace,
}

/// Parses the pickle that starts at `start` of `data`, up to and including its STOP.
/// `member` names the data in errors (`archive/data.pkl`).
pub fn parse(data: &[u8], start: usize, member: &str) -> Result<Pickle> {
    let mut m = Machine::new(data, start, member);
    let root = m.run()?;
    m.trace.end = m.pos as u64;
    m.check_expansion(root);
    Ok(Pickle { arena: m.arena, root, trace: m.trace })
}

/// Runs the pickle at `start` as far as it goes, for the safety scan: the trace of every opcode
/// before the end or the error that stopped it (a loader would have run all of those), and the
/// error. `trace.end` is past STOP, or where the error was.
pub fn scan(data: &[u8], start: usize, member: &str) -> (Trace, Option<Error>) {
    let mut m = Machine::new(data, start, member);
    let result = m.run();
    m.trace.end = if result.is_ok() { m.pos } else { m.op_pos } as u64;
    if let Ok(root) = result {
        m.check_expansion(root);
    }
    (m.trace, result.err())
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being run, for errors and the trace.
    op_pos: usize,
    member: &'a str,
    arena: Arena,
    stack: Vec<Id>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    trace: Trace,
    /// Where the current FRAME ends, while reading inside one.
    frame_end: Option<usize>,
}

/// Opcodes beyond protocol 2, which torch's weights-only loader refuses.
fn newer_opcode_name(op: u8) -> Option<&'static str> {
    matches!(op, b'B' | b'C' | 0x8c..=0x98).then(|| opcode_name(op))
}

/// pickletools' name of an opcode byte.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "not a pickle opcode",
    }
}

impl<'a> Machine<'a> {
    fn new(data: &'a [u8], start: usize, member: &'a str) -> Self {
        Machine {
            data,
            pos: start,
            op_pos: start,
            member,
            arena: Arena::default(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            trace: Trace::default(),
            frame_end: None,
        }
    }

    fn at(&self, offset: usize) -> Location {
        Location::new(self.member, offset as u64)
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        Error::corrupt(self.at(self.op_pos), msg)
    }

    fn anomaly(&mut self, offset: usize, what: impl Into<String>) {
        if self.trace.anomalies.len() < 16 {
            self.trace.anomalies.push(Anomaly { offset: offset as u64, what: what.into() });
        }
    }

    /// Frames: an opcode that starts inside a FRAME must end inside it. Picklers write a big
    /// payload, opcode and all, outside any frame; pure-Python pickle refuses a straddling opcode
    /// and the C unpickler reads on, so the two see different opcodes after it.
    fn frame_check(&mut self, n: usize) {
        let Some(end) = self.frame_end else { return };
        if self.op_pos < end && self.pos.saturating_add(n) > end {
            self.frame_end = None;
            let at = self.op_pos;
            self.anomaly(at, format!("the opcode at byte {at} runs past the end of its FRAME at byte {end}: unpicklers disagree on what follows"));
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        self.frame_check(n);
        let data: &'a [u8] = self.data;
        if n > data.len() - self.pos {
            return Err(Error::Truncated {
                at: self.at(self.pos),
                needed: n as u64,
                available: (data.len() - self.pos) as u64,
            });
        }
        let s = &data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn len_u64(&mut self) -> Result<usize> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| self.err(format!("declared length {n} is too large")))
    }

    /// A protocol-0 text argument: the bytes up to the next newline.
    fn line(&mut self) -> Result<&'a str> {
        let data: &'a [u8] = self.data;
        let rest = &data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or_else(|| Error::Truncated {
            at: self.at(self.pos),
            needed: rest.len() as u64 + 1,
            available: rest.len() as u64,
        })?;
        self.frame_check(n + 1);
        self.pos += n + 1;
        std::str::from_utf8(&rest[..n]).map_err(|_| self.err("text argument is not UTF-8"))
    }

    fn push_value(&mut self, v: Value) -> Result<Id> {
        if self.arena.values.len() >= limits::MAX_PICKLE_NODES {
            return Err(Error::Limit {
                at: self.at(self.op_pos),
                what: "pickle value count",
                found: self.arena.values.len() as u64,
                limit: limits::MAX_PICKLE_NODES as u64,
            });
        }
        self.arena.values.push(v);
        Ok((self.arena.values.len() - 1) as Id)
    }

    fn push(&mut self, v: Value) -> Result<()> {
        let id = self.push_value(v)?;
        self.stack.push(id);
        Ok(())
    }

    fn pop(&mut self) -> Result<Id> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.pop().unwrap())
    }

    fn top(&self) -> Result<Id> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err("stack underflow"));
        }
        Ok(*self.stack.last().unwrap())
    }

    /// Pops everything down to the last MARK, and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Id>> {
        let Some(mark) = self.marks.pop() else {
            let at = self.op_pos;
            self.anomaly(at, "an opcode that needs a MARK where there is none");
            return Err(self.err("no MARK on the stack"));
        };
        Ok(self.stack.split_off(mark))
    }

    /// The memo key a PUT or GET opcode names: a text line (PUT, GET), one byte (BINPUT, BINGET),
    /// four bytes (LONG_BINPUT, LONG_BINGET), or the memo's size (MEMOIZE).
    fn memo_key(&mut self, op: u8) -> Result<u64> {
        Ok(match op {
            b'p' | b'g' => {
                let line = self.line()?;
                let opcode = if op == b'p' { "PUT" } else { "GET" };
                line.trim().parse::<u64>().map_err(|_| self.err(format!("bad {opcode} argument {line:?}")))?
            }
            b'q' | b'h' => self.u8()? as u64,
            b'r' | b'j' => self.u32()? as u64,
            _ => self.memo.len() as u64,
        })
    }

    fn memo_put(&mut self, key: u64) -> Result<()> {
        let id = self.top()?;
        if self.memo.len() >= limits::MAX_MEMO_ENTRIES && !self.memo.contains_key(&key) {
            return Err(Error::Limit {
                at: self.at(self.op_pos),
                what: "memo size",
                found: self.memo.len() as u64,
                limit: limits::MAX_MEMO_ENTRIES as u64,
            });
        }
        self.memo.insert(key, id);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<()> {
        let id = *self.memo.get(&key).ok_or_else(|| self.err(format!("memo key {key} was never stored")))?;
        self.stack.push(id);
        Ok(())
    }

    fn global(&mut self, module: String, name: String, opcode: &'static str) -> Result<Id> {
        // Python (and torch's weights-only unpickler) read protocol 0-2 names through the
        // Python 2 compatibility mapping: `__builtin__.set` is `builtins.set`.
        let module = if self.trace.protocol < 3 { python2_module(&module).unwrap_or(&module).to_string() } else { module };
        self.trace.globals.push(GlobalUse {
            global: format!("{module}.{name}"),
            module: module.clone(),
            name: name.clone(),
            opcode,
            offset: self.op_pos as u64,
        });
        self.push_value(Value::Global { module, name })
    }

    fn call(&mut self, opcode: &'static str, callable: Id, args: Id, kwargs: Option<Id>, how: How) -> Result<()> {
        let name = self.arena.callable_name(callable);
        if let Some(loader) = name.as_deref().filter(|n| is_loader(n)) {
            self.record_nested(loader, args);
        }
        // A class rebuilt the standard way: `cls.__new__(cls)` with nothing passed (NEWOBJ, or
        // INST / OBJ without arguments); its state comes by BUILD.
        let no_args = self.arena.seq(args).is_some_and(<[Id]>::is_empty);
        let no_kwargs = kwargs.is_none_or(|k| matches!(self.arena.get(k), Value::Dict(d) if d.is_empty()));
        let plain = matches!(how, How::NewObj | How::Inst) && no_args && no_kwargs;
        self.trace.calls.push(CallUse { opcode, offset: self.op_pos as u64, callable: name, plain });
        self.push(Value::Object(Object {
            callable,
            args,
            kwargs,
            how,
            state: None,
            items: Vec::new(),
            dict_items: Vec::new(),
        }))
    }

    /// Keeps the bytes among a loader's arguments (directly, or inside a call such as
    /// `io.BytesIO(b'...')`), within a size budget.
    fn record_nested(&mut self, loader: &str, args: Id) {
        let mut found = Vec::new();
        for &a in self.arena.seq(args).unwrap_or(&[]) {
            match self.arena.bytes_of(a) {
                Some(b) => found.push(b),
                // A file object around them: io.BytesIO(b'...').
                None => {
                    if let Value::Object(o) = self.arena.get(a) {
                        found.extend(self.arena.seq(o.args).unwrap_or(&[]).iter().filter_map(|&i| self.arena.bytes_of(i)));
                    }
                }
            }
        }
        let mut kept: usize = self.trace.nested.iter().map(|n| n.bytes.len()).sum();
        for bytes in found {
            if kept + bytes.len() <= limits::MAX_NESTED_BYTES {
                kept += bytes.len();
                self.trace.nested.push(Nested { loader: loader.to_string(), offset: self.op_pos as u64, bytes });
            }
        }
    }

    fn append(&mut self, target: Id, items: Vec<Id>) -> Result<()> {
        if matches!(self.arena.get(target), Value::Set(_)) {
            self.check_hashable(items.iter().copied());
        }
        let at = self.at(self.op_pos);
        match &mut self.arena.values[target as usize] {
            Value::List(v) | Value::Set(v) => v.extend(items),
            Value::Object(o) => o.items.extend(items),
            other => return Err(Error::corrupt(at, format!("cannot add items to {}", kind_name(other)))),
        }
        Ok(())
    }

    fn set_items(&mut self, target: Id, flat: Vec<Id>) -> Result<()> {
        if !flat.len().is_multiple_of(2) {
            return Err(self.err("SETITEMS with an odd number of items"));
        }
        self.check_hashable(flat.iter().step_by(2).copied());
        if let Value::Object(o) = self.arena.get(target) {
            let callable = self.arena.callable_name(o.callable).unwrap_or_default();
            if callable.starts_with("torch._utils._rebuild_") || callable.starts_with("torch._tensor._rebuild") {
                let at = self.op_pos;
                self.anomaly(at, format!("item-setting on a tensor made by {callable} (the weights-only bypass of CVE-2026-24747)"));
            }
        }
        let pairs = flat.chunks(2).map(|c| (c[0], c[1]));
        let at = self.at(self.op_pos);
        match &mut self.arena.values[target as usize] {
            Value::Dict(v) => v.extend(pairs),
            Value::Object(o) => o.dict_items.extend(pairs),
            other => return Err(Error::corrupt(at, format!("cannot set items on {}", kind_name(other)))),
        }
        Ok(())
    }

    /// Dict keys and set items must be hashable: a list, dict or set there is a crafted pickle.
    fn check_hashable(&mut self, ids: impl Iterator<Item = Id>) {
        let bad = ids.into_iter().find_map(|k| match self.arena.get(k) {
            Value::List(_) | Value::Dict(_) | Value::Set(_) => Some(kind_name(self.arena.get(k))),
            _ => None,
        });
        if let Some(kind) = bad {
            let at = self.op_pos;
            self.anomaly(at, format!("{kind} used as a dict key or set item (unhashable: no pickler writes it)"));
        }
    }

    /// A value that would expand to many times what the pickle holds (nested repeats, billion
    /// laughs) or that contains itself: the loader's memory, not data.
    fn check_expansion(&mut self, root: Id) {
        const FACTOR: u64 = 16;
        const FLOOR: u64 = 64;
        let n = self.arena.values.len();
        let mut size = vec![0u64; n]; // 0: not yet seen
        let mut on_path = vec![false; n];
        let mut stack: Vec<(Id, bool)> = vec![(root, false)];
        // References back to a value that contains them: one is a plain self-reference (torch
        // loads it); many are a structure built to expand without end.
        let mut back_edges = 0u64;
        while let Some((id, done)) = stack.pop() {
            let i = id as usize;
            if done {
                on_path[i] = false;
                let total = children(self.arena.get(id)).iter().fold(1u64, |acc, &c| acc.saturating_add(size[c as usize]));
                size[i] = total;
                continue;
            }
            if size[i] != 0 {
                continue;
            }
            if on_path[i] {
                back_edges += 1;
                continue;
            }
            on_path[i] = true;
            stack.push((id, true));
            for c in children(self.arena.get(id)) {
                if on_path[c as usize] {
                    back_edges += 1;
                } else if size[c as usize] == 0 {
                    stack.push((c, false));
                }
            }
        }
        let total = size[root as usize];
        let at = self.trace.end.saturating_sub(1) as usize;
        if back_edges >= FACTOR {
            self.anomaly(at, format!("{back_edges} references from values back into values that contain them (an unbounded structure for any loader that walks it)"));
        } else if total >= FLOOR && total / FACTOR > n as u64 {
            self.anomaly(at, format!("the value expands to {total} nodes from {n} in the pickle (repeated references: billion laughs)"));
        }
    }

    fn string_value(&mut self, bytes: &[u8]) -> Result<()> {
        let s = String::from_utf8_lossy(bytes).into_owned();
        self.push(Value::Str(s))
    }

    fn run(&mut self) -> Result<Id> {
        loop {
            self.op_pos = self.pos;
            let op = self.u8()?;
            if let Some(name) = newer_opcode_name(op) {
                if !self.trace.newer_opcodes.iter().any(|(n, _)| *n == name) {
                    self.trace.newer_opcodes.push((name, self.op_pos as u64));
                }
            }
            match op {
                0x80 => {
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {v}")));
                    }
                    if v < self.trace.protocol {
                        let at = self.op_pos;
                        let was = self.trace.protocol;
                        self.anomaly(at, format!("a PROTO {v} after PROTO {was}: a protocol downgrade inside one pickle"));
                    }
                    self.trace.protocol = v;
                }
                0x95 => {
                    // FRAME: read on as if there were no frame, past its end too. CPython's C
                    // unpickler refuses a frame longer than the data, but its pure-Python one
                    // (`pickle._Unpickler`, which dill and others subclass) reads what is there.
                    let n = self.u64()?;
                    if self.frame_end.is_some_and(|end| self.op_pos < end) {
                        let at = self.op_pos;
                        self.anomaly(at, "a FRAME inside a FRAME");
                    }
                    self.frame_end = usize::try_from(n).ok().and_then(|n| self.pos.checked_add(n));
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok(root);
                }
                b'(' => {
                    if self.marks.len() >= limits::MAX_DEPTH {
                        return Err(Error::Limit {
                            at: self.at(self.op_pos),
                            what: "MARK nesting",
                            found: self.marks.len() as u64,
                            limit: limits::MAX_DEPTH as u64,
                        });
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let at = self.op_pos;
                    self.anomaly(at, "DUP, which no pickler writes (it multiplies references)");
                    let t = self.top()?;
                    self.stack.push(t);
                }
                // Numbers.
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64))?
                }
                b'I' => {
                    let line = self.line()?;
                    let v = match line {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        t => parse_int_text(t).ok_or_else(|| self.err(format!("bad INT argument {t:?}")))?,
                    };
                    self.push(v)?
                }
                b'L' => {
                    let line = self.line()?;
                    let t = line.strip_suffix('L').unwrap_or(line);
                    let v = parse_int_text(t).ok_or_else(|| self.err(format!("bad LONG argument {line:?}")))?;
                    self.push(v)?
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.push(long_from_le(b))?
                }
                0x8b => {
                    let n = self.u32()? as i32;
                    if n < 0 {
                        return Err(self.err("LONG4 with a negative length"));
                    }
                    let b = self.take(n as usize)?;
                    self.push(long_from_le(b))?
                }
                b'F' => {
                    let line = self.line()?;
                    let v = parse_py_float(line).ok_or_else(|| self.err(format!("bad FLOAT argument {line:?}")))?;
                    self.push(Value::Float(v))?
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap());
                    self.push(Value::Float(v))?
                }
                // Strings and bytes.
                b'S' => {
                    let line = self.line()?;
                    let s = unquote_py_string(line).ok_or_else(|| self.err("bad STRING argument"))?;
                    self.push(Value::Str(s))?
                }
                b'T' => {
                    let n = self.u32()? as i32;
                    if n < 0 {
                        return Err(self.err("BINSTRING with a negative length"));
                    }
                    let b = self.take(n as usize)?;
                    self.string_value(b)?
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.string_value(b)?
                }
                b'V' => {
                    let line = self.line()?;
                    self.push(Value::Str(raw_unicode_unescape(line)))?
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?;
                    self.string_value(b)?
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.string_value(b)?
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?;
                    self.string_value(b)?
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?
                }
                0x8e | 0x96 => {
                    let n = self.len_u64()?;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b))?
                }
                0x97 => self.push(Value::OutOfBand)?,
                0x98 => {
                    self.top()?;
                }
                // Containers.
                b']' => self.push(Value::List(Vec::new()))?,
                b'}' => self.push(Value::Dict(Vec::new()))?,
                b')' => self.push(Value::Tuple(Vec::new()))?,
                0x8f => self.push(Value::Set(Vec::new()))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(items))?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Tuple(items))?
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.check_hashable(items.iter().copied());
                    self.push(Value::FrozenSet(items))?
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("DICT with an odd number of items"));
                    }
                    self.check_hashable(items.iter().step_by(2).copied());
                    self.push(Value::Dict(items.chunks(2).map(|c| (c[0], c[1])).collect()))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(self.err("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(Value::Tuple(items))?
                }
                b'a' => {
                    let item = self.pop()?;
                    let target = self.top()?;
                    self.append(target, vec![item])?
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.append(target, items)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?;
                    self.set_items(target, vec![k, v])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?;
                    self.set_items(target, items)?
                }
                // Memo.
                b'p' | b'q' | b'r' | 0x94 => {
                    let k = self.memo_key(op)?;
                    self.memo_put(k)?
                }
                b'g' | b'h' | b'j' => {
                    let k = self.memo_key(op)?;
                    self.memo_get(k)?
                }
                // Globals and calls: names and descriptions only.
                b'c' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let id = self.global(module, name, "GLOBAL")?;
                    self.stack.push(id)
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(module), Some(name)) = (self.arena.as_str(module), self.arena.as_str(name)) else {
                        // Names computed at load time (by a call, say): what would be imported cannot be known.
                        self.trace.globals.push(GlobalUse {
                            global: "<a name computed at load time>".into(),
                            module: String::new(),
                            name: String::new(),
                            opcode: "STACK_GLOBAL",
                            offset: self.op_pos as u64,
                        });
                        return Err(self.err("STACK_GLOBAL needs two strings"));
                    };
                    let (module, name) = (module.to_string(), name.to_string());
                    let id = self.global(module, name, "STACK_GLOBAL")?;
                    self.stack.push(id)
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => self.u8()? as u32,
                        0x83 => self.u16()? as u32,
                        _ => self.u32()?,
                    };
                    let opcode = ["EXT1", "EXT2", "EXT4"][(op - 0x82) as usize];
                    self.trace.globals.push(GlobalUse {
                        global: format!("<extension {code}>"),
                        module: String::new(),
                        name: String::new(),
                        opcode,
                        offset: self.op_pos as u64,
                    });
                    self.push(Value::Extension(code))?
                }
                b'i' => {
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    let items = self.pop_mark()?;
                    let cls = self.global(module, name, "INST")?;
                    let args = self.push_value(Value::Tuple(items))?;
                    self.call("INST", cls, args, None, How::Inst)?
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.err("OBJ without a class"));
                    }
                    let cls = items.remove(0);
                    let args = self.push_value(Value::Tuple(items))?;
                    self.call("OBJ", cls, args, None, How::Inst)?
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.call("REDUCE", callable, args, None, How::Reduce)?
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.call("NEWOBJ", cls, args, None, How::NewObj)?
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.call("NEWOBJ_EX", cls, args, Some(kwargs), How::NewObj)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    let (callable, plain) = match self.arena.get(target) {
                        Value::Object(o) => (self.arena.callable_name(o.callable), true),
                        // BUILD on a global sets attributes on a class or module: a known gadget.
                        other => (self.arena.global_name(target).or_else(|| Some(kind_name(other).to_string())), false),
                    };
                    self.trace.calls.push(CallUse { opcode: "BUILD", offset: self.op_pos as u64, callable, plain });
                    let at = self.at(self.op_pos);
                    match &mut self.arena.values[target as usize] {
                        Value::Object(o) => o.state = Some(state),
                        other => {
                            return Err(Error::corrupt(at, format!("BUILD on {}", kind_name(other))));
                        }
                    }
                }
                // Persistent ids: torch's storages.
                b'P' => {
                    let line = self.line()?.to_string();
                    let pid = self.push_value(Value::Str(line))?;
                    self.trace.persistent_ids += 1;
                    self.push(Value::PersistentId(pid))?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.trace.persistent_ids += 1;
                    self.push(Value::PersistentId(pid))?
                }
                other => return Err(self.err(format!("unknown opcode 0x{other:02x}"))),
            }
        }
    }
}

/// Python's `_compat_pickle.IMPORT_MAPPING` for the modules that matter to torch files.
pub fn python2_module(module: &str) -> Option<&'static str> {
    Some(match module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "Queue" => "queue",
        "UserDict" => "collections",
        "UserList" => "collections",
        "_abcoll" => "collections.abc",
        "exceptions" => "builtins",
        "commands" => "subprocess",
        "urllib2" => "urllib.request",
        "StringIO" => "io",
        "cStringIO" => "io",
        "thread" => "_thread",
        "dummy_thread" => "_dummy_thread",
        "httplib" => "http.client",
        "SocketServer" => "socketserver",
        "SimpleHTTPServer" => "http.server",
        "BaseHTTPServer" => "http.server",
        "Cookie" => "http.cookies",
        "cookielib" => "http.cookiejar",
        "repr" => "reprlib",
        _ => return None,
    })
}

/// The values a value refers to.
fn children(v: &Value) -> Vec<Id> {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => items.clone(),
        Value::Dict(pairs) => pairs.iter().flat_map(|&(k, v)| [k, v]).collect(),
        Value::Object(o) => [o.callable, o.args]
            .into_iter()
            .chain(o.kwargs)
            .chain(o.state)
            .chain(o.items.iter().copied())
            .chain(o.dict_items.iter().flat_map(|&(k, v)| [k, v]))
            .collect(),
        Value::PersistentId(pid) => vec![*pid],
        _ => Vec::new(),
    }
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::BigInt(_) => "an int",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Dict(_) => "a dict",
        Value::Set(_) => "a set",
        Value::FrozenSet(_) => "a frozenset",
        Value::Global { .. } => "a global",
        Value::Object(_) => "an object",
        Value::PersistentId(_) => "a persistent id",
        Value::Extension(_) => "an extension code",
        Value::OutOfBand => "an out-of-band buffer",
    }
}

fn parse_int_text(t: &str) -> Option<Value> {
    let t = t.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Some(Value::Int(v));
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| Value::BigInt(t.to_string()))
}

/// Python's `float()` of the text forms pickle writes (`nan`, `inf`, `1e-05` ...).
fn parse_py_float(t: &str) -> Option<f64> {
    let t = t.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

/// A little-endian two's-complement integer (LONG1/LONG4).
fn long_from_le(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() <= 8 {
        let neg = b[b.len() - 1] & 0x80 != 0;
        let mut buf = [if neg { 0xff } else { 0 }; 8];
        buf[..b.len()].copy_from_slice(b);
        return Value::Int(i64::from_le_bytes(buf));
    }
    Value::BigInt(le_twos_complement_to_decimal(b))
}

/// Decimal digits of a long little-endian two's-complement integer.
fn le_twos_complement_to_decimal(b: &[u8]) -> String {
    let neg = b[b.len() - 1] & 0x80 != 0;
    // Magnitude as little-endian bytes.
    let mut mag: Vec<u8> = if neg {
        let mut carry = 1u16;
        b.iter()
            .map(|&x| {
                let v = (!x) as u16 + carry;
                carry = v >> 8;
                v as u8
            })
            .collect()
    } else {
        b.to_vec()
    };
    // Repeated division by 10^9 over big-endian base-256 digits.
    mag.reverse();
    let mut chunks = Vec::new();
    while mag.iter().any(|&x| x != 0) {
        let mut rem = 0u64;
        for d in mag.iter_mut() {
            let cur = (rem << 8) | *d as u64;
            *d = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem);
        while mag.first() == Some(&0) {
            mag.remove(0);
        }
    }
    let mut s = String::from(if neg { "-" } else { "" });
    match chunks.split_last() {
        None => s.push('0'),
        Some((first, rest)) => {
            s += &first.to_string();
            for c in rest.iter().rev() {
                s += &format!("{c:09}");
            }
        }
    }
    s
}

/// Unquotes a protocol-0 STRING argument: a Python 2 `repr()` of a byte string.
fn unquote_py_string(line: &str) -> Option<String> {
    let q = line.chars().next()?;
    if !(q == '\'' || q == '"') || line.len() < 2 || !line.ends_with(q) {
        return None;
    }
    let inner = &line[1..line.len() - 1];
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let end = (i + 3).min(b.len());
                let j = (i..end).take_while(|&j| (b'0'..=b'7').contains(&b[j])).last().unwrap_or(i) + 1;
                out.push(u8::from_str_radix(&inner[i..j], 8).ok()?);
                i = j;
                continue;
            }
            b'x' if i + 2 < b.len() + 1 => {
                out.push(u8::from_str_radix(inner.get(i + 1..i + 3)?, 16).ok()?);
                i += 3;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes `\uXXXX` and `\UXXXXXXXX` escapes (raw-unicode-escape, protocol 0 UNICODE).
fn raw_unicode_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let width = match after.as_bytes().first() {
            Some(b'u') => 4,
            Some(b'U') => 8,
            _ => 0,
        };
        let decoded = (width > 0)
            .then(|| after.get(1..1 + width))
            .flatten()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[1 + width..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<Pickle> {
        parse(bytes, 0, "test.pkl")
    }

    #[test]
    fn dict_of_ints_protocol2() {
        // pickle.dumps({'a': 1, 'b': [2, 3]}, protocol=2)
        let p = run(b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02]q\x03(K\x02K\x03eu.").unwrap();
        let items = p.arena.dict_items(p.root).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(p.arena.as_str(items[0].0), Some("a"));
        assert_eq!(p.arena.seq(items[1].1).unwrap().len(), 2);
    }

    #[test]
    fn globals_are_names_and_reduce_is_a_description() {
        // pickle.dumps of os.system('echo hi') via __reduce__, protocol 0
        let p = run(b"cposix\nsystem\np0\n(Vecho hi\np1\ntp2\nRp3\n.").unwrap();
        assert_eq!(p.trace.globals[0].global, "posix.system");
        assert_eq!(p.trace.calls[0].callable.as_deref(), Some("posix.system"));
        assert!(matches!(p.arena.get(p.root), Value::Object(_)));
    }

    #[test]
    fn errors_name_the_offset() {
        let e = run(b"\x80\x02\xff.").unwrap_err().to_string();
        assert_eq!(e, "test.pkl at byte 2: unknown opcode 0xff");
        let e = run(b"\x80\x02X\xff\xff\xff\x7f").unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = run(b"h\x05.").unwrap_err().to_string();
        assert!(e.contains("memo key 5"), "{e}");
        let e = run(b"").unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn deep_marks_are_bounded() {
        let mut b = vec![b'('; limits::MAX_DEPTH + 5];
        b.push(b'.');
        assert!(matches!(run(&b), Err(Error::Limit { .. })));
    }

    #[test]
    fn big_ints() {
        assert_eq!(long_from_le(&[0xff]), Value::Int(-1));
        assert_eq!(le_twos_complement_to_decimal(&[0, 0, 0, 0, 0, 0, 0, 0, 1]), "18446744073709551616");
        assert_eq!(le_twos_complement_to_decimal(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]), "-18446744073709551616");
        assert_eq!(parse_int_text("123456789012345678901234567890"), Some(Value::BigInt("123456789012345678901234567890".into())));
    }

    #[test]
    fn text_forms() {
        assert_eq!(unquote_py_string("'a\\nb\\x41'").as_deref(), Some("a\nbA"));
        assert_eq!(raw_unicode_unescape("caf\\u00e9"), "café");
        assert_eq!(parse_py_float("1e-05"), Some(1e-5));
    }
}

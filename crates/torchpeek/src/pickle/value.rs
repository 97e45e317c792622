//! The value graph a pickle describes. Values live in an arena and refer to each other by `Id`,
//! so the memo, shared objects and in-place mutation (APPENDS, SETITEMS, BUILD) work as they do in
//! Python, without any object ever being constructed: a class is a name, a call is a description.

/// Index of a value in the arena.
pub type Id = u32;

/// How an object was asked to be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// REDUCE: `callable(*args)`.
    Reduce,
    /// NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args, **kwargs)`.
    NewObj,
    /// INST / OBJ: protocol 0/1 instance creation.
    Inst,
}

/// An object the pickle would build, kept as a description.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub callable: Id,
    pub args: Id,
    pub kwargs: Option<Id>,
    pub how: How,
    /// What BUILD gave it (`__setstate__` argument or `__dict__` update), if anything.
    pub state: Option<Id>,
    /// Items appended to it (APPEND/APPENDS on a non-list, e.g. a deque).
    pub items: Vec<Id>,
    /// Items set on it (SETITEM/SETITEMS on a non-dict, e.g. an OrderedDict).
    pub dict_items: Vec<(Id, Id)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit i64, as its decimal digits.
    BigInt(String),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    FrozenSet(Vec<Id>),
    /// A global name (GLOBAL, STACK_GLOBAL, INST's class): never imported.
    Global { module: String, name: String },
    Object(Object),
    /// What `persistent_load(pid)` would return: torch's storages.
    PersistentId(Id),
    /// An extension-registry code (EXT1/2/4): a global whose name the file does not say.
    Extension(u32),
    /// A protocol-5 out-of-band buffer (NEXT_BUFFER): no data is in the file.
    OutOfBand,
}

/// All values of one pickle, and the one STOP returned.
#[derive(Debug, Clone, Default)]
pub struct Arena {
    pub values: Vec<Value>,
}

impl Arena {
    pub fn get(&self, id: Id) -> &Value {
        &self.values[id as usize]
    }

    /// The global's dotted name (`torch._utils._rebuild_tensor_v2`), if `id` is a global.
    pub fn global_name(&self, id: Id) -> Option<String> {
        match self.get(id) {
            Value::Global { module, name } => Some(format!("{module}.{name}")),
            _ => None,
        }
    }

    /// The name of what an object calls: a global, or the class inside a legacy torch file's
    /// `('module', cls, source_file, source)` persistent id (how torch < 1.6 pickled module classes).
    pub fn callable_name(&self, id: Id) -> Option<String> {
        match self.get(id) {
            Value::PersistentId(pid) => {
                let t = self.seq(*pid)?;
                (t.len() >= 2 && self.as_str(t[0]) == Some("module")).then(|| self.global_name(t[1])).flatten()
            }
            _ => self.global_name(id),
        }
    }

    /// The items of a tuple or list.
    pub fn seq(&self, id: Id) -> Option<&[Id]> {
        match self.get(id) {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes a value stands for: BINBYTES, or `_codecs.encode(text, 'latin1')`, how protocol 2
    /// pickles Python 3 bytes.
    pub fn bytes_of(&self, id: Id) -> Option<Vec<u8>> {
        match self.get(id) {
            Value::Bytes(b) => Some(b.clone()),
            Value::Object(o) if self.global_name(o.callable).as_deref() == Some("_codecs.encode") => {
                let args = self.seq(o.args)?;
                let text = self.as_str(*args.first()?)?;
                text.chars().map(|c| u8::try_from(c as u32).ok()).collect()
            }
            _ => None,
        }
    }

    pub fn as_str(&self, id: Id) -> Option<&str> {
        match self.get(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self, id: Id) -> Option<i64> {
        match self.get(id) {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn as_f64(&self, id: Id) -> Option<f64> {
        match self.get(id) {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The key/value pairs of a dict, or of an object built like one (OrderedDict).
    pub fn dict_items(&self, id: Id) -> Option<&[(Id, Id)]> {
        match self.get(id) {
            Value::Dict(items) => Some(items),
            Value::Object(o) if o.items.is_empty() => Some(&o.dict_items),
            _ => None,
        }
    }

    /// Looks up a string key in a dict-like value.
    pub fn dict_get(&self, id: Id, key: &str) -> Option<Id> {
        self.dict_items(id)?.iter().find(|(k, _)| self.as_str(*k) == Some(key)).map(|&(_, v)| v)
    }
}

//! Every bound torchpeek puts on untrusted input, in one place. Declared sizes are checked against
//! these before anything is allocated.

/// Largest pickle (data.pkl, constants.pkl, a legacy stream's object pickle) read into memory.
pub const MAX_PICKLE_BYTES: u64 = 512 << 20;
/// Most MARKs open at once that the torch.load mirror follows (8 bytes each; Python has no bound).
pub const MAX_MARKS: usize = 16 << 20;
/// Largest number of values the pickle machine builds (stack items, containers, memo entries).
pub const MAX_PICKLE_NODES: usize = 12_000_000;
/// Largest memo index accepted (the memo is sparse, but indices are stored).
pub const MAX_MEMO_ENTRIES: usize = 10_000_000;
/// Deepest nesting of marks, containers or objects followed when building or walking a value.
pub const MAX_DEPTH: usize = 1_000;
/// Highest tensor rank accepted.
pub const MAX_RANK: usize = 64;
/// Largest number of entries in a zip central directory.
pub const MAX_ZIP_ENTRIES: u64 = 1_000_000;
/// Most bytes searched for the end of a zip record whose sizes only its data descriptor holds,
/// when walking the local headers as a streaming reader does.
pub const MAX_ZIP_SEARCH_BYTES: u64 = 64 << 20;
/// Most members of a tar archive walked.
pub const MAX_TAR_MEMBERS: usize = 100_000;
/// Bytes the safety scan first reads of a member (zip, tar) to see whether a loader could run it;
/// it reads on only for a pickle, an archive or an object array.
pub const SCAN_PROBE_BYTES: u64 = 64 << 10;
/// Most members (at any depth) the safety scan reads in one file.
pub const MAX_SCANNED_MEMBERS: usize = 100_000;
/// Most bytes of deflated members (at any depth) the safety scan inflates in one file: stored
/// members are read in place, so only inflation can cost more than the file's own size.
pub const MAX_SCANNED_INFLATED: u64 = 4 << 30;
/// Largest zip member inflated into memory (pickles, code, JSON): storages are never inflated whole.
pub const MAX_INFLATED_MEMBER: u64 = 512 << 20;
/// Largest safetensors / JSON header read into memory.
pub const MAX_HEADER_BYTES: u64 = 100 << 20;
/// Dotted key segments the architecture looks into (`arch::blocks`).
pub const MAX_KEY_DEPTH: usize = 64;
/// A `config.json` opened with a model is read whole up to this size.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest text member (TorchScript code, index.json) kept in the document.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// Bytes read per slice when streaming over tensor data (statistics, export).
pub const STREAM_CHUNK: usize = 4 << 20;
/// Bytes read per slice when reducing tensor data (statistics, histograms, health): bigger than
/// `STREAM_CHUNK` because in a browser every `FileReaderSync` read has a fixed cost of milliseconds.
pub const STATS_CHUNK: usize = 16 << 20;
/// Largest slice of tensor data one call gives (an export's caller asks for `STREAM_CHUNK`-sized ones).
pub const MAX_SLICE_BYTES: u64 = 256 << 20;
/// Deepest nesting followed when turning a pickle's values into the document tree.
pub const MAX_TREE_DEPTH: usize = 200;
/// Most bytes kept of data a pickle hands to a loader (nested pickles the safety scan reads).
pub const MAX_NESTED_BYTES: usize = 64 << 20;
/// Deepest nesting of pickles inside pickles the safety scan follows.
pub const MAX_NESTED_PICKLES: usize = 4;
/// Most pickles read in a row from a file that is not a zip (a legacy torch file has five).
pub const MAX_PICKLES_IN_A_ROW: usize = 5;
/// Largest non-contiguous view read whole (as f64 values) to compare it with another tensor.
pub const MAX_WHOLE_VIEW_VALUES: u64 = 16 << 20;
/// Most values written into the document tree (shared values count each time they are reached).
pub const MAX_TREE_NODES: usize = 1_000_000;
/// Deepest nesting of ONNX messages followed (subgraphs in attributes, nested type protos).
pub const MAX_ONNX_DEPTH: usize = 64;
/// Largest total of ONNX tensor data given as typed fields (`float_data`, `int64_data` ...), decoded
/// into memory as little-endian bytes (`raw_data` and external data are never copied).
pub const MAX_ONNX_INLINE_BYTES: u64 = 1 << 30;
/// Longest list or string shown as one attribute value in the graph summary.
pub const MAX_ONNX_ATTR_ITEMS: usize = 4096;
/// Largest input tensor the engine builds (bytes).
pub const MAX_ENGINE_TENSOR_BYTES: usize = 1 << 31;
/// Largest model file the engine reads into memory to run (an `.onnx`, whose protobuf cannot be
/// bigger, or a `.pt2` archive); weights in external data files are read by range, not counted.
pub const MAX_ENGINE_MODEL_BYTES: u64 = 2 << 30;
/// Largest graph description read (a `.pt2`'s `models/*.json`; a TorchScript archive's code is
/// under `MAX_TEXT_BYTES`).
pub const MAX_GRAPH_JSON_BYTES: u64 = 64 << 20;
/// Most nodes of a graph (a `.pt2` program's, or the ones parsed from a TorchScript method),
/// counting those of nested subgraphs and blocks.
pub const MAX_GRAPH_NODES: usize = 1_000_000;
/// Deepest nesting of subgraphs (a `.pt2`'s control-flow operators) and of blocks and expressions
/// in TorchScript code.
pub const MAX_GRAPH_DEPTH: usize = 64;

// Types of torchpeek's npm package. The document follows docs/inspect-json.md.

/** A JSON number from the document: non-finite floats are "nan", "inf", "-inf"; huge ints are digit strings. */
export type JsonFloat = number | 'nan' | 'inf' | '-inf';

export interface Tensor {
  path: string[];
  dtype: string;
  shape: number[];
  stride: number[];
  storage_offset: number;
  storage: string;
  storage_bytes: number;
  layout: 'strided' | 'sparse_coo' | 'quantized';
  quantization?:
    | { scheme: string; scale: number; zero_point: number }
    | { scheme: string; scales: number[]; zero_points: number[]; axis: number };
  requires_grad: boolean;
  is_parameter: boolean;
  numel: number;
  shares_storage_with?: number[];
  stats?: Stats;
}

export interface Stats {
  count: number;
  min: JsonFloat | null;
  max: JsonFloat | null;
  mean: JsonFloat | null;
  std: JsonFloat | null;
  sum: JsonFloat;
  abs_sum: JsonFloat;
  /** The L2 (Frobenius) norm of the finite elements. */
  norm: JsonFloat;
  nan_count: number;
  inf_count: number;
  zero_count: number;
  sum_real?: JsonFloat;
  sum_imag?: JsonFloat;
}

/** One dtype of the core's table (`dtypes()`). */
export interface DTypeInfo {
  /** torch's name: `float32`, `bfloat16`, `qint8` ... (a tensor's `dtype`). */
  name: string;
  /** Bytes per element. */
  itemsize: number;
  is_float: boolean;
  is_complex: boolean;
  /** The plain integers, `int8` ... `uint64` (not `bool`, not quantized). */
  is_integer: boolean;
  is_quantized: boolean;
  /** ONNX's element type name (`FLOAT`, `INT64` ...), where ONNX has one. */
  onnx: string | null;
}

export interface Histogram {
  min: number;
  max: number;
  counts: number[];
}

export interface Heatmap {
  rows: number;
  cols: number;
  source_rows: number;
  source_cols: number;
  values: (number | null)[];
  min: number;
  max: number;
}

/** One folder of numbered blocks (`model.layers`): runs of identical blocks. */
export interface Repeat {
  prefix: string;
  stem?: string;
  runs: { first: number; last: number; count: number; tensors: number; parameters: number }[];
  parameters: number[];
  differs?: string[];
}

/** What the keys and shapes (and a config.json given alongside) say: docs/inspect-json.md. */
export interface Architecture {
  family?: { name: string; label: string; variant?: string; evidence: string[]; from: ('weights' | 'config.json')[] };
  numbers: {
    layers?: number; decoder_layers?: number; hidden_size?: number; intermediate_size?: number;
    heads?: number; kv_heads?: number; head_dim?: number; vocab_size?: number; max_positions?: number;
    experts?: number; image_size?: number; patch_size?: number; input_channels?: number; classes?: number;
    stages?: number[]; assumed?: string[]; from_config?: string[]; mismatches?: string[];
  };
  parameters: number;
  parts: { name: string; parameters: number; tensors: number; blocks?: number }[];
  blocks: Repeat[];
  config?: string;
}

export interface Finding {
  global: string;
  opcode: string;
  member: string;
  offset: number;
  severity: 'safe' | 'unsafe_but_known' | 'dangerous';
  reason: string;
}

/** A value of the unpickled tree: scalars, or one of the `$` forms. */
export type TreeValue =
  | null
  | boolean
  | number
  | string
  | { $tensor: number }
  | { $dict: [TreeValue, TreeValue][]; $class?: string }
  | { $list: TreeValue[] }
  | { $tuple: TreeValue[] }
  | { $object: string; state?: TreeValue; args?: TreeValue[] }
  | { $bytes: number };

export interface Document {
  format: 'torch-zip' | 'torch-legacy' | 'torch-tar' | 'torchscript' | 'torch-export' | 'safetensors' | 'onnx' | 'sharded';
  kind: 'state_dict' | 'checkpoint' | 'module' | 'torchscript' | 'onnx' | 'other';
  files: { name: string; bytes: number }[];
  tree: TreeValue;
  tensors: Tensor[];
  state_dict: { key: string; tensor: number }[];
  modules: { path: string; class: string }[];
  safety: Safety;
  errors: { message: string; path: string[] }[];
  code?: { name: string; text: string }[];
  architecture?: Architecture;
  onnx?: {
    ir_version: number;
    opsets: Record<string, number>;
    producer: string;
    inputs: { name: string; elem_type: string; shape: (number | string)[] }[];
    outputs: { name: string; elem_type: string; shape: (number | string)[] }[];
    node_count: number;
    op_types: Record<string, number>;
    initializer_count: number;
    initializer_numel: number;
  };
  [more: string]: unknown;
}

/** Any random-access reader: `read` returns exactly `length` bytes at `offset`. */
export interface ReaderSource {
  name?: string;
  size: number;
  read(offset: number, length: number): Uint8Array;
  close?(): void;
}

/**
 * One input: a path or file URL (Node), a File/Blob (read lazily in a worker, whole elsewhere),
 * bytes, or a reader.
 */
export type Input = string | URL | Blob | Uint8Array | ArrayBuffer | ReaderSource | { name?: string; bytes: Uint8Array | ArrayBuffer } | { name?: string; blob: Blob };

export type TensorRef = number | string;
export interface ProgressOptions {
  /** Called with work done and total (bytes; elements for diff), at most every 50 ms. */
  onProgress?: (done: number, total: number) => void;
}

export type Verdict = 'safe' | 'unsafe_but_known' | 'dangerous';

/** Where and why torch.load(weights_only=True) would refuse a file. */
export interface Refusal {
  member: string;
  offset: number;
  reason: string;
}

/** What `check` says of a file: `safe` only when torch.load(weights_only=True) of `mirrors_torch`
 * accepts it (`torch_loads`) and nothing in it can run code; `refusal` says where torch stops. */
export interface Safety {
  verdict: Verdict;
  findings: Finding[];
  mirrors_torch: string;
  torch_loads: boolean;
  refusal: Refusal | null;
}

export type HealthStatus = 'ok' | 'info' | 'warn' | 'fail';

/** One line of the checklist. */
export interface HealthCheck {
  id: 'nan' | 'inf' | 'all_zero' | 'constant' | 'extreme' | 'denormal' | 'unreadable' | 'dtype_mix' | 'shared_storage' | 'unused_storage' | 'optimizer' | (string & {});
  title: string;
  status: HealthStatus;
  /** What was found, in a sentence. */
  detail: string;
  /** How many tensors (or groups, storages, state entries) trip the check. */
  count: number;
  /** The first 100 of them: state_dict keys ("a = b" for a shared group, "key: why" for details). */
  tensors: string[];
}

export interface Health {
  /** The worst status of any check. */
  status: HealthStatus;
  checks: HealthCheck[];
  /** Elements per dtype over the state_dict. */
  dtypes: Record<string, number>;
  /** Storage bytes outside every view that uses them. */
  unused_storage_bytes: number;
}

export type Change = 'same' | 'changed' | 'dtype' | 'shape' | 'only_a' | 'only_b' | 'unreadable';

export interface DiffEntry {
  /** The key, with `prefix_a` / `prefix_b` stripped. */
  key: string;
  change: Change;
  a?: { dtype: string; shape: number[] };
  b?: { dtype: string; shape: number[] };
  /** max |a − b| (a NaN on one side only counts as infinite). Set for tensors compared by value. */
  max_abs_diff?: JsonFloat;
  /** ‖a − b‖ / ‖a‖. */
  relative_change?: JsonFloat;
  /** a·b / (‖a‖ ‖b‖); 1 for equal tensors. */
  cosine?: JsonFloat;
  error?: string;
  /** B's key when B holds the values under another name (an ONNX export's `onnx::MatMul_368`). */
  key_b?: string;
  /** B holds the tensor transposed (2-D). */
  transposed?: boolean;
}

export interface Diff {
  /** Most changed first. */
  entries: DiffEntry[];
  /** Entries per kind of change. */
  counts: Partial<Record<Change, number>>;
  /** Prefixes stripped from each side's keys to line them up (`module.`), or "". */
  prefix_a: string;
  prefix_b: string;
}

export declare class Model {
  /** The document of the inspect-json spec. */
  readonly document: Document;
  /** A tensor index from an index or a state_dict key. */
  tensorIndex(tensor: TensorRef): number;
  /** Statistics over the tensor's own elements (views read through their strides). */
  stats(tensor: TensorRef, options?: ProgressOptions): Stats;
  /** Counts of finite values in `bins` equal bins over [min, max]. */
  histogram(tensor: TensorRef, bins?: number, options?: ProgressOptions): Histogram;
  /**
   * A picture of the tensor: its first dimension as rows, the rest as columns, averaged into at
   * most `rows × cols` cells (256 each by default); `values` row-major, `null` for a cell with no
   * finite value.
   */
  heatmap(tensor: TensorRef, options?: ProgressOptions & { rows?: number; cols?: number }): Heatmap;
  /** The first `limit` values, row-major through the view (real parts of complex numbers). */
  values(tensor: TensorRef, limit?: number): Float64Array;
  /** The health checklist over the state_dict's tensors (every value read once); progress in bytes read. */
  health(options?: ProgressOptions): Health;
  /** Frees the wasm memory and closes files. */
  close(): void;
}

/** Opens a model from one input, or from several that belong together (shards, an .onnx and its data). */
export declare function open(inputs: Input | Input[]): Promise<Model>;
/** Loads the wasm ahead of `open` (browsers: optionally from a given URL or bytes). */
export declare function load(wasm?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<unknown> | void;
/** Compares the state_dicts of two open models by key; progress in elements compared. */
export declare function diff(a: Model, b: Model, options?: ProgressOptions): Diff;
/** The safety verdict on one input without opening it as a model: works on files `open` refuses. */
export declare function check(input: Input): Promise<Safety>;
/** The core's dtype table: every dtype torchpeek reads, with its size and kind. */
export declare function dtypes(): Promise<DTypeInfo[]>;

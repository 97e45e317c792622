// Types of `torchpeek/engine`: ONNX models and `.pt2` files run by torchpeek's engine (tract compiled to wasm).
import type { Stats } from './index.js';

/** One declared dimension: a number, a symbolic name, or null when the model does not say. */
export type Dim = number | string | null;

/** A model input or output as the model declares it. */
export interface IoInfo {
  name: string;
  /** ONNX's element type name: `FLOAT`, `INT64` ... */
  elem_type: string;
  /** torch's dtype name (`float32`, `int64` ...), where the element type has one. */
  dtype: string | null;
  /** null when the rank is unknown. */
  shape: Dim[] | null;
}

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** An input: a typed array with its shape (dtype from the typed array unless given), or `.npy` bytes. */
export type Feed = { dtype?: string; shape: number[]; data: TypedArray } | Uint8Array;

export interface Output {
  name: string;
  dtype: string;
  shape: number[];
  /** The elements as a typed array where JS has one for the dtype, else the bytes. */
  data: TypedArray;
  /** The elements' little-endian bytes. */
  bytes: Uint8Array;
  /** The core's statistics over the output (finite values; sample std). */
  stats: Stats;
}

/** One output pair of `Session.compare` (docs/inspect-json.md, `run A B --compare`). */
export interface OutputComparison {
  a: string;
  b: string;
  a_shape: number[];
  b_shape: number[];
  a_dtype: string;
  b_dtype: string;
  /** max |a - b|; null when the shapes differ. */
  max_abs: number | null;
  /** ||a - b|| / ||a||; null when the shapes differ (or a is all zeros and b is not). */
  rel_error: number | null;
  cosine: number | null;
  nan_mismatches: number;
  within_tolerance: boolean;
}

export interface Comparison {
  tolerance: number;
  outputs: OutputComparison[];
  verdict: 'match' | 'differ';
  notes?: string[];
}

export declare class Session {
  readonly inputs: IoInfo[];
  readonly outputs: IoInfo[];
  /** Runs once; feeds by input name, or in the model's input order. */
  run(feeds: Record<string, Feed> | Feed[]): Output[];
  /** The last outputs compared with `other`'s last outputs, in order (run both on the same feeds first). */
  compare(other: Session, tolerance?: number): Comparison;
  close(): void;
}

/** What `load` takes: the `.onnx` and its external data files, or a `.pt2` (paths in Node; File/Blob, bytes or `{name, bytes}`). */
export type EngineInput = string | URL | Blob | Uint8Array | ArrayBuffer | { name: string; bytes: Uint8Array | ArrayBuffer } | { name: string; size: number; read(offset: number, length: number): Uint8Array };

/** Loads a model; unsupported operators are an error naming the operator, the node and the opset. */
export function load(inputs: EngineInput | EngineInput[]): Promise<Session>;
/**
 * Loads the engine's wasm ahead of the first `load` (browsers: a URL, Response, bytes or Module):
 * by default the build `engineBuild()` names.
 */
export function loadEngine(module?: unknown): Promise<void> | void;
/**
 * The engine build this JS engine runs: `relaxed` (built with relaxed-simd: fused multiply-adds,
 * faster matrix products) where WebAssembly validates relaxed-simd, else `simd`.
 */
export function engineBuild(): 'relaxed' | 'simd';
/** An array `{dtype, shape, data}` as `.npy` bytes. */
export function toNpy(array: { dtype: string; shape: number[]; data: TypedArray; bytes?: Uint8Array }): Promise<Uint8Array>;

// The engine's shared half (browser and Node): a loaded ONNX model or `.pt2` (its exported program,
// translated for the engine), run on typed arrays or `.npy` bytes. The engine is its own wasm (pkg/torchpeek_engine_bg.wasm, tract with SIMD), loaded only
// when this entry (`torchpeek/engine`) is imported, so `torchpeek` itself stays light.

import { sourcesOf } from './model.js';
import { runSession, outputStats } from './pkg/engine-run.js';
import { typed, ARRAYS } from './pkg/typed-arrays.js';

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const isNpy = (b) => b instanceof Uint8Array && NPY_MAGIC.every((c, i) => b[i] === c);
const dtypeOfArray = (a) => Object.keys(ARRAYS).find((d) => d !== 'bool' && a instanceof ARRAYS[d]);

/** One input as the engine takes it: `{name, dtype, shape, data: Uint8Array}`. */
function arrayOf(engine, name, value, declared) {
  if (isNpy(value)) return { ...engine.npyRead(name, value), name };
  const { data, shape } = value;
  if (!ArrayBuffer.isView(data) || !Array.isArray(shape)) throw new TypeError(`input ${name}: give {dtype?, shape, data: TypedArray} or .npy bytes`);
  const dtype = value.dtype ?? dtypeOfArray(data) ?? declared?.dtype;
  if (!dtype) throw new TypeError(`input ${name}: say its dtype`);
  return { name, dtype, shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export class Session {
  /** @internal */
  constructor(engine, inner) {
    this._engine = engine;
    this._inner = inner;
    const io = JSON.parse(inner.ioJson());
    /** The model's inputs and outputs as declared: `{name, elem_type, dtype, shape}`. */
    this.inputs = io.inputs;
    this.outputs = io.outputs;
  }

  /**
   * Runs the model once. `feeds`: an object by input name, or an array in the model's input order;
   * each value `{dtype?, shape, data: TypedArray}` (dtype from the typed array when not given) or
   * the bytes of a `.npy` file. Returns the outputs in order: `{name, dtype, shape, data, bytes,
   * stats}`, `data` a typed array where JS has one for the dtype, `bytes` the little-endian bytes,
   * `stats` the core's statistics (finite values; sample std).
   */
  run(feeds) {
    const inner = this._live();
    const byName = Array.isArray(feeds) ? Object.fromEntries(feeds.map((f, i) => [this.inputs[i]?.name ?? `input${i}`, f])) : feeds;
    const arrays = this.inputs.map((info) => {
      if (!(info.name in byName)) throw new Error(`input ${JSON.stringify(info.name)} was not given`);
      return arrayOf(this._engine, info.name, byName[info.name], info);
    });
    const outputs = outputStats(inner, runSession(inner, arrays));
    return outputs.map((o) => ({ ...o, bytes: o.data, data: ARRAYS[o.dtype] ? typed(o) : o.data }));
  }

  /**
   * This session's last outputs compared with `other`'s, in order (run both on the same feeds
   * first): `{tolerance, outputs: [{a, b, a_shape, b_shape, a_dtype, b_dtype, max_abs, rel_error,
   * cosine, nan_mismatches, within_tolerance}], verdict: 'match' | 'differ', notes?}`, as
   * `torchpeek run A B --compare --json` gives them (docs/inspect-json.md).
   */
  compare(other, tolerance = 1e-4) {
    return JSON.parse(this._live().compareOutputs(other._live(), tolerance));
  }

  /** Frees the engine's memory for this model. */
  close() {
    this._inner?.free();
    this._inner = null;
  }

  _live() {
    if (!this._inner) throw new Error('the session is closed');
    return this._inner;
  }
}

/** Loads a model from inputs as `open()` takes them: the `.onnx` and its external data files, or a `.pt2`. */
export async function loadWith(engine, inputs, fileSource) {
  const { sources, closers } = await sourcesOf(inputs, fileSource);
  try {
    return new Session(engine, engine.EngineSession.load(sources));
  } finally {
    // The model and the external ranges it names are read at load: nothing stays open.
    for (const c of closers) c();
  }
}

/** An output (or any `{dtype, shape, data}`) as the bytes of a `.npy` file. */
export function toNpyWith(engine, array) {
  const data = array.bytes ?? new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  return engine.npyWrite(array.dtype, Uint32Array.from(array.shape), data);
}

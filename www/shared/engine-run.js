// Shared by the page, its engine worker and the npm package's engine (copied to npm/pkg/ by
// scripts/build-web.sh): one run of an EngineSession (the engine's wasm, pkg/torchpeek_engine.js)
// on arrays `{name, dtype, shape, data: Uint8Array}`, giving the outputs the same way; and the
// typed array of each dtype's elements, where JS has one. The session takes the
// arrays' descriptions as one JSON string and their bytes apart, and gives the outputs back so:
// a few calls across the wasm boundary per run, whatever the number of arrays.
export function runSession(session, inputs) {
  const spec = JSON.stringify(inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
  const outputs = JSON.parse(session.run(spec, inputs.map((i) => i.data)));
  return outputs.map((o, i) => ({ ...o, data: session.output(i) }));
}

/**
 * The outputs of the session's last run with their statistics added, `stats` (the core's, over the
 * output's bytes in the engine's memory: `EngineSession.outputStats`). Apart from `runSession`, so
 * that its timings (and the benchmarks') stay the run's alone.
 */
export function outputStats(session, outputs) {
  return outputs.map((o, i) => ({ ...o, stats: JSON.parse(session.outputStats(i)) }));
}

/** The typed array for each dtype's elements, where JS has one. */
export const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array,
  uint64: BigUint64Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array,
  ...(globalThis.Float16Array ? { float16: globalThis.Float16Array } : {}),
};

/** The elements of `{dtype, data}` (an ArrayBuffer or a Uint8Array) as a typed array, without a copy when aligned. */
export function typed({ dtype, data }) {
  const A = ARRAYS[dtype];
  if (!A) throw new Error(`${dtype} values have no typed array in JS`);
  if (data instanceof ArrayBuffer) return new A(data);
  if (data.byteOffset % A.BYTES_PER_ELEMENT === 0) return new A(data.buffer, data.byteOffset, data.byteLength / A.BYTES_PER_ELEMENT);
  return new A(data.slice().buffer);
}

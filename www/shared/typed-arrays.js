// The typed array of each dtype's elements, where JS has one (a JS fact; the dtype facts
// themselves come from the core's table). Used by the page's Run panel, the engine benchmark and
// the npm package's engine (copied to npm/pkg/ by scripts/build-web.sh).

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

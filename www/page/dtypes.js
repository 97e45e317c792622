// The dtype table, as the core's wasm gives it (`dtypes()` of crates/torchpeek-wasm, built from
// crates/torchpeek/src/dtype.rs): every dtype's torch name, bytes per element, float / complex /
// integer / quantized, and ONNX's name. The worker sends it with every opened document
// (workers/worker.js, client.js sets it here); the page keeps no copy of its own.

const byName = new Map();
const byOnnx = new Map();

/** Takes the table `[{name, itemsize, is_float, is_complex, is_integer, is_quantized, onnx}]`. */
export function setDtypes(table) {
  for (const d of table) {
    byName.set(d.name, d);
    if (d.onnx) byOnnx.set(d.onnx, d);
  }
}

/** The facts of a dtype by torch's name; an error for a name the table lacks (or before it came). */
export function dtype(name) {
  const d = byName.get(name);
  if (!d) throw new Error(byName.size ? `unknown dtype ${name}` : `no dtype table yet (asked for ${name}): it comes with the first opened document`);
  return d;
}

/** torch's name for an ONNX element type name (`FLOAT` -> `float32`), or null where there is none. */
export const fromOnnx = (elemType) => byOnnx.get(elemType)?.name ?? null;

// torchpeek for browsers (and bundlers): open PyTorch, safetensors and ONNX files without running them.
//   import { open } from 'torchpeek';
//   const model = await open(file);            // a File/Blob (lazy in a worker), Uint8Array, ...
//   model.document; model.stats('fc1.weight'); model.values(0, 16); model.close();
//   model.health(); diff(modelA, modelB); await check(file);  // safety of any file, even one open() refuses
//   await dtypes();                            // the dtype table: [{name, itemsize, is_float, ...}]
import init, { WasmModel, checkSafety, dtypes as dtypesJson } from './pkg/torchpeek.js';
import { openWith, checkWith, diff, Model } from './model.js';

let ready = null;

/** Loads the wasm (once). `wasm` may be a URL, a Response, bytes or a WebAssembly.Module. */
export function load(wasm) {
  ready ??= init({ module_or_path: wasm ?? new URL('./pkg/torchpeek_bg.wasm', import.meta.url) });
  return ready;
}

/** Opens one model from one input, or from several that belong together (shards, external data). */
export async function open(inputs) {
  await load();
  return openWith(WasmModel, inputs, null);
}

/** The safety verdict on one input (never executed): {verdict, findings, mirrors_torch, torch_loads, refusal}. */
export async function check(input) {
  await load();
  return checkWith(checkSafety, input, null);
}

/** The dtype table of the core (every dtype torchpeek reads): [{name, itemsize, is_float, is_complex, is_integer, is_quantized, onnx}]. */
export async function dtypes() {
  await load();
  return JSON.parse(dtypesJson());
}

export { Model, diff };

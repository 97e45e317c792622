// torchpeek's engine for browsers (and bundlers): run ONNX models with nothing installed.
//   import { load } from 'torchpeek/engine';
//   const session = await load([modelFile, dataFile]);   // the .onnx and its external data
//   const [logits] = session.run({ input: { shape: [1, 3, 224, 224], data: new Float32Array(...) } });
// The engine's wasm (about 18 MB, 4.3 MB gzip) is fetched on the first `load`, not before.
import init, * as wasm from './pkg/torchpeek_engine.js';
import { engineBuild, ENGINE_WASM } from './pkg/engine-build.js';
import { loadWith, toNpyWith, Session } from './engine-session.js';

let ready = null;

/**
 * Loads the engine's wasm (once): by default the relaxed-simd build where the browser has
 * relaxed-simd, else the plain SIMD one (`engineBuild()`). `module` may be a URL, a Response,
 * bytes or a WebAssembly.Module.
 */
export function loadEngine(module) {
  ready ??= init({ module_or_path: module ?? new URL(`./pkg/${ENGINE_WASM[engineBuild()]}`, import.meta.url) });
  return ready;
}

/** Loads a model: a File/Blob, Uint8Array or `{name, bytes}`, or several (its external data). */
export async function load(inputs) {
  await loadEngine();
  return loadWith(wasm, inputs, null);
}

/** An array `{dtype, shape, data}` (an output) as `.npy` bytes. */
export async function toNpy(array) {
  await loadEngine();
  return toNpyWith(wasm, array);
}

export { Session, engineBuild };

// torchpeek's engine for Node: run ONNX models from paths (read once at load), typed arrays or
// `.npy` bytes in and out.
//   import { load } from 'torchpeek/engine';
//   const session = await load(['model.onnx', 'model.onnx.data']);
//   const [out] = session.run({ input: fs.readFileSync('input.npy') });
import fs from 'node:fs';
import * as wasm from './pkg/torchpeek_engine.js';
import { engineBuild, ENGINE_WASM } from './pkg/engine-build.js';
import { fileSource } from './node.js';
import { loadWith, toNpyWith, Session } from './engine-session.js';

let loaded = false;

/** Loads the engine's wasm (once): the relaxed-simd build where Node has relaxed-simd, else the plain SIMD one (`engineBuild()`). */
export function loadEngine() {
  if (!loaded) {
    wasm.initSync({ module: fs.readFileSync(new URL(`./pkg/${ENGINE_WASM[engineBuild()]}`, import.meta.url)) });
    loaded = true;
  }
}

/** Loads a model: paths, Uint8Arrays or `{name, bytes}` (the .onnx and its external data). */
export async function load(inputs) {
  loadEngine();
  return loadWith(wasm, inputs, fileSource);
}

/** An array `{dtype, shape, data}` (an output) as `.npy` bytes. */
export async function toNpy(array) {
  loadEngine();
  return toNpyWith(wasm, array);
}

export { Session, engineBuild };

// torchpeek for Node: paths are read lazily with fs.readSync at offsets, never whole.
//   import { open } from 'torchpeek';
//   const model = await open('model.pt');  console.log(model.document.kind);
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, WasmModel, checkSafety, dtypes as dtypesJson } from './pkg/torchpeek.js';
import { openWith, checkWith, diff, Model } from './model.js';

let loaded = false;

export function load() {
  if (!loaded) {
    initSync({ module: fs.readFileSync(new URL('./pkg/torchpeek_bg.wasm', import.meta.url)) });
    loaded = true;
  }
}

/** A random-access source over a file: {name, size, read(offset, length), close()}. */
export function fileSource(file) {
  const p = file instanceof URL ? fileURLToPath(file) : file;
  const fd = fs.openSync(p, 'r');
  const size = fs.fstatSync(fd).size;
  let open = true;
  return {
    name: path.basename(p),
    size,
    read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) throw new Error(`${p}: unexpected end of file at byte ${offset + done}`);
        done += n;
      }
      return buf;
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** Opens one model from one input, or from several that belong together (shards, external data). */
export async function open(inputs) {
  load();
  return openWith(WasmModel, inputs, fileSource);
}

/** The safety verdict on one input (never executed): {verdict, findings, mirrors_torch, torch_loads, refusal}. */
export async function check(input) {
  load();
  return checkWith(checkSafety, input, fileSource);
}

/** The dtype table of the core (every dtype torchpeek reads): [{name, itemsize, is_float, is_complex, is_integer, is_quantized, onnx}]. */
export async function dtypes() {
  load();
  return JSON.parse(dtypesJson());
}

export { Model, diff };

// The worker owns the wasm module: every file is parsed here, read lazily in slices with
// FileReaderSync, so the page stays responsive whatever the file's size.
//
// Protocol (each request carries an `id`; every reply names it):
//   {id, type: 'open', model, files: [File]}           -> {id, type: 'result', result: {json, ms, memory}}
//   {id, type: 'tensor-values', model, tensor, limit}  -> {id, type: 'result', result: {values}}
//   {id, type: 'stats', model, tensor, bins}           -> {id, type: 'progress', phase, done, total}*
//                                                         then {id, type: 'result', result: {stats, histogram, ms}}
//   {id, type: 'onnx-graph', model}                     -> {id, type: 'result', result: {view, layout, ms}}
//                                                         (view: WasmModel.onnxGraph; layout: graph-layout.js)
//   {id, type: 'health', model}                         -> {id, type: 'progress', phase, done, total}* (bytes)
//                                                         then {id, type: 'result', result: {health, ms}}
//   {id, type: 'diff', a, b}                            -> {id, type: 'progress', phase, done, total}* (elements)
//                                                         then {id, type: 'result', result: {diff, ms}}
//   {id, type: 'check', files: [File]}                  -> {id, type: 'result', result: {checks: [{name, safety}]}}
//                                                         (the safety scan alone: also for files 'open' refuses)
//   {id, type: 'export-npy', model, tensor, handle?}    -> progress*, then {blob | null, bytes, dtype}
//   {id, type: 'export-safetensors', model, handle?}   -> progress*, then {blob | null, bytes, tensors, skipped}
//     (with a FileSystemFileHandle the bytes stream into that file; without, into a Blob)
//   {id, type: 'close', model}                          -> {id, type: 'result', result: null}
//   failures                                            -> {id, type: 'error', message}
// Cancel is done by the page: it terminates this worker and starts a new one (a worker busy in
// wasm cannot read messages), re-opening its files there; opening reads metadata only.
import init, { WasmModel, checkSafety } from './pkg/torchpeek.js';
import { diagram } from './graph-layout.js';
import { exportNpy, exportSafetensors } from './export.js';

let wasm = null;
const ready = init({ module_or_path: new URL('./pkg/torchpeek_bg.wasm', import.meta.url) }).then((w) => {
  wasm = w;
});
const models = new Map();

const memory = () => (wasm ? wasm.memory.buffer.byteLength : 0);

function modelOf(msg) {
  const m = models.get(msg.model);
  if (!m) throw new Error(`model ${msg.model} is not open`);
  return m;
}

async function handle(msg) {
  const progress = (phase) => (done, total) => postMessage({ id: msg.id, type: 'progress', phase, done, total });
  switch (msg.type) {
    case 'open': {
      const t0 = performance.now();
      const m = WasmModel.open(msg.files.map((f) => ({ name: f.name, blob: f })));
      const json = m.documentJson();
      models.get(msg.model)?.free();
      models.set(msg.model, m);
      return { json, ms: performance.now() - t0, memory: memory() };
    }
    case 'tensor-values': {
      const values = modelOf(msg).tensorValues(msg.tensor, msg.limit);
      return { values };
    }
    case 'stats': {
      const m = modelOf(msg);
      const t0 = performance.now();
      const stats = JSON.parse(m.tensorStats(msg.tensor, progress('stats')));
      const t1 = performance.now();
      let histogram = null;
      if (msg.bins > 0) histogram = JSON.parse(m.histogram(msg.tensor, msg.bins, progress('histogram')));
      return { stats, histogram, ms: t1 - t0, histogramMs: performance.now() - t1, memory: memory() };
    }
    case 'onnx-graph': {
      const t0 = performance.now();
      const view = JSON.parse(modelOf(msg).onnxGraph());
      return { view, layout: diagram(view), ms: performance.now() - t0 };
    }
    case 'health':
    case 'diff': {
      const t0 = performance.now();
      const progress = (done, total) => postMessage({ id: msg.id, type: 'progress', phase: msg.type, done, total });
      const json = msg.type === 'health' ? modelOf(msg).health(progress) : modelOf({ model: msg.a }).diff(modelOf({ model: msg.b }), progress);
      return { [msg.type]: JSON.parse(json), ms: performance.now() - t0 };
    }
    case 'check':
      return { checks: msg.files.map((f) => ({ name: f.name, safety: JSON.parse(checkSafety({ name: f.name, blob: f })) })) };
    case 'export-npy': {
      const writable = msg.handle ? await msg.handle.createWritable() : null;
      return exportNpy(modelOf(msg), msg.tensor, writable, progress('export'));
    }
    case 'export-safetensors': {
      const writable = msg.handle ? await msg.handle.createWritable() : null;
      return exportSafetensors(modelOf(msg), writable, progress('export'));
    }
    case 'close': {
      models.get(msg.model)?.free();
      models.delete(msg.model);
      return null;
    }
    case 'memory':
      return { memory: memory() };
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

// One request at a time, in order.
let queue = Promise.resolve();
self.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(async () => {
    try {
      await ready;
      const result = await handle(msg);
      postMessage({ id: msg.id, type: 'result', result });
    } catch (err) {
      // A trap (a Rust panic, out of memory) leaves the instance unusable: the page restarts us.
      const fatal = err instanceof WebAssembly.RuntimeError;
      postMessage({ id: msg.id, type: 'error', message: String(err?.message ?? err), fatal });
    }
  });
};

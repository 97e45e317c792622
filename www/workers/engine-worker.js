// The engine worker: owns one session (an ONNX model or a .pt2) and the model it is compared with,
// in the engine's own wasm (tract; the relaxed-simd build where the browser has it, engine-build.js),
// started only when the page runs a model, so opening files never downloads it. Model files are read once here.
//
// Protocol (each request carries an `id`; every reply names it):
//   {id, type: 'load', files: [File]}          -> {io: {inputs, outputs}, ms}   the .onnx file and its
//                                                  external data files; unsupported operators fail here
//   {id, type: 'npy', file: File}              -> {array: {dtype, shape, data: ArrayBuffer}}
//   {id, type: 'run', inputs: [{name, dtype, shape, data: ArrayBuffer}]}
//                                              -> {outputs: [{name, dtype, shape, data: ArrayBuffer, stats}], ms}
//                                                  stats: the core's statistics of each output (the
//                                                  document's Stats), computed after the timed run
//   {id, type: 'npy-bytes', array: {dtype, shape, data}} -> {bytes: ArrayBuffer}   a .npy to download
//   {id, type: 'compare', files: [File], inputs?, tolerance}
//                                              -> {report, ms: {a, b} | null}   loads the other model
//                                                  (`files`, kept while they are the same), runs the loaded
//                                                  model and it on `inputs` (each takes them by its own
//                                                  names, or in order), and compares their outputs:
//                                                  `report` is `EngineSession.compareOutputs`'s. Without
//                                                  `inputs`, compares the last outputs again (a new tolerance)
//   failures                                   -> {id, type: 'error', message, fatal}
// Array buffers are transferred both ways, never copied by postMessage.
import init, { EngineSession, npyRead, npyWrite } from '../pkg/torchpeek_engine.js';
import { runSession, outputStats } from './engine-run.js';
import { serveRequests } from './serve-requests.js';
import { engineBuild, ENGINE_WASM } from './engine-build.js';

const ready = init({ module_or_path: new URL(`../pkg/${ENGINE_WASM[engineBuild()]}`, import.meta.url) });
let session = null;
let peer = null; // {key, session}: the model compared with

const bytesOf = (file) => new Uint8Array(new FileReaderSync().readAsArrayBuffer(file));
const view = (data) => (data instanceof Uint8Array ? data : new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));

/** A wasm array `{dtype, shape, data: Uint8Array, stats?}` as a message part with its buffer listed to transfer. */
function plain(a, transfer) {
  const data = a.data.buffer.byteLength === a.data.byteLength ? a.data.buffer : a.data.slice().buffer;
  transfer.push(data);
  return { name: a.name, dtype: a.dtype, shape: a.shape, data, ...(a.stats ? { stats: a.stats } : {}) };
}

function handle(msg, transfer) {
  switch (msg.type) {
    case 'load': {
      const t0 = performance.now();
      session?.free();
      session = null;
      // The engine picks the model among the files by its bytes, as opening does.
      session = EngineSession.load(msg.files.map((f) => ({ name: f.name, blob: f })));
      return { io: JSON.parse(session.ioJson()), ms: performance.now() - t0 };
    }
    case 'npy':
      return { array: plain(npyRead(msg.file.name, bytesOf(msg.file)), transfer) };
    case 'run': {
      if (!session) throw new Error('no model is loaded');
      const t0 = performance.now();
      const outputs = runSession(session, msg.inputs.map((i) => ({ ...i, data: view(i.data) })));
      const ms = performance.now() - t0;
      return { outputs: outputStats(session, outputs).map((o) => plain(o, transfer)), ms };
    }
    case 'compare': {
      if (!session) throw new Error('no model is loaded');
      const key = msg.files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).join('|');
      if (peer?.key !== key) {
        peer?.session.free();
        peer = null;
        peer = { key, session: EngineSession.load(msg.files.map((f) => ({ name: f.name, blob: f }))) };
      }
      let ms = null;
      if (msg.inputs) {
        const inputs = msg.inputs.map((i) => ({ ...i, data: view(i.data) }));
        const t0 = performance.now();
        runSession(session, inputs);
        const t1 = performance.now();
        runSession(peer.session, inputs);
        ms = { a: t1 - t0, b: performance.now() - t1 };
      }
      return { report: JSON.parse(session.compareOutputs(peer.session, msg.tolerance)), ms };
    }
    case 'npy-bytes': {
      const bytes = npyWrite(msg.array.dtype, Uint32Array.from(msg.array.shape), view(msg.array.data));
      transfer.push(bytes.buffer);
      return { bytes: bytes.buffer };
    }
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

serveRequests(handle, ready);

// The engine worker: owns one ONNX session in the engine's own wasm build (tract, SIMD), started only
// when the page runs a model, so opening files never downloads it. Model files are read once here.
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
//   failures                                   -> {id, type: 'error', message, fatal}
// Array buffers are transferred both ways, never copied by postMessage.
import init, { EngineSession, npyRead, npyWrite } from '../pkg/torchpeek_engine.js';
import { runSession, outputStats } from './engine-run.js';
import { serveRequests } from './serve-requests.js';

const ready = init({ module_or_path: new URL('../pkg/torchpeek_engine_bg.wasm', import.meta.url) });
let session = null;

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

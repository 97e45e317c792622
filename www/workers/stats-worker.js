// A statistics worker of the pool (stats-pool.js): reads one part of a tensor and gives its
// mergeable statistics or histogram counts. It opens the model's files itself (metadata only) the
// first time a part of that model comes, and keeps it open until the pool says `close`.
//
// Protocol (serve-requests.js; every reply names the request's `id`):
//   {type: 'init', module: WebAssembly.Module}          -> null   (the main worker's compiled wasm)
//   {type: 'stats-part', model, files, tensor, first, count}
//                                                       -> progress {done, total}*, then Float64Array
//                                                          (WasmModel.statsPart)
//   {type: 'histogram-part', model, files, tensor, bins, min, max, first, count}
//                                                       -> progress*, then Float64Array of counts
//   {type: 'close', model}                              -> null
//   {type: 'memory'}                                    -> bytes of wasm memory
import init, { WasmModel } from '../pkg/torchpeek.js';
import { serveRequests } from './serve-requests.js';

const models = new Map();
let wasm = null;

function modelOf(msg) {
  let m = models.get(msg.model);
  if (!m) {
    m = WasmModel.open(msg.files.map((f) => ({ name: f.name, blob: f })));
    models.set(msg.model, m);
  }
  return m;
}

async function handle(msg, transfer) {
  const progress = (done, total) => postMessage({ id: msg.id, type: 'progress', done, total });
  let out;
  switch (msg.type) {
    case 'init':
      wasm = await init({ module_or_path: msg.module });
      return null;
    case 'memory':
      return wasm.memory.buffer.byteLength;
    case 'stats-part':
      out = modelOf(msg).statsPart(msg.tensor, msg.first, msg.count, progress);
      break;
    case 'histogram-part':
      out = modelOf(msg).histogramPart(msg.tensor, msg.bins, msg.min, msg.max, msg.first, msg.count, progress);
      break;
    case 'close':
      models.get(msg.model)?.free();
      models.delete(msg.model);
      return null;
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
  transfer.push(out.buffer);
  return out;
}

serveRequests(handle);

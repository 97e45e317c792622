// The worker owns the wasm module: every file is parsed here, read lazily in slices with
// FileReaderSync, so the page stays responsive whatever the file's size.
//
// Protocol (each request carries an `id`; every reply names it):
//   {id, type: 'open', model, files: [File]}           -> {id, type: 'result', result: {json, ms, memory, dtypes,
//                                                         reads: {sync, ahead, rounds}}}
//                                                         (dtypes: the core's dtype table, `dtypes()` of the wasm,
//                                                         which the page reads instead of keeping a copy)
//   {id, type: 'tensor-values', model, tensor, limit}  -> {id, type: 'result', result: {values}}
//   {id, type: 'stats', model, tensor, bins}           -> {id, type: 'progress', phase, done, total}*
//                                                         then {id, type: 'result', result: {stats, histogram,
//                                                         ms, histogramMs, memory, poolMemory}} (big tensors
//                                                         are read by a pool of workers: stats-pool.js)
//                                                         (histogram: {min, max, counts, percentiles: {p1, p50,
//                                                         p99}, resolution}: percentiles from a histogram with
//                                                         PERCENTILE_BINS bins, within `resolution` of the exact)
//   {id, type: 'heatmap', model, tensor, rows, cols}    -> progress*, then {heatmap, ms} (WasmModel.heatmap)
//   {id, type: 'block-norms', model, blocks: [[tensor]]} -> progress* (bytes), then {norms, ms}: the L2 norm of
//                                                         each block's tensors together
//   {id, type: 'graph', model, expand?}                 -> {id, type: 'result', result: {view, layout, ms}}
//                                                         (view: WasmModel.graph, expand: TorchScript
//                                                         submodules inlined; layout: graph-layout.js)
//   {id, type: 'layout', view}                          -> {id, type: 'result', result: {layout, ms}}
//                                                         (a graph view the page made: a block of a control node)
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
import init, { Opening, WasmModel, checkSafety, dtypes as dtypesJson, percentiles, warmUp } from '../pkg/torchpeek.js';
import { diagram } from './graph-layout.js';
import { exportNpy, exportSafetensors } from './export.js';
import { serveRequests } from './serve-requests.js';
import { StatsPool } from './stats-pool.js';
import { readAhead, warmReaders } from './read-ahead.js';

/** Bins the percentiles are read from (the drawn histogram's bins are summed from them). */
const PERCENTILE_BINS = 2048;
/** Tensors of at least this many bytes are read by the statistics pool, smaller ones here. */
const POOL_MIN_BYTES = 32 << 20;
/**
 * Statistics workers: one per core, at least 4 (a worker waits for each slice it reads, so even on
 * 2 cores 4 readers beat 2: README, web numbers), at most 8 (each holds about 17 MiB of wasm memory).
 */
const POOL_MIN = 4;
const POOL_MAX = 8;

let wasm = null;
let pool = null;
let dtypes = null; // the dtype table, read from the wasm once
// Compiled here once: the statistics pool's workers instantiate the same module.
const ready = compile(new URL('../pkg/torchpeek_bg.wasm', import.meta.url)).then(async (module) => {
  wasm = await init({ module_or_path: module });
  dtypes = JSON.parse(dtypesJson());
  pool = new StatsPool(module, Math.min(POOL_MAX, Math.max(POOL_MIN, navigator.hardwareConcurrency || 0)));
  warmReaders();
  // The first open's functions compiled now, not after the user chooses a file (wasm compiles
  // lazily): an open of two tiny models held in the module. Requests wait for it; it takes a few ms.
  warmUp();
});
const models = new Map();
const filesOf = new Map();

async function compile(url) {
  const res = await fetch(url);
  try {
    return await WebAssembly.compileStreaming(res.clone());
  } catch {
    return WebAssembly.compile(await res.arrayBuffer()); // a host that does not send application/wasm
  }
}

const memory = () => (wasm ? wasm.memory.buffer.byteLength : 0);

/** Rounds of reading ahead before an open gives up on it and reads the rest one piece at a time. */
const MAX_AHEAD_ROUNDS = 4;
/** A file that wants reading ahead and is at most this big is read whole (MAX_AHEAD_BYTES of torchpeek-js). */
const WHOLE_AHEAD_BYTES = 16 << 20;

/**
 * Files read whole before the first try when small: the names torch gives its zips and pickles,
 * whose opens read a local header per tensor (one slice each) otherwise. Reading 10 MB whole takes
 * about as long as its headers, and then the open runs once.
 */
const READ_WHOLE_FIRST = /\.(pt|pth|bin|ckpt|pt2|pkl|tar|mar)$/i;

/**
 * Opens `files` as one model. Small torch files are read whole first (READ_WHOLE_FIRST). What
 * the open would still read one small piece at a time (a zip's local headers: one blocking
 * FileReaderSync read each, about a millisecond apiece) it asks for; those slices are read here
 * all in flight together, and the open runs again with them in.
 * Returns the model and its reads: {sync, ahead, rounds}.
 */
async function openAhead(files) {
  const inputs = files.map((f) => ({ name: f.name, blob: f }));
  const opening = new Opening(inputs);
  const readWhole = (i) => files[i].arrayBuffer().then((b) => opening.fill(i, 0, new Uint8Array(b)));
  let ahead = 0;
  try {
    const first = files.flatMap((f, i) => (f.size <= WHOLE_AHEAD_BYTES && READ_WHOLE_FIRST.test(f.name) ? [i] : []));
    await Promise.all(first.map(readWhole));
    ahead += first.length;
    for (let round = 1; ; round++) {
      const model = round <= MAX_AHEAD_ROUNDS ? opening.open() : WasmModel.open(inputs);
      if (model) return { model, reads: { sync: opening.reads(), ahead, rounds: round } };
      const want = opening.wanted();
      // Grouped by input: each file's ranges are read together, spread over reader threads.
      const byInput = new Map();
      for (let i = 0; i < want.length; i += 3) {
        if (!byInput.has(want[i])) byInput.set(want[i], []);
        byInput.get(want[i]).push(want[i + 1], want[i + 2]);
      }
      // A file of a few MiB is read whole, in one read (the core keeps up to 16 MiB read ahead):
      // cheaper than its hundreds of headers, and its tensors are then read from memory too.
      const slices = [...byInput].map(([input, ranges]) => (files[input].size <= WHOLE_AHEAD_BYTES
        ? readWhole(input)
        : readAhead(files[input], ranges).then((bytes) => bytes.forEach((b, k) => opening.fill(input, ranges[2 * k], b)))));
      ahead += want.length / 3;
      await Promise.all(slices);
    }
  } finally {
    opening.free();
  }
}

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
      const { model: m, reads } = await openAhead(msg.files);
      const json = m.documentJson();
      models.get(msg.model)?.free();
      models.set(msg.model, m);
      filesOf.set(msg.model, msg.files);
      pool.close(msg.model);
      return { json, ms: performance.now() - t0, memory: memory(), dtypes, reads };
    }
    case 'tensor-values': {
      const values = modelOf(msg).tensorValues(msg.tensor, msg.limit);
      return { values };
    }
    case 'stats':
      return stats(modelOf(msg), msg, progress);
    case 'heatmap': {
      const t0 = performance.now();
      const heatmap = JSON.parse(modelOf(msg).heatmap(msg.tensor, msg.rows, msg.cols, progress('heatmap')));
      return { heatmap, ms: performance.now() - t0 };
    }
    case 'block-norms':
      return blockNorms(modelOf(msg), msg, progress('norms'));
    case 'graph': {
      const t0 = performance.now();
      const view = JSON.parse(modelOf(msg).graph(Boolean(msg.expand)));
      return { view, layout: diagram(view), ms: performance.now() - t0 };
    }
    case 'layout': {
      const t0 = performance.now();
      return { layout: diagram(msg.view), ms: performance.now() - t0 };
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
      filesOf.delete(msg.model);
      pool.close(msg.model);
      return null;
    }
    case 'memory':
      return { memory: memory() };
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

/**
 * Statistics, then a histogram over the range they give: big tensors by the pool (parts read in
 * parallel and merged), small ones here; the same wasm code reduces each part.
 */
async function stats(m, msg, progress) {
  const [numel, itemsize] = m.tensorSize(msg.tensor);
  const pooled = numel * itemsize >= POOL_MIN_BYTES;
  const part = { model: msg.model, files: filesOf.get(msg.model), tensor: msg.tensor };
  const t0 = performance.now();
  let stats;
  if (pooled) {
    const onProgress = progress('stats');
    const parts = await pool.map({ ...part, type: 'stats-part' }, numel, itemsize, (done) => onProgress(done, numel * itemsize));
    const flat = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (flat.set(p, at), at + p.length), 0);
    stats = JSON.parse(m.mergeStats(msg.tensor, flat));
  } else {
    stats = JSON.parse(m.tensorStats(msg.tensor, progress('stats')));
  }
  const t1 = performance.now();
  let histogram = null;
  if (msg.bins > 0) {
    const range = { min: stats.min ?? 0, max: stats.max ?? 0 };
    // Counted in `per` times finer bins, for the percentiles; drawn in `msg.bins`.
    const per = Math.max(1, Math.floor(PERCENTILE_BINS / msg.bins));
    const bins = msg.bins * per;
    let counts;
    if (pooled) {
      const onProgress = progress('histogram');
      const parts = await pool.map({ ...part, type: 'histogram-part', bins, ...range }, numel, itemsize, (done) => onProgress(done, numel * itemsize));
      counts = parts.reduce((sum, p) => sum.map((c, i) => c + p[i]));
    } else {
      counts = m.histogramPart(msg.tensor, bins, range.min, range.max, 0, numel, progress('histogram'));
    }
    const [p1, p50, p99] = percentiles(Float64Array.from(counts), range.min, range.max, Float64Array.of(0.01, 0.5, 0.99));
    const drawn = Array.from({ length: msg.bins }, (_, i) => counts.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0));
    histogram = { ...range, counts: drawn, percentiles: { p1, p50, p99 }, resolution: (range.max - range.min) / bins };
  }
  const histogramMs = performance.now() - t1;
  return { stats, histogram, ms: t1 - t0, histogramMs, memory: memory(), poolMemory: pooled ? await pool.memory() : 0 };
}

/**
 * The L2 norm of each block's tensors taken together (the square root of the sum of their squared
 * norms), each tensor's norm from its statistics (read as `stats` reads it); progress in bytes.
 */
async function blockNorms(m, msg, report) {
  const t0 = performance.now();
  const bytes = msg.blocks.map((block) => block.map((t) => {
    const [n, size] = m.tensorSize(t);
    return n * size;
  }));
  const total = bytes.flat().reduce((a, b) => a + b, 0);
  let done = 0;
  const norms = [];
  for (const [k, block] of msg.blocks.entries()) {
    let squares = 0;
    for (const [j, tensor] of block.entries()) {
      const base = done;
      const { stats: s } = await stats(m, { model: msg.model, tensor, bins: 0 }, () => (d) => report(base + d, total));
      squares += (typeof s.norm === 'number' ? s.norm : Infinity) ** 2;
      done += bytes[k][j];
      report(done, total);
    }
    norms.push(Math.sqrt(squares));
  }
  return { norms, ms: performance.now() - t0 };
}

serveRequests(handle, ready);

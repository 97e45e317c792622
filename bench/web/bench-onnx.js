// The benchmark page (served from the repository root by bench/bench-onnx.mjs): each model loaded
// and run in this page's thread with torchpeek's engine (dist/pkg/torchpeek_engine.js, the build
// the page uses) and with onnxruntime-web (node_modules, wasm backend, one thread), on the
// model's reference inputs, its outputs checked against the reference outputs.
// A model is `{label, base, files: [model.onnx, external data...], inputs: [npy], outputs: [npy]}`,
// every file fetched from `base`. The machine is noisy, so the two runtimes alternate: load and first
// run in rounds (the runtime going first swaps each round), steady runs in alternating batches.
// Our engine: `?engine=simd` the page's plain SIMD build, `?engine=relaxed` its relaxed-simd build,
// `?engine=auto` (the default) the one the page's engine worker runs here (www/workers/engine-build.js);
// `?engine=/URL/PREFIX` another build's `PREFIX.js` and `PREFIX_bg.wasm` (a copy of an earlier build,
// to compare before and after a change).
import { runSession } from '/dist/workers/engine-run.js';
import { engineBuild, ENGINE_WASM } from '/dist/workers/engine-build.js';
import { typed } from '/dist/shared/typed-arrays.js';
import * as ort from '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';

const asked = new URLSearchParams(location.search).get('engine') ?? 'auto';
const engineName = asked === 'auto' ? engineBuild() : asked;
const engine = ENGINE_WASM[engineName]
  ? { js: '/dist/pkg/torchpeek_engine.js', wasm: `/dist/pkg/${ENGINE_WASM[engineName]}` }
  : engineName.startsWith('/') ? { js: `${engineName}.js`, wasm: `${engineName}_bg.wasm` } : null;
if (!engine) throw new Error(`unknown engine ${engineName}: simd, relaxed, auto or /URL/PREFIX`);
const { default: init, EngineSession, npyRead } = await import(engine.js);
const initEngine = () => init({ module_or_path: engine.wasm });

const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
/** `.npy` files decoded: `[{name, dtype, shape, data}]`. */
const readArrays = async (base, files) => Promise.all(files.map(async (f) => npyRead(f, await bytes(`${base}/${f}`))));
/** A model's files fetched: `[{name, bytes}]`, the `.onnx` first. */
const readFiles = async (m) => Promise.all(m.files.map(async (name) => ({ name, bytes: await bytes(`${m.base}/${name}`) })));

/** Both runtimes behind one face: `load(files)` -> session, `run(session, arrays)` -> typed outputs, `free`. */
const RUNTIMES = {
  ours: {
    load: (files) => EngineSession.load(files),
    prepare(session, arrays) {
      const io = JSON.parse(session.ioJson());
      return arrays.map((a, i) => ({ name: io.inputs[i].name, dtype: a.dtype, shape: a.shape, data: a.data }));
    },
    run: (session, inputs) => runSession(session, inputs).map(typed),
    free: (session) => session.free(),
  },
  ort: {
    load: ([model, ...data]) => ort.InferenceSession.create(model.bytes, {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all', externalData: data.map((d) => ({ path: d.name, data: d.bytes })),
    }),
    prepare(session, arrays) {
      const feeds = {};
      arrays.forEach((a, i) => { feeds[session.inputNames[i]] = new ort.Tensor(a.dtype, typed(a).slice(), a.shape); });
      return feeds;
    },
    run: async (session, feeds) => {
      const res = await session.run(feeds);
      return session.outputNames.map((n) => res[n].data);
    },
    free: (session) => session.release(),
  },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const maxAbs = (a, b) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
};

/** A runtime's load and first run, timed; the session stays open. */
async function loadAndRun(rt, files, arrays) {
  let t0 = performance.now();
  const session = await rt.load(files);
  const load = performance.now() - t0;
  const inputs = rt.prepare(session, arrays);
  t0 = performance.now();
  const outputs = await rt.run(session, inputs);
  const first = performance.now() - t0;
  return { session, inputs, outputs, load, first };
}

/** How many calls of `fn` make a batch of at least 10 ms (the page's clock is coarse: 0.1 ms). */
async function batchSize(fn) {
  for (let batch = 1; ; batch *= 2) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    if (performance.now() - t0 >= 10) return batch;
  }
}

/** Steady latency of both runtimes, batches alternating (`fns`: {ours, ort}): median per call. */
async function steadyPair(fns, { warmup, budgetMs }) {
  const names = Object.keys(fns);
  const batch = {};
  for (const n of names) {
    for (let i = 0; i < warmup; i++) await fns[n]();
    batch[n] = await batchSize(fns[n]);
  }
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const end = performance.now() + budgetMs;
  for (let k = 0; times[names[0]].length < 5 || performance.now() < end; k++) {
    for (const n of k % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      for (let i = 0; i < batch[n]; i++) await fns[n]();
      times[n].push((performance.now() - t0) / batch[n]);
    }
  }
  return Object.fromEntries(names.map((n) => [n, { median: median(times[n]), runs: times[n].length * batch[n] }]));
}

/**
 * Every model, both runtimes: `rounds` of load + first run (each from a fresh session, the runtime
 * that goes first alternating), then steady runs in alternating batches for `budgetMs`.
 * The first model is loaded and run once by each runtime before anything is timed: onnxruntime-web
 * starts its wasm there, and both compile the functions a load runs (V8 compiles lazily).
 */
window.benchmark = async (models, { rounds = 5, budgetMs = 3000, warmup = 5 } = {}) => {
  let t0 = performance.now();
  await initEngine(); // npyRead is ours too
  const initMs = performance.now() - t0;
  const firstFiles = await readFiles(models[0]);
  const firstArrays = await readArrays(models[0].base, models[0].inputs);
  const start = {};
  for (const [name, rt] of Object.entries(RUNTIMES)) {
    t0 = performance.now();
    const r = await loadAndRun(rt, firstFiles, firstArrays);
    rt.free(r.session);
    start[name] = performance.now() - t0 + (name === 'ours' ? initMs : 0);
  }
  const rows = [];
  for (const m of models) {
    const files = await readFiles(m);
    const arrays = await readArrays(m.base, m.inputs);
    const refs = (await readArrays(m.base, m.outputs)).map(typed);
    const rec = { ours: [], ort: [] };
    const err = {};
    let open = {};
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 ? ['ort', 'ours'] : ['ours', 'ort']) {
        if (open[name]) RUNTIMES[name].free(open[name].session);
        const r = await loadAndRun(RUNTIMES[name], files, arrays);
        rec[name].push({ load: r.load, first: r.first, total: r.load + r.first });
        err[name] = Math.max(err[name] ?? 0, ...refs.map((ref, i) => maxAbs(r.outputs[i], ref)));
        open[name] = r;
      }
    }
    const steady = await steadyPair(
      Object.fromEntries(Object.entries(open).map(([name, r]) => [name, () => RUNTIMES[name].run(r.session, r.inputs)])),
      { warmup, budgetMs },
    );
    for (const [name, r] of Object.entries(open)) RUNTIMES[name].free(r.session);
    open = {};
    const med = (name, key) => median(rec[name].map((x) => x[key]));
    const refMax = Math.max(...refs.map((r) => maxAbs(r, new Float32Array(r.length))));
    rows.push({
      model: m.label, bytes: files.reduce((s, f) => s + f.bytes.length, 0),
      oursLoad: med('ours', 'load'), ortLoad: med('ort', 'load'), oursFirst: med('ours', 'first'), ortFirst: med('ort', 'first'),
      oursTotal: med('ours', 'total'), ortTotal: med('ort', 'total'),
      totalRatio: med('ours', 'total') / med('ort', 'total'),
      totalRatios: rec.ours.map((o, i) => o.total / rec.ort[i].total),
      ours: steady.ours.median, ort: steady.ort.median, ratio: steady.ours.median / steady.ort.median,
      oursRuns: steady.ours.runs, ortRuns: steady.ort.runs, oursErr: err.ours, ortErr: err.ort, refMax,
    });
  }
  return { engine: engineName, oursStart: start.ours, ortStart: start.ort, rows, userAgent: navigator.userAgent };
};
window.benchReady = true;

// For bench/profile-onnx.mjs: one model loaded, then `profileRuns(n)` runs it n times, or
// `profileLoads(n)` loads it and runs it once, n times (ms in all).
let profiled = null;
window.prepareProfile = async (m) => {
  await initEngine();
  const files = await readFiles(m);
  const session = RUNTIMES.ours.load(files);
  profiled = { files, session, inputs: RUNTIMES.ours.prepare(session, await readArrays(m.base, m.inputs)) };
  for (let i = 0; i < 3; i++) runSession(session, profiled.inputs);
};
window.profileLoads = async (n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const session = EngineSession.load(profiled.files);
    runSession(session, profiled.inputs);
    session.free();
  }
  return performance.now() - t0;
};
window.profileRuns = (n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) runSession(profiled.session, profiled.inputs);
  return performance.now() - t0;
};

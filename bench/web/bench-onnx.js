// The benchmark page (served from the repository root by bench/bench-onnx.mjs): each fixture model
// loaded and run in this page's thread with torchpeek's engine (dist/pkg/torchpeek_engine.js, the
// SIMD build the page uses) and with onnxruntime-web (node_modules, wasm backend, one thread), on the
// fixture's reference inputs. Load time excludes each runtime's one-time start (reported apart);
// latency is the median of steady-state runs after warm-up.
import init, { EngineSession, npyRead } from '/dist/pkg/torchpeek_engine.js';
import { runSession } from '/dist/workers/engine-run.js';
import { typed as typedOf } from '/dist/shared/typed-arrays.js';
import * as ort from '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';

const ORT_TYPES = { float32: 'float32', int64: 'int64', int32: 'int32', float64: 'float64', uint8: 'uint8', int8: 'int8', bool: 'bool' };

const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
/** Fixture `.npy` files decoded: `[{name, dtype, shape, data}]`. */
const readArrays = async (files) => Promise.all(files.map(async (f) => npyRead(f, await bytes(`/tests/fixtures/${f}`))));
/** Arrays named, in order, as the session's inputs: what `runSession` takes. */
const asInputs = (session, arrays) => {
  const io = JSON.parse(session.ioJson());
  return arrays.map((a, i) => ({ name: io.inputs[i].name, dtype: a.dtype, shape: a.shape, data: a.data }));
};

/** Median time (ms) per call of `fn` after warm-up. The page's clock is coarse (0.1 ms), so calls are
 * timed in batches of at least 10 ms: the median over about `budgetMs` of batches, per call. */
async function steady(fn, { warmup = 10, budgetMs = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    if (performance.now() - t0 >= 10) break;
    batch *= 2;
  }
  const times = [];
  const end = performance.now() + budgetMs;
  while (times.length < 5 || performance.now() < end) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    times.push((performance.now() - t0) / batch);
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], runs: times.length * batch };
}

const maxAbs = (a, b) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
};

window.benchmark = async (models) => {
  // Each runtime's start includes a throwaway session on the first model: onnxruntime-web starts
  // its wasm there, and both compile the functions a load runs (V8 compiles lazily) there.
  const first = await bytes(`/tests/fixtures/${models[0].file}`);
  let t0 = performance.now();
  await init({ module_or_path: '/dist/pkg/torchpeek_engine_bg.wasm' });
  EngineSession.load([{ name: 'model.onnx', bytes: first }]).free();
  const oursStart = performance.now() - t0;
  t0 = performance.now();
  await (await ort.InferenceSession.create(first, { executionProviders: ['wasm'] })).release();
  const ortStart = performance.now() - t0;
  const rows = [];
  for (const m of models) {
    const model = await bytes(`/tests/fixtures/${m.file}`);
    const arrays = await readArrays(m.inputs);
    const refs = await readArrays(m.outputs);

    t0 = performance.now();
    const ours = EngineSession.load([{ name: m.file, bytes: model }]);
    const oursLoad = performance.now() - t0;
    const inputs = asInputs(ours, arrays);
    t0 = performance.now();
    let outs = runSession(ours, inputs);
    const oursFirst = performance.now() - t0;
    const typed = typedOf;
    const oursErr = Math.max(...refs.map((r, i) => maxAbs(typed(outs[i]), typed(r))));
    const oursRun = await steady(() => { outs = runSession(ours, inputs); });
    ours.free();

    t0 = performance.now();
    const sess = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const ortLoad = performance.now() - t0;
    const feeds = {};
    arrays.forEach((a, i) => { feeds[sess.inputNames[i]] = new ort.Tensor(ORT_TYPES[a.dtype], typed(a).slice(), a.shape); });
    t0 = performance.now();
    let res = await sess.run(feeds);
    const ortFirst = performance.now() - t0;
    const ortErr = Math.max(...refs.map((r, i) => maxAbs(res[sess.outputNames[i]].data, typed(r))));
    const ortRun = await steady(async () => { res = await sess.run(feeds); });
    await sess.release();

    rows.push({ model: m.file, oursLoad, ortLoad, oursFirst, ortFirst, ours: oursRun.median, ort: ortRun.median, ratio: oursRun.median / ortRun.median,
      oursRuns: oursRun.runs, ortRuns: ortRun.runs, oursErr, ortErr });
  }
  return { oursStart, ortStart, rows, userAgent: navigator.userAgent };
};
window.benchReady = true;

// For bench/profile-onnx.mjs: one model loaded, then `profileRuns(n)` runs it n times (ms in all).
let profiled = null;
window.prepareProfile = async ({ file, inputs }) => {
  await init({ module_or_path: '/dist/pkg/torchpeek_engine_bg.wasm' });
  const session = EngineSession.load([{ name: file, bytes: await bytes(`/tests/fixtures/${file}`) }]);
  profiled = { file, session, inputs: asInputs(session, await readArrays(inputs)) };
  for (let i = 0; i < 10; i++) runSession(session, profiled.inputs);
};
window.profileLoads = async (n) => {
  const model = await bytes(`/tests/fixtures/${profiled.file}`);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) EngineSession.load([{ name: profiled.file, bytes: model }]).free();
  return performance.now() - t0;
};
window.profileRuns = (n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) runSession(profiled.session, profiled.inputs);
  return performance.now() - t0;
};

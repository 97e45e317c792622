// The engine benchmark, in one headless-chromium page: each model loaded and run with torchpeek's
// engine (the build the page's engine worker runs in Chromium: relaxed-simd) and with onnxruntime-web (wasm backend, one thread, served
// from node_modules: never part of dist/), side by side, with the ratios, and each runtime's outputs
// against the reference (torch's, for the benchmark set).
// Usage (after scripts/build-web.sh):
//   node bench/bench-onnx.mjs [--set [DIR]] [--only SUBSTR,...] [--engine auto|simd|relaxed|/URL/PREFIX] [--rounds N] [--budget MS] [--json]
// Without --set: the ONNX fixtures. --set: the benchmark set of real architectures
// (bench/onnx-models.mjs: made on demand with gen/make_bench_models.py; set TORCH_PYTHON).
// --rounds: loads + first runs per runtime (fresh sessions, alternating who goes first; default 5);
// --budget: ms of alternating steady batches per model (default 3000). --engine: our build (the
// page's plain SIMD build, its relaxed-simd one, or auto, the default: the one the page's engine
// worker picks, www/workers/engine-build.js; or /URL/PREFIX: the build at PREFIX.js and
// PREFIX_bg.wasm under the repository, such as a copy of an earlier build).
import fs from 'node:fs';
import { start, ROOT } from '../tests/e2e/harness.mjs';
import { benchPage, fixtureModels, setModels, SET_DIR } from './onnx-models.mjs';

const args = process.argv.slice(2);
const opt = (name, d) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined && !args[i + 1].startsWith('--') ? args[i + 1] : d;
};
if (!fs.existsSync(`${ROOT}/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs`)) throw new Error('onnxruntime-web is not installed: run npm ci');
let models = args.includes('--set') ? setModels(opt('--set', SET_DIR)) : fixtureModels();
const only = opt('--only', null)?.split(',');
if (only) models = models.filter((m) => only.some((s) => m.label.includes(s)));
if (!models.length) throw new Error('no models to run');
const TOLERANCE = 1e-4;
const options = { rounds: Number(opt('--rounds', 5)), budgetMs: Number(opt('--budget', 3000)) };

const h = await start({ root: ROOT, page: benchPage(opt('--engine')) });
let result;
try {
  const page = await h.newPage();
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  result = await page.evaluate(([m, o]) => window.benchmark(m, o), [models, options]);
  if (h.errors.length) throw new Error(h.errors.join('\n'));
} finally {
  await h.close();
}
const outside = h.requests.filter((u) => !u.startsWith(h.url) && !/^(blob|data):/.test(u));
if (outside.length) throw new Error(`requests left 127.0.0.1: ${outside.join(', ')}`);

if (args.includes('--json')) {
  console.log(JSON.stringify(result, null, 1));
} else {
  const f = (v, d = 2) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(d));
  const x = (r) => `${r.toFixed(2)}x`;
  console.log(`${result.userAgent}\nour engine: ${result.engine} build; runtime start: torchpeek ${f(result.oursStart, 1)} ms, onnxruntime-web ${f(result.ortStart, 1)} ms;`
    + ` ${options.rounds} rounds of load + first run, steady batches alternating for ${options.budgetMs} ms per model\n`);
  console.log('| model | MB | load (ours / ort) | first run (ours / ort) | load + first run (ours / ort) | ratio (rounds) | steady run (ours / ort) | ratio | max abs diff vs reference (ours / ort; reference max) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of result.rows) {
    const rounds = r.totalRatios.map((v) => v.toFixed(2)).join(', ');
    console.log(`| \`${r.model}\` | ${(r.bytes / 1e6).toFixed(1)} | ${f(r.oursLoad, 1)} / ${f(r.ortLoad, 1)} ms | ${f(r.oursFirst)} / ${f(r.ortFirst)} ms`
      + ` | ${f(r.oursTotal, 1)} / ${f(r.ortTotal, 1)} ms | **${x(r.totalRatio)}** (${rounds}) | ${f(r.ours, 3)} / ${f(r.ort, 3)} ms | **${x(r.ratio)}**`
      + ` | ${r.oursErr.toExponential(1)} / ${r.ortErr.toExponential(1)}; ${r.refMax.toExponential(1)} |`);
  }
}
// Outputs off the reference by more than the engine's tolerance fail the run (NaN fails too).
const off = result.rows.filter((r) => !(r.oursErr <= TOLERANCE));
if (off.length) {
  console.error(`outputs off the reference by more than ${TOLERANCE}: ${off.map((r) => `${r.model} (${r.oursErr})`).join(', ')}`);
  process.exitCode = 1;
}

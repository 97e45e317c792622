// The engine benchmark, in one headless-chromium run: every ONNX fixture loaded and run with
// torchpeek's engine (the page's SIMD wasm build) and with onnxruntime-web (wasm backend, one
// thread, served from node_modules: never part of dist/), side by side, with the latency ratio.
// Usage: node bench/bench-onnx.mjs [--json]   (after scripts/build-web.sh)
import fs from 'node:fs';
import { start, npyFixtures, FIXTURES, ROOT } from '../tests/e2e/harness.mjs';

if (!fs.existsSync(`${ROOT}/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs`)) throw new Error('onnxruntime-web is not installed: run npm ci');
const models = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx')).sort().map((file) => {
  const stem = file.replace(/\.onnx$/, '');
  return { file, inputs: npyFixtures(stem, 'input'), outputs: npyFixtures(stem, 'output') };
}).filter((m) => m.inputs.length && m.outputs.length);

const h = await start({ root: ROOT, page: 'bench/web/bench-onnx.html' });
let result;
try {
  const page = await h.newPage();
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  result = await page.evaluate((m) => window.benchmark(m), models);
  if (h.errors.length) throw new Error(h.errors.join('\n'));
} finally {
  await h.close();
}
const outside = h.requests.filter((u) => !u.startsWith(h.url) && !/^(blob|data):/.test(u));
if (outside.length) throw new Error(`requests left 127.0.0.1: ${outside.join(', ')}`);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(result, null, 1));
} else {
  const f = (v, d = 3) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(d));
  console.log(`${result.userAgent}\nruntime start: torchpeek ${f(result.oursStart, 1)} ms, onnxruntime-web ${f(result.ortStart, 1)} ms\n`);
  console.log('| model | load (ours / ort) | first run (ours / ort) | steady run, median (ours / ort) | ratio | max abs err vs reference (ours / ort) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of result.rows) {
    console.log(`| \`${r.model}\` | ${f(r.oursLoad, 1)} / ${f(r.ortLoad, 1)} ms | ${f(r.oursFirst)} / ${f(r.ortFirst)} ms | ${f(r.ours)} / ${f(r.ort)} ms | **${r.ratio.toFixed(2)}x** | ${r.oursErr.toExponential(1)} / ${r.ortErr.toExponential(1)} |`);
  }
}

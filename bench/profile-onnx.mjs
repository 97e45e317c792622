// Profiles torchpeek's engine in headless Chromium: one model run in a loop on the benchmark page
// (bench/web/bench-onnx.html) under the DevTools sampling profiler; prints the functions with the
// most self time, and inclusive time for the engine's entry points.
// Usage: node bench/profile-onnx.mjs MODEL.onnx [--runs N] [--top N] [--load] [--engine simd|relaxed|auto] [--callers TEXT]
//   MODEL.onnx: a fixture's name, or a model of the benchmark set (target/bench-models/gpt2.dynamo.onnx);
//   --load: profile N loads, each with its first run; --engine: as bench/bench-onnx.mjs;
//   --callers TEXT: also the call paths that lead to functions whose name contains TEXT.
// Build first: bash scripts/build-web.sh (the wasm keeps its function names).
import { start, ROOT } from '../tests/e2e/harness.mjs';
import { benchPage, namedModel } from './onnx-models.mjs';

const args = process.argv.slice(2);
const arg = args.find((a) => a.endsWith('.onnx'));
if (!arg) throw new Error('usage: node bench/profile-onnx.mjs MODEL.onnx [--runs N] [--top N] [--load]');
const opt = (name, d) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const runs = opt('--runs', 2000);
const top = opt('--top', 40);
const load = args.includes('--load');
const callers = args.includes('--callers') ? args[args.indexOf('--callers') + 1] : undefined;
const model = namedModel(arg);

const engine = args.includes('--engine') ? args[args.indexOf('--engine') + 1] : undefined;
const h = await start({ root: ROOT, page: benchPage(engine) });
try {
  const page = await h.newPage();
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  await page.evaluate((m) => window.prepareProfile(m), model);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  const ms = await page.evaluate(([n, l]) => (l ? window.profileLoads(n) : window.profileRuns(n)), [runs, load]);
  const { profile } = await cdp.send('Profiler.stop');
  if (h.errors.length) throw new Error(h.errors.join('\n'));

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = profile.nodes.reduce((s, n) => s + n.hitCount, 0);
  const self = new Map();
  const inclusive = new Map();
  for (const n of profile.nodes) {
    const name = n.callFrame.functionName || `(anonymous ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber})`;
    self.set(name, (self.get(name) ?? 0) + n.hitCount);
    // Inclusive: count the hits once per distinct function on the stack.
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame.functionName;
      if (f && !seen.has(f)) {
        seen.add(f);
        inclusive.set(f, (inclusive.get(f) ?? 0) + n.hitCount);
      }
    }
  }
  const pct = (v) => ((100 * v) / total).toFixed(1).padStart(5);
  console.log(`${model.label}: ${runs} ${load ? 'loads' : 'runs'}, ${(ms / runs).toFixed(4)} ms each; ${total} samples\n\nself time:`);
  for (const [name, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}%  ${name.slice(0, 150)}`);
  console.log('\ninclusive time:');
  for (const [name, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}%  ${name.slice(0, 150)}`);
  if (callers) {
    // Each path from the sampled function up its first 6 callers, by the samples it holds.
    const paths = new Map();
    const short = (f) => f.replace(/::h[0-9a-f]{16}$/, '').slice(0, 110);
    for (const n of profile.nodes) {
      if (!n.hitCount || !n.callFrame.functionName.includes(callers)) continue;
      const chain = [];
      for (let id = n.id; id !== undefined && chain.length < 7; id = parent.get(id)) chain.push(short(byId.get(id).callFrame.functionName));
      const key = chain.join('\n        <- ');
      paths.set(key, (paths.get(key) ?? 0) + n.hitCount);
    }
    console.log(`\ncall paths to ${callers}:`);
    for (const [path, v] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(v)}%  ${path}`);
  }
} finally {
  await h.close();
}

// The npm package: in Node (paths read lazily), from a packed tarball, and in a browser page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, fixture, manifest, close, start } from './harness.mjs';
import { open, fileSource, diff, check, dtypes } from '../../npm/node.js';
import { load as loadModel, toNpy, engineBuild } from '../../npm/engine-node.js';
import { RELAXED_PROBE } from '../../www/workers/engine-build.js';
import { safetensors, writeSparseSafetensors, ramp } from '../../gen/make-safetensors.mjs';

const num = (v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);

test('Node: open a checkpoint by path; statistics and values match torch', async () => {
  for (const name of ['mlp_checkpoint.pt', 'cnn_checkpoint_adam.pt', 'bert_tiny.safetensors', 'mlp_state_dict_legacy.pth']) {
    const m = manifest(name);
    const model = await open(fixture(name));
    assert.equal(model.document.tensors.length, m.tensors.length, name);
    const byPath = new Map(m.tensors.map((t) => [t.path.join('\u0000'), t]));
    model.document.tensors.forEach((t, i) => {
      const want = byPath.get(t.path.join('\u0000'));
      assert.ok(want, `${name}: torch has no tensor at ${t.path}`);
      assert.deepEqual(t.shape, want.shape, `${name} ${want.path}`);
      if (want.numel === 0 || want.qscheme) return;
      const s = model.stats(i);
      for (const k of ['sum', 'abs_sum', 'mean']) assert.ok(close(num(s[k]), want[k], 1e-4), `${name} ${want.path} ${k}`);
      const first = model.values(i, want.first.length);
      want.first.forEach((v, j) => assert.ok(close(first[j], v, 1e-6), `${name} ${want.path} value ${j}`));
    });
    model.close();
  }
});

test("Node: the dtype table is the core's, and every tensor's dtype is in it", async () => {
  const table = await dtypes();
  const byName = new Map(table.map((d) => [d.name, d]));
  assert.equal(byName.size, table.length, 'one entry per dtype');
  assert.deepEqual(byName.get('bfloat16'), { name: 'bfloat16', itemsize: 2, is_float: true, is_complex: false, is_integer: false, is_quantized: false, onnx: 'BFLOAT16' });
  assert.deepEqual(['float64', 'int64', 'complex128', 'float8_e5m2', 'bool', 'qint32'].map((n) => byName.get(n).itemsize), [8, 8, 16, 1, 1, 4]);
  const model = await open(fixture('dtypes.pt'));
  for (const t of model.document.tensors) {
    const d = byName.get(t.dtype);
    assert.ok(d, `${t.dtype} is in the table`);
    if (t.numel && t.storage_bytes != null) assert.ok(t.storage_bytes >= t.numel * d.itemsize, `${t.path}: ${t.storage_bytes} bytes for ${t.numel} ${t.dtype}`);
  }
  model.close();
});

test('Node: files are read lazily, never whole', async () => {
  // A 1 GiB safetensors file, sparse on disk: opening reads its header, statistics stream.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-lazy-'));
  const file = writeSparseSafetensors(path.join(tmp, 'big.safetensors'), { w: [16384, 16384] });
  const src = fileSource(file);
  let read = 0;
  const counting = { ...src, read: (o, n) => ((read += n), src.read(o, n)) };
  try {
    const model = await open(counting);
    assert.ok(read <= 4 << 20, `opening read ${read} of ${src.size} bytes`);
    assert.deepEqual(model.document.tensors[0].shape, [16384, 16384]);
    const v = model.values('w', 8);
    assert.deepEqual(Array.from(v), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.ok(read <= 8 << 20, `values read ${read} bytes`);
    model.close();
  } finally {
    src.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('Node: a garbage input is an error, not a crash', async () => {
  await assert.rejects(open(new Uint8Array(1000).fill(7)), /./);
  const model = await open(fs.readFileSync(fixture('mlp_state_dict.pth')));
  assert.equal(model.document.kind, 'state_dict');
});

test('Node: health checklist of a checkpoint and of a file with faults', async () => {
  const adam = await open(fixture('cnn_checkpoint_adam.pt'));
  const progress = [];
  const h = adam.health({ onProgress: (done, total) => progress.push([done, total]) });
  assert.equal(h.status, 'ok', JSON.stringify(h.checks.filter((c) => c.status !== 'ok')));
  const optimizer = h.checks.find((c) => c.id === 'optimizer');
  assert.equal(optimizer.status, 'ok');
  assert.match(optimizer.detail, /^10 parameters/);
  // Progress is in bytes read: the state_dict's float32 elements times 4.
  const bytes = adam.document.state_dict.reduce((a, e) => a + adam.document.tensors[e.tensor].shape.reduce((x, y) => x * y, 1) * 4, 0);
  assert.equal(progress[0][1], bytes);
  adam.close();

  const nan = ramp(10);
  nan[3] = NaN;
  const faulty = await open({ name: 'faulty.safetensors', bytes: safetensors({ good: ramp(8, 0.5), bad: nan, zero: new Float32Array(6) }) });
  const checks = Object.fromEntries(faulty.health().checks.map((c) => [c.id, c]));
  assert.deepEqual([checks.nan.status, checks.nan.tensors], ['fail', ['bad']]);
  assert.deepEqual([checks.all_zero.status, checks.all_zero.tensors], ['warn', ['zero']]);
  assert.deepEqual(checks.inf.tensors, []);
  faulty.close();
});

test('Node: diff of two models; identical .bin and .safetensors, one changed tensor', async () => {
  const bin = await open(fixture('bert_tiny_pytorch_model.bin'));
  const st = await open(fixture('bert_tiny.safetensors'));
  let total = 0;
  const d = diff(bin, st, { onProgress: (done, t) => (total = t) });
  assert.deepEqual(d.counts, { same: 39 });
  assert.ok(d.entries.every((e) => e.max_abs_diff === 0 && e.cosine === 1));
  assert.ok(total > 0, 'progress was reported');

  const base = { a: ramp(100), b: ramp(50, 1), c: ramp(20) };
  const changed = ramp(50, 1);
  changed[7] += 0.5;
  const one = await open({ name: 'one.safetensors', bytes: safetensors(base) });
  const two = await open({ name: 'two.safetensors', bytes: safetensors({ ...base, b: changed, c: ramp(21), d: ramp(3) }) });
  const d2 = diff(one, two);
  assert.deepEqual(d2.counts, { same: 1, changed: 1, shape: 1, only_b: 1 });
  const changedEntry = d2.entries.find((e) => e.change === 'changed');
  assert.equal(changedEntry.key, 'b');
  assert.ok(close(changedEntry.max_abs_diff, 0.5, 1e-6));
  assert.ok(changedEntry.cosine < 1 && changedEntry.relative_change > 0);
  assert.equal(d2.entries[d2.entries.length - 1].change, 'same', 'most changed first');
  assert.throws(() => diff(one, {}), TypeError);
  two.close();
  assert.throws(() => diff(one, two), /closed/);
});

test('Node: check gives the verdict of any file, also one open refuses', async () => {
  const evil = new TextEncoder().encode("cos\nsystem\n(S'echo hi'\ntR.");
  await assert.rejects(open(evil), /not a model file/);
  const s = await check({ name: 'evil.pkl', bytes: evil });
  assert.equal(s.verdict, 'dangerous');
  assert.deepEqual(s.findings.map((f) => [f.global, f.opcode, f.member, f.offset, f.severity]), [['os.system', 'GLOBAL', 'evil.pkl', 0, 'dangerous']]);
  assert.match(s.findings[0].reason, /os/);
  assert.equal((await check(fixture('mlp_checkpoint.pt'))).verdict, 'safe');
  const known = await check(fixture('mlp_entire_model.pt'));
  assert.equal(known.verdict, 'unsafe_but_known');
  assert.ok(known.findings.some((f) => f.global === '__main__.Net'));
});

const ONNX = ['linear', 'mlp', 'cnn', 'bn', 'bert_tiny'];
/** The fixture's reference arrays of one kind (`input`, `output`), in order, as .npy bytes. */
const refs = (stem, kind) => {
  const out = [];
  for (let i = 0; fs.existsSync(fixture(`${stem}.${kind}${i}.npy`)); i++) out.push(fs.readFileSync(fixture(`${stem}.${kind}${i}.npy`)));
  return out;
};
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('Node engine: every ONNX fixture runs from its path and matches onnxruntime within 1e-4', async () => {
  for (const stem of ONNX) {
    const session = await loadModel(fixture(`${stem}.onnx`));
    const inputs = refs(stem, 'input');
    assert.equal(session.inputs.length, inputs.length, stem);
    const outputs = session.run(inputs);
    const want = refs(stem, 'output');
    assert.equal(outputs.length, want.length, stem);
    for (const [i, o] of outputs.entries()) {
      const wantArr = npyFloat32(want[i]);
      assert.deepEqual(o.shape, wantArr.shape, `${stem} output ${i}`);
      assert.ok(maxAbs(o.data, wantArr.data) <= 1e-4, `${stem} output ${i}: max abs error ${maxAbs(o.data, wantArr.data)}`);
      assert.equal(o.stats.count, o.data.length, `${stem}: statistics over every element`);
    }
    session.close();
    assert.throws(() => session.run(inputs), /closed/);
  }
  // This Node's choice of build: Node 20's V8 has no relaxed-simd unless asked (the test below).
  assert.equal(engineBuild(), WebAssembly.validate(new Uint8Array(RELAXED_PROBE)) ? 'relaxed' : 'simd');
});

test('Node engine: the relaxed-simd build runs every ONNX fixture within 1e-4 too', () => {
  // Where relaxed-simd is not on by default (Node 20), V8's flag turns it on in a child process.
  const flags = WebAssembly.validate(new Uint8Array(RELAXED_PROBE)) ? [] : ['--experimental-wasm-relaxed-simd'];
  const script = `
import fs from 'node:fs';
import { load, engineBuild } from ${JSON.stringify(path.join(ROOT, 'npm/engine-node.js'))};
const out = { build: engineBuild(), runs: [] };
for (const stem of ${JSON.stringify(ONNX)}) {
  const dir = ${JSON.stringify(path.dirname(fixture('mlp.onnx')))};
  const inputs = [];
  for (let i = 0; fs.existsSync(\`\${dir}/\${stem}.input\${i}.npy\`); i++) inputs.push(fs.readFileSync(\`\${dir}/\${stem}.input\${i}.npy\`));
  const session = await load(\`\${dir}/\${stem}.onnx\`);
  out.runs.push({ stem, outputs: session.run(inputs).map((o) => ({ shape: o.shape, data: Array.from(o.data) })) });
}
console.log(JSON.stringify(out));
`;
  const got = JSON.parse(execFileSync('node', [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 256 << 20 }));
  assert.equal(got.build, 'relaxed', 'the relaxed-simd build is the one loaded');
  assert.equal(got.runs.length, ONNX.length);
  for (const { stem, outputs } of got.runs) {
    const want = refs(stem, 'output');
    assert.equal(outputs.length, want.length, stem);
    for (const [i, o] of outputs.entries()) {
      const wantArr = npyFloat32(want[i]);
      assert.deepEqual(o.shape, wantArr.shape, `${stem} output ${i}`);
      assert.ok(maxAbs(o.data, wantArr.data) <= 1e-4, `${stem} output ${i} (relaxed-simd): max abs error ${maxAbs(o.data, wantArr.data)}`);
    }
  }
});

/** A float32 .npy (C order, little-endian) read here, apart from the engine's codec. */
function npyFloat32(input) {
  const bytes = Uint8Array.from(input);
  const len = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + len));
  assert.match(header, /'descr': '<f4'/);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((d) => d.trim()).filter(Boolean).map(Number);
  const data = new Float32Array(bytes.slice(10 + len).buffer);
  return { shape, data };
}

test('Node engine: a .pt2 runs within 1e-4 of torch, and compares with its ONNX export', async () => {
  const run = (name) => path.join(ROOT, 'tests/real/run', name);
  const pt2 = await loadModel(run('encoder.pt2'));
  const onnx = await loadModel(run('encoder.onnx'));
  assert.deepEqual(pt2.inputs.map((i) => i.name), ['x']);
  const feeds = [fs.readFileSync(run('encoder.in.x.npy'))];
  const [got] = pt2.run(feeds);
  assert.ok(maxAbs(got.data, npyFloat32(fs.readFileSync(run('encoder.out.0.npy'))).data) <= 1e-4, 'the .pt2 gives torch\'s output');
  onnx.run(feeds);
  const report = pt2.compare(onnx);
  assert.equal(report.verdict, 'match');
  assert.ok(report.outputs[0].max_abs <= 1e-4 && report.outputs[0].cosine > 0.99999, JSON.stringify(report));
  assert.equal(pt2.compare(onnx, 0).verdict, report.outputs[0].max_abs === 0 ? 'match' : 'differ');
  pt2.close();
  onnx.close();
});

test('Node engine: typed arrays in, .npy out, and errors that name what is wrong', async () => {
  const session = await loadModel(fixture('mlp.onnx'));
  const info = session.inputs[0];
  const x = npyFloat32(refs('mlp', 'input')[0]);
  const [o] = session.run({ [info.name]: { shape: x.shape, data: x.data } });
  assert.ok(o.data instanceof Float32Array);
  assert.ok(maxAbs(o.data, npyFloat32(refs('mlp', 'output')[0]).data) <= 1e-4);
  const npy = await toNpy(o);
  assert.deepEqual(npyFloat32(npy).data, o.data);
  assert.throws(() => session.run({}), /was not given/);
  assert.throws(() => session.run({ [info.name]: { shape: [1, 3], data: new Float32Array(3) } }), new RegExp(info.name));
  await assert.rejects(loadModel(new Uint8Array([8, 7, 0, 1, 2])), /protobuf|ONNX|truncated/i);
  session.close();
});

test('the core entry never loads the engine', () => {
  for (const f of ['npm/index.js', 'npm/node.js', 'npm/model.js']) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, f), 'utf8'), /engine/, `${f} imports nothing of the engine`);
  }
});

test('npm pack makes a package that installs and runs from the tarball', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' });
    const info = JSON.parse(out)[0];
    const files = info.files.map((f) => f.path);
    for (const f of ['npm/index.js', 'npm/node.js', 'npm/index.d.ts', 'npm/pkg/torchpeek_bg.wasm', 'npm/engine.js', 'npm/engine-node.js', 'npm/engine-session.js', 'npm/engine.d.ts', 'npm/pkg/engine-run.js', 'npm/pkg/engine-build.js', 'npm/pkg/typed-arrays.js', 'npm/pkg/torchpeek_engine_bg.wasm', 'npm/pkg/torchpeek_engine_relaxed_bg.wasm', 'package.json']) assert.ok(files.includes(f), `${f} is packed`);
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, info.filename)], { cwd: app, stdio: 'pipe' });
    fs.writeFileSync(path.join(app, 'main.mjs'), `
import fs from 'node:fs';
import { open } from 'torchpeek';
import { load } from 'torchpeek/engine';
const model = await open(process.argv[2]);
const [out] = (await load(process.argv[3])).run([fs.readFileSync(process.argv[4])]);
console.log(JSON.stringify({ kind: model.document.kind, keys: model.document.state_dict.map((e) => e.key), mean: model.stats('fc1.weight').mean, out: Array.from(out.data) }));
`);
    const got = JSON.parse(execFileSync('node', ['main.mjs', fixture('mlp_checkpoint.pt'), fixture('mlp.onnx'), fixture('mlp.input0.npy')], { cwd: app, encoding: 'utf8' }));
    assert.ok(maxAbs(got.out, npyFloat32(fs.readFileSync(fixture('mlp.output0.npy'))).data) <= 1e-4, 'the engine runs from the tarball');
    assert.equal(got.kind, 'checkpoint');
    assert.deepEqual(got.keys, ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    assert.ok(close(got.mean, manifest('mlp_checkpoint.pt').tensors[0].mean, 1e-6));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('browser: the package opens a Blob on the main thread', async () => {
  const h = await start({ root: ROOT, page: 'tests/e2e/npm-page.html' });
  try {
    const page = await h.newPage();
    await page.waitForFunction(() => window.result, null, { timeout: 30_000 });
    const r = await page.evaluate(() => window.result);
    assert.equal(r.error, undefined);
    assert.equal(r.kind, 'checkpoint');
    assert.deepEqual(r.keys, ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    const m = manifest('mlp_checkpoint.pt').tensors[0];
    assert.ok(close(r.stats.std, m.std, 1e-6));
    m.first.slice(0, 4).forEach((v, i) => assert.ok(close(r.first[i], v, 1e-6)));
    assert.equal(r.health, 'ok');
    assert.deepEqual(r.diff, { same: 4 });
    assert.equal(r.check.verdict, 'dangerous');
    assert.equal(r.check.findings[0].global, 'os.system');
    assert.deepEqual(r.float32, { name: 'float32', itemsize: 4, is_float: true, is_complex: false, is_integer: false, is_quantized: false, onnx: 'FLOAT' });
    assert.equal(r.engine.error, undefined);
    assert.ok(maxAbs(r.engine.out, npyFloat32(fs.readFileSync(fixture('mlp.output0.npy'))).data) <= 1e-4, 'the engine runs in the page');
    assert.equal(r.engine.coreOnly, true, 'opening a file fetched no engine');
    assert.equal(r.engine.build, 'relaxed', 'Chromium has relaxed-simd');
    assert.deepEqual(r.engine.fetched, ['torchpeek_engine_relaxed_bg.wasm'], 'only the build it runs is fetched');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

// Running ONNX models in the page, end to end in headless Debian chromium: every ONNX fixture runs on
// its reference inputs (given through the .npy input editor), and each output, downloaded as .npy,
// matches onnxruntime's reference within 1e-4. The engine is not fetched until a model is run, an
// unsupported operator is named before any run, and nothing leaves 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, openFiles, fixture, npyFixtures, readNpy, FIXTURES, OUT } from './harness.mjs';

const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

/**
 * What the Run panel shows as an output's statistics (the core's: min, max and mean over finite
 * values, the sample std, NaN and Inf counts), computed here from the values.
 */
function expectedStats(values) {
  const all = Array.from(values, Number);
  const finite = all.filter(Number.isFinite);
  const n = finite.length;
  const mean = n ? finite.reduce((a, b) => a + b, 0) / n : null;
  const std = n > 1 ? Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : null;
  return {
    min: n ? finite.reduce((a, b) => Math.min(a, b)) : null, max: n ? finite.reduce((a, b) => Math.max(a, b)) : null, mean, std,
    nan: all.filter(Number.isNaN).length, inf: all.filter((v) => v === Infinity || v === -Infinity).length,
  };
}

/** The statistics an output's view shows, `{stat: number | null}` ('–' is null; absent counts are 0). */
async function shownStats(output) {
  const shown = await output.locator('dd[data-stat]').evaluateAll((dds) => dds.map((d) => [d.dataset.stat, d.textContent]));
  const num = (t) => (t === '–' ? null : Number(t.replace(/,/g, '')));
  return { nan: 0, inf: 0, ...Object.fromEntries(shown.map(([k, t]) => [k, num(t)])) };
}

/**
 * Shown statistics against expected ones: 5 or 6 significant digits are shown, closer than a
 * population std is to the sample std for these outputs' sizes (1 to 1,024 values).
 */
function checkStats(got, want, what) {
  for (const k of ['min', 'max', 'mean', 'std', 'nan', 'inf']) {
    if (want[k] === null) assert.equal(got[k], null, `${what}: ${k}`);
    else assert.ok(Math.abs(got[k] - want[k]) <= 1e-4 * Math.abs(want[k]) + 1e-9, `${what}: ${k} shown ${got[k]}, want ${want[k]}`);
  }
}

const onnxFixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx')).sort();
const current = () => page.locator('#models > article:not([hidden])');

// The page's threads do not load the engine before a run (the service worker fetches it into the
// offline copy at install, in the background: `pageRequests` leaves its requests out).
test('opening an ONNX model does not fetch the engine', async () => {
  await openFiles(page, onnxFixtures[0]);
  await current().locator('[role=tab][data-section="run"]').click();
  await current().locator('.run-panel').waitFor();
  assert.ok(!h.pageRequests.some((u) => /engine/.test(u)), `engine requested before a run: ${h.pageRequests.filter((u) => /engine/.test(u))}`);
});

for (const name of onnxFixtures) {
  const stem = name.replace(/\.onnx$/, '');
  test(`${name} runs in the page and matches onnxruntime`, async () => {
    const model = (await openFiles(page, name)).last();
    await model.locator('[role=tab][data-section="run"]').click();
    const panel = model.locator('.run-panel');
    const inputs = panel.locator('.run-input');
    const n = await inputs.count();
    assert.ok(n >= 1, 'an editor per input');
    for (let i = 0; i < n; i++) {
      const editor = inputs.nth(i);
      await editor.locator('select').selectOption('npy');
      await editor.locator('input[type=file]').setInputFiles(fixture(`${stem}.input${i}.npy`));
      const ref = readNpy(fixture(`${stem}.input${i}.npy`));
      await editor.locator('.input-options', { hasText: `[${ref.shape.join(', ')}]` }).waitFor({ timeout: 60_000 });
    }
    const runsBefore = await page.evaluate(() => window.__torchpeek.runs?.length ?? 0);
    await panel.locator('.run-button').click();
    await page.waitForFunction((k) => (window.__torchpeek.runs?.length ?? 0) > k, runsBefore, { timeout: 120_000 });
    const outputs = panel.locator('.run-output');
    const refs = npyFixtures(stem, 'output');
    assert.equal(await outputs.count(), refs.length, 'one view per reference output');
    for (let j = 0; j < refs.length; j++) {
      const [download] = await Promise.all([page.waitForEvent('download'), outputs.nth(j).getByRole('button', { name: /Download/ }).click()]);
      const got = readNpy(await download.path());
      const want = readNpy(fixture(`${stem}.output${j}.npy`));
      assert.deepEqual(got.shape, want.shape, `${stem} output ${j}: shape`);
      let err = 0;
      for (let k = 0; k < want.values.length; k++) err = Math.max(err, Math.abs(got.values[k] - want.values[k]));
      assert.ok(err <= 1e-4, `${stem} output ${j}: max abs error ${err}`);
      const shown = await outputs.nth(j).locator('.shape').textContent();
      assert.equal(shown, `[${want.shape.join(', ')}]`);
      // The statistics shown are the core's over the output's values.
      checkStats(await shownStats(outputs.nth(j)), expectedStats(got.values), `${stem} output ${j}`);
    }
    // Chromium has relaxed-simd: the worker runs that build of the engine (www/workers/engine-build.js).
    assert.ok(h.pageRequests.some((u) => u.endsWith('torchpeek_engine_relaxed_bg.wasm')), 'the engine worker asked for the relaxed-simd engine');
    assert.ok(!h.pageRequests.some((u) => u.endsWith('torchpeek_engine_bg.wasm')), 'and not for the other build');
  });
}

// A minimal ONNX model (protobuf written by hand): Y = op(X), X and Y float vectors of `length`.
function oneOpModel(op, length) {
  const varint = (n) => {
    const out = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const field = (num, bytes) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
  const str = (num, s) => field(num, [...Buffer.from(s)]);
  const int = (num, v) => [...varint(num << 3), ...varint(v)];
  const valueInfo = (name) => [...str(1, name), ...field(2, field(1, [...int(1, 1), ...field(2, field(1, int(1, length)))]))];
  const node = [...str(1, 'X'), ...str(2, 'Y'), ...str(3, 'the_node'), ...str(4, op)];
  const graph = [...field(1, node), ...str(2, 'g'), ...field(11, valueInfo('X')), ...field(12, valueInfo('Y'))];
  return Buffer.from([...int(1, 8), ...field(8, int(2, 17)), ...field(7, graph)]);
}

test('an unsupported operator is named before any run', async () => {
  const file = path.join(OUT, 'unsupported.onnx');
  fs.writeFileSync(file, oneOpModel('FrobnicateV9', 2));
  const model = (await openFiles(page, file)).last();
  await model.locator('[role=tab][data-section="run"]').click();
  const panel = model.locator('.run-panel');
  await panel.getByRole('button', { name: 'Check operators' }).click();
  const status = panel.locator('.run-status.error-text');
  await status.waitFor({ timeout: 60_000 });
  const text = await status.textContent();
  assert.match(text, /FrobnicateV9/);
  assert.match(text, /the_node/);
  assert.match(text, /17/);
  // Run gives the same error, and never hangs.
  await panel.locator('.run-button').click();
  await panel.locator('.run-status.error-text', { hasText: 'FrobnicateV9' }).waitFor({ timeout: 30_000 });
});

/** A float32 vector as a .npy file. */
function npyFloat32(values) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY\x01\x00', 'latin1');
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(values).buffer)]);
}

test("an output's NaN and Inf are counted apart; min, max, mean, sample std over the finite values", async () => {
  // sqrt([-1, 4, 0, 9, inf]) = [NaN, 2, 0, 3, inf]: finite 2, 0, 3 (mean 5/3, sample std sqrt(7/3)).
  const file = path.join(OUT, 'sqrt.onnx');
  fs.writeFileSync(file, oneOpModel('Sqrt', 5));
  const npy = path.join(OUT, 'sqrt.input0.npy');
  fs.writeFileSync(npy, npyFloat32([-1, 4, 0, 9, Infinity]));
  const model = (await openFiles(page, file)).last();
  await model.locator('[role=tab][data-section="run"]').click();
  const panel = model.locator('.run-panel');
  const editor = panel.locator('.run-input').first();
  await editor.locator('select').selectOption('npy');
  await editor.locator('input[type=file]').setInputFiles(npy);
  await editor.locator('.input-options', { hasText: '[5]' }).waitFor({ timeout: 60_000 });
  const runs = await page.evaluate(() => window.__torchpeek.runs?.length ?? 0);
  await panel.locator('.run-button').click();
  await page.waitForFunction((k) => (window.__torchpeek.runs?.length ?? 0) > k, runs, { timeout: 120_000 });
  const out = panel.locator('.run-output').first();
  const want = { min: 0, max: 3, mean: 5 / 3, std: Math.sqrt(7 / 3), nan: 1, inf: 1 };
  checkStats(expectedStats([NaN, 2, 0, 3, Infinity]), want, 'expectedStats');
  checkStats(await shownStats(out), want, 'sqrt');
  assert.equal(await out.locator('dd[data-stat="std"]').textContent(), '1.52753');
});

test('random, token and image inputs; screenshots light and dark', async () => {
  const model = (await openFiles(page, 'bert_tiny.onnx')).last();
  await model.locator('[role=tab][data-section="run"]').click();
  const panel = model.locator('.run-panel');
  assert.equal(await panel.locator('select[data-input="input_ids"]').inputValue(), 'tokens');
  // A token id beyond the vocabulary: refused before the run, naming the input, the value and the table.
  const ids = panel.locator('textarea');
  await ids.fill('1, 5, 100000');
  await panel.locator('.run-button').click();
  const refused = panel.locator('.run-status.error-text', { hasText: 'out of range' });
  await refused.waitFor({ timeout: 60_000 });
  assert.match(await refused.textContent(), /input_ids.*100000.*Gather.*rows/s);
  await ids.fill('1, 5, 9, 2');
  await panel.locator('input[data-symbol="batch"]').fill('2');
  const runs = await page.evaluate(() => window.__torchpeek.runs?.length ?? 0);
  await panel.locator('.run-button').click();
  await page.waitForFunction((k) => (window.__torchpeek.runs?.length ?? 0) > k, runs, { timeout: 120_000 });
  const last = await page.evaluate(() => window.__torchpeek.runs.at(-1));
  assert.deepEqual(last.outputs[0].shape, [2, 16, 64], 'batch 2 from the symbolic dimension');

  const cnn = (await openFiles(page, 'cnn.onnx')).last();
  await cnn.locator('[role=tab][data-section="run"]').click();
  const cpanel = cnn.locator('.run-panel');
  const editor = cpanel.locator('.run-input').first();
  await editor.locator('select').selectOption('image');
  // A 40x30 PNG drawn in the page.
  const png = await page.evaluate(async () => {
    const c = new OffscreenCanvas(40, 30);
    const g = c.getContext('2d');
    g.fillStyle = '#c24';
    g.fillRect(0, 0, 40, 30);
    g.fillStyle = '#2a8';
    g.fillRect(10, 5, 20, 20);
    const blob = await c.convertToBlob({ type: 'image/png' });
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  });
  const img = path.join(OUT, 'input.png');
  fs.writeFileSync(img, Buffer.from(png));
  await editor.locator('input[type=file]').setInputFiles(img);
  const before = await page.evaluate(() => window.__torchpeek.runs.length);
  await cpanel.locator('.run-button').click();
  await page.waitForFunction((k) => window.__torchpeek.runs.length > k, before, { timeout: 120_000 });
  const out = cpanel.locator('.run-output').first();
  await out.locator('.topk').waitFor();
  assert.equal(await out.locator('.topk tbody tr').count(), 5, 'top-5 of a classifier output');
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await cpanel.screenshot({ path: path.join(OUT, `onnx-run-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
});

test('no request left 127.0.0.1, and no page errors', () => {
  assert.deepEqual(h.foreign(), []);
  assert.deepEqual(h.errors, []);
});

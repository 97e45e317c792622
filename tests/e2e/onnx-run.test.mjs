// Running ONNX models in the page, end to end in headless Debian chromium: every ONNX fixture runs on
// its reference inputs (given through the .npy input editor), and each output, downloaded as .npy,
// matches onnxruntime's reference within 1e-4. The engine is not fetched until a model is run, an
// unsupported operator is named before any run, and nothing leaves 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, openFiles, fixture, npyFixtures, FIXTURES, OUT } from './harness.mjs';

const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

/** A float32 or int64 .npy file (C order, little-endian) as {shape, values}. */
function readNpy(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 6).toString('latin1'), 'NUMPY', `${file} is a .npy`);
  const headerLen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = b[6] === 1 ? 10 : 12;
  const header = b.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  assert.match(header, /'fortran_order':\s*False/);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = b.subarray(start + headerLen);
  const data = new Uint8Array(body).buffer;
  const values = { '<f4': () => new Float32Array(data), '<i8': () => Array.from(new BigInt64Array(data), Number) }[descr]?.();
  assert.ok(values, `${file}: dtype ${descr}`);
  return { descr, shape, values };
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
    }
    assert.ok(h.pageRequests.some((u) => u.endsWith('torchpeek_engine_bg.wasm')), 'the engine worker asked for the engine');
  });
}

// A minimal ONNX model with one operator no engine knows (protobuf written by hand).
function unsupportedModel() {
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
  const valueInfo = (name) => [...str(1, name), ...field(2, field(1, [...int(1, 1), ...field(2, field(1, int(1, 2)))]))];
  const node = [...str(1, 'X'), ...str(2, 'Y'), ...str(3, 'the_node'), ...str(4, 'FrobnicateV9')];
  const graph = [...field(1, node), ...str(2, 'g'), ...field(11, valueInfo('X')), ...field(12, valueInfo('Y'))];
  return Buffer.from([...int(1, 8), ...field(8, int(2, 17)), ...field(7, graph)]);
}

test('an unsupported operator is named before any run', async () => {
  const file = path.join(OUT, 'unsupported.onnx');
  fs.writeFileSync(file, unsupportedModel());
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

// The page, end to end, in headless Debian chromium: real fixtures through the real file input.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { start, openFiles, findRow, manifest, fixture, close, OUT } from './harness.mjs';

// Anything not for our server is refused and remembered (the test at the end fails on it).
const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

const current = () => page.locator('#models > article:not([hidden])');
const shapeText = (s) => `[${s.join(', ')}]`;

async function selectTensor(key) {
  const row = await findRow(page, key);
  await row.click();
  const panel = current().locator('.tensor-panel');
  await panel.locator('.tensor-name', { hasText: key }).waitFor();
  await panel.locator('[data-stat="mean"], [data-stat="min"]').first().waitFor({ timeout: 30_000 });
  return panel;
}

async function statsOf(panel) {
  return panel.locator('.stats-grid > div').evaluateAll((divs) =>
    Object.fromEntries(divs.map((d) => [d.dataset.stat, d.dataset.value])));
}

function checkStats(got, want, rel) {
  const num = (v) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));
  for (const k of ['min', 'max', 'mean', 'std', 'sum', 'abs_sum']) {
    if (want[k] == null || (k === 'std' && want.numel < 2)) continue;
    // The spec takes min and max over finite values; torch lets NaN and Inf through.
    if ((k === 'min' || k === 'max') && (want.nan_count || want.inf_count)) continue;
    assert.ok(close(num(got[k]), num(want[k]), rel), `${want.path.join('.')}: ${k} is ${got[k]}, torch says ${want[k]}`);
  }
  assert.equal(Number(got.nan_count), want.nan_count, `${want.path.join('.')}: nan_count`);
  assert.equal(Number(got.inf_count), want.inf_count, `${want.path.join('.')}: inf_count`);
}

test('a state_dict shows every key with its shape and dtype (bert_tiny .bin)', async () => {
  const m = manifest('bert_tiny_pytorch_model.bin');
  const model = await openFiles(page, 'bert_tiny_pytorch_model.bin');
  assert.equal(await model.locator('[data-fact="format"]').innerText(), 'torch-zip');
  assert.equal(await model.locator('[data-fact="tensors"]').innerText(), String(m.tensors.length));
  assert.equal(await model.locator('.verdict').getAttribute('data-verdict'), 'safe');
  for (const t of m.tensors) {
    const row = await findRow(page, t.path.join('.'));
    assert.equal(await row.locator('.shape').innerText(), shapeText(t.shape), t.path.join('.'));
    assert.equal(await row.locator('.dtype').innerText(), t.dtype);
  }
  await model.locator('input.filter').fill('');
  await page.screenshot({ path: path.join(OUT, 'bert-tiny.png') });
});

test('statistics in the worker match torch (bert_tiny, views, dtypes)', async () => {
  let m = manifest('bert_tiny_pytorch_model.bin');
  for (const t of m.tensors.slice(0, 6)) checkStats(await statsOf(await selectTensor(t.path.join('.'))), { ...t, numel: t.numel }, 1e-4);

  m = manifest('views.pt');
  await openFiles(page, 'views.pt');
  for (const t of m.tensors) {
    const panel = await selectTensor(t.path.join('.'));
    checkStats(await statsOf(panel), t, 1e-4);
    // The preview starts with torch's first values, row-major through the view.
    const first = await panel.locator('.values-table td:not(.muted)').allInnerTexts();
    for (let i = 0; i < Math.min(first.length, t.first.length); i++) assert.ok(close(Number(first[i]), t.first[i], 1e-3), `${t.path}: value ${i}`);
  }
  const shared = await findRow(page, 'tied_b');
  assert.match(await shared.innerText(), /tied|shared/);

  m = manifest('dtypes.pt');
  await openFiles(page, 'dtypes.pt');
  for (const t of m.tensors) {
    if (t.dtype.startsWith('complex') || t.qscheme || t.numel === 0) continue;
    const rel = /16/.test(t.dtype) ? 1e-3 : 1e-4;
    checkStats(await statsOf(await selectTensor(t.path.join('.'))), t, rel);
  }
  await page.screenshot({ path: path.join(OUT, 'views.png') });
});

// torch's element sizes (`torch.empty(0, dtype=d).element_size()`), to check the table the page gets.
const TORCH_ITEMSIZE = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, float8_e4m3fn: 1, float8_e5m2: 1, int64: 8, int32: 4, int16: 2, int8: 1,
  uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1, complex128: 16, complex64: 8, complex32: 4, qint8: 1, quint8: 1, qint32: 4,
  quint4x2: 1,
};

test('the page takes its dtype facts from the wasm: sizes, kinds, ONNX names, integer formatting', async () => {
  const m = manifest('dtypes.pt');
  await openFiles(page, 'dtypes.pt');
  // The table came with the document (worker.js -> client.js -> page/dtypes.js); the page has no copy.
  const names = [...new Set([...m.tensors.map((t) => t.dtype), ...Object.keys(TORCH_ITEMSIZE)])];
  const got = await page.evaluate(async (names) => {
    const d = await import(new URL('page/dtypes.js', location.href).href);
    let unknown = null;
    try {
      d.dtype('float33');
    } catch (e) {
      unknown = e.message;
    }
    return {
      facts: Object.fromEntries(names.map((n) => [n, d.dtype(n)])),
      onnx: ['FLOAT', 'DOUBLE', 'INT64', 'UINT8', 'BOOL', 'FLOAT16', 'BFLOAT16', 'STRING'].map(d.fromOnnx),
      unknown,
    };
  }, names);
  for (const [n, size] of Object.entries(TORCH_ITEMSIZE)) assert.equal(got.facts[n].itemsize, size, `${n}: itemsize`);
  for (const n of names) {
    const f = got.facts[n];
    assert.equal(f.name, n);
    assert.equal(f.is_float, /^(b?float)/.test(n), `${n}: is_float`);
    assert.equal(f.is_complex, n.startsWith('complex'), `${n}: is_complex`);
    assert.equal(f.is_integer, /^u?int\d+$/.test(n), `${n}: is_integer`);
    assert.equal(f.is_quantized, n.startsWith('q'), `${n}: is_quantized`);
  }
  assert.deepEqual(got.onnx, ['float32', 'float64', 'int64', 'uint8', 'bool', 'float16', 'bfloat16', null]);
  assert.match(got.unknown, /unknown dtype float33/);
  // Integers are shown whole (the table's is_integer), floats to 6 digits.
  const int64 = m.tensors.find((t) => t.dtype === 'int64');
  const panel = await selectTensor(int64.path.join('.'));
  const shown = await panel.locator('.values-table td:not(.muted)').allInnerTexts();
  assert.deepEqual(shown.slice(0, 4), int64.first.slice(0, 4).map(String));
});

test("a checkpoint's epoch, loss and optimizer appear", async () => {
  const model = await openFiles(page, 'mlp_checkpoint.pt');
  assert.equal(await model.locator('[data-fact="kind"]').innerText(), 'checkpoint');
  assert.equal(await model.locator('[data-scalar="epoch"] .scalar-value').innerText(), '10');
  assert.equal(await model.locator('[data-scalar="loss"] .scalar-value').innerText(), '0.55');
  for (const key of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) await findRow(page, key);
  await model.locator('[role="tab"][data-section="optimizer"]').click();
  const groups = model.locator('table.param-groups');
  assert.equal(await groups.locator('td[data-col="lr"]').innerText(), '0.001');
  assert.equal(await groups.locator('td[data-col="momentum"]').innerText(), '0.9');
  const state = model.locator('table.param-state');
  assert.match(await state.innerText(), /fc1\.weight[\s\S]*fc2\.bias/);
  assert.match(await state.locator('caption').innerText(), /mapped to state_dict names/);
  await page.screenshot({ path: path.join(OUT, 'checkpoint-optimizer.png') });

  const adam = await openFiles(page, 'cnn_checkpoint_adam.pt');
  assert.equal(await adam.locator('[data-scalar="epoch"] .scalar-value').innerText(), '5');
  await adam.locator('[role="tab"][data-section="optimizer"]').click();
  assert.equal(await adam.locator('table.param-groups td[data-col="betas"]').innerText(), '(0.9, 0.999)');
  assert.match(await adam.locator('table.param-state').innerText(), /conv1\.weight/);

  // A loss saved as a tensor is read from the file.
  const tl = manifest('mlp_checkpoint_tensor_loss.pt');
  const loss = tl.tensors.find((t) => t.path.length === 1 && t.path[0] === 'loss');
  const withTensor = await openFiles(page, 'mlp_checkpoint_tensor_loss.pt');
  const value = withTensor.locator('[data-scalar="loss"] .scalar-value');
  await page.waitForFunction((el) => el.textContent !== '…', await value.elementHandle());
  if (loss) assert.ok(close(Number(await value.innerText()), loss.first[0], 1e-4));

  // Other parts (scheduler, args) are readable in the contents tree.
  const misc = await openFiles(page, 'cnn_checkpoint_misc.pth');
  await misc.locator('[role="tab"][data-section="contents"]').click();
  assert.match(await misc.locator('.contents').innerText(), /scheduler/);
  await page.screenshot({ path: path.join(OUT, 'checkpoint-contents.png') });
});

test('whole modules and TorchScript show their module tree', async () => {
  const m = manifest('mlp_entire_model.pt');
  const model = await openFiles(page, 'mlp_entire_model.pt');
  assert.equal(await model.locator('.verdict').getAttribute('data-verdict'), 'unsafe_but_known');
  await model.locator('[role="tab"][data-section="modules"]').click();
  const text = await model.locator('.section-modules').innerText();
  for (const mod of m.modules ?? []) if (mod.path.length) assert.ok(text.includes([].concat(mod.path).pop()), String(mod.path));
  const ts = await openFiles(page, 'mlp_scripted.pt');
  await ts.locator('[role="tab"][data-section="code"]').click();
  assert.match(await ts.locator('pre.code').innerText(), /def forward/);
  await page.screenshot({ path: path.join(OUT, 'torchscript-code.png') });
});

test('a sharded checkpoint and its index open as one model', async () => {
  const model = await openFiles(page, ['pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']);
  assert.equal(await model.locator('[data-fact="format"]').innerText(), 'sharded');
  const n = manifest('pytorch_model-00001-of-00002.bin').tensors.length + manifest('pytorch_model-00002-of-00002.bin').tensors.length;
  assert.equal(await model.locator('[data-fact="tensors"]').innerText(), String(n));
});

test('a garbage file and a hostile file show what they are, and the page opens the next file', async () => {
  const garbage = path.join(OUT, 'garbage.bin');
  fs.writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
  const card = await openFiles(page, garbage);
  assert.equal(await card.getAttribute('role'), 'alert');
  assert.match(await card.innerText(), /Could not open garbage\.bin/);

  // A pickle that would run os.system when torch.load-ed: the verdict says so, nothing runs.
  const hostile = path.join(OUT, 'hostile.pt');
  execFileSync('python3', ['-c', `
import pickle, zipfile
class Evil:
    def __reduce__(self):
        import os
        return (os.system, ('echo pwned',))
with zipfile.ZipFile(${JSON.stringify(hostile)}, 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps({'weight': Evil()}, protocol=2))
    z.writestr('archive/version', '3\\n')
`]);
  const bad = await openFiles(page, hostile);
  assert.equal(await bad.locator('.verdict').getAttribute('data-verdict'), 'dangerous');
  assert.match(await bad.locator('.findings').innerText(), /system/);
  await page.screenshot({ path: path.join(OUT, 'hostile.png') });

  const next = await openFiles(page, 'mlp_state_dict.pth');
  assert.equal(await next.locator('[data-fact="kind"]').innerText(), 'state dict');
  await findRow(page, 'fc1.weight');
});

test('statistics of a big tensor show progress and can be cancelled; the page goes on', async () => {
  // 1 GiB of float32 (a hole on disk) and a small tensor after it, in one safetensors file.
  const file = path.join(OUT, 'big.safetensors');
  const big = 1 << 30;
  let header = JSON.stringify({ big: { dtype: 'F32', shape: [16384, 16384], data_offsets: [0, big] }, small: { dtype: 'F32', shape: [4], data_offsets: [big, big + 16] } });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const head = Buffer.alloc(8 + header.length);
  head.writeBigUInt64LE(BigInt(header.length));
  head.write(header, 8);
  fs.writeFileSync(file, head);
  fs.truncateSync(file, head.length + big + 16);
  try {
    const model = await openFiles(page, file);
    const row = await findRow(page, 'big');
    await row.click();
    const panel = model.locator('.tensor-panel');
    // Its size from the dtype table: 2^28 float32 elements of 4 bytes.
    assert.match(await panel.locator('button.compute-stats').innerText(), /reads 1\.07 GB\)/);
    await panel.locator('button.compute-stats').click();
    const bar = panel.locator('progress');
    await bar.waitFor({ timeout: 10_000 });
    await page.waitForFunction((el) => el.value > 0, await bar.elementHandle(), { timeout: 30_000 });
    await page.screenshot({ path: path.join(OUT, 'progress.png') });
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await panel.getByText('Cancelled.').waitFor();
    // The worker was replaced and the file re-opened in it: the next tensor reads at once.
    const small = await selectTensor('small');
    assert.equal((await statsOf(small)).sum, '0');
  } finally {
    fs.rmSync(file, { force: true });
  }
});

/** A downloaded .npy file: its header's dictionary text and its data as a Float32Array. */
async function savedNpy(download, name) {
  const file = path.join(OUT, name);
  await download.saveAs(file);
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
  const hl = b.readUInt16LE(8);
  assert.equal((10 + hl) % 64, 0, 'the header is padded to 64 bytes');
  const head = b.subarray(10, 10 + hl).toString();
  return { head, data: new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length)) };
}

test('export: a tensor as .npy and the state_dict as .safetensors, converted in the worker', async () => {
  const { open } = await import('../../npm/node.js');
  // A transposed view: the .npy holds its elements in row-major order of the view.
  await openFiles(page, 'views.pt');
  const want = manifest('views.pt').tensors.find((t) => t.path[0] === 't');
  const panel = await selectTensor('t');
  const [npy] = await Promise.all([page.waitForEvent('download'), panel.locator('button.export-npy').click()]);
  const t = await savedNpy(npy, 't.npy');
  assert.match(t.head, /'descr': '<f4'/);
  assert.match(t.head, /'shape': \(6, 4\)/);
  assert.equal(t.data.length, 24);
  want.first.forEach((v, i) => assert.equal(t.data[i], v));

  // bfloat16, which NumPy lacks, comes out as float32 with the same values; the button works from the keyboard.
  await openFiles(page, 'dtypes.pt');
  const bf = manifest('dtypes.pt').tensors.find((x) => x.path[0] === 'bfloat16');
  const bfPanel = await selectTensor('bfloat16');
  assert.equal(await (await findRow(page, 'bfloat16')).locator('.dtype').innerText(), 'bfloat16', "torch's dtype name");
  await bfPanel.locator('button.export-npy').focus();
  const [bfNpy] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  const b = await savedNpy(bfNpy, 'bfloat16.npy');
  assert.match(b.head, /'descr': '<f4'/);
  assert.match(b.head, /'shape': \(3, 4\)/);
  bf.first.forEach((v, i) => assert.equal(b.data[i], v));
  await current().locator('.export-status', { hasText: 'written as float32' }).waitFor();

  const model = await openFiles(page, 'bert_tiny_pytorch_model.bin');
  const [st] = await Promise.all([page.waitForEvent('download'), model.locator('button.export-safetensors').click()]);
  const out = path.join(OUT, 'bert_tiny.safetensors');
  await st.saveAs(out);
  await model.locator('.export-status', { hasText: 'Saved' }).waitFor();
  const m = manifest('bert_tiny_pytorch_model.bin');
  const back = await open(out);
  try {
    assert.equal(back.document.format, 'safetensors');
    assert.equal(back.document.state_dict.length, m.tensors.length);
    for (const t of m.tensors) {
      const s = back.stats(t.path.join('.'));
      assert.ok(close(Number(s.sum), t.sum, 1e-6), `${t.path}: sum after the round trip`);
      assert.deepEqual(back.document.tensors[back.tensorIndex(t.path.join('.'))].shape, t.shape);
    }
  } finally {
    back.close();
  }
});

test('keyboard: the filter and the tree are usable without a mouse', async () => {
  await openFiles(page, 'bert_tiny_pytorch_model.bin');
  const model = current();
  await page.keyboard.press('/');
  await page.keyboard.type('attention.output.dense.weight');
  await page.keyboard.press('Enter');
  for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await model.locator('.tensor-panel .tensor-name', { hasText: 'attention.output.dense.weight' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'keyboard.png') });
});

test('dark mode renders', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openFiles(page, 'cnn_checkpoint_adam.pt');
  await selectTensor('conv2.weight');
  await page.screenshot({ path: path.join(OUT, 'dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
});

test('two files picked together open side by side; a dropped file opens too', async () => {
  await openFiles(page, ['mlp_checkpoint.pt', 'bn_state_dict.pt']);
  // The second group's tab appears once the first has opened (tabs of earlier tests are open too,
  // so a count of articles would not wait for it).
  await page.locator('#file-tabs [role="tab"]', { hasText: 'bn_state_dict.pt' }).waitFor();
  await page.waitForFunction(() => !document.querySelector('#models > article.opening'));
  const tabs = await page.locator('#file-tabs [role="tab"]').allInnerTexts();
  assert.ok(tabs.includes('mlp_checkpoint.pt') && tabs.includes('bn_state_dict.pt'), tabs.join(', '));

  const bytes = [...fs.readFileSync(fixture('mlp_weights.bin'))];
  await page.evaluate((b) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(b)], 'dropped.bin'));
    for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.locator('#file-tabs [role="tab"][aria-selected="true"]', { hasText: 'dropped.bin' }).waitFor();
  await current().locator('.tree-row').first().waitFor();
  assert.equal(await page.locator('#drop-overlay').isHidden(), true);
});

// The installed copy (the service worker, offline use, new builds): tests/e2e/offline.test.mjs.

test('no request leaves 127.0.0.1, and the page logged no errors', async () => {
  assert.deepEqual(h.foreign(), []);
  assert.ok(h.requests.some((u) => u.endsWith('.wasm')), 'the wasm was loaded from the server');
  assert.deepEqual(h.errors, []);
});

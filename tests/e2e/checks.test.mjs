// The page's checks, end to end in headless Debian chromium through the real file input: the
// health checklist, the comparison of two models, and the safety scan of a file that cannot open.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, openFiles, OUT } from './harness.mjs';
import { writeSafetensors, writeSparseSafetensors, ramp } from '../../gen/make-safetensors.mjs';

const DIR = path.join(OUT, 'checks');
fs.mkdirSync(DIR, { recursive: true });
const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

/** Screenshots in light and dark. */
async function shoot(name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: path.join(OUT, `${name}-dark.png`) });
  await page.emulateMedia({ colorScheme: 'light' });
}

async function healthOf(model) {
  await model.locator('[role="tab"][data-section="health"]').click();
  await model.locator('.health-summary').waitFor({ timeout: 30_000 });
  return model.locator('.health');
}

const checkItem = (health, id) => health.locator(`li.check[data-check="${id}"]`);
const listed = (item) => item.locator('.check-tensors .tensor-link').allInnerTexts();

test('health: a checkpoint with Adam state passes every check, the optimizer mapped to its parameters', async () => {
  const model = await openFiles(page, 'cnn_checkpoint_adam.pt');
  const health = await healthOf(model);
  assert.equal(await health.locator('.health-summary').getAttribute('data-status'), 'ok');
  const statuses = await health.locator('li.check').evaluateAll((els) => els.map((e) => [e.dataset.check, e.dataset.status]));
  assert.ok(statuses.length >= 10, JSON.stringify(statuses));
  assert.deepEqual(statuses.filter(([, s]) => s !== 'ok'), []);
  assert.match(await checkItem(health, 'optimizer').innerText(), /10 parameters' state matches their shapes/);
  assert.match(await checkItem(health, 'dtype_mix').innerText(), /float32: 62,?006 elements/);
  await shoot('health-ok');
});

test('health: NaN and all-zero tensors are listed, and each links to the tensor in the tree', async () => {
  const nan = ramp(12, -1, 0.1);
  nan[5] = NaN;
  const inf = ramp(6);
  inf[2] = -Infinity;
  const file = writeSafetensors(path.join(DIR, 'faulty.safetensors'), {
    'layer.weight': ramp(32, 0.5),
    'layer.bad': nan,
    'layer.zero': new Float32Array(16),
    'layer.huge': Float32Array.from([1, 2e6, 3]),
    'head.inf': inf,
  });
  const model = await openFiles(page, file);
  const health = await healthOf(model);
  assert.equal(await health.locator('.health-summary').getAttribute('data-status'), 'fail');
  const item = (id) => checkItem(health, id);
  assert.equal(await item('nan').getAttribute('data-status'), 'fail');
  assert.deepEqual(await listed(item('nan')), ['layer.bad']);
  assert.deepEqual(await listed(item('inf')), ['head.inf']);
  assert.equal(await item('all_zero').getAttribute('data-status'), 'warn');
  await item('all_zero').locator('summary').click();
  assert.deepEqual(await listed(item('all_zero')), ['layer.zero']);
  await item('extreme').locator('summary').click();
  assert.deepEqual(await listed(item('extreme')), ['layer.huge']);
  assert.equal(await item('constant').getAttribute('data-status'), 'ok');
  assert.match(await item('nan').innerText(), /1 tensor holds NaN/);
  await shoot('health-faults');

  // A link selects the tensor in the weights tree and shows it, by keyboard too.
  await item('nan').locator('.tensor-link').focus();
  await page.keyboard.press('Enter');
  assert.equal(await model.locator('[role="tab"][data-section="weights"]').getAttribute('aria-selected'), 'true');
  await model.locator('.tensor-panel .tensor-name', { hasText: 'layer.bad' }).waitFor();
  await model.locator('.tree-row[aria-selected="true"][data-key="layer.bad"]').waitFor();
  assert.equal(await model.locator('.tensor-panel [data-stat="nan_count"]').getAttribute('data-value'), '1');
});

/** Opens the comparison, picks A and B by tab label, runs it; returns the table's rows. */
async function compare(a, b) {
  await page.locator('#compare-button').click();
  const view = page.locator('#models > article.compare');
  await view.waitFor();
  await view.locator('#diff-a').selectOption({ label: a });
  await view.locator('#diff-b').selectOption({ label: b });
  await view.locator('.run-diff').click();
  await view.locator('.diff-table').waitFor({ timeout: 60_000 });
  await view.locator('.diff-status', { hasText: `${a} (A) against ${b} (B)` }).waitFor();
  return view;
}

const counts = (view) => view.locator('.chip').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.kind, Number(e.dataset.count)])));
const rows = (view) => view.locator('.diff-table tbody tr').evaluateAll((els) => els.map((e) => [e.dataset.key, e.dataset.change]));

test('diff: the BERT .bin and .safetensors hold the same 39 tensors', async () => {
  assert.equal(await page.locator('#compare-button').isVisible(), true, 'two models are open');
  await openFiles(page, 'bert_tiny_pytorch_model.bin');
  await openFiles(page, 'bert_tiny.safetensors');
  const view = await compare('bert_tiny_pytorch_model.bin', 'bert_tiny.safetensors');
  assert.deepEqual(await counts(view), { all: 39, same: 39 });
  const r = await rows(view);
  assert.equal(r.length, 39);
  assert.ok(r.every(([, c]) => c === 'same'));
  const first = await view.locator('.diff-table tbody tr').first().locator('td').allInnerTexts();
  assert.deepEqual(first.slice(4), ['0', '0', '1']);
  await shoot('diff-bert');
});

test('diff: one changed tensor, a new shape and a key in B only come first; filters', async () => {
  const base = { 'enc.a': ramp(100), 'enc.b': ramp(50, 1), 'enc.c': ramp(20), 'dec.w': ramp(64, -2, 0.05) };
  const changed = ramp(50, 1);
  changed[7] += 0.5;
  writeSafetensors(path.join(DIR, 'step-100.safetensors'), base);
  writeSafetensors(path.join(DIR, 'step-200.safetensors'), { ...base, 'enc.b': changed, 'enc.c': ramp(21), 'dec.extra': ramp(3) });
  await openFiles(page, path.join(DIR, 'step-100.safetensors'));
  await openFiles(page, path.join(DIR, 'step-200.safetensors'));
  const view = await compare('step-100.safetensors', 'step-200.safetensors');
  assert.deepEqual(await counts(view), { all: 5, changed: 1, shape: 1, only_b: 1, same: 2 });
  const r = await rows(view);
  assert.deepEqual(r.slice(3).map(([, c]) => c), ['same', 'same'], 'most changed first');
  const row = view.locator('.diff-table tr[data-key="enc.b"]');
  assert.equal(await row.getAttribute('data-change'), 'changed');
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[1], 'changed');
  assert.equal(Number(cells[4]), 0.5);
  assert.ok(Number(cells[5]) > 0 && Number(cells[6]) < 1, cells.join(' | '));
  assert.equal((await view.locator('.diff-table tr[data-key="dec.extra"] td').allInnerTexts())[1], 'only in B');
  await shoot('diff-changed');

  // Filters: a kind of change, then a key; both by keyboard.
  await view.locator('.chip[data-kind="same"]').focus();
  await page.keyboard.press('Enter');
  assert.deepEqual((await rows(view)).map(([k]) => k).sort(), ['dec.w', 'enc.a']);
  await view.locator('.chip[data-kind="all"]').click();
  await view.locator('.diff-filter').fill('enc.');
  assert.deepEqual((await rows(view)).map(([k]) => k).sort(), ['enc.a', 'enc.b', 'enc.c']);

  // A key opens its tensor in A.
  await row.locator('td.key .link').click();
  const a = page.locator('#models > article:not([hidden])');
  await a.locator('.tensor-panel .tensor-name', { hasText: 'enc.b' }).waitFor();
  assert.match(await a.locator('.model-title').innerText(), /step-100/);
});

test('health and diff over big files show progress and can be cancelled; the page goes on', async () => {
  // Two 400 MB float32 tensors (holes on disk): the health check waits for a click, both cancel.
  const n = 100 << 20;
  const make = (name) => writeSparseSafetensors(path.join(DIR, name), { big: n });
  const files = [make('big-a.safetensors'), make('big-b.safetensors')];
  try {
    const model = await openFiles(page, files[0]);
    await model.locator('[role="tab"][data-section="health"]').click();
    await model.locator('.run-health').click();
    await model.locator('.health-progress progress').waitFor();
    await model.locator('.health-progress button', { hasText: 'Cancel' }).click();
    await model.locator('.health-cancelled').waitFor();
    await openFiles(page, files[1]);

    await page.locator('#compare-button').click();
    const view = page.locator('#models > article.compare');
    await view.locator('#diff-a').selectOption({ label: 'big-a.safetensors' });
    await view.locator('#diff-b').selectOption({ label: 'big-b.safetensors' });
    await view.locator('.run-diff').click();
    await view.locator('.diff-progress progress').waitFor();
    await page.waitForFunction(() => document.querySelector('.diff-progress progress')?.value > 0, null, { timeout: 30_000 });
    await view.locator('.diff-progress button', { hasText: 'Cancel' }).click();
    await view.locator('.diff-cancelled').waitFor();
    // The restarted worker has every file again: a small comparison runs.
    const again = await compare('step-100.safetensors', 'step-200.safetensors');
    assert.equal((await counts(again)).changed, 1);

    // Run to the end, both: the numbers are right, and how fast they came is logged.
    const big = await compare('big-a.safetensors', 'big-b.safetensors');
    assert.deepEqual(await counts(big), { all: 1, same: 1 });
    const diffMs = Number(await big.locator('.diff-done').getAttribute('data-ms'));
    await page.locator('#file-tabs [role="tab"]', { hasText: 'big-a.safetensors' }).click();
    await model.locator('.health-cancelled button').click();
    await model.locator('.health-summary').waitFor({ timeout: 120_000 });
    await model.locator('li.check[data-check="all_zero"] summary').click();
    assert.deepEqual(await listed(checkItem(model, 'all_zero')), ['big']);
    const healthMs = Number(await model.locator('.health-summary').getAttribute('data-ms'));
    const mb = (4 * n) / 1e6;
    console.log(`health over ${mb} MB: ${healthMs.toFixed(0)} ms (${(mb / healthMs).toFixed(2)} GB/s); diff of two: ${diffMs.toFixed(0)} ms (${((2 * mb) / diffMs).toFixed(2)} GB/s read)`);
  } finally {
    for (const f of files) fs.rmSync(f, { force: true });
  }
});

test('a plain pickle that calls os.system cannot open, shows "dangerous" with the finding; the next file opens', async () => {
  const evil = path.join(DIR, 'evil.pkl');
  fs.writeFileSync(evil, Buffer.from("cos\nsystem\n(S'echo hi'\ntR.", 'latin1'));
  const card = await openFiles(page, evil);
  assert.equal(await card.getAttribute('role'), 'alert');
  assert.match(await card.locator('.error-message').innerText(), /not a model file/);
  const report = card.locator('.safety-report');
  await report.waitFor();
  assert.equal(await report.locator('.verdict').getAttribute('data-verdict'), 'dangerous');
  const cells = await report.locator('.findings-table tbody tr').first().locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(0, 4), ['os.system', 'GLOBAL', 'evil.pkl', '0']);
  assert.match(cells[4], /os\.system is not known to be harmless: importing or calling it can run code/);
  assert.equal(await report.locator('.findings').getAttribute('open'), '');
  assert.match(await page.locator('#file-tabs [aria-selected="true"]').getAttribute('class'), /v-dangerous/);
  await shoot('hostile-pickle');

  const next = await openFiles(page, 'mlp_checkpoint.pt');
  assert.equal(await next.locator('.verdict').getAttribute('data-verdict'), 'safe');
  assert.equal(await next.locator('[data-fact="kind"]').innerText(), 'checkpoint');
});

test('no request leaves 127.0.0.1, and the page logged no errors', () => {
  assert.deepEqual(h.foreign(), []);
  assert.deepEqual(h.errors, []);
});

// Running `.pt2` files in the page, end to end in headless Debian chromium: the models of
// tests/real/run (made with torch 2.15 by gen/make_run_models.py) run on torch's inputs (given
// through the .npy input editor) and each output, downloaded as .npy, is within 1e-4 of torch's; an
// operator without a translation is named with its node before any run; with a .pt2 and its ONNX
// export open together, Compare outputs runs both and shows max |a−b|, relative error, cosine and
// the verdict against the tolerance edited (screenshots light and dark).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { start, openFiles, readNpy, ROOT, OUT } from './harness.mjs';

const RUN = path.join(ROOT, 'tests/real/run');
const run = (name) => path.join(RUN, name);
const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

async function runTab(model) {
  await model.locator('[role=tab][data-section="run"]').click();
  return model.locator('.run-panel');
}

for (const [name, inputs] of [['cnn', ['x']], ['encoder', ['x']], ['mlp', ['input']], ['ops', ['ids', 'x']], ['more', ['img', 'q', 'k', 'v']]]) {
  test(`${name}.pt2 runs in the page within 1e-4 of torch`, async () => {
    const model = await openFiles(page, run(`${name}.pt2`));
    const panel = await runTab(model);
    const editors = panel.locator('.run-input');
    assert.equal(await editors.count(), inputs.length, 'an editor per user input');
    for (let i = 0; i < inputs.length; i++) {
      const editor = panel.locator(`.run-input[data-input="${inputs[i]}"]`);
      await editor.locator('select').selectOption('npy');
      const file = run(`${name}.in.${inputs[i]}.npy`);
      await editor.locator('input[type=file]').setInputFiles(file);
      await editor.locator('.input-options', { hasText: `[${readNpy(file).shape.join(', ')}]` }).waitFor({ timeout: 60_000 });
    }
    const runs = await page.evaluate(() => window.__torchpeek.runs?.length ?? 0);
    await panel.locator('.run-button').click();
    await page.waitForFunction((k) => (window.__torchpeek.runs?.length ?? 0) > k, runs, { timeout: 120_000 });
    const outputs = panel.locator('.run-output');
    for (let j = 0; j < await outputs.count(); j++) {
      const [download] = await Promise.all([page.waitForEvent('download'), outputs.nth(j).getByRole('button', { name: /Download/ }).click()]);
      const got = readNpy(await download.path());
      const want = readNpy(run(`${name}.out.${j}.npy`));
      assert.deepEqual(got.shape, want.shape, `${name} output ${j}: shape`);
      let err = 0;
      for (let k = 0; k < want.values.length; k++) err = Math.max(err, Math.abs(got.values[k] - want.values[k]));
      assert.ok(err <= 1e-4, `${name} output ${j}: max abs error ${err}`);
    }
  });
}

test('an operator without a translation is named with its node before any run', async () => {
  const model = await openFiles(page, path.join(ROOT, 'tests/real/graphs/branch_cond.pt2'));
  const panel = await runTab(model);
  await panel.getByRole('button', { name: 'Check operators' }).click();
  const status = panel.locator('.run-status.error-text');
  await status.waitFor({ timeout: 60_000 });
  assert.match(await status.textContent(), /higher_order\.cond \(node "cond"\)/);
});

test('Compare outputs: a .pt2 and its ONNX export, verdict against the tolerance edited', async () => {
  // Alone, a .pt2 offers no comparison.
  let model = await openFiles(page, run('encoder.pt2'));
  let panel = await runTab(model);
  assert.equal(await panel.locator('.run-compare').isHidden(), true, 'no comparison without an .onnx open');
  // With the ONNX export open too, each Run panel offers the other model.
  const onnx = await openFiles(page, run('encoder.onnx'));
  const onnxPanel = await runTab(onnx);
  const offered = await onnxPanel.locator('.compare-peer option').allTextContents();
  assert.ok(offered.includes('encoder.pt2') && offered.every((o) => o.endsWith('.pt2')), `offered: ${offered}`);
  await page.locator('.filetab', { hasText: 'encoder.pt2' }).last().click();
  model = page.locator('#models > article:not([hidden])');
  panel = model.locator('.run-panel');
  const compare = panel.locator('.run-compare');
  await compare.waitFor();
  assert.deepEqual(await compare.locator('.compare-peer option').allTextContents(), ['encoder.onnx']);
  // Random inputs (seeded: random normal shows its seed), the sequence length from the symbol's field.
  const editor = panel.locator('.run-input[data-input="x"]');
  assert.equal(await editor.locator('select').inputValue(), 'normal');
  await editor.locator('.input-options input[type=number]').fill('3');
  await panel.locator('input[data-symbol]').fill('7');
  const compares = await page.evaluate(() => window.__torchpeek.compares?.length ?? 0);
  await compare.getByRole('button', { name: 'Compare outputs' }).click();
  await page.waitForFunction((k) => (window.__torchpeek.compares?.length ?? 0) > k, compares, { timeout: 120_000 });
  const report = await page.evaluate(() => window.__torchpeek.compares.at(-1));
  assert.equal(report.verdict, 'match');
  assert.deepEqual(report.outputs[0].a_shape, [2, 7, 16]);
  const maxAbs = report.outputs[0].max_abs;
  assert.ok(maxAbs > 0 && maxAbs <= 1e-4, `max |a-b| ${maxAbs}`);
  assert.ok(report.outputs[0].cosine > 0.99999);
  const row = compare.locator('tr[data-output="layer_norm_2"]');
  assert.equal(await row.locator('[data-metric="max_abs"]').textContent(), maxAbs.toExponential(3));
  assert.equal(await compare.locator('[data-verdict]').textContent(), 'match');
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await compare.screenshot({ path: path.join(OUT, `pt2-compare-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
  // A tolerance below the difference: the same outputs, compared again, differ.
  await compare.locator('.compare-tolerance').fill('1e-9');
  await compare.locator('.compare-tolerance').dispatchEvent('change');
  await compare.locator('[data-verdict="differ"]').waitFor({ timeout: 30_000 });
  const again = await page.evaluate(() => window.__torchpeek.compares.at(-1));
  assert.equal(again.outputs[0].max_abs, maxAbs, 'the same outputs, not a new run');
  assert.equal(await row.getAttribute('data-within'), 'false');
  await compare.screenshot({ path: path.join(OUT, 'pt2-compare-differ.png') });
  // The other way round: from the ONNX model's Run panel, with the .pt2 as the other model.
  await page.locator('.filetab', { hasText: 'encoder.onnx' }).click();
  const back = page.locator('#models > article:not([hidden]) .run-compare');
  await back.locator('.compare-peer').selectOption({ index: offered.lastIndexOf('encoder.pt2') });
  await page.locator('#models > article:not([hidden]) input[data-symbol]').fill('3');
  const before = await page.evaluate(() => window.__torchpeek.compares.length);
  await back.getByRole('button', { name: 'Compare outputs' }).click();
  await page.waitForFunction((k) => window.__torchpeek.compares.length > k, before, { timeout: 120_000 });
  const reverse = await page.evaluate(() => window.__torchpeek.compares.at(-1));
  assert.equal(reverse.verdict, 'match');
  assert.deepEqual(reverse.outputs[0].b_shape, [2, 3, 16]);
});

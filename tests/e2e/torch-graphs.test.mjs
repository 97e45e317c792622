// PyTorch graphs in the page, end to end in headless Debian chromium, over files torch 2.15 wrote
// (tests/real, gen/make_graph_models.py): a .pt2's exported program drawn with torch's own node
// targets (from the record next to the fixture), search, node details with arguments, module and
// weights linked to the tensor panel, the signature with mutated buffers, symbolic sizes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, openFiles, ROOT, OUT } from './harness.mjs';

const REAL = path.join(ROOT, 'tests/real');
const expected = (name) => JSON.parse(fs.readFileSync(path.join(REAL, 'graphs', `${path.basename(name)}.expected.json`), 'utf8'));

const h = await start({ guard: true });
const page = await h.newPage();
after(() => h.close());

/** Opens a file of tests/real and waits for its Graph section's diagram, drawn whole. */
async function openGraph(name) {
  const model = await openFiles(page, path.join(REAL, name));
  assert.equal(await model.locator('[role="tab"][aria-selected="true"]').getAttribute('data-section'), 'graph', `${name}: the graph is the first section`);
  await model.locator('.graph-svg').waitFor({ timeout: 120_000 });
  await model.locator('button', { hasText: 'Fit' }).click();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  return model;
}

/** The box title the layout draws for an op type (graph-layout.js clips at 28 characters). */
const title = (op) => (op.length > 28 ? `${op.slice(0, 27)}…` : op);

const counts = (list) => list.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

test('a .pt2 is drawn with the nodes torch reads from it', async () => {
  for (const name of ['mlp_exported.pt2', 'graphs/cnn_bn_train.pt2', 'graphs/encoder_dynamic.pt2', 'graphs/branch_cond.pt2']) {
    const want = expected(name);
    const model = await openGraph(name);
    const svg = model.locator('.graph-svg');
    assert.equal(await svg.locator('.gnode:not(.io)').count(), want.targets.length, `${name}: nodes`);
    const ops = await svg.locator('.gnode:not(.io) text.op').allTextContents();
    assert.deepEqual(counts(ops), counts(want.targets.map(title)), `${name}: targets`);
    assert.equal(await svg.locator('.gnode.io-input').count(), want.user_inputs.length, `${name}: user inputs`);
    const outputs = want.user_outputs.length + Object.keys(want.buffers_to_mutate).length;
    assert.equal(await svg.locator('.gnode.io-output').count(), outputs, `${name}: outputs`);
    // The signature: every parameter and buffer by its state_dict name, a link to its tensor.
    const sig = model.locator('table.pt2-signature');
    await sig.waitFor();
    for (const key of [...want.parameters, ...want.buffers]) assert.equal(await sig.locator('.tensor-link', { hasText: key }).count() >= 1, true, `${name}: ${key}`);
    assert.equal(await sig.locator('tr[data-kind="buffer_mutation"]').count(), Object.keys(want.buffers_to_mutate).length, `${name}: mutated buffers`);
    await model.locator('button', { hasText: 'Close' }).first().click();
  }
});

test('search a .pt2 node, open its details, follow its weight to the tensor panel', async () => {
  const model = await openGraph('graphs/cnn_bn_train.pt2');
  const box = model.locator('input.graph-search');
  // By target: value names (`conv2d_1`) match `conv2d` too, and bring the nodes that read them.
  await box.fill('aten.conv2d');
  const convs = expected('cnn_bn_train.pt2').targets.filter((t) => t.startsWith('aten.conv2d')).length;
  assert.equal(await model.locator('.graph-count').innerText(), `1 of ${convs}`);
  await box.press('Enter');
  const details = model.locator('.node-details');
  await details.waitFor();
  assert.equal(await details.locator('.op-badge').innerText(), 'aten.conv2d.default');
  assert.match(await details.locator('.node-module').innerText(), /in conv torch\.nn\.modules\.conv\.Conv2d/);
  // Arguments by their schema names; the weight and bias by state_dict name, linked to the tensor panel.
  assert.match(await details.locator('.io-list').first().innerText(), /weight:\s*conv\.weight/);
  assert.equal(await details.locator('tr[data-attr="padding"] td').innerText(), '[1, 1]');
  const panel = model.locator('.tensor-panel');
  await panel.locator('.tensor-name', { hasText: 'conv.weight' }).waitFor();
  await details.locator('.tensor-link', { hasText: 'conv.bias' }).click();
  await panel.locator('.tensor-name', { hasText: 'conv.bias' }).waitFor();
  // The module path is searchable too.
  await box.fill('bn');
  assert.match(await model.locator('.graph-count').innerText(), /^1 of \d+$/);
  await page.screenshot({ path: path.join(OUT, 'pt2-cnn.png') });
  await model.locator('button', { hasText: 'Close' }).first().click();
});

test('a .pt2 with a dynamic size shows its symbol, range and symbolic shapes', async () => {
  const want = expected('encoder_dynamic.pt2');
  const model = await openGraph('graphs/encoder_dynamic.pt2');
  const [symbol, [min, max]] = Object.entries(want.range_constraints)[0];
  const row = model.locator('table.pt2-symbols tbody tr').first();
  assert.deepEqual(await row.locator('td').allTextContents(), [symbol, min, max]);
  const input = model.locator('.gnode.io-input');
  assert.match(await input.textContent(), new RegExp(want.user_input_shapes.x.join(', ')));
  await model.locator('input.graph-search').fill('scaled_dot_product');
  await model.locator('input.graph-search').press('Enter');
  await model.locator('.node-details').waitFor();
  assert.match(await model.locator('.node-details .node-module').innerText(), /layer\.self_attn/);
  await page.screenshot({ path: path.join(OUT, 'pt2-encoder.png') });
  await model.locator('button', { hasText: 'Close' }).first().click();
});

test('a scripted module: its loops and if drawn as nodes with nested blocks, found by search', async () => {
  const want = expected('gate_scripted.pt').modules[''];
  const model = await openGraph('graphs/gate_scripted.pt');
  const svg = model.locator('.graph-svg');
  // Every aten operator of torch's graph outside the blocks, and the two loops (the `if` is inside the `for`).
  assert.equal(await svg.locator('.gnode:not(.io) text.op', { hasText: 'prim::Loop' }).count(), want.loop);
  const box = model.locator('input.graph-search');
  await box.fill('prim::Loop');
  assert.equal(await model.locator('.graph-count').innerText(), `1 of ${want.loop}`);
  await box.press('Enter');
  const details = model.locator('.node-details');
  await details.waitFor();
  // The for loop's body: a nested graph with the submodule call and the if.
  const body = details.locator('tr[data-attr="body"] .subgraph');
  assert.match(await body.innerText(), /Linear/);
  assert.match(await body.innerText(), /prim::If/);
  assert.equal(await details.locator('tr[data-attr="kind"] td').innerText(), '"for range"');
  await page.screenshot({ path: path.join(OUT, 'torchscript-gate.png') });
  await model.locator('button', { hasText: 'Close' }).first().click();
});

test('a traced model: submodule calls collapsed, then expanded into torch\'s whole graph with weights linked', async () => {
  const want = expected('encoder_traced.pt');
  const model = await openGraph('encoder_traced.pt');
  const svg = model.locator('.graph-svg');
  const ops = await svg.locator('.gnode:not(.io) text.op').allTextContents();
  assert.deepEqual(ops.sort(), ['LayerNorm', 'TransformerEncoderLayer']);
  await model.locator('button.expand-toggle').click();
  await model.locator('button.expand-toggle[aria-pressed="true"]').waitFor();
  // The expanded graph replaces the collapsed one: operators instead of module calls.
  await model.locator('.graph-svg text.op', { hasText: 'aten::' }).first().waitFor();
  await model.locator('button', { hasText: 'Fit' }).click();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const aten = (await model.locator('.graph-svg .gnode:not(.io) text.op').allTextContents()).filter((t) => t.startsWith('aten::'));
  assert.equal(aten.length, want.inlined.aten.length, aten.join(', '));
  const box = model.locator('input.graph-search');
  await box.fill('transformer_encoder_layer');
  await box.press('Enter');
  const details = model.locator('.node-details');
  await details.waitFor();
  const weight = details.locator('.tensor-link', { hasText: 'layer.self_attn.in_proj_weight' });
  await weight.click();
  await model.locator('.tensor-panel .tensor-name', { hasText: 'layer.self_attn.in_proj_weight' }).waitFor();
  await page.screenshot({ path: path.join(OUT, 'torchscript-encoder-expanded.png') });
  await model.locator('button', { hasText: 'Close' }).first().click();
});

// PyTorch graphs in the page, end to end in headless Debian chromium, over files torch 2.15 wrote
// (tests/real, gen/make_graph_models.py): a .pt2's exported program drawn with torch's own node
// targets (from the record next to the fixture), search, node details with arguments, module and
// weights linked to the tensor panel, the signature with mutated buffers, symbolic sizes; blocks
// (a scripted loop's body and the if in it, a torch.cond branch) opened as graphs.
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

/** Waits for the Graph view to show nesting level d, drawn. */
async function atLevel(model, d) {
  await model.locator(`.graph[data-level="${d}"]`).waitFor();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

test('a scripted module: the loop\'s body opens as a graph with its weights, the if inside it too; search in a block; the breadcrumb back out', async () => {
  const model = await openGraph('graphs/gate_scripted.pt');
  await model.locator('button.expand-toggle').click();
  await model.locator('button.expand-toggle[aria-pressed="true"]').waitFor();
  await model.locator('.graph-svg').waitFor();
  const box = model.locator('input.graph-search');
  await box.fill('prim::If');
  assert.equal(await model.locator('.graph-count').innerText(), 'no match', 'the if is inside the for');
  await box.fill('prim::Loop');
  await box.press('Enter');
  await model.locator('.node-details tr[data-attr="body"] button.open-block').click();
  await atLevel(model, 1);
  const svg = model.locator('.graph-svg');
  const ops = () => svg.locator('.gnode:not(.io) text.op').allTextContents();
  assert.deepEqual(await ops(), ['aten::linear', 'prim::If']);
  assert.deepEqual(await svg.locator('.gnode.cat-control text.op').allTextContents(), ['prim::If'], 'drawn in the control flow colour');
  const crumbs = model.locator('.graph-crumbs li');
  assert.deepEqual(await crumbs.allInnerTexts(), ['graph', 'prim::Loop "Loop_6"', 'body']);
  // The loop variable is the body's input; x and flag come from outside it.
  assert.deepEqual(await svg.locator('.gnode.io-input:not(.io-outer) .io-name').allTextContents(), ['i']);
  assert.deepEqual((await svg.locator('.gnode.io-outer .io-name').allTextContents()).sort(), ['flag', 'x']);
  // The inlined Linear's weight, drawn in its box, shows in the tensor panel.
  await svg.locator('text.row.weight', { hasText: 'weight' }).click();
  await model.locator('.tensor-panel .tensor-name', { hasText: 'fc.weight' }).waitFor();
  await box.fill('prim::If');
  assert.equal(await model.locator('.graph-count').innerText(), '1 of 1');
  await box.press('Enter');
  await model.locator('.node-details tr[data-attr="else"] button.open-block').click();
  await atLevel(model, 2);
  assert.deepEqual(await ops(), ['aten::mul']);
  assert.deepEqual(await crumbs.allInnerTexts(), ['graph', 'prim::Loop "Loop_6"', 'body', 'prim::If "If_5"', 'else']);
  await page.screenshot({ path: path.join(OUT, 'torchscript-gate-if-block.png') });
  // One level up by the breadcrumb, then out with Backspace: the loop is selected and focused.
  await model.locator('.graph-crumbs button', { hasText: 'body' }).click();
  await atLevel(model, 1);
  assert.deepEqual(await ops(), ['aten::linear', 'prim::If']);
  await page.keyboard.press('Backspace');
  await atLevel(model, 0);
  assert.equal(await model.locator('.node-details .op-badge').innerText(), 'prim::Loop');
  assert.equal(await model.locator('.graph-crumbs').isHidden(), true);
  await model.locator('button', { hasText: 'Close' }).first().click();
});

test('a .pt2\'s torch.cond: a branch opens as a graph, the weights passed in drawn as weights', async () => {
  const want = expected('branch_cond.pt2');
  const model = await openGraph('graphs/branch_cond.pt2');
  await model.locator('.gnode.cat-control text.row.block', { hasText: 'true_graph_0' }).click();
  await atLevel(model, 1);
  const svg = model.locator('.graph-svg');
  assert.deepEqual(await svg.locator('.gnode:not(.io) text.op').allTextContents(), want.subgraphs.true_graph_0.map(title));
  assert.deepEqual(await svg.locator('.gnode.io-input .io-name').allTextContents(), want.user_inputs);
  await svg.locator('text.row.weight', { hasText: 'bias' }).click();
  await model.locator('.tensor-panel .tensor-name', { hasText: 'fc.bias' }).waitFor();
  assert.deepEqual(await model.locator('.graph-crumbs li').allInnerTexts(), ['graph', 'higher_order.cond "cond"', 'true_graph_0']);
  await page.screenshot({ path: path.join(OUT, 'pt2-cond-branch.png') });
  await model.locator('.graph-crumbs button', { hasText: 'graph' }).click();
  await atLevel(model, 0);
  assert.equal(await svg.locator('.gnode:not(.io)').count(), want.targets.length);
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

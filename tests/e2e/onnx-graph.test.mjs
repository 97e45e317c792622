// The ONNX graph in the page, end to end in headless Debian chromium: every ONNX fixture drawn with
// its node count, search, keyboard, node details with attributes and weights, a 3,600-node model
// drawn in time, a 5,400-node model shown as the node list, an If's branches opened as graphs
// with a breadcrumb back out, screenshots in light and dark.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, openFiles, manifest, FIXTURES, OUT } from './harness.mjs';
import { transformerOnnx, nodelessOnnx, ifOnnx, cycleOnnx } from '../../gen/make-onnx.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-graph-'));
const h = await start({ guard: true });
const page = await h.newPage();
after(async () => {
  await h.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx')).sort();

/** Opens a model and waits for its graph (diagram or list). */
async function openGraph(file) {
  const model = await openFiles(page, file);
  assert.equal(await model.locator('[role="tab"][aria-selected="true"]').getAttribute('data-section'), 'onnx', 'the graph is the first section');
  await model.locator('.graph').waitFor({ timeout: 120_000 });
  return model;
}

/** Waits until the diagram has drawn what is on screen (boxes appear a frame after the SVG). */
async function drawn(model) {
  await model.locator('.graph-svg').waitFor();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

async function search(model, text) {
  const box = model.locator('input.graph-search');
  await box.fill(text);
  return box;
}

test('every ONNX fixture is drawn with all its nodes, inputs and outputs', async () => {
  assert.ok(fixtures.length >= 5, fixtures.join(', '));
  for (const file of fixtures) {
    const m = manifest(file);
    const model = await openGraph(file);
    const svg = model.locator('.graph-svg');
    await svg.waitFor();
    assert.equal(await model.locator('.graph').getAttribute('data-mode'), 'diagram', file);
    // Only what is on screen is drawn: fit the whole graph first.
    await model.locator('button', { hasText: 'Fit' }).click();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.equal(await svg.locator('.gnode:not(.io)').count(), m.node_count, `${file}: nodes drawn`);
    assert.equal(await svg.locator('path.edge.hot').count(), 0, `${file}: nothing selected, no edge lit`);
    assert.equal(await svg.locator('.gnode.io-input').count(), m.inputs.length, `${file}: inputs drawn`);
    assert.equal(await svg.locator('.gnode.io-output').count(), m.outputs.length, `${file}: outputs drawn`);
    // Every op type of the manifest, as often as it says.
    const drawn = await svg.locator('.gnode:not(.io) text.op').allTextContents();
    const counts = {};
    for (const op of drawn) counts[op] = (counts[op] ?? 0) + 1;
    assert.deepEqual(counts, m.op_types, `${file}: op types`);
    // Each edge ends in a box: no edge is drawn to nowhere.
    assert.ok(await svg.locator('path.edge').count() >= m.node_count, `${file}: edges`);
    assert.equal(await model.locator('[data-fact="IR version"]').innerText(), String(m.ir_version));

    // Searching a graph input finds its box and the nodes that read it; Enter opens its details.
    const name = m.inputs[0].name;
    const box = await search(model, name);
    const count = model.locator('.graph-count');
    assert.match(await count.innerText(), /^1 of \d+$/, `${file}: ${name}`);
    assert.ok(Number((await count.innerText()).split(' of ')[1]) >= 2, `${file}: ${name} and a reader`);
    assert.equal(await svg.locator('.gnode.current').count(), 1);
    await box.press('ArrowDown');
    assert.match(await count.innerText(), /^2 of /);
    await box.press('ArrowUp');
    await box.press('Enter');
    const details = model.locator('.node-details');
    await details.waitFor();
    assert.equal(await details.locator('.node-title').innerText(), name);
    await box.press('Escape');
    assert.equal(await box.inputValue(), '');
    assert.equal(await svg.locator('.gnode.match').count(), 0);
  }
});

test('clicking a node shows its attributes and its weights (cnn Conv)', async () => {
  const model = await openGraph('cnn.onnx');
  const conv = model.locator('.gnode.cat-layer', { hasText: 'Conv' }).first();
  await conv.click();
  const details = model.locator('.node-details');
  await details.waitFor();
  // Its edges light up: one in (no trunk in this chain), one out.
  assert.equal(await model.locator('path.edge.hot').count(), 2);
  assert.equal(await details.locator('.op-badge').innerText(), 'Conv');
  const kernel = details.locator('tr[data-attr="kernel_shape"] td');
  assert.match(await kernel.innerText(), /^\[\d+, \d+\]$/);
  for (const a of ['strides', 'pads', 'dilations', 'group']) assert.equal(await details.locator(`tr[data-attr="${a}"]`).count(), 1, a);
  // The node's weight is in the tensor panel, with statistics; its bias is one click away.
  const weights = details.locator('.tensor-link');
  assert.equal(await weights.count(), 2);
  const [w, b] = await weights.allTextContents();
  const panel = model.locator('.tensor-panel');
  await panel.locator('.tensor-name', { hasText: w }).waitFor();
  await panel.locator('[data-stat="mean"]').waitFor({ timeout: 30_000 });
  await weights.nth(1).click();
  await panel.locator('.tensor-name', { hasText: b }).waitFor();
  // Inputs link to the node that makes them.
  const from = details.locator('.io-list li', { hasText: 'from' }).locator('button').first();
  const producer = await from.innerText();
  await from.click();
  assert.equal(await model.locator('.node-details .op-badge, .node-details .badge').first().innerText(), producer.startsWith('input') ? 'graph input' : producer);
  assert.equal(await model.locator('.gnode.selected').count(), 1);
  await model.locator('.node-details .icon-button').click();
  assert.equal(await model.locator('.node-details').count(), 0);
  await page.screenshot({ path: path.join(OUT, 'onnx-cnn.png') });
});

test('keyboard: search, Tab through the matches, Enter for details, arrows along edges, zoom', async () => {
  const model = await openGraph('cnn.onnx');
  await drawn(model);
  const relus = manifest('cnn.onnx').op_types.Relu;
  assert.ok(relus >= 2);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('graph-search')), true, '/ focuses the search');
  await page.keyboard.type('relu');
  // The Relu nodes, and the nodes that read their outputs (named after them).
  const found = Number((await model.locator('.graph-count').innerText()).split(' of ')[1]);
  assert.ok(found >= relus, `${found} matches`);
  const focused = () => page.evaluate(() => ({ box: document.activeElement.dataset?.box, cls: document.activeElement.getAttribute('class') }));
  await page.keyboard.press('Tab');
  const first = await focused();
  assert.match(first.cls, /\bmatch\b/, 'Tab goes to the current match');
  await page.keyboard.press('Tab');
  const second = await focused();
  assert.match(second.cls, /\bmatch\b/, 'and on to the next');
  assert.notEqual(second.box, first.box);
  assert.equal(await model.locator('.graph-count').innerText(), `2 of ${found}`);
  const op = await model.locator(`.gnode[data-box="${second.box}"] text.op`).textContent();
  await page.keyboard.press('Enter');
  await model.locator('.node-details').waitFor();
  assert.equal(await model.locator('.node-details .op-badge').innerText(), op);
  await page.keyboard.press('Escape');
  assert.equal(await model.locator('.node-details').count(), 0);
  // Without a search, arrows follow the edges: down to a consumer, back up to the producer.
  await model.locator('input.graph-search').fill('');
  const start = model.locator(`.gnode[data-box="${second.box}"]`);
  await start.focus();
  await page.keyboard.press('ArrowDown');
  const below = await focused();
  assert.notEqual(below.box, second.box);
  await page.keyboard.press('ArrowUp');
  assert.equal((await focused()).box, second.box);
  const zoom = async () => Number(await model.locator('.graph-svg').getAttribute('data-zoom'));
  const z0 = await zoom();
  await page.keyboard.press('+');
  assert.ok((await zoom()) > z0);
  await page.keyboard.press('-');
  await page.keyboard.press('-');
  assert.ok((await zoom()) < z0);
});

test('the model metadata is shown: domain, version, doc strings, metadata_props', async () => {
  const meta = { domain: 'org.example.vision', version: 42, doc: 'A tiny encoder.\nTwo lines.', graphDoc: 'The main graph.', props: [['author', 'someone <a@b.c>'], ['license', 'MIT'], ['license', 'Apache-2.0']] };
  const file = path.join(tmp, 'with-metadata.onnx');
  fs.writeFileSync(file, transformerOnnx(1, { meta }).bytes);
  const model = await openGraph(file);
  await model.locator('.graph-svg').waitFor();
  assert.equal(await model.locator('[data-fact="domain"]').innerText(), meta.domain);
  assert.equal(await model.locator('[data-fact="model version"]').innerText(), '42');
  assert.equal(await model.locator('[data-fact="producer"]').innerText(), 'make-onnx 1');
  assert.equal(await model.locator('[data-fact="graph"]').innerText(), 'made_by_make_onnx');
  const docs = await model.locator('.doc-string p').allInnerTexts();
  assert.deepEqual(docs, [meta.doc, meta.graphDoc]);
  const rows = await model.locator('.metadata-props tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  assert.deepEqual(rows, meta.props, 'every pair, repeated keys too, in file order');
});

test('a 3,600-node model is drawn, searched and panned', async () => {
  const { bytes, nodeCount } = transformerOnnx(100);
  const file = path.join(tmp, 'transformer100.onnx');
  fs.writeFileSync(file, bytes);
  const t0 = Date.now();
  const model = await openGraph(file);
  await model.locator('.graph-svg').waitFor();
  const ms = Date.now() - t0;
  await drawn(model);
  const worker = Number(await model.locator('.graph').getAttribute('data-ms'));
  const draw = Number(await model.locator('.graph').getAttribute('data-draw-ms'));
  console.log(`# ${nodeCount} nodes: graph shown ${ms} ms after the file was given (worker: view + layout ${worker.toFixed(0)} ms; SVG built in ${draw.toFixed(0)} ms)`);
  assert.equal(await model.locator('.graph').getAttribute('data-nodes'), String(nodeCount));
  // What is on screen is drawn, not the rest.
  const shown = await model.locator('.gnode').count();
  assert.ok(shown > 5 && shown < 200, `${shown} boxes in the DOM`);
  // A node deep in the graph is found and brought into view.
  const box = await search(model, '/Softmax_2977');
  assert.equal(await model.locator('.graph-count').innerText(), '1 of 1');
  const target = model.locator('.gnode.current');
  const canvas = await model.locator('.graph-canvas').boundingBox();
  const r = await target.boundingBox();
  assert.ok(r.y >= canvas.y && r.y + r.height <= canvas.y + canvas.height, `the match is in view: ${JSON.stringify({ r, canvas })}`);
  await box.press('Enter');
  await model.locator('.node-details .op-badge', { hasText: 'Softmax' }).waitFor();
  assert.match(await model.locator('.node-details tr[data-attr="axis"] td').innerText(), /^-1$/);
  // The wheel scrolls (natively: the scroll area is as large as the zoomed graph), dragging pans.
  const scrolled = () => model.locator('.graph-scroll').evaluate((el) => el.scrollTop);
  const top = await scrolled();
  await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + 60);
  await page.mouse.wheel(0, 600);
  await page.waitForFunction((t) => document.querySelector('#models > article:not([hidden]) .graph-scroll').scrollTop > t, top);
  const ty = (t) => Number(/translate\([^,]+,([^)]+)\)/.exec(t)[1]);
  const { y, ch } = await model.locator('.graph-scroll').evaluate((el) => ({ y: el.scrollTop, ch: el.clientHeight }));
  // The graph is taller than the view: half a view of room above it, then the scroll offset.
  assert.equal(Math.round(ty(await model.locator('.viewport').getAttribute('transform'))), Math.round(ch / 2 - y), 'the transform follows the scroll position');
  const before = await model.locator('.viewport').getAttribute('transform');
  await page.mouse.move(canvas.x + 40, canvas.y + 40);
  await page.mouse.down();
  await page.mouse.move(canvas.x + 140, canvas.y + 240, { steps: 5 });
  await page.mouse.up();
  assert.notEqual(await model.locator('.viewport').getAttribute('transform'), before);
  await model.locator('button', { hasText: 'Fit' }).click();
  assert.ok(Number(await model.locator('.graph-svg').getAttribute('data-zoom')) < 0.1);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  assert.equal(await model.locator('.gnode:not(.io)').count(), nodeCount, 'all the nodes once it all fits');
  await page.screenshot({ path: path.join(OUT, 'onnx-transformer100-fit.png') });
});

test('a graph over 5,000 nodes is shown as the node list, with a note', async () => {
  const { bytes, nodeCount } = transformerOnnx(150);
  const file = path.join(tmp, 'transformer150.onnx');
  fs.writeFileSync(file, bytes);
  const model = await openGraph(file);
  assert.equal(await model.locator('.graph').getAttribute('data-mode'), 'list');
  assert.match(await model.locator('.graph-note').innerText(), new RegExp(`${nodeCount.toLocaleString('en-US')} nodes`));
  assert.equal(await model.locator('.graph-svg').count(), 0);
  await model.locator('.node-list .tree-row').first().waitFor();
  await search(model, '/LayerNormalization_5000');
  const row = model.locator('.node-list .tree-row');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  await row.first().click();
  await model.locator('.node-details .op-badge', { hasText: 'LayerNormalization' }).waitFor();
  // Its weights are links to the tensor panel.
  await model.locator('.node-details .tensor-link').first().click();
  await model.locator('.tensor-panel .tensor-name', { hasText: /ln\d\.weight$/ }).waitFor();
});

test('an If node shows its branches, and the outer value they read as a dashed edge', async () => {
  const file = path.join(tmp, 'if.onnx');
  fs.writeFileSync(file, ifOnnx());
  const model = await openGraph(file);
  await drawn(model);
  const box = model.locator('.gnode.cat-control');
  assert.deepEqual(await box.locator('text.row').allTextContents(), ['then_branch: 1 node', 'else_branch: 1 node']);
  assert.equal(await model.locator('path.edge.outer').count(), 1, 'Neg -> If through the branches');
  // On its title: a branch's row opens the branch.
  await box.locator('text.op').click();
  const details = model.locator('.node-details');
  await details.waitFor();
  assert.match(await details.locator('tr[data-attr="then_branch"] td').innerText(), /then_graph · 1 node[^]*Identity[^]*\(–\) → \(t_out\)/);
  assert.match(await details.locator('tr[data-attr="else_branch"] td').innerText(), /else_graph · 1 node[^]*Neg/);
  assert.match(await details.locator('.io-list').nth(1).innerText(), /^T\s+from Neg/, 'the outer value, and who makes it');
});

test('an If branch opens as a graph: its node, the outer value as an input, search in it, the breadcrumb back out', async () => {
  const file = path.join(tmp, 'if-open.onnx');
  fs.writeFileSync(file, ifOnnx());
  const model = await openGraph(file);
  await drawn(model);
  const crumbs = model.locator('.graph-crumbs');
  assert.equal(await crumbs.isHidden(), true, 'no breadcrumb at the top level');
  const svg = model.locator('.graph-svg');
  const ops = () => svg.locator('.gnode:not(.io) text.op').allTextContents();
  await model.locator('.gnode.cat-control text.op').click();
  await model.locator('.node-details tr[data-attr="else_branch"] button.open-block').click();
  await model.locator('.graph[data-level="1"]').waitFor();
  await drawn(model);
  assert.deepEqual(await ops(), ['Neg']);
  // T, made by the Neg outside, is the branch's input, marked as from outside; e_out its output.
  assert.deepEqual(await svg.locator('.gnode.io-input.io-outer .io-name').allTextContents(), ['T']);
  assert.equal(await svg.locator('.gnode.io-outer .io-type').textContent(), 'outside', 'the file records no type for T');
  assert.deepEqual(await svg.locator('.gnode.io-output .io-name').allTextContents(), ['e_out']);
  assert.equal(await svg.locator('path.edge').count(), 2);
  assert.deepEqual(await crumbs.locator('li').allInnerTexts(), ['graph', 'If "choose"', 'else_branch']);
  assert.equal(await crumbs.locator('[aria-current="location"]').innerText(), 'else_branch');
  // Focus went to the block's first box; search finds in the block alone.
  assert.equal(await page.evaluate(() => document.activeElement.closest('.gnode')?.querySelector('.io-name')?.textContent), 'T');
  const box = await search(model, 'e_out');
  assert.equal(await model.locator('.graph-count').innerText(), '1 of 2', 'the Neg that makes e_out, and the output');
  await box.press('Enter');
  assert.equal(await model.locator('.node-details .node-title').innerText(), 'else_graph/Neg');
  // Backspace on a node goes back out, to the If, selected.
  await box.press('Tab');
  await page.keyboard.press('Backspace');
  await model.locator('.graph[data-level="0"]').waitFor();
  assert.equal(await crumbs.isHidden(), true);
  assert.equal(await model.locator('.graph-search').inputValue(), '', 'the search was of the block');
  assert.equal(await model.locator('.node-details .op-badge').innerText(), 'If');
  assert.equal(await page.evaluate(() => document.activeElement.closest('.gnode')?.querySelector('.op')?.textContent), 'If');
  await search(model, 'e_out');
  assert.equal(await model.locator('.graph-count').innerText(), 'no match', 'e_out is inside the branch');
  // A block's row in the box opens it too; the breadcrumb goes back to the graph, or to the If.
  await search(model, '');
  await model.locator('.gnode.cat-control text.row.block', { hasText: 'then_branch' }).click();
  await model.locator('.graph[data-level="1"]').waitFor();
  await drawn(model);
  assert.deepEqual(await ops(), ['Identity']);
  await page.screenshot({ path: path.join(OUT, 'onnx-if-branch.png') });
  await crumbs.locator('button', { hasText: 'If "choose"' }).click();
  await model.locator('.graph[data-level="0"]').waitFor();
  assert.equal(await model.locator('.node-details .op-badge').innerText(), 'If');
  await model.locator('.node-details tr[data-attr="then_branch"] button.open-block').press('Enter');
  await model.locator('.graph[data-level="1"]').waitFor();
  await crumbs.locator('button', { hasText: 'graph' }).click();
  await model.locator('.graph[data-level="0"]').waitFor();
  await drawn(model);
  assert.deepEqual(await ops(), ['Neg', 'If']);
  assert.equal(await model.locator('.node-details').count(), 0, 'back to the graph as it was: nothing selected');
  // In the node list too: a block opens as a list, focused; the graph's list is back after it.
  await model.locator('button', { hasText: 'List' }).click();
  await model.locator('.node-list .tree-row', { hasText: 'choose' }).click();
  await model.locator('.node-details tr[data-attr="then_branch"] button.open-block').click();
  await model.locator('.graph[data-level="1"]').waitFor();
  const rows = model.locator('.node-list .tree-row');
  assert.deepEqual((await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')), ['input T', 'Identity then_graph/Identity T → t_out', 'output t_out']);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('node-list')), true);
  await crumbs.locator('button', { hasText: 'graph' }).click();
  await model.locator('.graph[data-level="0"]').waitFor();
  assert.equal(await rows.count(), 5, 'X, cond, Neg, If, Y');
  await model.locator('button', { hasText: 'Diagram' }).click();
});

test('a graph with a cycle is drawn whole, with a note saying what is wrong', async () => {
  const file = path.join(tmp, 'cycle.onnx');
  fs.writeFileSync(file, cycleOnnx());
  const model = await openGraph(file);
  await drawn(model);
  assert.match(await model.locator('.onnx-notes .doc-errors').innerText(), /not well formed[^]*4 nodes wait on a cycle/);
  assert.equal(await model.locator('.gnode:not(.io)').count(), 4);
  // X -> Add, Add -> Relu, Relu -> Neg, Neg -> Add (drawn back up, round a bend), Neg -> Identity, Identity -> Y.
  const edges = model.locator('path.edge');
  assert.equal(await edges.count(), 6);
  for (const d of await edges.evaluateAll((ps) => ps.map((p) => p.getAttribute('d')))) assert.doesNotMatch(d, /NaN|undefined/);
});

test('graphs with no nodes are drawn too', async () => {
  for (const [name, through] of [['passthrough.onnx', ['x']], ['empty.onnx', []]]) {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, nodelessOnnx(through));
    const model = await openGraph(file);
    await model.locator('.graph-svg').waitFor();
    await model.locator('button', { hasText: 'Fit' }).click();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    assert.equal(await model.locator('.gnode.io').count(), 2 * through.length, name);
    assert.equal(await model.locator('.gnode:not(.io)').count(), 0, name);
    assert.equal(await model.locator('path.edge').count(), through.length, name);
  }
});

test('screenshots in light and dark', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const p = await h.newPage({ colorScheme });
    try {
      const model = await openFiles(p, 'bert_tiny.onnx');
      await model.locator('.graph-svg').waitFor();
      await model.locator('input.graph-search').fill('LayerNormalization');
      await model.locator('input.graph-search').press('Enter');
      await model.locator('.node-details').waitFor();
      await p.screenshot({ path: path.join(OUT, `onnx-bert-${colorScheme}.png`) });
      // An If's branch opened as a graph, under its breadcrumb, with its details.
      const ifModel = await openFiles(p, path.join(tmp, 'if-open.onnx'));
      await ifModel.locator('.gnode.cat-control text.row.block', { hasText: 'else_branch' }).click();
      await ifModel.locator('.graph[data-level="1"] .gnode.io-outer').click();
      await ifModel.locator('.node-details').waitFor();
      await p.screenshot({ path: path.join(OUT, `onnx-if-branch-${colorScheme}.png`) });
    } finally {
      await p.close();
    }
  }
});

test('no request leaves 127.0.0.1, and the page logged no errors', () => {
  assert.deepEqual(h.foreign(), []);
  assert.deepEqual(h.errors, []);
});

// The Graph section's shared part for every model that has a graph (ONNX, a .pt2's exported
// program, a TorchScript archive's code): asking the worker for the view and its layout, the
// spinner, the error with a retry, and the GraphView. Around it, the .pt2's section: the
// program's facts (schema and torch versions, dialect), the graph signature (user inputs and
// outputs, parameters, buffers, constants, mutated buffers), the symbolic sizes with their ranges,
// and the ATen targets; and TorchScript's: the root module's forward read from its code (never
// run), submodule calls collapsed or expanded, and what the code reader could not read.

import { h } from './dom.js';
import * as fmt from './format.js';
import { GraphView } from './graph-view.js';

/**
 * A host element that fills itself with the model's GraphView once the worker has laid it out.
 * `onView(view, graphView)` runs before it is shown; `onTensor(i)` shows a tensor.
 */
export function graphHost({ client, modelId, nodeCount, onTensor, onView, expand = false }) {
  const host = h('div', { class: 'graph-host' },
    h('p', { class: 'muted graph-loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), nodeCount == null ? ' Reading the graph…' : ` Laying out ${fmt.grouped(nodeCount)} nodes…`));
  const loading = host.firstChild;
  const load = () => client.request('graph', { model: modelId, expand }).promise.then(({ view, layout, ms }) => {
    const t0 = performance.now();
    // A block opened as a graph is laid out by the worker too.
    const layoutOf = (blockView) => client.request('layout', { view: blockView }).promise;
    const graphView = new GraphView({ view, layout, onTensor, layoutOf });
    // For tests and benchmarks: worker time (graph view and layout), and drawing time here.
    graphView.el.dataset.ms = ms.toFixed(1);
    graphView.el.dataset.drawMs = (performance.now() - t0).toFixed(1);
    onView(view, graphView);
    host.replaceChildren(graphView.el);
  }).catch((err) => {
    // A cancelled statistics run restarts the worker: the graph can simply be asked for again.
    host.replaceChildren(h('p', { class: 'error-text' }, `Could not read the graph: ${err.message} `,
      h('button', { type: 'button', class: 'button small', onclick: () => { host.replaceChildren(loading); load(); } }, 'Try again')));
  });
  load();
  return host;
}

/** The list of problems a graph view reports, or null. */
export function graphProblems(problems) {
  return problems.length
    ? h('div', { class: 'doc-errors', role: 'note' }, h('strong', {}, 'The graph is not well formed: '), h('ul', {}, problems.map((p) => h('li', {}, p))))
    : null;
}

const fact = (k, v) => h('div', {}, h('dt', {}, k), h('dd', { dataset: { fact: k } }, v ?? '–'));
const shapeText = (shape) => (Array.isArray(shape) ? fmt.shape(shape.map(String)) : 'unknown');

/** The signature's values in a table: name, what it is, type and shape, and what it stands for. */
function signatureTable(rows, onKey) {
  return h('table', { class: 'grid pt2-signature' },
    h('thead', {}, h('tr', {}, ['name', 'kind', 'type', 'shape', 'state_dict / target'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { kind: r.kind } },
      h('td', { class: 'mono' }, r.name ?? '–'), h('td', {}, r.kind.replaceAll('_', ' ')), h('td', {}, r.dtype ?? '?'), h('td', {}, shapeText(r.shape)),
      h('td', {}, r.target ? (onKey(r.target) ?? h('span', { class: 'mono' }, r.target)) : '')))));
}

/**
 * The Graph section of a .pt2: `doc.pt2` (the document's summary) at once, the diagram when the
 * worker has it. `onTensor(i)` shows a tensor; `tensorOfKey(key)` is a state_dict key's tensor.
 */
export function pt2Section({ doc, client, modelId, onTensor, tensorOfKey, onGraphView }) {
  const p = doc.pt2;
  const facts = h('dl', { class: 'facts pt2-facts' },
    fact('schema', p.schema_version),
    fact('torch', p.torch_version),
    fact('dialect', p.verifiers.join(', ') || '–'),
    fact('opsets', Object.entries(p.opsets).map(([d, v]) => `${d} ${v}`).join(', ') || '–'),
    fact('weights', `${p.parameter_count} parameters · ${p.buffer_count} buffers · ${p.constant_count} constants`));
  const notes = h('div', { class: 'pt2-notes' });
  const signature = h('div', { class: 'pt2-more' });
  const keyLink = (key) => {
    const t = tensorOfKey(key);
    return t == null ? null : h('button', { type: 'button', class: 'link tensor-link', onclick: () => onTensor(t) }, key);
  };
  const host = graphHost({
    client, modelId, nodeCount: p.node_count, onTensor,
    onView: (view, graphView) => {
      const problems = graphProblems(view.problems);
      if (problems) notes.append(problems);
      const type = (name) => view.values[name] ?? {};
      const rows = [
        ...view.signature.inputs.map((s) => ({ ...s, dtype: type(s.name).elem_type, shape: type(s.name).shape })),
        ...view.signature.outputs.map((s) => ({ ...s, dtype: type(s.name).elem_type, shape: type(s.name).shape })),
      ];
      // The view names weights by their state_dict names; the signature by placeholders.
      for (const t of view.initializers) {
        for (const r of rows) if (r.name === t.placeholder) Object.assign(r, { dtype: t.dtype, shape: t.shape });
      }
      signature.append(h('h3', {}, 'Signature'), signatureTable(rows, keyLink));
      if (view.symbols.length) {
        signature.append(h('h3', {}, 'Symbolic sizes'), h('table', { class: 'grid pt2-symbols' },
          h('thead', {}, h('tr', {}, ['symbol', 'min', 'max'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, view.symbols.map((s) => h('tr', {}, h('td', { class: 'mono' }, s.symbol), h('td', {}, s.min ?? '−∞'), h('td', {}, s.max ?? '∞'))))));
      }
      onGraphView(graphView);
    },
  });
  const targets = Object.entries(p.targets).sort((a, b) => b[1] - a[1]);
  return h('div', { class: 'onnx pt2' }, facts,
    notes, host, signature,
    h('h3', {}, 'Operators'), h('ul', { class: 'op-list' }, targets.map(([op, n]) => h('li', {}, h('code', {}, op), ` × ${n}`))));
}

/**
 * The Graph section of a TorchScript archive: the root module's `forward` as read from its code,
 * submodule calls as one node each or (Expand submodules) inlined.
 */
export function torchscriptSection({ client, modelId, onTensor, onGraphView }) {
  const facts = h('dl', { class: 'facts torchscript-facts' });
  const notes = h('div', { class: 'torchscript-notes' });
  const slot = h('div', {});
  const toggle = h('button', { type: 'button', class: 'button small expand-toggle', 'aria-pressed': 'false' }, 'Expand submodules');
  const show = (expand) => {
    toggle.setAttribute('aria-pressed', String(expand));
    notes.replaceChildren();
    slot.replaceChildren(graphHost({
      client, modelId, onTensor, expand,
      onView: (view, graphView) => {
        const m = view.model;
        facts.replaceChildren(fact('class', m.class), fact('method', m.method), fact('modules', String(view.modules.length)), fact('nodes', fmt.grouped(view.nodes.length)));
        notes.append(h('p', { class: 'muted small' }, `Read from ${m.file}, never run. `,
          expand ? 'Submodule calls are inlined: their nodes are named by module path.' : 'Each submodule call is one node; expand to see inside them.'));
        if (view.problems.length) {
          notes.append(h('div', { class: 'doc-errors', role: 'note' }, h('strong', {}, 'Not read from the code (shown as "unparsed" nodes): '),
            h('ul', {}, view.problems.map((p) => h('li', {}, p)))));
        }
        onGraphView(graphView);
      },
    }));
  };
  toggle.addEventListener('click', () => show(toggle.getAttribute('aria-pressed') !== 'true'));
  show(false);
  return h('div', { class: 'onnx torchscript-graph' }, h('div', { class: 'toolbar' }, facts, toggle), notes, slot);
}

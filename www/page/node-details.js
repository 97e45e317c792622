// The details of one graph node (ONNX, or a .pt2's with its arguments' names, module and source):
// op type, name, inputs (initializers open their tensor in the
// tensor panel; other values link to the node that makes them), outputs and their consumers, and
// every attribute formatted for reading (numbers, lists, strings, tensors, subgraphs: a control
// node's blocks, each with a button that opens it as a graph).

import { h } from './dom.js';
import * as fmt from './format.js';
import { blocksOf } from '../shared/blocks.js';

const LIST_SHOWN = 16;

const dims = (shape) => (Array.isArray(shape) ? `[${shape.map((d) => (d == null ? '?' : d)).join(', ')}]` : '');

function number(v) {
  return typeof v === 'number' && !Number.isInteger(v) ? fmt.float(v) : String(v);
}

function list(items) {
  const shown = items.slice(0, LIST_SHOWN).map((v) => (typeof v === 'string' ? JSON.stringify(v) : number(v)));
  return `[${shown.join(', ')}${items.length > LIST_SHOWN ? `, … ${items.length - LIST_SHOWN} more` : ''}]`;
}

/** A tensor attribute (`{dtype, shape, value?}`) in one line. */
function tensorText(t) {
  const value = 'value' in t ? ` = ${Array.isArray(t.value) ? list(t.value) : number(t.value)}` : '';
  return `${t.dtype} ${dims(t.shape)}${value}`;
}

/** A subgraph in a few lines; `open(g)` is its Open button, if it has one. */
function graphSummary(g, open) {
  const ops = new Map();
  for (const n of g.nodes ?? []) ops.set(n.op_type, (ops.get(n.op_type) ?? 0) + 1);
  const opText = [...ops].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([op, c]) => (c > 1 ? `${op} ×${c}` : op)).join(', ');
  const names = (vs) => (vs ?? []).map((v) => v.name).join(', ') || '–';
  return h('div', { class: 'subgraph' },
    h('div', {}, h('strong', {}, g.name || 'graph'), ` · ${fmt.grouped(g.node_count)} node${g.node_count === 1 ? '' : 's'}`, g.initializer_count ? ` · ${g.initializer_count} initializers` : '', open(g)),
    opText ? h('div', { class: 'muted' }, opText, ops.size > 6 ? ', …' : '') : null,
    h('div', { class: 'mono small' }, `(${names(g.inputs)}) → (${names(g.outputs)})`));
}

/** An attribute value as text or, for subgraphs, a small summary (`open` as in graphSummary). */
function attributeValue(v, open) {
  if (v == null) return h('span', { class: 'muted' }, 'none');
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'object') return h('div', {}, v.map((x) => attributeValue(x, open)));
    return h('span', { class: 'mono' }, list(v));
  }
  if (typeof v === 'object') {
    if (v.$graph) return graphSummary(v.$graph, open);
    if ('ref' in v) return h('span', { class: 'mono' }, `→ the function's attribute ${JSON.stringify(v.ref)}`);
    if ('dtype' in v) return h('span', { class: 'mono' }, tensorText(v));
    return h('span', { class: 'mono' }, JSON.stringify(v));
  }
  if (typeof v === 'string') return h('span', { class: 'mono t-string' }, JSON.stringify(v));
  return h('span', { class: 'mono t-number' }, number(v));
}

/**
 * The details card of node `pos` of `graph` (a GraphIndex from graph-view.js). `go(box)` selects
 * another box of the diagram, `onTensor(i)` shows a tensor, `onClose()` closes the card, `onOpen(k)`
 * opens the node's block k (in blocksOf order) as a graph.
 */
export function nodeDetails(graph, box, { go, onTensor, onClose, onOpen }) {
  const b = graph.boxes[box];
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close details', title: 'Close (Esc)', onclick: onClose }, '×');
  if (b.kind !== 'node') {
    const v = (b.kind === 'input' ? graph.view.inputs : graph.view.outputs).find((x) => x.name === b.name) ?? { name: b.name };
    const ends = b.kind === 'input' ? graph.consumers.get(b.name) ?? [] : [graph.producer.get(b.name)].filter((x) => x != null);
    return h('section', { class: 'node-details', 'aria-label': `Graph ${b.kind} ${b.name}` },
      h('header', {}, h('span', { class: `badge io-${b.kind}` }, b.outer ? 'outside value' : `graph ${b.kind}`), close),
      b.outer ? h('p', { class: 'muted small' }, 'Made outside this block, in the graph that holds it.') : null,
      h('h3', { class: 'node-title' }, b.name),
      h('dl', { class: 'meta' }, h('dt', {}, 'type'), h('dd', {}, v.elem_type ?? '?'), h('dt', {}, 'shape'), h('dd', {}, dims(v.shape) || 'unknown')),
      h('h4', {}, b.kind === 'input' ? 'Read by' : 'Made by'),
      h('ul', { class: 'io-list' }, ends.map((x) => h('li', {}, boxLink(graph, x, go)))));
  }
  const n = graph.view.nodes[b.node];
  const attrs = Object.entries(n.attributes ?? {});
  const blocks = blocksOf(n);
  const open = (g) => {
    const k = blocks.findIndex((x) => x.graph === g);
    return k < 0 ? null : h('button', { type: 'button', class: 'button small open-block', 'aria-label': `Open ${blocks[k].label} as a graph`, onclick: () => onOpen(k) }, 'Open');
  };
  // A .pt2's nodes name the argument each input is given as (`weight`, `size`).
  const argName = (k) => (k >= 0 && n.input_args?.[k] ? h('span', { class: 'arg-name muted' }, `${n.input_args[k]}: `) : null);
  const inputRow = (name, k) => {
    if (!name) return h('li', { class: 'muted' }, `#${k} (not given)`);
    const init = graph.inits.get(name);
    if (init) {
      return h('li', { class: 'init' }, argName(k),
        init.tensor != null
          ? h('button', { type: 'button', class: 'link tensor-link', dataset: { tensor: init.tensor }, onclick: () => onTensor(init.tensor) }, name)
          : h('span', { class: 'mono' }, name),
        h('span', { class: 'io-meta' }, `${String(init.dtype).toLowerCase()} ${dims(init.shape)}`));
    }
    const from = graph.producer.get(name);
    return h('li', {}, argName(k), h('span', { class: 'mono value-name' }, name), from != null ? h('span', { class: 'io-meta' }, 'from ', boxLink(graph, from, go)) : h('span', { class: 'io-meta muted' }, 'unknown'),
      valueType(graph, name));
  };
  const outputRow = (name) => {
    const to = graph.consumers.get(name) ?? [];
    return h('li', {}, h('span', { class: 'mono value-name' }, name || '(not used)'), valueType(graph, name),
      to.length ? h('span', { class: 'io-meta' }, 'to ', to.slice(0, 8).map((x, k) => [k ? ', ' : '', boxLink(graph, x, go)]), to.length > 8 ? ` and ${to.length - 8} more` : '') : null);
  };
  return h('section', { class: 'node-details', 'aria-label': `Node ${n.name || n.op_type}` },
    h('header', {}, h('span', { class: `badge op-badge cat-${b.category}` }, n.op_type), n.domain ? h('span', { class: 'muted small' }, n.domain) : null, close),
    h('h3', { class: 'node-title', title: n.name }, n.name || h('span', { class: 'muted' }, `unnamed node #${n.index}`)),
    n.module != null ? h('p', { class: 'node-module small' }, 'in ', h('span', { class: 'mono' }, n.module || '(root module)'), n.module_class ? h('span', { class: 'muted' }, ` ${n.module_class}`) : null) : null,
    n.stack_trace ? h('details', { class: 'stack-trace' }, h('summary', {}, 'Source'), h('pre', { class: 'mono small' }, n.stack_trace)) : null,
    h('h4', {}, `Inputs (${n.inputs.length})`),
    h('ul', { class: 'io-list' }, n.inputs.map(inputRow)),
    n.outer_inputs?.length ? [h('h4', {}, 'From enclosing scopes'), h('ul', { class: 'io-list' }, n.outer_inputs.map((name) => inputRow(name, -1)))] : null,
    h('h4', {}, `Outputs (${n.outputs.length})`),
    h('ul', { class: 'io-list' }, n.outputs.map(outputRow)),
    h('h4', {}, `Attributes (${attrs.length})`),
    attrs.length
      ? h('table', { class: 'grid attrs' }, h('tbody', {}, attrs.map(([k, v]) => h('tr', { dataset: { attr: k } },
          h('th', { scope: 'row' }, k, n.keywords?.includes(k) ? h('span', { class: 'muted small', title: 'given by keyword' }, ' (kw)') : null), h('td', {}, attributeValue(v, open))))))
      : h('p', { class: 'muted small' }, 'None.'));
}

function valueType(graph, name) {
  const t = graph.valueType(name);
  return t ? h('span', { class: 'io-meta muted' }, t) : null;
}

function boxLink(graph, box, go) {
  const b = graph.boxes[box];
  const label = b.kind === 'node' ? graph.view.nodes[b.node].op_type : `${b.kind} ${b.name}`;
  const title = b.kind === 'node' ? graph.view.nodes[b.node].name : b.name;
  return h('button', { type: 'button', class: 'link', title, onclick: () => go(box) }, label);
}

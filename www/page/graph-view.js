// A model's graph in the page (ONNX, a .pt2's exported program): the diagram (graph-canvas.js, laid out in the worker by
// workers/graph-layout.js) or the node list (also the fallback for graphs too big to draw); search by node
// or tensor name, keyboard navigation through what it finds, and a details card for the node
// clicked (node-details.js).
//
// Keys: `/` focuses the search box; there ↓ / ↑ step through the matches, Enter opens the current
// one's details, Tab goes to it, Esc clears. On a node: Tab moves on through the matches, arrows
// follow edges (or step through the matches while searching), Enter opens details, Esc closes
// them, + / - / 0 zoom, Backspace goes back out of a block.
//
// A control node's blocks (If branches, Loop bodies) open as graphs in the same view, from the
// details card or the block's row in its box, with a breadcrumb back out (shared/blocks.js makes
// a block's view; the worker lays it out).

import { h, announce } from './dom.js';
import { blockView, blocksOf } from '../shared/blocks.js';
import * as fmt from './format.js';
import { TreeView } from './tree.js';
import { nodeDetails } from './node-details.js';
import { DiagramCanvas } from './graph-canvas.js';

/** Op types by the colour they are drawn in. */
const CATEGORIES = {
  layer: 'Conv ConvTranspose ConvInteger QLinearConv Gemm MatMul MatMulInteger QLinearMatMul Einsum LSTM GRU RNN Attention MultiHeadAttention DeformConv',
  activation: 'Relu LeakyRelu PRelu Elu Selu Celu Gelu FastGelu Sigmoid HardSigmoid HardSwish Swish Tanh Softmax LogSoftmax Softplus Softsign Mish Erf Clip ThresholdedRelu QuickGelu BiasGelu',
  norm: 'BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LpNormalization SimplifiedLayerNormalization SkipLayerNormalization SkipSimplifiedLayerNormalization RMSNormalization MeanVarianceNormalization LRN Dropout',
  pool: 'MaxPool AveragePool GlobalAveragePool GlobalMaxPool GlobalLpPool LpPool MaxRoiPool RoiAlign MaxUnpool Resize Upsample',
  shape: 'Reshape Flatten Squeeze Unsqueeze Transpose Concat Split Slice Gather GatherElements GatherND Scatter ScatterND ScatterElements Expand Tile Pad Shape Size ConstantOfShape Range Identity Cast CastLike DepthToSpace SpaceToDepth Trilu OneHot NonZero Where Compress',
  constant: 'Constant',
  control: 'If Loop Scan SequenceMap',
  quant: 'QuantizeLinear DequantizeLinear DynamicQuantizeLinear',
};
const CATEGORY_OF = new Map(Object.entries(CATEGORIES).flatMap(([c, ops]) => ops.split(' ').map((op) => [op, c])));
const TORCH_CATEGORIES = {
  layer: 'conv1d conv2d conv3d convolution _convolution conv_transpose1d conv_transpose2d conv_transpose3d linear matmul mm bmm addmm baddbmm einsum embedding scaled_dot_product_attention _scaled_dot_product_flash_attention_for_cpu _transformer_encoder_layer_fwd _native_multi_head_attention lstm gru rnn_tanh rnn_relu',
  activation: 'relu relu_ relu6 gelu silu sigmoid tanh softmax _softmax log_softmax hardtanh hardswish hardsigmoid leaky_relu elu selu celu mish softplus prelu glu',
  norm: 'batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training _native_batch_norm_legit_functional native_batch_norm layer_norm native_layer_norm group_norm native_group_norm instance_norm rms_norm dropout native_dropout feature_dropout alpha_dropout',
  pool: 'max_pool1d max_pool2d max_pool3d max_pool2d_with_indices avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool2d upsample_nearest2d upsample_bilinear2d interpolate',
  shape: 'view reshape _reshape_alias permute transpose t flatten unflatten squeeze unsqueeze cat stack split split_with_sizes chunk select slice expand expand_as contiguous clone index index_select gather scatter narrow repeat tile pad constant_pad_nd sym_size sym_numel size dim detach alias _to_copy to type_as unbind __getitem__ len',
  constant: 'full full_like zeros zeros_like ones ones_like arange empty scalar_tensor lift_fresh_copy tensor',
  // TorchScript's prim::If and prim::Loop.
  control: 'cond while_loop map scan If Loop',
};
for (const [c, ops] of Object.entries(TORCH_CATEGORIES)) for (const op of ops.split(' ')) CATEGORY_OF.set(`torch:${op}`, c);
/** `aten.conv2d.default`, `aten::conv2d`, `torch.conv2d`: the operator's own name, `conv2d`. */
const torchOp = (op) => {
  const parts = op.split(/::|\./);
  return parts.length >= 3 && parts[0] !== 'torch' ? parts[1] : parts[parts.length - 1];
};
const opCategory = (op) => CATEGORY_OF.get(op) ?? (/[.:]/.test(op) ? CATEGORY_OF.get(`torch:${torchOp(op)}`) : null) ?? 'math';

/** The view's values: who makes each, who reads it; initializers by name. */
class GraphIndex {
  constructor(view, layout) {
    this.view = view;
    this.boxes = layout.boxes;
    this.edges = layout.edges;
    this.inits = new Map(view.initializers.map((t) => [t.name, t]));
    this.producer = new Map();
    this.consumers = new Map();
    const read = (name, box) => {
      if (!name || this.inits.has(name)) return;
      if (!this.consumers.has(name)) this.consumers.set(name, []);
      const list = this.consumers.get(name);
      if (list[list.length - 1] !== box) list.push(box);
    };
    this.boxes.forEach((b, i) => {
      if (b.kind === 'input') this.producer.set(b.name, i);
      else if (b.kind === 'output') read(b.name, i);
      else {
        const n = view.nodes[b.node];
        b.category = opCategory(n.op_type);
        for (const o of n.outputs) if (o && !this.producer.has(o)) this.producer.set(o, i);
        for (const name of n.inputs) read(name, i);
        for (const name of n.outer_inputs ?? []) read(name, i);
      }
    });
  }

  /** Text a search looks in: name, op type, the names of the values in and out, the module. */
  haystack(i) {
    const b = this.boxes[i];
    if (b.kind !== 'node') return b.name.toLowerCase();
    const n = this.view.nodes[b.node];
    return `${n.name}\n${n.op_type}\n${n.inputs.join('\n')}\n${n.outputs.join('\n')}${n.module ? `\n${n.module}` : ''}`.toLowerCase();
  }

  /** The type and shape the file records for a value: "float32 [batch, 64]", or null. */
  valueType(name) {
    const v = Object.hasOwn(this.view.values, name) ? this.view.values[name] : null;
    if (!v) return null;
    const type = String(v.elem_type).toLowerCase();
    // TorchScript records a type without a shape.
    return v.shape ? `${type} [${v.shape.map((d) => (d == null ? '?' : d)).join(', ')}]` : type;
  }

  label(i) {
    const b = this.boxes[i];
    if (b.kind !== 'node') return b.outer ? `outside value ${b.name}` : `graph ${b.kind} ${b.name}`;
    const n = this.view.nodes[b.node];
    const blocks = blocksOf(n).map((x) => x.label);
    return `${n.name ? `${n.op_type} ${n.name}` : n.op_type}${blocks.length ? `, blocks ${blocks.join(', ')} (open them from its details)` : ''}`;
  }
}

export class GraphView {
  /**
   * {view, layout (from the worker), onTensor(i): show a tensor, layoutOf(view): a promise of the
   * worker's `{layout}` for a view (a block opened as a graph)}
   */
  constructor({ view, layout, onTensor, layoutOf }) {
    this.onTensor = onTensor;
    this.layoutOf = layoutOf;
    this.matches = [];
    this.current = -1; // index into matches
    this.selected = -1; // box

    this.search = h('input', { type: 'search', class: 'filter graph-search', placeholder: 'Search nodes and tensors  (/)', 'aria-label': 'Search nodes by name, op type or tensor name', autocomplete: 'off', spellcheck: 'false' });
    this.search.addEventListener('input', () => this.runSearch());
    this.search.addEventListener('keydown', (e) => this.onSearchKey(e));
    this.count = h('span', { class: 'muted filter-count graph-count', 'aria-live': 'polite' });
    const button = (label, title, onclick) => h('button', { type: 'button', class: 'button small', title, 'aria-label': title, onclick }, label);
    this.modeButtons = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Show as' },
      (this.diagramButton = h('button', { type: 'button', class: 'button small', 'aria-pressed': 'true', onclick: () => this.setMode('diagram') }, 'Diagram')),
      (this.listButton = h('button', { type: 'button', class: 'button small', 'aria-pressed': 'false', onclick: () => this.setMode('list') }, 'List')));
    this.zoomButtons = h('div', { class: 'zoom-buttons', role: 'group', 'aria-label': 'Zoom' },
      button('−', 'Zoom out (-)', () => this.canvas.zoomBy(1 / 1.25)), button('+', 'Zoom in (+)', () => this.canvas.zoomBy(1.25)), button('Fit', 'Fit the whole graph (0)', () => this.canvas.fit()));
    const toolbar = h('div', { class: 'toolbar graph-toolbar' }, this.search,
      button('↑', 'Previous match (↑)', () => this.step(-1)), button('↓', 'Next match (↓)', () => this.step(1)),
      this.count, h('span', { class: 'toolbar-gap' }), this.zoomButtons, this.modeButtons);

    this.note = h('p', { class: 'graph-note', role: 'note', hidden: true });
    // Where a block opened as a graph sits: the graph, the control node, the block (Backspace on a node goes up).
    this.crumbs = h('nav', { class: 'graph-crumbs', 'aria-label': 'Graph level', hidden: true });
    this.detailsEl = h('div', { class: 'details-host', hidden: true });
    this.detailsEl.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.closeDetails();
    });
    this.body = h('div', { class: 'graph-body' }, this.detailsEl);
    this.el = h('div', { class: 'graph' }, this.note, toolbar, this.crumbs, this.body);
    /** The levels shown, outermost first: the model's graph, then each block opened inside the last. */
    this.levels = [];
    this.enter({ view, layout, label: 'graph' });

    // `/` searches when this graph is on screen (app.js only knows the weights filter).
    this.onSlash = (e) => {
      if (!this.el.isConnected) return document.removeEventListener('keydown', this.onSlash);
      if (e.key !== '/' || e.defaultPrevented || e.target.closest?.('input, textarea, select') || !this.el.offsetParent) return;
      e.preventDefault();
      this.search.focus();
    };
    document.addEventListener('keydown', this.onSlash);
  }

  /** The shown level's index (GraphIndex), diagram (none for a graph too big to draw) and node list (once built). */
  get graph() { return this.level.graph; }
  get canvas() { return this.level.canvas; }
  get list() { return this.level.list; }

  // ---- levels: the graph, and blocks opened as graphs ----

  /** Shows a new innermost level `{view, layout, label, from?, nodeLabel?}`. */
  enter(level) {
    this.levels.push(level);
    level.graph = new GraphIndex(level.view, level.layout);
    if (!level.layout.tooBig) level.canvas = this.makeCanvas(level);
    this.show(level);
  }

  /** Puts level's diagram or list in the body, with an empty search and no selection. */
  show(level) {
    if (this.level) {
      this.clearSelection();
      this.level.canvas?.el.remove();
      this.level.list?.el.remove();
    }
    this.level = level;
    const drawn = Boolean(level.canvas);
    // A diagram put back keeps its view: its ResizeObserver sets it again.
    if (drawn) this.body.prepend(level.canvas.el);
    if (level.list) this.body.prepend(level.list.el);
    this.note.hidden = drawn;
    this.note.textContent = drawn ? '' : `No diagram: ${level.layout.tooBig}. Here is the node list, in topological order.`;
    this.modeButtons.hidden = !drawn;
    this.el.dataset.nodes = level.view.nodes.length;
    this.el.dataset.level = this.levels.length - 1;
    this.search.value = '';
    this.setMode(drawn && this.mode !== 'list' ? 'diagram' : 'list');
    this.runSearch();
    this.renderCrumbs();
  }

  makeCanvas(level) {
    const canvas = new DiagramCanvas({
      graph: level.graph,
      layout: level.layout,
      onActivate: (i, { tensor, block }) => {
        this.select(i, { focus: true });
        // A weight's row shows that weight; a block's row opens the block.
        if (tensor != null) this.onTensor(tensor);
        if (block != null) this.openBlock(i, block);
      },
      onKey: (e, i) => this.onNodeKey(e, i),
    });
    canvas.svg.addEventListener('focusin', (e) => {
      const i = Number(e.target.closest?.('.gnode')?.dataset.box);
      if (Number.isNaN(i)) return;
      const m = this.matches.indexOf(i);
      if (m >= 0) this.setCurrent(m, false);
      if (!this.matches.length) canvas.setTabStop(i);
      canvas.reveal(i, false);
    });
    return canvas;
  }

  /** Opens block k (in blocksOf order) of the node at box i as the innermost level. */
  async openBlock(i, k) {
    const n = this.graph.view.nodes[this.graph.boxes[i].node];
    const block = blocksOf(n)[k];
    const view = blockView(this.graph.view, block);
    const asked = (this.asked = {});
    let layout;
    try {
      ({ layout } = await this.layoutOf(view));
    } catch (err) {
      announce(`Could not open ${block.label}: ${err.message}`);
      return;
    }
    // Only the last block asked for opens, and only if the view has not moved since.
    if (asked !== this.asked || this.graph.view.nodes[this.graph.boxes[i].node] !== n) return;
    const nodeLabel = n.name ? `${n.op_type} "${n.name}"` : n.op_type;
    this.enter({ view, layout, label: block.label, from: i, nodeLabel });
    announce(`Showing ${block.label} of ${nodeLabel}: ${fmt.grouped(view.nodes.length)} node${view.nodes.length === 1 ? '' : 's'}. Backspace on a node goes back out.`);
    this.focusFirst();
  }

  /** Goes back to level d; `node` (a box there) is selected and focused, else the level's first box. */
  back(d, node = null) {
    if (d >= this.levels.length - 1 && node == null) return;
    this.asked = null;
    this.levels.length = d + 1;
    this.show(this.levels[d]);
    announce(`Showing ${d ? this.levels[d].label : 'the graph'}.`);
    if (node != null) this.select(node, { focus: true });
    else this.focusFirst();
  }

  focusFirst() {
    if (!this.graph.boxes.length) this.search.focus();
    else if (this.mode === 'list') {
      this.list.reveal(this.listKey(0));
      this.list.el.focus();
    } else this.focusNode(0);
  }

  /** `graph › If "name" › then_branch`: each crumb but the last goes back to its level. */
  renderCrumbs() {
    const crumb = (label, onclick) => h('li', {}, h('button', { type: 'button', class: 'link', onclick }, label));
    const items = this.levels.flatMap((level, d) => {
      const node = d ? [crumb(level.nodeLabel, () => this.back(d - 1, level.from))] : [];
      const last = d === this.levels.length - 1;
      return [...node, last ? h('li', { 'aria-current': 'location' }, level.label) : crumb(level.label, () => this.back(d))];
    });
    this.crumbs.replaceChildren(h('ol', {}, items));
    this.crumbs.hidden = this.levels.length === 1;
  }

  setMode(mode) {
    this.mode = mode;
    if (mode === 'list' && !this.list) this.buildList();
    if (this.canvas) this.canvas.el.hidden = mode !== 'diagram';
    if (this.list) this.list.el.hidden = mode !== 'list';
    this.diagramButton?.setAttribute('aria-pressed', String(mode === 'diagram'));
    this.listButton?.setAttribute('aria-pressed', String(mode === 'list'));
    if (this.zoomButtons) this.zoomButtons.hidden = mode !== 'diagram';
    this.el.dataset.mode = mode;
    if (mode === 'list') {
      this.list.setFilter(this.search.value);
      if (this.selected >= 0) this.list.reveal(this.listKey(this.selected));
    }
  }

  /** Moves keyboard focus to box i, in the diagram or the list. */
  focusNode(i) {
    if (this.mode === 'list') this.list.reveal(this.listKey(i));
    else {
      if (!this.matches.length) this.canvas.setTabStop(i);
      this.canvas.focus(i);
    }
  }

  onNodeKey(e, i) {
    const key = e.key;
    let handled = true;
    if (key === 'Enter' || key === ' ') this.select(i, { focus: false });
    else if (key === 'Escape') {
      if (this.selected >= 0) this.closeDetails();
      else this.search.focus();
    } else if (key === 'Backspace' && this.levels.length > 1) {
      const d = this.levels.length - 1;
      this.back(d - 1, this.levels[d].from);
    } else if (key === '+' || key === '=') this.canvas.zoomBy(1.25);
    else if (key === '-') this.canvas.zoomBy(1 / 1.25);
    else if (key === '0') this.canvas.fit();
    else if (key.startsWith('Arrow')) {
      if (this.matches.length) this.step(key === 'ArrowDown' || key === 'ArrowRight' ? 1 : -1, true);
      else {
        const next = this.neighbour(i, key);
        if (next != null) this.focusNode(next);
      }
    } else handled = false;
    if (handled) e.preventDefault();
  }

  /** Following edges: ↑ a producer, ↓ a consumer, ← → the boxes beside in the same layer. */
  neighbour(i, key) {
    const { boxes, edges } = this.graph;
    const b = boxes[i];
    const cx = (j) => boxes[j].x + boxes[j].w / 2;
    const closest = (list) => list.reduce((best, j) => (best == null || Math.abs(cx(j) - cx(i)) < Math.abs(cx(best) - cx(i)) ? j : best), null);
    if (key === 'ArrowUp') return closest(edges.filter((e) => e.to === i).map((e) => e.from));
    if (key === 'ArrowDown') return closest(edges.filter((e) => e.from === i && !e.trunk).map((e) => e.to));
    return closest(boxes.map((_, j) => j).filter((j) => boxes[j].layer === b.layer && (key === 'ArrowLeft' ? cx(j) < cx(i) : cx(j) > cx(i))));
  }

  // ---- search ----

  runSearch() {
    const q = this.search.value.trim().toLowerCase();
    if (this.list && this.mode === 'list') this.list.setFilter(q);
    this.matches = [];
    this.current = -1;
    if (q) {
      this.level.hay ??= this.graph.boxes.map((_, i) => this.graph.haystack(i));
      this.level.hay.forEach((text, i) => {
        if (text.includes(q)) this.matches.push(i);
      });
    }
    this.canvas?.setMatches(this.matches, -1);
    if (this.matches.length) this.setCurrent(0, true);
    else {
      const n = this.graph.view.nodes.length;
      this.count.textContent = q ? 'no match' : `${fmt.grouped(n)} node${n === 1 ? '' : 's'}`;
    }
  }

  setCurrent(m, show) {
    this.current = m;
    const i = this.matches[m];
    this.canvas?.setCurrent(i);
    this.count.textContent = `${fmt.grouped(m + 1)} of ${fmt.grouped(this.matches.length)}`;
    if (show) {
      if (this.mode === 'list') this.list.reveal(this.listKey(i));
      else this.canvas.reveal(i);
    }
  }

  /** The next (d = 1) or previous (-1) match; `focus` moves keyboard focus to it. */
  step(d, focus = false) {
    if (!this.matches.length) return;
    const m = (this.current + d + this.matches.length) % this.matches.length;
    this.setCurrent(m, true);
    if (focus) this.focusNode(this.matches[m]);
  }

  onSearchKey(e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.step(e.key === 'ArrowDown' ? 1 : -1);
    } else if (e.key === 'Tab' && !e.shiftKey && this.current >= 0 && this.mode === 'diagram') {
      // Straight to the current match; from there Tab goes on through the others.
      e.preventDefault();
      this.focusNode(this.matches[this.current]);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (this.current >= 0) this.select(this.matches[this.current], { focus: false });
    } else if (e.key === 'Escape' && this.search.value) {
      e.preventDefault();
      this.search.value = '';
      this.runSearch();
    }
  }

  // ---- selection and details ----

  select(i, { focus }) {
    this.selected = i;
    this.canvas?.setSelected(i);
    this.el.dataset.selected = i;
    this.detailsEl.replaceChildren(nodeDetails(this.graph, i, {
      go: (j) => {
        this.select(j, { focus: false });
        this.focusNode(j);
      },
      onTensor: (t) => this.onTensor(t),
      onClose: () => this.closeDetails(),
      onOpen: (k) => this.openBlock(i, k),
    }));
    this.detailsEl.hidden = false;
    if (this.canvas) this.canvas.insetRight = this.detailsEl.offsetWidth + 16;
    // The node's first weight shows in the tensor panel.
    const b = this.graph.boxes[i];
    if (b.kind === 'node') {
      const w = this.graph.view.nodes[b.node].inputs.map((name) => this.graph.inits.get(name)).find((t) => t?.tensor != null);
      if (w) this.onTensor(w.tensor);
    }
    if (this.mode === 'diagram') {
      this.canvas.reveal(i, false);
      if (focus) this.canvas.focus(i);
    }
  }

  closeDetails() {
    const i = this.selected;
    if (i < 0) return;
    this.clearSelection();
    if (this.mode === 'diagram') this.canvas.focus(i);
    else this.list.el.focus();
  }

  clearSelection() {
    if (this.selected < 0) return;
    this.selected = -1;
    this.canvas?.setSelected(-1);
    delete this.el.dataset.selected;
    this.detailsEl.hidden = true;
    this.detailsEl.replaceChildren();
    if (this.canvas) this.canvas.insetRight = 0;
  }

  // ---- the node list ----

  /** A box's key in the list: TreeView filters on keys, so the key is the searchable text. */
  listKey(i) {
    if (!this.level.listKeys) {
      const seen = new Set();
      this.level.listKeys = this.graph.boxes.map((_, j) => {
        let key = this.graph.haystack(j);
        while (seen.has(key)) key += '\u200b'; // unique, and still found by the same searches
        seen.add(key);
        return key;
      });
    }
    return this.level.listKeys[i];
  }

  buildList() {
    const { graph } = this;
    const { boxes, view } = graph;
    const children = new Map();
    boxes.forEach((b, i) => {
      children.set(String(i), { name: b.kind === 'node' ? view.nodes[b.node].op_type : b.name, key: this.listKey(i), box: i, children: null });
    });
    this.level.list = new TreeView({
      root: { name: '', key: '', children },
      label: 'Graph nodes in topological order',
      // Rows of this level's graph, whichever level is shown when the list draws them.
      renderRow: (node, row) => this.listRow(graph, node, row),
      onSelect: (node) => {
        if (node.box !== this.selected) this.select(node.box, { focus: false });
      },
    });
    this.list.el.classList.add('node-list');
    this.body.prepend(this.list.el);
  }

  listRow(graph, node, row) {
    const b = graph.boxes[node.box];
    if (b.kind !== 'node') {
      row.append(h('span', { class: `badge io-${b.kind}` }, b.kind), h('span', { class: 'node-name' }, b.name));
      return;
    }
    const n = graph.view.nodes[b.node];
    const flow = `${n.inputs.filter((x) => x && !graph.inits.has(x)).join(', ')} → ${n.outputs.join(', ')}`;
    row.append(h('span', { class: `op-chip cat-${b.category}` }, n.op_type), h('span', { class: 'node-name' }, n.name || `#${n.index}`),
      h('span', { class: 'node-meta muted mono', title: flow }, flow));
  }
}

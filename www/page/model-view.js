// One opened model: its header (format, kind, sizes, safety), and sections for the weights
// (the state_dict tree), the checkpoint's other parts, modules, TorchScript code and the graph
// (ONNX, .pt2, TorchScript: graph-section.js).

import { h, download } from './dom.js';
import * as fmt from './format.js';
import * as D from './doc.js';
import { TreeView } from './tree.js';
import { TensorPanel } from './tensor-panel.js';
import { valueNode, scalarText } from './value-tree.js';
import { graphHost, graphProblems, pt2Section, torchscriptSection } from './graph-section.js';
import { verdictText, verdictBadge, findingsPanel, HealthView } from './checks-view.js';
import { RunPanel } from './run-panel.js';
import { dtype as dtypeFacts } from './dtypes.js';
import { ArchitectureView, familySummary } from './architecture-view.js';

/** Exports bigger than this stream into a file from the save picker, where there is one. */
const BIG_EXPORT = 512 << 20;

const stem = (name) => name.replace(/\.[^.]*$/, '') || name;

export class ModelView {
  constructor({ client, modelId, doc, json, files, ms, onClose, runPeers = () => [] }) {
    this.client = client;
    this.modelId = modelId;
    this.doc = doc;
    this.json = json;
    this.files = files;
    this.runPeers = runPeers;
    this.sharing = D.sharing(doc);
    this.keyOf = new Map();
    for (const e of doc.state_dict) if (!this.keyOf.has(e.tensor)) this.keyOf.set(e.tensor, e.key);
    this.panel = new TensorPanel({
      client,
      modelId,
      doc,
      sharing: this.sharing,
      nameOf: (i) => this.nameOf(i),
      onNavigate: (i) => this.showTensor(i, true),
      onExportNpy: (i, label, button) => this.exportFile('export-npy', { tensor: i }, `${label}.npy`, D.numel(doc.tensors[i]) * 4, button),
    });
    this.sections = [];
    this.el = h('article', { class: 'model', dataset: { model: modelId } });
    this.el.append(this.header(ms, onClose));
    const tabs = this.buildSections();
    this.el.append(h('div', { class: `model-body${doc.tensors.length ? '' : ' no-tensors'}` }, h('div', { class: 'model-main' }, tabs),
      doc.tensors.length ? h('aside', { class: 'model-side' }, this.panel.el) : null));
  }

  stateDictBytes() {
    return this.doc.state_dict.reduce((a, e) => a + D.numel(this.doc.tensors[e.tensor]) * D.itemsize(this.doc.tensors[e.tensor].dtype), 0);
  }

  /**
   * Runs an export in the worker. Big outputs stream into a file chosen with the save picker
   * (File System Access, where the browser has it); others come back as a Blob to download.
   */
  async exportFile(type, payload, name, bytes, button) {
    let handle = null;
    if (bytes > BIG_EXPORT && window.showSaveFilePicker) {
      try {
        handle = await window.showSaveFilePicker({ suggestedName: name });
      } catch {
        return; // the user closed the picker
      }
    }
    const status = this.exportStatus;
    const bar = h('progress', { max: 1, value: 0, 'aria-label': `Writing ${name}` });
    const { id, promise } = this.client.request(type, { model: this.modelId, ...payload, handle }, {
      onProgress: (p) => { bar.value = p.total ? p.done / p.total : 0; },
    });
    status.replaceChildren(`Writing ${name} `, bar, ' ', h('button', { type: 'button', class: 'link', onclick: () => this.client.cancel(id) }, 'Cancel'));
    if (button) button.disabled = true;
    try {
      const r = await promise;
      if (r.blob) download(name, r.blob);
      status.textContent = `Saved ${name} (${fmt.bytes(r.bytes)}${r.skipped?.length ? `; skipped ${r.skipped.length} tensors safetensors cannot hold` : ''}${type === 'export-npy' && r.dtype !== this.doc.tensors[payload.tensor]?.dtype ? `; written as ${r.dtype}` : ''}).`;
    } catch (err) {
      status.textContent = err.name === 'Cancelled' ? 'Export cancelled.' : `Export failed: ${err.message}`;
    } finally {
      if (button) button.disabled = false;
    }
  }

  nameOf(i) {
    return this.keyOf.get(i) ?? this.doc.tensors[i]?.path.join('.') ?? `tensor ${i}`;
  }

  /** Shows tensor i; in the weights tree too when it is there. */
  showTensor(i, reveal = false) {
    if (reveal && this.weightsTree && this.keyOf.has(i)) {
      this.selectSection('weights');
      if (!this.weightsTree.reveal(this.keyOf.get(i))) this.panel.show(i);
      return;
    }
    this.panel.show(i);
  }

  /** Shows the tensor of a state_dict key in the weights tree. */
  /** The open models changed: the Run section's Compare outputs offers the ones it can compare with. */
  peersChanged() {
    this.runPanel?.refreshPeers();
  }

  showKey(key) {
    const entry = this.doc.state_dict.find((e) => e.key === key);
    if (entry) this.showTensor(entry.tensor, true);
  }

  header(ms, onClose) {
    const { doc } = this;
    const size = (doc.files ?? []).reduce((a, f) => a + f.bytes, 0) || this.files.reduce((a, f) => a + f.size, 0);
    const params = D.paramCount(doc, this.sharing);
    const [, verdictHelp] = verdictText(doc.safety, doc.format);
    const facts = [
      ['format', doc.format],
      ['kind', doc.kind.replace('_', ' ')],
      ['size', fmt.bytes(size)],
      ['tensors', fmt.grouped(doc.tensors.length)],
      ['parameters', `${fmt.count(params)}`, `${fmt.grouped(params)} elements in the state_dict (tied weights once)`],
      familySummary(doc.architecture) ? ['architecture', familySummary(doc.architecture), 'Recognised from the keys and shapes: see the Architecture section'] : null,
    ].filter(Boolean);
    const byDtype = D.bytesByDtype(doc);
    const scalars = D.topScalars(doc);
    const scalarEls = scalars.map((s) => {
      const value = h('span', { class: 'scalar-value' }, s.tensor != null ? '…' : scalarText(s.value));
      if (s.tensor != null) {
        this.client.request('tensor-values', { model: this.modelId, tensor: s.tensor, limit: 1 }).promise
          .then((r) => { value.textContent = fmt.value(r.values[0], doc.tensors[s.tensor].dtype); value.title = `a ${doc.tensors[s.tensor].dtype} tensor`; })
          .catch(() => { value.textContent = 'tensor'; });
      }
      return h('div', { class: 'scalar', dataset: { scalar: s.key } }, h('span', { class: 'scalar-key' }, s.key), value);
    });
    const names = this.files.map((f) => f.name);
    return h('header', { class: 'model-header' },
      h('div', { class: 'title-row' },
        h('h2', { class: 'model-title', title: names.join(', ') }, names.length > 2 ? `${names[0]} + ${names.length - 1} files` : names.join(' + ')),
        verdictBadge(doc.safety, verdictHelp, doc.format),
        this.exportStatus = h('span', { class: 'export-status muted small', role: 'status' }),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'button', onclick: () => download(`${names[0]}.torchpeek.json`, new Blob([JSON.stringify(JSON.parse(this.json), null, 1)], { type: 'application/json' })) }, 'Export JSON'),
          doc.state_dict.length
            ? h('button', { type: 'button', class: 'button export-safetensors', title: 'The state_dict as a .safetensors file, converted here',
                onclick: (e) => this.exportFile('export-safetensors', {}, `${stem(names[0])}.safetensors`, this.stateDictBytes(), e.currentTarget) }, 'Save .safetensors')
            : null,
          h('button', { type: 'button', class: 'button', 'aria-label': `Close ${names.join(', ')}`, onclick: onClose }, 'Close'))),
      h('dl', { class: 'facts' }, facts.map(([k, v, title]) => h('div', { title }, h('dt', {}, k), h('dd', { dataset: { fact: k } }, v)))),
      byDtype.length ? h('ul', { class: 'dtypes', 'aria-label': 'Bytes by dtype' }, byDtype.map(([dt, b]) => h('li', {}, h('span', { class: 'dtype' }, dt), ' ', fmt.bytes(b)))) : null,
      findingsPanel(doc.safety, verdictHelp),
      doc.errors?.length
        ? h('div', { class: 'doc-errors', role: 'note' }, h('strong', {}, `${doc.errors.length} problem${doc.errors.length > 1 ? 's' : ''} while reading: `),
            h('ul', {}, doc.errors.slice(0, 20).map((e) => h('li', {}, e.path?.length ? `${[].concat(e.path).join(' › ')}: ` : '', e.message))))
        : null,
      scalarEls.length ? h('div', { class: 'scalars', 'aria-label': 'Checkpoint values' }, scalarEls) : null,
      ms != null ? h('p', { class: 'muted small opened-in' }, `Opened in ${fmt.ms(ms)}.`) : null);
  }

  buildSections() {
    const { doc } = this;
    const add = (id, label, build) => this.sections.push({ id, label, build, panel: null });
    // An ONNX file is its graph first.
    if (doc.onnx) add('onnx', `Graph (${fmt.grouped(doc.onnx.node_count)} nodes)`, () => this.onnxSection());
    if (doc.pt2) add('graph', `Graph (${fmt.grouped(doc.pt2.node_count)} nodes)`, () => pt2Section({ doc, client: this.client, modelId: this.modelId, onTensor: (i) => this.showTensor(i), tensorOfKey: (k) => doc.state_dict.find((e) => e.key === k)?.tensor, onGraphView: (g) => { this.graphView = g; } }));
    if (doc.format === 'torchscript' && doc.code?.length) add('graph', 'Graph', () => torchscriptSection({ client: this.client, modelId: this.modelId, onTensor: (i) => this.showTensor(i), onGraphView: (g) => { this.graphView = g; } }));
    if (doc.state_dict.length) add('weights', `Weights (${fmt.grouped(doc.state_dict.length)})`, () => this.weightsSection());
    if (doc.architecture) add('architecture', 'Architecture', () => new ArchitectureView({ client: this.client, modelId: this.modelId, doc, onKey: (key) => this.showKey(key) }).el);
    const opts = D.optimizers(doc);
    if (opts.length) add('optimizer', 'Optimizer', () => this.optimizerSection(opts));
    if (doc.modules?.length) add('modules', `Modules (${doc.modules.length})`, () => this.modulesSection());
    if (doc.code?.length) add('code', 'Code', () => this.codeSection());
    if (doc.state_dict.length) add('health', 'Health', () => new HealthView({ client: this.client, modelId: this.modelId, doc, bytes: D.bytesByDtype(doc).reduce((a, [, b]) => a + b, 0), onKey: (key) => this.showKey(key) }).el);
    const run = runInputs(doc);
    if (run) add('run', 'Run', () => (this.runPanel = new RunPanel({ files: this.files, ...run, modelId: this.modelId, peers: () => this.runPeers() })).el);
    add('contents', doc.kind === 'checkpoint' ? 'Checkpoint contents' : 'Contents', () => this.contentsSection());
    if (!doc.state_dict.length && doc.tensors.length) add('tensors', `Tensors (${doc.tensors.length})`, () => this.tensorsSection());

    this.tablist = h('div', { class: 'section-tabs', role: 'tablist', 'aria-label': 'Sections' });
    this.panels = h('div', { class: 'section-panels' });
    this.sections.forEach((s, i) => {
      s.tab = h('button', { type: 'button', role: 'tab', id: `${this.modelId}-tab-${s.id}`, 'aria-controls': `${this.modelId}-panel-${s.id}`, 'aria-selected': 'false', tabindex: -1, dataset: { section: s.id }, onclick: () => this.selectSection(s.id) }, s.label);
      s.tab.addEventListener('keydown', (e) => {
        const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
        if (!d) return;
        e.preventDefault();
        const next = this.sections[(i + d + this.sections.length) % this.sections.length];
        this.selectSection(next.id);
        next.tab.focus();
      });
      s.panel = h('div', { role: 'tabpanel', id: `${this.modelId}-panel-${s.id}`, 'aria-labelledby': s.tab.id, class: `section section-${s.id}`, hidden: true });
      this.tablist.append(s.tab);
      this.panels.append(s.panel);
    });
    if (this.sections.length) this.selectSection(this.sections[0].id);
    return [this.tablist, this.panels];
  }

  selectSection(id) {
    for (const s of this.sections) {
      const on = s.id === id;
      s.tab.setAttribute('aria-selected', on ? 'true' : 'false');
      s.tab.tabIndex = on ? 0 : -1;
      s.panel.hidden = !on;
      if (on && !s.built) {
        s.built = true;
        s.panel.append(s.build());
      }
    }
    if (id === 'weights') this.weightsTree?.schedule();
  }

  weightsSection() {
    const { doc } = this;
    const root = D.collapseRepeats(D.stateDictTree(doc), doc.architecture);
    const tree = new TreeView({
      root,
      label: 'State dict',
      renderRow: (node, row) => this.weightsRow(node, row),
      onSelect: (node) => this.panel.show(node.tensor, node.key),
    });
    this.weightsTree = tree;
    const count = h('span', { class: 'muted filter-count', 'aria-live': 'polite' }, `${fmt.grouped(doc.state_dict.length)} tensors · ${fmt.count(root.params)} elements`);
    const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter by name  (/)', 'aria-label': 'Filter tensors by name', autocomplete: 'off', spellcheck: 'false' });
    filter.addEventListener('input', () => {
      tree.setFilter(filter.value);
      const n = tree.matchCount();
      count.textContent = n == null ? `${fmt.grouped(doc.state_dict.length)} tensors · ${fmt.count(root.params)} elements` : `${fmt.grouped(n)} of ${fmt.grouped(doc.state_dict.length)} tensors`;
    });
    filter.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'Enter') {
        e.preventDefault();
        tree.el.focus();
      } else if (e.key === 'Escape' && filter.value) {
        filter.value = '';
        filter.dispatchEvent(new Event('input'));
      }
    });
    this.filterInput = filter;
    // The first tensor shows right after the tree's first frame (its details would hold that frame back).
    const first = doc.state_dict[0];
    if (first) requestAnimationFrame(() => setTimeout(() => tree.reveal(first.key), 0));
    return h('div', { class: 'weights' },
      h('div', { class: 'toolbar' }, filter,
        h('button', { type: 'button', class: 'button small', onclick: () => tree.setAll(true) }, 'Expand all'),
        h('button', { type: 'button', class: 'button small', onclick: () => tree.setAll(false) }, 'Collapse all'),
        count),
      tree.el);
  }

  weightsRow(node, row) {
    row.append(h('span', { class: 'node-name' }, node.name));
    if (node.children) {
      if (node.repeat) row.title = `${node.repeat.count} identical blocks: the same keys, shapes and dtypes`;
      row.append(h('span', { class: 'node-meta muted' }, `${fmt.count(node.params)} · ${fmt.grouped(node.count)} tensor${node.count > 1 ? 's' : ''}`));
      return;
    }
    const t = this.doc.tensors[node.tensor];
    if (!t) return;
    const shared = this.sharing.get(node.tensor);
    if (shared) {
      const isTied = shared.some((j) => D.tied(t, this.doc.tensors[j]));
      row.append(h('span', { class: `badge ${isTied ? 'tied' : 'shared'}`, title: `${isTied ? 'Tied with' : 'Shares storage with'} ${shared.map((j) => this.nameOf(j)).join(', ')}` }, isTied ? 'tied' : 'shared'));
    }
    row.append(h('span', { class: 'node-meta' }, h('span', { class: 'shape' }, fmt.shape(t.shape)), h('span', { class: 'dtype' }, t.dtype)));
  }

  optimizerSection(opts) {
    const { doc } = this;
    const ctx = { doc, onTensor: (i) => this.showTensor(i) };
    return h('div', { class: 'optimizers' }, opts.map((opt) => {
      const names = D.paramNames(doc, opt);
      const cols = [];
      for (const g of opt.groups) for (const [k] of g.$dict) if (k !== 'params' && !cols.includes(k)) cols.push(k);
      const groupTable = h('table', { class: 'grid param-groups' },
        h('caption', {}, 'param_groups'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), cols.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'params'))),
        h('tbody', {}, opt.groups.map((g, i) => h('tr', {}, h('th', { scope: 'row' }, i),
          cols.map((c) => h('td', { dataset: { col: c } }, cellText(D.dictGet(g, c)))),
          h('td', {}, paramsText(D.dictGet(g, 'params')))))));
      let stateEl = null;
      if (D.isDict(opt.state) && opt.state.$dict.length) {
        const keys = [];
        for (const [, st] of opt.state.$dict) if (D.isDict(st)) for (const [k] of st.$dict) if (!keys.includes(k)) keys.push(k);
        const rows = opt.state.$dict.slice(0, 1000).map(([id, st]) => h('tr', {},
          h('th', { scope: 'row' }, String(id)),
          h('td', {}, names?.get(String(id)) ? h('button', { type: 'button', class: 'link', onclick: () => this.showTensor(this.doc.state_dict.find((e) => e.key === names.get(String(id))).tensor, true) }, names.get(String(id))) : h('span', { class: 'muted' }, '—')),
          keys.map((k) => {
            const v = D.dictGet(st, k);
            if (D.isTensor(v)) {
              const t = doc.tensors[v.$tensor];
              return h('td', {}, h('button', { type: 'button', class: 'link tensor-link', onclick: () => this.showTensor(v.$tensor) }, t && D.numel(t) === 1 && t.shape.length === 0 ? `${t.dtype} scalar` : t ? fmt.shape(t.shape) : 'tensor'));
            }
            return h('td', {}, v === undefined ? '' : cellText(v));
          })));
        stateEl = h('table', { class: 'grid param-state' },
          h('caption', {}, `Per-parameter state${names ? ' (mapped to state_dict names by order, checked against shapes)' : ' (the order does not map to state_dict names)'}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'id'), h('th', { scope: 'col' }, 'parameter'), keys.map((k) => h('th', { scope: 'col' }, k)))),
          h('tbody', {}, rows));
      }
      return h('section', { class: 'optimizer' },
        h('h3', {}, opt.path.length ? opt.path.join(' › ') : 'optimizer'),
        h('div', { class: 'table-scroll' }, groupTable),
        stateEl ? h('div', { class: 'table-scroll' }, stateEl) : h('p', { class: 'muted' }, 'No per-parameter state.'),
        ctx && null);
    }));
  }

  contentsSection() {
    const { doc } = this;
    const ctx = { doc, onTensor: (i) => this.showTensor(i, true) };
    const stateKeys = new Set(doc.state_dict.map((e) => doc.tensors[e.tensor]?.path[0]).filter((k) => k != null));
    const parts = [];
    if (D.isDict(doc.tree)) {
      // Small parts first (hyper-parameters, schedulers), the big state dicts last.
      const entries = [...doc.tree.$dict].sort((a, b) => (stateKeys.has(String(a[0])) ? 1 : 0) - (stateKeys.has(String(b[0])) ? 1 : 0));
      for (const [k, v] of entries) parts.push(valueNode(typeof k === 'string' ? k : scalarText(k), v, ctx, !stateKeys.has(String(k)) && !D.isScalar(v) && countNodes(v) < 200));
    } else parts.push(valueNode('root', doc.tree, ctx, true));
    return h('div', { class: 'contents value-tree' }, parts);
  }

  modulesSection() {
    const root = D.moduleTree(this.doc);
    const top = root.cls ? { name: '', key: '', children: new Map([['root', { ...root, name: '(root)', key: '' }]]) } : root;
    const tree = new TreeView({
      root: top,
      label: 'Modules',
      expandDepth: 3,
      renderRow: (node, row) => {
        row.append(h('span', { class: 'node-name' }, node.name), h('span', { class: 'node-class', title: node.cls }, node.cls ? node.cls.split('.').pop() : ''),
          h('span', { class: 'node-meta muted' }, node.params ? fmt.count(node.params) : ''));
      },
      onSelect: (node) => {
        const first = this.doc.state_dict.find((e) => e.key.startsWith(node.key ? `${node.key}.` : ''));
        if (first) this.panel.show(first.tensor);
      },
    });
    const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter modules', 'aria-label': 'Filter modules by name or class', oninput: () => tree.setFilter(filter.value) });
    return h('div', { class: 'modules' }, h('div', { class: 'toolbar' }, filter, h('span', { class: 'muted' }, root.cls ? `root: ${root.cls}` : '')), tree.el);
  }

  codeSection() {
    const code = this.doc.code;
    const pre = h('pre', { class: 'code', tabindex: 0 });
    const select = h('select', { 'aria-label': 'Code file' }, code.map((c, i) => h('option', { value: i }, c.name)));
    const show = () => {
      pre.textContent = code[Number(select.value)].text;
    };
    select.addEventListener('change', show);
    show();
    return h('div', { class: 'code-view' }, h('div', { class: 'toolbar' }, select, h('span', { class: 'muted' }, `${code.length} file${code.length > 1 ? 's' : ''}; shown as text, never run`)), pre);
  }

  onnxSection() {
    const o = this.doc.onnx;
    const io = (list) => h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['name', 'type', 'shape'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, (list ?? []).map((x) => h('tr', {}, h('td', {}, x.name), h('td', {}, x.elem_type), h('td', {}, x.shape ? fmt.shape(x.shape.map((d) => (d == null ? '?' : String(d)))) : 'unknown')))));
    const ops = Object.entries(o.op_types ?? {}).sort((a, b) => b[1] - a[1]);
    const fact = (k, v) => h('div', {}, h('dt', {}, k), h('dd', { dataset: { fact: k } }, v ?? '–'));
    const facts = h('dl', { class: 'facts onnx-facts' },
      fact('IR version', o.ir_version),
      fact('opsets', Object.entries(o.opsets ?? {}).map(([d, v]) => `${d} ${v}`).join(', ')),
      fact('producer', o.producer || '–'),
      fact('initializers', `${fmt.grouped(o.initializer_count)} · ${fmt.count(o.initializer_numel)} elements`));
    const notes = h('div', { class: 'onnx-notes' });
    const more = h('div', { class: 'onnx-more' });
    const host = graphHost({
      client: this.client, modelId: this.modelId, nodeCount: o.node_count, onTensor: (i) => this.showTensor(i),
      onView: (view, graphView) => {
        this.graphView = graphView;
        const m = view.model;
        if (m.domain) facts.append(fact('domain', m.domain));
        if (m.model_version) facts.append(fact('model version', m.model_version));
        if (m.graph_name) facts.append(fact('graph', m.graph_name));
        for (const [label, text] of [['Model', m.doc_string], ['Graph', m.graph_doc_string]]) {
          if (text) notes.append(h('details', { class: 'doc-string', open: text.length < 400 }, h('summary', {}, `${label} description`), h('p', {}, text)));
        }
        const problems = graphProblems(view.problems);
        if (problems) notes.append(problems);
        if (m.metadata_props.length) {
          more.append(h('h3', {}, 'Metadata'), h('table', { class: 'grid metadata-props' },
            h('tbody', {}, m.metadata_props.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'prop-value' }, v))))));
        }
        if (view.functions.length) {
          more.append(h('h3', {}, `Functions (${view.functions.length})`), h('table', { class: 'grid' },
            h('thead', {}, h('tr', {}, ['name', 'domain', 'inputs → outputs', 'nodes'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, view.functions.map((f) => h('tr', {}, h('td', {}, f.name), h('td', {}, f.domain), h('td', {}, `(${f.inputs.join(', ')}) → (${f.outputs.join(', ')})`), h('td', {}, f.node_count))))));
        }
      },
    });
    return h('div', { class: 'onnx' }, facts, notes, host,
      h('div', { class: 'onnx-io' }, h('div', {}, h('h3', {}, 'Inputs'), io(o.inputs)), h('div', {}, h('h3', {}, 'Outputs'), io(o.outputs))),
      more,
      h('h3', {}, 'Operators'), h('ul', { class: 'op-list' }, ops.map(([op, n]) => h('li', {}, h('code', {}, op), ` × ${n}`))));
  }

  tensorsSection() {
    const { doc } = this;
    const rows = doc.tensors.slice(0, 2000).map((t, i) => h('tr', {},
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => this.showTensor(i) }, t.path.join(' › '))),
      h('td', {}, t.dtype), h('td', {}, fmt.shape(t.shape))));
    return h('div', { class: 'table-scroll' }, h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['path', 'dtype', 'shape'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows)));
  }
}

function countNodes(v, budget = 200) {
  let n = 0;
  const walk = (x) => {
    if (n > budget) return;
    n++;
    if (D.isDict(x)) for (const [, c] of x.$dict) walk(c);
    else if (D.isList(x)) for (const c of D.listItems(x)) walk(c);
    else if (x && typeof x === 'object' && 'state' in x) walk(x.state);
  };
  walk(v);
  return n;
}

function cellText(v) {
  if (D.isList(v)) return `(${D.listItems(v).map(cellText).join(', ')})`;
  if (D.isDict(v)) return `{${v.$dict.length} entries}`;
  if (D.isTensor(v)) return 'tensor';
  if (v && typeof v === 'object' && '$object' in v) return v.$object;
  return scalarText(v);
}

function paramsText(v) {
  if (!v || !D.isList(v)) return '';
  const items = D.listItems(v);
  if (items.length <= 6) return items.join(', ');
  return `${items.length} (${items[0]}…${items[items.length - 1]})`;
}

/**
 * What the Run section of a document needs, where it has one: an ONNX model's inputs, or a `.pt2`'s
 * user inputs as the engine takes them (ONNX element types; symbols with their smallest size), and
 * the kind of model, so that Compare outputs offers the open models of the other kind.
 */
function runInputs(doc) {
  if (doc.onnx) return { inputs: doc.onnx.inputs ?? [], kind: 'onnx', dimDefaults: new Map() };
  if (!doc.pt2) return null;
  const onnxName = (dtype) => {
    try {
      return dtypeFacts(dtype).onnx ?? dtype;
    } catch {
      return dtype; // SymInt, unknown: the editors take such an input from a .npy file only
    }
  };
  const inputs = doc.pt2.user_inputs.map(({ name, dtype, shape }) => ({ name, elem_type: onnxName(dtype), shape }));
  const dimDefaults = new Map((doc.pt2.symbols ?? []).filter((s) => s.min > 1).map((s) => [s.symbol, s.min]));
  return { inputs, kind: 'pt2', dimDefaults };
}

// The Architecture section: what the core recognised from the weights' names and shapes
// (`architecture` in docs/inspect-json.md): the family and its numbers, parameters per part, the
// repeated blocks and how the odd ones differ, parameters per block, and, read in the worker on
// request (cancellable, with progress), the L2 norm of each block's weights.

import { h } from './dom.js';
import * as fmt from './format.js';
import * as charts from './charts.js';
import { runLabel } from './doc.js';
import { dtype } from './dtypes.js';
import { Cancelled } from './client.js';
import { progressRequest } from './progress.js';

/** The numbers, in the order shown, with their labels. */
const NUMBERS = [
  ['layers', 'layers'], ['decoder_layers', 'decoder layers'], ['hidden_size', 'hidden size'], ['intermediate_size', 'feed-forward size'],
  ['heads', 'attention heads'], ['kv_heads', 'key/value heads'], ['head_dim', 'head size'], ['vocab_size', 'vocabulary'],
  ['max_positions', 'positions'], ['experts', 'experts'], ['image_size', 'image size'], ['patch_size', 'patch size'],
  ['input_channels', 'input channels'], ['classes', 'classes'], ['stages', 'blocks per stage'],
];

/** The family in a few words: `Llama-style decoder (llama) · 80 layers`. */
export function familySummary(arch) {
  if (!arch?.family) return null;
  const f = arch.family;
  const layers = arch.numbers?.layers ? ` · ${arch.numbers.layers} layers` : '';
  return `${f.label}${f.variant ? ` (${f.variant})` : ''}${layers}`;
}

export class ArchitectureView {
  /** `onKey(key)` shows a state_dict key in the weights tree. */
  constructor({ client, modelId, doc, onKey }) {
    this.client = client;
    this.modelId = modelId;
    this.doc = doc;
    this.onKey = onKey;
    const a = doc.architecture;
    this.el = h('div', { class: 'architecture' }, this.familyPart(a), this.partsPart(a), a.blocks.length ? this.blocksPart(a) : null);
  }

  familyPart(a) {
    const f = a.family;
    const n = a.numbers ?? {};
    const assumed = new Set(n.assumed?.length ? ['heads', 'kv_heads', 'head_dim'].filter((k) => !n.from_config?.includes(k)) : []);
    const fromConfig = new Set(n.from_config ?? []);
    const items = NUMBERS.filter(([k]) => n[k] != null && !(Array.isArray(n[k]) && !n[k].length)).map(([k, label]) => h('div', { dataset: { number: k } },
      h('dt', {}, label),
      h('dd', {}, Array.isArray(n[k]) ? n[k].join(' · ') : fmt.grouped(n[k]),
        assumed.has(k) ? h('abbr', { class: 'badge assumed', title: 'rests on a convention, not a shape: see the note' }, 'assumed') : null,
        fromConfig.has(k) ? h('span', { class: 'badge config', title: `from ${a.config}` }, 'config') : null)));
    return h('section', { class: 'arch-family', 'aria-labelledby': `${this.modelId}-arch-family` },
      h('h3', { id: `${this.modelId}-arch-family` }, f ? f.label : 'No known family'),
      f ? h('p', { class: 'muted small family-evidence' },
        f.variant ? h('strong', { class: 'family-variant' }, f.variant, ' · ') : null,
        `from ${f.from.join(' and ')}`, f.evidence.length ? ` (${f.evidence.join(', ')})` : '')
        : h('p', { class: 'muted small' }, 'The keys match no family torchpeek knows. Repeated blocks and parameters per part are below; drop a config.json with the weights to name it.'),
      items.length ? h('dl', { class: 'facts arch-numbers' }, items) : null,
      [...(n.assumed ?? []), ...(n.mismatches ?? [])].map((note) => h('p', { class: 'note small', role: 'note' }, note)),
      h('p', { class: 'muted small' }, `${fmt.grouped(a.parameters)} parameters (${fmt.count(a.parameters)}) in ${fmt.grouped(this.doc.state_dict.length)} tensors.`));
  }

  partsPart(a) {
    const top = Math.max(...a.parts.map((p) => p.parameters), 1);
    return h('section', { class: 'arch-parts' },
      h('h3', {}, 'Parameters per part'),
      h('table', { class: 'grid parts-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'part'), h('th', { scope: 'col' }, 'parameters'), h('th', { scope: 'col' }, 'share'), h('th', { scope: 'col' }, 'tensors'))),
        h('tbody', {}, a.parts.map((p) => {
          const bar = h('span', { class: 'share-bar' });
          bar.style.width = `${(100 * p.parameters) / top}%`;
          return h('tr', { dataset: { part: p.name } },
            h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => this.showFirst(p.name) }, p.name), p.blocks ? h('span', { class: 'muted' }, ` ×${p.blocks}`) : null),
            h('td', { class: 'num' }, fmt.count(p.parameters)),
            h('td', { class: 'share' }, bar, h('span', { class: 'muted small' }, `${fmt.float((100 * p.parameters) / (a.parameters || 1), 3)}%`)),
            h('td', { class: 'num' }, fmt.grouped(p.tensors)));
        }))));
  }

  blocksPart(a) {
    return h('section', { class: 'arch-blocks' },
      h('h3', {}, 'Repeated blocks'),
      a.blocks.map((b) => this.repeat(b)));
  }

  /** One folder of numbered blocks: its runs, how odd runs differ, and its per-block charts. */
  repeat(b) {
    const stem = b.stem ?? '';
    const folder = b.prefix || '(root)';
    const indices = b.runs.flatMap((r) => Array.from({ length: r.count }, (_, k) => r.first + k));
    const labels = indices.map((i) => `${stem}${i}`);
    const norms = h('div', { class: 'norms' });
    const tensorsOf = (i) => {
      const head = `${b.prefix ? `${b.prefix}.` : ''}${stem}${i}.`;
      return this.doc.state_dict.filter((e) => e.key.startsWith(head) && this.isFloat(e.tensor)).map((e) => e.tensor);
    };
    const blocks = indices.map(tensorsOf);
    const bytes = blocks.flat().reduce((n, t) => n + this.bytesOf(t), 0);
    const start = h('button', { type: 'button', class: 'button small compute-norms', onclick: () => this.norms(b, labels, blocks, norms, start) },
      `Compute weight norms (reads ${fmt.bytes(bytes)})`);
    return h('article', { class: 'repeat', dataset: { prefix: b.prefix } },
      h('h4', {}, folder, ': ', b.runs.map((r, i) => [i ? ', ' : '', h('span', { class: r.count > 1 ? 'run repeated' : 'run' }, runLabel(stem, r))])),
      h('ul', { class: 'runs' }, b.runs.filter((r) => r.count > 1).map((r) => h('li', {},
        `${runLabel(stem, r)}: ${r.count} identical blocks of ${fmt.grouped(r.tensors)} tensors, ${fmt.count(r.parameters)} parameters each (${fmt.count(r.parameters * r.count)} in all)`))),
      b.differs?.length ? h('div', { class: 'differs' }, h('p', { class: 'small' }, 'Blocks that differ:'), h('ul', {}, b.differs.map((d) => h('li', { class: 'small' }, d)))) : null,
      indices.length >= 2 ? charts.barChart({ labels, values: b.parameters.map(Number), name: 'Parameters per block', className: 'params-chart' }) : null,
      indices.length >= 2 && bytes > 0 ? h('div', { class: 'norms-row' }, start, norms) : null);
  }

  /** Reads every float tensor of every block in the worker; their norms together, per block. */
  async norms(b, labels, blocks, el, button) {
    const { promise, row } = progressRequest(this.client, 'block-norms', { model: this.modelId, blocks }, {
      label: `Reading ${b.prefix || 'the blocks'} for weight norms`,
      text: 'Reading…',
      describe: (p) => `${fmt.bytes(p.done)} of ${fmt.bytes(p.total)}`,
    });
    button.hidden = true;
    el.replaceChildren(row);
    try {
      const { norms, ms } = await promise;
      el.replaceChildren(charts.barChart({ labels, values: norms, name: 'Weight norm per block', format: (v) => fmt.float(v, 4), className: 'norms-chart' }),
        h('p', { class: 'muted small' }, `The L2 norm of each block's floating-point weights together, read in ${fmt.ms(ms)} in the worker.`));
    } catch (err) {
      el.replaceChildren(h('p', { class: err instanceof Cancelled ? 'muted' : 'error-text' }, err instanceof Cancelled ? 'Cancelled.' : `Could not read the norms: ${err.message}`));
      button.hidden = false;
    }
  }

  isFloat(i) {
    const t = this.doc.tensors[i];
    const d = t && dtype(t.dtype);
    return Boolean(d && (d.is_float || d.is_quantized));
  }

  bytesOf(i) {
    const t = this.doc.tensors[i];
    return t ? t.shape.reduce((a, b) => a * b, 1) * dtype(t.dtype).itemsize : 0;
  }

  /** Shows the first tensor under `prefix` in the weights tree. */
  showFirst(prefix) {
    const e = this.doc.state_dict.find((x) => x.key === prefix || x.key.startsWith(`${prefix}.`));
    if (e) this.onKey(e.key);
  }
}

// The tensor details panel: metadata, a preview of values, statistics and a histogram, all read
// in the worker; a progress bar and a cancel button for big tensors.

import { h, svg, announce } from './dom.js';
import * as fmt from './format.js';
import { numel, itemsize, tied } from './doc.js';
import { Cancelled } from './client.js';

const BINS = 64;
/** Bigger tensors wait for a click before their bytes are read. */
const AUTO_STATS_BYTES = 64 << 20;
const PREVIEW_ROWS = 8;
const PREVIEW_COLS = 6;
const MAX_PREVIEW_VALUES = 1 << 16;

export class TensorPanel {
  constructor(ctx) {
    this.ctx = ctx; // {client, modelId, doc, sharing, nameOf(i), onNavigate(i)}
    this.el = h('section', { class: 'tensor-panel', 'aria-label': 'Tensor details' },
      h('p', { class: 'muted placeholder' }, 'Select a tensor to see its values, statistics and histogram.'));
    this.cache = new Map();
    this.generation = 0;
    this.running = null;
  }

  show(index, label) {
    const { doc } = this.ctx;
    const t = doc.tensors[index];
    if (!t) return;
    this.index = index;
    const gen = ++this.generation;
    // A big statistics run still going for another tensor is cancelled (the worker restarts).
    if (this.running && this.running.index !== index && this.running.big) this.ctx.client.cancel(this.running.id);

    const name = label ?? this.ctx.nameOf(index);
    const n = numel(t);
    const contiguous = isContiguous(t);
    const shared = this.ctx.sharing.get(index) ?? [];
    const rows = [
      ['dtype', t.dtype],
      ['shape', fmt.shape(t.shape)],
      ['elements', fmt.grouped(n)],
      ['stride', `${fmt.shape(t.stride)}${contiguous ? ' · contiguous' : ' · not contiguous'}`],
      ['storage', `#${t.storage} · ${fmt.bytes(t.storage_bytes)} · offset ${fmt.grouped(t.storage_offset)}`],
      ['layout', t.layout ?? 'strided'],
      t.quantization ? ['quantization', quantText(t.quantization)] : null,
      ['flags', [t.is_parameter ? 'Parameter' : 'Tensor', t.requires_grad ? 'requires_grad' : null].filter(Boolean).join(' · ')],
      ['path', t.path.join(' › ')],
    ].filter(Boolean);

    this.valuesEl = h('div', { class: 'values' }, h('p', { class: 'muted' }, 'Reading values…'));
    this.statsEl = h('div', { class: 'stats' });
    this.histEl = h('div', { class: 'histogram' });
    this.el.replaceChildren(...present(
      h('div', { class: 'tensor-head' }, h('h2', { class: 'tensor-name', title: name }, name),
        this.ctx.onExportNpy && t.layout !== 'sparse_coo'
          ? h('button', { type: 'button', class: 'button small export-npy', onclick: (e) => this.ctx.onExportNpy(index, name, e.currentTarget) }, 'Save .npy')
          : null),
      h('dl', { class: 'meta' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      shared.length
        ? h('div', { class: 'shared-note' },
            h('span', { class: 'badge tied' }, shared.some((j) => tied(t, doc.tensors[j])) ? 'tied' : 'shared storage'),
            ' with ',
            shared.slice(0, 8).map((j, k) => [k ? ', ' : '', h('button', { class: 'link', type: 'button', onclick: () => this.ctx.onNavigate(j) }, this.ctx.nameOf(j))]),
            shared.length > 8 ? ` and ${shared.length - 8} more` : '')
        : null,
      h('h3', {}, 'Values'),
      this.valuesEl,
      h('h3', {}, 'Statistics'),
      this.statsEl,
      this.histEl,
    ));

    if (n === 0) {
      this.valuesEl.replaceChildren(h('p', { class: 'muted' }, 'No elements.'));
      this.statsEl.replaceChildren(h('p', { class: 'muted' }, 'No elements.'));
      return;
    }
    this.loadValues(index, t, gen);
    const bytes = n * itemsize(t.dtype);
    if (bytes <= AUTO_STATS_BYTES || this.cache.has(`s${index}`)) this.loadStats(index, t, gen);
    else {
      this.statsEl.replaceChildren(h('button', { type: 'button', class: 'button compute-stats', onclick: () => this.loadStats(index, t, gen) },
        `Compute statistics and histogram (reads ${fmt.bytes(bytes)})`));
    }
  }

  async loadValues(index, t, gen) {
    const key = `v${index}`;
    const plan = previewPlan(t);
    try {
      let values = this.cache.get(key);
      if (!values) {
        values = (await this.ctx.client.request('tensor-values', { model: this.ctx.modelId, tensor: index, limit: plan.limit }).promise).values;
        this.cache.set(key, values);
      }
      if (gen !== this.generation) return;
      this.valuesEl.replaceChildren(renderPreview(t, values, plan));
    } catch (err) {
      if (gen !== this.generation) return;
      this.valuesEl.replaceChildren(h('p', { class: 'error-text' }, `Could not read values: ${err.message}`));
    }
  }

  async loadStats(index, t, gen) {
    const key = `s${index}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.renderStats(t, cached);
      return;
    }
    const bytes = numel(t) * itemsize(t.dtype);
    const big = bytes > (16 << 20);
    this.statsEl.replaceChildren(h('p', { class: 'muted' }, 'Computing…'));
    const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Reading the tensor' });
    const label = h('span', { class: 'muted' }, 'Computing…');
    const { id, promise } = this.ctx.client.request('stats', { model: this.ctx.modelId, tensor: index, bins: Math.max(8, Math.min(BINS, Math.round(Math.sqrt(numel(t))))) }, {
      onProgress: (p) => {
        bar.value = p.total ? p.done / p.total : 0;
        label.textContent = `${p.phase === 'histogram' ? 'Histogram' : 'Statistics'}: ${fmt.bytes(p.done)} of ${fmt.bytes(p.total)}`;
      },
    });
    this.running = { id, index, big };
    const cancel = h('button', { type: 'button', class: 'button small', onclick: () => this.ctx.client.cancel(id) }, 'Cancel');
    const progress = h('div', { class: 'progress-row' }, bar, label, cancel);
    // Only big reads show a progress bar, and only when they take a moment.
    const timer = setTimeout(() => {
      if (gen === this.generation) this.statsEl.replaceChildren(progress);
    }, 150);
    try {
      const result = await promise;
      this.cache.set(key, result);
      window.__torchpeek?.stats?.push({ tensor: index, bytes, ms: result.ms, histogramMs: result.histogramMs, memory: result.memory, poolMemory: result.poolMemory, stats: result.stats, histogram: result.histogram });
      if (gen !== this.generation) return;
      this.renderStats(t, result);
      if (big) announce(`Statistics ready in ${fmt.ms(result.ms + result.histogramMs)}`);
    } catch (err) {
      if (gen !== this.generation) return;
      if (err instanceof Cancelled) {
        this.statsEl.replaceChildren(h('p', { class: 'muted' }, 'Cancelled. ',
          h('button', { type: 'button', class: 'link', onclick: () => this.loadStats(index, t, ++this.generation) }, 'Compute again')));
        this.histEl.replaceChildren();
      } else this.statsEl.replaceChildren(h('p', { class: 'error-text' }, `Could not compute statistics: ${err.message}`));
    } finally {
      clearTimeout(timer);
      if (this.running?.id === id) this.running = null;
    }
  }

  renderStats(t, { stats, histogram, ms, histogramMs }) {
    const s = stats;
    const f = (k, label = k) => (s[k] == null ? null : [label, fmt.float(s[k]), s[k], k]);
    const n = (k, label) => (s[k] == null ? null : [label, fmt.grouped(s[k]), s[k], k]);
    const rows = [
      f('min'), f('max'), f('mean'), f('std'), f('sum'), f('abs_sum', 'abs sum'),
      f('sum_real', 'sum (real)'), f('sum_imag', 'sum (imag)'),
      n('zero_count', 'zeros'), n('nan_count', 'NaN'), n('inf_count', 'Inf'),
    ].filter(Boolean);
    this.statsEl.replaceChildren(...present(
      h('dl', { class: 'stats-grid' }, rows.map(([label, text, raw, key]) => h('div', { dataset: { stat: key, value: String(raw) } }, h('dt', {}, label), h('dd', {}, text)))),
      ms != null ? h('p', { class: 'muted small' }, `Read in ${fmt.ms(ms + (histogramMs ?? 0))} in the worker${t.quantization ? '; dequantized' : ''}.`) : null,
    ));
    this.histEl.replaceChildren(histogram ? renderHistogram(histogram) : '');
  }
}

/** Drops null children (replaceChildren would write them as text). */
const present = (...xs) => xs.filter((x) => x != null && x !== false);

function quantText(q) {
  if (q.scales) return `${q.scheme}, axis ${q.axis}, ${q.scales.length} channels`;
  return `${q.scheme}, scale ${fmt.float(q.scale)}, zero point ${q.zero_point}`;
}

function isContiguous(t) {
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

/** Which values to ask for: the first rows of the last dimension, up to a bound. */
function previewPlan(t) {
  const n = numel(t);
  if (t.shape.length <= 1) {
    const cols = Math.min(n, 64);
    return { rows: 1, cols, last: n, limit: cols, flat: true };
  }
  const last = t.shape[t.shape.length - 1];
  const nrows = n / last;
  let rows = Math.min(nrows, PREVIEW_ROWS);
  const cols = Math.min(last, PREVIEW_COLS);
  while (rows > 1 && (rows - 1) * last + cols > MAX_PREVIEW_VALUES) rows--;
  return { rows, cols, last, nrows, limit: (rows - 1) * last + cols, flat: false };
}

function rowIndex(shape, r) {
  const lead = shape.slice(0, -1);
  const idx = [];
  for (let d = lead.length - 1; d >= 0; d--) {
    idx.unshift(r % lead[d]);
    r = Math.floor(r / lead[d]);
  }
  return `[${idx.join(', ')}, :]`;
}

function renderPreview(t, values, plan) {
  const cell = (v) => h('td', {}, fmt.value(v, t.dtype));
  if (plan.flat) {
    const cells = [];
    for (let i = 0; i < values.length; i++) cells.push(cell(values[i]));
    const rows = [];
    for (let i = 0; i < cells.length; i += 8) rows.push(h('tr', {}, h('th', { scope: 'row' }, `[${i}]`), cells.slice(i, i + 8)));
    return h('div', { class: 'table-scroll' },
      h('table', { class: 'values-table' }, h('tbody', {}, rows)),
      numel(t) > values.length ? h('p', { class: 'muted small' }, `First ${values.length} of ${fmt.grouped(numel(t))} values.`) : null);
  }
  const body = [];
  for (let r = 0; r < plan.rows; r++) {
    const tds = [];
    for (let c = 0; c < plan.cols; c++) {
      const v = values[r * plan.last + c];
      if (v !== undefined) tds.push(cell(v));
    }
    if (plan.last > plan.cols) tds.push(h('td', { class: 'muted' }, '…'));
    body.push(h('tr', {}, h('th', { scope: 'row' }, rowIndex(t.shape, r)), tds));
  }
  if (plan.nrows > plan.rows) body.push(h('tr', {}, h('th', { scope: 'row', class: 'muted' }, '…'), h('td', { colspan: plan.cols + 1, class: 'muted' }, `${fmt.grouped(plan.nrows - plan.rows)} more rows`)));
  return h('div', { class: 'table-scroll' }, h('table', { class: 'values-table' }, h('tbody', {}, body)));
}

/** An SVG histogram; accepts {counts, edges} or {counts, min, max}. */
export function renderHistogram(hist) {
  const counts = hist.counts ?? hist.bins ?? [];
  if (!counts.length) return h('p', { class: 'muted' }, 'No finite values to draw.');
  const lo = fmt.num(hist.edges ? hist.edges[0] : hist.min ?? hist.lo);
  const hi = fmt.num(hist.edges ? hist.edges[hist.edges.length - 1] : hist.max ?? hist.hi);
  const max = Math.max(...counts.map(Number), 1);
  const W = 320;
  const H = 96;
  const bw = W / counts.length;
  const bars = counts.map((c, i) => {
    const bh = c > 0 ? Math.max(1, (Number(c) / max) * H) : 0;
    const a = hist.edges ? fmt.num(hist.edges[i]) : lo + ((hi - lo) * i) / counts.length;
    const b = hist.edges ? fmt.num(hist.edges[i + 1]) : lo + ((hi - lo) * (i + 1)) / counts.length;
    return svg('rect', { x: (i * bw).toFixed(2), y: (H - bh).toFixed(2), width: Math.max(0.5, bw - 0.6).toFixed(2), height: bh.toFixed(2), class: 'bar' },
      svg('title', {}, `${fmt.float(a, 4)} … ${fmt.float(b, 4)}: ${fmt.grouped(c)}`));
  });
  const total = counts.reduce((a, b) => a + Number(b), 0);
  return h('figure', { class: 'hist' },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `Histogram of ${fmt.grouped(total)} values from ${fmt.float(lo)} to ${fmt.float(hi)} in ${counts.length} bins` },
      svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }), ...bars),
    h('figcaption', {}, h('span', {}, fmt.float(lo, 4)), h('span', { class: 'muted' }, `${counts.length} bins · peak ${fmt.grouped(max)}`), h('span', {}, fmt.float(hi, 4))));
}

// The tensor details panel: metadata, a preview of values, statistics with percentiles and
// sparsity, a histogram (linear or log), and a heatmap of a matrix, all read in the worker; a
// progress bar and a cancel button for big tensors.

import { h, announce } from './dom.js';
import * as charts from './charts.js';
import * as fmt from './format.js';
import { numel, itemsize, tied } from './doc.js';
import { Cancelled } from './client.js';
import { progressRequest } from './progress.js';

const BINS = 64;
/** The heatmap's cells along each side, at most. */
const HEATMAP_CELLS = 256;
/** Heatmaps of bigger tensors wait for a click. */
const AUTO_HEATMAP_BYTES = 16 << 20;
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
    this.heatEl = h('div', { class: 'heatmap-box' });
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
      this.heatEl,
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
    if (t.shape.length >= 2 && n >= 4) {
      if (bytes <= AUTO_HEATMAP_BYTES || this.cache.has(`h${index}`)) this.loadHeatmap(index, t, name, gen);
      else {
        this.heatEl.replaceChildren(h('button', { type: 'button', class: 'button small compute-heatmap', onclick: () => this.loadHeatmap(index, t, name, gen) },
          `Draw heatmap (reads ${fmt.bytes(bytes)})`));
      }
    }
  }

  /** A heatmap of the matrix (a tensor's first dimension by the rest), read in the worker. */
  async loadHeatmap(index, t, name, gen) {
    const key = `h${index}`;
    let result = this.cache.get(key);
    if (!result) {
      const { promise, row } = progressRequest(this.ctx.client, 'heatmap', { model: this.ctx.modelId, tensor: index, rows: HEATMAP_CELLS, cols: HEATMAP_CELLS }, {
        label: 'Reading the tensor for its heatmap',
        text: 'Heatmap…',
      });
      this.heatEl.replaceChildren(row);
      try {
        result = await promise;
        this.cache.set(key, result);
      } catch (err) {
        if (gen !== this.generation) return;
        this.heatEl.replaceChildren(err instanceof Cancelled
          ? h('p', { class: 'muted' }, 'Heatmap cancelled. ', h('button', { type: 'button', class: 'link', onclick: () => this.loadHeatmap(index, t, name, gen) }, 'Draw again'))
          : h('p', { class: 'error-text' }, `Could not draw the heatmap: ${err.message}`));
        return;
      }
    }
    if (gen !== this.generation) return;
    this.heatEl.replaceChildren(h('h3', { class: 'panel-subhead' }, 'Heatmap'), charts.heatmap(result.heatmap, { name }));
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
    const { id, promise, row: progress } = progressRequest(this.ctx.client, 'stats', { model: this.ctx.modelId, tensor: index, bins: Math.max(8, Math.min(BINS, Math.round(Math.sqrt(numel(t))))) }, {
      label: 'Reading the tensor',
      text: 'Computing…',
      describe: (p) => `${p.phase === 'histogram' ? 'Histogram' : 'Statistics'}: ${fmt.bytes(p.done)} of ${fmt.bytes(p.total)}`,
    });
    this.running = { id, index, big };
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
    const p = histogram?.percentiles;
    // Percentiles come from a fine histogram: within one of its bins of the exact value.
    const pct = (q, label) => (p && Number.isFinite(p[q]) ? [label, `≈ ${fmt.float(p[q])}`, p[q], q] : null);
    const sparsity = s.count ? [`sparsity`, `${fmt.float((100 * s.zero_count) / s.count, 3)}%`, s.zero_count / s.count, 'sparsity'] : null;
    const rows = [
      f('min'), f('max'), f('mean'), f('std'), pct('p1', 'p1'), pct('p50', 'median'), pct('p99', 'p99'),
      f('sum'), f('abs_sum', 'abs sum'), f('norm', 'L2 norm'),
      f('sum_real', 'sum (real)'), f('sum_imag', 'sum (imag)'),
      n('zero_count', 'zeros'), sparsity, n('nan_count', 'NaN'), n('inf_count', 'Inf'),
    ].filter(Boolean);
    this.statsEl.replaceChildren(...present(
      h('dl', { class: 'stats-grid' }, rows.map(([label, text, raw, key]) => h('div', { dataset: { stat: key, value: String(raw) } }, h('dt', {}, label), h('dd', {}, text)))),
      ms != null ? h('p', { class: 'muted small' }, `Read in ${fmt.ms(ms + (histogramMs ?? 0))} in the worker${t.quantization ? '; dequantized' : ''}.`) : null,
    ));
    this.histEl.replaceChildren();
    if (!histogram) return;
    const figure = h('div', {}, charts.histogram(histogram, { log: this.logScale }));
    const toggle = h('input', { type: 'checkbox', class: 'log-scale', checked: this.logScale ? true : null,
      onchange: () => {
        this.logScale = toggle.checked;
        figure.replaceChildren(charts.histogram(histogram, { log: this.logScale }));
      } });
    this.histEl.append(h('div', { class: 'hist-head' }, h('h3', { class: 'panel-subhead' }, 'Histogram'),
      h('label', { class: 'small' }, toggle, ' Log scale')), figure,
      p && histogram.resolution > 0 ? h('p', { class: 'muted small percentile-note' }, `Percentiles are read from a finer histogram: each within ${fmt.float(histogram.resolution, 3)} of the exact value.`) : null);
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

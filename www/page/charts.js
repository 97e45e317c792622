// Charts the page draws from numbers the worker computed: a histogram (linear or log counts), a
// bar chart of one number per block, and a heatmap of a weight matrix with its colour scale.
// Each has a text equivalent: an accessible name with its gist, and the numbers as a table.

import { h, svg } from './dom.js';
import * as fmt from './format.js';

/** An SVG histogram of {counts, min, max} (or {counts, edges}); `log` draws log(1 + count). */
export function histogram(hist, { log = false } = {}) {
  const counts = (hist.counts ?? []).map(Number);
  if (!counts.length) return h('p', { class: 'muted' }, 'No finite values to draw.');
  const lo = fmt.num(hist.edges ? hist.edges[0] : hist.min);
  const hi = fmt.num(hist.edges ? hist.edges[hist.edges.length - 1] : hist.max);
  const scale = log ? (c) => Math.log1p(c) : (c) => c;
  const peak = Math.max(...counts, 1);
  const W = 320;
  const H = 96;
  const bw = W / counts.length;
  const bars = counts.map((c, i) => {
    const bh = c > 0 ? Math.max(1, (scale(c) / scale(peak)) * H) : 0;
    const a = hist.edges ? fmt.num(hist.edges[i]) : lo + ((hi - lo) * i) / counts.length;
    const b = hist.edges ? fmt.num(hist.edges[i + 1]) : lo + ((hi - lo) * (i + 1)) / counts.length;
    return svg('rect', { x: (i * bw).toFixed(2), y: (H - bh).toFixed(2), width: Math.max(0.5, bw - 0.6).toFixed(2), height: bh.toFixed(2), class: 'bar' },
      svg('title', {}, `${fmt.float(a, 4)} … ${fmt.float(b, 4)}: ${fmt.grouped(c)}`));
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return h('figure', { class: 'hist', dataset: { scale: log ? 'log' : 'linear' } },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img',
      'aria-label': `Histogram of ${fmt.grouped(total)} values from ${fmt.float(lo)} to ${fmt.float(hi)} in ${counts.length} bins, ${log ? 'log' : 'linear'} counts; the fullest bin holds ${fmt.grouped(peak)}` },
    svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }), ...bars),
    h('figcaption', {}, h('span', {}, fmt.float(lo, 4)), h('span', { class: 'muted' }, `${counts.length} bins · peak ${fmt.grouped(peak)}${log ? ' · log scale' : ''}`), h('span', {}, fmt.float(hi, 4))));
}

/**
 * A bar chart of `values` (one per label), with the numbers in a table under a disclosure.
 * `format` writes a value; `name` says what the bars are, for the accessible name and caption.
 */
export function barChart({ labels, values, name, format = fmt.count, className = '' }) {
  const W = 640;
  const H = 120;
  const finite = values.filter(Number.isFinite);
  const top = Math.max(...finite, 0) || 1;
  const bw = W / Math.max(values.length, 1);
  const bars = values.map((v, i) => {
    const bh = Number.isFinite(v) && v > 0 ? Math.max(1, (v / top) * H) : 0;
    // A few blocks get bars of at most 40 units, centred in their slots.
    const w = Math.min(40, Math.max(0.5, bw - Math.min(2, bw * 0.2)));
    return svg('rect', { x: (i * bw + (bw - w) / 2).toFixed(2), y: (H - bh).toFixed(2), width: w.toFixed(2), height: bh.toFixed(2), class: 'bar' },
      svg('title', {}, `${labels[i]}: ${Number.isFinite(v) ? format(v) : 'not read'}`));
  });
  const low = Math.min(...finite);
  const lowAt = values.indexOf(low);
  const topAt = values.indexOf(Math.max(...finite));
  const gist = finite.length
    ? `${name} for ${values.length} blocks, from ${format(low)} (${labels[lowAt]}) to ${format(values[topAt])} (${labels[topAt]})`
    : `${name}: nothing yet`;
  return h('figure', { class: `bars ${className}` },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': gist },
      svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }), ...bars),
    h('figcaption', {}, h('span', {}, labels[0] ?? ''), h('span', { class: 'muted' }, gist), h('span', {}, labels[labels.length - 1] ?? '')),
    h('details', { class: 'chart-table' }, h('summary', {}, `${name}: table`),
      h('div', { class: 'table-scroll' }, h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'block'), h('th', { scope: 'col' }, name))),
        h('tbody', {}, values.map((v, i) => h('tr', {}, h('th', { scope: 'row' }, labels[i]), h('td', {}, Number.isFinite(v) ? format(v) : '—'))))))));
}

/** Blue for negative, near-white for zero, red for positive (`t` in -1..1). */
function diverging(t) {
  const lerp = (a, b, u) => Math.round(a + (b - a) * u);
  const mid = [247, 247, 247];
  const end = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const u = Math.min(1, Math.abs(t));
  return [lerp(mid[0], end[0], u), lerp(mid[1], end[1], u), lerp(mid[2], end[2], u)];
}

/**
 * A heatmap of {rows, cols, source_rows, source_cols, values, min, max} (`stats::heatmap`): cells
 * coloured on a scale symmetric around zero, with the scale drawn beside it and a description.
 */
export function heatmap(hm, { name }) {
  const limit = Math.max(Math.abs(hm.min), Math.abs(hm.max)) || 1;
  const canvas = h('canvas', { width: hm.cols, height: hm.rows, class: 'heatmap-canvas' });
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(hm.cols, hm.rows);
  let peak = { v: 0, i: -1 };
  hm.values.forEach((v, i) => {
    const [r, g, b] = v == null ? [128, 128, 128] : diverging(v / limit);
    img.data.set([r, g, b, 255], i * 4);
    if (v != null && Math.abs(v) > Math.abs(peak.v)) peak = { v, i };
  });
  ctx.putImageData(img, 0, 0);
  const span = (cell, cells, source) => {
    const a = Math.ceil((cell * source) / cells);
    const b = Math.ceil(((cell + 1) * source) / cells) - 1;
    return a === b ? `${a}` : `${a}–${b}`;
  };
  const where = peak.i >= 0
    ? ` The largest mean, ${fmt.float(peak.v, 4)}, is at rows ${span(Math.floor(peak.i / hm.cols), hm.rows, hm.source_rows)}, columns ${span(peak.i % hm.cols, hm.cols, hm.source_cols)}.`
    : '';
  const averaged = hm.rows === hm.source_rows && hm.cols === hm.source_cols ? 'each cell one value' : `averaged into ${hm.rows} × ${hm.cols} cells`;
  const text = `Heatmap of ${name}: ${fmt.grouped(hm.source_rows)} rows × ${fmt.grouped(hm.source_cols)} columns, ${averaged}; cell means from ${fmt.float(hm.min, 4)} to ${fmt.float(hm.max, 4)}.${where}`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', text);
  const stops = Array.from({ length: 11 }, (_, i) => {
    const [r, g, b] = diverging(i / 5 - 1);
    return `rgb(${r} ${g} ${b}) ${i * 10}%`;
  });
  // Styles through the CSSOM: the page's Content-Security-Policy allows no style attributes.
  const frame = h('div', { class: 'heatmap-frame' }, canvas);
  frame.style.aspectRatio = `${hm.cols} / ${hm.rows}`;
  const ramp = h('span', { class: 'ramp' });
  ramp.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  return h('figure', { class: 'heatmap' }, frame,
    h('div', { class: 'heatmap-scale', 'aria-hidden': 'true' }, h('span', {}, fmt.float(-limit, 3)), ramp, h('span', {}, fmt.float(limit, 3))),
    h('figcaption', { class: 'muted small' }, text));
}

// Compare two open models: choose A and B, the diff is computed in the worker (progress bar,
// cancel), then a table sorted by change with counts per kind of change and a filter.

import { h, announce } from './dom.js';
import * as fmt from './format.js';
import { Cancelled } from './client.js';
import { progressRequest } from './progress.js';

const CHANGES = {
  changed: ['changed', 'Same key, shape and dtype; different values'],
  shape: ['shape', 'The shape differs'],
  dtype: ['dtype', 'The dtype differs'],
  only_a: ['only in A', 'The key is in A only'],
  only_b: ['only in B', 'The key is in B only'],
  unreadable: ['unreadable', 'The values could not be read'],
  same: ['same', 'Identical values'],
};
/** Rows drawn at once; more on request. */
const PAGE = 500;

export class DiffView {
  /** ctx: {client, models() -> [{id, label}], onKey(modelId, key), onClose()} */
  constructor(ctx) {
    this.ctx = ctx;
    this.result = null;
    this.kind = 'all';
    this.limit = PAGE;
    this.selectA = h('select', { class: 'select', id: 'diff-a', 'aria-label': 'Model A' });
    this.selectB = h('select', { class: 'select', id: 'diff-b', 'aria-label': 'Model B' });
    this.runButton = h('button', { type: 'button', class: 'button primary run-diff', onclick: () => this.run() }, 'Compare');
    this.status = h('div', { class: 'diff-status' });
    this.body = h('div', { class: 'diff-body' });
    this.el = h('article', { class: 'model compare', dataset: { model: 'compare' } },
      h('header', { class: 'model-header' },
        h('div', { class: 'title-row' },
          h('h2', { class: 'model-title' }, 'Compare two models'),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', 'aria-label': 'Close the comparison', onclick: () => ctx.onClose() }, 'Close'))),
        h('div', { class: 'diff-pick toolbar' },
          h('label', { for: 'diff-a' }, 'A'), this.selectA,
          h('button', { type: 'button', class: 'button small', title: 'Swap A and B', 'aria-label': 'Swap A and B', onclick: () => this.swap() }, '⇄'),
          h('label', { for: 'diff-b' }, 'B'), this.selectB,
          this.runButton),
        h('p', { class: 'muted small' }, 'Keys are matched across the state_dicts (a prefix such as “module.” on one side is lined up); tensors of one shape are compared value by value; tensors an export renamed or transposed are found by their values.'),
        this.status),
      h('div', { class: 'model-main diff-main' }, this.body));
    this.refresh();
  }

  /** Fills the choices from the open models; keeps the choice when it is still open. */
  refresh(preferred = []) {
    const models = this.ctx.models();
    const fill = (select, want) => {
      const keep = want ?? select.value;
      select.replaceChildren(...models.map((m) => h('option', { value: m.id }, m.label)));
      if (models.some((m) => m.id === keep)) select.value = keep;
    };
    fill(this.selectA, preferred[0]);
    fill(this.selectB, preferred[1]);
    if (this.selectA.value === this.selectB.value && models.length > 1) {
      this.selectB.value = models.find((m) => m.id !== this.selectA.value).id;
    }
    this.runButton.disabled = models.length < 2;
  }

  swap() {
    [this.selectA.value, this.selectB.value] = [this.selectB.value, this.selectA.value];
  }

  async run() {
    const a = this.selectA.value;
    const b = this.selectB.value;
    const label = (id) => this.ctx.models().find((m) => m.id === id)?.label ?? id;
    if (!a || !b) return;
    const { promise, row } = progressRequest(this.ctx.client, 'diff', { a, b }, {
      label: 'Comparing',
      text: 'Comparing…',
      describe: (p) => `Compared ${fmt.count(p.done)} of ${fmt.count(p.total)} values`,
      className: 'diff-progress',
    });
    this.runButton.disabled = true;
    this.status.replaceChildren(row);
    try {
      const { diff, ms } = await promise;
      this.result = { diff, a, b, labels: [label(a), label(b)] };
      this.kind = 'all';
      this.limit = PAGE;
      this.status.replaceChildren(h('p', { class: 'muted small diff-done', dataset: { ms: ms.toFixed(1) } }, `${label(a)} (A) against ${label(b)} (B): ${fmt.grouped(diff.entries.length)} keys in ${fmt.ms(ms)}.`,
        diff.prefix_a || diff.prefix_b ? ` Lined up by leaving out ${[diff.prefix_a && `“${diff.prefix_a}” in A`, diff.prefix_b && `“${diff.prefix_b}” in B`].filter(Boolean).join(' and ')}.` : ''));
      this.render();
      announce(`Compared: ${Object.entries(diff.counts).map(([k, n]) => `${n} ${CHANGES[k]?.[0] ?? k}`).join(', ')}.`);
    } catch (err) {
      this.status.replaceChildren(err instanceof Cancelled
        ? h('p', { class: 'muted diff-cancelled' }, 'Cancelled.')
        : h('p', { class: 'error-text' }, `Could not compare: ${err.message}`));
    } finally {
      this.runButton.disabled = this.ctx.models().length < 2;
    }
  }

  render() {
    const { diff } = this.result;
    const chip = (kind, n, text, title) => h('button', { type: 'button', class: `chip chg-${kind}`, 'aria-pressed': this.kind === kind ? 'true' : 'false', title, dataset: { kind, count: n },
      onclick: () => { this.kind = kind; this.limit = PAGE; this.render(); this.el.querySelector(`.chip[data-kind="${kind}"]`)?.focus(); } }, `${text} `, h('strong', {}, fmt.grouped(n)));
    const kinds = Object.keys(CHANGES).filter((k) => diff.counts[k]);
    this.filter ??= h('input', { type: 'search', class: 'filter diff-filter', placeholder: 'Filter by key  (/)', 'aria-label': 'Filter keys', autocomplete: 'off', spellcheck: 'false',
      oninput: () => { this.limit = PAGE; this.renderRows(); } });
    this.rows = h('tbody', {});
    this.more = h('div', { class: 'diff-more' });
    this.body.replaceChildren(
      h('div', { class: 'toolbar diff-toolbar' },
        h('div', { class: 'chips', role: 'group', 'aria-label': 'Show changes of one kind' },
          chip('all', diff.entries.length, 'all', 'Every key'),
          kinds.map((k) => chip(k, diff.counts[k], CHANGES[k][0], CHANGES[k][1]))),
        this.filter),
      h('div', { class: 'table-scroll' }, h('table', { class: 'grid diff-table' },
        h('thead', {}, h('tr', {}, ['key', 'change', 'A', 'B', 'max abs diff', 'relative change', 'cosine'].map((c, i) => h('th', { scope: 'col', class: i > 3 ? 'num' : null }, c)))),
        this.rows)),
      this.more);
    this.renderRows();
  }

  renderRows() {
    const { diff, a, b } = this.result;
    const q = this.filter.value.trim().toLowerCase();
    const shown = diff.entries.filter((e) => (this.kind === 'all' || e.change === this.kind) && (!q || e.key.toLowerCase().includes(q)));
    const side = (s) => (s ? h('span', {}, h('span', { class: 'dtype' }, s.dtype), ' ', h('span', { class: 'shape' }, fmt.shape(s.shape))) : h('span', { class: 'muted' }, '—'));
    const number = (v, digits) => h('td', { class: 'num' }, v == null ? h('span', { class: 'muted' }, '—') : fmt.float(v, digits));
    this.rows.replaceChildren(...shown.slice(0, this.limit).map((e) => {
      const [model, key] = e.a ? [a, diff.prefix_a + e.key] : [b, diff.prefix_b + e.key];
      return h('tr', { class: `chg-${e.change}`, dataset: { key: e.key, change: e.change } },
        h('td', { class: 'key' }, h('button', { type: 'button', class: 'link', title: `Show ${key} in ${e.a ? 'A' : 'B'}`, onclick: () => this.ctx.onKey(model, key) }, e.key),
          e.key_b ? h('span', { class: 'key-b muted small', title: 'B holds these values under another name, found by value' }, ` B: ${e.key_b}${e.transposed ? ' (transposed)' : ''}`) : null),
        h('td', {}, h('span', { class: `badge chg chg-${e.change}`, title: e.error ?? CHANGES[e.change]?.[1] }, CHANGES[e.change]?.[0] ?? e.change)),
        h('td', {}, side(e.a)),
        h('td', { class: sameSide(e) ? 'muted' : null }, side(e.b)),
        number(e.max_abs_diff, 4), number(e.relative_change, 4), number(e.cosine, 6));
    }));
    if (!shown.length) this.rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No key matches.')));
    const rest = shown.length - this.limit;
    this.more.replaceChildren(rest > 0
      ? h('button', { type: 'button', class: 'button small', onclick: () => { this.limit += PAGE * 4; this.renderRows(); } }, `Show ${fmt.grouped(Math.min(rest, PAGE * 4))} more of ${fmt.grouped(rest)}`)
      : '');
  }
}

const sameSide = (e) => e.a && e.b && e.a.dtype === e.b.dtype && String(e.a.shape) === String(e.b.shape);

// Checks of one file: the safety verdict with its findings (also for a file that cannot be
// opened), and the health checklist, computed in the worker with a progress bar, cancellable.

import { h, announce } from './dom.js';
import * as fmt from './format.js';
import { Cancelled } from './client.js';
import { progressRequest } from './progress.js';

export const VERDICTS = {
  safe: ['Safe', 'torch.load(weights_only=True) would accept this file, and nothing in it can run code.'],
  unsafe_but_known: ['Needs trust', 'torch.load(weights_only=True) refuses it: it imports classes outside torch’s weights-only allow-list, none known to run code.'],
  dangerous: ['Dangerous', 'Imports that can run code when loaded with torch.load. Do not load it in Python.'],
  refused: ['Not loadable', 'torch.load(weights_only=True) refuses this file, and nothing in it can run code.'],
};

/** The badge a safety answer gets: its verdict, or `refused` when torch cannot read the file and
 * the scan found nothing in it (the CLI's exit status 1). */
export function verdictKind(safety) {
  return safety?.refusal && !safety.findings?.length ? 'refused' : safety?.verdict;
}

/** The badge's label and a sentence on it: [label, help]. */
export function verdictText(safety, format) {
  const kind = verdictKind(safety);
  const plain = format === 'safetensors' || format === 'onnx';
  if (kind === 'safe' && plain) return [VERDICTS.safe[0], 'Plain data: this format has no way to carry code, and torch.load would accept it.'];
  if (kind === 'refused' && plain) return ['Plain data', `This format has no way to carry code. torch.load does not read it: ${safety.refusal.reason}.`];
  const [label, help] = VERDICTS[kind] ?? [kind ?? 'unknown', ''];
  const r = safety?.refusal;
  return [label, r && kind !== 'safe' ? `${help} torch stops at ${r.member} byte ${fmt.grouped(r.offset)}: ${r.reason}.` : help];
}

export function verdictBadge(safety, help, format) {
  const kind = verdictKind(safety);
  return h('span', { class: `badge verdict v-${kind}`, title: help, dataset: { verdict: safety?.verdict ?? '' } }, verdictText(safety, format)[0]);
}

/** The findings, open when dangerous: global, opcode, member, byte offset, reason. */
export function findingsPanel(safety, help) {
  const findings = safety?.findings ?? [];
  if (!findings.length) return h('p', { class: 'muted small verdict-help' }, help);
  return h('details', { class: `findings v-${safety.verdict}`, open: safety.verdict === 'dangerous' },
    h('summary', {}, `${findings.length} safety finding${findings.length > 1 ? 's' : ''}: ${help}`),
    h('div', { class: 'table-scroll' }, h('table', { class: 'grid findings-table' },
      h('thead', {}, h('tr', {}, ['global', 'opcode', 'member', 'byte offset', 'reason'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, findings.map((f) => h('tr', { class: `sev-${f.severity}`, dataset: { global: f.global } },
        h('td', {}, f.global ? h('code', {}, f.global) : h('span', { class: 'muted' }, '—')),
        h('td', {}, f.opcode || '—'),
        h('td', { class: 'member' }, f.member || '—'),
        h('td', { class: 'num' }, fmt.grouped(f.offset)),
        h('td', { class: 'reason' }, f.reason ?? '')))))));
}

/** What the safety scan says of files that could not be opened: [{name, safety}]. */
export function safetyReport(checks) {
  return h('section', { class: 'safety-report', 'aria-label': 'Safety scan' },
    checks.map(({ name, safety }) => {
      const [, help] = verdictText(safety);
      const note = safety.findings.length ? help : `The scan found no import in this file that could run code. ${help}`;
      return h('div', { class: 'safety-file', dataset: { file: name } },
        h('p', { class: 'title-row' }, h('strong', {}, checks.length > 1 ? name : 'Safety scan'), verdictBadge(safety, help)),
        findingsPanel(safety, note));
    }));
}

const STATUS = {
  ok: ['✓', 'ok'],
  info: ['i', 'note'],
  warn: ['!', 'warning'],
  fail: ['✕', 'problem'],
};
/** Files up to this size are checked when the section opens; bigger ones wait for a click. */
const AUTO_BYTES = 256 << 20;

/** The health checklist of one model. */
export class HealthView {
  /** ctx: {client, modelId, doc, bytes, onKey(key)} */
  constructor(ctx) {
    this.ctx = ctx;
    this.keys = new Set(ctx.doc.state_dict.map((e) => e.key));
    this.el = h('div', { class: 'health' });
    if (ctx.bytes <= AUTO_BYTES) this.run();
    else this.offer();
  }

  offer() {
    this.el.replaceChildren(h('p', {}, `The checks read every value of ${fmt.grouped(this.ctx.doc.state_dict.length)} tensors. `,
      h('button', { type: 'button', class: 'button run-health', onclick: () => this.run() }, `Run the checks (reads ${fmt.bytes(this.ctx.bytes)})`)));
  }

  async run() {
    const { client, modelId } = this.ctx;
    const { promise, row } = progressRequest(client, 'health', { model: modelId }, {
      label: 'Checking tensors',
      text: 'Checking…',
      describe: (p) => `Read ${fmt.bytes(p.done)} of ${fmt.bytes(p.total)}`,
      className: 'health-progress',
    });
    this.el.replaceChildren(row);
    try {
      const { health, ms } = await promise;
      this.render(health, ms);
      announce(`Health checks done: ${STATUS[health.status][1]}.`);
    } catch (err) {
      const again = h('button', { type: 'button', class: 'link', onclick: () => this.run() }, err instanceof Cancelled ? 'Run the checks again' : 'Try again');
      this.el.replaceChildren(err instanceof Cancelled
        ? h('p', { class: 'muted health-cancelled' }, 'Cancelled. ', again)
        : h('p', { class: 'error-text' }, `Could not check the tensors: ${err.message}. `, again));
    }
  }

  render(health, ms) {
    const tally = { ok: 0, info: 0, warn: 0, fail: 0 };
    for (const c of health.checks) tally[c.status]++;
    const summary = Object.entries(tally).filter(([, n]) => n).map(([s, n]) => `${n} ${s === 'ok' ? 'ok' : STATUS[s][1] + (n > 1 ? 's' : '')}`).join(', ');
    this.el.replaceChildren(
      h('p', { class: 'health-summary', dataset: { status: health.status, ms: ms.toFixed(1) } },
        statusIcon(health.status), ` ${health.checks.length} checks: ${summary}`, h('span', { class: 'muted' }, ` · ${fmt.ms(ms)}`)),
      h('ul', { class: 'checklist' }, health.checks.map((c) => this.item(c))));
  }

  item(c) {
    const more = c.count - c.tensors.length;
    return h('li', { class: `check st-${c.status}`, dataset: { check: c.id, status: c.status } },
      statusIcon(c.status),
      h('div', { class: 'check-body' },
        h('span', { class: 'check-title' }, c.title),
        h('span', { class: 'check-detail muted' }, c.detail),
        c.tensors.length
          ? h('details', { class: 'check-tensors', open: c.status === 'fail' && c.tensors.length <= 10 },
              h('summary', {}, `${fmt.grouped(c.count)} listed`),
              h('ul', {}, c.tensors.map((t) => h('li', {}, this.linked(t)))),
              more > 0 ? h('p', { class: 'muted small' }, `and ${fmt.grouped(more)} more`) : null)
          : null));
  }

  /** A line of a check's list with its state_dict keys as links: "key", "a = b", "key: why". */
  linked(text) {
    const link = (key) => h('button', { type: 'button', class: 'link tensor-link', dataset: { key }, onclick: () => this.ctx.onKey(key) }, key);
    if (this.keys.has(text)) return link(text);
    const parts = text.split(' = ');
    if (parts.length > 1 && parts.every((p) => this.keys.has(p))) return parts.flatMap((p, i) => (i ? [' = ', link(p)] : [link(p)]));
    const colon = text.indexOf(': ');
    if (colon > 0 && this.keys.has(text.slice(0, colon))) return [link(text.slice(0, colon)), text.slice(colon)];
    return text;
  }
}

function statusIcon(status) {
  const [icon, text] = STATUS[status] ?? ['?', status];
  return h('span', { class: `status-icon st-${status}`, title: text }, h('span', { 'aria-hidden': 'true' }, icon), h('span', { class: 'visually-hidden' }, `${text}: `));
}

// The page: opening files (picker, drag and drop), one tab per opened model, errors as cards.
// Every byte is read by the worker; this thread only draws.

import { h, announce } from './dom.js';
import * as fmt from './format.js';
import { WorkerClient } from './client.js';
import { ModelView } from './model-view.js';
import { DiffView } from './diff-view.js';
import { safetyReport, verdictKind } from './checks-view.js';
import { installOffline } from './offline.js';

const client = new WorkerClient();
const tabs = document.getElementById('file-tabs');
const models = document.getElementById('models');
const welcome = document.getElementById('welcome');
const input = document.getElementById('file-input');
const overlay = document.getElementById('drop-overlay');
let nextModel = 1;
const entries = new Map(); // id -> {tab, view el}

// "Compare…" appears with two open models; the comparison is a tab of its own.
const COMPARE = 'compare';
const compareButton = h('button', { type: 'button', class: 'button', id: 'compare-button', hidden: true, onclick: () => openCompare() }, 'Compare…');
document.querySelector('.topbar .tagline').before(compareButton);

// For tests and benchmarks: timings of every open.
const stats = { opened: [], stats: [] };
window.__torchpeek = stats;

const MODEL_SUFFIX = /\.(pt|pth|bin|ckpt|safetensors|onnx|pt2|pkl|tar|zip|json|mar|h5)$/i;

/**
 * Which files open together: a sharded set with its index, an .onnx with its data files; a
 * Hugging Face `config.json` goes with the first group (the core reads its numbers).
 */
async function group(files) {
  const config = files.find((f) => f.name.toLowerCase() === 'config.json');
  const groups = await groupModels(files.filter((f) => f !== config));
  if (config) {
    if (groups.length) groups[0].push(config);
    else groups.push([config]);
  }
  return groups;
}

async function groupModels(files) {
  const index = files.find((f) => /\.index\.json$/i.test(f.name));
  const groups = [];
  let rest = [...files];
  if (index) {
    let shards = [];
    try {
      const map = JSON.parse(await index.text()).weight_map ?? {};
      const names = new Set(Object.values(map));
      shards = rest.filter((f) => names.has(f.name));
    } catch {
      shards = [];
    }
    groups.push([index, ...shards]);
    rest = rest.filter((f) => f !== index && !shards.includes(f));
  }
  const onnx = rest.filter((f) => /\.onnx$/i.test(f.name));
  if (onnx.length === 1) {
    const data = rest.filter((f) => f !== onnx[0] && !MODEL_SUFFIX.test(f.name));
    groups.push([onnx[0], ...data]);
    rest = rest.filter((f) => f !== onnx[0] && !data.includes(f));
  }
  for (const f of rest) groups.push([f]);
  return groups;
}

async function openFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  const t0 = performance.now();
  const groups = await group(files);
  let first = true;
  for (const g of groups) {
    const p = openGroup(g, t0);
    if (first) await p.catch(() => {});
    first = false;
  }
}

function activate(id) {
  for (const [key, e] of entries) {
    const on = key === id;
    e.tabButton.setAttribute('aria-selected', on ? 'true' : 'false');
    e.tabButton.tabIndex = on ? 0 : -1;
    e.el.hidden = !on;
    if (on) e.tabButton.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }
  welcome.hidden = entries.size > 0;
}

function addEntry(id, label, el) {
  const tabButton = h('button', { type: 'button', role: 'tab', class: 'filetab', 'aria-selected': 'false', dataset: { model: id }, title: label, onclick: () => activate(id) },
    h('span', { class: 'filetab-name' }, label));
  tabButton.addEventListener('keydown', (e) => {
    const ids = [...entries.keys()];
    const i = ids.indexOf(id);
    const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!d) return;
    e.preventDefault();
    const next = ids[(i + d + ids.length) % ids.length];
    activate(next);
    entries.get(next).tabButton.focus();
  });
  const li = h('li', { role: 'presentation' }, tabButton);
  tabs.append(li);
  models.append(el);
  entries.set(id, { tab: li, tabButton, el, label });
  activate(id);
}

/** The models open now, in tab order: [{id, label}]. */
const openModels = () => [...entries].filter(([, e]) => e.view).map(([id, e]) => ({ id, label: e.label }));

/**
 * For a model's Run section: the other open models it can compare outputs with (a `.pt2` with an
 * `.onnx`, either way), `[{id, label, files}]`.
 */
function runPeers(id) {
  const kindOf = (doc) => (doc.pt2 ? 'pt2' : doc.onnx ? 'onnx' : null);
  const mine = kindOf(entries.get(id)?.view?.doc ?? {});
  return [...entries]
    .filter(([other, e]) => other !== id && e.view && mine && kindOf(e.view.doc) && kindOf(e.view.doc) !== mine)
    .map(([other, e]) => ({ id: other, label: e.label, files: e.view.files }));
}

function modelsChanged() {
  compareButton.hidden = openModels().length < 2;
  for (const e of entries.values()) e.view?.peersChanged();
  entries.get(COMPARE)?.compare.refresh();
}

function openCompare() {
  if (!entries.has(COMPARE)) {
    const compare = new DiffView({
      client,
      models: openModels,
      onKey: (model, key) => {
        const e = entries.get(model);
        if (!e?.view) return;
        activate(model);
        e.view.showKey(key);
      },
      onClose: () => close(COMPARE),
    });
    addEntry(COMPARE, 'Compare', compare.el);
    entries.get(COMPARE).compare = compare;
    // A: the model shown before, B: the latest.
    const ids = openModels().map((m) => m.id);
    compare.refresh(ids.slice(-2));
  }
  activate(COMPARE);
  entries.get(COMPARE).el.querySelector('#diff-a').focus();
}

function close(id) {
  const e = entries.get(id);
  if (!e) return;
  if (e.view) client.close(id);
  e.tab.remove();
  e.el.remove();
  entries.delete(id);
  const last = [...entries.keys()].pop();
  if (last) activate(last);
  else activate(null);
  modelsChanged();
}

async function openGroup(files, t0) {
  const id = `m${nextModel++}`;
  const label = files.length > 1 ? `${files[0].name} +${files.length - 1}` : files[0].name;
  const placeholder = h('article', { class: 'model opening', dataset: { model: id } },
    h('p', {}, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ` Opening ${label} (${fmt.bytes(files.reduce((a, f) => a + f.size, 0))})…`));
  addEntry(id, label, placeholder);
  const entry = entries.get(id);
  entry.tabButton.classList.add('loading');
  try {
    const { json, ms, memory, reads } = await client.open(id, files);
    const tParse = performance.now();
    const doc = JSON.parse(json);
    if (!entries.has(id)) return;
    const tView = performance.now();
    const view = new ModelView({ client, modelId: id, doc, json, files, ms, onClose: () => close(id), runPeers: () => runPeers(id) });
    const tDone = performance.now();
    placeholder.replaceWith(view.el);
    entry.el = view.el;
    entry.view = view;
    entry.tabButton.classList.remove('loading');
    entry.tabButton.classList.add(`v-${verdictKind(doc.safety)}`);
    activate(id);
    modelsChanged();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const total = performance.now() - t0;
    view.el.dataset.openMs = total.toFixed(1);
    stats.opened.push({ name: label, workerMs: ms, parseMs: tView - tParse, viewMs: tDone - tView, totalMs: total, wasmMemory: memory, reads, tensors: doc.tensors.length, jsonBytes: json.length });
    announce(`Opened ${label}: ${doc.format}, ${doc.kind.replace('_', ' ')}, ${doc.tensors.length} tensors.`);
  } catch (err) {
    if (!entries.has(id)) return;
    const card = h('article', { class: 'model error-card', role: 'alert', dataset: { model: id } },
      h('h2', {}, `Could not open ${label}`),
      h('p', { class: 'error-message' }, err.message),
      h('p', { class: 'muted' }, 'Nothing in the file was executed. If it is a model file, it may be truncated or in a format torchpeek does not read yet.'),
      h('button', { type: 'button', class: 'button', onclick: () => close(id) }, 'Close'));
    // What the safety scan alone says (it reads any file): a hostile pickle shows its imports.
    client.request('check', { files }).promise.then(({ checks }) => {
      card.querySelector('.error-message').after(safetyReport(checks));
      const worst = ['dangerous', 'unsafe_but_known'].find((v) => checks.some((c) => c.safety.verdict === v));
      if (worst) entry.tabButton.classList.add(`v-${worst}`);
    }).catch(() => {});
    placeholder.replaceWith(card);
    entry.el = card;
    entry.tabButton.classList.remove('loading');
    entry.tabButton.classList.add('failed');
    activate(id);
    stats.opened.push({ name: label, error: err.message });
    announce(`Could not open ${label}: ${err.message}`);
    throw err;
  }
}

input.addEventListener('change', () => {
  const files = [...input.files];
  input.value = '';
  openFiles(files);
});

// Drag and drop anywhere on the page.
let depth = 0;
window.addEventListener('dragenter', (e) => {
  if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
  e.preventDefault();
  depth++;
  overlay.hidden = false;
});
window.addEventListener('dragleave', () => {
  depth = Math.max(0, depth - 1);
  if (!depth) overlay.hidden = true;
});
window.addEventListener('dragover', (e) => {
  if ([...(e.dataTransfer?.types ?? [])].includes('Files')) e.preventDefault();
});
window.addEventListener('drop', (e) => {
  e.preventDefault();
  depth = 0;
  overlay.hidden = true;
  if (e.dataTransfer?.files?.length) openFiles(e.dataTransfer.files);
});

// "/" focuses the filter of the visible model.
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.target.closest?.('input, textarea, select')) return;
  const visible = [...entries.values()].find((x) => !x.el.hidden);
  const filter = visible?.el.querySelector('input.filter');
  if (filter && !filter.closest('[hidden]')) {
    e.preventDefault();
    filter.focus();
  }
});

// Focus styles only for keyboard users.
document.body.classList.add('js');

// The whole site kept by the service worker: the page works with no network after the first visit.
// A new build takes over at once when no file is open, else when the user says so.
installOffline({ busy: () => entries.size > 0 });

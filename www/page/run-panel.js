// The Run section of an ONNX model or a `.pt2` (its exported program, translated for the engine): an editor per input (random, zeros, ones, a .npy file, an image,
// token ids), values for symbolic dimensions, and the outputs (shape, dtype, statistics, preview,
// top-k for classifier outputs, .npy download). The engine runs in its own worker
// (workers/engine-worker.js) and its own wasm, started on the first Check or Run: opening files never loads it.
// Dtype facts come from the core's table (dtypes.js); an output's statistics from the core too,
// computed by the engine's wasm with the run (`EngineSession.outputStats`).
// Compare outputs (with a `.pt2` and an `.onnx` open together): both models run in this panel's
// engine worker on the same inputs (the editors'), and the engine compares their outputs
// (`EngineSession.compareOutputs`: max |a−b|, relative error, cosine, the verdict against the
// tolerance edited here; the same code as `torchpeek run A B --compare`).

import { h, download, announce } from './dom.js';
import * as fmt from './format.js';
import { dtype as dtypeFacts, fromOnnx } from './dtypes.js';
import { ARRAYS, typed } from '../shared/typed-arrays.js';

const isFloat = (dtype) => Boolean(dtype) && dtypeFacts(dtype).is_float;
const isBig = (dtype) => ARRAYS[dtype] === BigInt64Array || ARRAYS[dtype] === BigUint64Array;


/** The engine worker: requests with ids; a crash (a wasm trap) starts a fresh worker on the next load. */
class Engine {
  constructor() {
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
  }

  start() {
    this.worker = new Worker(new URL('../workers/engine-worker.js', import.meta.url), { type: 'module', name: 'torchpeek-engine' });
    this.worker.onmessage = ({ data: msg }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === 'result') p.resolve(msg.result);
      else if (msg.fatal) {
        // A trap leaves the wasm instance unusable: the next request starts a fresh worker.
        p.reject(new Error(`the engine crashed (${msg.message}); the engine restarts on the next run`));
        this.stop();
      } else p.reject(new Error(msg.message));
    };
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      const err = new Error(`the engine failed to start: ${e.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.stop();
    };
  }

  stop() {
    this.worker?.terminate();
    this.worker = null;
    this.onStop?.();
  }

  request(type, payload = {}, transfer = []) {
    if (!this.worker) this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, type, ...payload }, transfer);
    });
  }
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). */
function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(seed) {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const numbers = (text) => text.split(/[\s,]+/).filter(Boolean).map(Number);

/** One input's editor. `dims()` gives the values of symbolic dimensions. */
class InputEditor {
  constructor(info, panel) {
    this.info = info;
    this.panel = panel;
    this.dtype = fromOnnx(info.elem_type);
    this.shape = info.shape ?? null;
    this.npy = null; // {dtype, shape, data} from a .npy file
    const rank4Float = this.dtype && isFloat(this.dtype) && this.shape?.length === 4;
    const integer = Boolean(this.dtype) && dtypeFacts(this.dtype).is_integer;
    const modes = [['normal', 'random normal'], ['uniform', 'random uniform'], ['zeros', 'zeros'], ['ones', 'ones'], ['npy', '.npy file']];
    if (rank4Float) modes.push(['image', 'image']);
    if (integer && (this.shape?.length ?? 1) <= 2) modes.push(['tokens', 'token ids']);
    let initial = isFloat(this.dtype) ? 'normal' : 'ones';
    if (integer && /id/i.test(info.name) && modes.some(([m]) => m === 'tokens')) initial = 'tokens';
    const id = `${panel.idPrefix}-${panel.editors.length}`;
    this.mode = h('select', { id: `${id}-mode`, 'aria-label': `Values for ${info.name}`, dataset: { input: info.name }, onchange: () => this.showMode() },
      modes.map(([v, label]) => h('option', { value: v, selected: v === initial }, label)));
    const field = (label, el) => h('label', { class: 'field' }, h('span', {}, label), el);
    this.seed = h('input', { type: 'number', value: 0, step: 1, class: 'num' });
    this.low = h('input', { type: 'number', value: integer ? 0 : -1, step: 'any', class: 'num' });
    this.high = h('input', { type: 'number', value: integer ? 100 : 1, step: 'any', class: 'num' });
    this.npyFile = h('input', { type: 'file', accept: '.npy', 'aria-label': `.npy file for ${info.name}`, onchange: () => this.readNpy() });
    this.npyNote = h('span', { class: 'muted small', 'aria-live': 'polite' });
    this.imageFile = h('input', { type: 'file', accept: 'image/*', 'aria-label': `Image for ${info.name}` });
    const nhwc = this.shape?.length === 4 && (this.shape[3] === 3 || this.shape[3] === 1) && this.shape[1] !== 3;
    this.layout = h('select', { 'aria-label': 'Layout' }, h('option', { value: 'nchw', selected: !nhwc }, 'NCHW'), h('option', { value: 'nhwc', selected: nhwc }, 'NHWC'));
    this.mean = h('input', { type: 'text', value: '0.485, 0.456, 0.406', class: 'wide', spellcheck: 'false' });
    this.std = h('input', { type: 'text', value: '0.229, 0.224, 0.225', class: 'wide', spellcheck: 'false' });
    this.tokens = h('textarea', { rows: 2, spellcheck: 'false', 'aria-label': `Token ids for ${info.name}`, placeholder: '1, 5, 9, 2' });
    this.tokens.value = '1, 5, 9, 2';
    // One seed field for both random modes (an element has one parent: two labels around the same
    // input left the first one empty).
    const seed = field('seed', this.seed);
    this.parts = {
      normal: [seed],
      uniform: [seed, field('low', this.low), field('high', this.high)],
      zeros: [],
      ones: [],
      npy: [field('file', this.npyFile), this.npyNote],
      image: [field('image', this.imageFile), field('layout', this.layout), field('mean', this.mean), field('std', this.std),
        h('span', { class: 'muted small' }, 'pixels / 255, then (x − mean) / std')],
      tokens: [field('ids', this.tokens), h('span', { class: 'muted small' }, 'comma- or space-separated; padded with 0 to a fixed length')],
    };
    this.options = h('div', { class: 'input-options' });
    this.el = h('div', { class: 'run-input', dataset: { input: info.name } },
      h('div', { class: 'run-input-head' },
        h('label', { for: this.mode.id }, h('code', {}, info.name)),
        h('span', { class: 'dtype' }, this.dtype ?? info.elem_type),
        h('span', { class: 'shape' }, fmt.shape((this.shape ?? ['?']).map(String))),
        this.mode),
      this.options);
    this.showMode();
  }

  showMode() {
    this.options.replaceChildren(...this.parts[this.mode.value]);
  }

  async readNpy() {
    const file = this.npyFile.files[0];
    this.npy = null;
    if (!file) return;
    this.npyNote.textContent = 'reading…';
    try {
      const { array } = await this.panel.engine.request('npy', { file });
      this.npy = array;
      this.npyNote.textContent = `${array.dtype} ${fmt.shape(array.shape)}`;
    } catch (e) {
      this.npyNote.textContent = e.message;
    }
  }

  /** The shape with symbolic dimensions filled in. */
  concreteShape(dims) {
    if (!this.shape) throw new Error(`input ${this.info.name}: the model does not give its rank; use a .npy file`);
    return this.shape.map((d) => (typeof d === 'number' ? d : dims(d)));
  }

  /** The input as `{name, dtype, shape, data: ArrayBuffer}`. */
  async value(dims) {
    const { name } = this.info;
    const mode = this.mode.value;
    if (mode === 'npy') {
      if (!this.npy) throw new Error(`input ${name}: choose a .npy file`);
      return { name, dtype: this.npy.dtype, shape: this.npy.shape, data: this.npy.data.slice(0) };
    }
    if (!this.dtype || !ARRAYS[this.dtype]) throw new Error(`input ${name}: ${this.info.elem_type} values can only come from a .npy file`);
    if (mode === 'tokens') return this.tokenIds(dims);
    const shape = this.concreteShape(dims);
    const n = shape.reduce((a, b) => a * b, 1);
    const A = ARRAYS[this.dtype];
    const out = new A(n);
    const put = isBig(this.dtype) ? (i, v) => { out[i] = BigInt(Math.round(v)); } : (i, v) => { out[i] = v; };
    if (mode === 'ones') for (let i = 0; i < n; i++) put(i, 1);
    else if (mode === 'normal' || mode === 'uniform') {
      const seed = Number(this.seed.value) || 0;
      if (mode === 'normal') {
        const r = normal(seed);
        for (let i = 0; i < n; i++) put(i, isFloat(this.dtype) ? r() : Math.round(r()));
      } else {
        const r = uniform(seed);
        const lo = Number(this.low.value);
        const hi = Number(this.high.value);
        for (let i = 0; i < n; i++) put(i, isFloat(this.dtype) ? lo + (hi - lo) * r() : Math.floor(lo + (hi - lo) * r()));
      }
    } else if (mode === 'image') await this.image(shape, out);
    return { name, dtype: this.dtype, shape, data: out.buffer };
  }

  tokenIds(dims) {
    const { name } = this.info;
    const ids = numbers(this.tokens.value);
    if (!ids.length || ids.some((v) => !Number.isInteger(v))) throw new Error(`input ${name}: token ids must be integers`);
    const rank = this.shape.length;
    const last = this.shape[rank - 1];
    let len = ids.length;
    if (typeof last === 'number') {
      if (ids.length > last) throw new Error(`input ${name}: at most ${last} ids, got ${ids.length}`);
      len = last;
    } else {
      // A symbolic length is the number of ids, for every input that shares it.
      this.panel.setSymbol(last, len);
    }
    const batch = rank === 2 ? (typeof this.shape[0] === 'number' ? this.shape[0] : dims(this.shape[0])) : 1;
    const shape = rank === 2 ? [batch, len] : [len];
    const out = new ARRAYS[this.dtype](batch * len);
    const big = isBig(this.dtype);
    for (let b = 0; b < batch; b++) for (let i = 0; i < ids.length; i++) out[b * len + i] = big ? BigInt(ids[i]) : ids[i];
    return { name, dtype: this.dtype, shape, data: out.buffer };
  }

  async image(shape, out) {
    const file = this.imageFile.files[0];
    if (!file) throw new Error(`input ${this.info.name}: choose an image`);
    const nhwc = this.layout.value === 'nhwc';
    const [, c, hgt, wid] = nhwc ? [shape[0], shape[3], shape[1], shape[2]] : shape;
    const mean = numbers(this.mean.value);
    const std = numbers(this.std.value);
    if (![1, 3].includes(c)) throw new Error(`input ${this.info.name}: an image needs 1 or 3 channels, the shape gives ${c}`);
    const bitmap = await createImageBitmap(file, { resizeWidth: wid, resizeHeight: hgt, resizeQuality: 'high' });
    const canvas = new OffscreenCanvas(wid, hgt);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const px = ctx.getImageData(0, 0, wid, hgt).data;
    const plane = wid * hgt;
    for (let b = 0; b < shape[0]; b++) {
      for (let i = 0; i < plane; i++) {
        for (let k = 0; k < c; k++) {
          const raw = c === 1 ? (px[i * 4] + px[i * 4 + 1] + px[i * 4 + 2]) / 3 : px[i * 4 + k];
          const v = (raw / 255 - (mean[k] ?? mean[0] ?? 0)) / (std[k] ?? std[0] ?? 1);
          out[b * plane * c + (nhwc ? i * c + k : k * plane + i)] = v;
        }
      }
    }
  }
}

/** Top-k of a softmax over the first row, for outputs shaped like class scores ([classes] or [batch, classes]). */
function topK(output, values, k = 5) {
  const { shape, dtype } = output;
  const classes = shape[shape.length - 1];
  if (!isFloat(dtype) || !(classes >= 2) || shape.length > 2) return null;
  const row = Array.from(values.subarray(0, classes), Number);
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return row.map((v, i) => ({ i, v, p: e[i] / z })).sort((a, b) => b.v - a.v).slice(0, k);
}

export class RunPanel {
  /**
   * `files`: the model's File objects (the .onnx and its external data, or the .pt2); `inputs`: its
   * inputs `[{name, elem_type, shape}]`; `kind`: `onnx` or `pt2`; `dimDefaults`: a first value for
   * symbolic dimensions (else 1); `peers()`: the open models to compare outputs with, `[{id, label, files}]`.
   */
  constructor({ files, inputs, kind, dimDefaults = new Map(), modelId, peers = () => [] }) {
    this.files = files;
    this.kind = kind;
    this.peers = peers;
    this.idPrefix = `${modelId}-run`;
    this.engine = new Engine();
    this.engine.onStop = () => {
      this.loaded = null; // the model is loaded again into the next worker
    };
    this.loaded = null; // promise of the engine's {io, ms}
    this.editors = [];
    this.symbols = new Map(); // name -> <input>
    for (const info of inputs) this.editors.push(new InputEditor(info, this));
    for (const info of inputs) for (const d of info.shape ?? []) if (typeof d === 'string' && !this.symbols.has(d)) {
      this.symbols.set(d, h('input', { type: 'number', min: 1, step: 1, value: dimDefaults.get(d) ?? 1, class: 'num', dataset: { symbol: d }, 'aria-label': `Value of dimension ${d}` }));
    }
    this.status = h('p', { class: 'run-status muted', role: 'status', 'aria-live': 'polite' },
      'The engine (tract, compiled to WebAssembly) loads on the first check or run; the model stays on this computer.');
    this.checkButton = h('button', { type: 'button', class: 'button', onclick: () => this.load().catch(() => {}) }, 'Check operators');
    this.runButton = h('button', { type: 'button', class: 'button primary run-button', onclick: () => this.run() }, 'Run');
    this.outputs = h('div', { class: 'run-outputs', 'aria-live': 'polite' });
    this.compare = this.compareSection();
    this.el = h('div', { class: 'run-panel' },
      h('h3', {}, 'Inputs'),
      this.symbols.size
        ? h('fieldset', { class: 'symbols' }, h('legend', {}, 'Symbolic dimensions'),
            [...this.symbols].map(([name, input]) => h('label', { class: 'field' }, h('span', {}, name), input)))
        : null,
      this.editors.map((e) => e.el),
      h('div', { class: 'toolbar run-actions' }, this.runButton, this.checkButton),
      this.status,
      this.compare.el,
      this.outputs);
    this.refreshPeers();
  }

  /** The Compare outputs controls: the model to compare with, the tolerance, the action, the result. */
  compareSection() {
    const other = this.kind === 'pt2' ? 'ONNX model' : '.pt2';
    // Another model: a new tolerance waits for its run.
    const peer = h('select', { class: 'compare-peer', 'aria-label': 'Model to compare with', onchange: () => { this.lastCompare = null; } });
    const tolerance = h('input', { type: 'number', class: 'num compare-tolerance', value: '1e-4', min: 0, step: 'any', 'aria-label': 'Tolerance on max |a − b|',
      onchange: () => this.lastCompare && this.compareOutputs(false) });
    const button = h('button', { type: 'button', class: 'button compare-button', onclick: () => this.compareOutputs(true) }, 'Compare outputs');
    const result = h('div', { class: 'compare-result', 'aria-live': 'polite' });
    const el = h('section', { class: 'run-compare', hidden: true },
      h('h3', {}, 'Compare outputs'),
      h('p', { class: 'muted small' }, `Runs this model and an open ${other} on the inputs above, then compares their outputs in order.`),
      h('div', { class: 'toolbar compare-actions' },
        h('label', { class: 'field' }, h('span', {}, 'with'), peer),
        h('label', { class: 'field' }, h('span', {}, 'tolerance (max |a − b|)'), tolerance),
        button),
      result);
    return { el, peer, tolerance, button, result };
  }

  /** Offers the open models of the other kind; hides Compare outputs when there is none. */
  refreshPeers() {
    const peers = this.peers();
    const { el, peer } = this.compare;
    const chosen = peer.value;
    peer.replaceChildren(...peers.map((p) => h('option', { value: p.id, selected: p.id === chosen }, p.label)));
    if (peer.value !== chosen) this.lastCompare = null;
    el.hidden = peers.length === 0;
  }

  setStatus(text, error = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error-text', error);
    this.status.classList.toggle('muted', !error);
  }

  /** Loads the model into the engine once (checking every operator); a failure shows and is retried next time. */
  load() {
    if (!this.loaded) {
      this.setStatus('Loading the engine and the model…');
      this.loaded = this.engine.request('load', { files: this.files }).then((r) => {
        this.setStatus(`Model loaded in ${fmt.ms(r.ms)}: every operator is supported.`);
        return r;
      }, (e) => {
        this.loaded = null;
        this.setStatus(`Cannot run this model: ${e.message}`, true);
        throw e;
      });
    }
    return this.loaded;
  }

  setSymbol(name, value) {
    const input = this.symbols.get(name);
    if (input) input.value = value;
  }

  dims(name) {
    const v = Number(this.symbols.get(name)?.value);
    if (!Number.isInteger(v) || v < 1) throw new Error(`dimension ${name} must be a positive integer`);
    return v;
  }

  /** Every editor's value, token ids first: they set the symbolic length other inputs share. */
  async inputValues() {
    const inputs = new Array(this.editors.length);
    const order = this.editors.map((e, i) => i).sort((a, b) => (this.editors[b].mode.value === 'tokens') - (this.editors[a].mode.value === 'tokens'));
    for (const i of order) inputs[i] = await this.editors[i].value((d) => this.dims(d));
    return inputs;
  }

  /**
   * Runs this model and the chosen peer on the editors' inputs and shows the engine's comparison;
   * `rerun` false compares the last outputs again (a new tolerance).
   */
  async compareOutputs(rerun) {
    const { peer, tolerance, button, result } = this.compare;
    const other = this.peers().find((p) => p.id === peer.value);
    const tol = Number(tolerance.value);
    if (!other || !(tol >= 0)) {
      this.setStatus(other ? 'The tolerance must be a number ≥ 0.' : 'Choose a model to compare with.', true);
      return;
    }
    button.disabled = true;
    try {
      await this.load();
      const inputs = rerun ? await this.inputValues() : null;
      if (rerun) this.setStatus(`Running both models…`);
      const r = await this.engine.request('compare', { files: other.files, inputs, tolerance: tol }, inputs ? inputs.map((i) => i.data) : []);
      this.lastCompare = { ...r, label: other.label };
      if (rerun) this.setStatus(`Compared with ${other.label}: ran in ${fmt.ms(r.ms.a)} and ${fmt.ms(r.ms.b)}.`);
      this.showComparison(this.lastCompare);
      announce(`Outputs ${r.report.verdict === 'match' ? 'match' : 'differ'}`);
      const log = (window.__torchpeek ??= {});
      (log.compares ??= []).push(r.report);
    } catch (e) {
      this.setStatus(e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  showComparison({ report, label }) {
    const num = (v, digits = 3) => (v == null ? '–' : v === 0 ? '0' : v.toExponential(digits));
    const ok = report.verdict === 'match';
    const names = (o) => (o.a === o.b ? h('code', {}, o.a) : [h('code', {}, o.a), ' / ', h('code', {}, o.b)]);
    const shape = (o) => (JSON.stringify(o.a_shape) === JSON.stringify(o.b_shape) ? fmt.shape(o.a_shape) : `${fmt.shape(o.a_shape)} vs ${fmt.shape(o.b_shape)}`);
    this.compare.result.replaceChildren(
      h('p', { class: 'compare-verdict' },
        h('span', { class: `badge verdict ${ok ? 'v-safe' : 'v-dangerous'}`, dataset: { verdict: report.verdict } }, ok ? 'match' : 'differ'),
        ` ${ok ? 'every' : 'not every'} output within ${report.tolerance.toExponential()} of ${label}'s`),
      h('div', { class: 'table-scroll' }, h('table', { class: 'grid compare-table' },
        h('thead', {}, h('tr', {}, ['output (this / other)', 'shape', 'max |a − b|', 'relative error', 'cosine', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, report.outputs.map((o) => h('tr', { dataset: { output: o.a, within: String(o.within_tolerance) } },
          h('td', {}, names(o)),
          h('td', {}, shape(o)),
          h('td', { class: 'num', dataset: { metric: 'max_abs' } }, num(o.max_abs)),
          h('td', { class: 'num', dataset: { metric: 'rel_error' } }, num(o.rel_error)),
          h('td', { class: 'num', dataset: { metric: 'cosine' } }, o.cosine == null ? '–' : o.cosine.toFixed(8)),
          h('td', {}, h('span', { class: `badge ${o.within_tolerance ? 'v-safe' : 'v-dangerous'}` }, o.within_tolerance ? 'ok' : (o.nan_mismatches ? `${o.nan_mismatches} NaN` : 'differs')))))))),
      ...(report.notes ?? []).map((n) => h('p', { class: 'muted small' }, n)));
  }

  async run() {
    this.runButton.disabled = true;
    try {
      await this.load();
      const inputs = await this.inputValues();
      this.setStatus('Running…');
      const t0 = performance.now();
      const r = await this.engine.request('run', { inputs }, inputs.map((i) => i.data));
      const total = performance.now() - t0;
      this.setStatus(`Ran in ${fmt.ms(r.ms)} (${fmt.ms(total)} with the transfer to and from the engine).`);
      this.showOutputs(r.outputs);
      announce(`Model ran: ${r.outputs.length} output${r.outputs.length === 1 ? '' : 's'}`);
      const log = (window.__torchpeek ??= {});
      (log.runs ??= []).push({ ms: r.ms, outputs: r.outputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })) });
    } catch (e) {
      if (this.loaded || /crashed/.test(e.message)) this.setStatus(e.message, true);
    } finally {
      this.runButton.disabled = false;
    }
  }

  showOutputs(outputs) {
    this.outputs.replaceChildren(h('h3', {}, 'Outputs'), ...outputs.map((o) => this.outputView(o)));
  }

  outputView(o) {
    let values = null;
    try {
      values = typed(o);
    } catch {
      values = null;
    }
    // The core's statistics (min, max, mean over finite values; sample std), for every dtype.
    const { stats } = o;
    const top = values ? topK(o, values) : null;
    const n = o.shape.reduce((a, b) => a * b, 1);
    const preview = values ? Array.from(values.subarray(0, 32), (v) => fmt.value(Number(v), o.dtype)).join(', ') + (n > 32 ? ', …' : '') : '';
    const save = async () => {
      try {
        const { bytes } = await this.engine.request('npy-bytes', { array: { dtype: o.dtype, shape: o.shape, data: o.data.slice(0) } });
        download(`${o.name.replace(/[^\w.-]+/g, '_') || 'output'}.npy`, new Blob([bytes], { type: 'application/octet-stream' }));
      } catch (e) {
        this.setStatus(e.message, true);
      }
    };
    return h('section', { class: 'run-output', dataset: { output: o.name } },
      h('div', { class: 'run-input-head' }, h('code', {}, o.name), h('span', { class: 'dtype' }, o.dtype), h('span', { class: 'shape' }, fmt.shape(o.shape)),
        h('button', { type: 'button', class: 'button small', onclick: save, 'aria-label': `Download ${o.name} as .npy` }, 'Download .npy')),
      stats ? h('dl', { class: 'facts' }, [['min', stats.min], ['max', stats.max], ['mean', stats.mean], ['std', stats.std]]
        .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', { dataset: { stat: k } }, fmt.value(v, isFloat(o.dtype) ? o.dtype : 'float64')))),
      stats.nan_count ? h('div', {}, h('dt', {}, 'NaN'), h('dd', { dataset: { stat: 'nan' } }, fmt.grouped(stats.nan_count))) : null,
      stats.inf_count ? h('div', {}, h('dt', {}, 'Inf'), h('dd', { dataset: { stat: 'inf' } }, fmt.grouped(stats.inf_count))) : null) : null,
      values ? h('pre', { class: 'values', tabindex: 0, 'aria-label': `First values of ${o.name}` }, preview) : null,
      top ? h('table', { class: 'grid topk' }, h('caption', {}, `Top ${top.length} of ${o.shape[o.shape.length - 1]} classes${o.shape.length === 2 && o.shape[0] > 1 ? ', first row' : ''} (softmax over the last dimension)`),
        h('thead', {}, h('tr', {}, ['class', 'score', 'probability'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, top.map((t) => h('tr', {}, h('td', {}, t.i), h('td', {}, fmt.float(t.v, 5)),
          h('td', {}, h('progress', { max: 1, value: t.p, 'aria-hidden': 'true' }), ` ${(t.p * 100).toFixed(2)} %`))))) : null);
  }
}

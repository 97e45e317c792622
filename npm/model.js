// The package's shared half: inputs to sources, and the Model wrapper over the wasm's WasmModel.

const isBlob = (x) => typeof Blob !== 'undefined' && x instanceof Blob;
const canReadSync = () => typeof FileReaderSync !== 'undefined';

/** Turns one input into what WasmModel.open takes: {name, blob} | {name, bytes} | {name, size, read}. */
export async function toSource(input, i, fileSource) {
  if (typeof input === 'string' || (typeof URL !== 'undefined' && input instanceof URL)) {
    if (!fileSource) throw new TypeError('file paths can be opened in Node only; pass a File, Blob or Uint8Array');
    return fileSource(input);
  }
  if (input instanceof Uint8Array) return { name: `input${i}`, bytes: input };
  if (input instanceof ArrayBuffer) return { name: `input${i}`, bytes: new Uint8Array(input) };
  if (isBlob(input)) {
    const name = input.name ?? `input${i}`;
    // In a worker a Blob is read lazily in slices; elsewhere it has to be read whole.
    return canReadSync() ? { name, blob: input } : { name, bytes: new Uint8Array(await input.arrayBuffer()) };
  }
  if (input && typeof input === 'object') {
    if (input.bytes instanceof ArrayBuffer) return { ...input, bytes: new Uint8Array(input.bytes) };
    if (input.bytes || input.blob || (typeof input.read === 'function' && input.size != null)) return { name: `input${i}`, ...input };
  }
  throw new TypeError(`input ${i}: give a path (Node), a File/Blob, a Uint8Array, or {name, size, read(offset, length)}`);
}

export class Model {
  /** @internal */
  constructor(inner, closers) {
    this._inner = inner;
    this._closers = closers;
    /** The document of the inspect-json spec. */
    this.document = JSON.parse(inner.documentJson());
    this._byKey = new Map(this.document.state_dict.map((e) => [e.key, e.tensor]));
  }

  /** A tensor index from an index or a state_dict key. */
  tensorIndex(tensor) {
    if (typeof tensor === 'number') {
      if (!Number.isInteger(tensor) || tensor < 0 || tensor >= this.document.tensors.length) throw new RangeError(`no tensor with index ${tensor}`);
      return tensor;
    }
    const i = this._byKey.get(tensor);
    if (i === undefined) throw new RangeError(`no tensor with key ${JSON.stringify(tensor)} in the state_dict`);
    return i;
  }

  stats(tensor, { onProgress } = {}) {
    return JSON.parse(this._live().tensorStats(this.tensorIndex(tensor), onProgress));
  }

  histogram(tensor, bins = 64, { onProgress } = {}) {
    return JSON.parse(this._live().histogram(this.tensorIndex(tensor), bins, onProgress));
  }

  heatmap(tensor, { rows = 256, cols = 256, onProgress } = {}) {
    return JSON.parse(this._live().heatmap(this.tensorIndex(tensor), rows, cols, onProgress));
  }

  values(tensor, limit = 64) {
    return this._live().tensorValues(this.tensorIndex(tensor), limit);
  }

  /** The health checklist over the state_dict; onProgress(bytes read, total). */
  health({ onProgress } = {}) {
    return JSON.parse(this._live().health(onProgress));
  }

  close() {
    if (!this._inner) return;
    this._inner.free();
    this._inner = null;
    for (const c of this._closers) c();
  }

  _live() {
    if (!this._inner) throw new Error('the model is closed');
    return this._inner;
  }
}

/**
 * The inputs (one, or several that belong together) as sources for the wasm, and what closes them
 * (Node file descriptors). On failure, what was opened is closed.
 */
export async function sourcesOf(inputs, fileSource) {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const sources = [];
  const closers = [];
  try {
    for (let i = 0; i < list.length; i++) {
      const s = await toSource(list[i], i, fileSource);
      if (s.close) closers.push(s.close);
      sources.push(s);
    }
    return { sources, closers };
  } catch (err) {
    for (const c of closers) c();
    throw err;
  }
}

export async function openWith(WasmModel, inputs, fileSource) {
  const { sources, closers } = await sourcesOf(inputs, fileSource);
  try {
    return new Model(WasmModel.open(sources), closers);
  } catch (err) {
    for (const c of closers) c();
    throw err;
  }
}

/** What changed from model `a` to model `b`, most changed first; onProgress(elements done, total). */
export function diff(a, b, { onProgress } = {}) {
  if (!(a instanceof Model) || !(b instanceof Model)) throw new TypeError('diff(a, b): give two models from open()');
  return JSON.parse(a._live().diff(b._live(), onProgress));
}

/** The safety verdict on one input, also one that open() refuses (a plain malicious pickle). */
export async function checkWith(checkSafety, input, fileSource) {
  const source = await toSource(input, 0, fileSource);
  try {
    return JSON.parse(checkSafety(source));
  } finally {
    source.close?.();
  }
}

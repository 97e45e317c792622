// The page's side of the worker protocol (see workers/worker.js): requests with ids, progress
// callbacks, and cancel, which restarts the worker and quietly re-opens every file that was open
// in it. An opened document comes with the core's dtype table, which goes to dtypes.js.

import { setDtypes } from './dtypes.js';

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

export class WorkerClient {
  constructor(url = new URL('../workers/worker.js', import.meta.url)) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, onProgress}
    this.opened = new Map(); // model -> files, re-opened after a restart
    this.start();
  }

  start() {
    this.worker = new Worker(this.url, { type: 'module', name: 'torchpeek' });
    this.worker.onmessage = (e) => this.onMessage(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      const err = new Error(`worker failed: ${e.message || 'could not start'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  onMessage(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else {
      p.reject(new Error(msg.message));
      if (msg.fatal) this.restart();
    }
  }

  /** Sends a request; returns {id, promise}. */
  request(type, payload = {}, { onProgress } = {}) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
    });
    this.worker.postMessage({ id, type, ...payload });
    return { id, promise };
  }

  async open(model, files) {
    const result = await this.request('open', { model, files }).promise;
    setDtypes(result.dtypes);
    this.opened.set(model, files);
    return result;
  }

  close(model) {
    this.opened.delete(model);
    return this.request('close', { model }).promise.catch(() => null);
  }

  /** Cancels request `id` (if still running): the worker is replaced. */
  cancel(id) {
    if (!this.pending.has(id)) return;
    this.restart(id);
  }

  restart(cancelledId) {
    this.worker.terminate();
    const pending = [...this.pending.entries()];
    this.pending.clear();
    this.start();
    for (const [model, files] of this.opened) this.request('open', { model, files }).promise.catch(() => {});
    for (const [id, p] of pending) p.reject(id === cancelledId ? new Cancelled() : new Error('the worker was restarted'));
  }
}

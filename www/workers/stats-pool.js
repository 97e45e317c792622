// Statistics and histograms of big tensors, read by a pool of workers (stats-worker.js) in
// parallel: each reads and reduces parts of the tensor (contiguous element ranges, handed out as
// workers come free), and the parts merge (`WasmModel.mergeStats`: counts and sums add, min and
// max, the spread by Chan's formula; histogram counts add, the bins being the whole tensor's range
// from the statistics). Reading a File is the slow part in a browser, and a worker reads one slice
// at a time, so several readers overlap the waits.
//
// The pool is sized from navigator.hardwareConcurrency, started on first use, and lives as long
// as the worker that owns it (terminating that worker, as Cancel does, ends the pool too).

/** Parts handed out per worker (later parts go to whichever worker is free). */
const PARTS_PER_WORKER = 4;

export class StatsPool {
  /** `module`: the compiled wasm the workers instantiate. */
  constructor(module, size) {
    this.module = module;
    this.size = size;
    this.workers = [];
    this.pending = new Map(); // id -> {resolve, reject, onProgress}
    this.nextId = 1;
  }

  start() {
    while (this.workers.length < this.size) {
      const w = new Worker(new URL('./stats-worker.js', import.meta.url), { type: 'module', name: `torchpeek-stats-${this.workers.length}` });
      w.onmessage = (e) => this.onMessage(e.data);
      w.onerror = (e) => {
        e.preventDefault?.();
        const err = new Error(`statistics worker failed: ${e.message || 'could not start'}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      this.workers.push(w);
      this.request(w, { type: 'init', module: this.module }).catch(() => {});
    }
  }

  onMessage(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') return p.onProgress?.(msg.done);
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else p.reject(new Error(msg.message));
  }

  request(worker, msg, onProgress) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, onProgress }));
    worker.postMessage({ id, ...msg });
    return promise;
  }

  /**
   * Runs `msg` (a stats-part or histogram-part request without its range) over elements
   * 0..numel in parts; returns the parts' results in element order. `onProgress(bytesDone)`.
   */
  async map(msg, numel, itemsize, onProgress) {
    this.start();
    const step = Math.max(1, Math.ceil(numel / (this.size * PARTS_PER_WORKER)));
    const ranges = [];
    for (let first = 0; first < numel; first += step) ranges.push([first, Math.min(step, numel - first)]);
    const results = new Array(ranges.length);
    const done = new Array(ranges.length).fill(0);
    const report = () => onProgress(done.reduce((a, b) => a + b, 0));
    let next = 0;
    const work = async (worker) => {
      while (next < ranges.length) {
        const k = next++;
        const [first, count] = ranges[k];
        results[k] = await this.request(worker, { ...msg, first, count }, (d) => {
          done[k] = d;
          report();
        });
        done[k] = count * itemsize;
        report();
      }
    };
    await Promise.all(this.workers.map(work));
    return results;
  }

  /** The wasm memory of all the pool's workers, in bytes. */
  async memory() {
    const each = await Promise.all(this.workers.map((w) => this.request(w, { type: 'memory' })));
    return each.reduce((a, b) => a + b, 0);
  }

  /** Forgets a model in every worker. */
  close(model) {
    for (const w of this.workers) this.request(w, { type: 'close', model }).catch(() => {});
  }
}

// Reading ahead in parallel: a few small workers, each slicing and reading its share of the byte
// ranges an open asks for (`Blob.slice().arrayBuffer()`, all in flight at once). Slicing a File has
// a fixed cost per slice on the thread that does it, so the slices are spread over threads.
//
// As a worker (this file run with `new Worker`): {id, file: File, ranges: [offset, length, ...]}
//   -> {id, buffers: [ArrayBuffer]} (transferred), or {id, error}.
// As a module (imported by worker.js): `readAhead(file, ranges)`.

/** Reader threads; at most this many (each costs a little memory and a start of about a millisecond). */
const READERS = 3;

/** Reads `ranges` (flat `[offset, length, ...]`) of `file` on this thread, all in flight together. */
function readHere(file, ranges) {
  const reads = [];
  for (let i = 0; i < ranges.length; i += 2) reads.push(file.slice(ranges[i], ranges[i] + ranges[i + 1]).arrayBuffer());
  return Promise.all(reads);
}

const isWorkerEntry = typeof WorkerGlobalScope !== 'undefined' && self.name?.startsWith('torchpeek-read-ahead');
if (isWorkerEntry) {
  self.onmessage = async ({ data: { id, file, ranges } }) => {
    try {
      const buffers = await readHere(file, ranges);
      postMessage({ id, buffers }, buffers);
    } catch (err) {
      postMessage({ id, error: String(err?.message ?? err) });
    }
  };
}

let readers = null;
let nextId = 1;
const pending = new Map();

function start() {
  readers = [];
  for (let i = 0; i < READERS; i++) {
    const w = new Worker(new URL('./read-ahead.js', import.meta.url), { type: 'module', name: `torchpeek-read-ahead-${i}` });
    w.onmessage = ({ data }) => {
      const p = pending.get(data.id);
      pending.delete(data.id);
      if (data.error) p?.reject(new Error(data.error));
      else p?.resolve(data.buffers);
    };
    readers.push(w);
  }
}

/**
 * The bytes at `ranges` (flat `[offset, length, ...]`) of `file`, as Uint8Arrays in order: split
 * between this thread and the reader workers. Few ranges are read here alone.
 */
export async function readAhead(file, ranges) {
  const n = ranges.length / 2;
  if (n < 32) return (await readHere(file, ranges)).map((b) => new Uint8Array(b));
  if (!readers) start();
  const shares = READERS + 1;
  const per = Math.ceil(n / shares) * 2;
  const parts = [];
  for (let k = 0; k < shares; k++) {
    const part = ranges.slice(k * per, (k + 1) * per);
    if (k === 0) parts.push(readHere(file, part));
    else {
      const id = nextId++;
      parts.push(new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        readers[k - 1].postMessage({ id, file, ranges: part });
      }));
    }
  }
  return (await Promise.all(parts)).flat().map((b) => new Uint8Array(b));
}

/** Starts the reader workers ahead of the first open that needs them. */
export function warmReaders() {
  if (!readers) start();
}

// Exports that run in the worker: one tensor as .npy, the state_dict as .safetensors. The wasm
// module (src/export/) plans each file and gives its bytes slice by slice (headers, elements read
// through the view's strides, conversions for dtypes NumPy lacks); this file only writes those
// slices in order into a writable file stream (File System Access) when the page got one, else
// into Blob parts, which the browser keeps on disk when they are big.

/** Where bytes go: a FileSystemWritableFileStream, or Blob parts. */
class Sink {
  constructor(writable) {
    this.writable = writable;
    this.parts = [];
    this.bytes = 0;
  }
  async write(u8) {
    this.bytes += u8.byteLength;
    if (this.writable) await this.writable.write(u8);
    else this.parts.push(u8);
  }
  async finish() {
    if (this.writable) {
      await this.writable.close();
      return null;
    }
    return new Blob(this.parts, { type: 'application/octet-stream' });
  }
}

/** Writes `numel` elements in slices of `step`, each from `slice(first, count)`. */
async function writeSlices(sink, numel, step, slice, onBytes) {
  for (let first = 0; first < numel; first += step) {
    const bytes = slice(first, Math.min(step, numel - first));
    await sink.write(bytes);
    onBytes(bytes.byteLength);
  }
}

/** Tensor i as .npy; dtypes NumPy lacks (bfloat16, float8, quantized) come out as float32. */
export async function exportNpy(m, i, writable, progress) {
  const plan = JSON.parse(m.npyPlan(i));
  const sink = new Sink(writable);
  try {
    await sink.write(m.npyHeader(i));
    let done = 0;
    await writeSlices(sink, plan.numel, plan.step, (first, n) => m.npyChunk(i, first, n), (b) => progress((done += b), plan.bytes));
    return { blob: await sink.finish(), bytes: sink.bytes, dtype: plan.dtype };
  } catch (err) {
    await writable?.abort();
    throw err;
  }
}

/** The state_dict as .safetensors (tied weights once per key; what safetensors cannot hold is skipped). */
export async function exportSafetensors(m, writable, progress) {
  const plan = JSON.parse(m.safetensorsPlan());
  const sink = new Sink(writable);
  try {
    await sink.write(m.safetensorsHeader());
    let done = sink.bytes;
    for (const e of plan.entries) {
      await writeSlices(sink, e.numel, e.step, (first, n) => m.tensorBytes(e.tensor, first, n), (b) => progress((done += b), plan.bytes));
    }
    return { blob: await sink.finish(), bytes: sink.bytes, tensors: plan.entries.length, skipped: plan.skipped };
  } catch (err) {
    await writable?.abort();
    throw err;
  }
}

// Conversions that run in the worker: one tensor as .npy, the state_dict as .safetensors.
// Contiguous tensors are copied as their raw bytes in slices (never a whole storage in memory);
// views are read through their strides as values and re-encoded in their dtype.
// Output goes to a writable file stream when the page got one (File System Access), else into
// a Blob, which the browser keeps on disk when it is big.

const SLICE = 16 << 20;
const MAX_VALUES = 64 << 20; // views re-encoded from values: at most this many elements

const ITEMSIZE = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint64: 8, uint32: 4,
  uint16: 2, uint8: 1, bool: 1, complex64: 8, complex128: 16, float8_e4m3fn: 1, float8_e5m2: 1,
  float8_e4m3fnuz: 1, float8_e5m2fnuz: 1,
};
const NPY = {
  float64: '<f8', float32: '<f4', float16: '<f2', int64: '<i8', int32: '<i4', int16: '<i2', int8: '|i1',
  uint64: '<u8', uint32: '<u4', uint16: '<u2', uint8: '|u1', bool: '|b1', complex64: '<c8', complex128: '<c16',
};
const SAFETENSORS = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16',
  int8: 'I8', uint64: 'U64', uint32: 'U32', uint16: 'U16', uint8: 'U8', bool: 'BOOL', float8_e4m3fn: 'F8_E4M3',
  float8_e5m2: 'F8_E5M2',
};

const numel = (t) => t.shape.reduce((a, b) => a * b, 1);

function contiguous(t) {
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

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
  async finish(type) {
    if (this.writable) {
      await this.writable.close();
      return null;
    }
    return new Blob(this.parts, { type });
  }
}

function f32ToBf16(values) {
  const f = Float32Array.from(values);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

function f64ToF16(values) {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
    else {
      const e = exp - 127 + 15;
      if (e >= 0x1f) out[i] = sign | 0x7c00;
      else if (e <= 0) {
        if (e < -10) out[i] = sign;
        else {
          mant |= 0x800000;
          const shift = 14 - e;
          let half = mant >>> shift;
          const rem = mant & ((1 << shift) - 1);
          const mid = 1 << (shift - 1);
          if (rem > mid || (rem === mid && half & 1)) half++;
          out[i] = sign | half;
        }
      } else {
        let half = sign | (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
        out[i] = half;
      }
    }
  }
  return out;
}

/** A tensor's values encoded in `dtype` (little-endian), or null when that cannot be done. */
function encode(values, dtype) {
  const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'float64': return bytes(Float64Array.from(values));
    case 'float32': return bytes(Float32Array.from(values));
    case 'float16': return bytes(f64ToF16(values));
    case 'bfloat16': return bytes(f32ToBf16(values));
    case 'int64': return bytes(BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'uint64': return bytes(BigUint64Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'int32': return bytes(Int32Array.from(values));
    case 'uint32': return bytes(Uint32Array.from(values));
    case 'int16': return bytes(Int16Array.from(values));
    case 'uint16': return bytes(Uint16Array.from(values));
    case 'int8': return bytes(Int8Array.from(values));
    case 'uint8': case 'bool': return Uint8Array.from(values);
    default: return null;
  }
}

/** Writes tensor i's elements in `dtype` to the sink; raw slices when they are already that. */
async function writeTensor(m, i, t, dtype, sink, onBytes) {
  const n = numel(t);
  if (dtype === t.dtype && contiguous(t) && t.layout !== 'sparse_coo' && !t.quantization) {
    const total = n * ITEMSIZE[t.dtype];
    for (let off = 0; off < total; off += SLICE) {
      const chunk = m.tensorBytes(i, off, Math.min(SLICE, total - off));
      await sink.write(chunk);
      onBytes(chunk.byteLength);
    }
    return;
  }
  if (n > MAX_VALUES) throw new Error(`${t.path.join('.')}: a view of ${n} elements is too big to re-encode here`);
  const bytes = encode(m.tensorValues(i, n), dtype);
  if (!bytes) throw new Error(`${t.path.join('.')}: cannot write ${t.dtype} as ${dtype}`);
  await sink.write(bytes);
  onBytes(bytes.byteLength);
}

function npyHeader(descr, shape) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = new Uint8Array(10 + dict.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(head.buffer).setUint16(8, dict.length, true);
  head.set(new TextEncoder().encode(dict), 10);
  return head;
}

/** One tensor as .npy; dtypes numpy lacks (bfloat16, float8, quantized) are written as float32. */
export async function exportNpy(m, doc, i, writable, progress) {
  const t = doc.tensors[i];
  if (t.layout === 'sparse_coo') throw new Error('sparse tensors have no .npy form');
  const dtype = NPY[t.dtype] && !t.quantization ? t.dtype : 'float32';
  const sink = new Sink(writable);
  await sink.write(npyHeader(NPY[dtype], t.shape));
  const total = numel(t) * ITEMSIZE[dtype];
  let done = 0;
  await writeTensor(m, i, t, dtype, sink, (b) => progress((done += b), total));
  return { blob: await sink.finish('application/octet-stream'), bytes: sink.bytes, dtype };
}

/** The state_dict as .safetensors (tied tensors written once per key; quantized/sparse skipped). */
export async function exportSafetensors(m, doc, writable, progress) {
  const header = { __metadata__: { format: 'pt', source: 'torchpeek' } };
  const plan = [];
  const skipped = [];
  let offset = 0;
  for (const e of doc.state_dict) {
    const t = doc.tensors[e.tensor];
    const st = SAFETENSORS[t.dtype];
    if (!st || t.quantization || t.layout === 'sparse_coo') {
      skipped.push(e.key);
      continue;
    }
    const size = numel(t) * ITEMSIZE[t.dtype];
    header[e.key] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + size] };
    plan.push([e.tensor, t]);
    offset += size;
  }
  if (skipped.length) header.__metadata__.skipped = skipped.join(',');
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(text, 8);
  const sink = new Sink(writable);
  await sink.write(head);
  let done = 0;
  for (const [i, t] of plan) await writeTensor(m, i, t, t.dtype, sink, (b) => progress((done += b), offset));
  return { blob: await sink.finish('application/octet-stream'), bytes: sink.bytes, tensors: plan.length, skipped };
}

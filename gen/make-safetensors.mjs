// Small safetensors files written by the tests: {name: Float32Array | {dtype, shape, data}} in order.
import fs from 'node:fs';

/** The bytes of a safetensors file holding float32 tensors (1-D unless a shape is given). */
export function safetensors(tensors) {
  const header = {};
  const parts = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = t instanceof Float32Array ? t : t.data;
    const shape = t instanceof Float32Array ? [data.length] : t.shape;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  return Buffer.concat([head(header), ...parts]);
}

function head(header) {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const bytes = Buffer.alloc(8 + json.length);
  bytes.writeBigUInt64LE(BigInt(json.length));
  bytes.write(json, 8);
  return bytes;
}

/** Bytes per element of the dtypes `writeSparseSafetensors` writes. */
const ITEMSIZE = { F32: 4, BF16: 2, F16: 2 };

/** A big all-zero file that is a hole on disk: {name: element count, or shape}, float32 unless `dtype`. */
export function writeSparseSafetensors(file, sizes, { dtype = 'F32' } = {}) {
  const header = {};
  let offset = 0;
  for (const [name, size] of Object.entries(sizes)) {
    const shape = [].concat(size);
    const bytes = ITEMSIZE[dtype] * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const bytes = head(header);
  fs.writeFileSync(file, bytes);
  fs.truncateSync(file, bytes.length + offset);
  return file;
}

export function writeSafetensors(file, tensors) {
  fs.writeFileSync(file, safetensors(tensors));
  return file;
}

/** A float32 ramp: a + i * step. */
export const ramp = (n, a = 0, step = 0.01) => Float32Array.from({ length: n }, (_, i) => a + i * step);

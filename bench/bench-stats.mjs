// The wasm statistics loop alone, in Node over bytes in memory (no file reads): CPU time of
// `model.stats()` over a 256 MiB float32 tensor of pseudo-random values, best of three.
// Usage: node bench/bench-stats.mjs   (after scripts/build-web.sh, which builds npm/pkg/)
import { open } from '../npm/node.js';

const n = (256 << 20) / 4;
let header = JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, n * 4] } });
header += ' '.repeat((8 - (header.length % 8)) % 8);
const bytes = new Uint8Array(8 + header.length + n * 4);
new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
bytes.set(new TextEncoder().encode(header), 8);
const values = new Float32Array(bytes.buffer, 8 + header.length, n);
let x = 0x12345678;
for (let i = 0; i < n; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  values[i] = ((x >>> 8) / (1 << 24) - 0.5) * 4;
}
const model = await open({ name: 'bench.safetensors', size: bytes.length, read: (o, l) => bytes.subarray(o, o + l) });
let best = Infinity;
let s;
for (let k = 0; k < 3; k++) {
  const c0 = process.cpuUsage();
  s = model.stats('w');
  const c = process.cpuUsage(c0);
  best = Math.min(best, (c.user + c.system) / 1e6);
}
model.close();
console.log(`statistics over 256 MiB of float32 in wasm: ${(n * 4 / 1e9 / best).toFixed(2)} GB/s (${best.toFixed(3)} s CPU); sum ${s.sum}`);

// Statistics of a big tensor, read by the worker's pool (parts in parallel, merged), give what one
// pass over the whole tensor gives (the npm package in Node), histogram counts included, and its
// percentiles are within their resolution of the exact ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, openFiles, findRow, close } from './harness.mjs';
import { writeSafetensors } from '../../gen/make-safetensors.mjs';
import { open } from '../../npm/node.js';

test('pooled statistics and histogram of a 48 MiB tensor match one pass over it', async () => {
  const n = 12 << 20;
  const values = new Float32Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = ((x >>> 8) / (1 << 24) - 0.3) * 50;
  }
  // Specials where parts meet and inside them; zeros; the extremes late in the tensor.
  for (const [i, v] of [[0, NaN], [n / 4, Infinity], [n / 2 - 1, -Infinity], [n / 2, 0], [n - 1, NaN], [777, 0], [n - 5, 1e6], [n - 6, -1e6]]) values[i] = v;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-pool-'));
  const file = writeSafetensors(path.join(dir, 'pool.safetensors'), { w: values });
  const h = await start();
  try {
    const model = await open(file);
    const want = model.stats('w');
    const bins = 64;
    const wantHist = model.histogram('w', bins);
    model.close();

    const page = await h.newPage();
    await openFiles(page, file);
    await (await findRow(page, 'w')).click(); // under 64 MB: computed on selection, no click
    await page.waitForFunction(() => window.__torchpeek.stats.length > 0, null, { timeout: 120_000 });
    const got = await page.evaluate(() => window.__torchpeek.stats.at(-1));
    assert.ok(got.poolMemory > 0, 'the tensor was read by the pool');
    for (const k of ['count', 'min', 'max', 'nan_count', 'inf_count', 'zero_count']) assert.equal(got.stats[k], want[k], k);
    assert.deepEqual([want.nan_count, want.inf_count, want.zero_count, want.min, want.max], [2, 2, 2, -1e6, 1e6]);
    for (const k of ['sum', 'abs_sum', 'mean', 'std']) assert.ok(close(got.stats[k], want[k], 1e-9), `${k}: ${got.stats[k]} vs ${want[k]}`);
    assert.equal(got.histogram.counts.length, bins);
    const { min, max, counts } = got.histogram;
    assert.deepEqual({ min, max, counts }, { min: wantHist.min, max: wantHist.max, counts: wantHist.counts });
    // The percentiles (from the pool's finer histogram) are within its stated resolution of the exact ones.
    const finite = values.filter(Number.isFinite).sort();
    for (const [k, q] of [['p1', 0.01], ['p50', 0.5], ['p99', 0.99]]) {
      const exact = finite[Math.min(finite.length - 1, Math.floor(q * finite.length))];
      assert.ok(Math.abs(got.histogram.percentiles[k] - exact) <= got.histogram.resolution, `${k}: ${got.histogram.percentiles[k]} vs ${exact}`);
    }
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

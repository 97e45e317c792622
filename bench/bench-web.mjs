// The web face's numbers, in one headless-chromium run over the built dist/:
//   open-to-tree time (file chosen, a second after the page loaded -> tree painted), the worker's reads (blocking reads, slices read
//   ahead together, open rounds) and its wasm memory for the small MLP
//   checkpoint, the BERT-tiny .bin, and a 13 GB Llama-7B-shaped bf16 torch zip (sparse, generated);
//   statistics throughput over a 1 GiB float32 tensor; the gzip size of the first download.
// Usage: node bench/bench-web.mjs   (after scripts/build-web.sh; writes nothing outside $TMPDIR)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { start, openFiles, findRow, fixture, ROOT } from '../tests/e2e/harness.mjs';
import { writeSparseSafetensors } from '../gen/make-safetensors.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-bench-'));
const llama = path.join(tmp, 'llama-7b.pt');
execFileSync('python3', [path.join(ROOT, 'gen/make_llama.py'), llama], { stdio: 'inherit' });

// A 1 GiB float32 tensor in a safetensors file (a hole on disk: zeros, read like any bytes).
const big = writeSparseSafetensors(path.join(tmp, 'big.safetensors'), { w: [16384, 16384] });
const bytes = 1 << 30;

const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const h = await start();
const rows = [];
try {
  for (const [label, file] of [['mlp_checkpoint.pt', fixture('mlp_checkpoint.pt')], ['bert_tiny_pytorch_model.bin', fixture('bert_tiny_pytorch_model.bin')], ['llama-7b.pt (13 GB, bf16)', llama]]) {
    const page = await h.newPage();
    // A person takes a moment to choose a file (bench/vs-netron.mjs gives both tools the same
    // second): the open is timed on a page that has started, not against its start-up.
    await page.waitForLoadState('load');
    await page.waitForTimeout(1000);
    await openFiles(page, file);
    await page.waitForFunction(() => window.__torchpeek.opened.length > 0);
    const o = await page.evaluate(() => window.__torchpeek.opened.at(-1));
    if (o.error) throw new Error(`${label}: ${o.error}`);
    rows.push({ file: label, size: fs.statSync(file).size, tensors: o.tensors, openToTreeMs: +o.totalMs.toFixed(1), workerOpenMs: +o.workerMs.toFixed(1), parseMs: +o.parseMs.toFixed(1), viewMs: +o.viewMs.toFixed(1), syncReads: o.reads?.sync, readAhead: o.reads?.ahead, rounds: o.reads?.rounds, wasmMemory: mb(o.wasmMemory) });
    await page.close();
  }
  const page = await h.newPage();
  await openFiles(page, big);
  // Tensors over 64 MB wait for a click: select the tensor, then ask for its statistics.
  await (await findRow(page, 'w')).click();
  await page.locator('#models > article:not([hidden]) button.compute-stats').click();
  await page.waitForFunction(() => window.__torchpeek.stats.length > 0, null, { timeout: 300_000 });
  const s = await page.evaluate(() => window.__torchpeek.stats.at(-1));
  const stats = { tensor: 'float32 [16384, 16384] (1 GiB)', statsMs: +s.ms.toFixed(0), statsGBps: +(bytes / 1e9 / (s.ms / 1000)).toFixed(2), histogramMs: +s.histogramMs.toFixed(0), histogramGBps: +(bytes / 1e9 / (s.histogramMs / 1000)).toFixed(2), wasmMemory: mb(s.memory), poolWasmMemory: mb(s.poolMemory) };
  await page.close();

  // The first download: all of dist/ but the engine (its worker and wasm load when a model is run).
  const dist = path.join(ROOT, 'dist');
  const files = fs.readdirSync(dist, { recursive: true }).filter((f) => fs.statSync(path.join(dist, f)).isFile() && !/(^|\/)(engine-[a-z]+\.js|torchpeek_engine)/.test(f));
  let gz = 0;
  let raw = 0;
  for (const f of files) {
    const b = fs.readFileSync(path.join(dist, f));
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  const wasm = fs.readFileSync(path.join(dist, 'pkg/torchpeek_bg.wasm'));
  console.table(rows);
  console.table([stats]);
  console.log(`first download (dist/ without the engine): ${files.length} files, ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzip; wasm ${(wasm.length / 1024).toFixed(0)} KiB, ${(zlib.gzipSync(wasm, { level: 9 }).length / 1024).toFixed(0)} KiB gzip`);
} finally {
  await h.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

// What reading a File costs in headless Chromium, without torchpeek: a 1 GiB file (a hole on disk,
// so no disk is involved) read in workers with FileReaderSync or Blob.arrayBuffer(), by slice size
// and worker count; throughput, and the CPU seconds the browser and renderer processes spent
// (from /proc, Linux). The cap on statistics throughput in the page (README, web numbers).
// Usage: node bench/bench-read.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, ROOT } from '../tests/e2e/harness.mjs';

/** CPU seconds used so far by chromium's processes, by process type (browser, renderer, ...). */
function chromiumCpu() {
  const out = {};
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!/chrom/.test(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const type = (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').match(/--type=([a-z-]+)/) ?? [, 'browser'])[1];
      out[type] = (out[type] ?? 0) + (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ, 100 on Linux)
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

const MiB = 2 ** 20;
const variants = [
  { mode: 'frs', slice: 4 * MiB },
  { mode: 'frs', slice: 16 * MiB },
  { mode: 'frs', slice: 64 * MiB },
  { mode: 'frs', slice: 16 * MiB, workers: 2 },
  { mode: 'frs', slice: 16 * MiB, workers: 4 },
  { mode: 'async', slice: 16 * MiB, inflight: 4 },
  { mode: 'async', slice: 16 * MiB, inflight: 4, workers: 4 },
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-read-'));
const file = path.join(tmp, 'big.bin');
fs.writeFileSync(file, '');
fs.truncateSync(file, 1 << 30);
const h = await start({ root: ROOT, page: 'bench/web/bench-read.html' });
try {
  const page = await h.newPage();
  await page.waitForFunction(() => window.readBenchReady === true);
  await page.setInputFiles('#file', file);
  const rows = [];
  for (const v of variants) {
    const c0 = chromiumCpu();
    const r = await page.evaluate((v) => window.readBench(v), v);
    const c1 = chromiumCpu();
    const cpu = (type) => +((c1[type] ?? 0) - (c0[type] ?? 0)).toFixed(2);
    rows.push({
      reader: v.mode === 'frs' ? 'FileReaderSync' : `arrayBuffer() x${v.inflight}`,
      slice: `${v.slice / MiB} MiB`, workers: v.workers ?? 1, calls: r.calls,
      GBps: +((1 << 30) / 1e9 / (r.ms / 1000)).toFixed(2), browserCpuS: cpu('browser'), rendererCpuS: cpu('renderer'),
    });
  }
  console.table(rows);
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
} finally {
  await h.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

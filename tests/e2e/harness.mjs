// Shared set-up for the browser tests: dist/ served on 127.0.0.1, Debian's chromium driven by
// playwright-core (never a downloaded browser), a fresh profile, and a log of every request.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../scripts/static-server.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
export const OUT = path.join(ROOT, 'tests/e2e/out');

export const fixture = (name) => path.join(FIXTURES, name);
/** An ONNX fixture's reference arrays, `STEM.input0.npy ...` or `STEM.output0.npy ...` (kind), in order. */
export const npyFixtures = (stem, kind) =>
  fs.readdirSync(FIXTURES).filter((f) => f.startsWith(`${stem}.${kind}`) && f.endsWith('.npy')).sort();
/** A fixture's manifest; Python's NaN / Infinity become "nan" / "inf" / "-inf". */
export const manifest = (name) =>
  JSON.parse(
    fs.readFileSync(fixture(`${name}.manifest.json`), 'utf8')
      .replace(/-Infinity\b/g, '"-inf"').replace(/\bInfinity\b/g, '"inf"').replace(/\bNaN\b/g, '"nan"'),
  );

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Starts the server and the browser; returns {url, browser, newPage, requests, pageRequests, foreign,
 * stopServer, close}. `requests`: every URL asked for, by the pages, their workers and the service
 * worker (which fetches the whole site at install); `pageRequests`: all but the service worker's.
 * With `guard`, every request that would leave the server is refused; `foreign()` lists them all.
 */
export async function start({ root = path.join(ROOT, 'dist'), page = '', guard = false } = {}) {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.html'))) throw new Error('dist/ is not built: run scripts/build-web.sh');
  const { server, url } = await serve(root, 0);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps',
      '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check',
    ],
    viewport: { width: 1400, height: 900 },
  });
  const requests = [];
  const pageRequests = [];
  const errors = [];
  context.on('request', (r) => {
    requests.push(r.url());
    if (!r.serviceWorker()) pageRequests.push(r.url());
  });
  const origin = new URL(url).origin;
  const ours = (u) => u.origin === origin || u.protocol === 'blob:' || u.protocol === 'data:';
  const refused = [];
  if (guard) {
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (ours(u)) return route.continue();
      refused.push(u.href);
      return route.abort();
    });
  }
  const pagePath = page;
  const newPage = async ({ colorScheme = 'light' } = {}) => {
    const page = await context.newPage();
    await page.emulateMedia({ colorScheme });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(url + pagePath);
    return page;
  };
  fs.mkdirSync(OUT, { recursive: true });
  let serving = true;
  /** Stops the server for good (its open connections too): from now on nothing answers at `url`. */
  const stopServer = () => {
    if (!serving) return;
    serving = false;
    server.close();
    server.closeAllConnections();
  };
  return {
    url,
    context,
    newPage,
    requests,
    pageRequests,
    errors,
    stopServer,
    /** Every request that left (or tried to leave) 127.0.0.1, once each. */
    foreign: () => [...new Set([...requests.filter((r) => !ours(new URL(r))), ...refused])],
    async close() {
      await context.close();
      stopServer();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens files through the page's real <input type=file>; waits until each is shown or failed. */
export async function openFiles(page, names) {
  const before = await page.locator('#models > article:not(.opening)').count();
  await page.setInputFiles('#file-input', [].concat(names).map((n) => (path.isAbsolute(n) ? n : fixture(n))));
  await page.waitForFunction((n) => document.querySelectorAll('#models > article:not(.opening)').length > n, before, { timeout: 60_000 });
  return page.locator('#models > article:not([hidden])');
}

/** Types a key into the weights filter and returns the leaf row for it. */
export async function findRow(page, key) {
  const model = page.locator('#models > article:not([hidden])');
  const filter = model.locator('input.filter').first();
  await filter.fill(key);
  const row = model.locator(`.tree-row[data-key="${cssEscape(key)}"]:not([aria-expanded])`);
  await row.first().waitFor({ timeout: 10_000 });
  return row.first();
}

export function cssEscape(s) {
  return s.replace(/["\\]/g, '\\$&');
}

/** Relative closeness for floats (16-bit dtypes get a looser bound). */
export function close(a, b, rel = 1e-4) {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return String(a) === String(b);
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

/** A float32 or int64 .npy file (C order, little-endian) as {shape, values}. */
export function readNpy(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 6).toString('latin1'), 'NUMPY', `${file} is a .npy`);
  const headerLen = b[6] === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = b[6] === 1 ? 10 : 12;
  const header = b.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  assert.match(header, /'fortran_order':\s*False/);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = b.subarray(start + headerLen);
  const data = new Uint8Array(body).buffer;
  const values = { '<f4': () => new Float32Array(data), '<i8': () => Array.from(new BigInt64Array(data), Number) }[descr]?.();
  assert.ok(values, `${file}: dtype ${descr}`);
  return { descr, shape, values };
}

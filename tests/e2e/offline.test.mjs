// The installed copy, end to end in headless Debian chromium: the page is installable, and after one
// visit the service worker has kept every file of dist/, so with the server gone and the browser
// offline the page reloads, opens a checkpoint and an ONNX model, and runs the model; a new build
// replaces the old one after a reload (at once with no file open, on the user's "Reload" with files
// open), fetching only what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, openFiles, fixture, ROOT } from './harness.mjs';
import { precache } from '../../scripts/precache.mjs';

const DIST = path.join(ROOT, 'dist');

/** Every file the service worker should keep: all of the site but sw.js, as absolute paths. */
function siteFiles(dir) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (r !== 'sw.js') out.push(`/${r}`);
    }
  };
  walk('');
  return out.sort();
}

/** What the service worker keeps of `dir` in Chromium: every file but the engine build it does not run (it has relaxed-simd). */
const keptByChromium = (dir) => siteFiles(dir).filter((f) => f !== '/pkg/torchpeek_engine_bg.wasm');

/** Waits until the service worker is active and controls the page; its build, file count and caches. */
async function installed(p) {
  await p.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, { timeout: 120_000 });
  return p.evaluate(async () => {
    const ch = new MessageChannel();
    const reply = new Promise((r) => (ch.port1.onmessage = (e) => r(e.data)));
    navigator.serviceWorker.controller.postMessage({ type: 'build' }, [ch.port2]);
    const { build, files } = await reply;
    const caches_ = await caches.keys();
    const kept = (await (await caches.open(`torchpeek-${build}`)).keys()).map((r) => new URL(r.url).pathname).sort();
    return { build, files, caches: caches_, kept };
  });
}

/** Polls `fn` (which may throw while the page reloads) until it is true. */
async function eventually(p, fn, what, timeout = 60_000) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {}
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await p.waitForTimeout(200);
  }
}

/** The shape in a .npy file's header. */
function npyShape(file) {
  const header = fs.readFileSync(file).subarray(0, 256).toString('latin1');
  return /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

const marker = (p) => p.locator('meta[name="torchpeek-test-build"]').getAttribute('content', { timeout: 1000 }).catch(() => null);

test('after the first visit the page works offline: reload, open a checkpoint and an ONNX model, run it', async () => {
  const h = await start({ guard: true });
  try {
    const p = await h.newPage();
    const sw = fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8');
    const info = await installed(p);
    assert.match(sw, new RegExp(`/\\*@BUILD\\*/ "${info.build}";`), 'the worker is the one of dist/sw.js');
    assert.deepEqual(info.caches, [`torchpeek-${info.build}`], 'one cache, of this build');
    // Chromium has relaxed-simd: of the engine's two builds, the relaxed-simd one is kept and the
    // plain one is not even fetched (www/workers/engine-build.js).
    const all = siteFiles(DIST);
    assert.ok(all.includes('/pkg/torchpeek_engine_bg.wasm') && all.includes('/manifest.webmanifest') && all.includes('/icons/icon-512.png'));
    const want = keptByChromium(DIST);
    assert.ok(want.includes('/pkg/torchpeek_engine_relaxed_bg.wasm'));
    assert.equal(info.files, want.length);
    assert.deepEqual(info.kept, want, 'every file of dist/ is kept, the engine too, but the build this browser does not run');
    // The page's threads have not asked for the engine: only the service worker has.
    assert.ok(!h.pageRequests.some((u) => /engine/.test(u)));
    assert.ok(h.requests.some((u) => u.endsWith('/pkg/torchpeek_engine_relaxed_bg.wasm')));
    assert.ok(!h.requests.some((u) => u.endsWith('/pkg/torchpeek_engine_bg.wasm')));

    // Installable: the web app manifest parses, and Chromium names nothing that stops an install.
    const cdp = await h.context.newCDPSession(p);
    const app = await cdp.send('Page.getAppManifest');
    assert.ok(app.url.endsWith('/manifest.webmanifest'));
    assert.deepEqual(app.errors, []);
    assert.deepEqual((await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, []);
    await cdp.detach();

    // No network at all: the server is gone and the browser is offline.
    h.stopServer();
    await h.context.setOffline(true);
    await p.reload();
    assert.equal(await p.title(), 'torchpeek: look inside model files');

    const ckpt = await openFiles(p, 'mlp_checkpoint.pt');
    assert.equal(await ckpt.locator('[data-fact="kind"]').innerText(), 'checkpoint');

    const model = (await openFiles(p, 'mlp.onnx')).last();
    await model.locator('[role=tab][data-section="run"]').click();
    const panel = model.locator('.run-panel');
    const editor = panel.locator('.run-input').first();
    await editor.locator('select').selectOption('npy');
    await editor.locator('input[type=file]').setInputFiles(fixture('mlp.input0.npy'));
    await editor.locator('.input-options', { hasText: `[${npyShape(fixture('mlp.input0.npy')).join(', ')}]` }).waitFor({ timeout: 60_000 });
    await panel.locator('.run-button').click();
    await p.waitForFunction(() => (window.__torchpeek.runs?.length ?? 0) > 0, null, { timeout: 120_000 });
    const run = await p.evaluate(() => window.__torchpeek.runs.at(-1));
    assert.deepEqual(run.outputs[0].shape, npyShape(fixture('mlp.output0.npy')), 'the engine ran from the cache');
    assert.equal(await panel.locator('.run-status.error-text').count(), 0);

    assert.deepEqual(h.foreign(), []);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.context.setOffline(false);
    await h.close();
  }
});

test('a new build replaces the old one: after a reload, or on "Reload" when files are open', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-site-'));
  fs.cpSync(DIST, tmp, { recursive: true });
  /** A new build: index.html marked `name`, sw.js written again (a new list and build id). */
  const newBuild = (name) => {
    const file = path.join(tmp, 'index.html');
    const html = fs.readFileSync(file, 'utf8').replace(/<meta name="torchpeek-test-build"[^>]*>\n|(?=<\/head>)/, `<meta name="torchpeek-test-build" content="${name}">\n`);
    fs.writeFileSync(file, html);
    return precache(tmp).build;
  };
  const h = await start({ root: tmp, guard: true });
  const fetchedByWorker = [];
  h.context.on('request', (r) => r.serviceWorker() && fetchedByWorker.push(new URL(r.url()).pathname));
  try {
    const p = await h.newPage();
    const one = await installed(p);
    assert.equal(await marker(p), null);

    // No file open: the reload shows the old build from the cache, the new worker installs, and
    // the page reloads itself into the new build.
    const two = newBuild('two');
    assert.notEqual(two, one.build);
    fetchedByWorker.length = 0;
    await p.reload();
    await eventually(p, async () => (await marker(p)) === 'two', 'build two');
    const after2 = await installed(p);
    assert.equal(after2.build, two);
    assert.deepEqual(after2.caches, [`torchpeek-${two}`], 'the old build is deleted');
    assert.deepEqual(after2.kept, keptByChromium(tmp));
    // Only what changed was fetched (and sw.js, by the browser); the rest came from the old cache.
    assert.deepEqual([...new Set(fetchedByWorker)].filter((u) => u !== '/sw.js'), ['/index.html']);
    const served = await p.evaluate(() => fetch('index.html').then((r) => r.text()));
    assert.match(served, /content="two"/);

    // Files open: the new build waits for the user, and the page stays as it is.
    await openFiles(p, 'mlp_checkpoint.pt');
    const three = newBuild('three');
    await p.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
    const notice = p.locator('.update-notice');
    await notice.waitFor({ timeout: 60_000 });
    assert.match(await notice.innerText(), /new version/);
    assert.equal(await marker(p), 'two');
    assert.equal(await p.locator('#file-tabs [role="tab"]').count(), 1, 'the open file stays');
    assert.equal((await installed(p)).build, two, 'the old build still serves the open page');
    await notice.getByRole('button', { name: 'Reload' }).click();
    await eventually(p, async () => (await marker(p)) === 'three', 'build three');
    const after3 = await installed(p);
    assert.equal(after3.build, three);
    assert.deepEqual(after3.caches, [`torchpeek-${three}`]);

    assert.deepEqual(h.foreign(), []);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

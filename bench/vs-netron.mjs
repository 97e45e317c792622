// torchpeek side by side with Netron 9.3.3's web build (the `netron` wheel on PyPI holds the static
// site), in one headless Chromium run: each file opened in a fresh browser context of each tool,
// timed on the page's clock from choosing the file (setInputFiles) to the first frame with its
// content (torchpeek: the model view shown; Netron: its `default` view). Netron's outside requests (it makes about ten per page load)
// are blocked. Netron is only a yardstick here: it is downloaded into target/netron-9.3.3/, never
// into the site.
// Usage: node bench/vs-netron.mjs [--runs N] [--set DIR] [--big]   (after scripts/build-web.sh;
// --set adds the files gen/make_page_set.py writes into DIR, with torch; --big adds the 13.5 GB
// Llama-shaped zip, which Netron takes over a minute to open)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { serve } from '../scripts/static-server.mjs';
import { ROOT, fixture } from '../tests/e2e/harness.mjs';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 3;
const NETRON = path.join(ROOT, 'target/netron-9.3.3');

/** Netron's static site, from its wheel (downloaded once). */
function netronSite() {
  const site = path.join(NETRON, 'netron');
  if (fs.existsSync(path.join(site, 'index.html'))) return site;
  fs.mkdirSync(NETRON, { recursive: true });
  execFileSync('python3', ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '-q', '-d', NETRON, 'netron==9.3.3'], { stdio: 'inherit' });
  const wheel = fs.readdirSync(NETRON).find((f) => f.endsWith('.whl'));
  execFileSync('python3', ['-m', 'zipfile', '-e', path.join(NETRON, wheel), NETRON], { stdio: 'inherit' });
  return site;
}

const files = [
  ['MLP checkpoint', 'mlp_checkpoint.pt'],
  ['CNN checkpoint with Adam state', 'cnn_checkpoint_adam.pt'],
  ['BERT-tiny .bin', 'bert_tiny_pytorch_model.bin'],
  ['BERT-tiny .safetensors', 'bert_tiny.safetensors'],
  ['scripted MLP (TorchScript)', 'mlp_scripted.pt'],
  ['CNN .onnx', 'cnn.onnx'],
  ['BERT-tiny .onnx', 'bert_tiny.onnx'],
].map(([label, name]) => [label, fixture(name)]);
// The kinds of files the committed fixtures lack, as torch writes them (gen/make_page_set.py).
if (args.includes('--set')) {
  const dir = path.resolve(args[args.indexOf('--set') + 1]);
  for (const [label, name] of [
    ['Lightning-style .ckpt', 'lightning.ckpt'],
    ['MobileNetV3-small .pth', 'mobilenet_v3_small.pth'],
    ['GPT-2-tiny .bin', 'gpt2_tiny.bin'],
    ['traced SqueezeNet 1.1', 'squeezenet_traced.pt'],
    ['MobileNetV3-small .onnx', 'mobilenet_v3_small.onnx'],
  ]) files.push([label, path.join(dir, name)]);
}
let tmp = null;
if (args.includes('--big')) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchpeek-vs-'));
  const llama = path.join(tmp, 'llama-7b.pt');
  execFileSync('python3', [path.join(ROOT, 'gen/make_llama.py'), llama], { stdio: 'inherit' });
  files.push(['Llama-7B-shaped bf16 zip, 13.5 GB', llama]);
}

const tools = {
  torchpeek: {
    root: path.join(ROOT, 'dist'),
    csp: undefined, // the page's own
    input: '#file-input',
    ready: '#file-input',
    shown: '#models > article:not(.opening):not([hidden])',
  },
  netron: {
    root: netronSite(),
    csp: null, // Netron's page has inline styles: not under ours
    input: '#open-file-dialog',
    ready: 'body.welcome:not(.spinner)',
    // Its cookie notice, answered before the clock starts (a fresh profile shows it every time).
    consent: 'body.notification .message-button',
    shown: 'body.default',
  },
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const servers = [];
const blocked = { torchpeek: new Set(), netron: new Set() };
try {
  for (const t of Object.values(tools)) {
    const s = await serve(t.root, 0, { csp: t.csp });
    servers.push(s.server);
    t.url = s.url;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [];
  for (const [label, file] of files) {
    const ms = {};
    for (const [name, t] of Object.entries(tools)) {
      ms[name] = [];
      for (let run = 0; run < RUNS; run++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const origin = new URL(t.url).origin;
        await context.route('**/*', (route) => {
          const u = new URL(route.request().url());
          if (u.origin === origin || u.protocol === 'blob:' || u.protocol === 'data:') return route.continue();
          blocked[name].add(u.href);
          return route.abort();
        });
        const page = await context.newPage();
        await page.goto(t.url);
        // Selectors, not functions: Netron replaces window.eval, which waitForFunction needs.
        await page.waitForSelector(t.ready, { state: 'attached', timeout: 30_000 });
        await page.waitForLoadState('load');
        if (t.consent && (await page.locator(t.consent).count())) {
          await page.locator(t.consent).click();
          await page.waitForSelector('body.welcome:not(.notification):not(.spinner)', { state: 'attached' });
        }
        // A person takes a moment to choose a file: both tools get the same second after load.
        await page.waitForTimeout(1000);
        // Timed on the page's clock: from just before the file is given to the first frame that
        // has the content (a MutationObserver sees it; the next animation frame is its paint).
        // Playwright's own waitForSelector polls at growing intervals (up to 100 ms apart), too
        // coarse for opens of a tenth of a second.
        // Through the DevTools protocol: Netron replaces window.eval, which page.evaluate uses.
        const cdp = await context.newCDPSession(page);
        const pageEval = async (expression) => (await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result.value;
        const start = await pageEval(`(() => {
          window.__shown = new Promise((resolve) => {
            const check = () => {
              if (!document.querySelector(${JSON.stringify(t.shown)})) return;
              observer.disconnect();
              requestAnimationFrame(() => resolve(performance.now()));
            };
            const observer = new MutationObserver(check);
            observer.observe(document, { subtree: true, childList: true, attributes: true });
          });
          return performance.now();
        })()`);
        await page.setInputFiles(t.input, file);
        await page.waitForSelector(t.shown, { state: 'attached', timeout: 180_000 });
        ms[name].push(Math.round((await pageEval('window.__shown')) - start));
        await context.close();
      }
    }
    const ours = median(ms.torchpeek);
    const theirs = median(ms.netron);
    rows.push({ file: label, bytes: fs.statSync(file).size, torchpeekMs: ours, netronMs: theirs, ratio: +(ours / theirs).toFixed(2), runs: `${ms.torchpeek.join('/')} vs ${ms.netron.join('/')}` });
  }
  console.log(`${RUNS} runs per file and tool, medians; Chromium ${browser.version()}; outside requests blocked: torchpeek ${blocked.torchpeek.size}, Netron ${blocked.netron.size}`);
  console.table(rows);
  console.log('| file | size | torchpeek | Netron 9.3.3 | ratio |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.file} | ${r.bytes} B | ${r.torchpeekMs} ms | ${r.netronMs} ms | **${r.ratio}** |`);
} finally {
  await browser.close();
  for (const s of servers) s.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

// Writes DIR/sw.js from the template www/sw.js: FILES, every file under DIR but sw.js with its
// SHA-256 (Subresource Integrity form), and BUILD, a hash of that list (so of every file's path and
// contents). Any change to any file changes sw.js, and browsers install the new build.
// Usage: node scripts/precache.mjs DIR [TEMPLATE]   (scripts/build-web.sh runs it on dist/)
// Prints `BUILD FILES BYTES`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELAXED_PROBE, ENGINE_WASM } from '../www/workers/engine-build.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every file under `dir` (relative, `/`-separated, sorted) but sw.js at its root. */
function listFiles(dir) {
  const out = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && r !== 'sw.js' && !e.name.startsWith('.')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export function precache(dir, template = path.join(ROOT, 'www/sw.js')) {
  const files = listFiles(dir).map((file) => {
    const bytes = fs.readFileSync(path.join(dir, file));
    return { file, integrity: `sha256-${crypto.createHash('sha256').update(bytes).digest('base64')}`, size: bytes.length };
  });
  if (!files.some((f) => f.file === 'index.html')) throw new Error(`${dir}: no index.html`);
  const build = crypto.createHash('sha256').update(files.map((f) => `${f.file}\0${f.integrity}\n`).join('')).digest('hex').slice(0, 16);
  let src = fs.readFileSync(template, 'utf8');
  const fill = (marker, value) => {
    const re = new RegExp(`/\\*@${marker}\\*/ [^;]*;`);
    if (!re.test(src)) throw new Error(`${template}: no /*@${marker}*/ ...; to fill in`);
    src = src.replace(re, () => `/*@${marker}*/ ${value};`);
  };
  fill('BUILD', JSON.stringify(build));
  // The engine's two builds (www/workers/engine-build.js): the service worker keeps the one its
  // browser runs.
  fill('ENGINE', JSON.stringify({ probe: RELAXED_PROBE, relaxed: `pkg/${ENGINE_WASM.relaxed}`, simd: `pkg/${ENGINE_WASM.simd}` }));
  fill('FILES', `[\n${files.map((f) => `  ${JSON.stringify([f.file, f.integrity])},\n`).join('')}]`);
  fs.writeFileSync(path.join(dir, 'sw.js'), src);
  return { build, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, template] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node scripts/precache.mjs DIR [TEMPLATE]');
    process.exit(2);
  }
  const r = precache(dir, template);
  console.log(`${r.build} ${r.files} ${r.bytes}`);
}

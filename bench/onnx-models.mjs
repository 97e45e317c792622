// The models the engine benchmark and profiler run, as the benchmark page takes them:
// `{label, base, files: [model.onnx, external data...], inputs: [npy], outputs: [npy]}`, every file
// under the repository root (the page is served from there) at URL `base`.
// Two sets: the ONNX fixtures (tests/fixtures, committed), and the benchmark set of real
// architectures (gen/make_bench_models.py, written into target/bench-models: made on demand, it
// needs torch, torchvision and transformers).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { npyFixtures, FIXTURES, ROOT } from '../tests/e2e/harness.mjs';

export const SET_DIR = path.join(ROOT, 'target/bench-models');

/** The benchmark page's URL with our engine's build: `engine` (simd, relaxed, auto: the default). */
export function benchPage(engine) {
  return `bench/web/bench-onnx.html?engine=${engine ?? 'auto'}`;
}

const url = (dir) => '/' + path.relative(ROOT, dir).split(path.sep).join('/');

/** The ONNX fixtures that have reference inputs and outputs. */
export function fixtureModels() {
  return fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx')).sort().map((file) => {
    const stem = file.replace(/\.onnx$/, '');
    return { label: file, base: url(FIXTURES), files: [file], inputs: npyFixtures(stem, 'input'), outputs: npyFixtures(stem, 'output') };
  }).filter((m) => m.inputs.length && m.outputs.length);
}

/**
 * The benchmark set, each model once per exporter (`resnet18 (ts)`, `resnet18 (dynamo)`), made first
 * when `dir` has no `models.json`: `$TORCH_PYTHON gen/make_bench_models.py dir` (default python3).
 */
export function setModels(dir = SET_DIR) {
  const index = path.join(dir, 'models.json');
  if (!fs.existsSync(index)) {
    const python = process.env.TORCH_PYTHON ?? 'python3';
    console.error(`bench: making the benchmark set in ${dir} (${python} gen/make_bench_models.py; torch, torchvision, transformers)`);
    execFileSync(python, [path.join(ROOT, 'gen/make_bench_models.py'), dir], { stdio: 'inherit' });
  }
  const models = [];
  for (const [name, m] of Object.entries(JSON.parse(fs.readFileSync(index, 'utf8')))) {
    for (const [exporter, e] of Object.entries(m.exports)) {
      if (e.files) models.push({ label: `${name} (${exporter})`, base: url(dir), files: e.files, inputs: m.inputs, outputs: [m.output] });
    }
  }
  return models;
}

/** The model a command line names: a fixture (`cnn.onnx`) or a file of the set (`target/bench-models/gpt2.dynamo.onnx`). */
export function namedModel(arg) {
  const file = path.basename(arg);
  if (fs.existsSync(path.join(FIXTURES, file))) return fixtureModels().find((m) => m.files[0] === file);
  const dir = path.dirname(path.resolve(arg));
  const found = setModels(dir).find((m) => m.files[0] === file);
  if (!found) throw new Error(`${arg}: neither an ONNX fixture nor a model of the benchmark set`);
  return found;
}

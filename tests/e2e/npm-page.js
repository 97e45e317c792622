// The npm package's browser entry, used as a bundler would: import, fetch bytes, open.
import { open, diff, check, dtypes } from '../../npm/index.js';

try {
  const bytes = new Uint8Array(await (await fetch('../fixtures/mlp_checkpoint.pt')).arrayBuffer());
  const model = await open(new Blob([bytes]));
  const result = {
    format: model.document.format,
    kind: model.document.kind,
    keys: model.document.state_dict.map((e) => e.key),
    stats: model.stats('fc1.weight'),
    first: Array.from(model.values('fc1.weight', 4)),
    health: model.health().status,
    diff: diff(model, await open(bytes)).counts,
    float32: (await dtypes()).find((d) => d.name === 'float32'),
    check: await check(new Blob([new TextEncoder().encode("cos\nsystem\n(S'echo hi'\ntR.")])),
  };
  model.close();
  // The engine entry: its wasm is fetched only now.
  const coreOnly = !performance.getEntriesByType('resource').some((e) => e.name.includes('torchpeek_engine'));
  try {
    const { load, engineBuild } = await import('../../npm/engine.js');
    const fetchBytes = async (f) => new Uint8Array(await (await fetch(`../fixtures/${f}`)).arrayBuffer());
    const session = await load(new Blob([await fetchBytes('mlp.onnx')]));
    const [out] = session.run([await fetchBytes('mlp.input0.npy')]);
    const fetched = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('_bg.wasm') && e.name.includes('torchpeek_engine')).map((e) => e.name.split('/').pop());
    result.engine = { out: Array.from(out.data), coreOnly, build: engineBuild(), fetched };
    session.close();
  } catch (err) {
    result.engine = { error: String(err) };
  }
  window.result = result;
} catch (err) {
  window.result = { error: String(err) };
}

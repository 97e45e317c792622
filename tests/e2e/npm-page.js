// The npm package's browser entry, used as a bundler would: import, fetch bytes, open.
import { open, diff, check, dtypes } from '../../npm/index.js';

try {
  const bytes = new Uint8Array(await (await fetch('../fixtures/mlp_checkpoint.pt')).arrayBuffer());
  const model = await open(new Blob([bytes]));
  window.result = {
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
} catch (err) {
  window.result = { error: String(err) };
}

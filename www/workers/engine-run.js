// One run of an EngineSession (the engine's wasm, pkg/torchpeek_engine.js) on arrays
// `{name, dtype, shape, data: Uint8Array}`, giving the outputs the same way. Used by the engine
// worker, the engine benchmark and the npm package's engine (copied to npm/pkg/ by build-web.sh). The session takes the
// arrays' descriptions as one JSON string and their bytes apart, and gives the outputs back so:
// a few calls across the wasm boundary per run, whatever the number of arrays.
export function runSession(session, inputs) {
  const spec = JSON.stringify(inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
  const outputs = JSON.parse(session.run(spec, inputs.map((i) => i.data)));
  return outputs.map((o, i) => ({ ...o, data: session.output(i) }));
}

/**
 * The outputs of the session's last run with their statistics added, `stats` (the core's, over the
 * output's bytes in the engine's memory: `EngineSession.outputStats`). Apart from `runSession`, so
 * that its timings (and the benchmarks') stay the run's alone.
 */
export function outputStats(session, outputs) {
  return outputs.map((o, i) => ({ ...o, stats: JSON.parse(session.outputStats(i)) }));
}

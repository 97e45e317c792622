// The request loop every worker of the page runs: requests `{id, type, ...}` are handled one at a
// time, in order; each gets `{id, type: 'result', result}` (with the array buffers `handle` lists in
// `transfer` moved, not copied) or `{id, type: 'error', message, fatal}`.
//
// `handle(msg, transfer)` may be async. `ready` is awaited before the first request (the wasm start).
// A trap (a Rust panic, out of memory) leaves a wasm instance unusable: such errors are `fatal`, and
// the page replaces the worker.
export function serveRequests(handle, ready = Promise.resolve()) {
  let queue = Promise.resolve();
  self.onmessage = (event) => {
    const msg = event.data;
    queue = queue.then(async () => {
      try {
        await ready;
        const transfer = [];
        const result = await handle(msg, transfer);
        postMessage({ id: msg.id, type: 'result', result }, transfer);
      } catch (err) {
        const fatal = err instanceof WebAssembly.RuntimeError;
        postMessage({ id: msg.id, type: 'error', message: String(err?.message ?? err), fatal });
      }
    });
  };
}

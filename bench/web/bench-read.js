// The page side of bench/bench-read.mjs: reads the chosen file in `workers` workers (each a
// contiguous part) and reports the wall time; no wasm, no statistics, only the reads.
window.readBench = ({ workers = 1, ...spec }) => new Promise((resolve, reject) => {
  const file = document.getElementById('file').files[0];
  const part = Math.ceil(file.size / workers / 2 ** 20) * 2 ** 20;
  const t0 = performance.now();
  let left = workers;
  let calls = 0;
  for (let i = 0; i < workers; i++) {
    const w = new Worker(new URL('./bench-read-worker.js', import.meta.url));
    w.onerror = (e) => reject(new Error(e.message));
    w.onmessage = (e) => {
      w.terminate();
      calls += e.data.calls;
      if (--left === 0) resolve({ ms: performance.now() - t0, calls });
    };
    w.postMessage({ file, start: i * part, end: Math.min(file.size, (i + 1) * part), ...spec });
  }
});
window.readBenchReady = true;

// One reader of bench/bench-read.mjs: reads bytes start..end of a File in slices, with
// FileReaderSync (`frs`), or with Blob.arrayBuffer() keeping `inflight` reads going (`async`).
onmessage = async (e) => {
  const { file, start, end, slice, mode, inflight = 1 } = e.data;
  let calls = 0;
  if (mode === 'frs') {
    const reader = new FileReaderSync();
    for (let at = start; at < end; at += slice, calls++) reader.readAsArrayBuffer(file.slice(at, Math.min(end, at + slice)));
  } else {
    const reads = [];
    let at = start;
    const next = () => {
      if (at >= end) return;
      reads.push(file.slice(at, Math.min(end, at + slice)).arrayBuffer());
      at += slice;
    };
    for (let k = 0; k < inflight; k++) next();
    while (reads.length) {
      await reads.shift();
      calls++;
      next();
    }
  }
  postMessage({ calls });
};

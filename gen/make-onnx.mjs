// Writes transformer-shaped ONNX models of any size for the graph tests (the fixtures stop at 299
// nodes): a protobuf writer of the few ModelProto fields used, and a model of `blocks` attention
// blocks of 36 nodes each, with shape side-chains, residual edges and a mask every block reads.

const enc = new TextEncoder();

function varint(v) {
  const out = [];
  let n = BigInt.asUintN(64, BigInt(v)); // negative ints as 64-bit two’s complement
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const concat = (parts) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const num = (field, v) => Uint8Array.from([...varint(field * 8), ...varint(v)]);
const bytes = (field, b) => concat([Uint8Array.from([...varint(field * 8 + 2), ...varint(b.length)]), b]);
const str = (field, s) => bytes(field, enc.encode(s));
const msg = (field, parts) => bytes(field, concat(parts));

/** ValueInfoProto of a float (1) or int64 (7) tensor; a string dimension is symbolic. */
function valueInfo(field, name, elemType, dims) {
  const shape = dims.map((d) => msg(1, [typeof d === 'string' ? str(2, d) : num(1, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [num(1, elemType), msg(2, shape)])])]);
}

/**
 * A transformer-shaped model: 2 + 36 × blocks nodes; `meta` adds the model's domain, version,
 * doc strings and metadata_props: {domain, version, doc, graphDoc, props: [[key, value]]}.
 */
export function transformerOnnx(blocks, { width = 8, meta = null } = {}) {
  const nodes = [];
  const inits = [];
  let next = 0;
  const node = (op, inputs, attrs = []) => {
    const out = `${op.toLowerCase()}_${next++}`;
    nodes.push(msg(1, [...inputs.map((i) => str(1, i)), str(2, out), str(3, `/${op}_${nodes.length}`), str(4, op), ...attrs]));
    return out;
  };
  const init = (name, dims) => {
    const n = dims.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n).map((_, i) => Math.sin(i + name.length) / 4);
    inits.push(msg(5, [...dims.map((d) => num(1, d)), num(2, 1), str(8, name), bytes(9, new Uint8Array(data.buffer))]));
    return name;
  };
  const axis = (v) => msg(5, [str(1, 'axis'), num(3, v), num(20, 2)]);
  let x = node('Gather', [init('embeddings.weight', [32, width]), 'input_ids']);
  x = node('LayerNormalization', [x, init('embeddings.ln.weight', [width]), init('embeddings.ln.bias', [width])]);
  for (let b = 0; b < blocks; b++) {
    const p = `encoder.layer.${b}.`;
    const shape = node('Shape', [x]);
    const dim = node('Gather', [shape, node('Constant', [], [msg(5, [str(1, 'value'), msg(5, [num(2, 7), str(8, 'c'), bytes(9, new Uint8Array(8))]), num(20, 4)])])], [axis(0)]);
    const target = node('Concat', [node('Unsqueeze', [dim, node('Constant', [])]), node('Constant', [])], [axis(0)]);
    const proj = (name) => node('Transpose', [node('Reshape', [node('Add', [node('MatMul', [x, init(`${p}${name}.weight`, [width, width])]), init(`${p}${name}.bias`, [width])]), target])]);
    const [q, k, v] = ['query', 'key', 'value'].map(proj);
    const scores = node('Add', [node('Div', [node('MatMul', [q, k]), node('Constant', [])]), 'attention_mask']);
    const context = node('Reshape', [node('Transpose', [node('MatMul', [node('Softmax', [scores], [axis(-1)]), v])]), target]);
    const attn = node('Add', [node('Add', [node('MatMul', [context, init(`${p}output.weight`, [width, width])]), init(`${p}output.bias`, [width])]), x]);
    const ln = node('LayerNormalization', [attn, init(`${p}ln1.weight`, [width]), init(`${p}ln1.bias`, [width])]);
    const ff = node('MatMul', [node('Relu', [node('MatMul', [ln, init(`${p}ff1.weight`, [width, 2 * width])])]), init(`${p}ff2.weight`, [2 * width, width])]);
    x = node('LayerNormalization', [node('Add', [ff, ln]), init(`${p}ln2.weight`, [width]), init(`${p}ln2.bias`, [width])]);
  }
  const graph = [
    ...nodes,
    str(2, 'made_by_make_onnx'),
    ...inits,
    valueInfo(11, 'input_ids', 7, ['batch', 'seq']),
    valueInfo(11, 'attention_mask', 1, ['batch', 1, 1, 'seq']),
    valueInfo(12, x, 1, ['batch', 'seq', width]),
    ...(meta ? [str(10, meta.graphDoc)] : []),
  ];
  const model = meta
    ? [str(4, meta.domain), num(5, meta.version), str(6, meta.doc), ...meta.props.map(([k, v]) => msg(14, [str(1, k), str(2, v)]))]
    : [];
  return {
    bytes: concat([num(1, 8), str(2, 'make-onnx'), str(3, '1'), ...model, msg(7, graph), msg(8, [str(1, ''), num(2, 17)])]),
    nodeCount: nodes.length,
  };
}

/** A graph with no nodes: each name in `passThrough` is both an input and an output. */
export function nodelessOnnx(passThrough) {
  const graph = [str(2, 'nodeless'), ...passThrough.map((n) => valueInfo(11, n, 1, [2])), ...passThrough.map((n) => valueInfo(12, n, 1, [2]))];
  return concat([num(1, 8), str(2, 'make-onnx'), msg(7, graph), msg(8, [str(1, ''), num(2, 17)])]);
}

const node = (op, inputs, outputs, name, attrs = []) => msg(1, [...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, name), str(4, op), ...attrs]);

/** Y = If(cond) { Identity(T) } else { Neg(T) } with T = Neg(X): branches that read an outer value. */
export function ifOnnx() {
  const branch = (field, name, op, out) => msg(5, [str(1, field), msg(6, [node(op, ['T'], [out], `${name}/${op}`), str(2, name), valueInfo(12, out, 1, [2])]), num(20, 5)]);
  const graph = [
    node('Neg', ['X'], ['T'], 'make_t'),
    node('If', ['cond'], ['Y'], 'choose', [branch('then_branch', 'then_graph', 'Identity', 't_out'), branch('else_branch', 'else_graph', 'Neg', 'e_out')]),
    str(2, 'with_if'),
    valueInfo(11, 'X', 1, [2]),
    valueInfo(11, 'cond', 9, []),
    valueInfo(12, 'Y', 1, [2]),
  ];
  return concat([num(1, 8), str(2, 'make-onnx'), msg(7, graph), msg(8, [str(1, ''), num(2, 17)])]);
}

/** A broken graph: B = Add(X, D), C = Relu(B), D = Neg(C) is a cycle; Y = Identity(D). */
export function cycleOnnx() {
  const graph = [
    node('Add', ['X', 'D'], ['B'], 'add'),
    node('Relu', ['B'], ['C'], 'relu'),
    node('Neg', ['C'], ['D'], 'neg'),
    node('Identity', ['D'], ['Y'], 'out'),
    str(2, 'cycle'),
    valueInfo(11, 'X', 1, [2]),
    valueInfo(12, 'Y', 1, [2]),
  ];
  return concat([num(1, 8), str(2, 'make-onnx'), msg(7, graph), msg(8, [str(1, ''), num(2, 17)])]);
}

// A control-flow node's nested blocks (ONNX If / Loop / Scan subgraphs, TorchScript prim::If /
// prim::Loop blocks, a .pt2's torch.cond branches: attribute values `{"$graph": ...}`): listing
// them, for the diagram's boxes (workers/graph-layout.js) and the details card, and a block as a
// graph view of its own (page/graph-view.js), drawn like the model's graph.

/** The blocks of node `n`: `{key, index, label, graph}`, an attribute holding a list of graphs by `key[index]`. */
export function blocksOf(n) {
  const blocks = [];
  for (const [key, value] of Object.entries(n.attributes ?? {})) {
    const list = [].concat(value);
    list.forEach((g, index) => {
      if (g?.$graph) blocks.push({ key, index, label: Array.isArray(value) ? `${key}[${index}]` : key, graph: g.$graph });
    });
  }
  return blocks;
}

/** The names a node reads: its inputs, and what its blocks read from outside them. */
function reads(n) {
  return [...n.inputs, ...(n.outer_inputs ?? outerReads(n))];
}

/** The values a block reads that it neither is given nor makes, in the order first read. */
function freeReads(g) {
  const own = new Set([...(g.inputs ?? []).map((v) => v.name), ...g.nodes.flatMap((m) => m.outputs)]);
  const free = new Set();
  for (const m of g.nodes) for (const name of reads(m)) if (name && !own.has(name)) free.add(name);
  return [...free];
}

/** What node n's blocks read from outside (the views give this for the top level's nodes only). */
function outerReads(n) {
  const free = new Set(blocksOf(n).flatMap((b) => freeReads(b.graph)));
  return [...free].filter((name) => !n.inputs.includes(name));
}

/**
 * Block `block` of a node of `parent` (a graph view) as a graph view: its nodes; its inputs (a
 * loop's variables), then the enclosing values its nodes read as inputs marked `outer` (weights,
 * passed in or read, stay weights: rows of their nodes); its outputs; the parent's weights and
 * value types, and the block's own types.
 */
export function blockView(parent, block) {
  const g = block.graph;
  const weights = new Set(parent.initializers.map((t) => t.name));
  const typed = (v) => {
    const t = Object.hasOwn(parent.values, v.name) ? parent.values[v.name] : null;
    return { ...t, ...v };
  };
  const outer = freeReads(g).filter((name) => !weights.has(name)).map((name) => ({ ...typed({ name }), outer: true }));
  const values = { ...parent.values };
  for (const v of [...(g.inputs ?? []), ...(g.outputs ?? [])]) if (v.elem_type) values[v.name] = { elem_type: v.elem_type, shape: v.shape };
  return {
    nodes: g.nodes.map((n, i) => ({ index: i, ...n, outer_inputs: n.outer_inputs ?? outerReads(n) })),
    inputs: [...(g.inputs ?? []).filter((v) => !weights.has(v.name)).map(typed), ...outer],
    outputs: (g.outputs ?? []).map(typed),
    initializers: parent.initializers,
    values,
  };
}

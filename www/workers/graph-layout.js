// The ONNX diagram, computed in the worker: a box for every graph input, node and graph output, an
// edge for every value passed between them, and positions from a layered (Sugiyama-style) layout
// of our own: longest-path layers with nodes pulled toward their consumers, long edges through
// bend points that share one trunk per source, barycentre sweeps against crossings (the best
// ordering by exact crossing count), x coordinates by weighted isotonic regression toward each
// box's neighbours (long edges run straight), and edges as polylines through the layers they
// cross. There is no DOM here: text widths are estimated from character counts. A control node's
// blocks are rows of its box (the page opens them as graphs of their own, laid out here too).

import { blocksOf } from '../shared/blocks.js';

/** Graphs with more nodes get the node list instead of a diagram. */
const MAX_DIAGRAM_NODES = 5000;
/** Boxes plus bend points: past this the layout would be slow and the picture unreadable. */
const MAX_ITEMS = 150_000;

const TITLE_CHAR = 7.4; // 12.5px semibold sans, generous
const MONO_CHAR = 6.7; // 11px monospace
const PAD = 8;
const HEADER = 24;
const ROW = 16;
const MAX_ROWS = 4;
const MIN_W = 72;
const MAX_W = 250;
const MAX_LABEL = 34;

const LAYER_GAP = 46;
const NODE_GAP = 26;
const BEND_GAP = 8;
const SWEEPS = 24;
/** Sweeps stop after this many in a row find no fewer crossings. */
const STALE_SWEEPS = 6;
const PLACE_PASSES = 12;
const BEND_WEIGHT = 6;
const MARGIN = 24;

const clip = (s, n = MAX_LABEL) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const dims = (shape) => (Array.isArray(shape) ? (shape.length ? shape.map((d) => (d == null ? '?' : String(d))).join('×') : 'scalar') : '?');
/** The last part of a dotted or slashed name: `encoder.layer.0.weight` -> `weight`. */
const shortName = (name) => name.split(/[./:]/).filter(Boolean).pop() ?? name;

/**
 * The boxes (graph inputs, nodes in the view's order, graph outputs) and edges of `view` (the
 * JSON of `WasmModel.graph`), laid out; for a graph too big to draw, unplaced and `tooBig`
 * saying why.
 */
export function diagram(view) {
  const t0 = performance.now();
  const { boxes, edges } = build(view);
  if (view.nodes.length > MAX_DIAGRAM_NODES) {
    return { boxes, edges, tooBig: `the graph has ${view.nodes.length.toLocaleString('en-US')} nodes, and diagrams are drawn for up to ${MAX_DIAGRAM_NODES.toLocaleString('en-US')}` };
  }
  const placed = place(boxes, edges);
  if (!placed) return { boxes, edges, tooBig: 'its long edges would need too many bends to draw' };
  return { ...placed, boxes, edges, ms: performance.now() - t0 };
}

function ioBox(kind, v) {
  // A .pt2's output that writes a buffer (or an input) names what it writes; a block's input read
  // from the enclosing graph says so.
  const type = `${v.elem_type ?? ''} ${v.shape ? `[${v.shape.map((d) => (d == null ? '?' : d)).join(', ')}]` : ''}`.trim();
  const sub = v.target ? `→ ${v.target}` : v.outer ? `outside${type ? ` · ${type}` : ''}` : type;
  const title = clip(v.name);
  const w = Math.min(MAX_W, Math.max(MIN_W, title.length * TITLE_CHAR, clip(sub).length * MONO_CHAR) + 2 * PAD + 4);
  return { kind, name: v.name, title, sub: clip(sub), rows: [], w: Math.round(w), h: 40, outer: Boolean(v.outer) };
}

/** A constant's value for its box: numbers to 6 significant digits, lists in brackets. */
function short(v) {
  if (Array.isArray(v)) return `[${v.map(short).join(', ')}]`;
  return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : JSON.stringify(v);
}

function constantText(value) {
  if (!value || typeof value !== 'object') return value == null ? '' : `= ${short(value)}`;
  if ('value' in value && (value.shape?.length ?? 0) <= 1) return `= ${short(value.value)}`;
  return `${String(value.dtype ?? '').toLowerCase()} ${dims(value.shape)}`;
}

function nodeBox(n, position, inits) {
  const rows = [];
  for (const name of n.inputs) {
    const t = name && inits.get(name);
    if (t) rows.push({ text: clip(`${shortName(name)} ${dims(t.shape)}`), tensor: t.tensor, name });
  }
  if (n.op_type === 'Constant' && n.attributes) {
    const [key, value] = Object.entries(n.attributes)[0] ?? [];
    if (key) rows.push({ text: clip(constantText(value)) });
  }
  // Blocks (If branches, Loop bodies) by name and size; `block` is its place in blocksOf(n).
  blocksOf(n).forEach((b, k) => rows.push({ text: clip(`${b.label}: ${b.graph.node_count} node${b.graph.node_count === 1 ? '' : 's'}`), block: k }));
  let shown = rows;
  if (rows.length > MAX_ROWS) shown = [...rows.slice(0, MAX_ROWS - 1), { text: `+${rows.length - MAX_ROWS + 1} more` }];
  const title = clip(n.op_type || '?', 28);
  const w = Math.max(MIN_W, title.length * TITLE_CHAR + 2 * PAD, ...shown.map((r) => r.text.length * MONO_CHAR + 2 * PAD));
  return { kind: 'node', node: position, title, rows: shown, w: Math.round(Math.min(MAX_W, w)), h: HEADER + (shown.length ? shown.length * ROW + 6 : 0) };
}

/** Boxes in topological order (inputs, nodes, outputs) and the edges between them. */
function build(view) {
  const inits = new Map(view.initializers.map((t) => [t.name, t]));
  const boxes = [];
  const producer = new Map();
  for (const v of view.inputs) {
    if (!producer.has(v.name)) producer.set(v.name, boxes.length);
    boxes.push(ioBox('input', v));
  }
  const first = boxes.length;
  view.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o && !producer.has(o)) producer.set(o, first + i);
    boxes.push(nodeBox(n, i, inits));
  });
  const edges = new Map();
  const link = (name, to, outer) => {
    const from = producer.get(name);
    if (from == null || from === to) return;
    const key = `${from}>${to}`;
    const e = edges.get(key);
    if (e) {
      if (!e.names.includes(name)) e.names.push(name);
      e.outer &&= outer;
    } else edges.set(key, { from, to, names: [name], outer });
  };
  view.nodes.forEach((n, i) => {
    for (const name of n.inputs) if (name && !inits.has(name)) link(name, first + i, false);
    for (const name of n.outer_inputs ?? []) link(name, first + i, true);
  });
  for (const v of view.outputs) {
    const to = boxes.length;
    boxes.push(ioBox('output', v));
    link(v.name, to, false);
  }
  return { boxes, edges: [...edges.values()] };
}

/** Lays out boxes (w, h given; x, y set) and edges (points set); null when too big. */
function place(boxes, edges) {
  const n = boxes.length;
  const pred = Array.from({ length: n }, () => []);
  const succ = Array.from({ length: n }, () => []);
  for (const e of edges) {
    // Boxes come in topological order; an edge backwards (a cycle in a broken file) is turned.
    const [a, b] = e.from < e.to ? [e.from, e.to] : [e.to, e.from];
    e.a = a;
    e.b = b;
    succ[a].push(b);
    pred[b].push(a);
  }

  // Layers: longest path from the sources, then each box as close to its consumers as its
  // producers allow when that does not lengthen more edges than it shortens.
  const layer = new Int32Array(n);
  for (let v = 0; v < n; v++) for (const p of pred[v]) layer[v] = Math.max(layer[v], layer[p] + 1);
  for (let v = n - 1; v >= 0; v--) {
    if (!succ[v].length || succ[v].length < pred[v].length) continue;
    let m = Infinity;
    for (const s of succ[v]) m = Math.min(m, layer[s] - 1);
    if (m > layer[v]) layer[v] = m;
  }

  // Items: the boxes, then bend points (one trunk per source, shared by its long edges).
  const itemLayer = Array.from(layer);
  const width = boxes.map((b) => b.w);
  const trunks = new Map();
  edges.forEach((e, index) => {
    const { a, b } = e;
    const path = [a];
    if (layer[b] - layer[a] > 1) {
      // An edge turned round (a cycle) gets bends of its own: it is drawn whole.
      e.trunk = e.from < e.to ? a : `turned ${index}`;
      let trunk = trunks.get(e.trunk);
      if (!trunk) trunks.set(e.trunk, (trunk = []));
      for (let l = layer[a] + 1; l < layer[b]; l++) {
        const k = l - layer[a] - 1;
        if (trunk[k] == null) {
          trunk[k] = itemLayer.length;
          itemLayer.push(l);
          width.push(2);
          if (itemLayer.length > MAX_ITEMS) return null;
        }
        path.push(trunk[k]);
      }
    }
    path.push(b);
    e.path = path;
  });
  const items = itemLayer.length;
  const isBend = new Uint8Array(items).fill(1, n);
  const up = Array.from({ length: items }, () => []);
  const down = Array.from({ length: items }, () => []);
  const segments = new Set();
  for (const { path } of edges) {
    for (let i = 1; i < path.length; i++) {
      const key = path[i - 1] * 1048576 + path[i];
      if (segments.has(key)) continue;
      segments.add(key);
      down[path[i - 1]].push(path[i]);
      up[path[i]].push(path[i - 1]);
    }
  }
  let depth = 0;
  for (const l of itemLayer) depth = Math.max(depth, l + 1);
  let layers = Array.from({ length: depth }, () => []);
  for (let i = 0; i < items; i++) layers[itemLayer[i]].push(i);
  const pos = new Float64Array(items);
  const number = (ls) => {
    for (const l of ls) l.forEach((it, k) => { pos[it] = k; });
  };
  number(layers);

  // Order within layers: barycentre sweeps down and up, keeping the best seen.
  const bary = new Float64Array(items);
  const sortBy = (l, nbrs) => {
    for (const it of l) {
      const ns = nbrs[it];
      if (!ns.length) bary[it] = pos[it];
      else {
        let s = 0;
        for (const x of ns) s += pos[x];
        bary[it] = s / ns.length;
      }
    }
    l.sort((x, y) => bary[x] - bary[y] || pos[x] - pos[y]);
    l.forEach((it, k) => { pos[it] = k; });
  };
  let best = crossings(layers, down, pos);
  let bestLayers = layers.map((l) => l.slice());
  for (let s = 0, stale = 0; s < SWEEPS && best > 0 && stale < STALE_SWEEPS; s++) {
    if (s % 2 === 0) for (let l = 1; l < depth; l++) sortBy(layers[l], up);
    else for (let l = depth - 2; l >= 0; l--) sortBy(layers[l], down);
    const c = crossings(layers, down, pos);
    if (c < best) {
      best = c;
      bestLayers = layers.map((l) => l.slice());
      stale = 0;
    } else stale++;
  }
  layers = bestLayers;
  number(layers);

  // x: each layer packed in order, each item pulled toward the centre of its neighbours.
  const x = new Float64Array(items);
  const weight = (it) => (isBend[it] ? BEND_WEIGHT : 1);
  const gap = (p, q) => (isBend[p] || isBend[q] ? BEND_GAP : NODE_GAP);
  const center = (it) => x[it] + width[it] / 2;
  for (const l of layers) {
    let at = 0;
    l.forEach((it, k) => {
      if (k) at += gap(l[k - 1], it);
      x[it] = at;
      at += width[it];
    });
    for (const it of l) x[it] -= at / 2;
  }
  const pull = (l, sides) => {
    const want = l.map((it) => {
      let s = 0;
      let c = 0;
      for (const side of sides) for (const nb of side[it]) {
        s += center(nb);
        c++;
      }
      return c ? s / c - width[it] / 2 : x[it];
    });
    packToward(l, want, x, width, weight, gap);
  };
  for (let p = 0; p < PLACE_PASSES; p++) {
    const last = p >= 1;
    if (p % 2 === 0) for (let l = 1; l < depth; l++) pull(layers[l], last ? [up, down] : [up]);
    else for (let l = depth - 2; l >= 0; l--) pull(layers[l], last ? [up, down] : [down]);
  }

  // Long edges run straight: each trunk's bends share one x for as long as the layers leave room.
  for (const trunk of trunks.values()) {
    let run = [];
    let lo = -Infinity;
    let hi = Infinity;
    const flush = () => {
      if (!run.length) return;
      let mean = 0;
      for (const it of run) mean += center(it) / run.length;
      const c = Math.min(hi, Math.max(lo, mean));
      for (const it of run) x[it] = c - width[it] / 2;
      run = [];
      lo = -Infinity;
      hi = Infinity;
    };
    for (const it of trunk) {
      const l = layers[itemLayer[it]];
      const p = pos[it];
      const left = p > 0 ? l[p - 1] : -1;
      const right = p + 1 < l.length ? l[p + 1] : -1;
      const min = left >= 0 ? x[left] + width[left] + gap(left, it) + width[it] / 2 : -Infinity;
      const max = right >= 0 ? x[right] - gap(it, right) - width[it] / 2 : Infinity;
      if (Math.max(lo, min) > Math.min(hi, max)) flush();
      lo = Math.max(lo, min);
      hi = Math.min(hi, max);
      run.push(it);
    }
    flush();
  }

  // y: one row per layer, as tall as its tallest box.
  const rowTop = new Float64Array(depth);
  const rowH = new Float64Array(depth);
  for (let i = 0; i < n; i++) rowH[layer[i]] = Math.max(rowH[layer[i]], boxes[i].h);
  let y = MARGIN;
  for (let l = 0; l < depth; l++) {
    rowTop[l] = y;
    y += Math.max(rowH[l], 4) + LAYER_GAP;
  }
  let minX = 0;
  let maxX = 0;
  for (let i = 0; i < items; i++) {
    minX = Math.min(i ? minX : x[i], x[i]);
    maxX = Math.max(i ? maxX : x[i] + width[i], x[i] + width[i]);
  }
  const dx = MARGIN - minX;
  boxes.forEach((b, i) => {
    b.x = Math.round(x[i] + dx);
    b.y = Math.round(rowTop[layer[i]] + (rowH[layer[i]] - b.h) / 2);
    b.layer = layer[i];
  });

  // Edges: out of the bottom of the source, through each bend vertically, into the top of the
  // target; ports spread along a box's edge in the order of where the edges come from. A shared
  // trunk is drawn once (an extra edge with `trunk: true` and no target), and each edge on it only
  // from where it leaves the trunk.
  const ins = Array.from({ length: n }, () => []);
  const outs = Array.from({ length: n }, () => []);
  for (const e of edges) {
    e.bends = e.path.slice(1, -1).map((it) => [x[it] + dx + 1, itemLayer[it]]);
    ins[e.b].push(e);
    outs[e.a].push(e);
  }
  const spread = (b, list, key, set) => {
    const box = boxes[b];
    list.sort((p, q) => key(p) - key(q));
    list.forEach((e, k) => set(e, box.x + box.w * (0.5 + (k + 1 - (list.length + 1) / 2) * Math.min(0.8 / list.length, 0.22))));
  };
  const centerOf = (i) => boxes[i].x + boxes[i].w / 2;
  for (let b = 0; b < n; b++) {
    spread(b, ins[b], (e) => (e.bends.length ? e.bends[e.bends.length - 1][0] : centerOf(e.a)), (e, px) => { e.inX = px; });
    // Edges of one value leave from one point, and so do all the edges on the box's trunk.
    const groups = new Map();
    for (const e of outs[b]) {
      const k = e.bends.length && e.trunk === b ? '' : e.names[0];
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(e);
    }
    const list = [...groups.values()].map((g) => ({ g, at: g.reduce((s, e) => s + (e.bends.length ? e.bends[0][0] : centerOf(e.b)), 0) / g.length }));
    spread(b, list, (g) => g.at, (g, px) => { for (const e of g.g) e.outX = px; });
  }
  const rowBottom = (l) => rowTop[l] + Math.max(rowH[l], 4);
  const through = (pts, bends) => {
    for (const [bx, l] of bends) pts.push(bx, rowTop[l], bx, rowBottom(l));
    return pts;
  };
  const drawn = new Map(); // trunk -> {edge, depth}
  for (const e of edges) {
    const A = boxes[e.a];
    const B = boxes[e.b];
    let pts;
    if (e.bends.length && typeof e.trunk === 'number') {
      const last = e.bends[e.bends.length - 1];
      pts = [last[0], rowBottom(last[1]), e.inX, B.y];
      const t = drawn.get(e.trunk);
      if (!t) drawn.set(e.trunk, { e, names: [...e.names] });
      else {
        if (e.bends.length > t.e.bends.length) t.e = e;
        for (const name of e.names) if (!t.names.includes(name)) t.names.push(name);
      }
    } else pts = [...through([e.outX, A.y + A.h], e.bends), e.inX, B.y];
    if (e.from > e.to) {
      // Drawn from the original source: reverse the point pairs.
      const r = [];
      for (let i = pts.length - 2; i >= 0; i -= 2) r.push(pts[i], pts[i + 1]);
      pts = r;
    }
    e.points = pts.map(Math.round);
  }
  for (const [source, { e, names }] of drawn) {
    edges.push({ from: source, to: -1, names, trunk: true, points: through([e.outX, boxes[source].y + boxes[source].h], e.bends).map(Math.round) });
  }
  for (const e of edges) {
    for (const k of ['a', 'b', 'path', 'bends', 'inX', 'outX']) delete e[k];
    if (e.trunk !== true) delete e.trunk;
  }
  return { width: Math.ceil(maxX - minX + 2 * MARGIN), height: Math.ceil(Math.max(y - LAYER_GAP, MARGIN) + MARGIN), layers: depth, crossings: best, bends: items - n };
}

/**
 * Places the items of one layer, in their order and at least `gap` apart, as close as possible
 * (least weighted squares) to the x each wants: with offsets taken out, the positions must not
 * decrease, which is isotonic regression, solved exactly by pooling adjacent violators.
 */
function packToward(l, want, x, width, weight, gap) {
  const m = l.length;
  const off = new Float64Array(m);
  for (let k = 1; k < m; k++) off[k] = off[k - 1] + width[l[k - 1]] + gap(l[k - 1], l[k]);
  const bw = [];
  const bs = [];
  const bn = [];
  for (let k = 0; k < m; k++) {
    const w = weight(l[k]);
    bw.push(w);
    bs.push(w * (want[k] - off[k]));
    bn.push(1);
    while (bw.length > 1 && bs[bs.length - 2] / bw[bw.length - 2] > bs[bs.length - 1] / bw[bw.length - 1]) {
      const w2 = bw.pop();
      const s2 = bs.pop();
      const n2 = bn.pop();
      bw[bw.length - 1] += w2;
      bs[bs.length - 1] += s2;
      bn[bn.length - 1] += n2;
    }
  }
  let k = 0;
  for (let b = 0; b < bw.length; b++) {
    const v = bs[b] / bw[b];
    for (let j = 0; j < bn[b]; j++, k++) x[l[k]] = v + off[k];
  }
}

/** Edge crossings between consecutive layers (inversions counted with a Fenwick tree). */
function crossings(layers, down, pos) {
  let total = 0;
  let widest = 0;
  for (const l of layers) widest = Math.max(widest, l.length);
  const tree = new Int32Array(widest + 1);
  const targets = [];
  for (let l = 0; l + 1 < layers.length; l++) {
    const size = layers[l + 1].length;
    tree.fill(0, 0, size + 1);
    let inserted = 0;
    for (const a of layers[l]) {
      targets.length = 0;
      for (const b of down[a]) targets.push(pos[b]);
      if (targets.length > 1) targets.sort((p, q) => p - q);
      for (const t of targets) {
        let le = 0;
        for (let i = t + 1; i > 0; i -= i & -i) le += tree[i];
        total += inserted - le;
      }
      for (const t of targets) {
        for (let i = t + 1; i <= size; i += i & -i) tree[i]++;
        inserted++;
      }
    }
  }
  return total;
}

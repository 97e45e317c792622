// What the page derives from the document (docs/inspect-json.md): the state_dict tree,
// parameter counts, bytes by dtype, checkpoint scalars, optimizers, the module tree.

import { dtype as dtypeFacts } from './dtypes.js';

/** Bytes per element of a dtype (torch's name), from the core's table. */
export const itemsize = (dtype) => dtypeFacts(dtype).itemsize;

export const numel = (t) => t.numel ?? t.shape.reduce((a, b) => a * b, 1);

/** A tensor's identity for de-duplication: tied weights count once. */
const identity = (t) => `${t.storage}|${t.storage_offset}|${t.shape}|${t.stride}|${t.dtype}`;

/** Parameter count of a state_dict (tied tensors counted once); `shared` from `sharing(doc)`. */
export function paramCount(doc, shared = sharing(doc)) {
  const seenIndex = new Set();
  const seenView = new Set();
  let n = 0;
  for (const e of doc.state_dict) {
    const t = doc.tensors[e.tensor];
    if (!t || seenIndex.has(e.tensor)) continue;
    seenIndex.add(e.tensor);
    // Only tensors on a shared storage can be the same view under two names.
    if (shared.has(e.tensor)) {
      const id = identity(t);
      if (seenView.has(id)) continue;
      seenView.add(id);
    }
    n += numel(t);
  }
  return n;
}

/** Storage bytes by dtype, each storage counted once, over every tensor of the file. */
export function bytesByDtype(doc) {
  const seen = new Set();
  const out = new Map();
  for (const t of doc.tensors) {
    if (seen.has(t.storage)) continue;
    seen.add(t.storage);
    out.set(t.dtype, (out.get(t.dtype) ?? 0) + (t.storage_bytes ?? numel(t) * itemsize(t.dtype)));
  }
  return [...out.entries()].sort((a, b) => b[1] - a[1]);
}

/** Groups of tensor indices that share a storage: index -> [other indices]. */
export function sharing(doc) {
  const byStorage = new Map();
  doc.tensors.forEach((t, i) => {
    if (!byStorage.has(t.storage)) byStorage.set(t.storage, []);
    byStorage.get(t.storage).push(i);
  });
  const out = new Map();
  for (const group of byStorage.values()) {
    if (group.length < 2) continue;
    for (const i of group) out.set(i, group.filter((j) => j !== i));
  }
  return out;
}

/** True when two tensors are the same view of the same storage (tied weights). */
export const tied = (a, b) => identity(a) === identity(b);

/**
 * The state_dict as a tree by dotted names. Nodes: {name, key, children: Map|null, tensor, entry,
 * params, count}. Keys with empty parts keep them.
 */
export function stateDictTree(doc) {
  const root = { name: '', key: '', children: new Map(), params: 0, count: 0 };
  for (const entry of doc.state_dict) {
    const parts = entry.key.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      // Branches are keyed by their name, leaves by name + NUL: a key may be both.
      const part = parts[i];
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, key: node.key ? `${node.key}.${part}` : part, children: new Map(), params: 0, count: 0 };
        node.children.set(part, child);
      }
      node = child;
    }
    const name = parts[parts.length - 1];
    node.children.set(`${name}\u0000`, { name, key: entry.key, children: null, tensor: entry.tensor, params: 0, count: 1 });
  }
  const fill = (node) => {
    if (!node.children) {
      const t = doc.tensors[node.tensor];
      node.params = t ? numel(t) : 0;
      return;
    }
    node.params = 0;
    node.count = 0;
    for (const c of node.children.values()) {
      fill(c);
      node.params += c.params;
      node.count += c.count;
    }
  };
  fill(root);
  return root;
}

/** A run's label: `0–79 ×80`, or the one index. */
export const runLabel = (stem, r) => (r.count > 1 ? `${stem}${r.first}–${r.last} ×${r.count}` : `${stem}${r.first}`);

/**
 * Collapses the repeated blocks the core found (`architecture.blocks`) in a `stateDictTree`: in
 * the folder of each, a run of two or more identical blocks becomes one node, `layers.0–79 ×80`,
 * whose children are the blocks; a folder that is one run is replaced by that node. A repeat found
 * inside a run's first block applies to the run's other blocks too (they are the same).
 */
export function collapseRepeats(root, architecture) {
  const groups = architecture?.blocks ?? [];
  // A folder by key, also inside the run nodes already made.
  const folderAt = (key) => {
    let node = root;
    for (const part of key ? key.split('.') : []) {
      let next = node.children?.get(part);
      if (!next) for (const c of node.children?.values() ?? []) if (c.repeat && c.children.has(part)) next = c.children.get(part);
      if (!next?.children) return null;
      node = next;
    }
    return node;
  };
  // The group's folder, and the same folder in the other blocks of every run it sits in.
  const prefixes = (g) => {
    let out = [g.prefix];
    for (const outer of groups) {
      if (outer === g) break;
      const base = `${outer.prefix ? `${outer.prefix}.` : ''}${outer.stem ?? ''}`;
      for (const r of outer.runs.filter((r) => r.count > 1)) {
        const first = `${base}${r.first}.`;
        out = out.flatMap((p) => (p.startsWith(first) ? Array.from({ length: r.count }, (_, k) => `${base}${r.first + k}.${p.slice(first.length)}`) : [p]));
      }
    }
    return out;
  };
  for (const g of groups) {
    for (const prefix of prefixes(g)) {
      const folder = folderAt(prefix);
      if (!folder) continue;
      const name = prefix.split('.').pop();
      const runs = g.runs.filter((r) => r.count > 1);
      const groupsHere = runs.map((r) => {
        const children = new Map();
        for (let i = r.first; i <= r.last; i++) {
          const child = folder.children.get(`${g.stem ?? ''}${i}`);
          if (child) children.set(child.name, child);
        }
        const node = { name: `${name}.${runLabel(g.stem ?? '', r)}`, key: prefix, children, repeat: r, params: 0, count: 0 };
        for (const c of children.values()) {
          node.params += c.params;
          node.count += c.count;
        }
        return node;
      });
      if (!groupsHere.length) continue;
      const rebuilt = new Map();
      for (const [k, c] of folder.children) {
        const inRun = groupsHere.find((gh) => gh.children.get(k) === c);
        if (!inRun) rebuilt.set(k, c);
        else if (!rebuilt.has(inRun.name)) rebuilt.set(inRun.name, inRun);
      }
      folder.children = rebuilt;
      // A folder that is one run: the run's node takes its place.
      if (rebuilt.size === 1 && groupsHere.length === 1) {
        const only = groupsHere[0];
        folder.name = only.name;
        folder.repeat = only.repeat;
        folder.children = only.children;
      } else {
        for (const gh of groupsHere) gh.name = runLabel(g.stem ?? '', gh.repeat);
      }
    }
  }
  return root;
}

/** The module tree from `modules` ({path, class}), with parameter counts from the state_dict. */
export function moduleTree(doc) {
  const byPath = new Map();
  const root = { name: '', key: '', cls: '', children: new Map(), params: 0, count: 0 };
  byPath.set('', root);
  const mods = [...doc.modules].sort((a, b) => a.path.split('.').length - b.path.split('.').length);
  for (const m of mods) {
    if (m.path === '') {
      root.cls = m.class;
      continue;
    }
    const parts = m.path.split('.');
    const parentPath = parts.slice(0, -1).join('.');
    const parent = byPath.get(parentPath) ?? root;
    const node = { name: parts[parts.length - 1], key: m.path, cls: m.class, children: new Map(), params: 0, count: 0 };
    parent.children.set(node.name, node);
    byPath.set(m.path, node);
  }
  for (const e of doc.state_dict) {
    const t = doc.tensors[e.tensor];
    const n = t ? numel(t) : 0;
    const parts = e.key.split('.');
    for (let i = 0; i < parts.length; i++) {
      const node = byPath.get(parts.slice(0, i).join('.'));
      if (node) {
        node.params += n;
        node.count += 1;
      }
    }
  }
  for (const node of byPath.values()) if (node.children.size === 0) node.children = null;
  if (!root.children) root.children = new Map();
  return root;
}

// --- the pickled tree ------------------------------------------------------------------------

export const isDict = (v) => v !== null && typeof v === 'object' && Array.isArray(v.$dict);
export const isTensor = (v) => v !== null && typeof v === 'object' && typeof v.$tensor === 'number';
export const isList = (v) => v !== null && typeof v === 'object' && (Array.isArray(v.$list) || Array.isArray(v.$tuple));
export const listItems = (v) => v.$list ?? v.$tuple;
export const isScalar = (v) => v === null || ['number', 'string', 'boolean'].includes(typeof v);

export function dictGet(d, key) {
  if (!isDict(d)) return undefined;
  for (const [k, v] of d.$dict) if (k === key) return v;
  return undefined;
}

/** Scalars at the top of a checkpoint: epoch, loss, step, ... (and one-element tensors). */
export function topScalars(doc) {
  const out = [];
  if (!isDict(doc.tree)) return out;
  for (const [k, v] of doc.tree.$dict) {
    if (typeof v === 'string' && v.length > 120) continue;
    if (isScalar(v)) out.push({ key: String(k), value: v });
    else if (isTensor(v)) {
      const t = doc.tensors[v.$tensor];
      if (t && numel(t) === 1) out.push({ key: String(k), tensor: v.$tensor });
    }
  }
  return out;
}

/** Optimizer state dicts anywhere near the top ({state, param_groups}), with their tree path. */
export function optimizers(doc) {
  const out = [];
  const visit = (v, path, depth) => {
    if (depth > 4) return;
    if (isDict(v)) {
      const groups = dictGet(v, 'param_groups');
      if (groups && isList(groups)) {
        out.push({ path, groups: listItems(groups).filter(isDict), state: dictGet(v, 'state') });
        return;
      }
      for (const [k, c] of v.$dict) visit(c, [...path, String(k)], depth + 1);
    } else if (isList(v)) {
      listItems(v).forEach((c, i) => visit(c, [...path, String(i)], depth + 1));
    }
  };
  visit(doc.tree, [], 0);
  return out;
}

const BUFFER = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

/**
 * Maps an optimizer's parameter ids to state_dict keys where the order allows: the ids follow
 * model.parameters(), which is the state_dict order without buffers. Checked against the shapes
 * of the per-parameter state; returns Map(id -> key) or null.
 */
export function paramNames(doc, opt) {
  const ids = [];
  for (const g of opt.groups) {
    const params = dictGet(g, 'params');
    if (params && isList(params)) for (const p of listItems(params)) ids.push(p);
  }
  if (!ids.length) return null;
  const candidates = [doc.state_dict, doc.state_dict.filter((e) => !BUFFER.test(e.key))];
  for (const keys of candidates) {
    if (keys.length !== ids.length) continue;
    const map = new Map(ids.map((id, i) => [String(id), keys[i]]));
    let ok = true;
    if (isDict(opt.state)) {
      for (const [id, st] of opt.state.$dict) {
        const entry = map.get(String(id));
        if (!entry) {
          ok = false;
          break;
        }
        const param = doc.tensors[entry.tensor];
        if (!isDict(st)) continue;
        for (const [, v] of st.$dict) {
          if (!isTensor(v)) continue;
          const t = doc.tensors[v.$tensor];
          if (t && numel(t) > 1 && param && String(t.shape) !== String(param.shape)) ok = false;
        }
      }
    }
    if (ok) return new Map([...map].map(([id, e]) => [id, e.key]));
  }
  return null;
}

export function describeTensor(t) {
  return `${t.dtype} [${t.shape.join(', ')}]`;
}

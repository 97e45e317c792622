// The unpickled object tree (checkpoint parts, hyper-parameters, schedulers...) as nested
// disclosure widgets, rendered lazily as they are opened.

import { h } from './dom.js';
import * as fmt from './format.js';
import { isDict, isList, isTensor, listItems, describeTensor } from './doc.js';

const PAGE = 200;

export function scalarText(v) {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : fmt.float(v, 8);
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function summary(v, doc) {
  if (isDict(v)) return `${v.$class ? `${v.$class.split('.').pop()} ` : 'dict '}(${v.$dict.length})`;
  if (Array.isArray(v?.$list)) return `list (${v.$list.length})`;
  if (Array.isArray(v?.$tuple)) return `tuple (${v.$tuple.length})`;
  if (v && typeof v === 'object' && '$object' in v) return v.$object;
  if (v && typeof v === 'object' && '$bytes' in v) return `bytes (${fmt.bytes(v.$bytes)})`;
  if (isTensor(v)) return doc.tensors[v.$tensor] ? describeTensor(doc.tensors[v.$tensor]) : 'tensor';
  return null;
}

function children(v) {
  if (isDict(v)) return v.$dict.map(([k, c]) => [typeof k === 'string' ? k : scalarText(k), c]);
  if (isList(v)) return listItems(v).map((c, i) => [String(i), c]);
  if (v && typeof v === 'object' && '$object' in v) {
    const out = [];
    if (v.args && v.args.length) out.push(['args', { $tuple: v.args }]);
    if (v.state !== undefined && v.state !== null) out.push(['state', v.state]);
    return out;
  }
  return null;
}

/** Renders `value` under `label`; tensors call `onTensor(index)`. */
export function valueNode(label, value, ctx, open = false) {
  if (isTensor(value)) {
    const t = ctx.doc.tensors[value.$tensor];
    return h('div', { class: 'vt-leaf' }, h('span', { class: 'vt-key' }, label),
      h('button', { type: 'button', class: 'link tensor-link', onclick: () => ctx.onTensor(value.$tensor) }, t ? describeTensor(t) : `tensor ${value.$tensor}`));
  }
  const kids = children(value);
  if (!kids) {
    const text = value && typeof value === 'object' && '$bytes' in value ? summary(value, ctx.doc) : scalarText(value);
    return h('div', { class: 'vt-leaf' }, h('span', { class: 'vt-key' }, label), h('span', { class: `vt-value t-${value === null ? 'none' : typeof value}` }, text));
  }
  const details = h('details', { class: 'vt' }, h('summary', {}, h('span', { class: 'vt-key' }, label), h('span', { class: 'vt-type muted' }, summary(value, ctx.doc))));
  let shown = 0;
  const body = h('div', { class: 'vt-body' });
  const more = () => {
    const end = Math.min(kids.length, shown + PAGE);
    const frag = [];
    for (let i = shown; i < end; i++) frag.push(valueNode(kids[i][0], kids[i][1], ctx));
    shown = end;
    body.querySelector(':scope > .vt-more')?.remove();
    body.append(...frag);
    if (shown < kids.length) body.append(h('button', { type: 'button', class: 'link vt-more', onclick: more }, `Show ${Math.min(PAGE, kids.length - shown)} more of ${kids.length - shown}`));
  };
  details.addEventListener('toggle', () => {
    if (details.open && shown === 0) more();
  });
  details.append(body);
  if (open) {
    details.open = true;
    more();
  }
  return details;
}

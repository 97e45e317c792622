// The diagram's SVG: boxes and edges placed by workers/graph-layout.js, with pan (drag, wheel,
// scrollbars) and zoom (Ctrl+wheel, buttons, keys). The SVG stays put (sticky) inside a native
// scroll area as large as the zoomed graph, so the scrollbars show where one is and wheel scrolling
// is the browser's own; the scroll position becomes the SVG's transform. Only what is on screen is
// in the DOM (plus the boxes a search found, the selected one and the focused one): a 5,000-node
// graph pans as smoothly as a small one. Marks (match, current, selected) live here as state and
// are applied to boxes as they appear.

import { h, svg } from './dom.js';

const ZOOM_MIN = 0.001;
const ZOOM_MAX = 3;
/** Below this zoom the boxes lose their text, which would be unreadable anyway. */
const ZOOM_TEXT = 0.4;
/** Bringing a box into view zooms in at least this far. */
const ZOOM_FOCUS = 0.85;
/** Height of the horizontal bands of the spatial index, in layout pixels. */
const BAND = 400;
/** Boxes and edges this far outside the screen (in screen sizes) are drawn too. */
const OVERSCAN = 0.5;
const HEADER = 24;
const ROW = 16;
let nextId = 1;

export class DiagramCanvas {
  /**
   * {graph (GraphIndex), layout, onActivate(i, {tensor, block}): a click on box i (on a weight's
   * row: its tensor; on a block's row: its place in the node's blocks), onKey(e, i): a key on box i}
   */
  constructor({ graph, layout, onActivate, onKey }) {
    this.graph = graph;
    this.layout = layout;
    this.onActivate = onActivate;
    this.marker = `tp-arrow-${nextId++}`;
    this.zoom = { k: 1, x: 0, y: 0 };
    this.boxEls = new Array(layout.boxes.length);
    this.edgeEls = new Array(layout.edges.length);
    this.shownBoxes = [];
    this.shownEdges = new Set();
    this.matches = new Set();
    this.current = -1;
    this.selected = -1;
    this.tabStop = 0;
    this.focused = -1;
    /** Width covered by the details card on the right. */
    this.insetRight = 0;
    this.index();

    this.edgeLayer = svg('g', { class: 'edges' });
    this.nodeLayer = svg('g', { class: 'nodes' });
    this.viewport = svg('g', { class: 'viewport' }, this.edgeLayer, this.nodeLayer);
    this.svg = svg('svg', { class: 'graph-svg', role: 'group', 'aria-roledescription': 'diagram', 'aria-label': `Graph diagram of ${graph.view.nodes.length} nodes` },
      svg('defs', {}, svg('marker', { id: this.marker, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { class: 'arrowhead', d: 'M0,1 L9,5 L0,9 z' }))),
      this.viewport);
    this.sizer = h('div', { class: 'graph-sizer' }, this.svg);
    this.scroller = h('div', { class: 'graph-scroll' }, this.sizer);
    this.el = h('div', { class: 'graph-canvas' }, this.scroller,
      h('p', { class: 'graph-hint muted small', 'aria-hidden': 'true' }, 'Drag or scroll to pan · Ctrl+wheel to zoom'));
    this.pad = { x: 0, y: 0 };

    this.svg.addEventListener('click', (e) => {
      if (this.dragged) return;
      const g = e.target.closest?.('.gnode');
      const at = (name) => (e.target.hasAttribute?.(name) ? Number(e.target.getAttribute(name)) : null);
      if (g) onActivate(Number(g.dataset.box), { tensor: at('data-tensor'), block: at('data-block') });
    });
    this.svg.addEventListener('keydown', (e) => {
      const g = e.target.closest?.('.gnode');
      if (g) onKey(e, Number(g.dataset.box));
    });
    this.svg.addEventListener('focusin', (e) => {
      const g = e.target.closest?.('.gnode');
      this.focused = g ? Number(g.dataset.box) : -1;
    });
    this.el.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.el.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    this.scroller.addEventListener('scroll', () => this.follow());
    new ResizeObserver(() => {
      if (!this.scroller.clientWidth) return;
      this.svg.style.width = `${this.scroller.clientWidth}px`;
      this.svg.style.height = `${this.scroller.clientHeight}px`;
      if (!this.placed) this.initialView();
      else this.setZoom(this.zoom.k, this.zoom.x, this.zoom.y);
    }).observe(this.scroller);
  }

  /** Bands of the layout: which boxes and edges cross each. */
  index() {
    const { boxes, edges } = this.layout;
    this.boxBands = [];
    this.edgeBands = [];
    const add = (bands, item, y0, y1) => {
      for (let b = Math.floor(y0 / BAND); b <= Math.floor(y1 / BAND); b++) (bands[b] ??= []).push(item);
    };
    boxes.forEach((b, i) => add(this.boxBands, i, b.y, b.y + b.h));
    this.edgeBox = edges.map((e, k) => {
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (let i = 0; i < e.points.length; i += 2) {
        x0 = Math.min(x0, e.points[i]);
        x1 = Math.max(x1, e.points[i]);
        y0 = Math.min(y0, e.points[i + 1]);
        y1 = Math.max(y1, e.points[i + 1]);
      }
      add(this.edgeBands, k, y0, y1);
      return [x0, y0, x1, y1];
    });
    this.edgesAt = boxes.map(() => []);
    edges.forEach((e, k) => {
      this.edgesAt[e.from].push(k);
      if (!e.trunk) this.edgesAt[e.to].push(k);
    });
  }

  boxEl(i) {
    let g = this.boxEls[i];
    if (g) return g;
    const b = this.layout.boxes[i];
    g = svg('g', { class: b.kind === 'node' ? `gnode cat-${b.category}` : `gnode io io-${b.kind}`, transform: `translate(${b.x},${b.y})`, role: 'button', 'aria-label': this.graph.label(i), 'data-box': i });
    if (b.kind === 'node') {
      const n = this.graph.view.nodes[b.node];
      g.append(svg('rect', { class: 'body', width: b.w, height: b.h, rx: 5 }), svg('rect', { class: 'head', width: b.w, height: HEADER, rx: 5 }));
      if (b.rows.length) g.append(svg('rect', { class: 'head', y: HEADER - 6, width: b.w, height: 6 }));
      g.append(svg('text', { class: 'op', x: b.w / 2, y: 16 }, b.title));
      b.rows.forEach((r, k) => g.append(svg('text', { class: `row${r.tensor != null ? ' weight' : ''}${r.block != null ? ' block' : ''}`, x: 8, y: HEADER + 13 + k * ROW, 'data-tensor': r.tensor, 'data-block': r.block }, r.text)));
      g.append(svg('title', {}, [n.name, n.domain ? `${n.domain}.${n.op_type}` : n.op_type].filter(Boolean).join('\n')));
    } else {
      if (b.outer) g.classList.add('io-outer');
      g.append(svg('rect', { class: 'body', width: b.w, height: b.h, rx: b.h / 2 }),
        svg('text', { class: 'io-name', x: b.w / 2, y: 17 }, b.title),
        svg('text', { class: 'io-type', x: b.w / 2, y: 31 }, b.sub),
        svg('title', {}, b.outer ? `read from the enclosing graph: ${b.name}` : `graph ${b.kind}: ${b.name}`));
    }
    this.boxEls[i] = g;
    this.mark(i);
    return g;
  }

  edgeEl(k) {
    let el = this.edgeEls[k];
    if (el) return el;
    const e = this.layout.edges[k];
    const p = e.points;
    let d = `M${p[0]},${p[1]}`;
    for (let i = 2; i < p.length; i += 2) {
      const [x0, y0, x1, y1] = [p[i - 2], p[i - 1], p[i], p[i + 1]];
      if (x0 === x1) d += `L${x1},${y1}`;
      else {
        const my = (y0 + y1) / 2;
        d += `C${x0},${my} ${x1},${my} ${x1},${y1}`;
      }
    }
    const types = e.names.map((name) => {
      const t = this.graph.valueType(name);
      return t ? `${name}: ${t}` : name;
    });
    // A trunk (shared by a value's long edges) ends where its last edge leaves it: no arrow.
    el = svg('path', { class: `edge${e.outer ? ' outer' : ''}`, d, 'marker-end': e.trunk ? null : `url(#${this.marker})` }, svg('title', {}, types.join('\n')));
    el.classList.toggle('hot', this.touches(e, this.selected));
    this.edgeEls[k] = el;
    return el;
  }

  /** Whether edge e starts or ends at box i (a trunk has no end of its own). */
  touches(e, i) {
    return i >= 0 && (e.from === i || (!e.trunk && e.to === i));
  }

  /** Applies the marks of box i to its element, if it has one. */
  mark(i) {
    const g = this.boxEls[i];
    if (!g) return;
    g.classList.toggle('match', this.matches.has(i));
    g.classList.toggle('current', i === this.current);
    g.classList.toggle('selected', i === this.selected);
    g.setAttribute('tabindex', (this.matches.size ? this.matches.has(i) : i === this.tabStop) ? '0' : '-1');
  }

  /** Sets the search's matches and current match; the canvas dims the rest. */
  setMatches(matches, current) {
    const old = [...this.matches, this.current, this.tabStop];
    this.matches = new Set(matches);
    this.current = current;
    for (const i of old) this.mark(i);
    for (const i of this.matches) this.mark(i);
    this.svg.classList.toggle('searching', matches.length > 0);
    this.schedule();
  }

  setCurrent(i) {
    const old = this.current;
    this.current = i;
    this.mark(old);
    this.mark(i);
  }

  /** The one box Tab reaches when nothing is searched (a roving tab stop). */
  setTabStop(i) {
    const old = this.tabStop;
    this.tabStop = i;
    this.mark(old);
    this.mark(i);
  }

  setSelected(i) {
    const old = this.selected;
    this.selected = i;
    this.mark(old);
    this.mark(i);
    for (const k of [...(this.edgesAt[old] ?? []), ...(this.edgesAt[i] ?? [])]) this.edgeEls[k]?.classList.toggle('hot', this.touches(this.layout.edges[k], i));
    this.schedule();
  }

  /** Focuses box i, bringing it into view. */
  focus(i) {
    this.reveal(i, false);
    this.sync();
    this.boxEl(i).focus({ preventScroll: true });
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.sync();
    });
  }

  /** Puts in the DOM what is on screen (and the marked boxes), in box order; removes the rest. */
  sync() {
    const { k, x, y } = this.zoom;
    const cw = this.scroller.clientWidth;
    const ch = this.scroller.clientHeight;
    if (!cw) return;
    const x0 = (-x - OVERSCAN * cw) / k;
    const x1 = (cw - x + OVERSCAN * cw) / k;
    const y0 = (-y - OVERSCAN * ch) / k;
    const y1 = (ch - y + OVERSCAN * ch) / k;
    const { boxes } = this.layout;
    const want = new Set([...this.matches, this.selected, this.focused, this.tabStop].filter((i) => i >= 0 && i < boxes.length));
    const edges = new Set();
    const b0 = Math.max(0, Math.floor(y0 / BAND));
    const b1 = Math.min(Math.max(this.boxBands.length, this.edgeBands.length) - 1, Math.floor(y1 / BAND));
    for (let band = b0; band <= b1; band++) {
      for (const i of this.boxBands[band] ?? []) {
        const b = boxes[i];
        if (b.x < x1 && b.x + b.w > x0 && b.y < y1 && b.y + b.h > y0) want.add(i);
      }
      for (const e of this.edgeBands[band] ?? []) {
        const [ex0, ey0, ex1, ey1] = this.edgeBox[e];
        if (ex0 < x1 && ex1 > x0 && ey0 < y1 && ey1 > y0) edges.add(e);
      }
    }
    // Boxes in index order (the Tab order: topological), moving only what changes, so focus stays.
    const sorted = [...want].sort((a, b) => a - b);
    for (const i of this.shownBoxes) if (!want.has(i)) this.boxEls[i].remove();
    const had = new Set(this.shownBoxes);
    let next = null;
    for (let j = sorted.length - 1; j >= 0; j--) {
      const el = this.boxEl(sorted[j]);
      if (!had.has(sorted[j])) this.nodeLayer.insertBefore(el, next);
      next = el;
    }
    this.shownBoxes = sorted;
    for (const e of this.shownEdges) if (!edges.has(e)) this.edgeEls[e].remove();
    for (const e of edges) if (!this.shownEdges.has(e)) this.edgeLayer.append(this.edgeEl(e));
    this.shownEdges = edges;
  }

  /** The top of the graph, centred on its first box, as wide as fits at a readable zoom. */
  initialView() {
    const cw = this.scroller.clientWidth;
    if (!cw) return;
    this.placed = true;
    const { width } = this.layout;
    const k = Math.min(1, Math.max(0.75, cw / width));
    const first = this.layout.boxes[0] ?? { x: 0, w: 0 };
    const x = width * k <= cw ? (cw - width * k) / 2 : Math.min(0, Math.max(cw - width * k, cw / 2 - (first.x + first.w / 2) * k));
    this.setZoom(k, x, 0);
  }

  /**
   * Zoom k with the graph's origin at (x, y) on screen, as near as the scroll area allows: a graph
   * larger than the view can be scrolled until any point is at the centre; a smaller one is centred.
   */
  setZoom(k, x, y) {
    k = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, k));
    const cw = this.scroller.clientWidth;
    const ch = this.scroller.clientHeight;
    const w = this.layout.width * k;
    const ht = this.layout.height * k;
    this.pad = { x: w > cw ? cw / 2 : (cw - w) / 2, y: ht > ch ? ch / 2 : (ch - ht) / 2 };
    this.sizer.style.width = `${w + 2 * this.pad.x}px`;
    this.sizer.style.height = `${ht + 2 * this.pad.y}px`;
    this.zoom.k = k;
    this.scroller.scrollLeft = this.pad.x - x;
    this.scroller.scrollTop = this.pad.y - y;
    this.svg.classList.toggle('no-text', k < ZOOM_TEXT);
    this.svg.dataset.zoom = k.toFixed(4);
    this.follow();
  }

  /** The scroll position, as the SVG's transform. */
  follow() {
    const { k } = this.zoom;
    const x = this.pad.x - this.scroller.scrollLeft;
    const y = this.pad.y - this.scroller.scrollTop;
    if (this.zoom.x === x && this.zoom.y === y && this.zoom.applied === k) return;
    this.zoom = { k, x, y, applied: k };
    this.viewport.setAttribute('transform', `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(5)})`);
    this.schedule();
  }

  /** Zooms by `f` around a point of the canvas (its centre by default). */
  zoomBy(f, cx = this.scroller.clientWidth / 2, cy = this.scroller.clientHeight / 2) {
    const { k, x, y } = this.zoom;
    const k2 = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, k * f));
    this.setZoom(k2, cx - ((cx - x) * k2) / k, cy - ((cy - y) * k2) / k);
  }

  /** The whole graph in the part of the canvas one can see. */
  fit() {
    const u = this.usable();
    const { width, height } = this.layout;
    const k = Math.min(1, (u.x1 - u.x0) / width, (u.y1 - u.y0) / height);
    this.setZoom(k, (u.x0 + u.x1 - width * k) / 2, (u.y0 + u.y1 - height * k) / 2);
  }

  /** The part of the canvas one can see: inside the window, left of the details card. */
  usable() {
    const r = this.el.getBoundingClientRect();
    const y0 = Math.max(0, -r.top);
    const y1 = Math.min(r.height, window.innerHeight - r.top);
    return { x0: 0, x1: Math.max(r.width / 3, r.width - this.insetRight), y0: y1 - y0 > 80 ? y0 : 0, y1: y1 - y0 > 80 ? y1 : r.height };
  }

  /** Brings box i into view at a readable zoom: always (a search step) or when it is off screen. */
  reveal(i, always = true) {
    const b = this.layout.boxes[i];
    const u = this.usable();
    let { k } = this.zoom;
    const { x, y } = this.zoom;
    const inView = b.x * k + x >= u.x0 && (b.x + b.w) * k + x <= u.x1 && b.y * k + y >= u.y0 && (b.y + b.h) * k + y <= u.y1;
    if (inView && (k >= ZOOM_FOCUS || (!always && k >= ZOOM_TEXT))) return;
    k = Math.max(k, ZOOM_FOCUS);
    this.setZoom(k, (u.x0 + u.x1) / 2 - (b.x + b.w / 2) * k, (u.y0 + u.y1) / 2 - (b.y + b.h / 2) * k);
  }

  /** Ctrl+wheel (and trackpad pinch) zooms around the pointer; plain wheels scroll natively. */
  onWheel(e) {
    if (!e.ctrlKey && !e.metaKey) return;
    e.preventDefault();
    const r = this.scroller.getBoundingClientRect();
    this.zoomBy(Math.exp(-e.deltaY * (e.deltaMode ? 0.05 : 0.002)), e.clientX - r.left, e.clientY - r.top);
  }

  onPointerDown(e) {
    // Not on the scrollbars: those are the scroll area's own.
    if (e.button !== 0 || !this.svg.contains(e.target)) return;
    const start = { x: e.clientX, y: e.clientY, zx: this.zoom.x, zy: this.zoom.y };
    this.dragged = false;
    const move = (ev) => {
      const dx = ev.clientX - start.x;
      const dy = ev.clientY - start.y;
      if (!this.dragged && Math.hypot(dx, dy) < 4) return;
      if (!this.dragged) {
        this.dragged = true;
        this.el.setPointerCapture(e.pointerId);
        this.el.classList.add('dragging');
      }
      this.setZoom(this.zoom.k, start.zx + dx, start.zy + dy);
    };
    const up = () => {
      this.el.removeEventListener('pointermove', move);
      this.el.removeEventListener('pointerup', up);
      this.el.removeEventListener('pointercancel', up);
      this.el.classList.remove('dragging');
      // The click that ends a drag selects nothing.
      setTimeout(() => { this.dragged = false; }, 0);
    };
    this.el.addEventListener('pointermove', move);
    this.el.addEventListener('pointerup', up);
    this.el.addEventListener('pointercancel', up);
  }
}

// A virtualized, keyboard-navigable ARIA tree: only the rows in view are in the DOM, so a
// state_dict with 100,000 keys scrolls as smoothly as one with ten.
//
// Nodes: {name, key, children: Map|null, ...}; `renderRow(node, el)` fills a row's content.

const ROW = 28;
const OVERSCAN = 12;
let nextTreeId = 1;

export class TreeView {
  constructor({ root, label, renderRow, onActivate, onSelect, expandDepth = 1 }) {
    this.root = root;
    this.renderRow = renderRow;
    this.onActivate = onActivate;
    this.onSelect = onSelect;
    this.idPrefix = `tree${nextTreeId++}`;
    this.expanded = new Set();
    this.collapsedInFilter = new Set();
    this.filter = '';
    this.included = null;
    this.active = 0;
    this.selected = null;
    this.rows = [];

    this.el = document.createElement('div');
    this.el.className = 'tree';
    this.el.setAttribute('role', 'tree');
    this.el.setAttribute('aria-label', label);
    this.el.tabIndex = 0;
    this.spacer = document.createElement('div');
    this.spacer.className = 'tree-spacer';
    this.el.append(this.spacer);
    this.empty = document.createElement('p');
    this.empty.className = 'tree-empty muted';
    this.empty.hidden = true;
    this.el.append(this.empty);

    const expand = (node, depth) => {
      if (!node.children || depth >= expandDepth) return;
      this.expanded.add(node);
      for (const c of node.children.values()) expand(c, depth + 1);
    };
    for (const c of root.children.values()) expand(c, 0);
    // A lone top-level branch (model.* in a checkpoint) opens one more level.
    if (root.children.size === 1) {
      const only = root.children.values().next().value;
      if (only.children) for (const c of only.children.values()) if (c.children && c.children.size <= 50) this.expanded.add(c);
    }

    this.el.addEventListener('scroll', () => this.schedule());
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    this.el.addEventListener('click', (e) => this.onClick(e));
    this.el.addEventListener('focus', () => this.ensureVisible(this.active));
    this.resizeObserver = new ResizeObserver(() => this.schedule());
    this.resizeObserver.observe(this.el);
    this.refresh();
  }

  isExpanded(node) {
    if (!node.children) return false;
    if (this.filter) return !this.collapsedInFilter.has(node);
    return this.expanded.has(node);
  }

  /** Flattens the visible rows. */
  refresh() {
    const rows = [];
    const walk = (node, depth) => {
      for (const c of node.children.values()) {
        if (this.included && !this.included.has(c)) continue;
        rows.push({ node: c, depth });
        if (this.isExpanded(c)) walk(c, depth + 1);
      }
    };
    walk(this.root, 0);
    this.rows = rows;
    this.spacer.style.height = `${rows.length * ROW}px`;
    this.active = Math.min(this.active, Math.max(0, rows.length - 1));
    this.empty.hidden = rows.length > 0;
    this.empty.textContent = this.filter ? `Nothing matches “${this.filter}”.` : 'Empty.';
    this.render();
  }

  setFilter(text) {
    const q = text.trim().toLowerCase();
    if (q === this.filter) return;
    this.filter = q;
    this.collapsedInFilter.clear();
    if (!q) this.included = null;
    else {
      const inc = new Set();
      const visit = (node, forced) => {
        const self = forced || node.key.toLowerCase().includes(q) || (node.cls ?? '').toLowerCase().includes(q);
        let any = self;
        if (node.children) for (const c of node.children.values()) any = visit(c, self) || any;
        if (any) inc.add(node);
        return any;
      };
      for (const c of this.root.children.values()) visit(c, false);
      this.included = inc;
    }
    this.active = 0;
    this.el.scrollTop = 0;
    this.refresh();
  }

  /** Leaves shown by the current filter. */
  matchCount() {
    if (!this.included) return null;
    let n = 0;
    for (const node of this.included) if (!node.children) n++;
    return n;
  }

  setAll(expanded) {
    const walk = (node) => {
      if (!node.children) return;
      if (expanded) {
        this.expanded.add(node);
        this.collapsedInFilter.delete(node);
      } else {
        this.expanded.delete(node);
        this.collapsedInFilter.add(node);
      }
      for (const c of node.children.values()) walk(c);
    };
    for (const c of this.root.children.values()) walk(c);
    this.refresh();
  }

  toggle(node, open = !this.isExpanded(node)) {
    if (!node.children) return;
    if (this.filter) {
      if (open) this.collapsedInFilter.delete(node);
      else this.collapsedInFilter.add(node);
    } else if (open) this.expanded.add(node);
    else this.expanded.delete(node);
    const index = this.rows.findIndex((r) => r.node === node);
    this.refresh();
    if (index >= 0) this.setActive(index);
  }

  /** Selects the node with `key` (expanding its ancestors). */
  reveal(key) {
    const path = [];
    const find = (node) => {
      for (const c of node.children.values()) {
        if (c.key === key && !c.children) {
          path.push(c);
          return true;
        }
        if (c.children && (key === c.key || key.startsWith(`${c.key}.`))) {
          path.push(c);
          if (find(c)) return true;
          path.pop();
        }
      }
      return false;
    };
    if (!find(this.root)) return false;
    if (this.filter && this.included && !this.included.has(path[path.length - 1])) return false;
    for (const n of path.slice(0, -1)) {
      this.expanded.add(n);
      this.collapsedInFilter.delete(n);
    }
    this.refresh();
    const index = this.rows.findIndex((r) => r.node === path[path.length - 1]);
    if (index >= 0) {
      this.setActive(index);
      this.select(this.rows[index].node);
    }
    return true;
  }

  setActive(index) {
    if (!this.rows.length) return;
    this.active = Math.max(0, Math.min(this.rows.length - 1, index));
    this.ensureVisible(this.active);
    this.render();
  }

  select(node) {
    this.selected = node;
    this.render();
    this.onSelect?.(node);
  }

  ensureVisible(index) {
    const top = index * ROW;
    const h = this.el.clientHeight || 400;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + ROW > this.el.scrollTop + h) this.el.scrollTop = top + ROW - h;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    const h = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((this.el.scrollTop + h) / ROW) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const { node, depth } = this.rows[i];
      const row = document.createElement('div');
      row.className = 'tree-row';
      row.id = `${this.idPrefix}-${i}`;
      row.dataset.index = i;
      row.dataset.key = node.key;
      row.setAttribute('role', 'treeitem');
      row.setAttribute('aria-level', depth + 1);
      row.setAttribute('aria-selected', node === this.selected ? 'true' : 'false');
      if (node.children) row.setAttribute('aria-expanded', this.isExpanded(node) ? 'true' : 'false');
      if (i === this.active) row.classList.add('active');
      row.style.transform = `translateY(${i * ROW}px)`;
      row.style.paddingLeft = `${0.5 + depth * 1.1}rem`;
      const twisty = document.createElement('span');
      twisty.className = 'twisty';
      twisty.setAttribute('aria-hidden', 'true');
      twisty.textContent = node.children ? (this.isExpanded(node) ? '▾' : '▸') : '';
      row.append(twisty);
      this.renderRow(node, row);
      frag.append(row);
    }
    this.spacer.replaceChildren(frag);
    if (this.rows.length) this.el.setAttribute('aria-activedescendant', `${this.idPrefix}-${this.active}`);
    else this.el.removeAttribute('aria-activedescendant');
  }

  onClick(e) {
    const row = e.target.closest('.tree-row');
    if (!row) return;
    const index = Number(row.dataset.index);
    const { node } = this.rows[index];
    this.active = index;
    if (node.children && (e.target.closest('.twisty') || !this.onActivate)) this.toggle(node);
    else if (node.children) {
      this.toggle(node);
    } else {
      this.select(node);
      this.onActivate?.(node);
    }
    this.el.focus({ preventScroll: true });
  }

  onKey(e) {
    if (!this.rows.length) return;
    const { node, depth } = this.rows[this.active];
    const page = Math.max(1, Math.floor(this.el.clientHeight / ROW) - 1);
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        this.setActive(this.active + 1);
        break;
      case 'ArrowUp':
        this.setActive(this.active - 1);
        break;
      case 'PageDown':
        this.setActive(this.active + page);
        break;
      case 'PageUp':
        this.setActive(this.active - page);
        break;
      case 'Home':
        this.setActive(0);
        break;
      case 'End':
        this.setActive(this.rows.length - 1);
        break;
      case 'ArrowRight':
        if (node.children && !this.isExpanded(node)) this.toggle(node, true);
        else if (node.children) this.setActive(this.active + 1);
        break;
      case 'ArrowLeft':
        if (node.children && this.isExpanded(node)) this.toggle(node, false);
        else {
          for (let i = this.active - 1; i >= 0; i--) {
            if (this.rows[i].depth < depth) {
              this.setActive(i);
              break;
            }
          }
        }
        break;
      case 'Enter':
      case ' ':
        if (node.children) this.toggle(node);
        else {
          this.select(node);
          this.onActivate?.(node);
        }
        break;
      case '*':
        this.setAll(true);
        break;
      default:
        handled = false;
    }
    if (handled) {
      e.preventDefault();
      // Selection follows focus for leaves, as in a file explorer.
      const now = this.rows[this.active]?.node;
      if (now && !now.children && now !== this.selected && e.key.startsWith('Arrow')) this.select(now);
    }
  }
}

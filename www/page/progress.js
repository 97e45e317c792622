// A worker request that reads for a while, shown as one progress row: a bar, a line of text the
// request's progress keeps up to date, and Cancel (which restarts the worker: client.js).

import { h } from './dom.js';

/**
 * Sends `type` with `payload` through `client`. `label` names the bar for screen readers; `text`
 * is the first line, and `describe(progress)` (optional) the line for each progress message
 * ({phase, done, total}). Returns {id, promise, row}: the row (a `.progress-row` div, with
 * `className` added) is for the caller to show where and when it wants.
 */
export function progressRequest(client, type, payload, { label, text, describe, className = '' }) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': label });
  const line = h('span', { class: 'muted small' }, text);
  const { id, promise } = client.request(type, payload, {
    onProgress: (p) => {
      bar.value = p.total ? p.done / p.total : 0;
      if (describe) line.textContent = describe(p);
    },
  });
  const row = h('div', { class: `progress-row ${className}`.trim() }, bar, line,
    h('button', { type: 'button', class: 'button small', onclick: () => client.cancel(id) }, 'Cancel'));
  return { id, promise, row };
}

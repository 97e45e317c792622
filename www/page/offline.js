// The installed copy: registers the service worker (sw.js at the site root, so its scope is the whole
// site), which keeps every file of the build so the page works with no network from the end of the
// first visit, and brings in a new build.
//
// A new build's worker installs beside the old one and waits, so a page never mixes the files of two
// builds (its workers, the engine, load later than the page). This page tells it to take over and
// reloads: at once when no file is open (so reloading the page is enough to get a new build: the
// reload shows the old build from the cache, the browser finds the new sw.js, installs it, and the
// page reloads itself once more), or when the user clicks "Reload" in a notice when files are open
// (they would have to be opened again).
import { h, announce } from './dom.js';

/** After load, wait this long, then for an idle moment (at most `INSTALL_IDLE_MS`), before installing. */
const INSTALL_DELAY_MS = 3000;
const INSTALL_IDLE_MS = 2000;

/** `busy()`: are files open (then a new build waits for the user)? */
export function installOffline({ busy }) {
  const sw = navigator.serviceWorker;
  if (!sw || location.protocol === 'file:') return;
  let controlled = !!sw.controller;
  let switching = false; // this page asked the new build to take over
  sw.addEventListener('controllerchange', () => {
    // The first worker taking over the page it was installed from: the same build, nothing to do.
    if (!controlled) {
      controlled = true;
      return;
    }
    if (switching || !busy()) location.reload();
    else notice('A new version of torchpeek took over in another tab; reloading closes the open files.', null);
  });

  const takeOver = (worker) => {
    switching = true;
    worker.postMessage({ type: 'skip-waiting' });
  };
  // A new build, installed (its files all kept) and waiting for this page.
  const ready = (worker) => {
    if (!sw.controller) return; // the first install becomes active by itself
    if (!busy()) takeOver(worker);
    else notice('A new version of torchpeek is ready; reloading closes the open files.', () => takeOver(worker));
  };
  const track = (worker) => {
    if (!worker) return;
    if (worker.state === 'installed') ready(worker);
    else worker.addEventListener('statechange', () => worker.state === 'installed' && ready(worker));
  };
  const register = () =>
    sw.register(new URL('../sw.js', import.meta.url), { scope: new URL('../', import.meta.url).href })
      .then((reg) => {
        track(reg.waiting ?? reg.installing);
        reg.addEventListener('updatefound', () => track(reg.installing));
      })
      .catch(() => {}); // no service worker (a private window, a host without HTTPS): the page works online
  // Installing fetches the whole site, the engine too (19 MB): not while the page's own files load,
  // nor in the seconds a first file is being opened (on 2 cores it slowed a small file's open 2x),
  // but once the page has been idle a moment after load.
  const later = () => setTimeout(() => (globalThis.requestIdleCallback ?? setTimeout)(register, { timeout: INSTALL_IDLE_MS }), INSTALL_DELAY_MS);
  if (document.readyState === 'complete') later();
  else addEventListener('load', later, { once: true });
}

let shown = null;
function notice(text, onReload) {
  shown?.remove();
  shown = h('div', { class: 'update-notice' },
    h('span', {}, text),
    h('button', { type: 'button', class: 'button small primary', onclick: () => (onReload ? onReload() : location.reload()) }, 'Reload'));
  document.querySelector('.topbar').append(shown);
  announce(text);
}

// The installed copy: the whole site, kept per build, so the page works with no network from the
// end of the first visit (opening files, and running a model: the engine is kept too).
//
// scripts/precache.mjs writes dist/sw.js from this file, filling in BUILD (a hash of every file's
// contents) and FILES (every file of dist/ but this one, with its SHA-256 as Subresource Integrity),
// so any change to any file changes this script's bytes, which is what makes browsers install a
// new worker.
//   install   fetches every file into the cache `torchpeek-BUILD` (the browser checks each against
//             its hash; one failure fails the install, and the browser tries again on a later
//             visit). A file with the same hash in the previous build's cache is copied, not fetched.
//   fetch     cache-first for the files of the build ("/" is index.html); anything else (nothing
//             else is asked for: model files are read from disk by the workers and never pass
//             through here) goes to the network.
//   activate  deletes every other build's cache, so a new build replaces the old one whole, and
//             takes control of open pages (a first visit's page, then, runs its engine from the cache).
// A new build waits (installed, not active) while a page of the old one is open, so a page never
// mixes the files of two builds. The page (www/page/offline.js) tells it to take over ("skip-waiting")
// and reloads: at once when no file is open (a reload of the page picks up the new build), or when
// the user clicks "Reload" in the notice it shows when files are open.
const BUILD = /*@BUILD*/ 'unbuilt';
const FILES = /*@FILES*/ [];
// The engine's two wasm builds and the relaxed-simd probe (www/workers/engine-build.js): the one this
// browser does not run is neither fetched nor kept.
const ENGINE = /*@ENGINE*/ null;
const UNUSED = ENGINE && (WebAssembly.validate(new Uint8Array(ENGINE.probe)) ? ENGINE.simd : ENGINE.relaxed);
const KEPT = FILES.filter(([file]) => file !== UNUSED);

const PREFIX = 'torchpeek-';
const CACHE = PREFIX + BUILD;
// The cache of the service worker before builds were versioned (network-first, filled as it went).
const LEGACY = 'torchpeek-v1';
const scope = new URL(self.registration.scope);
const urlOf = (file) => new URL(file, scope).href;
const precached = new Set(KEPT.map(([file]) => urlOf(file)));

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      await precache();
      // The network-first worker before this one never served a page from its cache, so its pages
      // lose nothing when this one takes over at once.
      if (await caches.has(LEGACY)) await self.skipWaiting();
    })(),
  );
});

async function precache() {
  if (!FILES.length) throw new Error('sw.js: no file list (www/sw.js is a template: serve dist/, built by scripts/build-web.sh)');
  const cache = await caches.open(CACHE);
  const previous = (await caches.keys()).filter((k) => k.startsWith(PREFIX) && k !== CACHE && k !== LEGACY);
  await Promise.all(
    KEPT.map(async ([file, integrity]) => {
      const url = urlOf(file);
      if (await cache.match(url)) return; // an earlier attempt at this install got it
      const kept = await reuse(previous, url, integrity);
      // `no-cache`: revalidated with the server, never an older copy from the HTTP cache.
      let res = kept ?? (await fetch(url, { cache: 'no-cache', integrity }));
      if (!res.ok) throw new Error(`sw.js: ${file}: HTTP ${res.status}`);
      // A host that redirects (index.html to /): a redirected response cannot answer a navigation.
      if (res.redirected) res = new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers: res.headers });
      await cache.put(url, res);
    }),
  );
}

/** The same file in an earlier build's cache, when its bytes hash to `integrity` ("sha256-BASE64"). */
async function reuse(previous, url, integrity) {
  for (const name of previous) {
    const hit = await (await caches.open(name)).match(url);
    if (!hit) continue;
    const bytes = await hit.clone().arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    if (`sha256-${btoa(String.fromCharCode(...digest))}` === integrity) return hit;
  }
  return null;
}

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith(PREFIX) && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
  else if (event.data?.type === 'build') event.ports[0]?.postMessage({ build: BUILD, files: KEPT.length });
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.origin) return;
  url.search = '';
  url.hash = '';
  if (url.pathname.endsWith('/')) url.pathname += 'index.html';
  if (!precached.has(url.href)) return; // not part of the build: the browser asks the network itself
  event.respondWith(
    caches.open(CACHE)
      .then((cache) => cache.match(url.href))
      .then((hit) => hit ?? fetch(req)),
  );
});

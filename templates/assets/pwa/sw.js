// 安居 service worker (scope /inspector): keeps the shell, the task list, task pages and walk
// pages so a grid worker can open and fill a checklist without a signal. Pages are fetched from
// the network first and kept; offline, the kept copy answers. Submissions are not handled here:
// the page's queue (offline.js) sends them with their submission_id when the network returns.
'use strict';
const CACHE = 'anju-field-v1';
const SHELL = ['/static/app.css', '/static/offline.js', '/static/walk.js', '/static/icon.svg',
  '/manifest.webmanifest', '/inspector'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function keepable(url) {
  return url.origin === self.location.origin &&
    (url.pathname === '/inspector' || url.pathname.startsWith('/inspector/') ||
     url.pathname.startsWith('/static/') || url.pathname.startsWith('/photos/') ||
     url.pathname === '/manifest.webmanifest');
}

// Network first, so an online worker always sees the server's state; the copy is for offline.
async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    if (res.ok && !res.redirected) await cache.put(req, res.clone());
    return res;
  } catch (err) {
    const hit = await cache.match(req, { ignoreSearch: false });
    if (hit) return hit;
    if (req.mode === 'navigate') {
      const list = await cache.match('/inspector');
      if (list) return list;
    }
    throw err;
  }
}

self.addEventListener('fetch', (e) => {
  if (e.request.method !== 'GET') return;
  const url = new URL(e.request.url);
  if (!keepable(url)) return;
  e.respondWith(networkFirst(e.request));
});

// The task list asks for its tasks' pages to be kept while it is online.
self.addEventListener('message', (e) => {
  const data = e.data || {};
  if (data.type !== 'keep' || !Array.isArray(data.urls)) return;
  e.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    let kept = 0;
    for (const u of data.urls) {
      try {
        const res = await fetch(u, { credentials: 'same-origin' });
        if (res.ok && !res.redirected) { await cache.put(u, res); kept++; }
      } catch (_) { /* offline again: keep what we have */ }
    }
    if (e.source) e.source.postMessage({ type: 'kept', count: kept });
  })());
});

// Background Sync is an extra (Chromium only): wake the pages so their queue is sent.
self.addEventListener('sync', (e) => {
  if (e.tag !== 'anju-queue') return;
  e.waitUntil(self.clients.matchAll().then((cs) => cs.forEach((c) => c.postMessage({ type: 'flush' }))));
});

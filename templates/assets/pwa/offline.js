// 安居 field work offline layer, on every grid-worker page. Progressive enhancement: without it
// every page still works online. It registers the service worker (scope /inspector), asks for
// persistent storage, keeps the task list's pages for offline use, and owns the upload queue:
// walk submissions kept in IndexedDB with their submission_id and photos, sent when the network
// returns (on `online`, on page load, from 立即上传, and from Background Sync where there is one).
'use strict';
(function () {
  const DB = 'anju-field';

  function openDb() {
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains('queue')) db.createObjectStore('queue', { keyPath: 'id' });
        if (!db.objectStoreNames.contains('drafts')) db.createObjectStore('drafts', { keyPath: 'task' });
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }

  async function tx(store, mode, fn) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      let out;
      Promise.resolve(fn(t.objectStore(store))).then((v) => { out = v; });
      t.oncomplete = () => { db.close(); resolve(out); };
      t.onerror = () => { db.close(); reject(t.error); };
    });
  }

  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const store = {
    get: (s, key) => tx(s, 'readonly', (o) => req(o.get(key))),
    all: (s) => tx(s, 'readonly', (o) => req(o.getAll())),
    put: (s, v) => tx(s, 'readwrite', (o) => req(o.put(v))),
    del: (s, key) => tx(s, 'readwrite', (o) => req(o.delete(key))),
    clear: (s) => tx(s, 'readwrite', (o) => req(o.clear())),
  };

  // The CSRF token travels in the form's query string; take the current one from this page's
  // sign-out form, so a queue kept across a new sign-in is sent with the new token.
  function csrf() {
    const f = document.querySelector('form[action^="/logout?_csrf="]');
    return f ? new URL(f.getAttribute('action'), location.href).searchParams.get('_csrf') : null;
  }

  const landed = {}; // submission_id → the inspection record the server answered with

  // Sends one queued walk. Network trouble throws (the entry stays queued); an answer from the
  // server settles it either way: accepted, or refused with a message the worker must act on.
  async function send(e) {
    // Parts go in the form's order: the server reads `a[3].…` fields as one answer only when
    // they are adjacent, so each photo follows the last field of its answer.
    const fd = new FormData();
    const group = (k) => { const m = /^(a\[\d+\])\./.exec(k); return m ? m[1] : null; };
    const photo = (p) => fd.append(p.name, p.blob, p.filename || 'photo.jpg');
    e.fields.forEach(([k, v], i) => {
      fd.append(k, v);
      const g = group(k);
      if (g && !e.fields.slice(i + 1).some(([k2]) => group(k2) === g)) e.photos.filter((p) => group(p.name) === g).forEach(photo);
    });
    e.photos.filter((p) => !e.fields.some(([k]) => group(k) === group(p.name))).forEach(photo);
    const url = new URL(e.path, location.href);
    const token = csrf();
    if (token) url.searchParams.set('_csrf', token);
    const res = await fetch(url.toString(), { method: 'POST', body: fd, credentials: 'same-origin' });
    const landed = new URL(res.url, location.href).pathname;
    if (res.ok && landed.startsWith('/inspections/')) return { ok: true, url: res.url };
    if (landed === '/login') return { ok: false, status: 401, message: '登录已过期，请重新登录后点“立即上传”' };
    const message = res.status === 409 ? '服务器拒绝：此提交编号已用于内容不同的检查结果，请打开任务重新填写'
      : res.status === 422 ? '检查结果不完整，请打开任务按提示补充后重新提交'
      : res.status === 403 ? '没有权限或页面已过期，请刷新后点“立即上传”'
      : '服务器暂时无法处理（' + res.status + '），稍后会再试';
    return { ok: false, status: res.status, message };
  }

  // One flush at a time; a call during a flush waits for it and then looks at the queue again.
  let running = null;
  function flush() {
    if (running) return running.then(() => flush());
    running = flushOnce().finally(() => { running = null; });
    return running;
  }

  async function flushOnce() {
    try {
      for (const e of await store.all('queue')) {
        let r;
        try { r = await send(e); } catch (_) { break; } // still offline: try again later
        if (r.ok) {
          landed[e.id] = r.url;
          await store.del('queue', e.id);
          await store.del('drafts', e.task);
        } else {
          e.error = r.message;
          e.status = r.status;
          await store.put('queue', e);
        }
      }
    } finally {
      await render();
    }
  }

  async function add(entry) {
    entry.queued_at = new Date().toISOString();
    entry.error = null;
    await store.put('queue', entry);
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.ready.then((r) => r.sync && r.sync.register('anju-queue')).catch(() => {});
    }
    await render();
  }

  async function render() {
    const bar = document.getElementById('queue-bar');
    if (!bar) return;
    const list = await store.all('queue');
    bar.hidden = list.length === 0;
    document.getElementById('queue-count').textContent = list.length + ' 条待上传';
    let errs = document.getElementById('queue-errors');
    if (!errs) { errs = document.createElement('ul'); errs.id = 'queue-errors'; bar.appendChild(errs); }
    errs.textContent = '';
    for (const e of list.filter((x) => x.error)) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '/inspector/tasks/' + e.task + '/walk';
      a.textContent = '任务 #' + e.task;
      li.append(a, '：' + e.error);
      errs.appendChild(li);
    }
  }

  async function clearQueue() {
    const n = (await store.all('queue')).length;
    if (n > 0 && !window.confirm('还有 ' + n + ' 条检查结果没有上传到服务器。清除后这些结果和照片将无法恢复，确定清除吗？')) return;
    await store.clear('queue');
    await render();
  }

  // Kept pages for offline use: the task list names its tasks; keep each task page and walk.
  function keepTaskPages() {
    if (!('serviceWorker' in navigator) || location.pathname !== '/inspector') return;
    const urls = new Set();
    document.querySelectorAll('a[href^="/inspector/tasks/"]').forEach((a) => {
      const p = new URL(a.href).pathname;
      if (/^\/inspector\/tasks\/\d+$/.test(p)) { urls.add(p); urls.add(p + '/walk'); }
    });
    navigator.serviceWorker.ready.then((r) => {
      if (r.active) r.active.postMessage({ type: 'keep', urls: ['/inspector', ...urls] });
    });
  }

  window.anjuQueue = { add, flush, render, store, landed, count: async () => (await store.all('queue')).length };

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/inspector' }).catch(() => {});
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data && e.data.type === 'flush') flush();
      if (e.data && e.data.type === 'kept') document.documentElement.dataset.kept = String(e.data.count);
    });
  }
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persisted().then((p) => p || navigator.storage.persist()).catch(() => {});
  }
  window.addEventListener('online', flush);
  document.addEventListener('DOMContentLoaded', () => {
    const send = document.getElementById('queue-send');
    if (send) send.addEventListener('click', flush);
    const clear = document.getElementById('queue-clear');
    if (clear) clear.addEventListener('click', clearQueue);
    // Signing out keeps the queue on the phone, but say so while it holds data.
    const out = document.querySelector('form[action^="/logout"]');
    if (out) out.addEventListener('submit', async (ev) => {
      if (out.dataset.confirmed) return;
      ev.preventDefault();
      const n = (await store.all('queue')).length;
      if (n === 0 || window.confirm('还有 ' + n + ' 条检查结果待上传，退出后仍保存在这部手机上，下次登录后会继续上传。确定退出吗？')) {
        out.dataset.confirmed = '1';
        out.submit();
      }
    });
    keepTaskPages();
    render().then(flush);
  });
})();

// 安居 walk page enhancements. Without this script the form still posts to the server (bulk
// pass, drafts and submission all work there). With it: answers and photos are autosaved to
// IndexedDB as they are entered, photos are downscaled before they travel (long side ≤ 1600 px,
// JPEG ≈ 0.8, ≤ 300 KB), the verdict of number and choice items is shown as the value is typed,
// carried-over answers lose their mark when touched, and a submission goes through the upload
// queue (offline.js), so a dropped signal keeps it until the server confirms it.
'use strict';
(function () {
  const form = document.getElementById('walk-form');
  if (!form || !window.anjuQueue) return;
  const Q = window.anjuQueue;
  const task = Number(form.dataset.task);
  const photos = {}; // input name → downscaled JPEG blob
  const MAX_SIDE = 1600, MAX_BYTES = 300 * 1024;

  const status = document.getElementById('offline-status');
  function say(text, kind) {
    if (!status) return;
    status.hidden = false;
    status.className = 'offline-status flash ' + (kind || 'info');
    status.textContent = text;
  }

  function toBlob(canvas, q) {
    return new Promise((r) => canvas.toBlob(r, 'image/jpeg', q));
  }

  // Downscale in the browser: the server still re-encodes and strips EXIF, but a 4 MB photo
  // should not cross a weak signal for a thumbnail.
  async function downscale(file) {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    let side = Math.min(MAX_SIDE, Math.max(bmp.width, bmp.height));
    let blob = null;
    for (let round = 0; round < 6; round++) {
      const scale = side / Math.max(bmp.width, bmp.height);
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(bmp.width * scale));
      canvas.height = Math.max(1, Math.round(bmp.height * scale));
      canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
      for (const q of [0.8, 0.7, 0.6]) {
        blob = await toBlob(canvas, q);
        if (blob && blob.size <= MAX_BYTES) return blob;
      }
      side = Math.round(side * 0.8);
    }
    return blob;
  }

  function dataUrl(blob) {
    return new Promise((r) => { const fr = new FileReader(); fr.onload = () => r(fr.result); fr.readAsDataURL(blob); });
  }

  async function showPhoto(input, blob) {
    let fig = input.parentElement.querySelector('.queued-photo');
    if (!fig) {
      fig = document.createElement('figure');
      fig.className = 'queued-photo thumbs';
      input.insertAdjacentElement('afterend', fig);
    }
    const img = document.createElement('img');
    img.alt = '待上传照片';
    img.src = await dataUrl(blob); // CSP allows data: images, not blob:
    fig.textContent = '';
    fig.appendChild(img);
  }

  function setFile(input, blob) {
    try {
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'photo.jpg', { type: 'image/jpeg' }));
      input.files = dt.files;
    } catch (_) { /* older browsers: the queue still carries the blob */ }
  }

  // The form as a list of fields, files left out (they travel as the downscaled blobs).
  function fields(action) {
    const out = [];
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && k !== 'action') out.push([k, v]);
    out.push(['action', action]);
    return out;
  }

  function photoList() {
    return Object.entries(photos).map(([name, blob]) => ({ name, blob, filename: 'photo.jpg' }));
  }

  let timer = null;
  function autosave() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      Q.store.put('drafts', { task, saved_at: new Date().toISOString(), fields: fields('draft'), photos: photoList() })
        .catch(() => {});
    }, 250);
  }

  function restore(d) {
    for (const [k, v] of d.fields) {
      if (k === 'action') continue;
      const els = form.querySelectorAll('[name="' + CSS.escape(k) + '"]');
      els.forEach((el) => {
        if (el.type === 'radio' || el.type === 'checkbox') el.checked = el.value === v;
        else if (el.type !== 'file') el.value = v;
      });
    }
    // Items the draft left unticked come back unticked.
    form.querySelectorAll('input[type=radio],input[type=checkbox]').forEach((el) => {
      if (!d.fields.some(([k, v]) => k === el.name && v === el.value)) el.checked = false;
    });
    form.querySelectorAll('.carried-flag').forEach((el) => {
      if (!d.fields.some(([k]) => k === el.name)) untouchCarried(el.closest('fieldset'));
    });
    for (const p of d.photos || []) {
      photos[p.name] = p.blob;
      const input = form.querySelector('[name="' + CSS.escape(p.name) + '"]');
      if (input) { setFile(input, p.blob); showPhoto(input, p.blob); }
    }
    form.querySelectorAll('fieldset.item').forEach(verdict);
  }

  function untouchCarried(fs) {
    if (!fs) return;
    fs.classList.remove('carried');
    const flag = fs.querySelector('.carried-flag');
    if (flag) flag.remove();
    const mark = fs.querySelector('.carried-mark');
    if (mark) mark.remove();
  }

  // Mirrors the server's rule for the worker's eyes; the server alone judges.
  function verdict(fs) {
    const out = fs.querySelector('output.verdict');
    if (!out) return;
    const v = fs.querySelector('[name$=".value"]');
    const na = fs.querySelector('input[type=checkbox][value=na]');
    let fails = null;
    const raw = v ? v.value.trim() : '';
    if (na && na.checked) fails = null;
    else if (fs.dataset.kind === 'number' && raw !== '' && Number(raw) >= 0) {
      const n = Number(raw);
      fails = (fs.dataset.min !== '' && n < Number(fs.dataset.min)) || (fs.dataset.max !== '' && n > Number(fs.dataset.max));
    } else if (fs.dataset.kind === 'choice' && raw !== '') {
      fails = fs.dataset.fails.split(' ').includes(raw);
    }
    out.className = 'verdict' + (fails === true ? ' fail' : fails === false ? ' pass' : '');
    out.textContent = fails === null ? '' : '判定：' + (fails ? '不合格' : '合格');
  }

  form.addEventListener('input', (e) => {
    const fs = e.target.closest('fieldset.item');
    if (fs && e.target.type !== 'file') { untouchCarried(fs); verdict(fs); }
    autosave();
  });
  form.addEventListener('change', async (e) => {
    const el = e.target;
    const fs = el.closest('fieldset.item');
    if (fs) { untouchCarried(fs); verdict(fs); }
    if (el.type === 'file' && el.files && el.files[0]) {
      say('正在压缩照片…');
      try {
        const blob = await downscale(el.files[0]);
        photos[el.name] = blob;
        setFile(el, blob);
        await showPhoto(el, blob);
        say('照片已压缩（' + Math.round(blob.size / 1024) + ' KB），已保存在手机上');
      } catch (_) {
        say('照片无法在手机上压缩，将按原图上传', 'error');
      }
    }
    autosave();
  });

  // 本节全部合格 / 其余全部合格, here on the phone: unanswered tick items become 合格.
  function passUnanswered(scope) {
    let n = 0;
    scope.querySelectorAll('fieldset.item').forEach((fs) => {
      const kind = fs.dataset.kind;
      if (kind !== 'pass_fail' && kind !== 'text') return;
      const radios = fs.querySelectorAll('input[type=radio]');
      if ([...radios].some((r) => r.checked)) return;
      const pass = fs.querySelector('input[type=radio][value=pass]');
      if (pass) { pass.checked = true; n++; }
    });
    return n;
  }

  async function submitWalk(action) {
    const entry = { id: form.querySelector('[name=submission_id]').value, task,
      path: new URL(form.getAttribute('action'), location.href).pathname, fields: fields(action), photos: photoList() };
    await Q.add(entry);
    await Q.store.put('drafts', { task, saved_at: new Date().toISOString(), fields: fields('draft'), photos: photoList() });
    say('正在上传…');
    await Q.flush();
    const left = await Q.store.get('queue', entry.id);
    if (!left) {
      location.href = Q.landed[entry.id] || '/inspector';
      return;
    }
    if (left.status === 422) {
      // The server's page says what is missing beside each item: let it render.
      await Q.store.del('queue', entry.id);
      await Q.render();
      const a = document.createElement('input');
      a.type = 'hidden'; a.name = 'action'; a.value = 'submit';
      form.appendChild(a);
      form.submit();
      return;
    }
    if (left.error) say(left.error, 'error');
    else say('现在没有网络：检查结果已保存在手机上，联网后自动上传（也可点“立即上传”）。', 'info');
  }

  document.addEventListener('click', (e) => {
    const b = e.target.closest('button[name=action]');
    if (!b || (b.form !== form)) return;
    const v = b.value;
    if (v.startsWith('pass:') || v === 'pass_rest') {
      e.preventDefault();
      const scope = v === 'pass_rest' ? form : document.getElementById('s-' + v.slice(5));
      const n = passUnanswered(scope || form);
      autosave();
      say('已将 ' + n + ' 项标为合格；数值和选择项请逐项填写');
    } else if (v === 'submit') {
      e.preventDefault();
      submitWalk('submit');
    } else if (v === 'draft' && !navigator.onLine) {
      e.preventDefault();
      autosave();
      say('现在没有网络：草稿已保存在手机上。');
    }
  });

  form.querySelectorAll('fieldset.item').forEach(verdict);
  Q.store.get('drafts', task).then((d) => { if (d) restore(d); }).catch(() => {});
  const first = document.querySelector('.field-error');
  if (first) first.scrollIntoView({ block: 'start' });
})();

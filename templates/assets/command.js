// The wall's live numbers: a `snapshot` event from the stream updates every [data-k] element;
// when the stream drops, the snapshot is polled every 30 s until it comes back.
(function () {
  var body = document.body;
  if (!body || !body.dataset.stream) return;
  var live = document.getElementById('live');
  var pollTimer = null;
  function pick(obj, path) {
    return path.split('.').reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }
  function signed(n) { return n === 0 ? '±0' : (n > 0 ? '+' + n : '−' + (-n)); }
  function apply(s) {
    document.querySelectorAll('[data-k]').forEach(function (el) {
      var v = pick(s, el.dataset.k);
      if (v === undefined || v === null) return;
      if (el.dataset.k === 'as_of') { v = new Date(v).toLocaleString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' }); }
      else if ('pct' in el.dataset) { v = (v * 100).toFixed(1) + '%'; }
      else if ('signed' in el.dataset) { v = signed(v); }
      if (el.textContent !== String(v)) { el.textContent = v; el.classList.add('changed'); setTimeout(function () { el.classList.remove('changed'); }, 2000); }
    });
  }
  function poll() {
    fetch(body.dataset.poll, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) apply(s); }).catch(function () {});
  }
  function connect() {
    if (!window.EventSource) { pollTimer = setInterval(poll, 30000); return; }
    var es = new EventSource(body.dataset.stream);
    es.addEventListener('snapshot', function (e) {
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      if (live) { live.textContent = '实时'; live.className = 'live'; }
      try { apply(JSON.parse(e.data)); } catch (err) {}
    });
    es.onerror = function () {
      if (live) { live.textContent = '轮询'; live.className = 'live off'; }
      if (!pollTimer) pollTimer = setInterval(poll, 30000);
    };
  }
  connect();
})();

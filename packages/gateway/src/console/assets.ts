/**
 * The console's stylesheet and script, served from /console/app.css and /console/app.js (a CSP
 * of 'self' forbids inline code). Plain DOM and SVG, no build step and no dependency: data is only
 * ever set as text, never as HTML.
 */
export const APP_CSS = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
body { margin: 0; }
header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
main { padding: 1rem 1.2rem; display: grid; gap: 1rem; }
section { background: #fff; border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0001; }
section.two { display: grid; grid-template-columns: 2fr 1fr; gap: 1rem; background: none; box-shadow: none; padding: 0; }
section.two > div { background: #fff; border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0001; }
h2 { font-size: .95rem; margin: 0 0 .6rem; color: #46506a; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e6e9f0; vertical-align: top; }
th { font-weight: 600; color: #5a6480; font-size: .85rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 99px; font-size: .8rem; font-weight: 600; color: #fff; }
.closed { background: #2f9e5b; } .half_open { background: #d99a00; } .open { background: #d64541; } .isolated { background: #7a4fc9; }
.drained { background: #5a6480; } .maintenance { background: #d64541; }
button { font: inherit; padding: .2rem .6rem; border-radius: 5px; border: 1px solid #c5cbd9; background: #fff; cursor: pointer; }
button:hover { background: #eef1f7; }
header button { background: #2d3446; color: #fff; border-color: #46506a; }
.live { font-size: .8rem; opacity: .8; } .live.stale { color: #ff9c9c; }
.route { margin-bottom: .5rem; } .route .alias { font-weight: 600; margin-right: .5rem; }
.chip { display: inline-block; margin: .1rem .2rem; padding: .05rem .5rem; border-radius: 5px; border: 2px solid; font-size: .85rem; }
.chip.closed { border-color: #2f9e5b; background: #eaf7ef; color: #1d2330; } .chip.half_open { border-color: #d99a00; background: #fff6df; color: #1d2330; }
.chip.open, .chip.isolated { border-color: #d64541; background: #fdecec; color: #1d2330; } .chip.drained { text-decoration: line-through; }
.arrow { color: #98a0b5; }
.meter { height: .7rem; background: #e6e9f0; border-radius: 4px; overflow: hidden; } .meter > div { height: 100%; background: #3b6fd9; }
.timeline { font-size: .85rem; color: #46506a; } .timeline li.failed { color: #b33; } .timeline li.succeeded { color: #2f7a4a; }
#errors { width: 100%; height: 160px; display: block; }
.empty { color: #98a0b5; font-style: italic; }
#legend span { margin-right: 1rem; font-size: .85rem; } #legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; border-radius: 2px; }
.login { max-width: 22rem; margin: 10vh auto; background: #fff; padding: 1.5rem; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
.login label { display: block; margin-bottom: .8rem; } .login input { display: block; width: 100%; padding: .4rem; margin-top: .2rem; box-sizing: border-box; }
.error { color: #b33; }
#toast { position: fixed; bottom: 1rem; right: 1rem; background: #1d2330; color: #fff; padding: .5rem .8rem; border-radius: 6px; opacity: 0; transition: opacity .3s; }
#toast.show { opacity: .95; }
`;

export const APP_JS = `
'use strict';
(function () {
  var csrf = document.querySelector('meta[name="csrf"]').getAttribute('content');
  var last = null;
  var searching = null;
  var COLORS = { rate_limited: '#d99a00', overloaded: '#e0672f', upstream_server: '#d64541', timeout: '#7a4fc9',
    network: '#b0417a', quota_exceeded: '#5a3d99', circuit_open: '#8a1f1f', invalid_response: '#3b6fd9',
    context_length: '#2f7a8a', content_filtered: '#6b7a2f', authentication: '#222', validation: '#98a0b5' };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      // Through the CSSOM: the CSP forbids style attributes.
      else if (k === 'css') Object.assign(node.style, attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function toast(text) {
    var t = document.getElementById('toast'); t.textContent = text; t.className = 'show';
    setTimeout(function () { t.className = ''; }, 2500);
  }
  function act(subject, key, action) {
    fetch('/console/api/actions', { method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ subject: subject, key: key, action: action }) })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) { toast(r.ok ? action + ' ' + key + ': done' : (r.body.error && r.body.error.message) || 'refused'); });
  }
  function button(label, onClick, name) {
    var b = el('button', { type: 'button', text: label, 'data-action': name || label.toLowerCase() });
    b.addEventListener('click', onClick); return b;
  }
  function seconds(ms) { return ms === null || ms === undefined ? '—' : (ms / 1000).toFixed(1) + ' s'; }

  function renderUpstreams(state) {
    var body = document.querySelector('#upstreams tbody'); body.replaceChildren();
    state.upstreams.forEach(function (u) {
      var badges = el('td', {}, [el('span', { class: 'badge ' + u.state, text: u.state.replace('_', '-') })]);
      if (u.drained) badges.appendChild(el('span', { class: 'badge drained', text: 'drained by ' + u.drained.by }));
      var actions = el('td', {}, [
        button('Reset', function () { act('breaker', u.key, 'reset'); }),
        button('Isolate', function () { act('breaker', u.key, 'isolate'); }),
        u.drained ? button('Undrain', function () { act('target', u.key, 'undrain'); })
                  : button('Drain', function () { act('target', u.key, 'drain'); }),
      ]);
      body.appendChild(el('tr', { 'data-upstream': u.key, 'data-state': u.state }, [
        el('td', { text: u.key }), el('td', { text: u.kind }), badges,
        el('td', { text: u.state === 'open' ? seconds(u.nextProbeInMs) : '—' }),
        el('td', { text: u.attempts ? Math.round(u.failureRate * 100) + ' %' : '—' }),
        el('td', { text: u.latencyMs === null ? '—' : u.latencyMs + ' ms' }),
        el('td', { text: String(u.attempts) }), actions]));
    });
  }
  function renderRoutes(state) {
    var byKey = {}; state.upstreams.forEach(function (u) { byKey[u.key] = u; });
    var box = document.getElementById('routes'); box.replaceChildren();
    state.routes.forEach(function (r) {
      var row = el('div', { class: 'route', 'data-route': r.alias }, [el('span', { class: 'alias', text: r.alias })]);
      r.targets.forEach(function (key, i) {
        if (i > 0) row.appendChild(el('span', { class: 'arrow', text: '→' }));
        var u = byKey[key] || { state: 'closed' };
        row.appendChild(el('span', { class: 'chip ' + u.state + (u.drained ? ' drained' : ''), text: key }));
      });
      if (r.maintenance) row.appendChild(el('span', { class: 'badge maintenance', text: 'maintenance (' + r.maintenance.by + ')' }));
      row.appendChild(r.maintenance
        ? button('End maintenance', function () { act('route', r.alias, 'resume'); }, 'resume')
        : button('Maintenance', function () { act('route', r.alias, 'maintenance'); }, 'maintenance'));
      box.appendChild(row);
    });
  }
  function renderBudget(state) {
    var b = state.retryBudget, box = document.getElementById('budget');
    var pct = Math.min(100, b.available);
    box.replaceChildren(el('div', { text: b.available + ' retries available now' }),
      el('div', { class: 'meter' }, [el('div', { css: { width: pct + '%' } })]),
      el('div', { text: b.exhausted + ' retries refused by the budget since start' }));
  }
  function renderErrors(state) {
    var chart = document.getElementById('errors'); chart.replaceChildren();
    var series = state.errors, codes = Object.keys(series.errors), n = series.at.length;
    var totals = series.at.map(function (_, i) { return codes.reduce(function (s, c) { return s + series.errors[c][i]; }, 0); });
    var max = Math.max(1, Math.max.apply(null, totals.concat(series.requests)));
    var w = 600 / n;
    series.at.forEach(function (_, i) {
      var h = series.requests[i] / max * 130;
      chart.appendChild(svg('rect', { x: i * w + 1, y: 135 - h, width: w - 2, height: h, fill: '#e6e9f0' }));
      var y = 135;
      codes.forEach(function (code) {
        var v = series.errors[code][i]; if (!v) return;
        var hh = v / max * 130; y -= hh;
        chart.appendChild(svg('rect', { x: i * w + 2, y: y, width: w - 4, height: hh, fill: COLORS[code.split('/')[0]] || '#555', 'data-code': code }));
      });
    });
    var legend = document.getElementById('legend'); legend.replaceChildren(el('span', {}, [el('i', { css: { background: '#e6e9f0' } }), document.createTextNode('requests')]));
    codes.forEach(function (code) {
      var count = series.errors[code].reduce(function (a, b) { return a + b; }, 0);
      legend.appendChild(el('span', { 'data-code': code }, [el('i', { css: { background: COLORS[code.split('/')[0]] || '#555' } }), document.createTextNode(code + ' (' + count + ')')]));
    });
  }
  function renderFailed(operations) {
    var body = document.querySelector('#failed tbody'); body.replaceChildren();
    if (operations.length === 0) body.appendChild(el('tr', {}, [el('td', { colspan: '5', class: 'empty', text: searching === null ? 'No failed operations.' : 'No operation with this correlation id.' })]));
    operations.forEach(function (op) {
      var timeline = el('ol', { class: 'timeline' });
      (op.timeline || []).forEach(function (a) {
        timeline.appendChild(el('li', { class: a.outcome, text: a.key + ' #' + a.attempt + ': ' + a.outcome +
          (a.code ? ' ' + a.code : '') + ' in ' + Math.round(a.durationMs) + ' ms' + (a.breaker ? ' (breaker ' + a.breaker + ')' : '') }));
      });
      var error = el('td', {}, [el('div', { text: op.errorCode || op.status }), timeline]);
      body.appendChild(el('tr', { 'data-correlation': op.correlationId || '' }, [
        el('td', { text: new Date(op.createdAt).toLocaleTimeString() }), el('td', { text: String(op.model || op.kind) }),
        error, el('td', { text: String(op.attempts) }), el('td', { text: op.correlationId || '' })]));
    });
  }
  function render(state) {
    last = Date.now();
    document.getElementById('live').textContent = 'live · ' + new Date(state.at).toLocaleTimeString();
    document.getElementById('live').className = 'live';
    renderUpstreams(state); renderRoutes(state); renderBudget(state); renderErrors(state);
    if (searching === null) renderFailed(state.failed);
  }
  var events = new EventSource('/console/events');
  events.addEventListener('state', function (e) { render(JSON.parse(e.data)); });
  setInterval(function () { if (last && Date.now() - last > 5000) { var l = document.getElementById('live'); l.textContent = 'disconnected'; l.className = 'live stale'; } }, 1000);
  document.getElementById('search').addEventListener('submit', function (e) {
    e.preventDefault();
    searching = document.getElementById('correlation').value.trim();
    if (!searching) { searching = null; return; }
    fetch('/console/api/snapshot?correlationId=' + encodeURIComponent(searching), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); }).then(function (s) { renderFailed(s.failed); });
  });
  document.getElementById('clear').addEventListener('click', function () { searching = null; document.getElementById('correlation').value = ''; });
  document.getElementById('logout').addEventListener('click', function () {
    fetch('/console/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf } })
      .then(function () { location.href = '/console'; });
  });
})();
`;

// iot-emulator dashboard: plain JavaScript over the admin API
// (/_emulator/…) and its event stream (/_emulator/events). It keeps no
// state but what is on the screen; every action is an admin route, the
// same control plane emutest drives.
'use strict';
(() => {
  const base = '/_emulator';
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const toast = document.getElementById('toast');

  // --- DOM and HTTP helpers ---

  // h builds an element without innerHTML, so device-sent text stays text.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
    for (const c of kids.flat(Infinity)) {
      if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  // seg encodes a path segment the way Go leaves it (':' and '@' as they are).
  const seg = (s) => encodeURIComponent(s).replace(/%(3A|40|24|2C|3B|3D)/gi, (m) => decodeURIComponent(m));
  const akq = (ak, sep = '?') => (ak ? sep + 'accessKeyId=' + encodeURIComponent(ak) : '');

  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.body = JSON.stringify(body);
      opts.headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(base + path, opts);
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) throw new Error((data && data.error) || res.status + ' ' + res.statusText);
    return data;
  }
  const get = (path) => api('GET', path);

  let toastTimer = null;
  function notify(msg, info) {
    toast.textContent = msg;
    toast.className = 'toast' + (info ? ' info' : '');
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, info ? 2500 : 6000);
  }

  // button runs an admin call, disabled while it runs; fk keeps focus on
  // it across a re-render.
  function button(label, fn, cls, fk, title) {
    const b = h('button', { type: 'button', class: cls, 'data-fk': fk, title, 'aria-label': title });
    b.textContent = label;
    b.addEventListener('click', async () => {
      b.disabled = true;
      try { await fn(); } catch (e) { notify(e.message); } finally { b.disabled = false; }
    });
    return b;
  }

  // keepFocus runs change, which redraws within region, and puts the focus
  // back on the control with the same data-fk.
  function keepFocus(region, change) {
    const a = document.activeElement;
    const fk = a && region.contains(a) ? a.getAttribute('data-fk') : null;
    const within = change() || region;
    if (fk) {
      const again = within.querySelector('[data-fk="' + CSS.escape(fk) + '"]');
      if (again) again.focus();
    }
  }
  const swap = (region, ...content) => keepFocus(region, () => region.replaceChildren(...content));

  // later runs fn once soon after the first of a burst of calls.
  function later(fn, ms = 250) {
    let t = null;
    const run = () => { t = null; fn(); };
    const f = () => { if (!t) t = setTimeout(run, ms); };
    f.cancel = () => { clearTimeout(t); t = null; };
    return f;
  }

  // loader wraps a view's refresh: errors go to the region, not the console.
  function loader(region, fn) {
    let busy = false, again = false;
    const run = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try { await fn(); } catch (e) { swap(region, h('p', { class: 'bad' }, 'Could not load: ' + e.message)); }
      busy = false;
      if (again) { again = false; run(); }
    };
    return run;
  }

  const pad = (n, w = 2) => String(n).padStart(w, '0');
  function when(iso, ms) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + (ms ? '.' + pad(d.getMilliseconds(), 3) : '');
    const today = new Date().toDateString() === d.toDateString();
    return today ? t : d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }
  const badge = (s, cls) => h('span', { class: 'badge ' + (cls || s) }, s);
  const table = (heads, rows, empty) => h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, heads.map((x) => (typeof x === 'string' ? h('th', { scope: 'col' }, x) : x)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: heads.length, class: 'empty' }, empty || 'nothing yet')))));
  const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === '' || v === undefined || v === null ? '—' : v)]));
  const field = (label, input) => h('label', {}, label, input);
  const deviceHref = (ak, pk, dn) => '#/device/' + seg(pk) + '/' + seg(dn) + akq(ak);
  const devicePath = (pk, dn) => '/devices/' + seg(pk) + '/' + seg(dn);
  // parseValue reads a form value as JSON (numbers, booleans, objects) or text.
  function parseValue(s) { try { return JSON.parse(s); } catch (_) { return s; } }
  function json(s, what) {
    try { return JSON.parse(s); } catch (e) { throw new Error(what + ' is not JSON: ' + e.message); }
  }
  const transient = (s) => s === 'CHECK' || s === 'CREATE';
  const readOnly = /^(Query|Get|BatchGet|BatchQuery|List)/;

  // describe is one line for an event of the stream.
  function describe(ev) {
    const d = ev.data || {};
    switch (ev.kind) {
      case 'request': return d.action + ' → ' + (d.code || 'OK') + ' (' + d.status + ')';
      case 'device': return d.action + ' ' + ((d.params || {}).productKey || '') + '/' + ((d.params || {}).deviceName || '') + (d.code ? ' — ' + d.code : '');
      case 'batch': return 'batch ' + d.applyId + ' ' + d.status;
      case 'message': return (d.direction === 'up' ? '↑ ' : '↓ ') + d.topic;
      case 'reset': return 'reset ' + (d || 'everything');
      case 'fault': return 'fault ' + (d.faults || []).join(', ') + ' fired on ' + d.action;
      case 'dropped': return 'fell behind: ' + d.dropped + ' events lost';
    }
    return ev.kind;
  }

  // --- the event stream ---

  const recent = [];
  let current = {};
  function connect() {
    const es = new EventSource(base + '/events');
    let down = false;
    es.onopen = () => {
      live.textContent = 'live';
      live.className = 'live on';
      if (down && current.refresh) current.refresh();
      down = false;
    };
    es.onerror = () => {
      down = true;
      live.textContent = 'reconnecting…';
      live.className = 'live off';
    };
    for (const kind of ['request', 'device', 'batch', 'message', 'reset', 'fault', 'dropped']) {
      es.addEventListener(kind, (m) => {
        let ev;
        try { ev = JSON.parse(m.data); } catch (_) { return; }
        recent.unshift(ev);
        recent.length = Math.min(recent.length, 40);
        if (current.onEvent) current.onEvent(ev);
      });
    }
  }

  // --- views ---

  function overview(el) {
    const body = h('div');
    const feed = h('ul', { class: 'feed', 'aria-label': 'Live activity' });
    el.append(h('h2', {}, 'Overview'), body, h('div', { class: 'card' }, h('h3', {}, 'Live activity'), feed));
    const drawFeed = () => swap(feed, ...(recent.length ? recent.map((ev) => h('li', {}, h('time', {}, when(ev.time, true)), badge(ev.kind, 'idle'), h('span', {}, describe(ev))))
      : [h('li', { class: 'empty' }, 'Nothing has happened since this page opened.')]));
    const refresh = loader(body, async () => {
      const s = await get('/summary');
      const statuses = (m) => Object.entries(m || {}).map(([k, n]) => h('li', {}, badge(k), ' ', n));
      swap(body, h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h3', {}, 'Endpoints'), kv([['RPC', h('code', {}, s.endpoints.rpc)], ['MQTT', s.endpoints.mqtt ? h('code', {}, s.endpoints.mqtt) : 'off'],
          ['Progression', h('a', { href: '#/settings' }, s.progression)]])),
        h('section', { class: 'card wide' }, h('h3', {}, 'Credentials'), table(['AccessKeyId', 'AccessKeySecret'],
          s.credentials.map((c) => h('tr', {}, h('td', {}, h('code', {}, c.accessKeyId)), h('td', {}, h('code', {}, c.accessKeySecret)))), 'no accounts')),
        h('section', { class: 'card' }, h('h3', {}, 'Requests per second'), h('div', { class: 'big', id: 'rps' }, s.requestsPerSecond.toFixed(1)),
          h('p', { class: 'muted' }, 'RPC calls, averaged over 10 s. ', h('a', { href: '#/faults' }, s.faults + ' fault rule' + (s.faults === 1 ? '' : 's')))),
        h('section', { class: 'card' }, h('h3', {}, h('a', { href: '#/products' }, s.products + ' product' + (s.products === 1 ? '' : 's')), ', ',
          h('a', { href: '#/devices' }, s.deviceTotal + ' device' + (s.deviceTotal === 1 ? '' : 's'))), h('ul', { class: 'feed' }, statuses(s.devices))),
        h('section', { class: 'card' }, h('h3', {}, h('a', { href: '#/batches' }, 'Batches')),
          Object.keys(s.batches).length ? h('ul', { class: 'feed' }, statuses(s.batches)) : h('p', { class: 'empty' }, 'none yet'))));
    });
    const soon = later(refresh, 400);
    const tick = setInterval(refresh, 5000); // the rate decays without events
    drawFeed();
    refresh();
    return { refresh, onEvent: () => { drawFeed(); soon(); }, stop: () => { clearInterval(tick); soon.cancel(); } };
  }

  // specText summarises a TSL data type.
  function specText(dt) {
    if (!dt) return '';
    const s = dt.specs || {};
    switch (dt.type) {
      case 'int': case 'float': case 'double':
        return [s.min !== undefined ? s.min + ' … ' + s.max : '', s.step ? 'step ' + s.step : ''].filter(Boolean).join(', ');
      case 'bool': case 'enum':
        return Object.entries(s).map(([k, v]) => k + ': ' + v).join(', ');
      case 'text': return s.length ? 'up to ' + s.length + ' characters' : '';
      case 'array': return (s.item ? s.item.type : '') + (s.size ? ' × ' + s.size : '');
      case 'struct': return (Array.isArray(s) ? s : []).map((f) => f.identifier + ' (' + (f.dataType || {}).type + ')').join(', ');
    }
    return '';
  }
  const paramsText = (list) => (list || []).map((p) => p.identifier + ' (' + ((p.dataType || {}).type || '?') + ')').join(', ') || '—';

  function modelTables(m) {
    if (!m) return [h('p', { class: 'muted' }, 'No thing model: properties of any name are accepted, their types inferred (unless --thing-model strict).')];
    return [
      h('h3', {}, 'Properties'),
      table(['Identifier', 'Name', 'Type', 'Access', 'Range / values', 'Unit'], (m.properties || []).map((p) => h('tr', {},
        h('td', {}, h('code', {}, p.identifier)), h('td', {}, p.name), h('td', {}, (p.dataType || {}).type), h('td', {}, p.accessMode),
        h('td', {}, specText(p.dataType)), h('td', {}, ((p.dataType || {}).specs || {}).unit || ''))), 'no properties'),
      h('h3', {}, 'Events'),
      table(['Identifier', 'Name', 'Type', 'Output'], (m.events || []).map((e) => h('tr', {},
        h('td', {}, h('code', {}, e.identifier)), h('td', {}, e.name), h('td', {}, e.type), h('td', {}, paramsText(e.outputData)))), 'no events'),
      h('h3', {}, 'Services'),
      table(['Identifier', 'Name', 'Call', 'Input', 'Output'], (m.services || []).map((s) => h('tr', {},
        h('td', {}, h('code', {}, s.identifier)), h('td', {}, s.name), h('td', {}, s.callType), h('td', {}, paramsText(s.inputData)),
        h('td', {}, paramsText(s.outputData)))), 'no services'),
    ];
  }

  function products(el) {
    const body = h('div');
    el.append(h('h2', {}, 'Products'), body);
    const refresh = loader(body, async () => {
      const st = await get('/state?devicePageSize=1');
      const all = st.accounts.flatMap((a) => a.products.map((p) => ({ ...p, accessKeyId: a.accessKeyId })));
      swap(body, ...(all.length ? all.map((p, i) => {
        const model = h('div', {}, h('p', { class: 'muted' }, 'Loading the thing model…'));
        const d = h('details', { class: 'card product', open: i < 3 },
          h('summary', {}, p.productName, ' ', h('code', {}, p.productKey)),
          kv([['Account', h('code', {}, p.accessKeyId)], ['ProductSecret', h('code', {}, p.productSecret)], ['Node type', p.nodeType === 1 ? 'gateway' : 'device'],
            ['Instance', p.iotInstanceId || 'public'], ['Devices', h('a', { href: '#/devices?productKey=' + encodeURIComponent(p.productKey) }, String(p.deviceCount))],
            ['Dynamic registration', p.dynamicRegistration ? 'on' : 'off'], p.description && ['Description', p.description]]),
          model);
        let loaded = false;
        const load = async () => {
          if (loaded || !d.open) return;
          loaded = true;
          try {
            const r = await get('/products/' + seg(p.productKey) + '/thing-model' + akq(p.accessKeyId));
            swap(model, ...modelTables(r.thingModel));
          } catch (e) { swap(model, h('p', {}, 'Could not load the thing model: ' + e.message)); }
        };
        d.addEventListener('toggle', load);
        load();
        return d;
      }) : [h('p', { class: 'empty' }, 'No products.')]));
    });
    refresh();
    const soon = later(refresh, 500);
    return { refresh, onEvent: (ev) => { if (ev.kind === 'reset' || ev.kind === 'dropped' || (ev.kind === 'request' && /Product|ThingModel/.test(ev.data.action) && !readOnly.test(ev.data.action))) soon(); } };
  }

  function devices(el, _, params) {
    const q = { name: params.get('name') || '', productKey: params.get('productKey') || '', status: params.get('status') || '', page: 1 };
    const name = h('input', { type: 'search', id: 'device-search', value: q.name, placeholder: 'DeviceName or nickname', autocomplete: 'off' });
    const product = h('select', { id: 'device-product' }, h('option', { value: '' }, 'all products'));
    const status = h('select', { id: 'device-status' }, ['', 'ONLINE', 'OFFLINE', 'UNACTIVE', 'DISABLE'].map((s) => h('option', { value: s, selected: s === q.status }, s || 'any status')));
    const body = h('div');
    el.append(h('h2', {}, 'Devices'), h('form', { class: 'bar', role: 'search', onsubmit: (e) => { e.preventDefault(); refresh(); } },
      field('Search', name), field('Product', product), field('Status', status)), body);
    get('/state?devicePageSize=1').then((st) => {
      for (const a of st.accounts) for (const p of a.products) product.append(h('option', { value: p.productKey, selected: p.productKey === q.productKey }, p.productName + ' (' + p.productKey + ')'));
    }).catch((e) => notify(e.message));
    const refresh = loader(body, async () => {
      const qs = new URLSearchParams({ name: q.name, productKey: q.productKey, status: q.status, page: q.page, pageSize: 50 });
      const r = await get('/devices?' + qs);
      const pages = Math.max(1, Math.ceil(r.total / r.pageSize));
      swap(body, table(['Status', 'Device', h('th', { class: 'hide-narrow' }, 'Nickname'), h('th', { class: 'hide-narrow' }, 'Product'), h('th', { class: 'hide-narrow' }, 'Last online'), h('th', { class: 'hide-narrow' }, 'IP'), 'Actions'],
        r.items.map((d) => h('tr', { 'data-device': d.productKey + '/' + d.deviceName },
          h('td', {}, badge(d.status)), h('td', {}, h('a', { href: deviceHref(d.accessKeyId, d.productKey, d.deviceName), 'data-fk': 'open:' + d.iotId }, d.deviceName)),
          h('td', { class: 'hide-narrow' }, d.nickname), h('td', { class: 'hide-narrow' }, h('code', {}, d.productKey)), h('td', { class: 'hide-narrow' }, when(d.lastOnline)),
          h('td', { class: 'hide-narrow' }, d.ipAddress), h('td', {}, deviceActions(d, refresh)))), q.name || q.status ? 'no device matches' : 'no devices yet'),
      h('div', { class: 'pager' }, button('← Previous', () => { q.page--; refresh(); }, '', 'prev', 'Previous page'), h('span', {}, 'page ' + r.page + ' of ' + pages + ' · ' + r.total + ' devices'),
        button('Next →', () => { q.page++; refresh(); }, '', 'next', 'Next page')));
      body.querySelector('[data-fk=prev]').disabled = r.page <= 1;
      body.querySelector('[data-fk=next]').disabled = r.page >= pages;
    });
    const typed = later(() => { q.name = name.value; q.page = 1; refresh(); }, 250);
    name.addEventListener('input', typed);
    product.addEventListener('change', () => { q.productKey = product.value; q.page = 1; refresh(); });
    status.addEventListener('change', () => { q.status = status.value; q.page = 1; refresh(); });
    refresh();
    const soon = later(refresh);
    return {
      refresh,
      onEvent: (ev) => {
        if (ev.kind === 'device' || ev.kind === 'batch' || ev.kind === 'reset' || ev.kind === 'dropped' || (ev.kind === 'request' && !readOnly.test(ev.data.action))) soon();
      },
      stop: () => { soon.cancel(); typed.cancel(); },
    };
  }

  // deviceActions are the buttons of a device: kick, disable or enable.
  function deviceActions(d, done) {
    const path = devicePath(d.productKey, d.deviceName);
    const q = akq(d.accessKeyId);
    const enabled = d.status !== 'DISABLE';
    return h('div', { class: 'actions' },
      button('Kick', async () => { const r = await api('POST', path + '/kick' + q); notify(r.kicked ? 'Kicked ' + d.deviceName : d.deviceName + ' was not connected', true); done(); },
        '', 'kick:' + d.iotId, 'Kick ' + d.deviceName),
      button(enabled ? 'Disable' : 'Enable', async () => { await api('POST', path + (enabled ? '/disable' : '/enable') + q); done(); },
        enabled ? 'danger' : '', 'able:' + d.iotId, (enabled ? 'Disable ' : 'Enable ') + d.deviceName));
  }

  function device(el, parts, params) {
    const [pk, dn] = parts;
    const ak = params.get('ak') || '';
    const path = devicePath(pk, dn);
    const q = akq(ak);
    const head = h('div');
    const props = h('div');
    const log = h('tbody');
    let model = null;
    el.append(h('p', {}, h('a', { href: '#/devices' }, '← Devices')), head, h('h3', {}, 'Latest properties'), props);

    const drawMessage = (m) => h('tr', {}, h('td', {}, when(m.time, true)), h('td', {}, badge(m.direction === 'up' ? '↑ up' : '↓ down', m.direction === 'up' ? 'idle' : 'warn')),
      h('td', {}, h('code', {}, m.topic)), h('td', {}, m.payload.length > 160 ? h('details', {}, h('summary', {}, m.payload.slice(0, 120) + '…'), h('pre', {}, m.payload)) : h('code', {}, m.payload)));
    const refresh = loader(head, async () => {
      const d = await get(path + q);
      const isVirtual = !!d.virtual;
      swap(head, h('h2', {}, d.deviceName, ' ', badge(d.status), isVirtual ? [' ', badge('virtual', 'virtual')] : ''),
        h('div', { class: 'grid' }, h('section', { class: 'card' }, kv([['Product', [d.productName, ' ', h('code', {}, d.productKey)]], ['Account', h('code', {}, d.accessKeyId)],
          ['IotId', h('code', {}, d.iotId)], ['DeviceSecret', h('code', {}, d.deviceSecret)], ['Nickname', d.nickname], ['Batch', d.applyId ? h('a', { href: '#/batch/' + d.applyId }, String(d.applyId)) : '']])),
        h('section', { class: 'card' }, kv([['Created', when(d.created)], ['First login', when(d.activated)], ['Last login', when(d.lastOnline)], ['From IP', d.ipAddress],
          ['Status since', when(d.statusChanged)], ['Virtual', isVirtual ? (d.virtual.autoReply ? 'yes, answering downlinks' : 'yes, silent') : 'no']]),
          h('div', { class: 'actions' }, deviceActions(d, refresh),
            isVirtual ? button('Stop virtual', async () => { await api('DELETE', path + '/virtual' + q); refresh(); }, '', 'virtual', 'Stop being virtual')
              : button('Make virtual', async () => { await api('POST', path + '/virtual' + q, { online: true, autoReply: true }); refresh(); }, '', 'virtual', 'Make virtual: online without a socket, answering downlinks')))));
      swap(props, table(['Identifier', 'Name', 'Value', 'Unit', 'Reported'], d.properties.map((p) => h('tr', { 'data-property': p.identifier },
        h('td', {}, h('code', {}, p.identifier)), h('td', {}, p.name), h('td', { class: 'value' }, h('code', {}, p.value)), h('td', {}, p.unit || ''), h('td', {}, when(p.time, true)))),
      'nothing reported yet'));
    });
    const refreshLog = async () => {
      try {
        const r = await get('/messages?' + new URLSearchParams({ productKey: pk, deviceName: dn, limit: 100, ...(ak ? { accessKeyId: ak } : {}) }));
        log.replaceChildren(...r.messages.reverse().map(drawMessage));
      } catch (e) { notify(e.message); }
    };

    // The forms: set a property, call a service, publish to it, publish as it.
    const result = () => h('p', { class: 'result', role: 'status' });
    const propID = h('input', { id: 'prop-id', list: 'prop-ids', required: true, autocomplete: 'off' });
    const propValue = h('input', { id: 'prop-value', required: true, autocomplete: 'off', placeholder: '1, 21.5, "text" or {…}' });
    const propIDs = h('datalist', { id: 'prop-ids' });
    const propOut = result();
    const svcID = h('input', { id: 'svc-id', list: 'svc-ids', required: true, autocomplete: 'off' });
    const svcIDs = h('datalist', { id: 'svc-ids' });
    const svcArgs = h('textarea', { id: 'svc-args', value: '{}' });
    const svcOut = result();
    const downTopic = h('input', { id: 'deliver-topic', value: '/' + pk + '/' + dn + '/user/get', required: true });
    const downPayload = h('textarea', { id: 'deliver-payload', value: '{"hello":"device"}' });
    const downQoS = h('select', { id: 'deliver-qos' }, h('option', { value: '0' }, '0'), h('option', { value: '1' }, '1'));
    const downOut = result();
    const upTopic = h('input', { id: 'publish-topic', value: '/sys/' + pk + '/' + dn + '/thing/event/property/post', required: true });
    const upPayload = h('textarea', { id: 'publish-payload', value: JSON.stringify({ id: '1', version: '1.0', params: {}, method: 'thing.event.property.post' }) });
    const upOut = result();
    const submit = (out, fn) => async (e) => {
      e.preventDefault();
      const b = e.target.querySelector('button[type=submit]');
      b.disabled = true;
      out.textContent = 'sending…';
      try { out.textContent = await fn(); } catch (err) { out.textContent = err.message; notify(err.message); } finally { b.disabled = false; }
    };
    el.append(h('h3', {}, 'Drive it'), h('div', { class: 'forms' },
      h('form', { class: 'card', id: 'set-property', onsubmit: submit(propOut, async () => {
        const r = await api('POST', path + '/properties' + q, { items: { [propID.value]: parseValue(propValue.value) } });
        return 'sent, message id ' + r.messageId;
      }) }, h('h3', {}, 'Set a property'), propIDs, field('Identifier', propID), field('Value (JSON or text)', propValue), h('button', { type: 'submit', class: 'primary' }, 'Set'), propOut),
      h('form', { class: 'card', id: 'call-service', onsubmit: submit(svcOut, async () => {
        const r = await api('POST', path + '/services/' + seg(svcID.value) + q, { args: json(svcArgs.value || '{}', 'args') });
        return 'sent, message id ' + r.messageId + (r.result !== undefined ? '; result ' + JSON.stringify(r.result) : '');
      }) }, h('h3', {}, 'Call a service'), svcIDs, field('Service', svcID), field('Arguments (JSON)', svcArgs), h('button', { type: 'submit', class: 'primary' }, 'Call'), svcOut),
      h('form', { class: 'card', id: 'deliver', onsubmit: submit(downOut, async () => {
        const r = await api('POST', path + '/deliver' + q, { topic: downTopic.value, payload: downPayload.value, qos: Number(downQoS.value) });
        return 'delivered, message id ' + r.messageId;
      }) }, h('h3', {}, 'Publish to the device'), field('Topic', downTopic), field('Payload', downPayload), field('QoS', downQoS), h('button', { type: 'submit', class: 'primary' }, 'Publish'), downOut),
      h('form', { class: 'card', id: 'publish-as', onsubmit: submit(upOut, async () => {
        const r = await api('POST', path + '/publish' + q, { topic: upTopic.value, payload: upPayload.value });
        return 'published ' + r.size + ' bytes as the device';
      }) }, h('h3', {}, 'Publish as the device'), field('Topic', upTopic), field('Payload', upPayload), h('button', { type: 'submit', class: 'primary' }, 'Publish'), upOut)),
    h('h3', {}, 'Message log'), h('div', { class: 'table-wrap' }, h('table', { id: 'message-log' }, h('thead', {}, h('tr', {}, ['Time', 'Direction', 'Topic', 'Payload'].map((x) => h('th', { scope: 'col' }, x)))), log)));

    get('/products/' + seg(pk) + '/thing-model' + q).then((r) => {
      model = r.thingModel;
      if (!model) return;
      propIDs.append(...(model.properties || []).map((p) => h('option', { value: p.identifier }, p.name + ' (' + (p.dataType || {}).type + ', ' + p.accessMode + ')')));
      svcIDs.append(...(model.services || []).map((s) => h('option', { value: s.identifier }, s.name + ' (' + s.callType + ')')));
      el.append(h('h3', {}, 'Thing model'), ...modelTables(model));
    }).catch((e) => notify(e.message));
    refresh();
    refreshLog();
    const soon = later(refresh);
    const mine = (p) => p && p.productKey === pk && p.deviceName === dn;
    return {
      refresh: () => { refresh(); refreshLog(); },
      onEvent: (ev) => {
        const d = ev.data || {};
        if (ev.kind === 'message' && d.productKey === pk && d.deviceName === dn) {
          log.prepend(drawMessage(d));
          while (log.children.length > 200) log.lastChild.remove();
          soon();
        } else if ((ev.kind === 'device' && mine(d.params)) || ev.kind === 'reset' || ev.kind === 'dropped' ||
          (ev.kind === 'request' && !readOnly.test(d.action) && (d.params || {}).DeviceName === dn)) {
          soon();
        }
      },
      stop: () => soon.cancel(),
    };
  }

  function batchRow(b, refresh) {
    return h('tr', { 'data-apply': b.applyId },
      h('td', {}, h('a', { href: '#/batch/' + b.applyId, 'data-fk': 'open:' + b.applyId }, String(b.applyId))), h('td', { class: 'status' }, badge(b.status)),
      h('td', {}, b.kind), h('td', {}, h('code', {}, b.productKey)), h('td', { class: 'hide-narrow' }, h('code', {}, b.accessKeyId)),
      h('td', { class: 'num' }, b.count), h('td', { class: 'num' }, b.failed), h('td', { class: 'num' }, b.devices),
      h('td', { class: 'hide-narrow' }, b.waiting || ''), h('td', { class: 'hide-narrow' }, when(b.updated)), h('td', {}, batchActions(b, refresh)));
  }

  function batchActions(b, done) {
    if (!transient(b.status)) return '';
    return h('div', { class: 'actions' },
      button('Advance', async () => { await api('POST', '/batches/' + b.applyId + '/advance'); done(); }, 'primary', 'advance:' + b.applyId, 'Advance batch ' + b.applyId),
      button('Fail', async () => { await api('POST', '/batches/' + b.applyId + '/fail', {}); done(); }, 'danger', 'fail:' + b.applyId, 'Fail every name of batch ' + b.applyId));
  }
  const batchHeads = () => ['ApplyId', 'Status', 'Kind', 'Product', h('th', { class: 'hide-narrow' }, 'Account'), h('th', { class: 'num' }, 'Names'),
    h('th', { class: 'num' }, 'Failed'), h('th', { class: 'num' }, 'Devices'), h('th', { class: 'hide-narrow' }, 'Waits for'), h('th', { class: 'hide-narrow' }, 'Updated'), 'Actions'];

  function batches(el) {
    const top = h('p', { class: 'muted' });
    const body = h('div');
    el.append(h('h2', {}, 'Batches'), top, body);
    const refresh = loader(body, async () => {
      const st = await get('/state?devicePageSize=1');
      const all = st.accounts.flatMap((a) => a.batches).sort((x, y) => y.applyId - x.applyId);
      swap(top, 'Progression ', h('a', { href: '#/settings' }, h('code', {}, st.progression)), ': ', st.progression === 'manual' ? 'batches wait for Advance or Fail.' : 'batches move on by themselves.');
      swap(body, table(batchHeads(), all.map((b) => batchRow(b, refresh)), 'No batches yet: BatchCheckDeviceNames or BatchRegisterDevice make one.'));
    });
    refresh();
    const soon = later(refresh);
    return {
      refresh,
      onEvent: (ev) => {
        if (ev.kind === 'batch') {
          const row = body.querySelector('tr[data-apply="' + ev.data.applyId + '"]');
          if (!row) soon();
          else keepFocus(row, () => { const fresh = batchRow(ev.data, refresh); row.replaceWith(fresh); return fresh; });
        } else if (ev.kind === 'reset' || ev.kind === 'dropped') soon();
      },
      stop: () => soon.cancel(),
    };
  }

  function batch(el, parts) {
    const id = parts[0];
    const body = h('div');
    el.append(h('p', {}, h('a', { href: '#/batches' }, '← Batches')), body);
    const refresh = loader(body, async () => {
      const b = await get('/batches/' + seg(id));
      const shown = b.names.slice(0, 1000);
      swap(body, h('h2', {}, 'Batch ' + b.applyId + ' ', badge(b.status)),
        h('div', { class: 'card' }, kv([['Product', h('code', {}, b.productKey)], ['Account', h('code', {}, b.accessKeyId)], ['Kind', b.kind === 'names' ? 'named (BatchCheckDeviceNames)' : 'random names (BatchRegisterDevice)'],
          ['Names', String(b.count)], ['Failed', String(b.failed)], ['Devices created', String(b.devices)], ['Waits for', b.waiting || ''], ['Created', when(b.created)], ['Updated', when(b.updated)]]),
        batchActions(b, refresh)),
        h('h3', {}, 'Names'), table(['#', 'DeviceName', 'Nickname', 'Why it failed'], shown.map((n, i) => h('tr', {}, h('td', { class: 'num' }, i + 1), h('td', {}, h('code', {}, n.deviceName)),
          h('td', {}, n.nickname || ''), h('td', {}, n.errorMsg || ''))), b.kind === 'random' ? 'random names are drawn when the batch is created' : 'no names'),
        b.names.length > shown.length ? h('p', { class: 'muted' }, 'The first 1,000 of ' + b.names.length + ' names.') : '');
    });
    refresh();
    return { refresh, onEvent: (ev) => { if ((ev.kind === 'batch' && String(ev.data.applyId) === id) || ev.kind === 'reset' || ev.kind === 'dropped') refresh(); } };
  }

  function journal(el) {
    const f = { action: '', code: '', protocol: '' };
    const action = h('input', { id: 'journal-action', list: 'journal-actions', autocomplete: 'off', placeholder: 'any action' });
    const actions = h('datalist', { id: 'journal-actions' }, ['login', 'login refused', 'disconnect', 'subscribe', 'publish', 'denied', 'kick'].map((a) => h('option', { value: a })));
    const code = h('input', { id: 'journal-code', autocomplete: 'off', placeholder: 'any code' });
    const protocol = h('select', { id: 'journal-protocol' }, h('option', { value: '' }, 'rpc and mqtt'), h('option', { value: 'rpc' }, 'rpc'), h('option', { value: 'mqtt' }, 'mqtt'));
    const paused = h('input', { type: 'checkbox', id: 'journal-pause' });
    const rows = h('tbody');
    const detail = h('div', { class: 'card', id: 'journal-detail', hidden: true });
    const count = h('span', { class: 'muted' });
    el.append(h('h2', {}, 'Request journal'), h('form', { class: 'bar', role: 'search', onsubmit: (e) => { e.preventDefault(); apply(); } },
      actions, field('Action', action), field('Code', code), field('Protocol', protocol), h('label', { class: 'inline' }, paused, 'Pause the live tail'),
      button('Clear the journal', async () => { await api('DELETE', '/requests'); refresh(); }, 'danger', 'clear'), count),
    detail, h('div', { class: 'table-wrap' }, h('table', { id: 'journal' }, h('thead', {}, h('tr', {}, ['Time', 'Protocol', 'Action', h('th', { class: 'hide-narrow' }, 'Account'), 'Status', 'Code',
      h('th', { class: 'num hide-narrow' }, 'ms'), h('th', { class: 'hide-narrow' }, 'Faults')].map((x) => (typeof x === 'string' ? h('th', { scope: 'col' }, x) : x)))), rows)));
    get('/actions').then((r) => actions.append(...r.actions.map((a) => h('option', { value: a.name })))).catch((e) => notify(e.message));

    let n = 0;
    const show = (e, tr) => {
      for (const s of rows.querySelectorAll('tr.selected')) s.classList.remove('selected');
      tr.classList.add('selected');
      const params = Object.entries(e.params || {}).sort(([a], [b]) => a.localeCompare(b));
      detail.hidden = false;
      detail.replaceChildren(h('h3', {}, e.action, ' ', h('span', { class: 'muted' }, when(e.time, true))),
        h('div', { class: 'grid' }, h('div', {}, h('h3', {}, 'Parameters'), table(['Name', 'Value'], params.map(([k, v]) => h('tr', {}, h('td', {}, h('code', {}, k)), h('td', {}, h('code', {}, v)))), 'none'),
          e.paramsOmitted ? h('p', { class: 'muted' }, e.paramsOmitted + ' more list elements left out') : ''),
        h('div', {}, h('h3', {}, 'Answer'), kv([['Protocol', e.protocol], ['Request id', e.requestId ? h('code', {}, e.requestId) : ''], [e.protocol === 'mqtt' ? 'CONNACK / status' : 'HTTP status', String(e.status)],
          ['Code', e.code ? h('code', {}, e.code) : 'success'], ['Latency', e.latencyMs ? e.latencyMs.toFixed(2) + ' ms' : ''], ['Fault rules', (e.faults || []).join(', ')], ['Account', e.accessKeyId]]))),
        button('Close', () => { detail.hidden = true; tr.classList.remove('selected'); }, '', 'close-detail'));
    };
    const row = (e) => {
      const tr = h('tr', {});
      const cls = e.code ? (e.protocol === 'mqtt' && !/refused|denied/.test(e.action) ? 'idle' : 'bad') : 'ok';
      tr.append(h('td', {}, when(e.time, true)), h('td', {}, e.protocol), h('td', {}, h('button', { type: 'button', class: 'link', title: 'Show this entry', onclick: () => show(e, tr) }, e.action || '—')),
        h('td', { class: 'hide-narrow' }, h('code', {}, e.accessKeyId || '')), h('td', {}, e.status), h('td', {}, e.code ? badge(e.code, cls) : badge('OK', 'ok')),
        h('td', { class: 'num hide-narrow' }, e.latencyMs ? e.latencyMs.toFixed(1) : ''), h('td', { class: 'hide-narrow' }, (e.faults || []).join(', ')));
      return tr;
    };
    const matches = (e) => (!f.action || e.action === f.action) && (!f.code || e.code === f.code) && (!f.protocol || e.protocol === f.protocol);
    const setCount = () => { count.textContent = n + ' entries shown, newest first'; };
    const refresh = loader(rows, async () => {
      const r = await get('/requests?' + new URLSearchParams({ action: f.action, code: f.code, protocol: f.protocol }));
      const list = r.requests.slice(-500).reverse();
      n = list.length;
      rows.replaceChildren(...(list.length ? list.map(row) : [h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No entries match.'))]));
      setCount();
    });
    const apply = () => { f.action = action.value.trim(); f.code = code.value.trim(); f.protocol = protocol.value; refresh(); };
    const typed = later(apply, 300);
    action.addEventListener('input', typed);
    code.addEventListener('input', typed);
    protocol.addEventListener('change', apply);
    refresh();
    return {
      refresh,
      onEvent: (ev) => {
        if (ev.kind === 'reset' || ev.kind === 'dropped') { refresh(); return; }
        if ((ev.kind !== 'request' && ev.kind !== 'device') || paused.checked || !matches(ev.data)) return;
        const empty = rows.querySelector('td.empty');
        if (empty) empty.parentNode.remove();
        rows.prepend(row(ev.data));
        if (rows.children.length > 500) rows.lastChild.remove(); else n++;
        setCount();
      },
      stop: () => typed.cancel(),
    };
  }

  function faults(el) {
    const inputs = {
      action: h('input', { id: 'fault-action', list: 'fault-actions', required: true, placeholder: 'an action, or *', autocomplete: 'off' }),
      code: h('input', { id: 'fault-code', placeholder: 'iot.system.SystemException', autocomplete: 'off' }),
      httpStatus: h('input', { id: 'fault-status', type: 'number', min: 100, max: 599 }),
      message: h('input', { id: 'fault-message' }),
      count: h('input', { id: 'fault-count', type: 'number', min: 0, placeholder: '0: every call' }),
      probability: h('input', { id: 'fault-probability', type: 'number', min: 0, max: 1, step: 'any', placeholder: '1' }),
      seed: h('input', { id: 'fault-seed', type: 'number' }),
      latencyMs: h('input', { id: 'fault-latency', type: 'number', min: 0 }),
      accessKeyId: h('input', { id: 'fault-account', placeholder: 'every account' }),
    };
    const list = h('datalist', { id: 'fault-actions' }, h('option', { value: '*' }));
    const body = h('div');
    const numeric = ['httpStatus', 'count', 'probability', 'seed', 'latencyMs'];
    el.append(h('h2', {}, 'Fault rules'), body, h('h3', {}, 'Add a rule'),
      h('form', { class: 'card bar', id: 'add-fault', onsubmit: async (e) => {
        e.preventDefault();
        const rule = {};
        for (const [k, input] of Object.entries(inputs)) {
          if (input.value.trim() !== '') rule[k] = numeric.includes(k) ? Number(input.value) : input.value.trim();
        }
        try {
          const r = await api('POST', '/faults', rule);
          notify('Added rule ' + r.id, true);
          for (const input of Object.values(inputs)) input.value = '';
          refresh();
        } catch (err) { notify(err.message); }
      } }, list, field('Action', inputs.action), field('Code', inputs.code), field('HTTP status', inputs.httpStatus), field('Message', inputs.message),
      field('Count', inputs.count), field('Probability', inputs.probability), field('Seed', inputs.seed), field('Latency (ms)', inputs.latencyMs),
      field('AccessKeyId', inputs.accessKeyId), h('button', { type: 'submit', class: 'primary' }, 'Add')));
    get('/actions').then((r) => list.append(...r.actions.map((a) => h('option', { value: a.name })))).catch((e) => notify(e.message));
    const refresh = loader(body, async () => {
      const r = await get('/faults');
      swap(body, table(['Id', 'Action', 'Code', 'HTTP', 'Count', 'Left', 'Probability', 'Latency', 'Account', 'Hits', ''],
        r.faults.map((x) => h('tr', { 'data-fault': x.id }, h('td', {}, h('code', {}, x.id)), h('td', {}, x.action), h('td', {}, x.code || (x.latencyMs ? '' : 'default')),
          h('td', {}, x.httpStatus || ''), h('td', {}, x.count || '∞'), h('td', {}, x.remaining === null ? '∞' : x.remaining), h('td', {}, x.probability || 1),
          h('td', {}, x.latencyMs ? x.latencyMs + ' ms' : ''), h('td', {}, x.accessKeyId || 'all'), h('td', { class: 'num' }, x.hits),
          h('td', {}, button('Delete', async () => { await api('DELETE', '/faults/' + seg(x.id)); refresh(); }, 'danger', 'del:' + x.id, 'Delete rule ' + x.id)))),
        'No fault rules: every call is answered normally.'),
      r.faults.length ? h('p', {}, button('Delete every rule', async () => { await api('DELETE', '/faults'); refresh(); }, 'danger', 'clear')) : '');
    });
    refresh();
    const soon = later(refresh);
    return { refresh, onEvent: (ev) => { if (ev.kind === 'fault' || ev.kind === 'reset' || ev.kind === 'dropped') soon(); }, stop: () => soon.cancel() };
  }

  function settings(el) {
    const mode = h('select', { id: 'progression-mode' }, ['immediate', 'delay', 'manual', 'polls'].map((m) => h('option', { value: m }, m)));
    const polls = h('input', { id: 'progression-polls', type: 'number', min: 1, value: '3' });
    const now = h('code', {});
    const account = h('select', { id: 'reset-account' });
    const keep = h('input', { type: 'checkbox', id: 'reset-keep' });
    const load = async () => {
      try {
        const [p, s] = await Promise.all([get('/config/progression'), get('/summary')]);
        now.textContent = p.progression;
        const m = p.progression.split(':');
        mode.value = m[0];
        if (m[1]) polls.value = m[1];
        polls.disabled = mode.value !== 'polls';
        account.replaceChildren(...s.credentials.map((c) => h('option', { value: c.accessKeyId }, c.accessKeyId)));
      } catch (e) { notify(e.message); }
    };
    mode.addEventListener('change', () => { polls.disabled = mode.value !== 'polls'; });
    el.append(h('h2', {}, 'Settings'), h('div', { class: 'forms' },
      h('form', { class: 'card', id: 'progression', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await api('PUT', '/config/progression', { progression: mode.value === 'polls' ? 'polls:' + polls.value : mode.value });
          notify('Batch progression: ' + r.progression, true);
          load();
        } catch (err) { notify(err.message); }
      } }, h('h3', {}, 'Batch progression'), h('p', {}, 'Now ', now, '. Batches already waiting are rescheduled.'), field('Policy', mode), field('Polls (for polls:N)', polls),
      h('button', { type: 'submit', class: 'primary' }, 'Apply')),
      h('section', { class: 'card' }, h('h3', {}, 'Reset'),
        h('p', { class: 'muted' }, 'Wipes the state and reloads the fixtures; a full reset also clears the journal and, unless kept, the fault rules and the progression.'),
        h('label', { class: 'inline' }, keep, 'Keep the progression and the fault rules'),
        h('p', {}, button('Reset everything', async () => {
          if (!window.confirm('Reset all state to the fixtures?')) return;
          await api('POST', '/reset' + (keep.checked ? '?keep=config' : ''));
          notify('Reset', true);
          load();
        }, 'danger', 'reset-all')),
        h('div', { class: 'bar' }, field('Account', account), button('Reset this account', async () => {
          if (!account.value || !window.confirm('Reset account ' + account.value + '?')) return;
          await api('POST', '/reset' + akq(account.value));
          notify('Reset ' + account.value, true);
        }, 'danger', 'reset-one'))),
      h('section', { class: 'card' }, h('h3', {}, 'Logs'), h('div', { class: 'actions' },
        button('Clear the request journal', async () => { const r = await api('DELETE', '/requests'); notify('Cleared ' + r.deleted + ' entries', true); }, '', 'clear-journal'),
        button('Clear the message log', async () => { const r = await api('DELETE', '/messages'); notify('Cleared ' + r.cleared + ' messages', true); }, '', 'clear-messages')))));
    load();
    return { refresh: load, onEvent: (ev) => { if (ev.kind === 'reset') load(); } };
  }

  // --- routing ---

  const views = { overview, products, devices, device, batches, batch, journal, faults, settings };
  const section = { device: 'devices', batch: 'batches' };
  let first = true;
  function route() {
    const hash = location.hash.replace(/^#\/?/, '');
    const [path, query] = hash.split('?');
    const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (_) { return p; } });
    const name = views[parts[0]] ? parts[0] : 'overview';
    if (current.stop) current.stop();
    main.replaceChildren();
    current = views[name](main, parts.slice(1), new URLSearchParams(query || '')) || {};
    const active = section[name] || name;
    for (const a of document.querySelectorAll('nav a[data-view]')) {
      if (a.dataset.view === active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    document.title = active[0].toUpperCase() + active.slice(1) + ' · iot-emulator';
    // Keyboard users land on the new view, not back at the top of the nav.
    if (!first) main.focus({ preventScroll: true });
    first = false;
  }
  window.addEventListener('hashchange', route);
  route();
  connect();
})();

// zoneplane web dashboard (docs/architecture.md §7.1). Plain JavaScript, no
// build step, nothing fetched from elsewhere: it speaks the REST API of the
// server that served it, with the API token the user signs in with.
//
// - The token lives in sessionStorage (this tab only), is sent only in the
//   Authorization header and never put into a URL; "Sign out" forgets it.
// - Workloads come from the watch (GET /workloads?watch=true, NDJSON),
//   reconnected with backoff; nodes are polled (GET /nodes).
// - Every value from the server reaches the DOM as text (textContent or text
//   nodes), never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'zoneplane.token';
  const NODE_POLL_MS = 5000;
  const LOG_TAIL = 500;
  const LOG_MAX_LINES = 2000;
  const HISTORY_MAX = 200;
  const STATES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

  const state = {
    token: null,
    workloads: new Map(), // id -> {spec, status}, as the watch last said
    history: new Map(), // id -> [{at, type, state, reason, message, restarts}]
    deleted: new Map(), // id -> last record, for a detail view left open
    nodes: [],
    nodesAt: null,
    nodesError: '',
    watch: { generation: 0, controller: null, attempts: 0, timer: null, synced: false },
    nodeTimer: null,
    nodesSoon: false, // a workload changed: refresh the nodes' allocation soon
    nodesInFlight: false,
    logs: { controller: null, id: null, lines: [], partial: '', retry: null, ended: false },
    renderQueued: false,
    optionKeys: {},
  };

  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers: strings always become text nodes ------------------------
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') e.className = value;
      else if (key === 'text') e.textContent = String(value);
      else if (key.startsWith('on')) e.addEventListener(key.slice(2), value);
      else if (key === 'dataset') Object.assign(e.dataset, value);
      else e.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      e.append(child instanceof Node ? child : String(child));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function badge(text, kind) {
    return el('span', { class: 'badge badge-' + String(kind || text).toLowerCase(), text });
  }

  // ---- formatting -----------------------------------------------------------
  function duration(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) return '–';
    const s = Math.floor(seconds);
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
    return Math.floor(s / 86400) + 'd' + Math.floor((s % 86400) / 3600) + 'h';
  }

  function ageOf(rfc3339) {
    const t = Date.parse(rfc3339 || '');
    return Number.isNaN(t) ? NaN : (Date.now() - t) / 1000;
  }

  function clock(date) {
    const two = (n) => String(n).padStart(2, '0');
    return two(date.getHours()) + ':' + two(date.getMinutes()) + ':' + two(date.getSeconds());
  }

  // "2026-12-02 11:13:34" in the browser's time zone.
  function localTime(date) {
    const two = (n) => String(n).padStart(2, '0');
    return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) + ' ' + clock(date);
  }

  function when(rfc3339) {
    if (!rfc3339) return '';
    const t = new Date(rfc3339);
    if (Number.isNaN(t.getTime())) return String(rfc3339);
    return localTime(t) + ' (' + duration(ageOf(rfc3339)) + ' ago)';
  }

  // ---- the API --------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field || '';
    }
    toString() {
      return (this.status ? this.status + ' ' : '') + this.code + ': ' + this.message;
    }
  }

  function authHeaders(token) {
    return { Authorization: 'Bearer ' + (token || state.token) };
  }

  // The API's error body {"error": {code, message, field?}} as an ApiError.
  async function errorFrom(response) {
    let code = 'HTTP ' + response.status;
    let message = response.statusText || 'request failed';
    let field = '';
    try {
      const body = await response.json();
      if (body && body.error) {
        code = body.error.code || code;
        message = body.error.message || message;
        field = body.error.field || '';
      }
    } catch (e) {
      // Not JSON (a proxy's page): the status line says enough.
    }
    return new ApiError(response.status, code, message, field);
  }

  async function send(method, path, { body, token, signal } = {}) {
    const headers = authHeaders(token);
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'Unavailable', 'cannot reach the server (' + e.message + ')');
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (response.status === 401 && !token) signOut('The server no longer accepts the token: ' + error.message);
      throw error;
    }
    return response;
  }

  async function api(method, path, options) {
    const response = await send(method, path, options);
    return response.json();
  }

  // ---- sign in and out ------------------------------------------------------
  async function signIn(event) {
    event.preventDefault();
    const input = $('token');
    const token = input.value.trim();
    const error = $('signin-error');
    error.textContent = '';
    if (!token) {
      error.textContent = 'Enter an API token.';
      input.focus();
      return;
    }
    $('signin-button').disabled = true;
    try {
      await api('GET', '/nodes', { token });
      sessionStorage.setItem(TOKEN_KEY, token);
      input.value = '';
      start(token);
    } catch (e) {
      error.textContent =
        e.status === 401 ? 'The server refused this token (' + e.message + ').' : 'Sign-in failed: ' + e.toString();
    } finally {
      $('signin-button').disabled = false;
    }
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    stopWatch();
    stopLogs();
    clearTimeout(state.nodeTimer);
    state.workloads.clear();
    state.history.clear();
    state.deleted.clear();
    state.nodes = [];
    rowsById.clear();
    clear($('workloads'));
    for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
    show($('dashboard-view'), false);
    show($('detail-view'), false);
    show($('sign-out'), false);
    show($('live'), false);
    show($('banner'), false);
    show($('signin-view'), true);
    $('signin-error').textContent = message || '';
    $('token').focus();
  }

  function start(token) {
    state.token = token;
    show($('signin-view'), false);
    show($('sign-out'), true);
    show($('live'), true);
    startWatch();
    pollNodes();
    route();
  }

  // ---- the watch: every workload, live ----------------------------------------
  // The watch's state in the top bar; while it is down, a banner says the
  // list may be out of date and why.
  function setLive(kind, text, problem) {
    const live = $('live');
    live.className = 'live live-' + kind;
    $('live-text').textContent = text;
    const banner = $('banner');
    banner.textContent = problem
      ? 'Live updates stopped (' + problem + '); ' + text + '. The list below may be out of date.'
      : '';
    show(banner, Boolean(problem));
  }

  function stopWatch() {
    state.watch.generation++;
    if (state.watch.controller) state.watch.controller.abort();
    clearTimeout(state.watch.timer);
    state.watch.controller = null;
  }

  function addHistory(id, workload, type) {
    const status = workload.status || {};
    const entry = {
      at: new Date(),
      type,
      state: status.state || '',
      reason: status.reason || '',
      message: status.message || '',
      restarts: status.restart_count || 0,
    };
    const list = state.history.get(id) || [];
    const last = list[list.length - 1];
    const same =
      last &&
      last.state === entry.state &&
      last.reason === entry.reason &&
      last.message === entry.message &&
      last.restarts === entry.restarts;
    if (same && type !== 'DELETED') return;
    list.push(entry);
    if (list.length > HISTORY_MAX) list.splice(0, list.length - HISTORY_MAX);
    state.history.set(id, list);
  }

  function applyEvent(event, seen) {
    if (event.type === 'ERROR') {
      const error = event.error || {};
      throw new ApiError(0, error.code || 'Error', error.message || 'the watch failed');
    }
    const workload = event.workload;
    if (!workload || !workload.spec) return;
    const id = workload.spec.id;
    seen.add(id);
    if (event.type === 'DELETED') {
      state.workloads.delete(id);
      state.deleted.set(id, workload);
    } else {
      state.workloads.set(id, workload);
      state.deleted.delete(id);
    }
    addHistory(id, workload, event.type);
    nodesSoon();
    if (id === state.logs.id) maybeStartLogs();
  }

  async function watchOnce(generation) {
    const controller = new AbortController();
    state.watch.controller = controller;
    const response = await send('GET', '/workloads?watch=true', { signal: controller.signal });
    if (generation !== state.watch.generation) return;
    setLive('on', 'live');
    state.watch.attempts = 0;
    // The stream starts with every workload as ADDED: once those had time to
    // arrive, what was not among them is gone (deleted while reconnecting).
    const seen = new Set();
    setTimeout(() => {
      if (generation !== state.watch.generation) return;
      for (const id of [...state.workloads.keys()]) {
        if (!seen.has(id)) state.workloads.delete(id);
      }
      state.watch.synced = true;
      scheduleRender();
    }, 1500);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) applyEvent(JSON.parse(line), seen);
      }
      scheduleRender();
    }
    throw new ApiError(0, 'Unavailable', 'the watch stream ended');
  }

  async function startWatch() {
    stopWatch();
    const generation = state.watch.generation;
    setLive('connecting', 'connecting');
    try {
      await watchOnce(generation);
    } catch (e) {
      if (generation !== state.watch.generation || !state.token) return;
      if (e.status === 401) return; // signed out already
      state.watch.attempts++;
      const delay = Math.min(30000, 500 * 2 ** Math.min(state.watch.attempts, 6)) + Math.random() * 250;
      setLive('off', 'reconnecting in ' + Math.ceil(delay / 1000) + 's', String(e.message || e));
      state.watch.timer = setTimeout(() => {
        if (generation === state.watch.generation && state.token) startWatch();
      }, delay);
    }
  }

  // ---- nodes: polled ----------------------------------------------------------
  async function pollNodes() {
    clearTimeout(state.nodeTimer);
    if (!state.token) return;
    state.nodesSoon = false;
    state.nodesInFlight = true;
    try {
      const body = await api('GET', '/nodes');
      state.nodes = Array.isArray(body.items) ? body.items : [];
      state.nodesAt = new Date();
      state.nodesError = '';
    } catch (e) {
      state.nodesError = e.toString();
    } finally {
      state.nodesInFlight = false;
    }
    scheduleRender();
    clearTimeout(state.nodeTimer);
    if (state.token) state.nodeTimer = setTimeout(pollNodes, state.nodesSoon ? 1000 : NODE_POLL_MS);
  }

  // After a workload event: the nodes' allocation changed, refresh within a
  // second (at most once a second however many events come).
  function nodesSoon() {
    if (state.nodesSoon) return;
    state.nodesSoon = true;
    if (state.nodesInFlight) return; // pollNodes schedules the next one
    clearTimeout(state.nodeTimer);
    state.nodeTimer = setTimeout(pollNodes, 1000);
  }

  // ---- rendering --------------------------------------------------------------
  function scheduleRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(() => {
      state.renderQueued = false;
      render();
    });
  }

  function render() {
    if (!state.token) return;
    if ($('dashboard-view').hidden && $('detail-view').hidden) return;
    if (!$('dashboard-view').hidden) {
      renderSummary();
      renderNodes();
      renderFilters();
      renderWorkloads();
    }
    if (!$('detail-view').hidden) renderDetail();
  }

  function classesOffered() {
    const classes = new Set();
    for (const node of state.nodes) for (const c of node.runtime_classes || []) classes.add(c);
    return [...classes].sort();
  }

  function renderSummary() {
    const counts = {};
    for (const w of state.workloads.values()) {
      const s = (w.status && w.status.state) || 'Unknown';
      counts[s] = (counts[s] || 0) + 1;
    }
    const ready = state.nodes.filter((n) => n.state === 'Ready').length;
    let cpuUsed = 0, cpuCap = 0, memUsed = 0, memCap = 0;
    for (const n of state.nodes) {
      cpuUsed += (n.allocated && n.allocated.cpu_millicores) || 0;
      cpuCap += (n.capacity && n.capacity.cpu_millicores) || 0;
      memUsed += (n.allocated && n.allocated.memory_mb) || 0;
      memCap += (n.capacity && n.capacity.memory_mb) || 0;
    }
    const tile = (label, value, kind) =>
      el('div', { class: 'tile' + (kind ? ' tile-' + kind : '') }, el('div', { class: 'tile-value', text: value }),
        el('div', { class: 'tile-label', text: label }));
    const pct = (a, b) => (b > 0 ? Math.round((100 * a) / b) + '%' : '–');
    clear($('summary')).append(
      tile('nodes ready', ready + ' / ' + state.nodes.length, ready < state.nodes.length ? 'warn' : ''),
      tile('running', counts.Running || 0, counts.Running ? 'running' : ''),
      tile('pending', counts.Pending || 0, counts.Pending ? 'pending' : ''),
      tile('failed', counts.Failed || 0, counts.Failed ? 'failed' : ''),
      tile('succeeded', counts.Succeeded || 0),
      tile('CPU allocated', pct(cpuUsed, cpuCap)),
      tile('memory allocated', pct(memUsed, memCap)),
    );
  }

  function bar(label, used, total, unit) {
    const fraction = total > 0 ? Math.min(1, used / total) : 0;
    const fill = el('div', { class: 'bar-fill' + (fraction > 0.9 ? ' hot' : fraction > 0.7 ? ' warm' : '') });
    fill.style.width = (fraction * 100).toFixed(1) + '%';
    return el('div', { class: 'bar-row' },
      el('span', { class: 'bar-label', text: label }),
      el('div', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': used,
        'aria-label': label }, fill),
      el('span', { class: 'bar-text', text: used + ' / ' + total + ' ' + unit }));
  }

  function classChip(name, isolation) {
    const level = (isolation && isolation.level) || 'unverified';
    const quarantined = isolation && isolation.quarantined;
    const score = isolation && Number.isFinite(isolation.score) ? String(isolation.score) : '–';
    const details = [];
    if (isolation) {
      if (isolation.claim) details.push('claims ' + isolation.claim);
      if (isolation.verified_at) details.push('verified ' + when(isolation.verified_at));
      if (Array.isArray(isolation.findings)) details.push(isolation.findings.length + ' finding(s)');
      if (isolation.error) details.push('probe error: ' + isolation.error);
    } else {
      details.push('not verified yet');
    }
    return el('span', {
      class: 'chip level-' + level + (quarantined ? ' quarantined' : ''),
      title: details.join('; '),
      dataset: { class: name },
    },
    el('span', { class: 'chip-name', text: name }),
    el('span', { class: 'chip-level', text: quarantined ? 'quarantined' : level }),
    el('span', { class: 'chip-score', text: score }));
  }

  function renderNodes() {
    const box = clear($('nodes'));
    $('nodes-note').textContent = state.nodesError
      ? 'refresh failed: ' + state.nodesError
      : state.nodesAt ? 'updated ' + clock(state.nodesAt) + ' · every ' + NODE_POLL_MS / 1000 + 's' : 'loading…';
    $('nodes-note').classList.toggle('error-text', Boolean(state.nodesError));
    if (state.nodes.length === 0) {
      box.append(el('p', { class: 'empty', text: state.nodesAt ? 'No nodes. Add one with POST /nodes or the server config.' : 'Loading nodes…' }));
      return;
    }
    for (const node of state.nodes) {
      const capacity = node.capacity || {};
      const allocated = node.allocated || {};
      const byClass = new Map((node.isolation || []).map((c) => [c.runtime_class, c]));
      const classes = node.runtime_classes || [];
      box.append(el('article', { class: 'node card', dataset: { id: node.id } },
        el('div', { class: 'node-head' },
          el('span', { class: 'node-id', text: node.id }),
          badge(node.state || 'Unknown'),
          node.schedulable === false ? badge('cordoned', 'cordoned') : null,
          el('span', { class: 'spacer' }),
          el('span', { class: 'muted small', text: node.address || '' })),
        node.state !== 'Ready' && (node.reason || node.message)
          ? el('p', { class: 'node-reason', text: [node.reason, node.message].filter(Boolean).join(': ') })
          : null,
        bar('CPU', allocated.cpu_millicores || 0, capacity.cpu_millicores || 0, 'm'),
        bar('Memory', allocated.memory_mb || 0, capacity.memory_mb || 0, 'MiB'),
        el('div', { class: 'chips' }, classes.length ? classes.map((c) => classChip(c, byClass.get(c)))
          : el('span', { class: 'muted small', text: 'no runtime classes' })),
        el('div', { class: 'node-foot muted small' },
          el('span', { text: (node.workloads || 0) + ' workload(s)' }),
          el('span', { text: node.last_heartbeat ? 'heartbeat ' + duration(ageOf(node.last_heartbeat)) + ' ago' : 'no heartbeat yet' }),
          el('span', { text: node.version ? 'agent ' + node.version : '' }))));
    }
  }

  // Replaces a select's options only when they change (keeps the user's choice).
  function setOptions(select, values, allLabel) {
    const key = values.join('\n');
    if (state.optionKeys[select.id] === key) return;
    state.optionKeys[select.id] = key;
    const current = select.value;
    clear(select).append(el('option', { value: '', text: allLabel }), ...values.map((v) => el('option', { value: v, text: v })));
    select.value = values.includes(current) ? current : '';
  }

  function renderFilters() {
    setOptions($('filter-state'), STATES, 'all');
    const nodes = new Set(state.nodes.map((n) => n.id));
    for (const w of state.workloads.values()) if (w.status && w.status.node) nodes.add(w.status.node);
    setOptions($('filter-node'), [...nodes].sort(), 'all');
    const classes = new Set(classesOffered());
    for (const w of state.workloads.values()) if (w.spec.runtime_class) classes.add(w.spec.runtime_class);
    setOptions($('filter-class'), [...classes].sort(), 'all');
  }

  function filtered() {
    const stateFilter = $('filter-state').value;
    const nodeFilter = $('filter-node').value;
    const classFilter = $('filter-class').value;
    const text = $('filter-text').value.trim().toLowerCase();
    const out = [];
    for (const w of state.workloads.values()) {
      const status = w.status || {};
      if (stateFilter && status.state !== stateFilter) continue;
      if (nodeFilter && status.node !== nodeFilter) continue;
      if (classFilter && w.spec.runtime_class !== classFilter) continue;
      if (text && !w.spec.id.toLowerCase().includes(text) && !String(w.spec.image || '').toLowerCase().includes(text)) continue;
      out.push(w);
    }
    // Newest first.
    out.sort((a, b) => String(b.status.created_at || '').localeCompare(String(a.status.created_at || '')) ||
      a.spec.id.localeCompare(b.spec.id));
    return out;
  }

  // One table row; rebuilt only when what it shows changes (besides the
  // age), so a row under the pointer is not replaced while it is clicked.
  function workloadRow(w) {
    const status = w.status || {};
    const id = w.spec.id;
    const age = el('td', { class: 'num age', text: duration(ageOf(status.created_at)) });
    const tr = el('tr', { dataset: { id, state: status.state || '' } },
      el('td', {}, el('a', { href: '#/workloads/' + encodeURIComponent(id), class: 'mono', text: id })),
      el('td', {}, badge(status.state || 'Unknown'),
        status.reason ? el('span', { class: 'reason', text: status.reason, title: status.message || '' }) : null),
      el('td', { text: w.spec.runtime_class || '–' }),
      el('td', { text: status.node || '–' }),
      el('td', { class: 'mono ellipsis', text: w.spec.image || '', title: w.spec.image || '' }),
      age,
      el('td', { class: 'num' + (status.restart_count ? ' warn-text' : ''), text: status.restart_count || 0 }),
      el('td', { class: 'actions' }, el('button', {
        type: 'button', class: 'small ghost danger-text', text: 'Delete', 'aria-label': 'Delete ' + id,
        onclick: () => openDelete(id),
      })));
    return { tr, age, key: JSON.stringify([status.state, status.reason, status.message, status.node,
      status.restart_count, w.spec.runtime_class, w.spec.image]) };
  }

  const rowsById = new Map(); // id -> {tr, age, key}

  function renderWorkloads() {
    const list = filtered();
    const body = $('workloads');
    $('workloads-count').textContent = list.length === state.workloads.size
      ? state.workloads.size + ' total' : list.length + ' of ' + state.workloads.size + ' shown';
    const wanted = new Set(list.map((w) => w.spec.id));
    for (const [id, row] of rowsById) {
      if (!wanted.has(id)) {
        row.tr.remove();
        rowsById.delete(id);
      }
    }
    list.forEach((w, index) => {
      const id = w.spec.id;
      let row = rowsById.get(id);
      const fresh = workloadRow(w);
      if (!row || row.key !== fresh.key) {
        if (row) row.tr.replaceWith(fresh.tr);
        row = fresh;
        rowsById.set(id, row);
      } else {
        row.age.textContent = fresh.age.textContent;
      }
      if (body.children[index] !== row.tr) body.insertBefore(row.tr, body.children[index] || null);
    });
    const empty = $('workloads-empty');
    empty.textContent = state.workloads.size === 0
      ? (state.watch.synced ? 'No workloads yet. Submit one with “New workload”.' : 'Loading workloads…')
      : 'No workload matches the filters.';
    show(empty, list.length === 0);
  }

  // ---- one workload -------------------------------------------------------------
  function detailId() {
    const match = /^#\/workloads\/(.+)$/.exec(location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function kvRow(key, value, cls) {
    if (value === undefined || value === null || value === '') return null;
    return el('tr', {}, el('th', { text: key }), el('td', { class: cls || '', text: String(value) }));
  }

  function renderDetail() {
    const id = detailId();
    if (!id) return;
    const live = state.workloads.get(id);
    const workload = live || state.deleted.get(id);
    $('detail-title').textContent = id;
    const banner = $('detail-banner');
    if (!workload) {
      clear($('detail-state'));
      clear($('detail-status'));
      $('detail-spec').textContent = '';
      banner.textContent = state.watch.synced ? 'No workload "' + id + '" (it may have been deleted).' : 'Loading…';
      show(banner, true);
      $('detail-delete').disabled = true;
      renderHistory(id);
      return;
    }
    banner.textContent = live ? '' : 'This workload was deleted; its last record is shown.';
    show(banner, !live);
    $('detail-delete').disabled = !live;
    const status = workload.status || {};
    const spec = workload.spec || {};
    clear($('detail-state')).append(badge(status.state || 'Unknown'));
    const isolation = status.isolation
      ? status.isolation.level + ' · score ' + status.isolation.score + (status.isolation.quarantined ? ' · quarantined' : '')
      : '';
    clear($('detail-status')).append(...[
      kvRow('State', status.state),
      kvRow('Reason', status.reason),
      kvRow('Message', status.message),
      kvRow('Node', status.node),
      kvRow('Runtime class', spec.runtime_class),
      kvRow('Runtime handler', status.runtime_handler),
      kvRow('Isolation', isolation),
      kvRow('Image', spec.image, 'mono'),
      kvRow('Restarts', status.restart_count),
      kvRow('Exit code', status.exit_code),
      kvRow('Profile', status.profile),
      kvRow('Runs as', status.run_as_user !== undefined ? 'uid ' + status.run_as_user + ', gid ' + status.run_as_group : ''),
      kvRow('Created', when(status.created_at)),
      kvRow('Started', when(status.started_at)),
      kvRow('Finished', when(status.finished_at)),
      kvRow('Placement uid', status.uid, 'mono'),
    ].filter(Boolean));
    $('detail-spec').textContent = JSON.stringify(spec, null, 2);
    renderHistory(id);
  }

  function renderHistory(id) {
    const body = clear($('detail-history'));
    const list = state.history.get(id) || [];
    for (const entry of [...list].reverse()) {
      body.append(el('tr', {},
        el('td', { class: 'mono', text: clock(entry.at) }),
        el('td', { text: entry.type }),
        el('td', {}, badge(entry.state || 'Unknown')),
        el('td', { text: entry.reason }),
        el('td', { text: entry.message }),
        el('td', { class: 'num', text: entry.restarts })));
    }
    if (list.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'empty', text: 'No events seen yet.' })));
  }

  // ---- logs: followed while the detail view is open ------------------------------
  function stopLogs() {
    const logs = state.logs;
    if (logs.controller) logs.controller.abort();
    clearTimeout(logs.retry);
    Object.assign(logs, { controller: null, id: null, lines: [], partial: '', retry: null, ended: false });
  }

  function setLogStatus(text, kind) {
    const node = $('logs-status');
    node.textContent = text;
    node.className = 'small ' + (kind === 'error' ? 'error-text' : kind === 'live' ? 'live-text' : 'muted');
  }

  function drawLogs() {
    const pre = $('logs');
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const lines = state.logs.partial ? [...state.logs.lines, state.logs.partial] : state.logs.lines;
    pre.textContent = lines.length ? lines.join('\n') : '';
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  // Starts following the open workload's log once it is placed on a node.
  function maybeStartLogs() {
    const logs = state.logs;
    if (!logs.id || logs.controller || logs.retry || logs.ended) return;
    const workload = state.workloads.get(logs.id);
    if (!workload || !workload.status || !workload.status.node) {
      setLogStatus(workload ? 'waiting for the workload to be placed on a node' : '', '');
      return;
    }
    followLogs(logs.id);
  }

  async function followLogs(id) {
    const logs = state.logs;
    const controller = new AbortController();
    logs.controller = controller;
    logs.lines = [];
    logs.partial = '';
    setLogStatus('connecting…', '');
    try {
      const path = '/workloads/' + encodeURIComponent(id) + '/logs?follow=true&tail=' + LOG_TAIL;
      const response = await send('GET', path, { signal: controller.signal });
      setLogStatus('following', 'live');
      drawLogs();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parts = (logs.partial + value).split('\n');
        logs.partial = parts.pop();
        logs.lines.push(...parts);
        if (logs.lines.length > LOG_MAX_LINES) logs.lines.splice(0, logs.lines.length - LOG_MAX_LINES);
        drawLogs();
      }
      if (logs.controller !== controller) return;
      logs.controller = null;
      logs.ended = true;
      setLogStatus('log ended (the workload finished)', '');
    } catch (e) {
      if (e.name === 'AbortError' || logs.controller !== controller) return;
      logs.controller = null;
      if (e.status === 401) return;
      if (e.status === 403 || e.status === 404) {
        // Not allowed (a viewer token reads no logs), or no such workload:
        // trying again would not change that.
        logs.ended = true;
        setLogStatus(e.toString(), 'error');
        return;
      }
      // 409: not placed yet; anything else: try again a little later.
      setLogStatus(e.toString() + ' · retrying', 'error');
      logs.retry = setTimeout(() => {
        logs.retry = null;
        if (logs.id === id) maybeStartLogs();
      }, 3000);
    }
  }

  // ---- routing between the dashboard and one workload -------------------------------
  function route() {
    if (!state.token) return;
    const id = detailId();
    show($('dashboard-view'), !id);
    show($('detail-view'), Boolean(id));
    if (id !== state.logs.id) {
      stopLogs();
      $('logs').textContent = '';
      setLogStatus('', '');
      if (id) {
        state.logs.id = id;
        maybeStartLogs();
      }
    }
    render();
  }

  // ---- toasts and the banner ------------------------------------------------------
  function toast(text, kind) {
    const node = el('div', { class: 'toast' + (kind ? ' toast-' + kind : ''), role: 'status', text });
    $('toasts').append(node);
    setTimeout(() => node.remove(), 6000);
  }

  // ---- submitting a workload ----------------------------------------------------------
  const FIELD_ERRORS = ['id', 'image', 'command', 'runtime_class', 'trust', 'memory_mb', 'cpu_millicores',
    'restart_policy', 'env'];
  const FIELD_INPUTS = {
    id: 'f-id', image: 'f-image', command: 'f-command', runtime_class: 'f-class', trust: 'f-trust',
    memory_mb: 'f-memory', cpu_millicores: 'f-cpu', restart_policy: 'f-restart', env: 'f-env',
  };

  function clearFormErrors() {
    for (const field of FIELD_ERRORS) {
      $('e-' + field).textContent = '';
      $(FIELD_INPUTS[field]).removeAttribute('aria-invalid');
    }
    $('create-error').textContent = '';
    show($('create-error'), false);
  }

  function fieldError(field, message) {
    const base = String(field || '').split(/[.[]/)[0];
    const slot = FIELD_ERRORS.includes(base) ? base : base === 'args' ? 'command' : null;
    if (!slot) return false;
    $('e-' + slot).textContent = message;
    $(FIELD_INPUTS[slot]).setAttribute('aria-invalid', 'true');
    return true;
  }

  function openCreate() {
    clearFormErrors();
    const classSelect = $('f-class');
    const current = classSelect.value;
    const classes = classesOffered();
    clear(classSelect).append(el('option', { value: '', text: 'server picks' }),
      ...classes.map((c) => el('option', { value: c, text: c })));
    classSelect.value = classes.includes(current) ? current : '';
    const images = new Set();
    for (const w of state.workloads.values()) if (w.spec.image) images.add(w.spec.image);
    clear($('image-list')).append(...[...images].sort().map((i) => el('option', { value: i })));
    $('create-dialog').showModal();
    $('f-image').focus();
  }

  // The form as a workload spec, or {errors} for what is wrong in it. The
  // server checks everything again; this only catches the obvious early.
  function readForm() {
    const errors = {};
    const spec = {};
    const id = $('f-id').value.trim();
    if (id) {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(id) || id.length > 63) {
        errors.id = 'The id must be a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit.';
      }
      spec.id = id;
    }
    const image = $('f-image').value.trim();
    if (!image) errors.image = 'An image is required.';
    else if (/\s/.test(image)) errors.image = 'An image reference has no spaces.';
    spec.image = image;
    const command = $('f-command').value.trim();
    if (command) {
      if ($('f-shell').checked) {
        spec.command = ['sh', '-c', command];
      } else if (command.startsWith('[')) {
        try {
          const parsed = JSON.parse(command);
          if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === 'string')) throw new Error();
          spec.command = parsed;
        } catch (e) {
          errors.command = 'A command starting with "[" must be a JSON array of strings, e.g. ["sleep", "60"].';
        }
      } else {
        spec.command = command.split(/\s+/);
      }
    }
    for (const [field, input] of [['memory_mb', 'f-memory'], ['cpu_millicores', 'f-cpu']]) {
      const text = $(input).value.trim();
      if (!text) continue;
      if (!/^[0-9]+$/.test(text)) errors[field] = 'Enter a whole number.';
      else spec[field] = Number(text);
    }
    if ($('f-class').value) spec.runtime_class = $('f-class').value;
    if ($('f-trust').value) spec.trust = $('f-trust').value;
    if ($('f-restart').value) spec.restart_policy = $('f-restart').value;
    const env = {};
    const lines = $('f-env').value.split('\n').map((l) => l.trim()).filter(Boolean);
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) {
        errors.env = 'Each line must be KEY=VALUE; "' + line.slice(0, 40) + '" is not.';
        break;
      }
      env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    if (lines.length) spec.env = env;
    return { spec, errors };
  }

  async function submitCreate(event) {
    event.preventDefault();
    clearFormErrors();
    const { spec, errors } = readForm();
    const wrong = Object.entries(errors);
    if (wrong.length) {
      for (const [field, message] of wrong) fieldError(field, message);
      $(FIELD_INPUTS[wrong[0][0]]).focus();
      return;
    }
    const button = $('create-submit');
    button.disabled = true;
    try {
      const created = await api('POST', '/workloads', { body: spec });
      $('create-dialog').close();
      $('create-form').reset();
      const id = created.spec.id;
      state.workloads.set(id, created);
      addHistory(id, created, 'CREATED');
      toast('Workload ' + id + ' submitted', 'ok');
      location.hash = '#/workloads/' + encodeURIComponent(id);
    } catch (e) {
      if (!(e.field && fieldError(e.field, e.message))) {
        $('create-error').textContent = e.toString();
        show($('create-error'), true);
      }
    } finally {
      button.disabled = false;
    }
  }

  // ---- deleting with confirmation ---------------------------------------------------
  let deleting = null;

  function openDelete(id) {
    deleting = id;
    $('delete-name').textContent = id;
    $('e-grace').textContent = '';
    $('delete-error').textContent = '';
    show($('delete-error'), false);
    $('delete-dialog').showModal();
    $('delete-cancel').focus();
  }

  async function confirmDelete(event) {
    event.preventDefault();
    const grace = $('f-grace').value.trim();
    if (!/^[0-9]+$/.test(grace) || Number(grace) > 300) {
      $('e-grace').textContent = 'Enter a whole number of seconds from 0 to 300.';
      return;
    }
    const id = deleting;
    const button = $('delete-confirm');
    button.disabled = true;
    try {
      await api('DELETE', '/workloads/' + encodeURIComponent(id) + '?grace_seconds=' + grace);
      $('delete-dialog').close();
      toast('Workload ' + id + ' deleted', 'ok');
      if (detailId() === id) location.hash = '#/';
    } catch (e) {
      $('delete-error').textContent = e.toString();
      show($('delete-error'), true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- wiring ---------------------------------------------------------------------------
  function init() {
    $('signin-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', () => signOut('Signed out.'));
    $('new-workload').addEventListener('click', openCreate);
    $('create-form').addEventListener('submit', submitCreate);
    $('create-cancel').addEventListener('click', () => $('create-dialog').close());
    $('delete-form').addEventListener('submit', confirmDelete);
    $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
    $('detail-delete').addEventListener('click', () => {
      const id = detailId();
      if (id) openDelete(id);
    });
    for (const id of ['filter-state', 'filter-node', 'filter-class']) $(id).addEventListener('change', render);
    $('filter-text').addEventListener('input', render);
    window.addEventListener('hashchange', route);
    // Ages and heartbeats move on without events.
    setInterval(scheduleRender, 5000);

    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) start(token);
    else signOut('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();

// One workload: its status, the history the watch reported, its spec, and
// its log followed live (GET /workloads/{id}/logs?follow=true).
import { badge, clear, clock, el, show, when } from './dom.js';
import { send } from './api.js';
import { $, LOG_MAX_LINES, LOG_TAIL, state } from './state.js';

export function detailId() {
  const match = /^#\/workloads\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function kvRow(key, value, cls) {
  if (value === undefined || value === null || value === '') return null;
  return el('tr', {}, el('th', { text: key }), el('td', { class: cls || '', text: String(value) }));
}

export function renderDetail() {
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

// ---- logs: followed while the detail view is open
export function stopLogs() {
  const logs = state.logs;
  if (logs.controller) logs.controller.abort();
  clearTimeout(logs.retry);
  Object.assign(logs, { controller: null, id: null, lines: [], partial: '', retry: null, ended: false });
}

export function setLogStatus(text, kind) {
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
export function maybeStartLogs() {
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

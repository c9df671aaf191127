// The data the page shows: every workload from the watch (GET
// /workloads?watch=true, NDJSON, reconnected with backoff) and the nodes,
// polled (GET /nodes).
import { show } from './dom.js';
import { ApiError, api, send } from './api.js';
import { $, DELETED_KEPT, HISTORY_MAX, NODE_POLL_MS, hooks, state } from './state.js';

// The watch's state in the top bar; while it is down, a banner says the
// list may be out of date and why.
export function setLive(kind, text, problem) {
  const live = $('live');
  live.className = 'live live-' + kind;
  $('live-text').textContent = text;
  const banner = $('banner');
  banner.textContent = problem
    ? 'Live updates stopped (' + problem + '); ' + text + '. The list below may be out of date.'
    : '';
  show(banner, Boolean(problem));
}

export function stopWatch() {
  state.watch.generation++;
  if (state.watch.controller) state.watch.controller.abort();
  clearTimeout(state.watch.timer);
  state.watch.controller = null;
}

export function addHistory(id, workload, type) {
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

// A workload is gone: its last record and history are kept for a view left
// open on it, for the last DELETED_KEPT of them.
function forget(id, workload) {
  state.workloads.delete(id);
  state.deleted.delete(id);
  state.deleted.set(id, workload);
  while (state.deleted.size > DELETED_KEPT) {
    const oldest = state.deleted.keys().next().value;
    state.deleted.delete(oldest);
    state.history.delete(oldest);
  }
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
    forget(id, workload);
  } else {
    state.workloads.set(id, workload);
    state.deleted.delete(id);
  }
  addHistory(id, workload, event.type);
  nodesSoon();
  hooks.workloadChanged(id);
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
    for (const [id, workload] of [...state.workloads]) {
      if (!seen.has(id)) forget(id, workload);
    }
    state.watch.synced = true;
    hooks.render();
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
    hooks.render();
  }
  throw new ApiError(0, 'Unavailable', 'the watch stream ended');
}

export async function startWatch() {
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

// ---- nodes: polled
export async function pollNodes() {
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
  hooks.render();
  clearTimeout(state.nodeTimer);
  if (state.token) state.nodeTimer = setTimeout(pollNodes, state.nodesSoon ? 1000 : NODE_POLL_MS);
}

// After a workload event: the nodes' allocation changed, refresh within a
// second (at most once a second however many events come).
export function nodesSoon() {
  if (state.nodesSoon) return;
  state.nodesSoon = true;
  if (state.nodesInFlight) return; // pollNodes schedules the next one
  clearTimeout(state.nodeTimer);
  state.nodeTimer = setTimeout(pollNodes, 1000);
}

// zoneplane web dashboard (docs/architecture.md §7.1). Plain JavaScript
// modules, no build step, nothing fetched from elsewhere: it speaks the REST
// API of the server that served it, with the API token the user signs in
// with.
//
// - The token lives in sessionStorage (this tab only), is sent only in the
//   Authorization header and never put into a URL; "Sign out" forgets it.
// - Workloads come from the watch, nodes are polled (data.js).
// - Every value from the server reaches the DOM as text (dom.js).
//
// This module: signing in and out, routing between the dashboard and one
// workload (#/workloads/<id>), rendering, and wiring the page's controls.
import { show } from './dom.js';
import { api } from './api.js';
import { pollNodes, startWatch, stopWatch } from './data.js';
import { detailId, maybeStartLogs, renderDetail, setLogStatus, stopLogs } from './detail.js';
import { confirmDelete, openCreate, openDelete, submitCreate } from './dialogs.js';
import { renderFilters, renderNodes, renderSummary, renderWorkloads, resetWorkloadRows } from './overview.js';
import { $, TOKEN_KEY, hooks, state } from './state.js';

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
  resetWorkloadRows();
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

// ---- rendering
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

// ---- routing between the dashboard and one workload
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

// ---- wiring
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

hooks.render = scheduleRender;
hooks.unauthorized = signOut;
hooks.workloadChanged = (id) => {
  if (id === state.logs.id) maybeStartLogs();
};

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();

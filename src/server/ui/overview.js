// The dashboard: summary tiles, the nodes with capacity bars and their
// classes' verified isolation, and the filtered workload list.
import { ageOf, badge, clear, clock, duration, el, show, when } from './dom.js';
import { openDelete } from './dialogs.js';
import { $, NODE_POLL_MS, STATES, state } from './state.js';

export function classesOffered() {
  const classes = new Set();
  for (const node of state.nodes) for (const c of node.runtime_classes || []) classes.add(c);
  return [...classes].sort();
}

export function renderSummary() {
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

export function renderNodes() {
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

export function renderFilters() {
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

// Forgets the rows (signing out).
export function resetWorkloadRows() {
  rowsById.clear();
  clear($('workloads'));
}

export function renderWorkloads() {
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

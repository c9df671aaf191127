// The dashboard's shared state and the hooks its modules call one another
// through (app.js sets them). One page, one thread: no locking anywhere.

export const TOKEN_KEY = 'zoneplane.token';
export const NODE_POLL_MS = 5000;
export const LOG_TAIL = 500;
export const LOG_MAX_LINES = 2000;
export const HISTORY_MAX = 200; // status changes kept per workload
export const DELETED_KEPT = 100; // deleted workloads whose last record is kept
export const STATES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

export const state = {
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

// Set by app.js: render() soon; a workload changed; the server refused the token.
export const hooks = {
  render: () => {},
  workloadChanged: (id) => {},
  unauthorized: (message) => {},
};

export const $ = (id) => document.getElementById(id);

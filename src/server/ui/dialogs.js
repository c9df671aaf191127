// The dialogs: submitting a workload (with validation messages, the form's
// own and the server's) and deleting one after confirmation.
import { clear, el, show, toast } from './dom.js';
import { api } from './api.js';
import { addHistory } from './data.js';
import { detailId } from './detail.js';
import { classesOffered } from './overview.js';
import { $, state } from './state.js';

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

export function openCreate() {
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

export async function submitCreate(event) {
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

// ---- deleting with confirmation
let deleting = null;

export function openDelete(id) {
  deleting = id;
  $('delete-name').textContent = id;
  $('e-grace').textContent = '';
  $('delete-error').textContent = '';
  show($('delete-error'), false);
  $('delete-dialog').showModal();
  $('delete-cancel').focus();
}

export async function confirmDelete(event) {
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

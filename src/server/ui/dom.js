// DOM and formatting helpers. Strings always become text nodes or
// textContent, never HTML.
import { $ } from './state.js';

export function el(tag, props, ...children) {
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

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function badge(text, kind) {
  return el('span', { class: 'badge badge-' + String(kind || text).toLowerCase(), text });
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  return Math.floor(s / 86400) + 'd' + Math.floor((s % 86400) / 3600) + 'h';
}

export function ageOf(rfc3339) {
  const t = Date.parse(rfc3339 || '');
  return Number.isNaN(t) ? NaN : (Date.now() - t) / 1000;
}

export function clock(date) {
  const two = (n) => String(n).padStart(2, '0');
  return two(date.getHours()) + ':' + two(date.getMinutes()) + ':' + two(date.getSeconds());
}

// "2026-12-02 11:13:34" in the browser's time zone.
export function localTime(date) {
  const two = (n) => String(n).padStart(2, '0');
  return date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) + ' ' + clock(date);
}

export function when(rfc3339) {
  if (!rfc3339) return '';
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return String(rfc3339);
  return localTime(t) + ' (' + duration(ageOf(rfc3339)) + ' ago)';
}

export function toast(text, kind) {
  const node = el('div', { class: 'toast' + (kind ? ' toast-' + kind : ''), role: 'status', text });
  $('toasts').append(node);
  setTimeout(() => node.remove(), 6000);
}

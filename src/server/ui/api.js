// Calls to the REST API of the server that served the page, with the
// signed-in token in the Authorization header (never in a URL, no cookies).
// Errors come back as ApiError with the API's code, message and field.
import { hooks, state } from './state.js';

export class ApiError extends Error {
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One request; the response when its status is 2xx, else an ApiError. A GET
// that fails without an answer (the browser dropped the connection, e.g.
// when the machine's network interfaces change) is tried once more; other
// methods are not, as the server may have acted on them.
export async function send(method, path, { body, token, signal } = {}) {
  const headers = authHeaders(token);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  for (let attempt = 1; !response; attempt++) {
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
      if (method !== 'GET' || attempt >= 2) {
        throw new ApiError(0, 'Unavailable', 'cannot reach the server (' + e.message + ')');
      }
      await sleep(300);
    }
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && !token) hooks.unauthorized('The server no longer accepts the token: ' + error.message);
    throw error;
  }
  return response;
}

export async function api(method, path, options) {
  const response = await send(method, path, options);
  return response.json();
}

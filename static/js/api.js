// Every call to the server, through jQuery's AJAX, asynchronous. No DOM here.
// Each function returns a native Promise: it resolves with the JSON body (and the
// round trip in ms) and rejects with a Failure that says what happened in plain words.

const PREDICT_URL = '/api/predict';
const CORRECTIONS_URL = '/api/corrections';
const WORKERS_URL = '/api/workers';
const REQUESTS_URL = '/api/requests';
const LAB_WORK_URL = '/api/lab/work';
const LAB_WORKERS_URL = '/api/lab/workers';
const PREDICT_TIMEOUT_MS = 10000;
// A lab burst can queue: 64 requests of 200 ms in one thread, or a worker's first TensorFlow load.
const LAB_TIMEOUT_MS = 30000;
const POLL_TIMEOUT_MS = 3000;
// Statuses that mean "the server is not there right now": retry when it is back.
const UNAVAILABLE_STATUSES = [0, 502, 503, 504];

class Failure extends Error {
  constructor(kind, status, code, message, retryAfterMs = null, worker = null) {
    super(message);
    this.kind = kind; // 'unavailable' | 'busy' (try again after retryAfterMs) | 'refused' | 'server'
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.worker = worker; // the PID an error names (a worker loading TensorFlow)
  }
}

// name: the student's name on the class wall, or null.
export function predict(image, clientId, name = null) {
  return postJson(PREDICT_URL, { image, client_id: clientId, ...(name ? { name } : {}) }, PREDICT_TIMEOUT_MS);
}

// A picture file (upload, camera, drop) as a multipart form, as `curl -F image=@digit.png` sends it.
export function predictFile(file, clientId, name = null) {
  const form = new FormData();
  form.append('image', file);
  form.append('client_id', clientId);
  if (name) form.append('name', name);
  return send({
    url: PREDICT_URL,
    method: 'POST',
    data: form,
    processData: false,
    contentType: false,
    timeout: PREDICT_TIMEOUT_MS,
  });
}

// The digit a drawing (a data URL) really is, for the answer requestId.
export function correct(image, label, requestId) {
  return postJson(CORRECTIONS_URL, { image, label, request_id: requestId }, PREDICT_TIMEOUT_MS);
}

export function workers() {
  return send({ url: WORKERS_URL, method: 'GET', timeout: POLL_TIMEOUT_MS, cache: false });
}

// drawings: each prediction's 28 × 28 as well (the class wall's thumbnails; a larger answer).
export function requestsSince(since, limit, drawings = false) {
  const data = { limit };
  if (since) data.since = since;
  if (drawings) data.drawings = 'true';
  return send({ url: REQUESTS_URL, method: 'GET', data, timeout: POLL_TIMEOUT_MS, cache: false });
}

export function labWork(kind, ms, clientId) {
  return postJson(LAB_WORK_URL, { kind, ms, client_id: clientId }, LAB_TIMEOUT_MS);
}

export function labWorkers(action) {
  return postJson(LAB_WORKERS_URL, { action }, POLL_TIMEOUT_MS);
}

function postJson(url, body, timeout) {
  return send({ url, method: 'POST', contentType: 'application/json', data: JSON.stringify(body), timeout });
}

function send(options) {
  const begun = performance.now();
  return new Promise((resolve, reject) => {
    $.ajax({ ...options, dataType: 'json' })
      .done((body) => resolve({ body, ms: performance.now() - begun, sentAt: begun }))
      .fail((xhr, textStatus) => reject(describeFailure(xhr, textStatus)));
  });
}

function describeFailure(xhr, textStatus) {
  const status = xhr.status || 0;
  const error = (xhr.responseJSON && xhr.responseJSON.error) || {};
  // "Not now": too much lab work at once (429), or a worker loading TensorFlow for the lab (503).
  if (status === 429 || (status === 503 && error.code === 'tensorflow_loading')) {
    const seconds = Number(xhr.getResponseHeader('Retry-After')) || 1;
    return new Failure('busy', status, error.code, error.message || 'The server is busy.', seconds * 1000, error.worker ?? null);
  }
  if (textStatus === 'timeout') {
    return new Failure('unavailable', 0, 'timeout',
      'The server took too long to answer. Trying again when it responds…');
  }
  if (UNAVAILABLE_STATUSES.includes(status)) {
    const detail = error.message ? ` (${error.message})` : '';
    return new Failure('unavailable', status, error.code || 'unreachable',
      `Cannot reach the server${detail}. Is it running? The page will reconnect on its own.`);
  }
  if (status >= 400 && status < 500) {
    return new Failure('refused', status, error.code || 'http_' + status,
      `The server refused the request: ${error.message || xhr.statusText || 'error ' + status}`);
  }
  return new Failure('server', status, error.code || 'http_' + status,
    `The server had a problem: ${error.message || 'error ' + status}`);
}

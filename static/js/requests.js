// The answered requests this page knows of: its own answers and, in the "everyone"
// view, every client's rows from /api/requests, merged by request id. No DOM here.

const MAX_KEPT = 1000;

export function createRequestStore(clientId) {
  const byId = new Map();

  function keep(row) {
    const known = byId.get(row.request_id);
    // A polled row never loses what only this tab knows (round trip, burst number).
    byId.set(row.request_id, known ? { ...row, ...pickOwn(known) } : row);
    if (byId.size > MAX_KEPT) byId.delete(byId.keys().next().value);
  }

  return {
    addAnswer(body, roundTripMs, burst = null) {
      const row = fromAnswer(body, roundTripMs, burst);
      keep(row);
      return row;
    },
    // Rows that are no request (no string id, a pid or times that are not numbers: a shared
    // store anyone on the machine can write to) are left out, never drawn.
    addPolled(rows) {
      if (!Array.isArray(rows)) return;
      for (const polled of rows) {
        if (isRow(polled)) keep(fromPolled(polled, clientId));
      }
    },
    // Only the rows of these PIDs stay: a new server starts a fresh log.
    keepPids(pids) {
      const live = new Set(pids);
      for (const [id, row] of byId) {
        if (!live.has(row.pid)) byId.delete(id);
      }
    },
    // Newest first, by the server's arrival time.
    visible(view) {
      const rows = [...byId.values()].filter((row) => view === 'everyone' || row.mine);
      return rows.sort((a, b) => b.received - a.received);
    },
  };
}

function pickOwn(row) {
  const own = {};
  if (row.roundTripMs !== null) own.roundTripMs = row.roundTripMs;
  if (row.burst !== null) own.burst = row.burst;
  if (row.cpuSeconds !== null) own.cpuSeconds = row.cpuSeconds;
  if (row.ranShare !== null) own.ranShare = row.ranShare;
  return own;
}

function fromAnswer(body, roundTripMs, burst) {
  return {
    request_id: body.request_id,
    client_id: body.client_id,
    mine: true,
    pid: body.worker.pid,
    host: body.worker.host,
    thread: body.worker.thread,
    thread_id: body.worker.thread_id,
    received: body.timing.received,
    started: body.timing.started,
    finished: body.timing.finished,
    digit: body.digit ?? null,
    kind: body.kind ?? null, // a lab workload: python, io or tensorflow
    cpuSeconds: body.cpu_seconds ?? null, // lab answers: the worker process's CPU during the request
    ranShare: ranShare(body),
    roundTripMs,
    burst,
  };
}

// python and io lab work runs in the request's own thread: its thread CPU over the work's
// duration is the share of that time the thread actually ran (the rest it waited: for the
// GIL, for a core, or on purpose, sleeping). null for work done in other threads (TensorFlow).
function ranShare(body) {
  if (!['python', 'io'].includes(body.kind) || typeof body.thread_cpu_seconds !== 'number') return null;
  const span = body.timing.finished - body.timing.started;
  return span > 0 ? Math.min(body.thread_cpu_seconds / span, 1) : null;
}

function isRow(row) {
  return (
    row !== null &&
    typeof row === 'object' &&
    typeof row.request_id === 'string' &&
    row.request_id !== '' &&
    Number.isSafeInteger(row.pid) &&
    ['received', 'started', 'finished'].every((key) => Number.isFinite(row[key])) &&
    (row.client_id === null || row.client_id === undefined || typeof row.client_id === 'string') &&
    (row.host === null || row.host === undefined || typeof row.host === 'string')
  );
}

function fromPolled(row, clientId) {
  return {
    request_id: row.request_id,
    client_id: row.client_id,
    mine: Boolean(clientId) && row.client_id === clientId,
    pid: row.pid,
    host: row.host,
    thread: typeof row.thread === 'string' ? row.thread : '',
    thread_id: Number.isSafeInteger(row.thread_id) ? row.thread_id : 0,
    received: row.received,
    started: row.started,
    finished: row.finished,
    digit: Number.isInteger(row.digit) ? row.digit : null,
    kind: typeof row.kind === 'string' ? row.kind : null,
    cpuSeconds: null,
    ranShare: null,
    roundTripMs: null,
    burst: null,
    route: typeof row.route === 'string' ? row.route : null,
    name: typeof row.name === 'string' ? row.name : null, // the name a student gave, for the class wall (wall.js)
    // the 28 × 28 the model saw, a PNG data URL
    drawing: typeof row.drawing === 'string' && row.drawing.startsWith('data:image/png;base64,') ? row.drawing : null,
  };
}

// The most requests the server was working on at one moment, from their
// [received, finished] intervals. An answer at the very instant another request
// arrives does not count as overlap.
export function maxInFlight(rows) {
  const events = [];
  for (const row of rows) {
    events.push([row.received, 1], [row.finished, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, change] of events) {
    now += change;
    most = Math.max(most, now);
  }
  return most;
}

export function distinctPids(rows) {
  return [...new Set(rows.map((row) => row.pid))].sort((a, b) => a - b);
}

// Requests per PID, most first: [[pid, count], …].
export function countsPerPid(rows) {
  const counts = new Map();
  for (const row of rows) counts.set(row.pid, (counts.get(row.pid) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

// The CPU seconds the server's processes spent on these requests, or null if a row has no
// CPU figure. Each lab answer carries its process's CPU time over the request (started..
// finished). Requests that overlapped in one process (threads) each counted the same CPU, so
// a process's sum is scaled by the time it was busy over the sum of the requests' durations:
// exact when its requests did not overlap, and when they did, exact for a steady rate of CPU.
export function cpuSeconds(rows) {
  if (!rows.length || rows.some((row) => row.cpuSeconds === null || row.cpuSeconds === undefined)) return null;
  const byPid = new Map();
  for (const row of rows) {
    if (!byPid.has(row.pid)) byPid.set(row.pid, []);
    byPid.get(row.pid).push(row);
  }
  let total = 0;
  for (const own of byPid.values()) {
    const cpu = own.reduce((sum, row) => sum + row.cpuSeconds, 0);
    const durations = own.reduce((sum, row) => sum + Math.max(row.finished - row.started, 0), 0);
    const busy = unionLength(own.map((row) => [row.started, row.finished]));
    total += durations > 0 ? (cpu * busy) / durations : cpu;
  }
  return total;
}

function unionLength(intervals) {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let length = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    if (b <= end) continue;
    length += b - Math.max(a, end);
    end = b;
  }
  return length;
}

// Distinct (PID, thread) pairs that answered.
export function distinctThreads(rows) {
  return new Set(rows.map((row) => `${row.pid}/${row.thread_id}`)).size;
}

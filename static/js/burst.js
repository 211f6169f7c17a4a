// A burst: the same drawing sent N times at once, then summed up. No DOM here.

import * as api from './api.js';
import { distinctPids, maxInFlight } from './requests.js';

export const DEFAULT_BURST = 16;
export const MAX_BURST = 64;

export function burstSize(raw) {
  const n = Math.round(Number(raw));
  if (!Number.isFinite(n) || n < 1) return DEFAULT_BURST;
  return Math.min(n, MAX_BURST);
}

// Sends every request before waiting for any; onAnswer(answer) runs as each returns and
// gives back the row it stored, which the summary is made of.
export async function runBurst(n, image, clientId, onAnswer) {
  const begun = performance.now();
  const calls = [];
  for (let i = 0; i < n; i += 1) {
    calls.push(api.predict(image, clientId).then(onAnswer));
  }
  const settled = await Promise.allSettled(calls);
  const wallMs = performance.now() - begun;
  const rows = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason);
  return summarize(n, rows, failures, wallMs);
}

export function summarize(n, rows, failures, wallMs) {
  const serverMs = rows.map((row) => (row.finished - row.received) * 1000).sort((a, b) => a - b);
  return {
    sent: n,
    answered: rows.length,
    failed: failures.length,
    failure: failures[0] || null,
    pids: distinctPids(rows),
    maxInFlight: maxInFlight(rows),
    wallMs,
    medianServerMs: serverMs.length ? serverMs[Math.floor(serverMs.length / 2)] : null,
    from: rows.length ? Math.min(...rows.map((row) => row.received)) : null,
    to: rows.length ? Math.max(...rows.map((row) => row.finished)) : null,
  };
}

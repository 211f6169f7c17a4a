// A burst: the same request sent N times at once (the drawing, or a lab workload), then
// summed up. No DOM here.

import { countsPerPid, cpuSeconds, distinctPids, distinctThreads, maxInFlight } from './requests.js';

export const DEFAULT_BURST = 16;
export const MAX_BURST = 64;

export function burstSize(raw) {
  const n = Math.round(Number(raw));
  if (!Number.isFinite(n) || n < 1) return DEFAULT_BURST;
  return Math.min(n, MAX_BURST);
}

// Calls send() n times before waiting for any answer (send: () => a promise of api.js);
// onAnswer(answer) runs as each returns and gives back the row it stored, which the
// summary is made of.
export async function runBurst(n, send, onAnswer) {
  const begun = performance.now();
  const calls = [];
  for (let i = 0; i < n; i += 1) {
    calls.push(send().then(onAnswer));
  }
  const settled = await Promise.allSettled(calls);
  const wallMs = performance.now() - begun;
  const rows = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => s.reason);
  return summarize(n, rows, failures, wallMs);
}

export function summarize(n, rows, failures, wallMs) {
  const serverMs = rows.map((row) => (row.finished - row.received) * 1000).sort((a, b) => a - b);
  const cpu = cpuSeconds(rows);
  return {
    sent: n,
    answered: rows.length,
    failed: failures.length,
    failure: failures[0] || null,
    pids: distinctPids(rows),
    perPid: countsPerPid(rows),
    threads: distinctThreads(rows),
    maxInFlight: maxInFlight(rows),
    wallMs,
    // Lab bursts only (null otherwise): over 100 % of one core means requests ran in parallel.
    cpuSeconds: cpu,
    cpuPercent: cpu === null || wallMs <= 0 ? null : (cpu * 100000) / wallMs,
    medianServerMs: serverMs.length ? serverMs[Math.floor(serverMs.length / 2)] : null,
    from: rows.length ? Math.min(...rows.map((row) => row.received)) : null,
    to: rows.length ? Math.max(...rows.map((row) => row.finished)) : null,
  };
}

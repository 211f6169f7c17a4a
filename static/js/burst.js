// A burst: the same request sent N times at once (the drawing, or a lab workload), then
// summed up. No DOM here; bursts.js and lab-burst.js run them.

import { countsPerPid, cpuSeconds, distinctPids, distinctThreads, maxInFlight } from './requests.js';

const BUSY_GIVE_UP_MS = 120000; // a request the server keeps saying "not now" to, this long: a failure

// Sends n requests (send: () => a promise of api.js), at most `concurrency` at once (all at
// once by default); onAnswer(answer) runs as each returns and gives back the row it stored,
// which the summary is made of. A "not now" from the server (kind 'busy': too much lab work
// at once, a worker loading TensorFlow) is sent again after the wait it asks for; onWait(failure)
// says so meanwhile.
export async function runBurst(n, send, onAnswer, { concurrency = n, onWait = () => {} } = {}) {
  const begun = performance.now();
  const results = [];
  let next = 0;
  async function lane() {
    while (next < n) {
      next += 1;
      results.push(await settle(() => untilAnswered(send, onWait).then(onAnswer)));
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, concurrency)) }, lane));
  const wallMs = performance.now() - begun;
  const rows = results.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failures = results.filter((s) => s.status === 'rejected').map((s) => s.reason);
  return summarize(n, rows, failures, wallMs);
}

function median(sorted) {
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
}

async function settle(call) {
  try {
    return { status: 'fulfilled', value: await call() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

async function untilAnswered(send, onWait) {
  const giveUp = performance.now() + BUSY_GIVE_UP_MS;
  for (;;) {
    try {
      return await send();
    } catch (failure) {
      if (failure.kind !== 'busy' || performance.now() + failure.retryAfterMs > giveUp) throw failure;
      onWait(failure);
      await new Promise((resolve) => setTimeout(resolve, failure.retryAfterMs));
    }
  }
}

function summarize(n, rows, failures, wallMs) {
  const serverMs = rows.map((row) => (row.finished - row.received) * 1000).sort((a, b) => a - b);
  const ranShares = rows.map((row) => row.ranShare).filter((share) => typeof share === 'number').sort((a, b) => a - b);
  const cpu = cpuSeconds(rows);
  return {
    sent: n,
    answered: rows.length,
    failed: failures.length,
    failure: failures[0] || null,
    pids: distinctPids(rows),
    hosts: new Set(rows.map((row) => row.host)).size,
    perPid: countsPerPid(rows),
    threads: distinctThreads(rows),
    maxInFlight: maxInFlight(rows),
    wallMs,
    // Lab bursts only (null otherwise): over 100 % of one core means requests ran in parallel.
    cpuSeconds: cpu,
    cpuPercent: cpu === null || wallMs <= 0 ? null : (cpu * 100000) / wallMs,
    medianServerMs: median(serverMs),
    // python and io lab work: the share of its time each request's thread ran (requests.js).
    medianRanShare: median(ranShares),
    from: rows.length ? Math.min(...rows.map((row) => row.received)) : null,
    to: rows.length ? Math.max(...rows.map((row) => row.finished)) : null,
  };
}

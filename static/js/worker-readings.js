// From one /api/workers answer to the next: each worker's CPU % over the time between the two
// readings, and the workers that were there and are not any more. The page (poll.js) and the
// class view (class.js) read them alike. No DOM here.

// workers: the answer's; before: pid -> {cpu, at} of the reading before (updated); gone: pid ->
// when it was found gone (updated). Gives back the workers, each with cpuPercent (null at first).
// An entry that is no worker (a pid that is not a whole number, figures that are not numbers:
// a shared store anyone on the machine can write to) is left out, never drawn.
export function readWorkers(answered, before, gone, now = performance.now()) {
  const workers = Array.isArray(answered) ? answered.filter(isWorker) : [];
  const live = new Set(workers.map((worker) => worker.pid));
  for (const pid of before.keys()) {
    if (!live.has(pid) && !gone.has(pid)) gone.set(pid, Date.now());
  }
  return workers.map((worker) => {
    const last = before.get(worker.pid);
    const cpuPercent = last ? ((worker.cpu_seconds - last.cpu) * 100000) / (now - last.at) : null;
    before.set(worker.pid, { cpu: worker.cpu_seconds, at: now });
    return { ...worker, cpuPercent };
  });
}

function isWorker(worker) {
  return (
    worker !== null &&
    typeof worker === 'object' &&
    Number.isSafeInteger(worker.pid) &&
    worker.pid > 0 &&
    Number.isFinite(worker.cpu_seconds) &&
    (worker.host === undefined || typeof worker.host === 'string')
  );
}

// While the store is unavailable (a shared Redis down: log.ok false), an answer lists the
// answering host's workers only. The other hosts' workers, as last seen, stay listed, marked
// noNews, rather than being taken for stopped: a live host is never shown as stopped.
// answered: the answer's workers; previous: the workers shown until now; host: the answering
// host (settings.host); log: the answer's {ok, problem}.
export function withUnlisted(answered, previous, host, log) {
  if (!log || log.ok !== false) return answered;
  const listed = new Set(answered.map((worker) => worker.pid));
  const others = previous.filter((worker) => worker.host !== host && !listed.has(worker.pid));
  return [...answered, ...others.map((worker) => ({ ...worker, noNews: true }))];
}

// Hosts that are down: every host seen (seen: host -> when last listed, updated) that lists no
// live worker now, with when it was last listed; only where the page has seen several hosts
// (one host down is the connection pill's news).
export function downHosts(seen, workers, now = Date.now()) {
  for (const worker of workers) {
    if (typeof worker.host === 'string' && worker.host) seen.set(worker.host, now);
  }
  if (seen.size < 2) return [];
  return [...seen].filter(([, last]) => last < now).map(([host, since]) => ({ host, since }));
}

// From one /api/workers answer to the next: each worker's CPU % over the time between the two
// readings, and the workers that were there and are not any more. The page (poll.js) and the
// class view (class.js) read them alike. No DOM here.

// workers: the answer's; before: pid -> {cpu, at} of the reading before (updated); gone: pid ->
// when it was found gone (updated). Gives back the workers, each with cpuPercent (null at first).
export function readWorkers(workers, before, gone, now = performance.now()) {
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

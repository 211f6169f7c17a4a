// A lab burst: N requests of one workload, no more at once than the server runs lab work (so
// predictions always find a free worker), the rest as answers come back; summed up with the
// CPU the server spent. A worker's first tensorflow request waits while it loads TensorFlow.
// No DOM here.

import * as api from './api.js';
import { runBurst } from './burst.js';
import { holdOn, nextBurst } from './bursts.js';
import * as connection from './connection.js';
import * as lab from './lab.js';
import * as workload from './lab-workload.js';
import { keepAnswer } from './render.js';
import { shape } from './format.js';
import * as compare from './lab-compare.js';
import { keepCompared, livePids, state } from './state.js';
import * as timeline from './timeline.js';

export async function fire() {
  if (state.lab.running || state.lab.off) return;
  const choice = workload.readChoice();
  const { kind, ms, n } = choice;
  const number = nextBurst();
  const title = `Lab burst ${number}, ${n} × ${kind} ${ms} ms`;
  const cold = kind === 'tensorflow' && livePids().some((pid) => !state.lab.tensorflowPids.has(pid));
  setRunning(true);
  workload.showSending(title, cold);
  timeline.bringIntoView();
  const loading = new Set(); // workers that said they were loading TensorFlow (or about to)
  let loadingSince = null; // when a worker first said so (performance.now())
  let waitedMs = null; // from then to the first tensorflow answer: the wait, as measured here
  let pools = null;
  const summary = await runBurst(
    n,
    () => api.labWork(kind, ms, state.clientId),
    (answer) => {
      if (answer.body.kind === 'tensorflow') {
        state.lab.tensorflowPids.add(answer.body.worker.pid);
        pools = answer.body.tf_pools ?? pools;
        if (loadingSince !== null && waitedMs === null) waitedMs = performance.now() - loadingSince;
      }
      return keepAnswer(answer, number);
    },
    {
      concurrency: atOnce(n),
      onWait: (failure) => {
        if (failure.code === 'tensorflow_loading') {
          if (failure.worker !== null) loading.add(failure.worker);
          loadingSince ??= performance.now();
          workload.showLoading(failure.message, performance.now() - loadingSince);
        } else {
          workload.showWaiting(title, failure.message);
        }
      },
    },
  );
  setRunning(false);
  // Loaded: it answered tensorflow work since; still loading: it has not, as far as this tab saw.
  const loaded = [...loading].filter((pid) => state.lab.tensorflowPids.has(pid)).length;
  state.lab.tensorflowLoading = new Set([...loading].filter((pid) => !state.lab.tensorflowPids.has(pid)));
  lab.showWarmUp();
  if (summary.failure && summary.failure.code === 'lab_off') lab.showOff();
  const gil = state.settings.gil !== false; // false: free-threaded Python without the GIL
  const warm = { loaded, loading: state.lab.tensorflowLoading.size, waitedMs, pools, machine: state.machine, gil };
  workload.showSummary(number, title, choice, summary, warm);
  if (summary.answered === n && summary.cpuPercent !== null && !warm.loaded && !warm.loading) {
    const { mode, workers, threads } = state.settings;
    keepCompared({
      mode,
      // Threads without the GIL (free-threaded Python) are a row of their own beside threads with it.
      shape: shape(workers, threads) + (gil ? '' : ', no GIL'),
      // TensorFlow's pools (claim 3's servers differ only in them): part of the server's shape.
      pools: pools ? `${pools.intra_op}/${pools.inter_op}` : null,
      kind,
      ms,
      n,
      rps: (n * 1000) / summary.wallMs,
      cpuPercent: summary.cpuPercent,
      wallMs: summary.wallMs,
      spare: state.machine ? state.machine.spare : null,
    });
    compare.show([...state.lab.compared.values()]);
  }
  if (summary.answered) holdOn(summary, `lab burst ${number}: ${n} × ${kind} ${ms} ms`);
  if (summary.failure && summary.failure.kind === 'unavailable') connection.lost(summary.failure);
}

// As many as the server runs at once, and one client at once (the teacher has no such cap).
function atOnce(n) {
  const { lab_max_in_flight: serverCap, lab_max_per_client: perClient, teacher } = state.settings || {};
  return Math.min(n, serverCap || n, teacher ? n : perClient || n);
}

function setRunning(running) {
  state.lab.running = running;
  workload.setRunning(running);
}

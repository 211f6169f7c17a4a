// Adding and removing a worker process from the lab card (gunicorn's TTIN and TTOU, sent by
// the server on the teacher's word): ask, then watch /api/workers until the live count reaches
// the target, and say which PID came or went. Whether a mode can, and within how many, is the
// server's (settings.can_add_workers, settings.lab_workers). No DOM here.

import * as api from './api.js';
import * as connection from './connection.js';
import * as lab from './lab.js';
import * as view from './lab-workers.js';
import { livePids, state } from './state.js';

const SCALE_TIMEOUT_MS = 15000; // a worker that has not come or gone by then: say so

export function scale(action) {
  if (state.lab.scaling || state.lab.off || !state.settings) return;
  state.lab.scaling = { action, before: new Set(livePids()), since: Date.now(), target: null, host: null };
  view.showAsking(action);
  show();
  api.labWorkers(action).then(
    ({ body }) => {
      if (!state.lab.scaling) return;
      state.lab.scaling.target = body.target;
      state.lab.scaling.host = body.host ?? null;
      view.showSent(action, body);
      check();
      show();
    },
    (failure) => {
      state.lab.scaling = null;
      if (failure.code === 'not_scalable') state.lab.refusal = failure.message;
      if (failure.code === 'lab_off') lab.showOff();
      view.showFailure(failure.message);
      show();
      if (failure.kind === 'unavailable') connection.lost(failure);
    },
  );
}

// At each /api/workers, while the server runs the lab.
export function follow() {
  if (!state.settings.lab) return;
  check();
  show();
}

// A change is done when the live count reaches its target.
function check() {
  const scaling = state.lab.scaling;
  if (!scaling) return;
  const live = livePids();
  // The pool that changed is the host's that took the click: its workers are counted.
  const onHost = scaling.host === null ? live : state.workers.filter((w) => w.host === scaling.host).map((w) => w.pid);
  if (scaling.target !== null && onHost.length === scaling.target) {
    state.lab.scaling = null;
    if (scaling.action === 'add') {
      const joined = live.filter((pid) => !scaling.before.has(pid));
      view.showJoined(joined.length ? joined[0] : null, onHost.length);
    } else {
      const left = [...scaling.before].filter((pid) => !live.includes(pid));
      view.showLeft(left.length ? left[0] : null, onHost.length);
    }
  } else if (Date.now() - scaling.since > SCALE_TIMEOUT_MS) {
    state.lab.scaling = null;
    view.showNoChange(SCALE_TIMEOUT_MS / 1000, onHost.length);
  }
}

function show() {
  if (!state.settings) return;
  view.show(state.settings, {
    refusal: state.lab.refusal,
    busy: Boolean(state.lab.scaling),
    perHost: workersPerHost(),
  });
}

function workersPerHost() {
  const counts = new Map();
  for (const worker of state.workers) counts.set(worker.host || '', (counts.get(worker.host || '') || 0) + 1);
  return counts;
}

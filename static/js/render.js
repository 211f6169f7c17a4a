// This tab's answers on screen: each answer is stored as a row and, on the next frame, the
// log, the timeline and the worker cards show the rows. The server's clock is read from the
// answers too. No DOM here.

import * as log from './log.js';
import { state } from './state.js';
import * as timeline from './timeline.js';
import * as workersCard from './workers.js';

const ACTIVE_FLASH_S = 0.6; // a worker that answered this recently shows as busy

// An answer of api.js (a prediction or lab work) joins this tab's log and timeline, in burst
// number `burst` if it is one; gives back its row.
export function keepAnswer(answer, burst = null) {
  noteClock(answer);
  const row = state.requests.addAnswer(answer.body, answer.ms, burst);
  queueRender();
  return row;
}

// NTP's estimate, kept from the quickest round trip: (arrival − send + answer − receipt) / 2.
function noteClock(answer) {
  if (answer.ms >= state.clockRtt) return;
  const sent = (performance.timeOrigin + answer.sentAt) / 1000;
  const back = sent + answer.ms / 1000;
  const offset = (answer.body.timing.received - sent + (answer.body.timing.finished - back)) / 2;
  state.clockRtt = answer.ms;
  timeline.setClockOffset(offset);
}

export function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    const rows = state.requests.visible(state.view);
    log.showLog(rows);
    timeline.setRows(rows);
    renderWorkers();
  });
}

// Also between polls: a worker that has just answered shows as busy at once.
export function renderWorkers() {
  const since = Date.now() / 1000 - ACTIVE_FLASH_S;
  const recent = new Set(
    state.requests.visible('everyone').filter((row) => row.finished >= since).map((row) => row.pid),
  );
  const workers = state.workers.map((worker) => ({ ...worker, recentlyActive: recent.has(worker.pid) }));
  const gone = [...state.gone.entries()].map(([pid, goneAt]) => ({ pid, goneAt }));
  workersCard.showWorkers(workers, gone, state.downHosts);
}

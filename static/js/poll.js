// What the page asks the server again and again: /api/workers once a second (the workers, the
// mode, the lab card) and, in the "everyone" view, /api/requests; less often in a tab nobody
// looks at. No DOM here.

import * as api from './api.js';
import * as bursts from './bursts.js';
import * as connection from './connection.js';
import * as lab from './lab.js';
import * as labScaling from './lab-scaling.js';
import * as log from './log.js';
import * as page from './page.js';
import * as predict from './predict.js';
import { queueRender, renderWorkers } from './render.js';
import { state } from './state.js';
import * as timeline from './timeline.js';
import { tooBusy } from './verdicts.js';
import { readWorkers } from './worker-readings.js';

const WORKERS_POLL_MS = 1000;
const REQUESTS_POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000; // a tab nobody looks at asks less often (a classroom has many)
const REQUESTS_LIMIT = 300;

export function pollWorkers() {
  api.workers().then(
    ({ body }) => {
      if (connection.back()) predict.serverBack();
      showServer(body);
      setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
    },
    (failure) => {
      if (failure.kind === 'unavailable') connection.lost(failure);
      setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
    },
  );
}

function pollDelay(ms) {
  return page.tabHidden() ? HIDDEN_POLL_MS : ms;
}

// Each worker's CPU % since the poll before, and the workers that are gone.
function showServer(body) {
  const livePids = body.workers.map((worker) => worker.pid);
  state.workers = readWorkers(body.workers, state.cpuBefore, state.gone);
  const previous = state.settings;
  state.settings = body.settings;
  const hosts = new Map(body.workers.map((worker) => [worker.pid, worker.host]));
  page.showMode(body.settings, new Set(hosts.values()).size);
  state.machine = body.machine ?? null;
  page.showMachine(state.machine, tooBusy(state.machine));
  lab.showServer(previous);
  labScaling.follow();
  renderWorkers();
  timeline.setWorkers(livePids, [...state.gone.keys()], body.settings.threads > 1, hosts);
}

// -- everyone's requests -----------------------------------------------------------------

// whose: 'mine' (this tab's requests) or 'everyone' (every client's, polled).
export function chooseView(whose) {
  state.view = whose;
  timeline.showView(whose);
  log.showView(whose);
  queueRender();
  if (whose === 'everyone') bursts.followIfHeld();
  if (whose === 'everyone' && !state.pollingEveryone) pollEveryone();
}

function pollEveryone() {
  if (state.view !== 'everyone') {
    state.pollingEveryone = false;
    return;
  }
  state.pollingEveryone = true;
  api.requestsSince(state.latestPolled, REQUESTS_LIMIT).then(
    ({ body }) => {
      state.requests.addPolled(body.requests);
      log.showLogStatus(body.log);
      state.latestPolled = body.latest || state.latestPolled;
      queueRender();
      setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS));
    },
    () => setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS)),
  );
}

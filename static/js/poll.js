// What the page asks the server again and again: /api/workers once a second (the workers, the
// mode, the lab card) and, in the "everyone" view, /api/requests; less often in a tab nobody
// looks at. No DOM here.

import * as api from './api.js';
import * as bursts from './bursts.js';
import { keepColours } from './colors.js';
import * as connection from './connection.js';
import * as lab from './lab.js';
import * as labScaling from './lab-scaling.js';
import * as labWorkload from './lab-workload.js';
import * as log from './log.js';
import * as page from './page.js';
import * as predict from './predict.js';
import { queueRender, renderWorkers } from './render.js';
import { state } from './state.js';
import * as timeline from './timeline.js';
import { tooBusy } from './verdicts.js';
import { downHosts, readWorkers, withUnlisted } from './worker-readings.js';
import * as workersCard from './workers.js';

const WORKERS_POLL_MS = 1000;
const REQUESTS_POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000; // a tab nobody looks at asks less often (a classroom has many)
const REQUESTS_LIMIT = 300;
// Polls in a row that may time out before the page says the server is gone: a server busy with a
// class answers a poll late now and then, and that is no reason to call it unreachable.
const TIMEOUTS_BEFORE_LOST = 3;
let timeoutsInARow = 0;

// Every answer is followed by the next poll, whatever it holds: an answer the page cannot read
// (a hostile entry in a shared store) is skipped, said in the console, and never stops polling.
export function pollWorkers() {
  api.workers().then(
    ({ body }) => {
      timeoutsInARow = 0;
      try {
        if (connection.back()) predict.serverBack();
        showServer(body);
      } catch (error) {
        console.warn('an answer of /api/workers the page could not show:', error);
      } finally {
        setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
      }
    },
    (failure) => {
      timeoutsInARow = failure.code === 'timeout' ? timeoutsInARow + 1 : 0;
      const gone = failure.code !== 'timeout' || timeoutsInARow >= TIMEOUTS_BEFORE_LOST;
      if (failure.kind === 'unavailable' && gone) connection.lost(failure);
      setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
    },
  );
}

function pollDelay(ms) {
  return page.tabHidden() ? HIDDEN_POLL_MS : ms;
}

// Each worker's CPU % since the poll before, and the workers that are gone. Another server (a
// restart, another mode, other hosts) starts the page afresh: nothing of the old one stays.
function showServer(body) {
  const settings = body.settings;
  let answered = Array.isArray(body.workers) ? body.workers : [];
  if (isAnotherServer(state.settings, settings, answered)) startAfresh();
  answered = withUnlisted(answered, state.workers, settings.host, body.log);
  state.workers = readWorkers(answered, state.cpuBefore, state.gone);
  state.downHosts = downHosts(state.hostsSeen, state.workers);
  log.showLogStatus(body.log); // in every view, not only "Everyone"
  page.showStore(body.log);
  const livePids = state.workers.map((worker) => worker.pid);
  keepColours(livePids);
  const previous = state.settings;
  state.settings = settings;
  const hosts = new Map(state.workers.map((worker) => [worker.pid, worker.host]));
  page.showMode(settings, new Set(hosts.values()).size);
  page.showToken(settings);
  state.machine = body.machine ?? null;
  page.showMachine(state.machine, tooBusy(state.machine));
  lab.showServer(previous);
  labScaling.follow();
  renderWorkers();
  timeline.setWorkers(livePids, [...state.gone.keys()], settings.threads > 1, hosts);
}

// The server answering is not the one the page shows: another mode or shape, or none of the
// workers the page knew is among the live ones (all restarted: a new server).
function isAnotherServer(previous, settings, answered) {
  if (!previous) return false;
  const shape = (s) => `${s.mode}|${s.workers}|${s.threads}|${s.worker_class}|${s.runtime}`;
  if (shape(previous) !== shape(settings)) return true;
  const known = new Set(state.workers.map((worker) => worker.pid));
  return known.size > 0 && answered.length > 0 && !answered.some((worker) => known.has(worker.pid));
}

function startAfresh() {
  state.gone.clear();
  state.cpuBefore.clear();
  state.hostsSeen.clear();
  state.downHosts = [];
  state.workers = [];
  state.clockRtt = Infinity; // another host's clock, maybe
  state.latestPolled = null; // the old server's request ids mean nothing to the new one
  state.requests.keepPids([]);
  state.lastBurst = null;
  state.lab.tensorflowPids.clear();
  state.lab.tensorflowLoading.clear();
  state.lab.refusal = null;
  state.lab.scaling = null;
  keepColours([]);
  bursts.follow(timeline.windowSeconds());
  workersCard.showBurstNote('A new server (restarted, or in another mode): the page shows only its workers and requests.');
  labWorkload.clearSummary();
  queueRender();
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
      try {
        state.requests.addPolled(body.requests);
        log.showLogStatus(body.log);
        if (typeof body.latest === 'string' && body.latest) state.latestPolled = body.latest;
        queueRender();
      } catch (error) {
        console.warn('an answer of /api/requests the page could not show:', error);
      } finally {
        setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS));
      }
    },
    () => setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS)),
  );
}

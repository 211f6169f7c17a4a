// The class view (GET /class), for a projector: the page's address as a QR code (drawn by the
// server), the workers, and everyone's requests on the timeline and in the log, each student in
// a colour of their own, and the class wall of their drawings. Wiring and polling only: the views
// (wall.js, workers.js, timeline.js, log.js) draw, as on the page.

import * as api from './api.js';
import { keepColours } from './colors.js';
import * as log from './log.js';
import { createRequestStore } from './requests.js';
import * as timeline from './timeline.js';
import * as wall from './wall.js';
import { downHosts, readWorkers, withUnlisted } from './worker-readings.js';
import * as workersCard from './workers.js';

const POLL_MS = 1000;
const REQUESTS_LIMIT = 300;
const WINDOW_S = 30; // a class draws for a while: a longer window than the page's

const requests = createRequestStore(null); // nobody's own: every row is someone's
const gone = new Map(); // pid -> when it was found gone
const cpuBefore = new Map(); // pid -> {cpu, at}: CPU seconds at the poll before
let latest = null;
let shape = null; // the server's mode and shape, as last seen
let known = new Set(); // the live workers' PIDs, as last seen
let shown = []; // the workers as last shown
const hostsSeen = new Map(); // host -> when it last listed a worker

// Each answer is followed by the next poll, whatever it holds: one the view cannot read (a
// hostile entry in a shared store) is skipped, said in the console, and never stops it.
function pollWorkers() {
  api.workers().then(
    ({ body }) => {
      try {
        let answered = Array.isArray(body.workers) ? body.workers : [];
        if (isAnotherServer(body.settings, answered)) startAfresh();
        shape = shapeOf(body.settings);
        answered = withUnlisted(answered, shown, body.settings.host, body.log);
        const workers = readWorkers(answered, cpuBefore, gone);
        shown = workers;
        known = new Set(workers.map((worker) => worker.pid));
        keepColours(known);
        log.showLogStatus(body.log); // a shared store that is down, said on the projector
        const down = downHosts(hostsSeen, workers);
        workersCard.showWorkers(workers, [...gone].map(([pid, goneAt]) => ({ pid, goneAt })), down);
        const hosts = new Map(workers.map((worker) => [worker.pid, worker.host]));
        timeline.setWorkers([...known], [...gone.keys()], body.settings.threads > 1, hosts);
      } catch (error) {
        console.warn('an answer of /api/workers the class view could not show:', error);
      } finally {
        setTimeout(pollWorkers, POLL_MS);
      }
    },
    () => setTimeout(pollWorkers, POLL_MS),
  );
}

// Another server (a restart, another mode): none of the old one's workers or requests stay.
function isAnotherServer(settings, answered) {
  if (shape === null) return false;
  if (shapeOf(settings) !== shape) return true;
  return known.size > 0 && answered.length > 0 && !answered.some((worker) => known.has(worker.pid));
}

function shapeOf(settings) {
  return `${settings.mode}|${settings.workers}|${settings.threads}|${settings.worker_class}|${settings.runtime}`;
}

function startAfresh() {
  gone.clear();
  cpuBefore.clear();
  hostsSeen.clear();
  known = new Set();
  shown = [];
  latest = null;
  requests.keepPids([]);
  keepColours([]);
  showRequests();
}

function pollRequests() {
  api.requestsSince(latest, REQUESTS_LIMIT, true).then(
    ({ body }) => {
      try {
        requests.addPolled(body.requests);
        log.showLogStatus(body.log);
        if (typeof body.latest === 'string' && body.latest) latest = body.latest;
        showRequests();
      } catch (error) {
        console.warn('an answer of /api/requests the class view could not show:', error);
      } finally {
        setTimeout(pollRequests, POLL_MS);
      }
    },
    () => setTimeout(pollRequests, POLL_MS),
  );
}

function showRequests() {
  const rows = requests.visible('everyone');
  timeline.setRows(rows);
  log.showLog(rows);
  wall.show(rows);
}

timeline.colourBy('client');
timeline.follow(WINDOW_S);
timeline.start();
log.showView('everyone');
pollWorkers();
pollRequests();

// The class view (GET /class), for a projector: the page's address as a QR code (drawn by the
// server), the workers, and everyone's requests on the timeline and in the log, each student in
// a colour of their own, and the class wall of their drawings. Wiring and polling only: the views
// (wall.js, workers.js, timeline.js, log.js) draw, as on the page.

import * as api from './api.js';
import * as log from './log.js';
import { createRequestStore } from './requests.js';
import * as timeline from './timeline.js';
import * as wall from './wall.js';
import { readWorkers } from './worker-readings.js';
import * as workersCard from './workers.js';

const POLL_MS = 1000;
const REQUESTS_LIMIT = 300;
const WINDOW_S = 30; // a class draws for a while: a longer window than the page's

const requests = createRequestStore(null); // nobody's own: every row is someone's
const gone = new Map(); // pid -> when it was found gone
const cpuBefore = new Map(); // pid -> {cpu, at}: CPU seconds at the poll before
let latest = null;

function pollWorkers() {
  api.workers().then(
    ({ body }) => {
      const workers = readWorkers(body.workers, cpuBefore, gone);
      workersCard.showWorkers(workers, [...gone].map(([pid, goneAt]) => ({ pid, goneAt })));
      const hosts = new Map(workers.map((worker) => [worker.pid, worker.host]));
      const live = workers.map((worker) => worker.pid);
      timeline.setWorkers(live, [...gone.keys()], body.settings.threads > 1, hosts);
      setTimeout(pollWorkers, POLL_MS);
    },
    () => setTimeout(pollWorkers, POLL_MS),
  );
}

function pollRequests() {
  api.requestsSince(latest, REQUESTS_LIMIT).then(
    ({ body }) => {
      requests.addPolled(body.requests);
      latest = body.latest || latest;
      const rows = requests.visible('everyone');
      timeline.setRows(rows);
      log.showLog(rows);
      wall.show(rows);
      setTimeout(pollRequests, POLL_MS);
    },
    () => setTimeout(pollRequests, POLL_MS),
  );
}

timeline.colourBy('client');
timeline.follow(WINDOW_S);
timeline.start();
log.showView('everyone');
pollWorkers();
pollRequests();

// Wiring only: the pad, the server calls, the panel and the timeline meet here.

import * as api from './api.js';
import { burstSize, runBurst } from './burst.js';
import { createPad } from './canvas.js';
import { createLab } from './lab.js';
import * as panel from './panel.js';
import { createRequestStore } from './requests.js';
import { createTimeline } from './timeline.js';

const DEBOUNCE_MS = 40; // after a stroke ends, wait this long for the next one before sending
const WORKERS_POLL_MS = 1000;
const REQUESTS_POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000; // a tab nobody looks at asks less often (a classroom has many)
const REQUESTS_LIMIT = 300;
const ACTIVE_FLASH_S = 0.6; // a worker that answered this recently shows as busy
const CLIENT_KEY = 'mnist-lab-client-id';

const clientId = tabClientId();
const store = createRequestStore(clientId);
const timeline = createTimeline();
const pad = createPad({ onStrokeStart: drawingChanged, onStrokeEnd: strokeEnded });
const lab = createLab({
  clientId,
  nextBurst: () => ++burstNo,
  onAnswer: storeBurstAnswer,
  onBurstDone: burstDone,
  onUnavailable: connectionLost,
});

let drawingVersion = 0; // bumps on every change of the drawing
let requestSeq = 0; // numbers the prediction requests of this tab
let shownSeq = 0; // the newest request whose outcome is on screen
let sendTimer = null;
let resendWhenBack = false;
let online = null;
let view = 'mine';
let latestPolled = null;
let pollingEveryone = false;
let burstNo = 0;
let burstRunning = false;
let lastBurst = null;
let renderQueued = false;
let clockSample = { rtt: Infinity };
const cpuBefore = new Map();
const gone = new Map();
let liveWorkers = [];

// -- this tab's identity ---------------------------------------------------------------

// Kept in sessionStorage, so a reload keeps the tab's requests its own.
function tabClientId() {
  let id = null;
  try {
    id = sessionStorage.getItem(CLIENT_KEY);
  } catch {
    // storage blocked: a fresh id per load will do
  }
  if (!id) {
    // crypto.getRandomValues also works on plain http (a classroom LAN), unlike randomUUID.
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = 'tab-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    try {
      sessionStorage.setItem(CLIENT_KEY, id);
    } catch {
      // as above
    }
  }
  return id;
}

// -- drawing -> answer -----------------------------------------------------------------

function drawingChanged() {
  drawingVersion += 1;
  clearTimeout(sendTimer); // still drawing: the previous stroke's send can wait
}

function strokeEnded() {
  panel.showPending();
  clearTimeout(sendTimer);
  sendTimer = setTimeout(predictNow, DEBOUNCE_MS);
}

function predictNow() {
  clearTimeout(sendTimer);
  if (pad.isDrawing()) return;
  if (pad.isEmpty()) {
    panel.showEmpty('Draw a digit first');
    return;
  }
  const version = drawingVersion;
  const seq = ++requestSeq;
  panel.showPending();
  api.predict(pad.toDataURL(), clientId).then(
    (answer) => {
      noteClock(answer);
      store.addAnswer(answer.body, answer.ms);
      queueRender();
      if (isNewest(version, seq)) panel.showAnswer(answer.body, answer.ms);
    },
    (failure) => {
      if (isNewest(version, seq)) predictionFailed(failure);
    },
  );
}

// An answer to an older drawing, or older than what is shown, never replaces it.
function isNewest(version, seq) {
  if (version !== drawingVersion || seq < shownSeq) return false;
  shownSeq = seq;
  return true;
}

function predictionFailed(failure) {
  if (failure.code === 'empty_drawing') {
    panel.showNothingToRead('Too little ink to read: draw a bigger digit');
    return;
  }
  panel.showError(failure.message);
  resendWhenBack = failure.kind !== 'refused';
  if (failure.kind === 'unavailable') connectionLost(failure);
}

function clearDrawing() {
  drawingChanged();
  pad.clear();
  panel.showEmpty();
  resendWhenBack = false;
}

function undoStroke() {
  if (pad.isDrawing()) return;
  drawingChanged();
  pad.undo();
  if (pad.isEmpty()) panel.showEmpty();
  else predictNow();
}

// -- server clock ------------------------------------------------------------------------

// NTP's estimate, kept from the quickest round trip: (arrival − send + answer − receipt) / 2.
function noteClock(answer) {
  if (answer.ms >= clockSample.rtt) return;
  const sent = (performance.timeOrigin + answer.sentAt) / 1000;
  const back = sent + answer.ms / 1000;
  const offset = (answer.body.timing.received - sent + (answer.body.timing.finished - back)) / 2;
  clockSample = { rtt: answer.ms };
  timeline.setClockOffset(offset);
}

// -- connection ---------------------------------------------------------------------------

function connectionLost(failure) {
  if (online === false) return;
  online = false;
  panel.showConnection(false, 'server unreachable');
  panel.showError(failure.message);
  resendWhenBack = resendWhenBack || !pad.isEmpty();
}

function connectionBack() {
  if (online === true) return;
  const wasDown = online === false;
  online = true;
  panel.showConnection(true, 'connected');
  if (!wasDown) return;
  if (resendWhenBack && !pad.isEmpty()) predictNow();
  else if (pad.isEmpty()) panel.showEmpty();
  resendWhenBack = false;
}

// -- workers ---------------------------------------------------------------------------------

function pollWorkers() {
  api.workers().then(
    ({ body }) => {
      connectionBack();
      showWorkers(body);
      setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
    },
    (failure) => {
      if (failure.kind === 'unavailable') connectionLost(failure);
      setTimeout(pollWorkers, pollDelay(WORKERS_POLL_MS));
    },
  );
}

function pollDelay(ms) {
  return document.hidden ? HIDDEN_POLL_MS : ms;
}

function showWorkers(body) {
  const now = performance.now();
  const livePids = body.workers.map((worker) => worker.pid);
  for (const pid of cpuBefore.keys()) {
    if (!livePids.includes(pid) && !gone.has(pid)) gone.set(pid, Date.now());
  }
  liveWorkers = body.workers.map((worker) => {
    const before = cpuBefore.get(worker.pid);
    const cpuPercent = before ? ((worker.cpu_seconds - before.cpu) * 100000) / (now - before.at) : null;
    cpuBefore.set(worker.pid, { cpu: worker.cpu_seconds, at: now });
    return { ...worker, cpuPercent };
  });
  panel.showMode(body.settings);
  lab.showServer(body.settings, body.workers);
  renderWorkers();
  timeline.setWorkers(livePids, [...gone.keys()], body.settings.threads > 1);
}

// Also between polls: a worker that has just answered shows as busy at once.
function renderWorkers() {
  const recent = recentlyActivePids();
  const workers = liveWorkers.map((worker) => ({ ...worker, recentlyActive: recent.has(worker.pid) }));
  panel.showWorkers(workers, [...gone.entries()].map(([pid, goneAt]) => ({ pid, goneAt })));
}

function recentlyActivePids() {
  const since = Date.now() / 1000 - ACTIVE_FLASH_S;
  return new Set(store.visible('everyone').filter((row) => row.finished >= since).map((row) => row.pid));
}

// -- everyone's requests -----------------------------------------------------------------------

function pollEveryone() {
  if (view !== 'everyone') {
    pollingEveryone = false;
    return;
  }
  pollingEveryone = true;
  api.requestsSince(latestPolled, REQUESTS_LIMIT).then(
    ({ body }) => {
      store.addPolled(body.requests);
      latestPolled = body.latest || latestPolled;
      queueRender();
      setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS));
    },
    () => setTimeout(pollEveryone, pollDelay(REQUESTS_POLL_MS)),
  );
}

function chooseView(chosen) {
  view = chosen;
  panel.showView(view);
  queueRender();
  if (view === 'everyone' && !pollingEveryone) pollEveryone();
}

// -- burst -----------------------------------------------------------------------------------

async function burst() {
  if (burstRunning) return;
  if (pad.isEmpty()) {
    panel.showBurstNote('Draw a digit first: a burst sends the current drawing.');
    return;
  }
  const n = burstSize(panel.readBurstSize());
  panel.showBurstSize(n);
  const number = ++burstNo;
  burstRunning = true;
  panel.setBurstRunning(true);
  panel.showBurstPending(number, n);
  const image = pad.toDataURL();
  const summary = await runBurst(n, () => api.predict(image, clientId), (answer) => storeBurstAnswer(answer, number));
  burstRunning = false;
  panel.setBurstRunning(false);
  panel.showBurstSummary(number, summary);
  if (summary.answered) burstDone(number, summary, `burst ${number}: ${n} requests`);
  if (summary.failure && summary.failure.kind === 'unavailable') connectionLost(summary.failure);
}

// Drawing bursts and lab bursts alike: each answer is a row of this tab's log and timeline.
function storeBurstAnswer(answer, number) {
  noteClock(answer);
  const row = store.addAnswer(answer.body, answer.ms, number);
  queueRender();
  return row;
}

// The timeline holds still on the burst that just ended.
function burstDone(number, summary, label) {
  lastBurst = { from: summary.from, to: summary.to, label };
  showLastBurst();
}

// -- timeline choices ----------------------------------------------------------------------------

function followLive(seconds) {
  timeline.follow(seconds);
  panel.showTimelineChoice(seconds, Boolean(lastBurst));
}

function showLastBurst() {
  if (!lastBurst) return;
  timeline.hold(lastBurst.from, lastBurst.to, lastBurst.label);
  panel.showTimelineChoice('burst', true);
}

// -- rendering ------------------------------------------------------------------------------------

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const rows = store.visible(view);
    panel.showLog(rows);
    timeline.setRows(rows);
    renderWorkers();
  });
}

// -- start ----------------------------------------------------------------------------------------

panel.buildProbabilityBars();
panel.showEmpty();
panel.showView(view);
panel.bindControls({
  predict: predictNow,
  clear: clearDrawing,
  undo: undoStroke,
  burst,
  view: chooseView,
  window: followLive,
  lastBurst: showLastBurst,
});
pollWorkers();

// The page's state: everything that changes while the page is open, in one place. The flows
// (predict, connection, poll, bursts, lab*) read and change it; views are given what to show.
// (Views keep only what is drawn: the pad's strokes, the timeline's window.)

import { createRequestStore } from './requests.js';

const CLIENT_KEY = 'mnist-lab-client-id';
const COMPARED_KEY = 'mnist-lab-compared';

const clientId = tabClientId();

export const state = {
  clientId, // this tab's, sent with each request: "this tab" in the log
  name: null, // the name on the class wall (name.js), sent with each drawing; null: the tab's code
  requests: createRequestStore(clientId), // the answered requests this tab knows of

  // The drawing and its answer (predict.js).
  drawingVersion: 0, // bumps on every change of the drawing
  requestSeq: 0, // numbers this tab's prediction requests
  shownSeq: 0, // the newest request whose outcome is on screen
  sendTimer: null, // the send that waits for another stroke
  lastStrokeEnd: 0, // performance.now() when the pen last lifted
  finalTimer: null, // turns a provisional answer final once the pen has paused
  resendWhenBack: false, // the drawing went unanswered: send it when the server is back
  answeredVersion: -1, // the drawingVersion the newest answer on screen is for
  // The answer on screen, for a correction (corrections.js): its picture (a data URL, or the
  // uploaded File) and request id; null when there is none.
  answered: null,

  // The server (connection.js, poll.js).
  online: null, // true or false once a call has said
  settings: null, // 'settings' of the last /api/workers: the server's rules, the page copies none
  workers: [], // its live workers, each with cpuPercent since the poll before
  cpuBefore: new Map(), // pid -> {cpu, at}: each worker's CPU seconds at the poll before
  gone: new Map(), // pid -> when (Date.now()) the worker was found gone
  hostsSeen: new Map(), // host -> when (Date.now()) it last listed a worker
  downHosts: [], // [{host, since}]: hosts seen before that list no worker now
  clockRtt: Infinity, // the quickest round trip yet: the server's clock was read on it
  machine: null, // /api/workers' machine: {cores, spare, window_s}

  // Whose requests the log and timeline show (poll.js, render.js).
  view: 'mine', // 'mine' | 'everyone'
  latestPolled: null, // the newest request id /api/requests has given
  pollingEveryone: false,
  renderQueued: false,

  // Bursts, the drawing's and the lab's, numbered together (bursts.js, lab-burst.js).
  burstNo: 0,
  burstRunning: false, // the drawing's burst
  lastBurst: null, // {from, to, label}: what the timeline holds still on

  // The lab card (lab.js, lab-burst.js, lab-scaling.js).
  lab: {
    off: false, // the server runs with LAB=0, or said lab_off
    running: false, // a lab burst is under way
    refusal: null, // the server's word when it would not add or remove a worker
    scaling: null, // a worker asked for or sent away: {action, before, since, target}
    tensorflowPids: new Set(), // workers seen running TensorFlow work: it is loaded there
    tensorflowLoading: new Set(), // workers still loading it at the end of the last burst
    // The last burst of each workload in each server shape this tab has seen, kept across the
    // server's restarts in other modes (lab-compare.js): key `${mode}|${shape}|${pools}|${kind}|${ms}|${n}`.
    compared: readCompared(),
  },
};

// Kept in sessionStorage: the teacher restarts the server in another mode, the tab stays.
// One row per server (mode, shape, TensorFlow's pools) and burst (workload, ms, N).
export function keepCompared(row) {
  const key = `${row.mode}|${row.shape}|${row.pools ?? ''}|${row.kind}|${row.ms}|${row.n}`;
  state.lab.compared.delete(key); // the newest last
  state.lab.compared.set(key, row);
  storeCompared();
}

export function clearCompared() {
  state.lab.compared.clear();
  storeCompared();
}

function storeCompared() {
  try {
    sessionStorage.setItem(COMPARED_KEY, JSON.stringify([...state.lab.compared]));
  } catch {
    // storage blocked: the table lasts as long as the page
  }
}

function readCompared() {
  try {
    return new Map(JSON.parse(sessionStorage.getItem(COMPARED_KEY) || '[]'));
  } catch {
    return new Map();
  }
}

export function livePids() {
  return state.workers.map((worker) => worker.pid);
}

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

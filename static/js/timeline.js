// View: the timeline card. One lane per worker PID (a sub-lane per thread in threaded modes),
// each request a bar from timing.received to timing.finished on the server's clock, the model
// call or the lab's work (timing.started..finished) solid inside it, striped when lab work's
// thread ran only part of that time; drawn on a canvas. Above it, whose requests and which
// window of time. Styles: css/timeline.css.

import { pidSlot } from './colors.js';
import { byTestId } from './widgets.js';

const AXIS_HEIGHT = 30;
const LANE_GAP = 4;
const SUB_LANE_HEIGHT = 26;
const LABEL_WIDTH = 120;
const THREADED_LABEL_WIDTH = 176; // room for a thread's name after the PID
const NARROW_LABEL_WIDTH = 64; // on a phone the lane label is the PID alone
const NARROW = 520; // css px
const MIN_TICK_PX = 100; // room for one tick label
const RIGHT_PAD = 16;
const MIN_BAR_PX = 3;
const MAX_TRACKS = 5; // overlapping requests in one lane: at most this many side by side, 4 px each
const STRIPE_PX = 6; // lab work that ran part of its time is striped at this period
const SOLID_SHARE = 0.85; // ran at least this share of its time: drawn solid
const FRAME_MS = 50; // at most 20 frames a second: the server shares these CPUs
const HOLD_PAD = 0.15; // room either side of a held burst, as a fraction of its span
const TICK_STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60];
const FONT = '14px system-ui, sans-serif';
const BOLD_FONT = 'bold 14px system-ui, sans-serif';
const SMALL_FONT = '12px system-ui, sans-serif';
const GRID = '#d0d4dc';
const TEXT = '#1a1d24';
const MUTED = '#5b6170';

const el = {
  canvas: byTestId('timeline'),
  caption: byTestId('timeline-caption'),
  views: $('[data-view]'),
  windows: byTestId('timeline-window'),
  lastBurst: byTestId('timeline-burst'),
};
const canvas = el.canvas[0];
const ctx = canvas.getContext('2d');
// What is drawn; the flows set it through the functions below.
const drawn = {
  rows: [],
  live: [],
  gone: new Set(),
  hostOf: new Map(), // pid -> host, of every worker seen (a gone one keeps its host)
  threaded: false,
  windowSec: 10,
  colourBy: 'pid', // or 'client': each client (a student's tab) in a colour of its own
  held: null,
  offset: 0, // server clock minus this browser's clock, seconds
  dirty: true,
  intoView: false, // scroll the card into view after the next drawing
};
const colours = new Map();
let lastFrame = 0;

// -- the card's controls ----------------------------------------------------------------

// chooseView(whose): 'mine' or 'everyone'; follow(seconds): follow live; holdLastBurst().
export function bind({ chooseView, follow, holdLastBurst }) {
  el.views.on('click', function onView() {
    chooseView($(this).attr('data-view'));
  });
  el.windows.on('click', function onWindow() {
    follow(Number($(this).attr('data-seconds')));
  });
  el.lastBurst.on('click', holdLastBurst);
}

export function showView(view) {
  el.views.each(function markPressed() {
    $(this).attr('aria-pressed', String($(this).attr('data-view') === view));
  });
}

// choice: a window in seconds, or 'burst' for the last burst held still.
export function showChoice(choice, haveBurst) {
  el.windows.each(function markPressed() {
    $(this).attr('aria-pressed', String(Number($(this).attr('data-seconds')) === choice));
  });
  el.lastBurst.prop('disabled', !haveBurst).attr('aria-pressed', String(choice === 'burst'));
}

// -- what is drawn ------------------------------------------------------------------------

export function start() {
  requestAnimationFrame(frame);
  new ResizeObserver(() => {
    drawn.dirty = true;
  }).observe(canvas.parentElement);
}

export function setRows(rows) {
  drawn.rows = rows;
  drawn.dirty = true;
}

// hostOf: pid -> host (HOST_NAME); with several hosts, lanes are grouped by host, then PID.
export function setWorkers(livePids, gonePids, threaded, hostOf = new Map()) {
  drawn.live = livePids;
  for (const [pid, host] of hostOf) drawn.hostOf.set(pid, host);
  drawn.gone = new Set(gonePids);
  drawn.threaded = threaded;
  drawn.dirty = true;
}

export function setClockOffset(seconds) {
  drawn.offset = seconds;
}

// 'pid' (the page: a worker's colour) or 'client' (the class view: a student's).
export function colourBy(what) {
  drawn.colourBy = what;
  drawn.dirty = true;
}

export function follow(windowSec) {
  drawn.windowSec = windowSec;
  drawn.held = null;
  drawn.dirty = true;
}

export function hold(from, to, label) {
  drawn.held = { from, to, label };
  drawn.dirty = true;
}

export function heldStill() {
  return drawn.held !== null;
}

export function windowSeconds() {
  return drawn.windowSec;
}

// A burst was fired, or has ended: the card comes into view (only as far as it must, so the
// controls that fired it stay on screen where they can) once it is drawn at its new height.
export function bringIntoView() {
  drawn.intoView = true;
  drawn.dirty = true;
}

function frame(time) {
  const sliding = !drawn.held && drawn.rows.length > 0;
  try {
    if (drawn.dirty || (sliding && time - lastFrame >= FRAME_MS)) {
      lastFrame = time;
      drawn.dirty = false;
      draw(drawn);
      showCaption(drawn);
      if (drawn.intoView) {
        drawn.intoView = false;
        el.canvas.closest('section')[0].scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }
    }
  } finally {
    requestAnimationFrame(frame); // a frame that failed never stops the next
  }
}

// A PID's colour for the canvas, where CSS classes do not reach: its palette slot's --pid-N.
// A client's colour: a hue from its id, so that 30 students' bars are told apart.
export function clientColour(clientId) {
  if (!clientId) return MUTED;
  let hash = 0;
  for (const char of clientId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 70%, ${38 + (hash % 3) * 8}%)`;
}

function pidColour(pid) {
  const slot = pidSlot(pid);
  if (!colours.has(slot)) {
    const style = getComputedStyle(document.documentElement);
    colours.set(slot, style.getPropertyValue(`--pid-${slot}`).trim() || '#555555');
  }
  return colours.get(slot);
}

// -- geometry ----------------------------------------------------------------------

function visibleRange(drawn) {
  if (drawn.held) {
    const span = Math.max(drawn.held.to - drawn.held.from, 0.01);
    return { from: drawn.held.from - span * HOLD_PAD, to: drawn.held.to + span * HOLD_PAD };
  }
  const now = Date.now() / 1000 + drawn.offset;
  return { from: now - drawn.windowSec, to: now };
}

function laneKey(row, threaded) {
  return threaded ? `${row.pid}/${row.thread_id}` : `${row.pid}`;
}

// Lanes: every live worker, plus any worker (live or not) with a bar in view.
function buildLanes(drawn, shown) {
  const pids = new Set(drawn.live);
  for (const row of shown) {
    pids.add(row.pid);
    if (row.host && !drawn.hostOf.has(row.pid)) drawn.hostOf.set(row.pid, row.host);
  }
  const host = (pid) => drawn.hostOf.get(pid) || '';
  const lanes = [];
  for (const pid of [...pids].sort((a, b) => host(a).localeCompare(host(b)) || a - b)) {
    const threads = new Map();
    if (drawn.threaded) {
      for (const row of drawn.rows) {
        if (row.pid === pid && !threads.has(row.thread_id)) threads.set(row.thread_id, row.thread);
      }
    }
    const subLanes = drawn.threaded && threads.size
      ? [...threads.entries()].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ key: `${pid}/${id}`, name }))
      : [{ key: `${pid}`, name: null }];
    lanes.push({ pid, host: host(pid), gone: drawn.gone.has(pid) || !drawn.live.includes(pid), subLanes });
  }
  return lanes;
}

function tickStep(span, width) {
  const most = Math.max(2, Math.floor(width / MIN_TICK_PX));
  return TICK_STEPS.find((step) => span / step <= most) || 60;
}

function formatTick(seconds, step) {
  if (step >= 1) return `${Math.round(seconds)} s`;
  if (step >= 0.1) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds * 1000)} ms`;
}

// -- drawing -------------------------------------------------------------------

function draw(drawn) {
  const range = visibleRange(drawn);
  const shown = drawn.rows.filter((row) => row.finished >= range.from && row.received <= range.to);
  const lanes = buildLanes(drawn, shown);
  const subCount = lanes.reduce((n, lane) => n + lane.subLanes.length, 0);
  const cssHeight = AXIS_HEIGHT + Math.max(subCount, 1) * SUB_LANE_HEIGHT + lanes.length * LANE_GAP + 8;
  const cssWidth = canvas.parentElement.clientWidth - 2;
  resize(cssWidth, cssHeight);

  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const narrow = cssWidth < NARROW;
  const labels = narrow ? NARROW_LABEL_WIDTH : drawn.threaded ? THREADED_LABEL_WIDTH : LABEL_WIDTH;
  const plot = { left: labels, narrow, right: cssWidth - RIGHT_PAD, top: AXIS_HEIGHT, bottom: cssHeight - 4 };
  const x = (t) => plot.left + ((t - range.from) / (range.to - range.from)) * (plot.right - plot.left);

  drawAxis(ctx, drawn, range, plot, x);
  const laneTops = drawLanes(ctx, lanes, plot);
  let bars = 0;
  let striped = 0;
  const stacked = stackOverlaps(shown, drawn.threaded);
  for (const row of shown) {
    const top = laneTops.get(laneKey(row, drawn.threaded)) ?? laneTops.get(`${row.pid}`);
    if (top === undefined) continue;
    if (drawBar(ctx, row, top, x, plot, stacked.get(row))) striped += 1;
    bars += 1;
  }
  if (!lanes.length) {
    ctx.fillStyle = MUTED;
    ctx.font = FONT;
    ctx.fillText('Waiting for the server’s workers…', plot.left, plot.top + 18);
  }
  el.canvas.attr({
    'data-mode': drawn.held ? 'held' : 'live',
    'data-lanes': lanes.length,
    'data-hosts': new Set(lanes.map((lane) => lane.host)).size,
    'data-sub-lanes': subCount,
    'data-bars': bars,
    'data-striped': striped,
    // the most requests side by side in one lane (they overlapped in time)
    'data-stacked': Math.max(0, ...[...stacked.values()].map((place) => place.of)),
  });
}

function resize(cssWidth, cssHeight) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(cssWidth * ratio);
  const height = Math.round(cssHeight * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
    canvas.style.height = `${cssHeight}px`; // CSSOM, allowed under a strict CSP
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
}

function drawAxis(ctx, drawn, range, plot, x) {
  const span = range.to - range.from;
  const step = tickStep(span, plot.right - plot.left);
  // Live: ticks count back from now. Held: ticks count on from the burst's first arrival.
  const origin = drawn.held ? drawn.held.from : range.to;
  ctx.font = FONT;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  const first = Math.ceil((range.from - origin) / step);
  const last = Math.floor((range.to - origin) / step);
  for (let i = first; i <= last; i += 1) {
    const t = origin + i * step;
    const px = x(t);
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(px + 0.5, plot.top - 6);
    ctx.lineTo(px + 0.5, plot.bottom);
    ctx.stroke();
    ctx.fillStyle = MUTED;
    const label = (i === 0 && !drawn.held ? 'now' : `${i > 0 ? '+' : ''}${formatTick(i * step, step)}`).replace('-', '−');
    ctx.fillText(label, insideCanvas(px, ctx.measureText(label).width, plot), plot.top - 11);
  }
  ctx.textAlign = 'left';
}

// A tick label's centre, moved in from the canvas's edges so that the whole label shows.
function insideCanvas(px, width, plot) {
  const half = width / 2 + 2;
  return Math.min(Math.max(px, half), plot.right + RIGHT_PAD - half);
}

function showCaption(drawn) {
  const text = drawn.held
    ? `${drawn.held.label}, held still: choose a window to follow live again`
    : `last ${drawn.windowSec} s, live`;
  if (el.caption.text() !== text) el.caption.text(text);
}

function drawLanes(ctx, lanes, plot) {
  const tops = new Map();
  const severalHosts = new Set(lanes.map((lane) => lane.host)).size > 1;
  let y = plot.top + LANE_GAP;
  ctx.textBaseline = 'middle';
  lanes.forEach((lane, index) => {
    const height = lane.subLanes.length * SUB_LANE_HEIGHT;
    ctx.fillStyle = index % 2 ? '#f3f5f9' : '#e9edf4';
    ctx.fillRect(plot.left, y, plot.right - plot.left, height);
    ctx.fillStyle = lane.gone ? MUTED : pidColour(lane.pid);
    ctx.fillRect(4, y, 6, height);
    ctx.font = BOLD_FONT;
    ctx.fillStyle = lane.gone ? MUTED : TEXT;
    // Several hosts: "host · pid", within the same width as "PID pid".
    const pidName = severalHosts ? `${lane.host} · ${lane.pid}` : plot.narrow ? `${lane.pid}` : `PID ${lane.pid}`;
    const name = `${pidName}${lane.gone && !plot.narrow ? ' (gone)' : ''}`;
    ctx.fillText(name, 16, y + SUB_LANE_HEIGHT / 2);
    const nameEnd = 16 + ctx.measureText(name).width + 8;
    lane.subLanes.forEach((sub, i) => {
      tops.set(sub.key, y + i * SUB_LANE_HEIGHT);
      if (sub.name && !plot.narrow) {
        ctx.font = SMALL_FONT;
        ctx.fillStyle = MUTED;
        ctx.textAlign = 'right';
        // The first thread shares its row with the PID: cut its name short rather than over it.
        const room = plot.left - 6 - (i === 0 ? nameEnd : 16);
        ctx.fillText(fitText(shortThread(sub.name), room), plot.left - 6, y + (i + 0.5) * SUB_LANE_HEIGHT);
        ctx.textAlign = 'left';
      }
    });
    if (!tops.has(`${lane.pid}`)) tops.set(`${lane.pid}`, y);
    y += height + LANE_GAP;
  });
  return tops;
}

// text, or as much of it as fits in `room` px with an ellipsis ('' when not even that does).
function fitText(text, room) {
  if (ctx.measureText(text).width <= room) return text;
  for (let end = text.length - 1; end > 0; end -= 1) {
    const cut = `${text.slice(0, end)}…`;
    if (ctx.measureText(cut).width <= room) return cut;
  }
  return '';
}

function shortThread(name) {
  return name.replace('ThreadPoolExecutor-', 'thread ').slice(0, 12);
}

// Requests that overlap in time in one lane (greenlets of MODE=async, requests queued in one
// thread) would be drawn on top of each other and look like one: each gets a track of its lane,
// the lowest free when it arrives, and the lane is shared between the tracks it needs at most
// (up to MAX_TRACKS; beyond, tracks are reused). Gives back row -> {track, of}.
function stackOverlaps(rows, threaded) {
  const byLane = new Map();
  for (const row of rows) {
    const key = laneKey(row, threaded);
    if (!byLane.has(key)) byLane.set(key, []);
    byLane.get(key).push(row);
  }
  const placed = new Map();
  for (const laneRows of byLane.values()) {
    laneRows.sort((a, b) => a.received - b.received);
    const ends = []; // per track: when its last request finished
    const tracks = laneRows.map((row) => {
      let track = ends.findIndex((end) => end <= row.received);
      if (track < 0) track = ends.length;
      ends[track] = row.finished;
      return track;
    });
    const of = Math.min(ends.length, MAX_TRACKS);
    laneRows.forEach((row, i) => placed.set(row, { track: tracks[i] % of, of }));
  }
  return placed;
}

function drawBar(ctx, row, top, x, plot, { track, of } = { track: 0, of: 1 }) {
  const colour = drawn.colourBy === 'client' ? clientColour(row.client_id) : pidColour(row.pid);
  const left = Math.max(x(row.received), plot.left);
  const right = Math.min(Math.max(x(row.finished), left + MIN_BAR_PX), plot.right);
  if (right <= plot.left || left >= plot.right) return false;
  const height = (SUB_LANE_HEIGHT - 6) / of;
  const y = top + 3 + track * height;
  const inset = Math.min(4, height / 4); // the model call (or lab work) inside the request
  ctx.globalAlpha = 0.35;
  ctx.fillStyle = colour;
  ctx.fillRect(left, y, right - left, height);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, y + 0.5, Math.max(right - left - 1, 1), Math.max(height - 1, 1));
  const modelLeft = Math.max(x(row.started), left);
  const modelRight = Math.max(Math.min(x(row.finished), right), modelLeft + 2);
  ctx.fillStyle = colour;
  if (!isStriped(row)) {
    ctx.fillRect(modelLeft, y + inset, modelRight - modelLeft, Math.max(height - 2 * inset, 1));
    return false;
  }
  // Lab work that ran only part of its time: one stripe per STRIPE_PX, as wide as that part.
  const stripe = Math.max(1, Math.round(row.ranShare * STRIPE_PX));
  for (let px = modelLeft; px < modelRight; px += STRIPE_PX) {
    ctx.fillRect(px, y + inset, Math.min(stripe, modelRight - px), Math.max(height - 2 * inset, 1));
  }
  return true;
}

function isStriped(row) {
  return row.ranShare !== null && row.ranShare !== undefined && row.ranShare < SOLID_SHARE;
}

// The lab card: pick a workload and N, fire a burst of it at the server, add or remove a
// worker process live, and say the server's mode and how to restart it in another.
// Owns the lab card's DOM (its lab-* hooks), as timeline.js owns the timeline's. The server's
// rules (presets, the mode to compare with, what a mode can, the limits) come with its
// settings in /api/workers: none is copied here.

import * as api from './api.js';
import { runBurst } from './burst.js';
import { holdOn, nextBurst } from './bursts.js';
import * as connection from './connection.js';
import { formatMs, listOf, plural, shape } from './format.js';
import { keepAnswer } from './render.js';
import { livePids, state } from './state.js';
import { byTestId, pidChip, showBurstSummary } from './widgets.js';

const KIND_NOTES = {
  python:
    'Pure-Python arithmetic for N ms of CPU. It holds the GIL: the threads of one process take turns, processes run side by side.',
  io: 'Sleeps N ms, as a request waiting on a database or a disk would. Waiting holds neither the GIL nor a CPU: threads overlap too.',
  tensorflow:
    'The model in TensorFlow, on a batch sized to take about N ms alone. TensorFlow lets go of the GIL while it computes.',
};
const DEFAULT_SIZE = 8;
const MAX_SIZE = 64;
const DEFAULT_MS = 100;
const SCALE_TIMEOUT_MS = 15000; // a worker that has not come or gone by then: say so
const PARALLEL_PERCENT = 110; // of one core: above this, parallel beyond any measuring noise

// -- pure helpers ----------------------------------------------------------------------

// The command that starts a server like this one, or in `mode` with that mode's preset
// (settings.presets: the server's).
function runCommand(settings, mode, workers = null, threads = null) {
  const preset = settings.presets[mode] || { workers, threads };
  const parts = [`MODE=${mode}`];
  if (workers !== null && workers !== preset.workers) parts.push(`WORKERS=${workers}`);
  if (threads !== null && threads !== preset.threads) parts.push(`THREADS=${threads}`);
  return `${parts.join(' ')} make run`;
}

// What a python burst should look like on this server.
function whatToSee(settings) {
  const { workers, threads } = settings;
  let text;
  if (workers === 1 && threads === 1) {
    text = 'One process, one thread: each request waits for the one before; nothing overlaps.';
  } else if (threads === 1) {
    text = `Each request gets a process of its own: python work overlaps across the PIDs, over 100 % CPU (one core per process at most, and no more than the machine has).`;
  } else if (workers === 1) {
    text = `One process, ${threads} threads sharing one GIL: python work stretches and interleaves on the thread lanes, CPU about 100 % at most. io work still overlaps.`;
  } else {
    text = `${workers} processes of ${threads} threads: python work runs ${workers} at a time, one per process; inside a process the threads take turns.`;
  }
  if (settings.batches) text += ' (Batching shares model calls between predictions; lab work is not batched.)';
  return text;
}

function readNumber(raw, fallback, low, high) {
  const n = Math.round(Number(raw));
  if (raw === '' || !Number.isFinite(n)) return fallback;
  return Math.min(Math.max(n, low), high);
}

// -- the card ------------------------------------------------------------------------------

// The lab's own state (settings and live workers are the page's, in state.js).
const lab = {
  off: false,
  running: false,
  refusal: null, // the server's word when it will not scale
  scaling: null, // {action, before, since, target}
  tensorflowPids: new Set(), // workers seen running TensorFlow work: it is loaded there
  adviceFor: null, // the settings the mode advice was written for
};

export function start() {
  byTestId('lab-burst').on('click', fire);
  byTestId('lab-size').add(byTestId('lab-ms')).on('keydown', (event) => {
    if (event.key === 'Enter') fire();
  });
  byTestId('lab-kind').on('change', showKind);
  byTestId('add-worker').on('click', () => scale('add'));
  byTestId('remove-worker').on('click', () => scale('remove'));
  showKind();
}

// -- the server's settings, on every poll of /api/workers --------------------------------

// previous: the settings of the poll before (null at the first).
export function showServer(previous) {
  const settings = state.settings;
  if (previous && (previous.mode !== settings.mode || previous.threads !== settings.threads)) lab.refusal = null;
  if (!settings.lab) {
    showOff();
    return;
  }
  lab.off = false;
  byTestId('lab-panel').attr('data-state', 'on').prop('hidden', false);
  byTestId('lab-ms').attr('max', settings.lab_max_ms);
  showMode(settings);
  checkScaling();
  showWarmUp();
  showScaling();
}

function showOff() {
  lab.off = true;
  byTestId('lab-panel').attr('data-state', 'off').prop('hidden', true);
  byTestId('lab-mode')
    .removeAttr('data-shown')
    .text('The lab is off on this server (LAB=0). Start it with LAB=1 to use it.');
}

// Rewritten only when it changes: a text being read or selected stays put.
function showMode(settings) {
  const live = livePids().length;
  const key = `${settings.mode}|${settings.workers}|${settings.threads}`;
  const $mode = byTestId('lab-mode');
  if ($mode.attr('data-shown') !== `${key}|${live}`) {
    $mode
      .attr({ 'data-mode': settings.mode, 'data-shown': `${key}|${live}` })
      .empty()
      .append(
        'This server runs ',
        $('<strong>', { text: `MODE=${settings.mode}` }),
        `: ${shape(settings.workers, settings.threads)} `,
        `(${runCommand(settings, settings.mode, settings.workers, settings.threads)})`,
        // Workers added or removed in the lab, or one being replaced: not what was configured.
        live && live !== settings.workers ? `; ${live} live now` : '',
      );
  }
  if (lab.adviceFor !== key) {
    lab.adviceFor = key;
    showAdvice(settings);
  }
}

function showAdvice(settings) {
  const other = settings.contrast;
  byTestId('lab-expect').text(whatToSee(settings));
  byTestId('lab-restart').text(runCommand(settings, other)).attr('data-mode', other);
  const { presets } = settings;
  const others = Object.keys(presets).filter((mode) => mode !== settings.mode && mode !== other);
  byTestId('lab-presets')
    .empty()
    .append(
      'Or ',
      ...listOf(
        others.map((mode) => [
          $('<code>', { text: `MODE=${mode}` }),
          ` (${shape(presets[mode].workers, presets[mode].threads)})`,
        ]),
      ),
      '. ',
      $('<code>', { text: 'WORKERS=…' }),
      ' and ',
      $('<code>', { text: 'THREADS=…' }),
      ' override a preset, e.g. ',
      $('<code>', { text: 'MODE=processes WORKERS=2 make run' }),
      '.',
    );
}

// -- the workload ------------------------------------------------------------------------

function showKind() {
  const kind = byTestId('lab-kind').val();
  byTestId('lab-kind-note').text(KIND_NOTES[kind] || '');
  showWarmUp();
}

function showWarmUp() {
  const $note = byTestId('lab-warmup');
  if (byTestId('lab-kind').val() !== 'tensorflow') {
    $note.prop('hidden', true);
    return;
  }
  const live = livePids().length;
  const ready = livePids().filter((pid) => lab.tensorflowPids.has(pid)).length;
  const text =
    `Warm-up: each worker loads TensorFlow on its first tensorflow request, one worker at a time, a few seconds each (longer on a busy machine; not counted as work, but in the wall time). ` +
    (live ? `Loaded, as far as this tab has seen: ${ready} of ${live} ${plural(live, 'worker', 'workers')}.` : '');
  $note.prop('hidden', false).attr({ 'data-loaded': ready, 'data-state': 'idle' }).text(text);
}

function readChoice() {
  const kind = byTestId('lab-kind').val();
  const ms = readNumber(byTestId('lab-ms').val(), DEFAULT_MS, 0, state.settings.lab_max_ms);
  const n = readNumber(byTestId('lab-size').val(), DEFAULT_SIZE, 1, MAX_SIZE);
  byTestId('lab-ms').val(ms);
  byTestId('lab-size').val(n);
  return { kind, ms, n };
}

async function fire() {
  if (lab.running || lab.off) return;
  const choice = readChoice();
  const { kind, ms, n } = choice;
  const number = nextBurst();
  const title = `Lab burst ${number}, ${n} × ${kind} ${ms} ms`;
  const cold = kind === 'tensorflow' && livePids().some((pid) => !lab.tensorflowPids.has(pid));
  setRunning(true);
  const $summary = byTestId('lab-summary');
  $summary
    .empty()
    .removeAttr('data-requests')
    .text(`${title}: sending…${cold ? ' Workers that have not run TensorFlow yet load it first (a few seconds each).' : ''}`);
  const loading = new Set();
  // The server runs only so much lab work at once (so predictions always find a free
  // worker): send no more than that at once, the rest as answers come back.
  const { lab_max_in_flight: serverCap, lab_max_per_client: perClient, teacher } = state.settings || {};
  const concurrency = Math.min(n, serverCap || n, teacher ? n : perClient || n);
  const onWait = (failure) => {
    if (failure.code === 'tensorflow_loading') {
      loading.add(failure.worker);
      byTestId('lab-warmup').prop('hidden', false).attr('data-state', 'loading').text(failure.message);
    } else {
      $summary.text(`${title}: ${failure.message}`);
    }
  };
  const summary = await runBurst(
    n,
    () => api.labWork(kind, ms, state.clientId),
    (answer) => {
      if (answer.body.kind === 'tensorflow') lab.tensorflowPids.add(answer.body.worker.pid);
      return keepAnswer(answer, number);
    },
    { concurrency, onWait },
  );
  setRunning(false);
  showWarmUp();
  if (summary.failure && summary.failure.code === 'lab_off') showOff();
  showLabSummary(number, title, choice, summary, loading.size);
  if (summary.answered) holdOn(summary, `lab burst ${number}: ${n} × ${kind} ${ms} ms`);
  if (summary.failure && summary.failure.kind === 'unavailable') connection.lost(summary.failure);
}

function setRunning(running) {
  lab.running = running;
  byTestId('lab-burst').prop('disabled', running).text(running ? 'Working…' : 'Fire the burst');
}

function showLabSummary(number, title, choice, summary, loadedTensorflow) {
  // The teaching point of "stretch": N ms of work against how long it took on the server.
  const median = summary.medianServerMs;
  const alone = median === null ? '' : ` (each ${choice.ms} ms of work; on the server ${formatMs(median)} at the median)`;
  const $el = showBurstSummary(byTestId('lab-summary'), number, summary, { title, alone });
  $el.attr({ 'data-kind': choice.kind, 'data-ms': choice.ms, 'data-threads': summary.threads });
  if (summary.cpuSeconds === null) {
    $el.removeAttr('data-cpu-ms data-cpu-percent');
    return;
  }
  const percent = summary.cpuPercent;
  $el.attr({ 'data-cpu-ms': Math.round(summary.cpuSeconds * 1000), 'data-cpu-percent': Math.round(percent) });
  $el.append(
    $('<span>', { class: 'lab-cpu' }).append(
      'CPU: ',
      $('<strong>', { text: formatMs(summary.cpuSeconds * 1000) }),
      ' of CPU in ',
      $('<strong>', { text: formatMs(summary.wallMs) }),
      ' of wall time = ',
      $('<strong>', { class: 'lab-percent', text: `${Math.round(percent)} %` }),
      ' of one core: ',
      loadedTensorflow ? 'most of the wall time went on loading TensorFlow.' : verdict(choice.kind, percent, summary),
    ),
  );
  if (loadedTensorflow) {
    $el.append(
      $('<span>', {
        class: 'note',
        text: `${loadedTensorflow} ${plural(loadedTensorflow, 'worker', 'workers')} loaded TensorFlow first (in the wall time): fire it again for the steady state.`,
      }),
    );
  }
}

function verdict(kind, percent, summary) {
  if (percent > PARALLEL_PERCENT) return 'more than one core busy at once, the requests ran in parallel.';
  if (kind === 'io') return 'io work waits without using a CPU; whether it overlapped shows in “at most … at once”.';
  if (summary.pids.length > 1 && summary.maxInFlight > 1) {
    return 'several processes at once, yet about one core in all: the machine’s cores were busy with other work (or it has one core).';
  }
  if (summary.pids.length === 1 && summary.threads > 1) {
    return 'one core at most: the threads of one process took turns at the GIL.';
  }
  return 'one core at most: the requests took turns, not ran in parallel.';
}

// -- adding and removing workers ------------------------------------------------------------

function scale(action) {
  if (lab.scaling || lab.off || !state.settings) return;
  lab.scaling = { action, before: new Set(livePids()), since: Date.now(), target: null };
  showScalingNote(`Asking the server for one worker ${action === 'add' ? 'more' : 'less'}…`);
  showScaling();
  api.labWorkers(action).then(
    ({ body }) => {
      if (!lab.scaling) return;
      lab.scaling.target = body.target;
      showScalingNote(
        `Sent ${action === 'add' ? 'TTIN' : 'TTOU'} to the gunicorn master (PID ${body.master_pid}): ${body.workers} → ${body.target} workers…`,
      );
      checkScaling();
      showScaling();
    },
    (failure) => {
      lab.scaling = null;
      if (failure.code === 'not_scalable') lab.refusal = failure.message;
      if (failure.code === 'lab_off') showOff();
      showScalingNote(failure.message, 'error');
      showScaling();
      if (failure.kind === 'unavailable') connection.lost(failure);
    },
  );
}

// A change is done when the live count reaches its target: say which PID came or went.
function checkScaling() {
  const scaling = lab.scaling;
  if (!scaling) return;
  const live = livePids();
  if (scaling.target !== null && live.length === scaling.target) {
    lab.scaling = null;
    const count = `${live.length} ${plural(live.length, 'worker', 'workers')} now`;
    if (scaling.action === 'add') {
      const joined = live.filter((pid) => !scaling.before.has(pid));
      showScalingNote(
        joined.length
          ? ['PID ', pidChip(joined[0]), ` joined: ${count}. Fire a burst and watch it take requests.`]
          : `${count}.`,
        'done',
      );
    } else {
      const left = [...scaling.before].filter((pid) => !live.includes(pid));
      showScalingNote(
        left.length ? [`PID ${left[0]} left (gunicorn stops its oldest worker): ${count}.`] : `${count}.`,
        'done',
      );
    }
  } else if (Date.now() - scaling.since > SCALE_TIMEOUT_MS) {
    lab.scaling = null;
    const count = `${live.length} ${plural(live.length, 'worker', 'workers')}`;
    showScalingNote(`No change after ${SCALE_TIMEOUT_MS / 1000} s: ${count} live.`, 'error');
  }
}

function showScaling() {
  const settings = state.settings;
  if (!settings) return;
  const canScale = settings.can_add_workers && !lab.refusal;
  const [fewest, most] = settings.lab_workers;
  const live = livePids().length;
  const busy = Boolean(lab.scaling);
  byTestId('lab-workers').attr({
    'data-scalable': String(canScale),
    'data-teacher': String(settings.teacher),
    'data-state': busy ? 'pending' : 'idle',
  });
  // The server's controls are the teacher's: shown only on the page opened with the token.
  byTestId('add-worker').prop({ hidden: !settings.teacher, disabled: !canScale || busy || live >= most });
  byTestId('remove-worker').prop({ hidden: !settings.teacher, disabled: !canScale || busy || live <= fewest });
  const $note = byTestId('lab-workers-note');
  if (!settings.teacher) {
    const why =
      'Adding and removing workers is the teacher’s: it works on the page opened with the address (and token) the server printed at start.';
    if ($note.text() !== why) $note.attr('data-state', 'teacher-only').text(why);
  } else if (!canScale) {
    const modes = Object.keys(settings.presets).filter((mode) => settings.presets[mode].can_add_workers);
    const why =
      lab.refusal ||
      `Workers can be added or removed in process modes only (MODE=${listOf(modes).join('')}): gunicorn's TTIN and TTOU add and remove processes, and this server runs ${shape(settings.workers, settings.threads)}.`;
    if ($note.text() !== why) $note.attr('data-state', 'refused').text(why);
  } else if (!busy && [undefined, 'refused', 'teacher-only'].includes($note.attr('data-state'))) {
    $note.removeAttr('data-state');
    $note.text(`${fewest} to ${most} workers. A new one gets a new PID, a card and a lane.`);
  }
}

function showScalingNote(content, noteState = 'pending') {
  byTestId('lab-workers-note')
    .attr('data-state', noteState)
    .empty()
    .append(...[].concat(content));
}


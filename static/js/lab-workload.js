// View: the lab card's workload. Which kind, how many ms, how many at once, the button that
// fires them; what the kind does, the TensorFlow warm-up, and the burst's summary with the CPU
// the server spent. Styles: css/lab.css.

import { formatMs, plural } from './format.js';
import { labVerdict } from './verdicts.js';
import { byTestId, clearBurstSummary, showBurstSummary } from './widgets.js';

const KIND_NOTES = {
  python:
    'Pure-Python arithmetic for N ms of CPU. It holds the GIL: the threads of one process take turns, processes run side by side (on free-threaded Python, threads too).',
  io: 'Sleeps N ms, as a request waiting on a database or a disk would. Waiting holds neither the GIL nor a CPU: threads overlap too.',
  tensorflow:
    'The model in TensorFlow, on a batch sized to take about N ms alone. TensorFlow lets go of the GIL while it computes.',
};

const el = {
  kind: byTestId('lab-kind'),
  ms: byTestId('lab-ms'),
  size: byTestId('lab-size'),
  fire: byTestId('lab-burst'),
  kindNote: byTestId('lab-kind-note'),
  warmUp: byTestId('lab-warmup'),
  summary: byTestId('lab-summary'),
};

// fire(): the button, or Enter in a number; kindChanged(): another workload was chosen.
const FIRST_SUMMARY = el.summary.text().trim(); // what the card says before any burst

// Back to what it says before any burst (a new server: the last burst's PIDs are gone).
export function clearSummary() {
  clearBurstSummary(el.summary, FIRST_SUMMARY).removeAttr('data-kind data-ms data-threads data-cpu-ms data-cpu-percent');
}

export function bind({ fire, kindChanged }) {
  el.fire.on('click', fire);
  el.size.add(el.ms).on('keydown', (event) => {
    if (event.key === 'Enter') fire();
  });
  el.kind.on('change', () => {
    showKindNote();
    kindChanged();
  });
  showKindNote();
}

// The server's longest workload (settings.lab_max_ms).
export function setMaxMs(ms) {
  if (el.ms.attr('max') !== String(ms)) el.ms.attr('max', ms);
}

// {kind, ms, n}: each number within its input's min and max (else its default), written back.
export function readChoice() {
  const ms = readNumber(el.ms);
  const n = readNumber(el.size);
  el.ms.val(ms);
  el.size.val(n);
  return { kind: el.kind.val(), ms, n };
}

function readNumber($input) {
  const raw = $input.val();
  const n = Math.round(Number(raw));
  if (raw === '' || !Number.isFinite(n)) return Number($input.prop('defaultValue'));
  const low = Number($input.attr('min') ?? -Infinity);
  const high = Number($input.attr('max') ?? Infinity);
  return Math.min(Math.max(n, low), high);
}

function showKindNote() {
  el.kindNote.text(KIND_NOTES[el.kind.val()] || '');
}

// For tensorflow: each worker loads it on its first such request. live: the live workers;
// loaded: how many of them this tab has seen run TensorFlow work; loading: how many were still
// loading it when the last burst ended.
export function showWarmUp(live, loaded, loading = 0) {
  if (el.kind.val() !== 'tensorflow') {
    el.warmUp.prop('hidden', true);
    return;
  }
  const text =
    `Warm-up: each worker loads TensorFlow on its first tensorflow request, one worker at a time, a few seconds each (longer on a busy machine; not counted as work, but in the wall time). ` +
    (live ? `Loaded, as far as this tab has seen: ${loaded} of ${live} ${plural(live, 'worker', 'workers')}` : '') +
    (live && loading ? `; ${loading} still loading at the end of the last burst.` : live ? '.' : '');
  el.warmUp.prop('hidden', false).attr({ 'data-loaded': loaded, 'data-state': 'idle' }).text(text);
}

// The server's word while a worker loads TensorFlow: "Loading TensorFlow in worker N …", and
// how long this burst has waited for it so far.
export function showLoading(message, waitedMs) {
  const waited = waitedMs >= 1000 ? ` Waited ${Math.round(waitedMs / 1000)} s so far.` : '';
  el.warmUp.prop('hidden', false).attr('data-state', 'loading').text(`${message}${waited}`);
}

export function setRunning(running) {
  el.fire.prop('disabled', running).text(running ? 'Working…' : 'Fire the burst');
}

// cold: some workers have not loaded TensorFlow yet.
export function showSending(title, cold) {
  el.summary
    .empty()
    .removeAttr('data-requests')
    .text(`${title}: sending…${cold ? ' Workers that have not run TensorFlow yet load it first (a few seconds each).' : ''}`);
}

// The server said "not now" (too much lab work at once): the burst waits and goes on.
export function showWaiting(title, message) {
  el.summary.text(`${title}: ${message}`);
}

// warm: {loaded, loading, waitedMs, pools, machine}: workers that loaded TensorFlow during the
// burst, workers still loading it at its end, how long the first answer waited for it, the
// TensorFlow pools the answers named, and the machine's spare cores at the end.
export function showSummary(number, title, choice, summary, warm) {
  // The teaching point of "stretch": N ms of work against how long it took on the server.
  const median = summary.medianServerMs;
  const alone = median === null ? '' : ` (each ${choice.ms} ms of work; on the server ${formatMs(median)} at the median)`;
  const $el = showBurstSummary(el.summary, number, summary, { title, alone });
  $el.attr({ 'data-kind': choice.kind, 'data-ms': choice.ms, 'data-threads': summary.threads });
  if (summary.cpuSeconds === null) {
    $el.removeAttr('data-cpu-ms data-cpu-percent');
    return;
  }
  const percent = summary.cpuPercent;
  const warming = warm.loaded + warm.loading > 0;
  $el.attr({ 'data-cpu-ms': Math.round(summary.cpuSeconds * 1000), 'data-cpu-percent': Math.round(percent) });
  $el.append(
    $('<span>', { class: 'lab-cpu' }).append(
      'CPU: ',
      $('<strong>', { text: formatMs(summary.cpuSeconds * 1000) }),
      ' of CPU in ',
      $('<strong>', { text: formatMs(summary.wallMs) }),
      ' of wall time = ',
      $('<strong>', { class: 'lab-percent', text: `${Math.round(percent)} %` }),
      ` of one core; ${((summary.answered * 1000) / summary.wallMs).toFixed(1)} requests/s: `,
      warming
        ? 'the wall time includes waiting for TensorFlow to load, so this is not the steady state.'
        : labVerdict(choice.kind, summary, warm.pools, warm.machine, warm.gil),
    ),
  );
  if (warming) $el.append($('<span>', { class: 'note', text: `${warmUpText(warm)}: fire it again for the steady state.` }));
}

function warmUpText({ loaded, loading, waitedMs }) {
  const parts = [];
  const took = waitedMs === null ? '' : ` (the first answer came ${(waitedMs / 1000).toFixed(1)} s after the wait began)`;
  if (loaded) parts.push(`${loaded} ${plural(loaded, 'worker', 'workers')} loaded TensorFlow during this burst${took}`);
  if (loading) parts.push(`${loading} ${plural(loading, 'was', 'were')} still loading it at its end`);
  return parts.join('; ');
}

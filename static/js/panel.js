// Every DOM lookup and update of the page except the drawing pad and the timeline.
// Elements are found by their data-testid, the same hooks the tests use.

import { pidClass } from './colors.js';

const MAX_LOG_ROWS = 200;
const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const MB = 1024 * 1024;
const GONE_CARD_MS = 60000; // a dead worker's greyed card stays this long
const BROWSER_CONNECTIONS = 6; // what Chromium and Firefox open at most to one server over HTTP/1.1

function byTestId(id) {
  return $(`[data-testid=${id}]`);
}

// -- controls ------------------------------------------------------------------

export function bindControls(handlers) {
  byTestId('predict').on('click', handlers.predict);
  byTestId('clear').on('click', handlers.clear);
  byTestId('undo').on('click', handlers.undo);
  byTestId('burst').on('click', handlers.burst);
  byTestId('burst-size').on('keydown', (event) => {
    if (event.key === 'Enter') handlers.burst();
  });
  $('[data-view]').on('click', function onView() {
    handlers.view($(this).attr('data-view'));
  });
  byTestId('timeline-window').on('click', function onWindow() {
    handlers.window(Number($(this).attr('data-seconds')));
  });
  byTestId('timeline-burst').on('click', handlers.lastBurst);
}

// choice: a window in seconds, or 'burst' for the last burst held still.
export function showTimelineChoice(choice, haveBurst) {
  byTestId('timeline-window').each(function markPressed() {
    $(this).attr('aria-pressed', String(Number($(this).attr('data-seconds')) === choice));
  });
  byTestId('timeline-burst').prop('disabled', !haveBurst).attr('aria-pressed', String(choice === 'burst'));
}

export function readBurstSize() {
  return byTestId('burst-size').val();
}

export function showBurstSize(n) {
  byTestId('burst-size').val(n);
}

export function setBurstRunning(running) {
  byTestId('burst').prop('disabled', running).text(running ? 'Sending…' : 'Send all at once');
}

export function showView(view) {
  $('[data-view]').each(function markPressed() {
    $(this).attr('aria-pressed', String($(this).attr('data-view') === view));
  });
  byTestId('log-view').text(view === 'everyone' ? 'every client, newest first' : 'this tab, newest first');
}

// -- the answer ----------------------------------------------------------------

export function buildProbabilityBars() {
  const $list = byTestId('probabilities').empty();
  for (const digit of DIGITS) {
    $list.append(
      $('<li>', { class: 'probability', 'data-digit': digit }).append(
        $('<span>', { class: 'label', text: digit }),
        $('<span>', { class: 'track' }).append($('<span>', { class: 'bar' })),
        $('<span>', { class: 'value', text: '' }),
      ),
    );
  }
}

function setPrediction(state, digit = null) {
  const $el = byTestId('prediction').attr('data-state', state);
  if (digit === null) $el.removeAttr('data-digit');
  else $el.attr('data-digit', digit);
}

export function showPending() {
  setPrediction('pending');
  byTestId('message').text('');
}

export function showAnswer(result, roundTripMs) {
  const percent = Math.round(result.confidence * 100);
  setPrediction('done', result.digit);
  byTestId('digit').text(result.digit);
  byTestId('confidence').text(`${percent}% sure`);
  const serverMs = (result.timing.finished - result.timing.received) * 1000;
  byTestId('answered-by')
    .empty()
    .append(
      'answered by ',
      pidChip(result.worker.pid),
      ` in ${formatMs(serverMs)} on the server, ${formatMs(roundTripMs)} round trip`,
    );
  byTestId('message').text('');
  byTestId('announce').text(`The model reads ${result.digit}, ${percent} percent sure.`);
  showProbabilities(result.probabilities, result.digit);
  byTestId('model-input').attr('src', result.model_input).prop('hidden', false);
  byTestId('model-input-empty').prop('hidden', true);
}

function showProbabilities(probabilities, best) {
  byTestId('probabilities')
    .children()
    .each(function showOne(i) {
      const p = probabilities[i] || 0;
      const $row = $(this).toggleClass('best', i === best);
      $row.find('.bar').css('width', `${(p * 100).toFixed(1)}%`);
      $row.find('.value').text(formatPercent(p));
    });
}

function clearAnswer(text) {
  byTestId('digit').text('?');
  byTestId('confidence').text(text);
  byTestId('answered-by').empty();
  byTestId('probabilities').children().removeClass('best').find('.bar').css('width', '0%');
  byTestId('probabilities').find('.value').text('');
  byTestId('model-input').prop('hidden', true).removeAttr('src');
  byTestId('model-input-empty').prop('hidden', false);
}

export function showEmpty(text = 'Draw a digit') {
  setPrediction('empty');
  clearAnswer(text);
  byTestId('message').text('');
}

// A calm note rather than an error: the server found no digit to read.
export function showNothingToRead(text) {
  setPrediction('empty');
  clearAnswer(text);
  byTestId('message').text('');
  byTestId('announce').text(text);
}

export function showError(message) {
  setPrediction('error');
  clearAnswer('No answer');
  byTestId('digit').text('!');
  byTestId('message').text(message);
}

// -- connection and mode ----------------------------------------------------------

export function showConnection(up, text) {
  byTestId('connection').attr('data-state', up ? 'up' : 'down').text(text);
  // What the cards say is from before the server went away.
  byTestId('worker-panel').toggleClass('stale', !up);
}

export function showMode(settings) {
  const workers = settings.workers;
  const threads = settings.threads;
  const shape = `${workers} ${plural(workers, 'process', 'processes')} × ${threads} ${plural(threads, 'thread', 'threads')}`;
  const runtime = settings.runtime === 'litert' ? 'LiteRT' : settings.runtime;
  byTestId('mode-banner')
    .empty()
    .append(
      $('<strong>', { text: shape }),
      ` · mode “${settings.mode}” · gunicorn ${settings.worker_class} workers · ${runtime}`,
    );
}

// -- workers -------------------------------------------------------------------

// workers: [{pid, requests, busy, ready, rss_bytes, pss_bytes, cpu_seconds, cpuPercent, threads,
// recentlyActive}]; gone: [{pid, goneAt}].
export function showWorkers(workers, gone) {
  const $panel = byTestId('worker-panel');
  const wanted = new Set();
  for (const worker of workers) {
    wanted.add(String(worker.pid));
    updateCard(cardFor($panel, worker.pid), worker);
  }
  const now = Date.now();
  for (const dead of gone) {
    if (now - dead.goneAt > GONE_CARD_MS) continue;
    wanted.add(String(dead.pid));
    const $card = cardFor($panel, dead.pid);
    $card.attr('data-state', 'gone').addClass('gone');
    $card.find('.state').text('stopped');
  }
  $panel.children('[data-testid=worker]').each(function dropOld() {
    if (!wanted.has($(this).attr('data-pid'))) $(this).remove();
  });
  byTestId('worker-count').text(`${workers.length} live`);
}

function cardFor($panel, pid) {
  let $card = $panel.children(`[data-testid=worker][data-pid=${pid}]`);
  if ($card.length) return $card;
  $card = $('<article>', { class: `worker-card ${pidClass(pid)}`, 'data-testid': 'worker', 'data-pid': pid });
  $card.append(
    $('<header>').append($('<span>', { class: 'pid', text: `PID ${pid}` }), $('<span>', { class: 'state' })),
    $('<dl>').append(
      $('<dt>', { text: 'requests' }), $('<dd>', { class: 'requests' }),
      $('<dt>', { text: 'memory' }), $('<dd>', { class: 'memory' }),
      $('<dt>', { text: 'CPU' }), $('<dd>', { class: 'cpu' }),
    ),
  );
  $panel.append($card);
  return $card;
}

function updateCard($card, worker) {
  const state = !worker.ready ? 'starting' : worker.busy || worker.recentlyActive ? 'busy' : 'idle';
  $card.attr('data-state', state).removeClass('gone');
  $card.find('.state').text(state);
  $card.find('.requests').text(worker.requests);
  const memory = worker.pss_bytes || worker.rss_bytes;
  $card.find('.memory').text(memory ? `${Math.round(memory / MB)} MB` : '–');
  const percent = worker.cpuPercent === null ? '' : ` · ${Math.round(worker.cpuPercent)}%`;
  $card.find('.cpu').text(`${worker.cpu_seconds.toFixed(1)} s${percent}`);
}

// -- burst -----------------------------------------------------------------------

// Into the burst card's summary, or another (the lab's). Gives back the element, for a
// caller that has more to say.
// options: target (a data-testid), title, and alone: what to say of one request's time.
export function showBurstSummary(burst, summary, options = {}) {
  const { target = 'burst-summary', title = `Burst ${burst}` } = options;
  const alone =
    options.alone ?? (summary.medianServerMs === null ? '' : ` (one alone takes about ${formatMs(summary.medianServerMs)})`);
  const $el = byTestId(target).empty();
  $el.attr({
    'data-burst': burst,
    'data-requests': summary.answered,
    'data-failed': summary.failed,
    'data-pids': summary.pids.length,
    'data-per-pid': summary.perPid.map(([pid, count]) => `${pid}:${count}`).join(' '),
    'data-max-in-flight': summary.maxInFlight,
    'data-wall-ms': Math.round(summary.wallMs),
  });
  // Each PID with how many it answered: the workers race for connections, no round-robin.
  const chips = summary.perPid.map(([pid, count]) =>
    pidChip(pid).attr('title', `PID ${pid} answered ${count}`).append($('<span>', { class: 'times', text: ` ×${count}` })),
  );
  $el.append(
    $('<strong>', { text: `${title}: ` }),
    `${summary.answered} of ${summary.sent} answered by `,
    $('<strong>', { text: `${summary.pids.length} ${plural(summary.pids.length, 'process', 'processes')}` }),
    ' ',
    ...chips,
    $('<br>'),
    'at most ',
    $('<strong>', { text: summary.maxInFlight }),
    ` ${plural(summary.maxInFlight, 'request', 'requests')} on the server at once; all done in `,
    $('<strong>', { text: formatMs(summary.wallMs) }),
    `${alone}.`,
  );
  if (summary.sent > BROWSER_CONNECTIONS) {
    $el.append(
      $('<br>'),
      $('<span>', {
        class: 'note',
        text: `A browser opens at most ${BROWSER_CONNECTIONS} connections to one server: the rest wait their turn in the browser.`,
      }),
    );
  }
  if (summary.failed) {
    $el.append($('<br>'), `${summary.failed} failed: ${summary.failure.message}`);
  }
  return $el;
}

export function showBurstNote(text) {
  byTestId('burst-summary').empty().removeAttr('data-requests').text(text);
}

export function showBurstPending(burst, n) {
  byTestId('burst-summary').empty().removeAttr('data-requests').text(`Burst ${burst}: sending ${n} requests…`);
}

// -- request log -----------------------------------------------------------------

export function showLog(rows) {
  const $body = byTestId('request-log');
  const $rows = rows.slice(0, MAX_LOG_ROWS).map(logRow);
  $body.empty().append($rows);
}

function logRow(row) {
  const $tr = $('<tr>', {
    'data-testid': 'request-row',
    'data-pid': row.pid,
    'data-request-id': row.request_id,
    'data-received': row.received,
    'data-finished': row.finished,
    'data-server-ms': ((row.finished - row.received) * 1000).toFixed(2),
  });
  if (row.burst !== null) $tr.attr('data-burst', row.burst);
  if (row.roundTripMs !== null) $tr.attr('data-round-trip-ms', row.roundTripMs.toFixed(1));
  if (row.digit !== null && row.digit !== undefined) $tr.attr('data-digit', row.digit);
  if (row.kind) $tr.attr('data-kind', row.kind);
  return $tr.append(
    $('<td>', { text: clockTime(row.received) }),
    $('<td>', { class: 'rid', text: shortId(row.request_id), title: row.request_id }),
    $('<td>').append(pidChip(row.pid)),
    $('<td>', { text: row.thread }),
    $('<td>', { class: 'num', text: formatMs((row.finished - row.received) * 1000) }),
    $('<td>', { class: 'num', text: row.roundTripMs === null ? '–' : formatMs(row.roundTripMs) }),
    $('<td>', { class: 'num digit-cell', text: row.digit ?? '–' }),
    $('<td>', { text: origin(row) }),
  );
}

function origin(row) {
  if (row.kind) return `${row.burst !== null ? `lab burst ${row.burst}` : row.mine ? 'lab' : 'lab, another tab'} · ${row.kind}`;
  if (row.burst !== null) return `burst ${row.burst}`;
  if (row.mine) return 'this tab';
  if (row.route && row.route !== '/api/predict') return row.route;
  return row.client_id ? 'another tab' : 'another client';
}

// -- formatting ------------------------------------------------------------------

export function pidChip(pid) {
  return $('<span>', { class: `pid-chip ${pidClass(pid)}`, text: pid });
}

export function plural(n, one, many) {
  return n === 1 ? one : many;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function formatPercent(p) {
  const percent = p * 100;
  if (percent >= 99.95) return '100%';
  return percent >= 1 ? `${percent.toFixed(0)}%` : percent >= 0.05 ? `${percent.toFixed(1)}%` : '0%';
}

function clockTime(epochSeconds) {
  const date = new Date(epochSeconds * 1000);
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function shortId(id) {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

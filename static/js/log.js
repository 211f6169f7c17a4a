// View: the requests card. The log, newest first, this tab's requests or every client's.
// Styles: css/log.css.

import { clockTime, formatMs, shortCode, shortId } from './format.js';
import { byTestId, pidChip } from './widgets.js';

const MAX_LOG_ROWS = 200;

const el = {
  rows: byTestId('request-log'),
  view: byTestId('log-view'),
  problem: byTestId('log-problem'),
};

export function showView(view) {
  el.view.text(view === 'everyone' ? 'every client, newest first' : 'this tab, newest first');
}

// status: the server's {ok, problem, lost} for the log (a full disk, a shared store that is
// unavailable): said plainly above the rows while it lasts.
export function showLogStatus(status) {
  const problem = status && !status.ok ? status.problem : '';
  el.problem.prop('hidden', !problem).text(problem ? `Requests are not being logged: ${problem}.` : '');
}

export function showLog(rows) {
  el.rows.empty().append(rows.slice(0, MAX_LOG_ROWS).map(logRow));
}

function logRow(row) {
  const $tr = $('<tr>', {
    'data-testid': 'request-row',
    'data-pid': row.pid,
    'data-request-id': row.request_id,
    'data-client-id': row.client_id || '',
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
    $('<td>', { class: 'rid wide-only', text: shortId(row.request_id), title: row.request_id }),
    $('<td>').append(pidChip(row.pid)),
    $('<td>', { class: 'wide-only', text: row.thread }),
    $('<td>', { class: 'num', text: formatMs((row.finished - row.received) * 1000) }),
    $('<td>', { class: 'num wide-only', text: row.roundTripMs === null ? '–' : formatMs(row.roundTripMs) }),
    $('<td>', { class: 'num digit-cell', text: row.digit ?? '–' }),
    $('<td>', { class: 'origin', text: origin(row) }),
  );
}

function origin(row) {
  if (row.kind) return `${row.burst !== null ? `lab burst ${row.burst}` : row.mine ? 'lab' : 'lab, another tab'} · ${row.kind}`;
  if (row.burst !== null) return `burst ${row.burst}`;
  if (row.mine) return 'this tab';
  if (row.route && row.route !== '/api/predict') return row.route;
  if (row.name) return row.name; // the name a student gave: the class wall shows it too
  return row.client_id ? `another tab (${shortCode(row.client_id)})` : 'another client';
}
